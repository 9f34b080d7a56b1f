"""What a trained network thinks a digit looks like, drawn from its weights alone.

    image = imagine(net, 3)                        # (28, 28) in [0, 1]
    image = imagine(net, 3, method="backproject")  # the classic reverse pass

"maximise" (the default) is activation maximisation: gradient ascent on the input pixels,
starting from a blank image, on the network's own log-probability of the digit,
log p_d = z_d - logsumexp(z) for softmax outputs: the target's pre-softmax score measured
against the other digits'. Ascending z_d alone (objective="score") piles the ink into the
few blobs that raise z_d most, strokes other digits share; the log-probability spends it
on what tells this digit apart. Regularisers keep the picture natural:
  - jitter: each step averages the gradient over copies shifted by up to 2 pixels, so
    no single pixel matters and strokes come out thick and whole;
  - blur: a Gaussian blur after every step, sigma annealed from 1 to 0.5 pixels;
  - an ink budget: like a pen, the image holds at most 100 pixels' worth of ink (what an
    MNIST digit holds on average), projected after every step: an L1 constraint that
    keeps the background black and the strokes few; and, as a pen leaves ink, at least
    60: a convolutional network already reads blank paper as a 1, and without a floor
    its 1 stayed blank paper;
  - a frame: MNIST digits fit in the central 20x20 box, so ink fades out beyond it;
  - pixels are clamped to [0, 1].
A network trained on Fashion-MNIST gets that data set's budget, frame and least ink
instead (FORMS).
Everything is deterministic for a seed (it only drives the jitter). No data set is used.
"""
import numpy as np

from .augment import blur as gaussian_blur  # the one Gaussian blur (augment.py)
from .datasets import trained_on
from .form import BOX, MIDDLE, PIXELS, SIDE
from .network import Softmax, one_hot

METHODS = ("maximise", "backproject")
OBJECTIVES = ("log-probability", "score")

_r = np.abs(np.arange(SIDE) - MIDDLE)                         # distance from the centre line
_edge = np.maximum(_r[:, None], _r[None, :])                  # (28, 28) "square radius"
FRAME = np.clip(1 - (_edge - BOX / 2) / 3, 0, 1).astype(np.float32)  # 1 on the BOX, 0 at edge
# The ink budget, frame and least ink of each data set's form (datasets.Dataset.style): an
# MNIST digit holds 102 pixels' worth of ink on average and fits the 20x20 box; a
# Fashion-MNIST object holds 224 (its grey levels fill it) and its longer side spans the
# whole field. Without a floor the shipped Fashion network's pictures spent 43 to 121 of
# their 220, dim textures in which trousers, sneakers and sandals could not be made out;
# made to spend at least 180, as a photographed object fills its silhouette, they show
# the trousers' two legs, the sneaker and the boot (README, Fashion-MNIST).
FORMS = {"mnist": (100.0, FRAME, 60.0),
         "fashion": (220.0, np.ones((SIDE, SIDE), np.float32), 180.0)}


def imagine(net, digit, method="maximise", steps=200, seed=0, **options):
    """What net thinks `digit` looks like: a (28, 28) float32 image in [0, 1]."""
    return imagine_many(net, [digit], method, steps, seed, **options)[0]


def imagine_many(net, digits, method="maximise", steps=200, seed=0, **options):
    """Several digits at once, as one batch: (K, 28, 28) in [0, 1]."""
    digits = _check(net, digits, method, steps)
    if method == "backproject":
        return backproject(net, digits)
    return maximise(net, digits, steps, seed, **options)


def _check(net, digits, method, steps):
    """Raise ValueError with a sentence when the request cannot be drawn."""
    if net.sizes[0] != PIXELS:
        raise ValueError(f"imagine needs a network with {PIXELS} inputs (28x28 "
                         f"images), this one has {net.sizes[0]}")
    digits = np.asarray(digits).reshape(-1)
    bad = [d for d in digits.tolist() if not (isinstance(d, int) and 0 <= d < net.sizes[-1])]
    if bad or not len(digits):
        raise ValueError(f"digits must be whole numbers from 0 to {net.sizes[-1] - 1}, "
                         f"got {bad or 'none'}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose {', '.join(METHODS)}")
    if method == "backproject" and len(net.trainable) != len(net.layers):
        raise ValueError(f"the classic backprojection inverts dense layers only, and this "
                         f"network ({net.spec}) has convolutions: use the default method, "
                         f"maximise")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive whole number, got {steps}")
    return digits


def maximise(net, digits, steps=200, seed=0, lr=0.05, ink=None, jitter=2, copies=8,
             blur=(1.0, 0.5), objective="log-probability", frame=None):
    """Activation maximisation for each digit (K,): (K, 28, 28) images in [0, 1].

    lr is the step in pixel units (the gradient is scaled to RMS 1 per image);
    blur=(start, end) is the annealed Gaussian sigma in pixels, 0 to turn it off;
    ink=0 turns the budget off; objective="score" ascends the raw pre-activation z_d;
    ink and frame (28, 28) default to those of the form of the network's data set (FORMS).
    """
    form = FORMS[trained_on(net.meta).style]
    ink, frame = form[0] if ink is None else ink, form[1] if frame is None else frame
    least = min(form[2], ink)
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: choose {', '.join(OBJECTIVES)}")
    rng = np.random.default_rng(seed)
    K = len(digits)
    target = one_hot(digits, net.sizes[-1], net.dtype)        # (K, 10)
    x = np.zeros((K, SIDE, SIDE), dtype=net.dtype)              # blank paper
    for t in range(steps):
        shifts = rng.integers(-jitter, jitter + 1, size=(copies, 2))  # (C, 2) in pixels
        g = _gradient(net, x, target, shifts, objective)       # (K, 28, 28)
        g /= np.sqrt(np.mean(g * g, axis=(1, 2), keepdims=True)) + 1e-12
        x += lr * g
        sigma = blur[0] + (blur[1] - blur[0]) * t / max(steps - 1, 1)
        if sigma > 0:
            x = gaussian_blur(x, sigma)
        x = project_ink(x, ink, frame=frame, least=least) if ink else np.clip(x * frame, 0, 1)
    return x


def _gradient(net, x, target, shifts, objective):
    """d objective / d x (K, 28, 28), averaged over the shifted copies of x."""
    C, K = len(shifts), len(x)
    xs = np.stack([np.roll(x, tuple(s), axis=(1, 2)) for s in shifts])  # (C, K, 28, 28)
    acts, _ = net.forward(xs.reshape(C * K, PIXELS))           # (C*K, 784) in
    y = np.tile(target, (C, 1))                                 # (C*K, 10)
    delta = objective_delta(net, acts[-1], y) if objective == "log-probability" else y
    _, _, dx = net.backward(acts, delta, need_dx=True)         # (C*K, 784) = d obj / dx
    dx = dx.reshape(C, K, SIDE, SIDE)
    back = [np.roll(dx[c], tuple(-s), axis=(1, 2)) for c, s in enumerate(shifts)]
    return np.mean(back, axis=0)


def objective_delta(net, a, y):
    """d log p_d / dz (B, 10) for output activations a and one-hot targets y (B, 10).

    p = softmax(z) gives y - a. Sigmoid outputs give p_d = a_d / S with S = sum_j a_j,
    and since da/dz = a (1 - a): (y / a - 1 / S) a (1 - a) = (1 - a) (y - a / S).
    """
    if net.cost.output is Softmax:
        return y - a
    return (1 - a) * (y - a / a.sum(axis=1, keepdims=True))


def project_ink(x, ink, iterations=30, frame=FRAME, least=0.0):
    """Spend at most `ink` and at least `least` per image (K, 28, 28): clip(x - tau, 0, 1)
    * frame, with the threshold tau nearest 0 that brings the total within those bounds
    (found by bisection; a negative tau raises every pixel alike)."""
    def spent(tau):
        return (np.clip(x - tau, 0, 1) * frame).sum(axis=(1, 2), keepdims=True)

    lo = np.zeros((len(x), 1, 1), dtype=x.dtype)                # tau = 0: just clip
    hi = np.full_like(lo, max(float(x.max()), 0) + 1)           # the sum is 0 here
    for _ in range(iterations):
        tau = (lo + hi) / 2
        over = spent(tau) > ink
        lo, hi = np.where(over, tau, lo), np.where(over, hi, tau)
    if not least:
        return np.clip(x - hi, 0, 1) * frame                     # hi never overspends
    low, high = np.full_like(lo, -1.0), np.zeros_like(lo)       # tau = -1: every pixel 1
    for _ in range(iterations):
        tau = (low + high) / 2
        under = spent(tau) < least
        low, high = np.where(under, low, tau), np.where(under, tau, high)
    tau = np.where(spent(0) < least, low, hi)   # low never underspends
    return np.clip(x - tau, 0, 1) * frame


def backproject(net, digits, low=0.01, high=0.99):
    """The classic reverse pass for each digit (K,): (K, 28, 28) in [0, 1].

    The wanted output (high for the digit, low elsewhere) goes back through each layer:
    invert the unit, subtract the bias, multiply by the transposed weights, and squash
    the result into the range the unit below can produce. Exact only if every layer
    were invertible, which a 784 -> 30 layer is not: a picture, not a proof.
    """
    a = np.where(one_hot(digits, net.sizes[-1], np.float64) > 0, high, low)  # (K, 10)
    for l in reversed(range(len(net.weights))):
        unit = net.cost.output if l == len(net.weights) - 1 else net.activation
        z = _inverse(unit.name, a)                              # (K, n_out)
        a = (z - net.biases[l]) @ net.weights[l]                # (K, n_out) @ (n_out, n_in)
        if l:
            a = _squash(net.activation.name, a, low, high)      # (K, n_in), as units give
    return _rescale(a, 0, 1).reshape(-1, SIDE, SIDE).astype(np.float32)


def _inverse(name, a):
    """z such that unit(z) = a (for softmax, up to a constant per row)."""
    if name == "sigmoid":
        return np.log(a / (1 - a))
    if name == "softmax":
        return np.log(a) - np.log(a).mean(axis=1, keepdims=True)
    if name == "tanh":
        return np.arctanh(a)
    return a  # relu: the identity on the positive values it produces


def _squash(name, a, low, high):
    """Rows of a (K, n) scaled into what the unit can output: [low, high] for sigmoid (the
    classic), (-high, high) for tanh, [0, high] for relu (which gives no negatives)."""
    if name == "sigmoid":
        return _rescale(a, low, high)
    if name == "relu":
        a = np.maximum(a, 0)
    return high * a / np.maximum(np.abs(a).max(axis=1, keepdims=True), 1e-12)


def _rescale(a, low, high):
    """Each row of a (K, n) mapped linearly onto [low, high]."""
    lo, hi = a.min(axis=1, keepdims=True), a.max(axis=1, keepdims=True)
    return low + (high - low) * (a - lo) / np.maximum(hi - lo, 1e-12)


def self_check(net, images):
    """Feed images (K, 28, 28) back to net: (the digit it sees (K,), probabilities (K, 10))."""
    proba = net.predict_proba(np.asarray(images, dtype=net.dtype).reshape(len(images), -1))
    return proba.argmax(axis=1), proba
