"""Is this a digit at all? A second, small network that tells digits from everything else.

    detector = for_network(net)      # the data set's "not a digit" detector, or None
    detector.accepts(x)              # x (N, 784) MNIST-form inputs -> (N,) bool

A classifier trained on digits alone must call every image some digit, and its softmax is
confident about letters, stars and doodles too. Scores read off the classifier (its top
probability, an energy, a Mahalanobis distance on its last hidden layer) leave most
non-digits accepted when they may reject no more than 0.2% of real digits
(`python benchmarks/detector.py --compare` prints the table). What works is showing a
network what is *not* a digit: the detector is a ReLU network trained on MNIST's training
digits against generated non-digits (printed letters and symbols, shapes, pen strokes,
scribbles, textures, silhouettes), and an image is a digit when its log-odds exceed a
threshold set on held-out training digits. For a whole image the log-odds are the mean
over the image and its copies moved one pixel up, down, left and right (SHIFT): a
decision that hangs on where the ink happens to sit is evened out, and on the
development sets that turned away more non-digits while keeping more real digits
(README, "Not a digit").

It reads only the pixels, so one detector serves every classifier of its data set: the
shipped model and any a person trains. It is stored once, as a checkpoint of its own
(models/digit-detector.npz, metadata key "detector" naming the data set and the
threshold), rebuilt by `python benchmarks/detector.py --data-dir data --write`. A data
set without one (Fashion-MNIST) answers every image with its closest class.

The pieces of a line of digits (`classify --number`) have a detector of their own
(models/window-detector.npz, `--write --windows`), trained the same way with windows cut
out of lines of touching training digits added (touching.py): as digits, windows holding
one digit with bits of its neighbours at the edges; as not digits, windows cut where no
digit ends (two digits, part of one, parts of two). It accepts 99.3% of the first (the
digit detector: 82.3%), so the reading can tell a right cut from a wrong one; it is not
the one for whole images, because it turns away fewer of the non-digits (83.4% of the
held-out ones, against 91.1%).
"""
import math
from pathlib import Path

import numpy as np

from . import checkpoint
from .errors import CheckpointError
from .datasets import trained_on
from .form import PIXELS, SIDE

MODELS = Path(__file__).parent / "models"
DETECTORS = {"mnist": MODELS / "digit-detector.npz"}   # data set -> its detector
PIECE_DETECTORS = {"mnist": MODELS / "window-detector.npz"}   # ... for pieces of a line
# The detector's layers (output 0: not a digit, 1: a digit): the shipped classifier's
# convolutional stack with two outputs.
SIZES = "1x28x28,conv32k5,pool2,conv64k5,pool2,256,2"
KEEP = 0.998              # share of held-out training digits the threshold keeps
# ... for whole images, read with their shifted copies (SHIFT pixels): the largest share
# that still turns away 95% of each development set of non-digits (README, Not a digit).
IMAGE_KEEP, SHIFT = 0.9985, 1

_loaded = {}              # path -> its model (shipped()): each file is read once per process


class Detector:
    """A digit/not-a-digit network (output 0: not a digit, 1: a digit), the log-odds
    threshold above which an input is a digit, the share of held-out training digits it
    keeps, and the shift (pixels) of the copies read with each input (0: none)."""

    def __init__(self, net, threshold, dataset="mnist", keeps=KEEP, shift=0):
        self.net, self.threshold, self.dataset = net, float(threshold), dataset
        self.keeps, self.shift = float(keeps), int(shift)

    def log_odds(self, x):
        """log p(digit) - log p(not a digit) for x (N, 784) -> (N,): with a shift, the
        mean over each input and its copies moved shift pixels up, down, left, right."""
        s = self.shift
        moves = [(0, 0)] + ([(s, 0), (-s, 0), (0, s), (0, -s)] if s else [])
        if s:   # (len(moves)*N, 784); pieces of a line (no shift) are read as they are
            x = np.concatenate([moved(x, dy, dx) for dy, dx in moves])
        p = np.maximum(self.net.predict_proba(x), 1e-30)               # (len(moves)*N, 2)
        return (np.log(p[:, 1]) - np.log(p[:, 0])).reshape(len(moves), -1).mean(axis=0)

    def accepts(self, x):
        """Whether each input x (N, 784) is a digit: (N,) bool."""
        return self.log_odds(x) >= self.threshold


def moved(x, dy, dx):
    """MNIST-form images x (N, 784) moved dy pixels down and dx right (negative: up, left),
    zeros coming in at the edges: (N, 784)."""
    if not (dy or dx):
        return np.asarray(x)
    s = max(abs(dy), abs(dx))
    images = np.pad(np.reshape(x, (-1, SIDE, SIDE)), ((0, 0), (s, s), (s, s)))
    return images[:, s - dy:s - dy + SIDE, s - dx:s - dx + SIDE].reshape(len(images), PIXELS)


def for_network(net, pieces=False):
    """The Detector that applies to a classifier (by its data set), or None: the data set
    has none, or the classifier does not read MNIST-form images. pieces=True: the one for
    pieces cut out of a line of digits."""
    return shipped(PIECE_DETECTORS if pieces else DETECTORS, net, load)


def shipped(models, net, read):
    """The shipped model in `models` (data set -> path) for a classifier's data set, made
    by read(path) once per process; None when its data set has none or the classifier
    does not read MNIST-form images. (The detectors here; reading's window reader.)"""
    path = models.get(trained_on(net.meta).name)
    if path is None or net.sizes[0] != PIXELS:
        return None
    if path not in _loaded:
        _loaded[path] = read(path)
    return _loaded[path]


def load(path):
    """The Detector stored at path (a checkpoint with two outputs and "detector" metadata).
    Raises CheckpointError, one sentence, when it is not one."""
    net = checkpoint.load(path, inputs=PIXELS, classes=2)
    about = net.meta.get("detector")
    threshold = about.get("threshold") if isinstance(about, dict) else None
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold) \
            or not isinstance(about.get("dataset"), str):
        raise CheckpointError(f"{path}: not a digit detector (no threshold or data set)")
    shift, keeps = about.get("shift", 0), about.get("keeps", KEEP)
    if not isinstance(shift, int) or not 0 <= shift < SIDE // 2 \
            or not isinstance(keeps, (int, float)) or not 0 < keeps <= 1:
        raise CheckpointError(f"{path}: not a digit detector (its shift or the share of "
                              f"digits it keeps is out of range)")
    return Detector(net, threshold, about["dataset"], keeps, shift)


def save(path, detector, meta=None):
    """Write a Detector as a checkpoint (atomically), with its threshold and data set; its
    parameters as float16 (half the bytes; fit() sets the threshold on them rounded so)."""
    about = {"dataset": detector.dataset, "threshold": detector.threshold,
             "keeps": detector.keeps, "shift": detector.shift}
    half = detector.net.astype(np.float16)
    half.meta = None            # a detector's classes are not its data set's (two outputs)
    checkpoint.save(path, half, {**(meta or {}), "detector": about})


def fit(digits, nondigits, held_out, sizes=SIZES, epochs=30, seed=0, on_epoch=None,
        dataset="mnist", keep=KEEP, shift=0):
    """Train a Detector on digits (N, 784) against nondigits (M, 784) (repeated to weigh
    about as much as the digits, distorted afresh each epoch) and set its threshold so that
    it keeps the share keep of the held_out digits (K, 784), each read with its copies
    moved by shift pixels (0: none). Seconds (tiny data) to about 14 minutes (MNIST and
    24,000 non-digits, one core)."""
    from .network import Network
    from .config import normal_layers
    from .train import TrainConfig, Trainer

    repeat = max(1, int(round(0.8 * len(digits) / len(nondigits))))
    x = np.concatenate([digits, np.repeat(nondigits, repeat, axis=0)]).astype(np.float32)
    y = np.r_[np.ones(len(digits), dtype=int), np.zeros(repeat * len(nondigits), dtype=int)]
    config = TrainConfig(sizes=normal_layers(sizes), activation="relu", cost="log-likelihood",
                         lr=0.05, momentum=0.9, batch_size=128, epochs=epochs, seed=seed,
                         validation_size=0, rotate=8, shift=1, scale=0.1, l2=5e-4,
                         dropout=0.2, schedule="cosine")
    net = Network(config.sizes, "relu", "log-likelihood", seed=seed)
    Trainer(net, config, (x, y)).run(on_epoch=on_epoch)
    net = net.astype(np.float16).astype(np.float32)       # the parameters as saved
    odds = Detector(net, 0, shift=shift).log_odds(held_out)
    return Detector(net, np.quantile(odds, 1 - keep), dataset, keep, shift)
