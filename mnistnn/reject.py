"""Is this a digit at all? A second, small network that tells digits from everything else.

    model = of(net)                  # the "not a digit" model a checkpoint carries, or None
    model.accepts(net, x)            # x (N, 784) MNIST-form inputs -> (N,) bool

A classifier trained on digits alone must call every image some digit, and its softmax is
confident about letters, stars and doodles too. Scores read off the classifier (its top
probability, an energy, a Mahalanobis distance on its last hidden layer, a logistic
regression on that layer) leave most non-digits accepted when they may reject no more than
0.2% of real digits (benchmarks/numbers.py --compare prints the table). What works is
showing a network what is *not* a digit: the detector here is a 784-256-2 ReLU network
trained on MNIST's training digits against printed letters and symbols, shapes, scribbles
and textures (models/nondigits.npz, drawn by benchmarks/numbers.py --make-nondigits), and
an image is a digit when its log-odds exceed a threshold set on held-out training digits.

It reads only the pixels, so it serves any classifier; it is stored in the classifier's
checkpoint (arrays reject_W0, reject_b0, ..., metadata key "reject") so that a checkpoint
says for itself whether it can say "not a digit". fit() makes one for any checkpoint.
"""
from pathlib import Path

import numpy as np

from . import checkpoint
from .errors import CheckpointError
from .network import Network
from .train import TrainConfig, Trainer

PREFIX = "reject_"        # checkpoint arrays of the detector
METHOD = "digit-detector"
SIZES = (784, 256, 2)     # output 0: not a digit, output 1: a digit
KEEP = 0.998              # share of held-out training digits the threshold keeps


class Detector:
    """A digit/not-a-digit network and the log-odds threshold above which x is a digit."""

    def __init__(self, net, threshold):
        self.net, self.threshold = net, float(threshold)

    def log_odds(self, x):
        """log p(digit) - log p(not a digit) for x (N, 784) -> (N,)."""
        p = np.maximum(self.net.predict_proba(x), 1e-30)         # (N, 2)
        return np.log(p[:, 1]) - np.log(p[:, 0])

    def accepts(self, classifier, x):
        """Whether each input x (N, 784) is a digit (N,) bool (the classifier is not
        needed by this method; it is passed so that every method has one signature)."""
        return self.log_odds(x) >= self.threshold

    def arrays(self):
        """The checkpoint arrays and metadata entry that store this detector."""
        arrays = {}
        for l, (W, b) in enumerate(zip(self.net.weights, self.net.biases)):
            arrays[f"{PREFIX}W{l}"], arrays[f"{PREFIX}b{l}"] = W, b
        meta = {"method": METHOD, "sizes": self.net.sizes, "threshold": self.threshold,
                "keeps": KEEP}
        return arrays, meta


def of(net):
    """The Detector stored with a loaded network (net.extras, net.meta["reject"]), or None
    when its checkpoint has none."""
    meta, extras = net.meta.get("reject"), getattr(net, "extras", None) or {}
    if not isinstance(meta, dict) or meta.get("method") != METHOD:
        return None
    sizes = meta.get("sizes")
    n = len(sizes) - 1 if isinstance(sizes, list) else 0
    names = [f"{PREFIX}{p}{l}" for l in range(n) for p in "Wb"]
    if n < 1 or not all(name in extras for name in names):
        return None
    detector = Network(sizes, "relu", "log-likelihood")
    detector.weights = [extras[f"{PREFIX}W{l}"] for l in range(n)]
    detector.biases = [extras[f"{PREFIX}b{l}"] for l in range(n)]
    if any(W.shape != (b, a) for W, a, b in zip(detector.weights, sizes[:-1], sizes[1:])):
        return None
    return Detector(detector, meta["threshold"])


def fit(digits, nondigits, held_out, epochs=10, seed=0, on_epoch=None):
    """Train a Detector on digits (N, 784) against nondigits (M, 784) (repeated to
    weigh about as much as the digits, and distorted afresh each epoch), and set its
    threshold so that it keeps KEEP of the held_out digits (K, 784)."""
    repeat = max(1, int(round(0.8 * len(digits) / len(nondigits))))
    x = np.concatenate([digits, np.repeat(nondigits, repeat, axis=0)]).astype(np.float32)
    y = np.r_[np.ones(len(digits), dtype=int), np.zeros(repeat * len(nondigits), dtype=int)]
    config = TrainConfig(sizes=SIZES, activation="relu", cost="log-likelihood", lr=0.05,
                         momentum=0.9, batch_size=128, epochs=epochs, seed=seed,
                         validation_size=0, rotate=8, shift=1, scale=0.1, l2=5e-4,
                         dropout=0.2, schedule="cosine")
    net = Network(SIZES, "relu", "log-likelihood", seed=seed)
    Trainer(net, config, (x, y)).run(on_epoch=on_epoch)
    odds = Detector(net, 0).log_odds(held_out)
    return Detector(net, np.quantile(odds, 1 - KEEP))


NONDIGITS = Path(__file__).parent / "models" / "nondigits.npz"   # (M, 784) uint8, MNIST form


def fit_checkpoint(path, train_images, copy_from=None, on_epoch=None):
    """Give the checkpoint at path a "not a digit" detector and write it back atomically
    (its weights, metadata and other arrays unchanged). The detector is trained on
    train_images (60000, 784) float32 in [0, 1] (the last 10,000 set the threshold)
    against the packaged non-digits, or copied from the checkpoint copy_from. Returns it."""
    target = checkpoint.read(path)
    if copy_from is not None:
        detector = of(checkpoint.load(copy_from))
        if detector is None:
            raise CheckpointError(f"{copy_from}: carries no \"not a digit\" model to copy")
    else:
        with np.load(NONDIGITS, allow_pickle=False) as npz:
            nondigits = npz["x"].astype(np.float32) / 255                 # (M, 784)
        detector = fit(train_images[:50000], nondigits, train_images[50000:],
                       on_epoch=on_epoch)
    arrays, meta = detector.arrays()
    extras = {**getattr(target.net, "extras", {}), **arrays}
    checkpoint.save(path, target.net, {**target.meta, "reject": meta}, target.velocity, extras)
    return detector
