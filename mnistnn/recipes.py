"""Named training presets ("recipes"): all the settings of a good run in one word.

    settings = resolve("wide", options, given)   # the recipe, then the options given

A recipe only sets TrainConfig fields; anything given explicitly on the command line
wins over the recipe, and the recipe wins over the command's defaults. The figures in
MEASURED come from benchmarks/recipes.py (see the README's results table); they are
measurements, not promises: another machine gives other times.
"""

WIDE = {
    "sizes": (784, 800, 800, 10), "activation": "relu", "cost": "log-likelihood",
    "epochs": 50, "lr": 0.1, "batch_size": 128, "momentum": 0.9, "nesterov": True,
    "dropout": 0.2, "input_dropout": 0.3, "schedule": "cosine", "validation_size": 0,
}
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
}

# `python benchmarks/recipes.py classic wide best` (seed 0) on a 2-core Xeon VM, numpy 2.4
# with OpenBLAS on 2 threads, nothing else running: test accuracy and wall time of
# `mnistnn train --recipe NAME --seed 0`.
MEASURED = {
    "classic": "95.75% test accuracy in 12 s",
    "wide": "98.84% in 4.0 min (98.79-98.93% across seeds 0-2)",
    "best": "99.52% in 8.8 min",
}
DEFAULT = "classic"


def resolve(name, options, given):
    """The settings of a run: options (every option's value, defaults included) with the
    recipe's settings laid over them, except where the option's name is in given."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}: choose {', '.join(RECIPES)}")
    preset = {k: v for k, v in RECIPES[name]["settings"].items() if k not in given}
    return {**options, **preset}


def describe(width=78):
    """The recipes for `mnistnn train --help`: name, what it is, what it measured."""
    import textwrap

    pad = max(map(len, RECIPES)) + 4
    lines = []
    for name, recipe in RECIPES.items():
        text = f"{recipe['about']}. Measured: {MEASURED[name]}."
        wrapped = textwrap.wrap(text, width - pad)
        lines += [f"  {name:<{pad - 2}}{wrapped[0]}"] + [" " * pad + w for w in wrapped[1:]]
    return "\n".join(lines)
