"""benchmarks/pieces.py: the pieces the reading cuts out of lines of digits, labelled by
where the digits are (what the window reader learns right cuts from)."""
import sys
from pathlib import Path

import numpy as np
import pytest

from mnistnn import checkpoint
from mnistnn.idx import read_idx

sys.path.append(str(Path(__file__).resolve().parent.parent / "benchmarks"))
from pieces import pieces  # noqa: E402


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    return (read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:2000],
            read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:2000])


def test_pieces_cut_right_are_the_digits_and_the_rest_are_not(test_digits):
    images, labels = test_digits
    right, digits, wrong, holding = pieces(images, labels, 12, seed=5)   # 48-72 digits
    assert not holding.any() and len(holding) == len(wrong)
    assert right.shape[1:] == wrong.shape[1:] == (784,) and len(digits) == len(right)
    assert 48 <= len(right) < len(wrong)      # 364 and 2811: each digit framed a few ways
    net = checkpoint.load(checkpoint.SHIPPED)
    assert np.mean(net.predict(right) == digits) >= 0.7      # 0.81: they are the digits named
    again = pieces(images, labels, 12, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip((right, digits, wrong), again[:3]))


def test_the_context_readers_pieces_are_frames_and_two_digits_are_not_one(test_digits):
    """context=True: the same lines' pieces as frames among their neighbours, and a
    right-looking box that holds most of a second digit's box is moved to the wrong ones."""
    from mnistnn import context

    images, labels = test_digits
    plain = pieces(images, labels, 12, seed=5)
    right, digits, wrong, holding = pieces(images, labels, 12, seed=5, context=True)
    assert right.shape[1:] == wrong.shape[1:] == (context.SIZE,) and right.dtype == np.float16
    assert len(right) + len(wrong) >= len(plain[0]) + len(plain[2])   # the same candidates
    assert len(right) <= len(plain[0]) and len(wrong) >= len(plain[2])
    # Those that hold a second digit: moved from the right ones, or loosely framed ones
    # (left out of the plain pieces); the rest are the plain wrong ones.
    assert len(wrong) - len(plain[2]) == holding.sum() >= len(plain[0]) - len(right) > 0
    frames = right.astype(np.float32).reshape(-1, context.HEIGHT, context.WIDTH, 2)
    assert np.all(frames[..., 1] >= frames[..., 0] - 1e-3)          # all ink holds its own


def test_ones_puts_that_share_of_1s_in_the_lines(test_digits):
    images, labels = test_digits
    share = [np.mean(pieces(images, labels, 12, seed=5, ones=ones,
                            layouts={"touching": 1})[1] == 1) for ones in (0.0, 0.5)]
    assert share[1] > 2 * share[0]     # of the right pieces: 0.19 against 0.07 here


def test_the_context_reader_is_built_by_its_command(mnist_dir, tmp_path):
    """benchmarks/context_reader.py on a few lines for one epoch: a float16 checkpoint that
    loads as a context reader, with its held-out accuracy in the metadata."""
    import subprocess

    from mnistnn import context

    folder = tmp_path / "data"
    folder.mkdir()
    for gz in mnist_dir.glob("*.gz"):
        (folder / gz.name).symlink_to(gz)
    out = tmp_path / "reader.npz"
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "context_reader.py"
    done = subprocess.run([sys.executable, str(script), "--data-dir", str(folder), "--write",
                           "--output", str(out), "--lines", "12", "--epochs", "1"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    saved = checkpoint.read(out, inputs=context.SIZE, classes=11)
    assert saved.net.spec.startswith(context.SPEC_INPUT + ",")
    assert f"{saved.meta['held_out_accuracy']:.2%}" in done.stdout
    with np.load(out) as arrays:
        assert {arrays[n].dtype for n in arrays.files if n != "meta"} == {np.dtype("float16")}
