"""Checkpoints: a network's parameters as plain arrays in an .npz, plus JSON metadata.

Saved files are data, never code: read with allow_pickle=False, and every name, shape
and value is checked before a Network is built from it. Writes are atomic (a temporary
file beside the target, fsync, os.replace), so a crash never leaves half a checkpoint.

Layout: W0, b0, W1, b1, ... (float32), optional momentum state v0, v1, ... (one per
parameter, in the same order), optional extra arrays whose names hold an underscore
(models that go with the network, e.g. reject_W0 of the "not a digit" detector: loaded
into net.extras, written only when given to save()), and `meta`, a JSON string:
    {"format": "mnistnn-checkpoint", "version": 1, "sizes": [784, 30, 10],
     "activation": "sigmoid", "cost": "quadratic", ...anything the trainer adds}
"""
import json
import os
import time
import zipfile
from collections import namedtuple
from pathlib import Path

import numpy as np

from . import __version__
from .errors import CheckpointError
from .files import atomic_open
from .network import ACTIVATIONS, COSTS, Network

FORMAT, VERSION = "mnistnn-checkpoint", 1

Checkpoint = namedtuple("Checkpoint", "net meta velocity")


def default_weights_dir():
    """`$MNISTNN_WEIGHTS_DIR`, else ./weights."""
    return Path(os.environ.get("MNISTNN_WEIGHTS_DIR") or "weights")


SHIPPED = Path(__file__).parent / "models" / "default.npz"  # the model that ships with mnistnn


def locate(weights=None, weights_dir=None):
    """The checkpoint to use: `weights` if given, else best.npz, else latest.npz in the
    weights folder, else the model shipped with the package. Returns its path."""
    if weights:
        return Path(weights)
    weights_dir = Path(weights_dir or default_weights_dir())
    for path in (weights_dir / "best.npz", weights_dir / "latest.npz", SHIPPED):
        if path.is_file():
            return path
    raise CheckpointError(f"no trained network in {weights_dir}/ (no best.npz or latest.npz): "
                          f"run `mnistnn train` first, or pass --weights PATH")


def describe(net):
    """A short human description: '784-30-10 sigmoid, quadratic cost, epoch 5'."""
    epoch = (net.meta.get("state") or {}).get("epoch")
    return (f"{'-'.join(map(str, net.sizes))} {net.activation.name}, {net.cost.name} cost"
            + (f", epoch {epoch}" if epoch else ""))


def save(path, net, meta=None, velocity=None, extras=None):
    """Write a network (and optional trainer metadata, momentum state and extra arrays,
    named with an underscore) atomically."""
    path = Path(path)
    meta = {**(meta or {}), "format": FORMAT, "version": VERSION, "sizes": net.sizes,
            "activation": net.activation.name, "cost": net.cost.name,
            "mnistnn_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    arrays = {"meta": np.array(json.dumps(meta))}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{l}"], arrays[f"b{l}"] = W, b
    for i, v in enumerate(velocity or ()):
        arrays[f"v{i}"] = v
    arrays.update({name: a for name, a in (extras or {}).items() if "_" in name})
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        np.savez(f, **arrays)


def load(path):
    """The Network stored at path (its metadata is in net.meta)."""
    return read(path).net


def read(path):
    """Load and validate a checkpoint: Checkpoint(net, meta, velocity or None)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    with open(path, "rb") as f:
        kind = _kind(f.read(6))
    if kind:
        raise CheckpointError(f"{path}: not an mnistnn checkpoint ({kind})")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{path}: not a readable mnistnn checkpoint "
                              f"({_why_unreadable(exc)})") from None
    try:
        return _build(arrays)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def _build(arrays):
    """A validated Checkpoint from the raw arrays of an .npz."""
    meta = _read_meta(arrays.pop("meta", None))
    sizes = meta["sizes"]
    n = len(sizes) - 1
    expected = {f"{p}{l}" for l in range(n) for p in "Wb"}
    velocity_names = [f"v{i}" for i in range(2 * n)]
    extras = {name: arrays.pop(name) for name in sorted(arrays) if "_" in name}
    for name, array in extras.items():
        _check_array(name, array, array.shape)
    extra = set(arrays) - expected - set(velocity_names)
    if expected - set(arrays) or extra:
        missing = sorted(expected - set(arrays))
        unexpected = sorted(extra) or "none"
        raise CheckpointError(f"arrays do not match the layer sizes {sizes} "
                              f"(missing {missing or 'none'}, unexpected {unexpected})")
    params = []
    for l in range(n):
        params += [(f"W{l}", (sizes[l + 1], sizes[l])), (f"b{l}", (sizes[l + 1],))]
    for name, shape in params:
        _check_array(name, arrays[name], shape)
    velocity = None
    if any(v in arrays for v in velocity_names):
        for v, (_, shape) in zip(velocity_names, params):
            _check_array(v, arrays.get(v), shape)
        velocity = [arrays[v] for v in velocity_names]
    net = Network(sizes, meta["activation"], meta["cost"])
    net.weights = [arrays[f"W{l}"].astype(np.float32) for l in range(n)]
    net.biases = [arrays[f"b{l}"].astype(np.float32) for l in range(n)]
    net.meta, net.extras = meta, extras
    return Checkpoint(net, meta, velocity)


def _read_meta(raw):
    """Parse and check the JSON metadata string."""
    if raw is None or raw.shape != () or raw.dtype.kind != "U":
        raise CheckpointError("not an mnistnn checkpoint (no metadata)")
    try:
        meta = json.loads(str(raw))
    except ValueError:
        raise CheckpointError("damaged metadata (not valid JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError("not an mnistnn checkpoint (unknown format)")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise CheckpointError(f"checkpoint format version {meta.get('version')!r} is newer "
                              f"than this mnistnn ({__version__}) understands; upgrade mnistnn")
    sizes = meta.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and 0 < s <= 1_000_000 for s in sizes)):
        raise CheckpointError(f"invalid layer sizes {sizes!r}")
    if meta.get("activation") not in ACTIVATIONS or meta.get("cost") not in COSTS:
        raise CheckpointError(f"unknown activation or cost "
                              f"({meta.get('activation')!r}, {meta.get('cost')!r})")
    return meta


def _check_array(name, array, shape):
    if array is None:
        raise CheckpointError(f"array {name} is missing")
    if array.dtype.kind != "f":
        raise CheckpointError(f"array {name} holds {array.dtype} values, expected floats")
    if array.shape != shape:
        raise CheckpointError(f"array {name} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise CheckpointError(f"array {name} holds NaN or infinite values")


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


def _why_unreadable(exc):
    """numpy's reason for refusing an archive, in a few words (never 'load it unsafely')."""
    text = str(exc)
    if "Object arrays" in text:  # an array of Python objects: it would need unpickling
        return "it holds Python objects, which mnistnn never loads"
    if isinstance(exc, zipfile.BadZipFile) or "zip" in text.lower():
        return "a damaged .npz archive"
    if isinstance(exc, EOFError) or "truncat" in text.lower():
        return "the file is truncated"
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__
