"""A network trained by backpropagation, in numpy alone: a stack of layers (layers.py).

A batch is one example per row. The classic network is a stack of dense layers: layer l
has weights W[l] of shape (n_out, n_in), as in Nielsen's network.py, and biases b[l] of
shape (n_out,):

    z = a @ W.T + b        # (B, n_in) @ (n_in, n_out) -> (B, n_out)
    a_next = f(z)

Backpropagation starts from delta = dC/dz at the output (the cost knows it) and walks
back: dC/dW = delta.T @ a, dC/db = sum of delta over the batch, and the delta of the
layer below is (delta @ W) * f'(z). Convolution, pooling and flattening layers fit the
same walk: each turns the delta it gets into the delta of the layer below.
"""
import copy
import ctypes

import numpy as np

from . import blas, layers
from .spec import parse, spec_of
from .units import (  # noqa: F401  (part of this module's API)
    ACTIVATIONS, COSTS, TINY, CrossEntropyCost, LogLikelihoodCost, QuadraticCost, ReLU,
    Sigmoid, Softmax, Tanh)


def one_hot(labels, n=10, dtype=np.float32):
    """Integer labels (B,) -> one-hot rows (B, n)."""
    y = np.zeros((len(labels), n), dtype=dtype)
    y[np.arange(len(labels)), labels] = 1
    return y


class Network:
    """A stack of layers, e.g. Network([784, 30, 10]) or
    Network("1x28x28,conv32k5,pool2,conv64k5,pool2,256,10", "relu", "log-likelihood").

    Every hidden layer uses `activation`, the output layer the unit the cost asks for.
    """

    def __init__(self, sizes, activation="sigmoid", cost="quadratic", seed=0, dtype=np.float32):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: choose {', '.join(ACTIVATIONS)}")
        if cost not in COSTS:
            raise ValueError(f"unknown cost {cost!r}: choose {', '.join(COSTS)}")
        self.input_shape, self.layers = parse(sizes)
        self.activation, self.cost = ACTIVATIONS[activation], COSTS[cost]
        self._init_params(np.random.default_rng(seed), dtype)
        self.meta = {}  # provenance (training settings, metrics) when loaded from a checkpoint

    def _init_params(self, rng, dtype):
        """Weights N(0, 1/n_in) (He's N(0, 2/n_in) into ReLU units); biases N(0, 1) for
        sigmoid units as in the classic network, else 0. Drawn in float64 so a float32
        and a float64 network with the same seed hold the same numbers."""
        last = self.trainable[-1]
        for layer in self.trainable:
            unit = self.cost.output if layer is last else self.activation
            layer.init(rng, 2.0 if unit is ReLU else 1.0, unit is Sigmoid, dtype)
            layer.unit = unit
        # A batch normalisation sits between a layer and its unit: it takes the unit over.
        for below, norm in zip(self.layers, self.layers[1:]):
            if isinstance(norm, layers.BatchNorm):
                below.unit = None
        # max(f(z)) = f(max(z)) for the units here (all rise monotonically), so a pool
        # takes over the unit of the layer below: f then runs on a k*k times smaller array.
        for below, pool in zip(self.layers, self.layers[1:]):
            if isinstance(pool, layers.MaxPool):
                below.unit, pool.unit = None, below.unit

    @property
    def trainable(self):
        """The layers that have parameters (W, b), input to output."""
        return [layer for layer in self.layers if hasattr(layer, "W")]

    @property
    def weights(self):
        return [layer.W for layer in self.trainable]

    @weights.setter
    def weights(self, arrays):
        for layer, W in zip(self.trainable, arrays):
            layer.W = W

    @property
    def biases(self):
        return [layer.b for layer in self.trainable]

    @biases.setter
    def biases(self, arrays):
        for layer, b in zip(self.trainable, arrays):
            layer.b = b

    @property
    def sizes(self):
        """Numbers per example entering and leaving each layer: [784, 30, 10] for
        Network([784, 30, 10]); the first is the input, the last the number of outputs."""
        return [int(np.prod(self.input_shape))] + [int(np.prod(layer.out_shape))
                                                   for layer in self.layers]

    @property
    def spec(self):
        """The layer spec this network was built from, canonical: '784,30,10'."""
        return spec_of(self.input_shape, self.layers)

    @property
    def dtype(self):
        return self.weights[0].dtype

    def astype(self, dtype):
        """A copy of the network holding its parameters in another dtype (float64 for checks)."""
        net = object.__new__(Network)
        net.__dict__.update(self.__dict__)
        net.layers = [copy.copy(layer) for layer in self.layers]
        net.weights = [W.astype(dtype) for W in self.weights]
        net.biases = [b.astype(dtype) for b in self.biases]
        for layer in net.normalisers:
            layer.mean, layer.var = layer.mean.astype(dtype), layer.var.astype(dtype)
        return net

    @property
    def normalisers(self):
        """The batch normalisation layers, input to output."""
        return [layer for layer in self.layers if isinstance(layer, layers.BatchNorm)]

    def calibrate(self, x, batch_size=128):
        """Set each BatchNorm's mean and variance to those of its inputs over images x
        (N, 784), seen in batches as in training: the mean of the batches' means, and
        their variances' mean plus the variance of their means (the whole set's variance,
        by the law of total variance, for batches of one size). Without batch
        normalisation, nothing to do."""
        if not self.normalisers:
            return
        x = np.asarray(x, dtype=self.dtype)
        n = len(x) - len(x) % batch_size or len(x)     # whole batches, or the one there is
        stats = {layer: [] for layer in self.normalisers}
        for i in range(0, n, batch_size):
            tape = {}
            self._activations(x[i:i + batch_size], [None] * (len(self.layers) + 1), tape)
            for layer in stats:
                stats[layer].append(tape[layer])
        for layer, seen in stats.items():
            means, variances = (np.array(v, dtype=np.float64) for v in zip(*seen))
            layer.mean = means.mean(axis=0).astype(self.dtype)
            layer.var = (variances.mean(axis=0) + means.var(axis=0)).astype(self.dtype)

    # -- forward and backward ------------------------------------------------------------

    def forward(self, x, dropout=0.0, rng=None, tape=None):
        """Activations of every layer for a batch x (B, 784): ([x, a1, ..., aL], masks).

        With dropout p, what each dense layer but the first receives is multiplied by a
        random mask of 0s and 1/(1-p)s ("inverted" dropout: evaluation then needs no
        rescaling). masks[l] is that mask for acts[l], or None. A dict as tape keeps
        work for backward (see layers.py).
        """
        masks = self.dropout_masks(len(x), dropout, rng)
        return self._activations(x, masks, tape), masks

    def _activations(self, x, masks, tape=None):
        """[x, a1, ..., aL] for a batch x, the dropout masks given."""
        acts = [x]
        for l, layer in enumerate(self.layers):
            acts.append(layer.forward(_seen(acts, masks, l), tape))
        return acts

    def dropout_masks(self, n, dropout=0.0, rng=None):
        """For a batch of n: the dropout mask of what each layer receives, or None (the
        last entry, for the output, is always None); see forward."""
        masks = [None] * (len(self.layers) + 1)
        for l, layer in enumerate(self.layers):
            if dropout and l > 0 and isinstance(layer, layers.Dense):
                keep = rng.random((n,) + layer.in_shape, dtype=np.float32) >= dropout
                masks[l] = keep * np.asarray(1 / (1 - dropout), dtype=self.dtype)
        return masks

    def backward(self, acts, delta, masks=None, need_dx=False, tape=None):
        """Backpropagate delta = dC/dz of the output layer (B, 10).

        Returns ([dC/dW per layer], [dC/db per layer], dC/dx or None): gradients summed
        over the batch; dC/dx (B, 784) only when need_dx (imagine asks for it). tape is
        the dict forward filled, if it was given one.
        """
        masks = masks or [None] * len(acts)
        grads = []
        for l in reversed(range(len(self.layers))):
            params, delta = self.layers[l].backward(_seen(acts, masks, l), delta,
                                                    need_dx or l > 0, tape)
            grads[:0] = [params] if params else []
            if l == 0:
                break
            if masks[l] is not None:
                delta *= masks[l]        # a dropped unit passed nothing on
            unit = self.layers[l - 1].unit
            if unit is not None:
                delta *= unit.prime(acts[l])  # dC/da -> dC/dz of the layer below
        return [g[0] for g in grads], [g[1] for g in grads], delta

    def train_batch(self, x, y, optimizer, dropout=0.0, rng=None):
        """One step of mini-batch gradient descent on x (B, 784) and one-hot y (B, 10).

        Returns the batch's output activations (B, 10), computed before the step.
        On n threads (blas.threads) each takes a slice of the batch (see _in_parts),
        from input to gradients, and their gradients are added in slice order."""
        keep_freed_memory()
        masks = self.dropout_masks(len(x), dropout, rng)   # the same draws for any threads
        # Backprop is linear in delta, so scaling it once by lr/B scales every gradient:
        # one multiply of a (B, 10) array instead of one per weight matrix.
        scale = optimizer.lr / len(x)
        parts = self._in_parts(lambda rows: self._gradients(
            x[rows], y[rows], [m if m is None else m[rows] for m in masks], scale), len(x))
        grad_w, grad_b, out = parts[0]
        for more_w, more_b, _ in parts[1:]:              # the other slices', in order
            for g, more in zip(grad_w + grad_b, more_w + more_b):
                g += more
        optimizer.apply(self, grad_w, grad_b)
        return np.concatenate([part[2] for part in parts]) if parts[1:] else out

    def _gradients(self, x, y, masks, scale):
        """(dC/dW per layer, dC/db per layer, output activations) for one batch, times
        scale, the dropout masks given."""
        tape = {}
        acts = self._activations(x, masks, tape)
        delta = self.cost.delta(acts[-1], y)
        delta *= scale
        grad_w, grad_b, _ = self.backward(acts, delta, masks, tape=tape)
        return grad_w, grad_b, acts[-1]

    # -- using a trained network ---------------------------------------------------------

    def feedforward(self, x, batch_size=None):
        """The output layer's activations for inputs x (N, 784) -> (N, 10), in chunks of
        batch_size: by default 10000, or fewer when a layer's outputs would pass 2**24
        numbers (64 MB) for the chunk."""
        x = np.asarray(x, dtype=self.dtype)
        if batch_size is None:
            batch_size = int(np.clip(2**24 // max(self.sizes), 1, 10000))
        if len(x) > batch_size:
            return np.concatenate([self.feedforward(x[i:i + batch_size], batch_size)
                                   for i in range(0, len(x), batch_size)])
        parts = self._in_parts(lambda rows: self.forward(x[rows])[0][-1], len(x))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _in_parts(self, fn, n):
        """[fn(rows) for parts of a batch of n], on threads (blas.in_parallel) when the
        network has convolutions: their patches and pools are numpy work that would
        otherwise run on one core. A dense network is all but its matrix products, which
        OpenBLAS's own threads split better than halving the batch does (README,
        Performance): it runs in one piece."""
        if any(isinstance(layer, layers.Conv2D) for layer in self.layers):
            return blas.in_parallel(fn, n)
        return [fn(slice(0, n))]

    def predict_proba(self, x):
        """Probabilities (N, 10), each row summing to 1 (sigmoid outputs are normalised)."""
        a = self.feedforward(x)
        return a if self.cost.output is Softmax else a / a.sum(axis=1, keepdims=True)

    def predict(self, x):
        """The most likely digit for each input (N,)."""
        return self.feedforward(x).argmax(axis=1)

    def accuracy(self, x, labels):
        """Fraction of inputs whose predicted digit equals the label."""
        return float(np.mean(self.predict(x) == np.asarray(labels)))


def keep_freed_memory():
    """Ask the C library to keep memory numpy frees, for the next batch, rather than give
    it back to the operating system (once per process; only glibc has the knob).

    A training step frees and allocates again tens of MB of arrays; glibc returned them
    and took them back by thousands of page faults per batch, 15% of a conv net's
    training time here. Memory in use stays at its peak instead of shrinking between
    batches.
    """
    if _MALLOPT:
        return
    _MALLOPT.append(True)
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-1, 2**30)   # M_TRIM_THRESHOLD: keep up to 1 GB free at the top
        libc.mallopt(-3, 2**25)   # M_MMAP_THRESHOLD: heap, not mmap, up to 32 MB (its max)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


_MALLOPT = []


def _seen(acts, masks, l):
    """What layer l received: the activations below it, with their dropout mask applied."""
    return acts[l] if masks[l] is None else acts[l] * masks[l]


class SGD:
    """Gradient descent with optional momentum (plain or Nesterov), L2 weight decay and a
    max-norm limit on each hidden unit's incoming weights.

    apply() receives gradients already multiplied by the learning rate (see train_batch).
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, l2=0.0, max_norm=0.0):
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.l2, self.max_norm = l2, max_norm
        self.velocity = None  # one array per parameter, W0, b0, W1, ..., once momentum is on

    # Numbers of a parameter array updated at a time: the step makes three passes (v, then
    # v and g, then p and v), and over a block of BLOCK numbers of each array (768 KB) the
    # later passes find the block in the CPU's cache. The wide MLP's 1.3 million weights
    # took 1.15-1.28 ms a batch in whole arrays, 1.02-1.08 ms in blocks of 2**15 or 2**16
    # (training it, 2 threads), and more again in blocks of 2**14 or 2**17.
    BLOCK = 1 << 16

    def apply(self, net, grad_w, grad_b):
        """Update the network's parameters in place, on one thread, block by block (the
        numbers are the same as whole arrays give): the step reads and writes memory and
        computes little, and a second thread beside OpenBLAS's idle ones, which keep
        spinning after a product, made it slower, not faster."""
        params = [p for pair in zip(net.weights, net.biases) for p in pair]
        grads = [g for pair in zip(grad_w, grad_b) for g in pair]
        if self.momentum and self.velocity is None:
            self.velocity = [np.zeros_like(p) for p in params]
        scaled = [not isinstance(layer, layers.BatchNorm) for layer in net.trainable]
        for i, (p, g) in enumerate(zip(params, grads)):
            v = self.velocity[i] if self.momentum else None
            decay = bool(self.l2) and i % 2 == 0 and scaled[i // 2]  # weights, not biases
            for block in _blocks(self.BLOCK, p, g, v):
                self._step(*block, decay)
        if self.max_norm:   # every hidden layer's weights but batch normalisations' scales
            for W in [W for W, s in zip(net.weights[:-1], scaled) if s]:
                W = W.reshape(len(W), -1)  # (n_out, inputs of one unit), a view
                norms = np.sqrt(np.einsum("ij,ij->i", W, W))[:, None]  # one per hidden unit
                W *= np.minimum(1, self.max_norm / np.maximum(norms, 1e-12))

    def _step(self, p, g, v, decay):
        """One parameter array p, its gradient g (times lr), its velocity v (or None)."""
        if decay:
            p *= 1 - self.lr * self.l2          # weight decay: the gradient of l2/2 |W|^2
        if v is None:
            p -= g
            return
        v *= self.momentum                      # v = mu v - lr g
        v -= g
        p += self.momentum * v - g if self.nesterov else v  # Nesterov looks ahead


def _blocks(size, *arrays):
    """[(block of each array, None for None), ...]: matching flat slices of `size`
    numbers of arrays of one shape (views, so that updates land in them), or the arrays
    whole when one is not contiguous or they are no larger than a block."""
    first = arrays[0]
    if first.size <= size or not all(a is None or a.flags.c_contiguous for a in arrays):
        return [arrays]
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    return [tuple(None if a is None else a[i:i + size] for a in flat)
            for i in range(0, first.size, size)]
