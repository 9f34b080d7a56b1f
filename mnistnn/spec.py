"""The layer spec: the text that names a network's layers, and the layers it builds.

    784,30,10                                       the classic network
    1x28x28,conv32k5,pool2,conv64k5,pool2,256,10    a convolutional network

The first item is the input: its number of values, or channels x height x width. Then
one item per layer: a number of units (a dense layer), convNkK (N filters of K x K,
stride 1, no padding) or convNkKsame (zero padding that keeps the size), poolK (max
pooling over K x K blocks), bn (batch normalisation of the convolution or dense layer
just before, whose activation then follows it). A Flatten goes where the first dense
layer follows images.
"""
import re

import numpy as np

from .layers import BatchNorm, Conv2D, Dense, Flatten, MaxPool

SPEC_HELP = ("write the input, then the layers: a number of units (256), convNkK "
             "(conv32k5, or conv32k3same to keep the size), poolK (pool2) or bn (batch "
             "normalisation of the layer before), e.g. 784,30,10 or "
             "1x28x28,conv32k5,pool2,256,10 or 1x28x28,conv32k3same,bn,pool2,256,10")
_CONV = re.compile(r"conv(\d+)k(\d+)(same|valid)?")
MAX_WEIGHTS = 2**27  # per layer: 512 MB of float32, far beyond any digit reader


def parse(spec):
    """The layers a spec describes (parameters not yet drawn), as (input_shape, layers).

    spec is a string of comma-separated items or a sequence of items (ints for sizes).
    The first item is the input: a number of values (784) or channels x height x width
    (1x28x28). A Flatten is put where the first dense layer follows images. Raises
    ValueError with one sentence naming the item at fault.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    items = [str(item).strip().lower() for item in items]
    empty = [i for i, item in enumerate(items, start=1) if not item]
    if len(items) >= 2 and empty:
        raise ValueError(f"item {empty[0]} of {spec!r} is empty: a comma too many?")
    if len(items) < 2:
        raise ValueError(f"a network needs an input and at least one layer (two or more "
                         f"positive integers such as 784,30,10, or items such as "
                         f"1x28x28,conv32k5,pool2,10), got {spec!r}")
    shape = _input_shape(items[0])
    layers = []
    for i, item in enumerate(items[1:], start=2):
        where = f"item {i} ({item!r})"
        if item == "bn":
            if not layers or not isinstance(layers[-1], (Conv2D, Dense)):
                raise ValueError(f"{where}: batch normalisation (bn) must follow a "
                                 f"convolution or a dense layer")
            layers.append(BatchNorm(shape))
            continue
        layer = _layer(item, shape, where)
        if isinstance(layer, Dense) and len(shape) == 3:
            layers.append(Flatten(shape))                  # images -> vectors
        layers.append(layer)
        shape = layer.out_shape
    if not isinstance(layers[-1], Dense):
        raise ValueError(f"the last item ({items[-1]!r}) must be the number of outputs, "
                         f"a dense layer such as 10")
    return _input_shape(items[0]), layers


def spec_of(input_shape, layers):
    """The canonical spec string: parse(spec_of(*parse(s))) builds the same layers."""
    first = (str(input_shape[0]) if len(input_shape) == 1
             else "{2}x{0}x{1}".format(*input_shape))       # channels x height x width
    return ",".join([first] + [layer.item for layer in layers if layer.item])


def _input_shape(item):
    """'784' -> (784,); '1x28x28' (channels x height x width) -> (28, 28, 1)."""
    numbers = item.split("x")
    if len(numbers) in (1, 3) and all(n.isdigit() and int(n) > 0 for n in numbers):
        n = [int(n) for n in numbers]
        return (n[0],) if len(n) == 1 else (n[1], n[2], n[0])
    raise ValueError(f"item 1 ({item!r}) must be the input, positive integers: its number "
                     f"of values (784) or channels x height x width (1x28x28)")


def _layer(item, shape, where):
    """The layer an item describes, given the shape of what it receives."""
    if item.isdigit() or (item.startswith("-") and item[1:].isdigit()):
        if int(item) < 1:
            raise ValueError(f"{where}: layer sizes must be positive integers")
        return _bounded(Dense(int(np.prod(shape)), int(item)), where)
    conv, pool = _CONV.fullmatch(item), re.fullmatch(r"pool(\d+)", item)
    if not (conv or pool):
        raise ValueError(f"{where} is not a layer: {SPEC_HELP}")
    if len(shape) != 3:
        raise ValueError(f"{where} needs images (CxHxW) but gets {shape[0]} numbers: "
                         f"convolutions and pooling come before the dense layers")
    n, k = (int(conv.group(1)), int(conv.group(2))) if conv else (1, int(pool.group(1)))
    same = bool(conv) and conv.group(3) == "same"
    if n < 1 or k < 1:
        raise ValueError(f"{where}: " + ("filters and kernel sizes" if conv else "pool sizes")
                         + " must be positive integers")
    if same and k % 2 == 0:
        raise ValueError(f"{where}: 'same' padding needs an odd kernel size")
    if not same and k > min(shape[:2]):
        raise ValueError(f"{where}: a {k}x{k} {'kernel' if conv else 'pool'} does not fit "
                         f"the {shape[0]}x{shape[1]} images it gets")
    if pool:
        return MaxPool(shape, k)
    return _bounded(Conv2D(shape, n, k, "same" if same else "valid"), where)


def _bounded(layer, where):
    """The layer, unless its weights would not fit in memory."""
    weights = int(np.prod(layer.in_shape)) * layer.out_shape[-1] if isinstance(layer, Dense) \
        else layer.n * layer.k * layer.k * layer.in_shape[2]
    if weights > MAX_WEIGHTS:
        raise ValueError(f"{where}: {weights:,} weights, more than the {MAX_WEIGHTS:,} a "
                         f"layer may have")
    return layer
