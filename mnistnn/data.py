"""Data sets on disk: loading with a cache of parsed arrays, and the network's inputs.

    load_dataset(name, data_dir)   uint8 images (N, 28, 28) and labels (N,), cached as .npy
    load_mnist(data_dir)           the same for MNIST
    ensure(data_dir, dataset=...)  load, first downloading whatever is missing
                                   (splits=("test",): the test set alone, as `test` needs)
    to_inputs(images)              float32 (N, 784) in [0, 1], what the network eats

The table of data sets is datasets.py; downloading is fetch.py.
"""
from collections import namedtuple

import numpy as np

from . import datasets
from .errors import IDXError, MnistnnError
from .fetch import download, is_verified, verify  # noqa: F401 - download is API here too
from .files import atomic_open
from .idx import check_split

# MNIST's files, key -> (canonical name, SHA-256 of the decompressed bytes)
FILES = datasets.get("mnist").files

DataSet = namedtuple("DataSet", "train_images train_labels test_images test_labels")
MNIST = DataSet  # the name it had when MNIST was the only one
SPLITS = ("train", "test")


def missing(data_dir=None, dataset=None, splits=SPLITS):
    """Names of the data set's files for splits that are not in its folder."""
    entry = datasets.get(dataset)
    folder = datasets.folder(entry.name, data_dir)
    return [name for key, (name, _) in entry.files.items()
            if _of(key, splits) and not (folder / name).is_file()]


def _of(key, splits):
    """Whether a file of the data set ("train_images", ...) belongs to one of splits."""
    return key.split("_")[0] in splits


def download_command(dataset=None, data_dir=None, force=False):
    """The `mnistnn download` command line that fetches this data set into data_dir."""
    words = ["mnistnn download"] + (["--force"] if force else [])
    return " ".join(words + datasets.options(dataset, data_dir))


# -- loading, with a cache of parsed arrays ---------------------------------------------

def _cache_path(path):
    """FOLDER/cache/NAME.SIZE-MTIME.npy: a changed source file never matches a stale cache."""
    stat = path.stat()
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    return path.parent / "cache" / f"{stem}.{stat.st_size}-{stat.st_mtime_ns}.npy"


def _write_cache(path, array):
    """Save the parsed array beside the data, then drop caches of older versions of the
    file. Best effort (read-only disks), and safe while other processes load the same
    folder: every write is atomic, and a cache another run removes is just rebuilt."""
    try:
        cache = _cache_path(path)
        cache.parent.mkdir(exist_ok=True)
        with atomic_open(cache) as f:
            np.save(f, array)
        for stale in cache.parent.glob(cache.name.split(".")[0] + ".*.npy"):
            if stale != cache:
                stale.unlink()
    except OSError:
        pass


def _parse(path, key, entry, data_dir):
    """One source file as a checked array; a damaged file says how to fetch it again."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IDXError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:  # strict=False: a file of one's own (a subset, a test set) may be used
        return verify(raw, key, str(path), entry.name, strict=False)
    except IDXError as exc:
        again = download_command(entry.name, data_dir, force=True)
        raise IDXError(f"{exc}: run `{again}` to fetch it again") from None


def _load_one(path, key, entry, data_dir):
    """One file as a checked array, from the cache when it is there."""
    if not path.is_file():
        raise MnistnnError(f"{path} is missing: run `{download_command(entry.name, data_dir)}`"
                           f" (or place the file there by hand)")
    try:
        cached = np.load(_cache_path(path), allow_pickle=False)
        return check_split(cached, key, str(path), entry.shape, len(entry.classes))
    except (OSError, ValueError):  # no cache yet, or a damaged one: parse the source
        pass
    array = _parse(path, key, entry, data_dir)
    _write_cache(path, array)
    return array


def load_dataset(name=None, data_dir=None, splits=SPLITS):
    """Data set `name` (default mnist) from its folder under data_dir: uint8 images
    (N, 28, 28), uint8 labels (N,), for training and test (None for a split not asked
    for: its files need not be there)."""
    entry = datasets.get(name)
    folder = datasets.folder(entry.name, data_dir)
    arrays = {key: _load_one(folder / file_name, key, entry, data_dir)
              if _of(key, splits) else None
              for key, (file_name, _) in entry.files.items()}
    for split in splits:
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise IDXError(f"{folder}: the {split} set has {n_images} images "
                           f"but {n_labels} labels")
    return DataSet(**arrays)


def load_mnist(data_dir=None):
    """The MNIST arrays in data_dir: uint8 images (N, 28, 28), uint8 labels (N,)."""
    return load_dataset(datasets.DEFAULT, data_dir)


def to_inputs(images):
    """uint8 images (N, 28, 28) -> float32 network inputs (N, 784) in [0, 1]."""
    images = np.asarray(images)
    return np.multiply(images.reshape(len(images), -1), np.float32(1 / 255), dtype=np.float32)


def ensure(data_dir=None, allow_download=True, on_note=None, dataset=None, splits=SPLITS,
           **download_options):
    """load_dataset(dataset, data_dir, splits), first downloading the data set when a file
    of those splits is missing (unless not allowed). Runs started at once take turns to
    download (see fetch.download)."""
    entry = datasets.get(dataset)
    absent = missing(data_dir, entry.name, splits)
    if absent:
        folder = datasets.folder(entry.name, data_dir)
        if not allow_download:
            raise MnistnnError(f"{entry.title} is not in {folder} (missing {', '.join(absent)}):"
                               f" run `{download_command(entry.name, data_dir)}`, or drop "
                               f"--no-download")
        if on_note:
            on_note(f"{entry.title} is not in {folder} yet: downloading it "
                    f"(--no-download turns this off)")
        download(data_dir, dataset=entry.name, on_note=on_note, **download_options)
    return load_dataset(entry.name, data_dir, splits)
