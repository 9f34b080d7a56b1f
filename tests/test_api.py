"""The package's Python API as the README shows it."""


def test_every_name_of_the_package_api_resolves():
    import subprocess
    import sys

    import mnistnn
    for name in mnistnn.__all__:
        assert getattr(mnistnn, name) is not None, name
    # ...and `import mnistnn` alone imports no numpy (so `mnistnn --help` stays quick).
    code = "import sys, mnistnn, mnistnn.cli; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_the_readme_python_example_runs(mnist_data, tmp_path):
    """The ```python block of the README, run as written, in a folder whose data/ is MNIST."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = re.search(r"## Python API\n.*?```python\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "data").symlink_to(mnist_data, target_is_directory=True)
    (tmp_path / "example.py").write_text(example)
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    accuracy = [float(line) for line in done.stdout.splitlines() if re.fullmatch(r"0\.\d+", line)]
    assert len(accuracy) == 1 and accuracy[0] > 0.94   # print(net.accuracy(...)): about 0.95
    assert (tmp_path / "mine.npz").exists()


CORE = ("network", "idx", "data", "checkpoint", "npz", "config", "form", "augment", "train",
        "runs", "evaluation", "blas", "imagining", "report", "recipes", "errors", "files",
        "segment", "layout", "cuts", "reject", "layers", "spec", "units", "datasets",
        "fetch", "inside", "context")


def test_the_core_imports_no_click_tqdm_or_pillow():
    """The README's promise: the core is numpy and the standard library."""
    import subprocess
    import sys

    code = ("import sys\n" + "".join(f"import mnistnn.{m}\n" for m in CORE)
            + "print(sorted(m for m in ('click', 'tqdm', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
