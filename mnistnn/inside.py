"""Inside the network: which hidden units respond most to one input, and what they look for.

    units = strongest_units(net, x, k=8)   # x: (784,) the MNIST-form input
    units.index        # (k,) the units of the first hidden layer, strongest first
    units.activation   # (k,) their outputs for x
    units.pictures     # (k, 28, 28) each unit's incoming weights, scaled to [-1, 1]
    units.favours      # (k,) the digit each unit's outgoing weights push up most, or None

A unit of the first hidden layer computes f(w . x + b): it responds most to inputs that
look like its weight vector w, so w drawn as a 28x28 picture shows what it looks for
(positive weights: ink there excites it; negative: ink there inhibits it). A first layer
that is convolutional (its activations are images, channels-last: (B, H, W, C)) shows its
C channels' feature maps for x instead, kind "feature-map", scaled to [0, 1].
"""
from collections import namedtuple

import numpy as np

from .layers import BatchNorm

Units = namedtuple("Units", "kind index activation pictures favours")


def strongest_units(net, x, k=8):
    """The k units of the first hidden layer that respond most to x (784,): a Units tuple.

    Dense layer: kind "weights", pictures are the incoming weights (k, 28, 28) in [-1, 1].
    Convolutional layer: kind "feature-map", pictures are the maps for x (k, H, W) in [0, 1].
    favours (k,) is set when the next layer is the output layer, else None."""
    acts, _ = net.forward(np.asarray(x, dtype=net.dtype).reshape(1, -1))
    a = acts[1][0]                                         # (n1,) or (H, W, C)
    if a.ndim == 3:
        a = np.moveaxis(_feature_maps(net, acts), -1, 0)   # (C, H, W): one map per channel
    strength = a if a.ndim == 1 else a.reshape(len(a), -1).mean(axis=1)   # (n1,) or (C,)
    index = np.argsort(-strength, kind="stable")[:k]       # (k,) strongest first
    if a.ndim == 1:
        side = int(round(np.sqrt(net.weights[0].shape[1])))
        pictures = _scaled(net.weights[0][index], signed=True).reshape(-1, side, side)
        kind = "weights"
    else:
        pictures, kind = _scaled(a[index], signed=False), "feature-map"
    favours = None
    if len(acts) == 3 and a.ndim == 1:                     # hidden -> output: W1 (10, n1)
        favours = net.weights[1][:, index].argmax(axis=0)  # (k,)
    return Units(kind, index, strength[index], pictures, favours)


def _feature_maps(net, acts):
    """The first layer's feature maps (H, W, C) for one image, as the layers above see
    them: after its batch normalisation, if one follows, and through its unit, which a
    pool that follows applies in its place (network.py)."""
    i = 2 if isinstance(net.layers[1], BatchNorm) else 1   # acts[i]: the maps, pre-unit
    z = acts[i][0]
    if net.layers[i - 1].unit is not None:                 # applied already
        return z
    unit = net.layers[i].unit                              # the pool's, taken over
    return z if unit is None else unit.fn(z.copy())


def _scaled(pictures, signed):
    """Each picture (k, ...) divided by its own largest |value|: [-1, 1], or [0, 1] when
    the values are not signed (negatives clipped)."""
    flat = pictures.reshape(len(pictures), -1)
    if not signed:
        flat = np.maximum(flat, 0)
    peak = np.abs(flat).max(axis=1, keepdims=True)         # (k, 1)
    return (flat / np.maximum(peak, 1e-12)).reshape(pictures.shape).astype(np.float32)
