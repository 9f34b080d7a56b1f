"""The data sets mnistnn knows, one table entry each, and where their files live.

Every data set here is an IDX family in MNIST's mould: four gzipped files, grey images
and integer labels. Adding one (KMNIST, say) is one entry in DATASETS: canonical file
names with the SHA-256 of each decompressed file, public mirrors in order, class names,
how a person's photo is brought to its form, image shape, and its folder under the data
folder (MNIST sits in the data folder itself, as it always has; the others in a
subfolder named after them).
"""
import os
import re
import shlex
from collections import namedtuple
from pathlib import Path

from .errors import IDXError, MnistnnError

ENV_DATASET, ENV_DATA_DIR = "MNISTNN_DATASET", "MNISTNN_DATA_DIR"
DEFAULT = "mnist"
KEYS = ("train_images", "train_labels", "test_images", "test_labels")
WHAT = {"train_images": "training images", "train_labels": "training labels",
        "test_images": "test images", "test_labels": "test labels"}

# files: key -> (canonical .gz name, SHA-256 of the decompressed bytes)
# style: how imaging brings a photo to this form: "mnist" (20-pixel box, centre of mass)
#        or "fashion" (bounding box, longer side 28, centred)
Dataset = namedtuple("Dataset", "name title files mirrors classes style shape folder")

DATASETS = {d.name: d for d in (
    Dataset(
        name="mnist", title="MNIST",
        files={
            "train_images": ("train-images-idx3-ubyte.gz",
                             "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            "train_labels": ("train-labels-idx1-ubyte.gz",
                             "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            "test_images": ("t10k-images-idx3-ubyte.gz",
                            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            "test_labels": ("t10k-labels-idx1-ubyte.gz",
                            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        },
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/",
                 "http://yann.lecun.com/exdb/mnist/"),
        classes=tuple("0123456789"), style="mnist", shape=(28, 28), folder=""),
    Dataset(
        name="fashion-mnist", title="Fashion-MNIST",
        files={
            "train_images": ("train-images-idx3-ubyte.gz",
                             "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            "train_labels": ("train-labels-idx1-ubyte.gz",
                             "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            "test_images": ("t10k-images-idx3-ubyte.gz",
                            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            "test_labels": ("t10k-labels-idx1-ubyte.gz",
                            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        },
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                 "data/fashion/"),
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"),
        style="fashion", shape=(28, 28), folder="fashion-mnist"),
)}
NAMES = tuple(DATASETS)


def get(name=None):
    """The table entry of data set `name` (default mnist). The library never reads
    $MNISTNN_DATASET: the CLI's --dataset does, so a script gets what it asks for."""
    name = name or DEFAULT
    if name not in DATASETS:
        raise MnistnnError(f"unknown data set {name!r}: choose one of {', '.join(NAMES)}")
    return DATASETS[name]


def trained_on(meta):
    """The table entry of the data set a checkpoint's metadata names: its "dataset", or
    MNIST when it names none (checkpoints from before there was another)."""
    name = (meta or {}).get("dataset")
    if name is not None and name not in DATASETS:
        raise MnistnnError(f"the network was trained on a data set this mnistnn does not know "
                           f"({name!r}; it knows {', '.join(NAMES)})")
    return get(name)


def class_index(entry, text):
    """The class of data set `entry` that text names: its number ("7"), its name in any
    case ("sneaker"), or an unambiguous beginning of the name or of a word in it ("snea",
    "boot"). ValueError, one sentence listing the names, otherwise."""
    found = candidates(entry, text)
    if len(found) == 1:
        return found[0]
    if found:
        names = [entry.classes[i] for i in found]
        raise ValueError(f"{text!r} could be {', '.join(names[:-1])} or {names[-1]}: give "
                         f"more of the name")
    hint = ""
    for other in DATASETS.values():
        names = [other.classes[i] for i in candidates(other, text)]
        if other is not entry and names and not hint:
            what = (f"{names[0]} is a class" if len(names) == 1 else
                    f"{', '.join(names[:-1])} and {names[-1]} are classes")
            hint = (f"; {what} of {other.title}: use a model trained on it "
                    f"(--dataset {other.name})")
    digits = entry.classes == tuple(map(str, range(len(entry.classes))))
    raise ValueError(f"{text!r} is not one of {entry.title}'s classes: give a number from 0 "
                     f"to {len(entry.classes) - 1}"
                     + ("" if digits else f" or a name ({', '.join(entry.classes)})") + hint)


def candidates(entry, text):
    """The classes of data set `entry` that text may name (see class_index), as indices:
    its number, else the names equal to it, else those it begins, else those with a word
    it begins."""
    text = str(text).strip()
    if text in map(str, range(len(entry.classes))):     # '7', not '07' or '²'
        return [int(text)]
    key = _simple(text)
    tests = (lambda name: _simple(name) == key,
             lambda name: _simple(name).startswith(key),
             lambda name: any(word.startswith(key) for word in _words(name)))
    for test in tests if re.search("[a-z]", key) else ():   # a name has letters: not '+3'
        found = [i for i, name in enumerate(entry.classes) if test(name)]
        if found:
            return found
    return []


def _simple(name):
    """A class name as compared: lower case, letters and digits only ('T-shirt/top' ->
    'tshirttop')."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _words(name):
    return [_simple(word) for word in re.split(r"[^0-9A-Za-z]+", name) if word]


def default_data_dir():
    """The data folder: `$MNISTNN_DATA_DIR`, else ./data."""
    return Path(os.environ.get(ENV_DATA_DIR) or "data")


def options(name=None, data_dir=None):
    """The options naming data set `name` and data_dir on a command line, when they are
    not the defaults: ['--dataset fashion-mnist', '--data-dir d'], or []."""
    words = [] if get(name).name == DEFAULT else [f"--dataset {get(name).name}"]
    if data_dir and Path(data_dir).resolve() != default_data_dir().resolve():
        words.append(f"--data-dir {shlex.quote(str(data_dir))}")   # pasted into a shell
    return words


def folder(name=None, data_dir=None):
    """Where data set `name` lives: data_dir for MNIST, data_dir/NAME for the others."""
    return Path(data_dir or default_data_dir()) / get(name).folder


def mirrors_env(name=None):
    """The environment variable that lists a data set's own mirrors:
    MNISTNN_MIRRORS for MNIST, MNISTNN_MIRRORS_FASHION_MNIST for Fashion-MNIST, ..."""
    dataset = get(name)
    suffix = "" if dataset.name == DEFAULT else "_" + dataset.name.upper().replace("-", "_")
    return "MNISTNN_MIRRORS" + suffix


def default_mirrors(name=None):
    """The mirrors to try: the data set's variable (spaces or commas between URLs), else
    its public mirrors."""
    env = os.environ.get(mirrors_env(name), "").replace(",", " ").split()
    return tuple(env) or get(name).mirrors


def identify(digest):
    """(data set, key) whose canonical decompressed file has this SHA-256, else None."""
    for dataset in DATASETS.values():
        for key, (_, sha) in dataset.files.items():
            if sha == digest:
                return dataset, key
    return None


def describe(dataset, key):
    """'Fashion-MNIST's test labels': one file of a data set, in words."""
    return f"{dataset.title}'s {WHAT[key]}"


def check_digest(digest, dataset, key, name, strict=True):
    """Refuse a file whose decompressed SHA-256 is another known file's (MNIST offered as
    Fashion-MNIST, labels offered as images); when `strict`, any but the canonical one."""
    expected = dataset.files[key][1]
    if digest == expected:
        return
    known = identify(digest)
    if known:
        raise IDXError(f"{name} holds {describe(*known)}, not {describe(dataset, key)}")
    if strict:
        raise IDXError(f"{name}: checksum mismatch (SHA-256 {digest[:12]}..., "
                       f"expected {expected[:12]}...)")
