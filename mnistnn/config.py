"""The settings of a training run, and the learning-rate schedule they describe.

Everything here is saved in every checkpoint (TrainConfig.to_dict), so that
`mnistnn train --resume` can continue a run exactly as it was set up. Each field carries
its help text and its allowed values in its metadata: TrainConfig.check() and the options
of `mnistnn train` (cli_train.py builds them from these fields) read the same bounds.
This module imports no numpy, so that `mnistnn --help` stays quick.
"""
import dataclasses
import math

from . import datasets
from .form import SIDE

ACTIVATIONS = ("sigmoid", "tanh", "relu")              # network.ACTIVATIONS, by name
COSTS = ("quadratic", "cross-entropy", "log-likelihood")  # network.COSTS, by name
SCHEDULES = ("constant", "step", "cosine")
# the settings a resumed run cannot change
ARCHITECTURE = ("sizes", "activation", "cost", "dataset")
AUGMENTATION = ("rotate", "scale", "shear", "shift", "elastic", "flip", "erase", "touching")
MAX_EPOCHS = 100_000


@dataclasses.dataclass(frozen=True)
class Range:
    """The finite numbers from min to max (either may be None: unbounded on that side);
    an open end excludes the bound itself."""
    min: float = None
    max: float = None
    min_open: bool = False
    max_open: bool = False

    def __contains__(self, x):
        try:
            if not math.isfinite(x):
                return False
        except OverflowError:      # an int too large for a float
            return False
        low = self.min is None or x > self.min or (x == self.min and not self.min_open)
        return low and (self.max is None or x < self.max or (x == self.max and not self.max_open))

    def describe(self):
        """The range in words: 'in (0, 3600]', 'at least 0', 'a finite number'."""
        lo, hi = ("(" if self.min_open else "["), (")" if self.max_open else "]")
        if self.min is not None and self.max is not None:
            return f"in {lo}{self.min:g}, {self.max:g}{hi}"
        if self.min is not None:
            return f"{'above' if self.min_open else 'at least'} {self.min:g}"
        if self.max is not None:
            return f"{'below' if self.max_open else 'at most'} {self.max:g}"
        return "a finite number"


def setting(default, help, range=None, choices=None, flag=None):
    """A TrainConfig field: its default, help text, and allowed values (a Range for
    numbers, choices for names), and the CLI flag when it is not --field-name."""
    metadata = {"help": help, "range": range, "choices": choices, "flag": flag}
    return dataclasses.field(default=default, metadata=metadata)


FRACTION = Range(0, 1, max_open=True)   # dropout, momentum: [0, 1)
KIND_NAMES = {int: "a whole number", float: "a number", bool: "true or false", str: "a name",
              dict: "a mapping"}


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint)."""
    sizes: tuple = setting((784, 30, 10), "The layers from input to output: sizes of dense "
                           "layers (784,30,10) or a convolutional spec "
                           "(1x28x28,conv32k5,pool2,256,10; see Layers).", flag="--layers")
    activation: str = setting("sigmoid", "Hidden units.", choices=ACTIVATIONS)
    cost: str = setting("quadratic", "Cost, which fixes the output units (log-likelihood: "
                        "softmax).", choices=COSTS)
    epochs: int = setting(30, "Epochs to train (with --resume: epochs to add).",
                          Range(1, MAX_EPOCHS))
    lr: float = setting(3.0, "Learning rate.", Range(0, min_open=True))
    batch_size: int = setting(10, "Examples per gradient step.", Range(1, 1_000_000))
    momentum: float = setting(0.0, "Momentum (0: plain gradient descent).", FRACTION)
    nesterov: bool = setting(False, "Nesterov momentum (needs --momentum).")
    l2: float = setting(0.0, "Weight decay (adds l2/2 |W|^2 to the cost).", Range(0, 1))
    dropout: float = setting(0.0, "Dropout rate on hidden layers.", FRACTION)
    input_dropout: float = setting(0.0, "Dropout rate on the input pixels.", FRACTION)
    max_norm: float = setting(0.0, "Cap on each hidden unit's incoming weight norm (0: off).",
                              Range(0))
    schedule: str = setting("constant", "Learning-rate schedule over the run's epochs: "
                            "step (x0.3 at 50%, x0.1 at 75%) or cosine.", choices=SCHEDULES)
    warmup: int = setting(0, "Epochs of linear learning-rate warm-up.", Range(0, MAX_EPOCHS))
    patience: int = setting(0, "Stop after this many epochs without a better validation "
                            "accuracy (0: off).", Range(0, MAX_EPOCHS))
    seed: int = setting(0, "Seed for the initial weights, the shuffling and the "
                        "augmentation.", Range(0, 2**32 - 1))
    validation_size: int = setting(10000, "Hold out the last N training images for "
                                   "validation (0: train on all).", Range(0, 10**9))
    rotate: float = setting(0.0, "Augmentation: rotate each training digit by up to this "
                            "many degrees.", Range(0, 180))
    scale: float = setting(0.0, "Augmentation: stretch each axis by a factor in "
                           "[1 - S, 1 + S].", FRACTION)
    shear: float = setting(0.0, "Augmentation: shear by a factor in [-S, S].", Range(0, 10))
    shift: float = setting(0.0, "Augmentation: move by up to this many pixels along each "
                           "axis.", Range(0, SIDE))
    elastic: float = setting(0.0, "Augmentation: elastic distortion strength (alpha, "
                             "pixels; Simard: 34).", Range(0, 1000))
    elastic_sigma: float = setting(4.0, "Augmentation: smoothness of the elastic distortion "
                                   "(pixels).", Range(0.1, SIDE))
    flip: float = setting(0.0, "Augmentation: the probability of mirroring a training image "
                          "left to right (for clothes, not digits).", Range(0, 1))
    erase: float = setting(0.0, "Augmentation: the probability of painting a random "
                           "rectangle of a training image over with noise (random "
                           "erasing).", Range(0, 1))
    touching: float = setting(0.0, "Augmentation: add this share of the training digits "
                              "again, as windows cut out of lines of touching digits, a "
                              "neighbour's strokes at their edges (what --number reads; "
                              "0.33 of MNIST's 60,000: 19,800 more). Digits only.",
                              Range(0, 1))
    dataset: str = setting(datasets.DEFAULT, f"The data set to train on (env "
                           f"{datasets.ENV_DATASET}).", choices=datasets.NAMES)

    def __post_init__(self):
        self.sizes = normal_layers(self.sizes)

    def check(self):
        """Raise ValueError with a sentence when a setting is of the wrong type, out of
        its range, or makes no sense with another."""
        for field in dataclasses.fields(self)[1:]:
            _check_field(field, getattr(self, field.name))
        _check_layers(self.sizes)
        if self.nesterov and not self.momentum:
            raise ValueError("Nesterov momentum needs --momentum > 0")
        if self.patience and not self.validation_size:
            raise ValueError("--patience needs a validation set (--validation-size > 0)")
        data = datasets.get(self.dataset)
        if self.touching and data.style != "mnist":
            raise ValueError(f"--touching makes windows of touching handwritten digits, "
                             f"and {data.title} holds none")

    def describe(self):
        """In words: '784-30-10 sigmoid network (quadratic cost) for 30 epochs, lr 3, ...'."""
        extras = [f"{k.replace('_', ' ')} {getattr(self, k):g}"
                  for k in ("momentum", "l2", "dropout", "input_dropout", "max_norm")
                  if getattr(self, k)]
        if self.nesterov:
            extras[0] = f"Nesterov {extras[0]}"
        if self.schedule != "constant":
            extras.append(f"{self.schedule} schedule")
        augmentation = [f"{k} {getattr(self, k):g}" for k in AUGMENTATION if getattr(self, k)]
        if augmentation:
            extras.append(f"augmented ({', '.join(augmentation)})")
        return (f"{layers_text(self.sizes, '-')} {self.activation} network ({self.cost} "
                f"cost) for {self.epochs} epoch{'s' if self.epochs != 1 else ''}, lr "
                f"{self.lr:g}, batch {self.batch_size}"
                + "".join(", " + e for e in extras))

    @property
    def distortion(self):
        """The augmentation these settings ask for (inactive when all strengths are 0)."""
        from .augment import Distortion

        return Distortion(self.rotate, self.scale, self.shear, self.shift, self.elastic,
                          self.elastic_sigma, self.flip, self.erase)

    def to_dict(self):
        sizes = list(self.sizes) if isinstance(self.sizes, tuple) else self.sizes
        return {**dataclasses.asdict(self), "sizes": sizes}

    @classmethod
    def from_dict(cls, d):
        """The config a checkpoint recorded, checked; ValueError when it is not one."""
        config = _from_mapping(cls, d, "the training settings")
        config.check()
        return config


@dataclasses.dataclass
class TrainState:
    """Where a run stands (saved in every checkpoint): epochs done, the next batch of an
    interrupted epoch and its random stream, and the best validation so far."""
    epoch: int = setting(0, "Epochs completed.", Range(0, MAX_EPOCHS))
    batch: int = setting(0, "Batches done in the interrupted epoch.", Range(0, 10**9))
    rng_state: dict = setting(None, "The epoch's random generator after that batch.")
    best_validation_accuracy: float = setting(None, "Best validation accuracy so far.",
                                              Range(0, 1))
    best_epoch: int = setting(None, "The epoch that reached it.", Range(1, MAX_EPOCHS))
    stale_epochs: int = setting(0, "Epochs since the best one.", Range(0, MAX_EPOCHS))
    blas_threads: int = setting(None, "OpenBLAS threads the run chose (blas.py).",
                                Range(1, 4096))

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """The state a checkpoint recorded, checked; ValueError when it is not one."""
        state = _from_mapping(cls, d, "the training state")
        for field in dataclasses.fields(cls):
            value = getattr(state, field.name)
            if value is not None or field.default is not None:
                _check_field(field, value)
        if state.rng_state is not None:
            _check_rng_state(state.rng_state)
        return state


def _from_mapping(cls, d, what):
    """An instance of the dataclass cls from the known keys of d (unknown keys, written
    by a later mnistnn, are ignored); unchecked."""
    if not isinstance(d, dict):
        raise ValueError(f"{what} must be a mapping, not a {type(d).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in known})


def _check_rng_state(value):
    """A saved numpy PCG64 state, which only numpy itself can vouch for."""
    import numpy as np

    try:
        np.random.PCG64().state = value
    except (TypeError, ValueError, KeyError, OverflowError):
        raise ValueError("the saved random generator state is damaged") from None


def normal_layers(sizes):
    """The layers as TrainConfig keeps them: dense sizes as a tuple of ints ((784, 30, 10),
    from [784, 30, 10] or '784,30,10' too), any other spec as its canonical text
    ('1x28x28,conv32k5,pool2,256,10'). What is not a spec is returned as it is, for
    check() to refuse."""
    if isinstance(sizes, str):
        items = sizes.split(",")
    elif isinstance(sizes, (list, tuple)) and all(type(n) in (int, str) for n in sizes):
        items = [str(n) for n in sizes]
    else:
        return sizes
    items = [item.strip().lower() for item in items]
    if all(item.isdigit() for item in items) and len(items) > 1:
        return tuple(int(item) for item in items)
    from .spec import parse, spec_of   # numpy: only once a spec is in hand

    try:
        return spec_of(*parse(items))
    except ValueError:
        return tuple(sizes) if isinstance(sizes, list) else sizes


def layers_text(sizes, sep=","):
    """The layers in words: '784-30-10' (sep '-') for dense sizes, else the spec."""
    return sep.join(map(str, sizes)) if isinstance(sizes, tuple) else str(sizes)


def _check_layers(sizes):
    """The layers must parse (spec.py): returns (input shape, layers)."""
    from .spec import parse

    if not isinstance(sizes, (tuple, str)):
        raise ValueError(f"the layers must be a spec such as 784,30,10 or "
                         f"1x28x28,conv32k5,pool2,256,10, got {sizes!r:.80}")
    if isinstance(sizes, tuple) and all(type(n) is int for n in sizes) \
            and not all(1 <= n <= 1_000_000 for n in sizes):
        raise ValueError(f"layer sizes must be two or more whole numbers from 1 to "
                         f"1000000, got {sizes!r:.80}")
    return parse(sizes)


def check_fits_dataset(config):
    """ValueError unless the config's layers read its data set: its images in (784 or
    1x28x28 for 28x28 images), one output per class out."""
    shape, layers = _check_layers(config.sizes)
    entry = datasets.get(config.dataset)
    (height, width), classes = entry.shape, len(entry.classes)
    if shape not in ((height * width,), (height, width, 1)):
        given = str(shape[0]) if len(shape) == 1 else "{2}x{0}x{1}".format(*shape)
        raise ValueError(f"--layers {layers_text(config.sizes)}: the input is {given}, but "
                         f"{entry.title}'s images are {height}x{width}: start the layers with "
                         f"{height * width} or 1x{height}x{width}")
    if layers[-1].out_shape[0] != classes:
        raise ValueError(f"--layers {layers_text(config.sizes)}: the last layer has "
                         f"{layers[-1].out_shape[0]} outputs, but {entry.title} has {classes} "
                         f"classes: end the layers with {classes}")


def _check_field(field, value):
    """One setting against its declared type and allowed values."""
    name, meta = field.name.replace("_", " "), field.metadata
    kinds = (int, float) if field.type is float else field.type   # 3 will do for 3.0
    if not isinstance(value, kinds) or isinstance(value, bool) != (field.type is bool):
        raise ValueError(f"{name} must be {KIND_NAMES[field.type]}, got {value!r}")
    if meta["choices"] and value not in meta["choices"]:
        raise ValueError(f"{name} must be one of {', '.join(meta['choices'])}, got {value!r}")
    if meta["range"] and value not in meta["range"]:
        raise ValueError(f"{name} must be {meta['range'].describe()}, got {value!r}")


def lr_at(config, epoch):
    """The learning rate for (0-based) epoch under the config's schedule and warm-up.

    The schedule spans config.epochs, the run's length: a resumed run that keeps its
    length follows it exactly, and one extended by `--resume --epochs N` stretches the
    rest of it over the new length."""
    if epoch < config.warmup:
        return config.lr * (epoch + 1) / (config.warmup + 1)
    t = (epoch - config.warmup) / max(config.epochs - config.warmup, 1)  # in [0, 1)
    if config.schedule == "step":
        return config.lr * (0.1 if t >= 0.75 else 0.3 if t >= 0.5 else 1.0)
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * t))
    return config.lr
