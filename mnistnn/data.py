"""MNIST on disk: mirrors, verified atomic downloads, loading with a cache.

    download(data_dir)   fetch the four files, each verified by the SHA-256 of its
                         decompressed bytes, written to NAME.part, then renamed
    load_mnist(data_dir) uint8 images (N, 28, 28) and labels (N,), cached as .npy
    to_inputs(images)    float32 (N, 784) in [0, 1], what the network eats
"""
import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from collections import namedtuple
from pathlib import Path

import numpy as np

from . import __version__
from .errors import DownloadError, IDXError, MnistnnError
from .files import atomic_open
from .idx import check_images, check_labels, gunzip, parse_idx, read_idx

# Facts about MNIST: canonical names and the SHA-256 of each decompressed file.
FILES = {
    "train_images": ("train-images-idx3-ubyte.gz",
                     "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train_labels": ("train-labels-idx1-ubyte.gz",
                     "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "test_images": ("t10k-images-idx3-ubyte.gz",
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz",
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
OFFLINE_HELP = (
    "To install MNIST by hand, copy the four files ({names}) into {data_dir}/ "
    "(gzipped, under those names), or point a mirror at a folder that holds them: "
    "mnistnn download --mirror file:///path/to/folder/"
)

MNIST = namedtuple("MNIST", "train_images train_labels test_images test_labels")


def default_data_dir():
    """`$MNISTNN_DATA_DIR`, else ./data."""
    return Path(os.environ.get("MNISTNN_DATA_DIR") or "data")


def default_mirrors():
    """`$MNISTNN_MIRRORS` (separated by spaces or commas), else the public mirrors."""
    env = os.environ.get("MNISTNN_MIRRORS", "").replace(",", " ").split()
    return tuple(env) or MIRRORS


def mirror_url(mirror, name):
    """The URL of file `name` on a mirror; a plain folder path becomes a file:// URL."""
    if "://" not in mirror:
        mirror = Path(mirror).resolve().as_uri()
    return mirror.rstrip("/") + "/" + name


def verify(raw, key, name):
    """Check downloaded bytes: the canonical SHA-256 and a clean MNIST parse; return the array."""
    plain = gunzip(raw, name) if raw[:2] == b"\x1f\x8b" else raw
    digest = hashlib.sha256(plain).hexdigest()
    if digest != FILES[key][1]:
        raise IDXError(f"{name}: checksum mismatch (SHA-256 {digest[:12]}..., "
                       f"expected {FILES[key][1][:12]}...)")
    array = parse_idx(plain, name)
    return check_images(array, name) if key.endswith("images") else check_labels(array, name)


class _Failure(Exception):
    """One attempt failed. `retry`: trying the same URL again may help; `unreachable`:
    the mirror itself is out of reach, so don't ask it for the other files either."""

    def __init__(self, message, retry, unreachable=False):
        super().__init__(message)
        self.retry, self.unreachable = retry, unreachable


def _fetch(url, part, timeout, on_progress, name):
    """Stream one URL into the file `part`; return its bytes."""
    request = urllib.request.Request(url, headers={"User-Agent": f"mnistnn/{__version__}"})
    chunks = []
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(part, "wb") as f:
                while chunk := response.read(1 << 16):
                    f.write(chunk)
                    chunks.append(chunk)
                    if on_progress:
                        on_progress(name, len(chunk), total)
                f.flush()
                os.fsync(f.fileno())
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise _Failure(f"HTTP {exc.code} {exc.reason}", retry) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, FileNotFoundError):
            raise _Failure("no such file", retry=False) from None
        if isinstance(reason, socket.gaierror):  # no DNS: offline, or a typo in the host
            raise _Failure(f"cannot resolve the host name ({reason.strerror})", retry=False,
                           unreachable=True) from None
        if isinstance(reason, socket.timeout):  # TimeoutError since Python 3.10
            raise _Failure(f"no answer within {timeout:g} s", True, True) from None
        raise _Failure(str(getattr(reason, "strerror", None) or reason), True, True) from None
    except socket.timeout:  # TimeoutError since Python 3.10; not on 3.9
        raise _Failure(f"no answer within {timeout:g} s", True, True) from None
    except (ConnectionError, http.client.HTTPException) as exc:
        raise _Failure(str(exc) or type(exc).__name__, retry=True) from None
    except ValueError as exc:  # an unusable URL
        raise _Failure(str(exc), retry=False) from None
    return b"".join(chunks)


def _download_one(key, data_dir, mirrors, timeout, retries, backoff, on_progress, dead):
    """Try each mirror in turn for one file; return the URL it came from."""
    name = FILES[key][0]
    target, part = data_dir / name, data_dir / (name + ".part")
    errors = []
    for mirror in mirrors:
        url = mirror_url(mirror, name)
        if mirror in dead:
            errors.append(f"  {url}: skipped ({dead[mirror]} earlier)")
            continue
        for attempt in range(retries + 1):
            try:
                array = verify(_fetch(url, part, timeout, on_progress, name), key, name)
            except (_Failure, IDXError) as exc:
                part.unlink(missing_ok=True)
                message = str(exc).removeprefix(f"{name}: ")
                if getattr(exc, "retry", False) and attempt < retries:
                    time.sleep(backoff * 2 ** attempt)
                    continue
                errors.append(f"  {url}: {message}")
                if getattr(exc, "unreachable", False):
                    dead[mirror] = message
                break
            except BaseException:  # Ctrl-C or a bug: never leave a partial file behind
                part.unlink(missing_ok=True)
                raise
            os.replace(part, target)
            _write_cache(target, array)
            return url
    names = ", ".join(n for n, _ in FILES.values())
    raise DownloadError(f"could not download {name} from any mirror:\n" + "\n".join(errors)
                        + "\n\n" + OFFLINE_HELP.format(names=names, data_dir=data_dir))


def is_verified(path, key):
    """True when the file at `path` exists and holds the canonical MNIST bytes."""
    try:
        verify(Path(path).read_bytes(), key, str(path))
    except (OSError, IDXError):
        return False
    return True


def download(data_dir=None, mirrors=None, force=False, timeout=30.0, retries=2, backoff=1.0,
             on_progress=None):
    """Fetch the four MNIST files into data_dir; return {file name: where it came from}.

    Files already present and verified are kept ("present") unless `force`.
    on_progress(name, nbytes, total_or_None) is called as bytes arrive.
    """
    data_dir = Path(data_dir or default_data_dir())
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MnistnnError(f"cannot create the data folder {data_dir}: {exc.strerror}") from None
    mirrors = tuple(mirrors or default_mirrors())
    report, dead = {}, {}
    for key, (name, _) in FILES.items():
        if not force and is_verified(data_dir / name, key):
            report[name] = "present"
            continue
        report[name] = _download_one(key, data_dir, mirrors, timeout, retries, backoff,
                                     on_progress, dead)
    return report


def missing(data_dir=None):
    """Names of the MNIST files that are not in data_dir."""
    data_dir = Path(data_dir or default_data_dir())
    return [name for name, _ in FILES.values() if not (data_dir / name).is_file()]


# -- loading, with a cache of parsed arrays ---------------------------------------------

def _cache_path(path):
    """data/cache/NAME.SIZE-MTIME.npy: a changed source file never matches a stale cache."""
    stat = path.stat()
    stem = path.name.removesuffix(".gz")
    return path.parent / "cache" / f"{stem}.{stat.st_size}-{stat.st_mtime_ns}.npy"


def _write_cache(path, array):
    """Save the parsed array beside the data; caching is best effort (read-only disks)."""
    try:
        cache = _cache_path(path)
        cache.parent.mkdir(exist_ok=True)
        for stale in cache.parent.glob(path.name.removesuffix(".gz") + ".*.npy"):
            stale.unlink()
        with atomic_open(cache) as f:
            np.save(f, array)
    except OSError:
        pass


def _load_one(path, key):
    """One file as a checked array, from the cache when it is there."""
    check = check_images if key.endswith("images") else check_labels
    if not path.is_file():
        raise MnistnnError(f"{path} is missing: run `mnistnn download` "
                           f"(or place the file there by hand)")
    try:
        return check(np.load(_cache_path(path), allow_pickle=False), str(path))
    except (OSError, ValueError):  # no cache yet, or a damaged one: parse the source
        pass
    array = check(read_idx(path), str(path))
    _write_cache(path, array)
    return array


def load_mnist(data_dir=None):
    """The MNIST arrays in data_dir: uint8 images (N, 28, 28), uint8 labels (N,)."""
    data_dir = Path(data_dir or default_data_dir())
    arrays = {key: _load_one(data_dir / name, key) for key, (name, _) in FILES.items()}
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise IDXError(f"{data_dir}: the {split} set has {n_images} images "
                           f"but {n_labels} labels")
    return MNIST(**arrays)


def to_inputs(images):
    """uint8 images (N, 28, 28) -> float32 network inputs (N, 784) in [0, 1]."""
    images = np.asarray(images)
    return np.multiply(images.reshape(len(images), -1), np.float32(1 / 255), dtype=np.float32)


def ensure(data_dir=None, allow_download=True, on_note=None, **download_options):
    """load_mnist(data_dir), first downloading whatever is missing (unless not allowed)."""
    data_dir = Path(data_dir or default_data_dir())
    absent = missing(data_dir)
    if absent:
        if not allow_download:
            raise MnistnnError(f"MNIST is not in {data_dir} (missing {', '.join(absent)}): "
                               f"run `mnistnn download`, or drop --no-download")
        if on_note:
            on_note(f"MNIST is not in {data_dir} yet: downloading it "
                    f"(--no-download turns this off)")
        download(data_dir, **download_options)
    return load_mnist(data_dir)
