"""Units and costs, each a small object with two verbs (as in Nielsen's network2.py).

An activation has fn(z), the unit's output, and prime(a), its derivative written in terms
of that output; a cost has fn(a, y), the mean over the batch, and delta(a, y) = dC/dz at
the output layer, whose unit it fixes (its `output`).
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
