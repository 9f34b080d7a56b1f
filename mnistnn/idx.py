"""The IDX file format of MNIST: read, write and check, gzip or plain.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values, row-major.
Every problem becomes an IDXError naming the file and what is wrong.
"""
import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import IDXError
from .files import atomic_open

# IDX type code -> numpy dtype (multi-byte values are big-endian)
DTYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
CODES = {dtype.newbyteorder(">"): code for code, dtype in DTYPES.items()}
MAX_BYTES = 1 << 30  # no MNIST-like file is near 1 GiB; refuse gzip bombs


def gunzip(raw, name="data", limit=MAX_BYTES):
    """Decompress gzip bytes, refusing damaged streams and output over `limit` bytes."""
    inflater = zlib.decompressobj(wbits=31)  # 31: expect a gzip header
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise IDXError(f"{name}: damaged gzip data ({exc})") from None
    if len(out) > limit:
        raise IDXError(f"{name}: decompresses to more than {limit} bytes")
    if not inflater.eof:
        raise IDXError(f"{name}: the gzip data is truncated")
    return out


def parse_idx(raw, name="data"):
    """Parse the bytes of an IDX file (gzip or plain) into a native-endian array."""
    gzipped = raw[:2] == b"\x1f\x8b"
    if gzipped:
        raw = gunzip(raw, name)
    if len(raw) < 4:
        raise IDXError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in DTYPES or ndim == 0:
        if not gzipped and str(name).endswith(".gz"):    # named gzip, and neither it nor IDX
            raise IDXError(f"{name}: not a gzip file, nor IDX (it begins {raw[:8]!r})")
        raise IDXError(f"{name}: not an IDX file (bad magic number {raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{name}: truncated header ({len(raw)} bytes, need {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = DTYPES[code]
    expected = int(np.prod(dims, dtype=np.uint64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        shape = "x".join(map(str, dims))
        what = "truncated" if got < expected else "has trailing bytes"
        raise IDXError(f"{name}: {what}: the header says {shape} {dtype.name} values "
                       f"({expected} bytes) but the file holds {got} bytes of data")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path):
    """Read an IDX file from disk, gzip or plain (detected from its first bytes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IDXError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return parse_idx(raw, name=str(path))


def idx_bytes(array):
    """The plain IDX encoding of an array (uint8, int8, int16, int32, float32, float64)."""
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">")
    if big not in CODES or array.ndim == 0:
        raise ValueError(f"IDX cannot hold a {array.ndim}-d {array.dtype} array")
    header = struct.pack(f">HBB{array.ndim}I", 0, CODES[big], array.ndim, *array.shape)
    return header + array.astype(big, copy=False).tobytes()


def write_idx(path, array):
    """Write an array as IDX, gzipped when the name ends in .gz, atomically."""
    path = Path(path)
    raw = idx_bytes(array)
    if path.suffix == ".gz":
        raw = gzip.compress(raw, compresslevel=6, mtime=0)
    with atomic_open(path) as f:
        f.write(raw)


def check_images(array, name="images", shape=(28, 28)):
    """Insist on images: uint8, shape (N, *shape), MNIST's (N, 28, 28) by default."""
    if array.dtype != np.uint8 or array.ndim != 1 + len(shape) or array.shape[1:] != shape:
        found, wanted = "x".join(map(str, array.shape)), "x".join(map(str, shape))
        raise IDXError(f"{name}: expected uint8 images of {wanted} pixels, "
                       f"found {array.dtype} values of shape {found}")
    return array


def check_labels(array, name="labels", classes=10):
    """Insist on labels: uint8, shape (N,), values 0..classes-1."""
    if array.dtype != np.uint8 or array.ndim != 1:
        shape = "x".join(map(str, array.shape))
        raise IDXError(f"{name}: expected a 1-d list of uint8 labels, "
                       f"found {array.dtype} values of shape {shape}")
    if array.size and array.max() >= classes:
        raise IDXError(f"{name}: labels must be 0-{classes - 1}, found {int(array.max())}")
    return array


def check_split(array, key, name, shape=(28, 28), classes=10):
    """check_images or check_labels, as the key says ("train_images", "test_labels", ...)."""
    if key.endswith("images"):
        return check_images(array, name, shape)
    return check_labels(array, name, classes)
