"""Atomic file writes: a file appears under its name complete, or not at all."""
import contextlib
import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: the permissions a plain open() would give a new file


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Yield a file object that becomes `path` only when the block ends without error:
    a temporary file beside it, flushed and fsynced, then renamed over the target.
    A crash or Ctrl-C at any moment leaves the previous file untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide the file from others
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
