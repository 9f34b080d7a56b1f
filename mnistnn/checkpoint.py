"""Checkpoints: a network's parameters as plain arrays in an .npz, plus JSON metadata.

Saved files are data, never code. Reading trusts nothing (npz.Archive): member names
and sizes are checked from the zip directory before anything is decompressed, nothing is
unpickled, the metadata is checked against a schema (the types and bounds of TrainConfig
and TrainState) and every array's shape and values before a Network is built. Writes are
atomic (a temporary file beside the target, fsync, os.replace), so a crash never leaves
half a checkpoint.

Layout (format version 2): one array per parameter, named after its layer: conv1.W,
conv1.b, conv2.W, ..., dense1.W, dense1.b, ... (float32, or float16 to save space; the
layers of each kind numbered from 1, input to output), each batch normalisation's
bn1.W, bn1.b and the statistics it holds, bn1.mean and bn1.var, optional momentum state
under the parameters' names plus ".velocity", and `meta`, a JSON string:
    {"format": "mnistnn-checkpoint", "version": 2,
     "layers": "1x28x28,conv32k5,pool2,conv64k5,pool2,256,10",
     "activation": "relu", "cost": "log-likelihood", "dataset": "fashion-mnist",
     "classes": ["T-shirt/top", ...], ...anything the trainer adds}
"layers" is the layer spec (spec.py), canonical. Version 1, which every checkpoint made
before convolutional layers is (the shipped models among them), still loads: dense
layers only, "sizes": [784, 30, 10] in place of "layers", and arrays W0, b0, W1, b1, ...
with momentum state v0, v1, ... in the order W0, b0, W1, ...
"dataset" and "classes" (the names of the outputs) are absent from checkpoints made
before there was another data set than MNIST, and such a checkpoint means MNIST.
"""
import json
import os
import time
import zipfile
from collections import namedtuple
from pathlib import Path

import numpy as np

from . import __version__, datasets
from .config import ARCHITECTURE, TrainConfig, TrainState, layers_text, normal_layers
from .errors import CheckpointError, MnistnnError
from .files import atomic_open
from .form import CLASSES, PIXELS
from .layers import BatchNorm, Conv2D, Dense
from .network import ACTIVATIONS, COSTS, Network
from .npz import Archive, ArchiveError, Unreadable
from .spec import parse

FORMAT, VERSION = "mnistnn-checkpoint", 2
# the only arrays a checkpoint holds: version 2's, then version 1's
MEMBERS = r"meta|(conv|dense|bn)\d{1,4}\.[Wb](\.velocity)?|bn\d{1,4}\.(mean|var)|[Wbv]\d{1,4}"
MAX_SPEC = 10_000   # characters of a layer spec in the metadata

Checkpoint = namedtuple("Checkpoint", "net meta velocity")


def default_weights_dir(dataset=None):
    """`$MNISTNN_WEIGHTS_DIR`, else ./weights for MNIST and ./weights/NAME for another data
    set (as data/ holds MNIST and data/NAME the others), so their runs never meet."""
    env = os.environ.get("MNISTNN_WEIGHTS_DIR")
    return Path(env) if env else Path("weights") / datasets.get(dataset).folder


SHIPPED = Path(__file__).parent / "models" / "default.npz"  # the model that ships with mnistnn


def shipped(dataset=None):
    """The model that ships with mnistnn for a data set: models/default.npz for MNIST,
    models/NAME.npz for another (which may not exist)."""
    name = datasets.get(dataset).name
    return SHIPPED if name == datasets.DEFAULT else SHIPPED.with_name(f"{name}.npz")


def locate(weights=None, weights_dir=None, dataset=None):
    """The checkpoint to use: `weights` if given, else best.npz, else latest.npz in the
    weights folder (the data set's default one unless given), else the model shipped with
    the package for the data set. Returns its path. A weights folder that was named
    (weights_dir, or $MNISTNN_WEIGHTS_DIR) and does not exist is an error, not the
    shipped model: a typo, or a training step that never ran, must not pass a CI gate."""
    if weights:
        return Path(weights)
    named = weights_dir or os.environ.get("MNISTNN_WEIGHTS_DIR")
    weights_dir = Path(weights_dir or default_weights_dir(dataset))
    if named and not weights_dir.is_dir():
        raise CheckpointError(f"the weights folder {weights_dir}/ does not exist, so nothing "
                              f"was trained there: check its name, or leave it out for the "
                              f"model that ships with mnistnn")
    for path in (weights_dir / "best.npz", weights_dir / "latest.npz", shipped(dataset)):
        if path.is_file():
            return path
    train = " ".join(["mnistnn train"] + ([f"--dataset {dataset}"] if dataset else []))
    raise CheckpointError(f"no trained network in {weights_dir}/ (no best.npz or latest.npz): "
                          f"run `{train}` first, or pass --weights PATH")


def describe(net):
    """A short human description: '784-30-10 sigmoid, quadratic cost, epoch 5', or with the
    layer spec, '1x28x28,conv32k5,pool2,256,10 relu, log-likelihood cost' (and ', trained
    on Fashion-MNIST' for another data set than MNIST)."""
    epoch = (net.meta.get("state") or {}).get("epoch")
    entry = datasets.trained_on(net.meta)
    return (f"{layers_text(normal_layers(net.spec), '-')} {net.activation.name}, "
            f"{net.cost.name} cost"
            + (f", epoch {epoch}" if epoch else "")
            + (f", trained on {entry.title}" if entry.name != datasets.DEFAULT else ""))


def save(path, net, meta=None, velocity=None):
    """Write a network (and optional trainer metadata and momentum state) atomically."""
    path = Path(path)
    meta = {**(meta or {})}
    name = meta.get("dataset", (net.meta or {}).get("dataset"))   # a loaded net keeps its own
    if name:
        meta["dataset"], meta["classes"] = name, list(datasets.get(name).classes)
    meta = {k: v for k, v in meta.items() if k != "sizes"}   # version 1's, if loaded so
    meta = {**meta, "format": FORMAT, "version": VERSION, "layers": net.spec,
            "activation": net.activation.name, "cost": net.cost.name,
            "mnistnn_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    arrays = {"meta": np.array(json.dumps(meta))}
    names = [name for name, _ in parameters(net.layers)]
    arrays.update(zip(names, [p for pair in zip(net.weights, net.biases) for p in pair]))
    arrays.update((name + ".velocity", v) for name, v in zip(names, velocity or ()))
    held = [a for layer in net.normalisers for a in (layer.mean, layer.var)]
    arrays.update(zip([name for name, _ in statistics(net.layers)], held))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        np.savez(f, **arrays)


def load(path, inputs=PIXELS, classes=CLASSES, dataset=None):
    """The Network stored at path (its metadata is in net.meta)."""
    return read(path, inputs, classes, dataset).net


def read(path, inputs=PIXELS, classes=CLASSES, dataset=None):
    """Load and validate a checkpoint: Checkpoint(net, meta, velocity or None).

    The network must take `inputs` numbers and answer `classes` scores, as the data set
    it is used on does (MNIST: 784 pixels, 10 digits); given a data set's name, it must
    have been trained on that data set."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with open(path, "rb") as f:
            kind = _kind(f.read(6))
    except OSError as exc:          # unreadable (permissions): a sentence, as for images
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if kind:
        raise CheckpointError(f"{path}: not an mnistnn checkpoint ({kind})")
    try:
        with Archive(path, MEMBERS) as npz:
            return _build(npz, inputs, classes, dataset)
    except Unreadable as exc:
        raise CheckpointError(f"{path}: not a readable mnistnn checkpoint ({exc})") from None
    except (ArchiveError, CheckpointError) as exc:
        if not has_metadata(path):      # some other .npz: say that, not what it holds
            raise CheckpointError(f"{path}: not an mnistnn checkpoint (no metadata)") from None
        raise CheckpointError(f"{path}: {exc}") from None


def has_metadata(path):
    """Whether path is a zip (.npz) archive holding a metadata member, as every mnistnn
    checkpoint does (cheap: the zip directory only)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "meta.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def read_meta(path):
    """The validated metadata of the checkpoint at path, its arrays left unread (what a
    folder's earlier run trained on, for instance). CheckpointError when it has none
    that can be read."""
    try:
        with Archive(Path(path), MEMBERS) as npz:
            return _meta_of(npz)
    except (ArchiveError, CheckpointError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable mnistnn checkpoint ({exc})") from None


def _meta_of(npz):
    """The validated metadata of an opened archive."""
    if "meta" not in npz.sizes:
        raise CheckpointError("not an mnistnn checkpoint (no metadata)")
    return _read_meta(npz.array("meta", kinds="U"))


def _build(npz, inputs, classes, dataset=None):
    """A validated Checkpoint from an opened archive: metadata first, then each array."""
    meta = _meta_of(npz)
    _check_use(meta, dataset)
    spec = _spec(meta)
    input_shape, layers = parse(spec)
    n_in, n_out = int(np.prod(input_shape)), layers[-1].out_shape[0]
    if n_in != inputs or n_out != classes:
        raise CheckpointError(f"a network for {n_in} inputs and {n_out} classes, but "
                              f"the data set has {inputs} inputs and {classes} classes")
    params = parameters(layers)
    if meta["version"] == 1:     # W0, b0, W1, ...; momentum v0, v1, ... in that order
        params = [(f"{'Wb'[i % 2]}{i // 2}", shape) for i, (_, shape) in enumerate(params)]
        velocity_names = [f"v{i}" for i in range(len(params))]
    else:
        velocity_names = [name + ".velocity" for name, _ in params]
    held_names = statistics(layers)                  # bn1.mean, bn1.var, bn2.mean, ...
    names = [name for name, _ in params + held_names]
    stored = set(npz.sizes) - {"meta"}
    missing, extra = sorted(set(names) - stored), sorted(stored - set(names + velocity_names))
    if missing or extra:
        raise CheckpointError(f"arrays do not match the layers {layers_text(spec)} "
                              f"(missing {missing or 'none'}, unexpected {extra or 'none'})")
    arrays = [_float32(npz, name, shape) for name, shape in params]
    held = [_float32(npz, name, shape) for name, shape in held_names]
    for (name, _), var in zip(held_names[1::2], held[1::2]):
        if np.any(var < 0):
            raise CheckpointError(f"array {name} holds negative values, and it is a variance")
    velocity = None
    if stored & set(velocity_names):
        velocity = [_float32(npz, v, shape) for v, (_, shape) in zip(velocity_names, params)]
    net = Network(spec, meta["activation"], meta["cost"])
    net.weights, net.biases = arrays[0::2], arrays[1::2]
    for layer, mean, var in zip(net.normalisers, held[0::2], held[1::2]):
        layer.mean, layer.var = mean, var
    net.meta = meta
    return Checkpoint(net, meta, velocity)


def parameters(layers):
    """The name and shape of each parameter array of a stack of layers, in the order
    W, b of the first layer that has parameters, then the next...: [("conv1.W", (32, 5,
    5, 1)), ("conv1.b", (32,)), ..., ("dense1.W", (256, 1024)), ("dense1.b", (256,))]."""
    found, counts = [], {"conv": 0, "dense": 0, "bn": 0}
    for layer in layers:
        if isinstance(layer, Conv2D):
            kind, W = "conv", (layer.n, layer.k, layer.k, layer.in_shape[2])
        elif isinstance(layer, Dense):
            kind, W = "dense", (layer.out_shape[0], layer.in_shape[0])
        elif isinstance(layer, BatchNorm):
            kind, W = "bn", (layer.n,)
        else:
            continue
        counts[kind] += 1
        name = f"{kind}{counts[kind]}"
        found += [(f"{name}.W", W), (f"{name}.b", W[:1])]
    return found


def statistics(layers):
    """The name and shape of the statistics each batch normalisation holds, in order:
    [("bn1.mean", (32,)), ("bn1.var", (32,)), ("bn2.mean", ...), ...]."""
    norms = [layer for layer in layers if isinstance(layer, BatchNorm)]
    return [(f"bn{i}.{what}", (layer.n,)) for i, layer in enumerate(norms, start=1)
            for what in ("mean", "var")]


def _spec(meta):
    """The layer spec of checked metadata: "layers", or version 1's "sizes"."""
    return meta["layers"] if meta["version"] >= 2 else tuple(meta["sizes"])


def _float32(npz, name, shape):
    """One parameter array as float32, finite after the cast (1e300 would become inf)."""
    if name not in npz.sizes:
        raise CheckpointError(f"array {name} is missing")
    with np.errstate(over="ignore"):
        array = npz.array(name, shape, kinds="f").astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise CheckpointError(f"array {name} holds NaN or infinite values, or values too "
                              f"large for float32")
    return array


def _read_meta(raw):
    """Parse the JSON metadata string and check it against the schema of a checkpoint."""
    if raw.shape != ():
        raise CheckpointError("not an mnistnn checkpoint (no metadata)")
    try:
        meta = json.loads(str(raw))
    except (ValueError, RecursionError):     # RecursionError: nested thousands deep
        raise CheckpointError("damaged metadata (not valid JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError("not an mnistnn checkpoint (unknown format)")
    if type(meta.get("version")) is not int or meta["version"] > VERSION:
        raise CheckpointError(f"checkpoint format version {meta.get('version')!r} is newer "
                              f"than this mnistnn ({__version__}) understands; upgrade mnistnn")
    if meta["version"] < 1:
        raise CheckpointError(f"not an mnistnn checkpoint (format version {meta['version']})")
    _check_layers(meta)
    if meta.get("activation") not in ACTIVATIONS or meta.get("cost") not in COSTS:
        raise CheckpointError(f"unknown activation or cost "
                              f"({meta.get('activation')!r}, {meta.get('cost')!r})")
    _check_dataset(meta)
    _check_training_meta(meta)
    return meta


def _check_layers(meta):
    """Version 1's layer sizes, or version 2's layer spec, which must parse."""
    if meta["version"] == 1:
        sizes = meta.get("sizes")
        if (not isinstance(sizes, list) or not 2 <= len(sizes) <= 1000
                or not all(type(s) is int and 0 < s <= 1_000_000 for s in sizes)):
            raise CheckpointError(f"invalid layer sizes {sizes!r:.80}")
        return
    spec = meta.get("layers")
    if not isinstance(spec, str) or len(spec) > MAX_SPEC:
        raise CheckpointError(f"damaged metadata: the layers are not a layer spec "
                              f"({spec!r:.80})")
    try:
        parse(spec)
    except ValueError as exc:
        raise CheckpointError(f"invalid layer spec {spec!r:.80}: {exc}") from None


def _check_dataset(meta):
    """The data set a network was trained on: one this mnistnn knows, and the names of its
    outputs, when recorded, the data set's own."""
    try:
        entry = datasets.trained_on(meta)
    except MnistnnError as exc:
        raise CheckpointError(str(exc)) from None
    if "classes" in meta and meta["classes"] != list(entry.classes):
        raise CheckpointError(f"damaged metadata: the class names {meta['classes']!r:.80} are "
                              f"not {entry.title}'s")


def _check_use(meta, dataset):
    """Refuse a network trained on another data set than the one it is asked to read."""
    if dataset is None:
        return
    trained, wanted = datasets.trained_on(meta), datasets.get(dataset)
    if trained is not wanted:
        raise CheckpointError(f"a network trained on {trained.title} cannot read "
                              f"{wanted.title} (use --dataset {trained.name}, or the "
                              f"--weights of a model trained on {wanted.title})")


def _check_training_meta(meta):
    """What the trainer adds: its settings, where the run stands, the last epoch's metrics."""
    try:
        if "config" in meta:
            config = TrainConfig.from_dict(meta["config"])
            network = {**meta, "dataset": datasets.trained_on(meta).name,  # absent: MNIST
                       "sizes": normal_layers(_spec(meta))}
            for key in set(ARCHITECTURE) & set(meta["config"]):
                if getattr(config, key) != network[key]:
                    raise ValueError(f"the settings say {key} {getattr(config, key)}, the "
                                     f"network {network[key]}")
        if "state" in meta:
            TrainState.from_dict(meta["state"])
    except (ValueError, TypeError) as exc:    # TypeError: a setting this mnistnn lacks
        raise CheckpointError(f"damaged training metadata: {exc}") from None
    if not isinstance(meta.get("interrupted", False), bool):
        raise CheckpointError("damaged training metadata: 'interrupted' is not true or false")
    if not isinstance(meta.get("metrics"), (dict, type(None))):
        raise CheckpointError("damaged training metadata: 'metrics' is not a mapping")
    accuracy = meta.get("test_accuracy", 0.0)
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) \
            or not 0 <= accuracy <= 1:
        raise CheckpointError("damaged training metadata: 'test_accuracy' is not a number "
                              "from 0 to 1")


def _kind(head):
    """What a file that is not an .npz archive is, from its first bytes; None for a zip."""
    if head.startswith(b"PK"):
        return None
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return "a single .npy array, not an .npz archive"
    if head[:1] == b"\x80":
        return "pickled Python objects, which mnistnn never loads: weights are data, not code"
    return "not an .npz archive"
