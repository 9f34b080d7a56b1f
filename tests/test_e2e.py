"""End to end on the real MNIST bytes: train, test, the CI gate, and the README's CI script."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke

pytestmark = pytest.mark.mnist
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained(mnist_data, tmp_path_factory):
    """The classic network after one epoch on the real training set."""
    weights = tmp_path_factory.mktemp("weights")
    result = invoke("train", "--epochs", 1, "--data-dir", mnist_data, "--weights-dir", weights,
                    "--no-download")
    assert result.exit_code == 0, result.output
    return weights


def test_one_epoch_passes_the_90_percent_gate(trained, mnist_data):
    result = invoke("test", "--weights-dir", trained, "--data-dir", mnist_data,
                    "--min-accuracy", "0.90")
    assert result.exit_code == 0, result.output
    assert f"Using {trained / 'best.npz'}" in result.stderr
    accuracy = float(re.search(r"Test accuracy: ([\d.]+)%", result.stdout).group(1))
    assert accuracy >= 90
    assert "Confusion matrix" in result.stdout and result.stdout.count("\n") > 20


def test_json_report(trained, mnist_data):
    result = invoke("test", "--weights-dir", trained, "--data-dir", mnist_data, "--json",
                    "--min-accuracy", "90")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["total"] == 10000 and report["passed"] is True
    assert report["min_accuracy"] == 0.90
    assert sum(map(sum, report["confusion"])) == 10000
    assert [d["count"] for d in report["per_digit"]] == [980, 1135, 1032, 1010, 982, 892, 958,
                                                         1028, 974, 1009]
    assert report["correct"] == sum(report["confusion"][i][i] for i in range(10))
    assert abs(report["accuracy"] - report["correct"] / 10000) < 1e-12


def test_gate_fails_with_one_line_reason(trained, mnist_data):
    result = invoke("test", "--weights-dir", trained, "--data-dir", mnist_data, "--json",
                    "--min-accuracy", "0.999")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["passed"] is False
    assert re.fullmatch(r"Error: test accuracy [\d.]+% is below the required 99.90%",
                        result.stderr.splitlines()[-1])


def test_min_accuracy_out_of_range_is_a_usage_error(trained):
    result = invoke("test", "--weights-dir", trained, "--min-accuracy", "120")
    assert result.exit_code == 2


def ci_script():
    """The CI gate script shown in the README (the bash block after its marker)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- ci-gate-script -->", 1)[1]
    return re.search(r"```bash\n(.*?)```", block, re.S).group(1)


@pytest.mark.parametrize("threshold, status", [("0.90", 0), ("0.999", 1)])
def test_the_readme_ci_script(serve, mnist_dir, tmp_path, threshold, status):
    mirror = serve(mnist_dir)
    (tmp_path / "ci.sh").write_text(ci_script())
    env = {**os.environ, "MNIST_MIRROR": mirror.url, "MIN_ACCURACY": threshold,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MNISTNN_DATA_DIR", None)
    env.pop("MNISTNN_WEIGHTS_DIR", None)
    done = subprocess.run(["bash", "ci.sh"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == status, done.stdout + done.stderr
    assert "test accuracy" in done.stdout
    assert "Traceback" not in done.stderr


def test_train_downloads_missing_mnist_with_a_note(serve, mnist_dir, tmp_path, monkeypatch):
    mirror = serve(mnist_dir)
    monkeypatch.setenv("MNISTNN_MIRRORS", mirror.url)
    result = invoke("train", "--epochs", 1, "--data-dir", tmp_path / "data",
                    "--weights-dir", tmp_path / "w", "--json")
    assert result.exit_code == 0, result.output
    assert "MNIST is not in" in result.stderr and "downloading it" in result.stderr
    assert len(mirror.requests) == 4
    assert json.loads(result.stdout)["validation_accuracy"] > 0.9
