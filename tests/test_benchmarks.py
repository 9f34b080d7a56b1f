"""Every benchmark script starts: `python benchmarks/NAME.py --help` from another folder.

benchmarks/numbers.py (the name issue 9 gives it) would hide the standard library's
numbers module, which numpy imports, from a script in the same folder; each script
leaves its folder off sys.path first. A script that forgets fails here, not on the day
someone measures with it."""
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py")
                 if "__main__" in p.read_text())


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_starts(script, tmp_path):
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), "--help"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_every_script_is_found():
    assert {"numbers.py", "draw.py", "torch_compare.py", "fashion_photos.py"} <= set(SCRIPTS)


def test_shipped_model_writes_float16_and_stamps_the_rounded_accuracy(fashion_dir, tmp_path):
    """`shipped_model.py --write PATH --float16`: the parameters stored as float16 (half the
    bytes), and the test accuracy in the metadata is that of the rounded parameters, which
    is what loading the file gives."""
    import numpy as np

    from mnistnn import checkpoint, data
    from mnistnn.network import Network

    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    for gz in fashion_dir.glob("*.gz"):
        (folder / gz.name).symlink_to(gz)
    net = Network("1x28x28,conv4k5,pool4,10", "relu", "log-likelihood", seed=0)
    net.weights[-1] *= 30            # large enough that rounding to float16 can matter
    checkpoint.save(tmp_path / "w.npz", net, {"dataset": "fashion-mnist"})
    written = tmp_path / "ship.npz"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "shipped_model.py"), "--data-dir",
         str(tmp_path / "data"), "--weights", str(tmp_path / "w.npz"), "--write",
         str(written), "--float16"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with np.load(written) as half, np.load(tmp_path / "w.npz") as full:
        names = [name for name in full.files if name != "meta"]
        assert {half[name].dtype for name in names} == {np.dtype("float16")}
        assert sum(half[n].nbytes for n in names) * 2 == sum(full[n].nbytes for n in names)
    saved = checkpoint.read(written, dataset="fashion-mnist")
    test = data.load_dataset("fashion-mnist", tmp_path / "data")
    accuracy = saved.net.accuracy(data.to_inputs(test.test_images), test.test_labels)
    assert saved.meta["test_accuracy"] == round(accuracy, 6)
    assert f"{100 * accuracy:.2f}%" in result.stdout


def test_the_detector_benchmark_says_when_its_held_out_fonts_are_not_the_readmes():
    """The held-out glyphs come from whatever fonts are installed, and every held-out image
    after the first depends on how many: the benchmark names the font folders it drew
    from, and says when they are not the ones the README's figures came from."""
    bench = _detector_benchmark()
    readme = [f"/usr/share/fonts/truetype/{name}/A.ttf" for name in bench.HELD_OUT_FONTS]
    assert bench.font_note(readme) == ("Held-out glyphs from 3 font files "
                                       "(freefont, liberation, urw-base35).")
    for faces in (readme[1:], readme + ["/usr/share/fonts/truetype/noto/B.ttf"], []):
        note = bench.font_note(faces)
        assert "every held-out row differs" in note and "apt-get install" in note


def test_the_detector_benchmark_stops_with_a_sentence_without_held_out_fonts(monkeypatch):
    """Without any font but DejaVu there are no held-out glyphs to draw: one sentence
    saying what to install, not a traceback from deep inside the drawing."""
    bench = _detector_benchmark()
    monkeypatch.setattr(bench, "fonts", lambda family: [])
    with pytest.raises(SystemExit) as stopped:
        bench.held_out_sets(None, None)
    assert "apt-get install fonts-urw-base35" in str(stopped.value.code)


def _detector_benchmark():
    """benchmarks/detector.py as a module (its folder is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("detector_bench", BENCHMARKS / "detector.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench
