"""Named training presets ("recipes"): all the settings of a good run in one word.

    settings = resolve("wide", options, given)   # the recipe, then the options given

A recipe only sets TrainConfig fields; anything given explicitly on the command line
wins over the recipe, and the recipe wins over the command's defaults. A recipe suits
the data set it trains on: ON_DATASET holds what it changes for another data set than
MNIST (options["dataset"]). The figures in MEASURED and MEASURED_ON come from
benchmarks/recipes.py (see the README's results tables); they are measurements, not
promises: another machine gives other times.
"""
from .datasets import get

WIDE = {
    "sizes": (784, 800, 800, 10), "activation": "relu", "cost": "log-likelihood",
    "epochs": 50, "lr": 0.1, "batch_size": 128, "momentum": 0.9, "nesterov": True,
    "dropout": 0.2, "input_dropout": 0.3, "schedule": "cosine", "validation_size": 0,
}
# The convolutional network (LeNet-like: two 5x5 convolutions, each followed by 2x2 max
# pooling, then 256 units), trained as the wide network is but with a smaller learning rate.
CNN = {
    "sizes": "1x28x28,conv32k5,pool2,conv64k5,pool2,256,10", "activation": "relu",
    "cost": "log-likelihood", "lr": 0.05, "batch_size": 128, "momentum": 0.9,
    "nesterov": True, "schedule": "cosine", "validation_size": 0,
}
DISTORTED = {"rotate": 10.0, "scale": 0.1, "shear": 0.1, "shift": 2.0}
RECIPES = {
    "classic": {
        "about": "Nielsen's 784-30-10 sigmoid network, quadratic cost, batches of 10, "
                 "30 epochs (the defaults)",
        "settings": {},
    },
    "wide": {
        "about": "784-800-800-10 ReLU, softmax, dropout 0.2 (pixels 0.3), Nesterov "
                 "momentum, cosine schedule, 50 epochs on all 60k images",
        "settings": WIDE,
    },
    "best": {
        "about": "784-800-800-10 ReLU on digits distorted afresh every epoch (rotation, "
                 "scale, shear, shift, elastic), dropout 0.1, 100 epochs on all 60k images",
        "settings": {   # the wide network; the distortions take the place of pixel dropout
            **WIDE, "epochs": 100, "dropout": 0.1, "input_dropout": 0.0,
            "rotate": 10.0, "scale": 0.1, "shear": 0.1, "shift": 1.0,
            "elastic": 34.0, "elastic_sigma": 5.0,
        },
    },
    "cnn-quick": {
        "about": "convolutional 1x28x28,conv32k5,pool2,conv64k5,pool2,256,10, ReLU, "
                 "softmax, Nesterov momentum, cosine schedule, 15 epochs on all 60k images",
        "settings": {**CNN, "epochs": 15},
    },
    "cnn": {
        "about": "the cnn-quick network on digits distorted afresh every epoch (rotation, "
                 "scale, shear, shift 2), dropout 0.25, 30 epochs",
        "settings": {**CNN, **DISTORTED, "epochs": 30, "dropout": 0.25},
    },
}

# `python benchmarks/recipes.py classic wide best cnn-quick cnn` (seed 0) on a 2-core Xeon
# VM, numpy 2.4 with OpenBLAS on 2 threads, nothing else running: test accuracy and wall
# time of `mnistnn train --recipe NAME --seed 0`.
MEASURED = {
    "classic": "95.75% test accuracy in 12 s",
    "wide": "98.84% in 4.0 min (98.79-98.93% across seeds 0-2)",
    "best": "99.52% in 8.8 min",
    "cnn-quick": "99.31% in 3.3 min",
    "cnn": "99.62% in 7.7 min",
}
DEFAULT = "classic"

# What a recipe changes on another data set than MNIST, and why (the README's
# Fashion-MNIST section has the runs). Fashion-MNIST's clothes need their detail and have
# no left and right: the wide network on them does best with less pixel dropout and
# mirror images (flip); shifts and rotations did not help it, so best is wide there.
FASHION_WIDE = {"input_dropout": 0.1, "flip": 0.5, "epochs": 60}
# Clothes keep their detail in 3x3 'same' convolutions (7x7 maps reach the dense layer,
# not 4x4), a third of them on the 7x7 maps, each normalised by batch (the network
# underfits without), and take mirror images and small shifts, not MNIST's rotations and
# shears.
FASHION_CNN = {"sizes": "1x28x28,conv32k3same,bn,pool2,conv64k3same,bn,pool2,conv128k3same,"
                        "bn,256,10",
               "rotate": 0.0, "scale": 0.0, "shear": 0.0, "shift": 1.0, "flip": 0.5,
               "dropout": 0.2}
ON_DATASET = {
    "fashion-mnist": {
        "wide": {"about": "with pixel dropout 0.1 and mirror images, 60 epochs",
                 "settings": FASHION_WIDE},
        "best": {"about": "wide's settings (shifts and rotations did not help clothes)",
                 "settings": {"rotate": 0.0, "scale": 0.0, "shear": 0.0, "shift": 0.0,
                              "elastic": 0.0, "elastic_sigma": 4.0, "dropout": 0.2,
                              **FASHION_WIDE}},
        "cnn": {"about": "3x3 'same' convolutions, each batch-normalised (1x28x28,"
                         "conv32k3same,bn,pool2,conv64k3same,bn,pool2,conv128k3same,bn,256,"
                         "10), mirror images and shifts of 1 pixel, dropout 0.2",
                "settings": FASHION_CNN},
    },
}
# `python benchmarks/recipes.py --dataset fashion-mnist classic wide` (seed 0) on the same
# machine, one OpenBLAS thread, while other work kept its load average at 3-5; cnn on 2
# threads with nothing else running.
MEASURED_ON = {
    "fashion-mnist": {
        "classic": "86.17% in 34 s",
        "wide": "90.06% in 9.7 min (seed 1: 90.14%)",
        "best": "as wide",
        "cnn": "93.69% in 18.4 min",
    },
}


def settings(name, dataset=None):
    """The settings of recipe `name` for a data set (default MNIST)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}: choose {', '.join(RECIPES)}")
    change = ON_DATASET.get(dataset, {}).get(name, {})
    return {**RECIPES[name]["settings"], **change.get("settings", {})}


def resolve(name, options, given):
    """The settings of a run: options (every option's value, defaults included) with the
    recipe's settings for options["dataset"] laid over them, except where the option's
    name is in given."""
    preset = {k: v for k, v in settings(name, options.get("dataset")).items()
              if k not in given}
    return {**options, **preset}


def describe(width=78):
    """The recipes for `mnistnn train --help`: name, what it is, what it measured, and
    what changes on another data set."""
    import textwrap

    pad = max(map(len, RECIPES)) + 4
    lines = []
    for name, recipe in RECIPES.items():
        text = f"{recipe['about']}. Measured: {MEASURED[name]}."
        for dataset, measured in MEASURED_ON.items():
            change = ON_DATASET[dataset].get(name)
            if name in measured:
                text += (f" On {get(dataset).title}" + (f", {change['about']}" if change else "")
                         + f": {measured[name]}.")
        wrapped = textwrap.wrap(text, width - pad, break_long_words=False)  # specs whole
        lines += [f"  {name:<{pad - 2}}{wrapped[0]}"] + [" " * pad + w for w in wrapped[1:]]
    return "\n".join(lines)
