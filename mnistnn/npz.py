"""Reading arrays from an .npz archive that may be hostile, without trusting it.

np.load would decompress any member it is asked for, whatever its size, and its error for
an object array suggests a setting mnistnn never uses. Here every member's name and
declared size is checked from the zip directory before a byte is decompressed, each .npy
header is parsed (shape and dtype checked against what the caller expects) before its
data is read, exactly as many bytes as that shape needs are read, and nothing is
unpickled.

    with Archive(path, r"(meta|W\\d+|b\\d+)") as npz:
        W0 = npz.array("W0", shape=(30, 784), kinds="f")
"""
import re
import zipfile
import zlib

import numpy as np

MAX_HEADER = 1 << 16      # bytes: an .npy header is 128 bytes or so; a long one is refused
MAX_ITEM = 8              # bytes per number: float64 at most
MAX_TEXT = 1 << 20        # bytes of a text array (a checkpoint's JSON metadata)
MAX_TOTAL = 1 << 30       # bytes: the archive's members, once decompressed, at most 1 GiB
READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               ValueError, NotImplementedError, RuntimeError)  # what damaged bytes raise


class ArchiveError(ValueError):
    """The archive holds something other than what was expected."""


class Unreadable(ArchiveError):
    """The archive is damaged, or holds what is never read (Python objects, encryption)."""


class Archive:
    """The members of an .npz whose names match `names` (a regular expression, without
    the .npy suffix), checked from the zip directory on opening."""

    def __init__(self, path, names):
        try:
            self.zip = zipfile.ZipFile(path)
            members = self.zip.infolist()
        except READ_ERRORS:
            raise Unreadable("a damaged .npz archive") from None
        self.sizes = {}
        try:
            for info in members:
                self._add(info, names)
        except ArchiveError:
            self.zip.close()
            raise

    def _add(self, info, names):
        """Record one member of the zip directory, refusing what an .npz of ours never has."""
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if not re.fullmatch(names, name):
            raise ArchiveError(f"holds unexpected [{name!r}]")
        if name in self.sizes:
            raise ArchiveError(f"holds {name!r} twice")
        if info.flag_bits & 1:
            raise Unreadable("an encrypted .npz archive")
        self.sizes[name] = info.file_size
        if sum(self.sizes.values()) > MAX_TOTAL:
            raise ArchiveError(f"declares more than {MAX_TOTAL:,} bytes of arrays")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()

    def array(self, name, shape=None, kinds="f"):
        """The member `name` as an array of one of the dtype kinds ('f' float, 'U' text);
        shape None takes any shape of at most MAX_TEXT bytes."""
        most = MAX_HEADER + (MAX_TEXT if shape is None else MAX_ITEM * int(np.prod(shape)))
        if self.sizes[name] > most:
            raise ArchiveError(f"array {name} declares {self.sizes[name]:,} bytes, more than "
                               f"the {most:,} it can need")
        try:
            with self.zip.open(name + ".npy") as f:
                return _read_npy(f, name, shape, kinds)
        except ArchiveError:
            raise
        except READ_ERRORS as exc:
            why = "truncated" if isinstance(exc, EOFError) else "damaged"
            raise Unreadable(f"a {why} .npz archive (array {name})") from None


def _read_npy(f, name, shape, kinds):
    """One .npy file: its header checked, then exactly its data, and nothing after."""
    version = np.lib.format.read_magic(f)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise ArchiveError(f"array {name} is in .npy format {version}, not 1.0 or 2.0")
    found, fortran, dtype = read_header(f)
    if dtype.hasobject:
        raise Unreadable("it holds Python objects, which mnistnn never loads")
    if dtype.kind not in kinds or (dtype.kind == "f" and dtype.itemsize > MAX_ITEM):
        raise ArchiveError(f"array {name} holds {dtype} values, expected "
                           f"{'floats' if kinds == 'f' else 'text'}")
    if shape is not None and tuple(found) != tuple(shape):
        raise ArchiveError(f"array {name} has shape {tuple(found)}, expected {tuple(shape)}")
    nbytes = int(np.prod(found)) * dtype.itemsize
    if nbytes > (MAX_TEXT if shape is None else MAX_ITEM * int(np.prod(shape))):
        raise ArchiveError(f"array {name} is larger than expected")
    data = f.read(nbytes)
    if len(data) != nbytes or f.read(1):   # the last read also checks the member's CRC
        raise ArchiveError(f"array {name} does not hold {nbytes} bytes for its shape")
    return np.frombuffer(bytearray(data), dtype).reshape(found, order="F" if fortran else "C")
