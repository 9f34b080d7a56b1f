"""IDX reading and writing: round trips, and one clear IDXError for every kind of damage."""
import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnistnn.errors import IDXError
from mnistnn.idx import check_images, check_labels, idx_bytes, parse_idx, read_idx, write_idx


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", "<i4", "f4", "f8"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype.isnative and back.dtype.kind == np.dtype(dtype).kind
    np.testing.assert_array_equal(back, array)
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\0\0")


def test_header_is_the_idx_format():
    raw = idx_bytes(np.zeros((5, 28, 28), np.uint8))
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert struct.unpack(">3I", raw[4:16]) == (5, 28, 28)
    assert len(raw) == 16 + 5 * 784


def test_real_mnist_labels_parse(mnist_dir):
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert list(labels[:5]) == [7, 2, 1, 0, 4]


@pytest.mark.parametrize("raw, words", [
    (b"", "too short"),
    (b"\x01\x02\x08\x01" + b"\0" * 8, "bad magic"),
    (b"\x00\x00\x07\x01" + b"\0" * 8, "bad magic"),          # unknown type code
    (b"\x00\x00\x08\x00", "bad magic"),                       # zero dimensions
    (b"\x00\x00\x08\x03\x00\x00", "truncated header"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\0" * 9, "truncated"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 10) + b"\0" * 11, "trailing bytes"),
    (b"\x00\x00\x08\x03" + struct.pack(">3I", 4_000_000_000, 28, 28), "truncated"),  # absurd dims
])
def test_damaged_bytes_are_one_clear_error(raw, words):
    with pytest.raises(IDXError, match=words) as info:
        parse_idx(raw, name="f.idx")
    assert str(info.value).startswith("f.idx: ")


def test_truncated_gzip(tmp_path):
    raw = gzip.compress(idx_bytes(np.zeros((100, 28, 28), np.uint8)))
    (tmp_path / "t.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IDXError, match="t.gz: the gzip data is truncated"):
        read_idx(tmp_path / "t.gz")


def test_corrupted_gzip(tmp_path):
    raw = bytearray(gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8))))
    raw[20] ^= 0xFF
    (tmp_path / "c.gz").write_bytes(bytes(raw))
    with pytest.raises(IDXError, match="c.gz"):
        read_idx(tmp_path / "c.gz")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(IDXError, match="nope.gz: cannot read it"):
        read_idx(tmp_path / "nope.gz")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_parse_or_raise_idxerror(raw):
    try:
        array = parse_idx(raw)
    except IDXError:
        return
    assert isinstance(array, np.ndarray)  # rare: the bytes happened to be valid IDX


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=100))
def test_random_bytes_after_a_valid_header_are_caught(tail):
    raw = b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 28, 28) + tail
    with pytest.raises(IDXError):
        parse_idx(raw)


def test_mnist_shape_checks():
    check_images(np.zeros((3, 28, 28), np.uint8))
    check_labels(np.arange(10, dtype=np.uint8))
    with pytest.raises(IDXError, match="28x28"):
        check_images(np.zeros((3, 27, 28), np.uint8))
    with pytest.raises(IDXError, match="28x28"):
        check_images(np.zeros((3, 28, 28), np.float32))
    with pytest.raises(IDXError, match="labels must be 0-9, found 12"):
        check_labels(np.array([1, 12], np.uint8))


def test_a_file_named_gz_that_is_not_gzip_says_so(tmp_path):
    """A text file or an HTML page saved under a .gz name is 'not a gzip file' (a plain
    IDX file under it is read: a server may have unpacked it on the way)."""
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"garbage\n")
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte.gz: not a gzip file, nor "
                                       r"IDX \(it begins b'garbage\\n'\)"):
        read_idx(path)
    path.write_bytes(idx_bytes(np.zeros((2, 3), np.uint8)))
    assert read_idx(path).shape == (2, 3)
