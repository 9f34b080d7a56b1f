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
    right, digits, wrong = pieces(images, labels, 12, seed=5)      # 12 lines, 48-72 digits
    assert right.shape[1:] == wrong.shape[1:] == (784,) and len(digits) == len(right)
    assert 48 <= len(right) < len(wrong)      # 364 and 2811: each digit framed a few ways
    net = checkpoint.load(checkpoint.SHIPPED)
    assert np.mean(net.predict(right) == digits) >= 0.7      # 0.81: they are the digits named
    again = pieces(images, labels, 12, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip((right, digits, wrong), again))
