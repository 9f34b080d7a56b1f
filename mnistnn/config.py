"""The settings of a training run, and the learning-rate schedule they describe.

Everything here is saved in every checkpoint (TrainConfig.to_dict), so that
`mnistnn train --resume` can continue a run exactly as it was set up.
"""
import dataclasses
import math

from .augment import Distortion

SCHEDULES = ("constant", "step", "cosine")


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint)."""
    sizes: tuple = (784, 30, 10)
    activation: str = "sigmoid"
    cost: str = "quadratic"
    epochs: int = 30
    lr: float = 3.0
    batch_size: int = 10
    momentum: float = 0.0
    nesterov: bool = False
    l2: float = 0.0               # weight decay: adds l2/2 |W|^2 to the cost
    dropout: float = 0.0          # on hidden layers
    input_dropout: float = 0.0    # on the pixels
    max_norm: float = 0.0         # limit on each hidden unit's incoming weight norm, 0 = off
    schedule: str = "constant"    # learning rate: constant, step (x0.1 at 50% and 75%), cosine
    warmup: int = 0               # epochs of linear warm-up
    patience: int = 0             # early stopping after this many epochs without progress
    seed: int = 0
    validation_size: int = 10000
    rotate: float = 0.0           # augmentation: degrees, see augment.Distortion
    scale: float = 0.0            # augmentation: relative size change per axis
    shear: float = 0.0            # augmentation: shear factor
    shift: float = 0.0            # augmentation: pixels
    elastic: float = 0.0          # augmentation: elastic distortion alpha, pixels
    elastic_sigma: float = 4.0    # augmentation: smoothing of the elastic field, pixels

    def check(self):
        """Raise ValueError with a sentence when a setting makes no sense."""
        problems = [
            (self.epochs < 1, "epochs must be at least 1"),
            (self.lr <= 0 or not math.isfinite(self.lr), "the learning rate must be positive"),
            (self.batch_size < 1, "the batch size must be at least 1"),
            (not 0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (self.nesterov and not self.momentum, "Nesterov momentum needs --momentum > 0"),
            (self.l2 < 0, "l2 must not be negative"),
            (not 0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (not 0 <= self.input_dropout < 1, "input dropout must be in [0, 1)"),
            (self.max_norm < 0, "max-norm must not be negative"),
            (self.schedule not in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (self.warmup < 0 or self.patience < 0, "warm-up and patience must not be negative"),
            (self.validation_size < 0, "the validation size must not be negative"),
            (min(self.rotate, self.scale, self.shear, self.shift, self.elastic) < 0,
             "augmentation strengths must not be negative"),
            (self.scale >= 1, "the augmentation scale must be below 1"),
            (self.elastic_sigma <= 0, "the elastic sigma must be positive"),
        ]
        for bad, sentence in problems:
            if bad:
                raise ValueError(sentence)

    @property
    def distortion(self):
        """The augmentation these settings ask for (inactive when all strengths are 0)."""
        return Distortion(self.rotate, self.scale, self.shear, self.shift, self.elastic,
                          self.elastic_sigma)

    def to_dict(self):
        return {**dataclasses.asdict(self), "sizes": list(self.sizes)}

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in dataclasses.fields(cls)}
        config = cls(**{k: v for k, v in d.items() if k in known})
        config.sizes = tuple(config.sizes)
        return config


def lr_at(config, epoch):
    """The learning rate for (0-based) epoch under the config's schedule and warm-up."""
    if epoch < config.warmup:
        return config.lr * (epoch + 1) / (config.warmup + 1)
    t = (epoch - config.warmup) / max(config.epochs - config.warmup, 1)  # in [0, 1)
    if config.schedule == "step":
        return config.lr * (0.1 if t >= 0.75 else 0.3 if t >= 0.5 else 1.0)
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * t))
    return config.lr
