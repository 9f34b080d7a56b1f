"""A fully connected network trained by backpropagation, in numpy alone.

A batch is one example per row. Layer l has weights W[l] of shape (n_out, n_in), as in
Nielsen's network.py, and biases b[l] of shape (n_out,):

    z = a @ W.T + b        # (B, n_in) @ (n_in, n_out) -> (B, n_out)
    a_next = f(z)

Backpropagation starts from delta = dC/dz at the output (the cost knows it) and walks
back: dC/dW = delta.T @ a, dC/db = sum of delta over the batch, and the delta of the
layer below is (delta @ W) * f'(z).
"""
import numpy as np


# -- activations: fn(z) and prime, the derivative written in terms of the output a = fn(z) --

class Sigmoid:
    name = "sigmoid"

    @staticmethod
    def fn(z, out=None):
        """1 / (1 + exp(-z)), as (1 + tanh(z/2)) / 2 so that no input overflows."""
        out = np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out

    @staticmethod
    def prime(a):
        """sigmoid'(z) = a (1 - a)."""
        return a * (1 - a)


class Tanh:
    name = "tanh"

    @staticmethod
    def fn(z, out=None):
        return np.tanh(z, out=out)

    @staticmethod
    def prime(a):
        """tanh'(z) = 1 - a^2."""
        return 1 - a * a


class ReLU:
    name = "relu"

    @staticmethod
    def fn(z, out=None):
        return np.maximum(z, 0, out=out)

    @staticmethod
    def prime(a):
        """relu'(z) = 1 where the unit is active, else 0."""
        return a > 0


class Softmax:
    name = "softmax"

    @staticmethod
    def fn(z, out=None):
        """exp(z) / sum(exp(z)) along each row; subtracting the row max keeps exp finite."""
        out = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out


# -- costs: fn(a, y), the mean over the batch, and delta(a, y) = dC/dz at the output --------
# y is one-hot, shape (B, 10). Each cost fixes the output layer's activation.

TINY = 1e-7  # keeps log() finite when a float32 output rounds to exactly 0 or 1


class QuadraticCost:
    name, output = "quadratic", Sigmoid

    @staticmethod
    def fn(a, y):
        return 0.5 * float(np.sum((a - y) ** 2)) / len(a)

    @staticmethod
    def delta(a, y):
        """The classic backprop: (a - y) * sigmoid'(z)."""
        return (a - y) * Sigmoid.prime(a)


class CrossEntropyCost:
    name, output = "cross-entropy", Sigmoid

    @staticmethod
    def fn(a, y):
        a = np.clip(a, TINY, 1 - TINY)
        return -float(np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))) / len(a)

    @staticmethod
    def delta(a, y):
        """sigmoid'(z) cancels against the cost's own derivative: no learning slowdown."""
        return a - y


class LogLikelihoodCost:
    name, output = "log-likelihood", Softmax

    @staticmethod
    def fn(a, y):
        return -float(np.sum(y * np.log(np.maximum(a, TINY)))) / len(a)

    @staticmethod
    def delta(a, y):
        return a - y


ACTIVATIONS = {f.name: f for f in (Sigmoid, Tanh, ReLU)}
COSTS = {c.name: c for c in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}


def one_hot(labels, n=10, dtype=np.float32):
    """Integer labels (B,) -> one-hot rows (B, n)."""
    y = np.zeros((len(labels), n), dtype=dtype)
    y[np.arange(len(labels)), labels] = 1
    return y


class Network:
    """A stack of fully connected layers, e.g. Network([784, 30, 10])."""

    def __init__(self, sizes, activation="sigmoid", cost="quadratic", seed=0, dtype=np.float32):
        if len(sizes) < 2 or any(int(n) != n or n < 1 for n in sizes):
            raise ValueError(f"layer sizes must be two or more positive integers, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}: choose {', '.join(ACTIVATIONS)}")
        if cost not in COSTS:
            raise ValueError(f"unknown cost {cost!r}: choose {', '.join(COSTS)}")
        self.sizes = [int(n) for n in sizes]
        self.activation, self.cost = ACTIVATIONS[activation], COSTS[cost]
        self.weights, self.biases = self._init_params(np.random.default_rng(seed), dtype)
        self.meta = {}  # provenance (training settings, metrics) when loaded from a checkpoint

    def _init_params(self, rng, dtype):
        """Weights N(0, 1/n_in) (He's N(0, 2/n_in) into ReLU units); biases N(0, 1) for
        sigmoid units as in the classic network, else 0. Drawn in float64 so a float32
        and a float64 network with the same seed hold the same numbers."""
        weights, biases = [], []
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            unit = self.cost.output if l == len(self.sizes) - 2 else self.activation
            gain = 2.0 if unit is ReLU else 1.0
            W = rng.standard_normal((n_out, n_in)) * np.sqrt(gain / n_in)
            weights.append(W.astype(dtype))
            b = rng.standard_normal(n_out) if unit is Sigmoid else np.zeros(n_out)
            biases.append(b.astype(dtype))
        return weights, biases

    @property
    def dtype(self):
        return self.weights[0].dtype

    def astype(self, dtype):
        """A copy of the network holding its parameters in another dtype (float64 for checks)."""
        net = object.__new__(Network)
        net.__dict__.update(self.__dict__)
        net.weights = [W.astype(dtype) for W in self.weights]
        net.biases = [b.astype(dtype) for b in self.biases]
        return net

    # -- forward and backward ------------------------------------------------------------

    def forward(self, x, dropout=0.0, rng=None):
        """Activations of every layer for a batch x (B, 784): ([x, a1, ..., aL], masks).

        With dropout p, each hidden layer's output is multiplied by a random mask of 0s
        and 1/(1-p)s before the next layer sees it ("inverted" dropout: evaluation then
        needs no rescaling). masks[l] is that mask for acts[l], or None.
        """
        acts, masks, last = [x], [None], len(self.weights) - 1
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = _seen(acts, masks, l) @ W.T    # (B, n_in) @ (n_in, n_out) -> (B, n_out)
            z += b
            unit = self.cost.output if l == last else self.activation
            acts.append(unit.fn(z, out=z))
            mask = None
            if dropout and l < last:
                keep = rng.random(z.shape, dtype=np.float32) >= dropout
                mask = keep * np.asarray(1 / (1 - dropout), dtype=z.dtype)
            masks.append(mask)
        return acts, masks

    def backward(self, acts, delta, masks=None, need_dx=False):
        """Backpropagate delta = dC/dz of the output layer (B, 10).

        Returns ([dC/dW per layer], [dC/db per layer], dC/dx or None): gradients summed
        over the batch; dC/dx (B, 784) only when need_dx (imagine asks for it).
        """
        n = len(self.weights)
        masks = masks or [None] * (n + 1)
        grad_w, grad_b = [None] * n, [None] * n
        for l in reversed(range(n)):
            grad_w[l] = delta.T @ _seen(acts, masks, l)  # (n_out, B) @ (B, n_in) -> (n_out, n_in)
            grad_b[l] = delta.sum(axis=0)                # (n_out,)
            if l == 0 and not need_dx:
                break
            delta = delta @ self.weights[l]  # (B, n_out) @ (n_out, n_in) -> (B, n_in) = dC/da
            if l > 0:
                if masks[l] is not None:
                    delta *= masks[l]        # a dropped unit passed nothing on
                delta *= self.activation.prime(acts[l])
        return grad_w, grad_b, (delta if need_dx else None)

    def train_batch(self, x, y, optimizer, dropout=0.0, rng=None):
        """One step of mini-batch gradient descent on x (B, 784) and one-hot y (B, 10).

        Returns the batch's output activations (B, 10), computed before the step."""
        acts, masks = self.forward(x, dropout, rng)
        delta = self.cost.delta(acts[-1], y)
        # Backprop is linear in delta, so scaling it once by lr/B scales every gradient:
        # one multiply of a (B, 10) array instead of one per weight matrix.
        delta *= optimizer.lr / len(x)
        grad_w, grad_b, _ = self.backward(acts, delta, masks)
        optimizer.apply(self, grad_w, grad_b)
        return acts[-1]

    # -- using a trained network ---------------------------------------------------------

    def feedforward(self, x, batch_size=10000):
        """The output layer's activations for inputs x (N, 784) -> (N, 10), in chunks."""
        x = np.asarray(x, dtype=self.dtype)
        if len(x) > batch_size:
            return np.concatenate([self.feedforward(x[i:i + batch_size], batch_size)
                                   for i in range(0, len(x), batch_size)])
        return self.forward(x)[0][-1]

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

    def apply(self, net, grad_w, grad_b):
        """Update the network's parameters in place."""
        params = [p for pair in zip(net.weights, net.biases) for p in pair]
        grads = [g for pair in zip(grad_w, grad_b) for g in pair]
        if self.l2:
            for W in net.weights:
                W *= 1 - self.lr * self.l2      # weight decay: the gradient of l2/2 |W|^2
        if not self.momentum:
            for p, g in zip(params, grads):
                p -= g
        else:
            if self.velocity is None:
                self.velocity = [np.zeros_like(p) for p in params]
            mu = self.momentum
            for p, g, v in zip(params, grads, self.velocity):
                v *= mu                         # v = mu v - lr g
                v -= g
                p += mu * v - g if self.nesterov else v  # Nesterov looks ahead: mu v - lr g
        if self.max_norm:
            for W in net.weights[:-1]:
                norms = np.sqrt(np.einsum("ij,ij->i", W, W))[:, None]  # one per hidden unit
                W *= np.minimum(1, self.max_norm / np.maximum(norms, 1e-12))
