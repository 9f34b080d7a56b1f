"""Verified downloads of a data set's four files: mirrors in order, retries, time limits.

    download(data_dir, mirrors, dataset=...)   fetch what is not already there and verified
    verify(raw, key, name, dataset)            downloaded bytes -> checked array, or IDXError

A file is kept only if the SHA-256 of its decompressed bytes is the data set's canonical
one and it parses as the data set's images or labels; only then is it written (atomically,
files.atomic_open) under its name. Each mirror gets `timeout` seconds per file, retries
included, so a mirror that hangs or trickles costs at most that.

urllib and numpy are imported on first use, so that `mnistnn --help` stays quick.
"""
import hashlib
import queue
import socket
import threading
import time
from pathlib import Path

from . import __version__, datasets
from .errors import DownloadError, IDXError, MnistnnError
from .files import atomic_open, folder_lock

TIMEOUT, RETRIES, BACKOFF = 60.0, 2, 1.0
MAX_BACKOFF = 4.0  # seconds: the longest pause between two tries of one mirror
MAX_DOWNLOAD = 1 << 30  # bytes: the largest file of any data set here is 26 MB
CHUNK = 1 << 16
OFFLINE_HELP = (
    "To install {title} by hand, copy {files} ({names}) into {folder}/ "
    "(gzipped, under those names), or point a mirror at a folder that holds them: "
    "mnistnn download{option} --mirror file:///path/to/folder/"
)


SCHEMES = ("http", "https", "file")


def check_mirrors(mirrors):
    """ValueError, one sentence, for a mirror mnistnn cannot fetch from (ftp://, ...), or
    a local one that is a file: a mirror is the folder that holds the files."""
    import urllib.parse
    import urllib.request

    for mirror in mirrors:
        scheme = mirror.split("://", 1)[0].lower() if "://" in mirror else "file"
        if scheme not in SCHEMES:
            raise ValueError(f"{mirror}: mnistnn fetches over http://, https:// or file:// "
                             f"(or from a folder), not {scheme}://")
        local = (Path(urllib.request.url2pathname(urllib.parse.urlparse(mirror).path))
                 if "://" in mirror else Path(mirror)) if scheme == "file" else None
        if local is not None and local.is_file():
            raise ValueError(f"{mirror} is a file: a mirror is the folder that holds the "
                             f"data set's files (here {local.parent})")
        if local is not None and not local.exists():
            raise ValueError(f"{mirror}: no such folder here")


def mirror_url(mirror, name):
    """The URL of file `name` on a mirror; a plain folder path becomes a file:// URL."""
    if "://" not in mirror:
        mirror = Path(mirror).resolve().as_uri()
    return mirror.rstrip("/") + "/" + name


def verify(raw, key, name, dataset=None, strict=True):
    """Bytes of one file (gzip or plain) -> its checked array. Refuses another known file
    (MNIST's offered as Fashion-MNIST's) and, when `strict`, any but the canonical bytes."""
    from .idx import check_split, gunzip, parse_idx  # numpy: not at import (quick --help)

    dataset = datasets.get(dataset)
    plain = gunzip(raw, name) if raw[:2] == b"\x1f\x8b" else raw
    datasets.check_digest(hashlib.sha256(plain).hexdigest(), dataset, key, name, strict)
    return check_split(parse_idx(plain, name), key, name, dataset.shape, len(dataset.classes))


def is_verified(path, key, dataset=None):
    """True when the file at `path` exists and holds the data set's canonical bytes."""
    try:
        verify(Path(path).read_bytes(), key, str(path), dataset)
    except (OSError, IDXError):
        return False
    return True


class _Failure(Exception):
    """One try failed. `retry`: trying the same URL again may help; `unreachable`: the
    mirror itself is in trouble, so don't ask it for the other files either."""

    def __init__(self, message, retry=False, unreachable=False):
        super().__init__(message)
        self.retry, self.unreachable = retry, unreachable


def _reader(url, timeout, events, stop):
    """Thread: stream url into `events` as ("start", size or None), ("data", bytes)...,
    ("end", None), or ("error", exception); stops early once `stop` is set."""
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": f"mnistnn/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            events.put(("start", int(response.headers.get("Content-Length") or 0) or None))
            read = getattr(response, "read1", None) or response.read  # what has arrived
            while not stop.is_set():
                chunk = read(CHUNK)
                if not chunk:
                    break
                events.put(("data", chunk))
        events.put(("end", None))
    except BaseException as exc:  # the caller's thread decides what it means
        events.put(("error", exc))


def _fetch(url, deadline, on_progress, name):
    """The bytes at url, received by `deadline` (time.monotonic()), else _Failure.
    The network waits happen in a helper thread, so this one keeps the clock (and
    stays responsive to Ctrl-C) however slowly the mirror sends."""
    events, stop = queue.Queue(), threading.Event()
    started = time.monotonic()
    threading.Thread(target=_reader, args=(url, deadline - started, events, stop),
                     daemon=True).start()
    try:
        return _receive(events, started, deadline, on_progress, name)
    finally:
        stop.set()  # the reader leaves at its next chunk, or when its socket times out


def _receive(events, started, deadline, on_progress, name):
    """Collect the reader's events into the file's bytes, by `deadline`, else _Failure."""
    chunks, got, total, answered = [], 0, None, False
    while True:
        remaining = deadline - time.monotonic()
        try:
            kind, value = events.get(timeout=remaining) if remaining > 0 else ("late", None)
        except queue.Empty:
            kind, value = "late", None
        if kind == "late":
            raise _timeout(deadline - started, answered, got, total)
        if kind == "error":
            raise _failure(value, time.monotonic() - started)
        if kind == "start":
            answered, total = True, value
        elif kind == "data":
            chunks.append(value)
            got += len(value)
            if got > MAX_DOWNLOAD:
                raise _Failure(f"sends more than {_size(MAX_DOWNLOAD)}: not one of our files")
            if on_progress:
                on_progress(name, len(value), total)
        elif total and got < total:  # "end", but the connection closed early
            raise _Failure(f"the connection closed after {_size(got)} of {_size(total)}",
                           retry=True)
        else:
            return b"".join(chunks)


def _size(nbytes):
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 100_000 else f"{nbytes} bytes"


def _timeout(seconds, answered, got, total):
    """The true story of a try cut short by the clock."""
    if not answered:
        return _Failure(f"no answer within {seconds:.3g} s", unreachable=True)
    of = f" of {_size(total)}" if total else ""
    return _Failure(f"only {_size(got)}{of} arrived within {seconds:.3g} s (a slow "
                    f"connection needs a larger timeout)", unreachable=True)


def _failure(exc, seconds):
    """An exception from the reader thread -> _Failure; a bug is raised as it is."""
    import http.client
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        retry = exc.code >= 500 or exc.code in (408, 429)
        return _Failure(f"HTTP {exc.code} {exc.reason}", retry, unreachable=retry)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, FileNotFoundError):
        return _Failure("no such file")
    if isinstance(reason, socket.gaierror):  # no DNS: offline, or a typo in the host
        return _Failure(f"cannot resolve the host name ({reason.strerror})", unreachable=True)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return _Failure(f"no answer within {seconds:.3g} s", unreachable=True)
    if isinstance(exc, urllib.error.URLError):
        message = getattr(reason, "strerror", None) or reason
        return _Failure(str(message), retry=True, unreachable=True)
    if isinstance(exc, (ConnectionError, http.client.HTTPException)):
        return _Failure(str(exc) or type(exc).__name__, retry=True)
    if isinstance(exc, (ValueError, OSError)):  # an unusable URL, a folder, ...
        return _Failure(getattr(exc, "strerror", None) or str(exc))
    raise exc


def _from_mirror(url, key, name, dataset, timeout, retries, backoff, on_progress):
    """The verified bytes of one file from one mirror, else _Failure. Network errors are
    tried again after a pause that doubles up to MAX_BACKOFF, all within `timeout` s."""
    deadline = time.monotonic() + timeout
    for attempt in range(retries + 1):
        try:
            raw = _fetch(url, deadline, on_progress, name)
            verify(raw, key, name, dataset)
            return raw
        except IDXError as exc:
            raise _Failure(str(exc).replace(f"{name}: ", "", 1)) from None
        except _Failure as exc:
            pause = min(backoff * 2 ** attempt, MAX_BACKOFF)
            if not exc.retry or attempt == retries or time.monotonic() + pause >= deadline:
                if attempt:
                    exc.args = (f"{exc} ({attempt + 1} tries)",)
                raise
            time.sleep(pause)


def _download_one(dataset, key, folder, mirrors, dead, options, data_dir=None):
    """Try each mirror in turn for one file; write it when verified; return its URL."""
    name = dataset.files[key][0]
    errors = []
    for mirror in mirrors:
        url = mirror_url(mirror, name)
        if mirror in dead:
            errors.append(f"  {url}: skipped ({dead[mirror]} earlier)")
            continue
        try:
            raw = _from_mirror(url, key, name, dataset.name, **options)
        except _Failure as exc:
            errors.append(f"  {url}: {exc}")
            if exc.unreachable:
                dead[mirror] = str(exc)
            continue
        with atomic_open(folder / name) as f:
            f.write(raw)
        return url
    help_ = offline_help(dataset, folder, _missing(dataset, folder), data_dir)
    raise DownloadError(f"could not download {name} from any mirror:\n" + "\n".join(errors)
                        + "\n\n" + help_)


def offline_help(dataset, folder, missing=None, data_dir=None):
    """How to install a data set without the network: the files in `missing` (names;
    default all four), into folder (the data set's folder under data_dir)."""
    missing = list(missing or (name for name, _ in dataset.files.values()))
    files = ("the file", "the two files", "the three files", "the four files")[len(missing) - 1]
    option = "".join(" " + words for words in datasets.options(dataset.name, data_dir))
    return OFFLINE_HELP.format(title=dataset.title, files=files, names=", ".join(missing),
                               folder=folder, option=option)


def _missing(dataset, folder):
    """The names of the data set's files that are not in folder, verified."""
    return [name for key, (name, _) in dataset.files.items()
            if not is_verified(folder / name, key, dataset.name)]


def download(data_dir=None, mirrors=None, force=False, timeout=TIMEOUT, retries=RETRIES,
             backoff=BACKOFF, on_progress=None, on_note=None, dataset=None, on_file=None):
    """Fetch a data set's four files into its folder (datasets.folder); return {file name:
    the URL it came from, or "present"}. Verified files are kept unless `force`.

    on_progress(name, nbytes, total_or_None) is called as bytes arrive, on_file(name, URL
    or "present") as each file is in place (so the files that arrived are known when a
    later one fails), on_note(message) when this run waits for another one downloading
    into the same folder: runs take turns, and a waiting run then finds the other's
    verified files present."""
    dataset = datasets.get(dataset)
    folder = datasets.folder(dataset.name, data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MnistnnError(f"cannot create the data folder {folder}: {exc.strerror}") from None
    mirrors = tuple(mirrors or datasets.default_mirrors(dataset.name))
    try:
        check_mirrors(mirrors)
    except ValueError as exc:
        raise DownloadError(str(exc)) from None
    options = dict(timeout=timeout, retries=retries, backoff=backoff, on_progress=on_progress)
    waiting = on_note and (lambda: on_note(f"Another run is downloading into {folder}/: "
                                           f"waiting for it to finish"))
    report, dead = {}, {}
    with folder_lock(folder, on_wait=waiting):
        for key in datasets.KEYS:
            name = dataset.files[key][0]
            if not force and is_verified(folder / name, key, dataset.name):
                report[name] = "present"
            else:
                report[name] = _download_one(dataset, key, folder, mirrors, dead, options,
                                             data_dir)
            if on_file:
                on_file(name, report[name])
    return report
