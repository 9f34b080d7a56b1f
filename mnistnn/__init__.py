"""mnistnn: a from-scratch numpy neural network that reads handwritten digits.

    >>> import mnistnn
    >>> data = mnistnn.load_mnist("data")
    >>> net = mnistnn.Network([784, 30, 10], seed=1)

The names below are imported on first use, so that `mnistnn --help` does not
pay for importing numpy.
"""

__version__ = "0.1.0"

_LAZY = {
    "Network": "network",
    "load_mnist": "data",
    "load_dataset": "data",
    "download": "data",
    "read_idx": "idx",
    "write_idx": "idx",
    "to_inputs": "data",
    "Trainer": "train",
    "TrainConfig": "config",
    "load_digit": "imaging",
    "imagine": "imagining",
    "save": "checkpoint",
    "load": "checkpoint",
    "MnistnnError": "errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
