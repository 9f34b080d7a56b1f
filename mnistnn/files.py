"""Safe file writes: a file appears under its name complete, or not at all.

    atomic_open(path)     the one way mnistnn writes a file (checkpoints, PNGs, data, caches)
    folder_lock(folder)   one process at a time in a folder (parallel downloads share data/)

A writer holds an advisory lock on its hidden temporary file while it writes, so a later
writer of the same name can tell the leftovers of a killed process (kill -9, power loss)
from a file another live process is still writing, and removes only the former.
"""
import contextlib
import errno
import os
import re
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, age alone decides
    fcntl = None

_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: the permissions a plain open() would give a new file
STALE_AFTER = 60.0  # seconds: an unlocked temporary file this old has no live writer
STALE_UNLOCKED = 24 * 3600.0  # without advisory locks, only files this old are stale
_HELD = {}  # real path of each folder this process holds with folder_lock -> its fd


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Yield a file object that becomes `path` only when the block ends without error:
    a temporary file beside it, flushed and fsynced, renamed over the target, then the
    folder fsynced so the rename itself survives a power cut. A crash or Ctrl-C at any
    moment leaves the previous file untouched; an OSError names `path`, not the
    temporary file."""
    path = Path(path)
    remove_stale(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _about(exc, path, exc.filename) from None  # the name mkstemp tried
    try:
        _try_lock(fd, wait=False)  # "a live process writes this": see remove_stale
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide the file from others
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)  # before close: the lock is held until the name is gone
        _fsync_folder(path.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _about(exc, path, tmp) from None
        raise


def _about(exc, path, tmp):
    """The same OSError, naming the user's `path` where it named the temporary file
    (or nothing: a full disk during write); other errors pass unchanged."""
    if exc.errno is None or exc.filename not in (None, tmp):
        return exc
    return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def _fsync_folder(folder):
    """Make a rename in `folder` durable; best effort (some systems cannot fsync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _lock(fd, wait=False):
    """Take an exclusive advisory lock on fd; False when another process holds it."""
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def remove_stale(path, min_age=STALE_AFTER):
    """Remove what killed writers of `path` left: only our names (.NAME.XXXXXXXX.tmp,
    as mkstemp makes them), only files at least min_age seconds old, and only those no
    live process holds locked (or, without advisory locks, older than a day)."""
    path = Path(path)
    ours = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}\.tmp\Z")
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if ours.match(entry.name):
                _remove_if_dead(entry.path, min_age)


def _remove_if_dead(name, min_age):
    """Unlink one temporary file if its writer is provably gone; any doubt keeps it."""
    try:
        fd = os.open(name, os.O_RDONLY)
    except OSError:
        return
    try:
        stat = os.fstat(fd)
        age = time.time() - stat.st_mtime
        if fcntl is None:  # pragma: no cover
            dead = age >= max(min_age, STALE_UNLOCKED)
        else:
            dead = age >= min_age and _lock(fd)
        if dead and os.stat(name).st_ino == stat.st_ino:  # still the file we judged
            os.unlink(name)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_lock(folder, on_wait=None, wait=True):
    """Hold an exclusive lock on `folder` for the block (a lock on the folder itself, so
    no lock file is left behind); yield True. When another process holds it: with `wait`,
    call on_wait() once and wait; without, yield False at once. Re-entrant within a
    process (a training run that holds its folder may download into it). Where folders
    cannot be locked (no advisory locks, some network file systems) the block runs
    unlocked: every write is atomic anyway, the lock only keeps runs from clashing."""
    key = os.path.realpath(folder)
    if key in _HELD:
        yield True
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield True
        return
    try:
        held = _try_lock(fd, wait=False)
        if not held and wait:
            if on_wait:
                on_wait()
            held = _try_lock(fd, wait=True)
        if held:
            _HELD[key] = fd
        yield held
    finally:
        if _HELD.get(key) == fd:
            del _HELD[key]
        os.close(fd)  # closing releases the lock


def _try_lock(fd, wait):
    """_lock, treating "locks are not supported here" as success (run unlocked)."""
    try:
        return _lock(fd, wait)
    except OSError:
        return True


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_text(path, key):
    """The text stored under key in a PNG's tEXt chunks before its image data (how
    mnistnn marks the pictures it writes, pictures.save_png), or None: not a PNG, no such
    text, or unreadable. The standard library's way, so that the core can ask too."""
    try:
        with open(path, "rb") as f:
            if f.read(8) != PNG_SIGNATURE:
                return None
            while True:
                head = f.read(8)
                if len(head) < 8:
                    return None
                length, kind = int.from_bytes(head[:4], "big"), head[4:]
                if kind == b"IDAT" or length > 1 << 20:
                    return None
                body = f.read(length)
                f.seek(4, os.SEEK_CUR)                          # the chunk's CRC
                if kind == b"tEXt" and body.startswith(key.encode("latin-1") + b"\0"):
                    return body[len(key) + 1:].decode("latin-1")
    except OSError:
        return None


PNG_MARK = "mnistnn"   # the start of the "Software" text of every PNG mnistnn writes


def marked_png(path):
    """Whether path is a PNG that mnistnn wrote (pictures.save_png's mark)."""
    return (png_text(path, "Software") or "").split(":")[0] == PNG_MARK
