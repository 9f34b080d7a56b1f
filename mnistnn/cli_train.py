"""`mnistnn train`: options -> TrainConfig -> Trainer.run, with progress on stderr."""
import json

import click
from click.core import ParameterSource

from . import recipes
from .cli_common import (data_dir_option, load_data, no_download_option, note, progress_bar,
                         weights_dir_option)

# Spelled out here so that `--help` needs no numpy; tests check them against the library.
ACTIVATIONS = ("sigmoid", "tanh", "relu")
COSTS = ("quadratic", "cross-entropy", "log-likelihood")
SCHEDULES = ("constant", "step", "cosine")
ARCHITECTURE = ("sizes", "activation", "cost")
AUGMENTATION = ("rotate", "scale", "shear", "shift", "elastic")


def parse_layers(ctx, param, value):
    """'784,30,10' -> (784, 30, 10), insisting on MNIST's 784 inputs and 10 outputs."""
    try:
        sizes = tuple(int(s) for s in value.replace(" ", "").split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of layer sizes "
                                 f"such as 784,30,10") from None
    if len(sizes) < 2 or sizes[0] != 784 or sizes[-1] != 10:
        raise click.BadParameter(f"{value!r}: layers must start with 784 (the pixels) and "
                                 f"end with 10 (the digits), e.g. 784,100,10")
    if any(s < 1 for s in sizes):
        raise click.BadParameter(f"{value!r}: every layer needs at least one unit")
    return sizes


@click.command(epilog="\b\nRecipes (--recipe NAME; options given explicitly override the "
               "recipe's settings):\n" + recipes.describe())
@click.option("--recipe", type=click.Choice(list(recipes.RECIPES)), default=recipes.DEFAULT,
              show_default=True, help="A preset of all the settings below (see Recipes).")
@click.option("--layers", "sizes", default="784,30,10", show_default=True,
              callback=parse_layers, help="Layer sizes from input to output.")
@click.option("--epochs", type=int, default=30, show_default=True,
              help="Epochs to train (with --resume: epochs to add).")
@click.option("--lr", type=float, default=3.0, show_default=True, help="Learning rate.")
@click.option("--batch-size", type=int, default=10, show_default=True,
              help="Examples per gradient step.")
@click.option("--activation", type=click.Choice(ACTIVATIONS), default="sigmoid",
              show_default=True, help="Hidden units.")
@click.option("--cost", type=click.Choice(COSTS), default="quadratic", show_default=True,
              help="Cost, which fixes the output units (log-likelihood: softmax).")
@click.option("--momentum", type=float, default=0.0, show_default=True)
@click.option("--nesterov", is_flag=True, help="Nesterov momentum.")
@click.option("--l2", type=float, default=0.0, show_default=True,
              help="Weight decay (adds l2/2 |W|^2 to the cost).")
@click.option("--dropout", type=float, default=0.0, show_default=True,
              help="Dropout rate on hidden layers.")
@click.option("--input-dropout", type=float, default=0.0, show_default=True,
              help="Dropout rate on the input pixels.")
@click.option("--max-norm", type=float, default=0.0, show_default=True,
              help="Cap on each hidden unit's incoming weight norm (0: off).")
@click.option("--schedule", type=click.Choice(SCHEDULES), default="constant",
              show_default=True, help="Learning-rate schedule.")
@click.option("--warmup", type=int, default=0, show_default=True,
              help="Epochs of linear learning-rate warm-up.")
@click.option("--patience", type=int, default=0, show_default=True,
              help="Stop after this many epochs without a better validation accuracy (0: off).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for the initial weights and the shuffling.")
@click.option("--validation-size", type=int, default=10000, show_default=True,
              help="Hold out the last N training images for validation (0: train on all).")
@click.option("--rotate", type=float, default=0.0, show_default=True,
              help="Augmentation: rotate each training digit by up to this many degrees.")
@click.option("--scale", type=float, default=0.0, show_default=True,
              help="Augmentation: stretch each axis by a factor in [1 - S, 1 + S].")
@click.option("--shear", type=float, default=0.0, show_default=True,
              help="Augmentation: shear by a factor in [-S, S].")
@click.option("--shift", type=float, default=0.0, show_default=True,
              help="Augmentation: move by up to this many pixels along each axis.")
@click.option("--elastic", type=float, default=0.0, show_default=True,
              help="Augmentation: elastic distortion strength (alpha, pixels; Simard: 34).")
@click.option("--elastic-sigma", type=float, default=4.0, show_default=True,
              help="Augmentation: smoothness of the elastic distortion (pixels).")
@data_dir_option
@weights_dir_option
@click.option("--resume", type=click.Path(dir_okay=False), default=None,
              help="Continue the run saved in this checkpoint.")
@no_download_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no notes.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per epoch on stdout instead of the text lines.")
@click.pass_context
def train(ctx, recipe, data_dir, weights_dir, resume, no_download, quiet, as_json,
          **options):
    """Train a network on MNIST, checkpointing into WEIGHTS_DIR.

    The defaults are the classic network: 784-30-10 sigmoid units, quadratic cost,
    mini-batches of 10. Ctrl-C stops after the current batch and saves a checkpoint
    that --resume continues.

    Writes training.png (loss and accuracy per epoch) next to the checkpoints.

    \b
    Examples:
      mnistnn train --epochs 5 --lr 3.0
      mnistnn train --recipe wide
      mnistnn train --recipe best --epochs 50 --seed 2
      mnistnn train --resume weights/latest.npz --epochs 2
    """
    from . import data
    from . import train as training

    given = {k for k in options if ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE}
    if resume:
        if ctx.get_parameter_source("recipe") == ParameterSource.COMMANDLINE:
            raise click.UsageError("--recipe starts a new run; --resume continues the "
                                   "settings saved in the checkpoint")
        net, config, state, velocity = _resumed(resume, options, given, quiet)
    else:
        net, config, state, velocity = _fresh(recipes.resolve(recipe, options, given))
    try:  # every option is checked before anything is loaded or replaced
        config.check()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if config.patience and not config.validation_size:
        raise click.UsageError("--patience needs a validation set (--validation-size > 0)")
    say = (lambda message: None) if quiet else note
    mnist = load_data(data_dir, no_download, quiet)
    try:
        train_set, validation = training.split(data.to_inputs(mnist.train_images),
                                               mnist.train_labels, config.validation_size)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not resume:
        _replace_previous_run(weights_dir, say)
    trainer = training.Trainer(net, config, train_set, validation, weights_dir, state, velocity)
    say(f"Training {_describe(config)} on {len(train_set[0])} images"
        + (f", validating on {len(validation[0])}" if validation else "")
        + f"; checkpoints in {weights_dir}/")
    with EpochProgress(quiet, config.epochs) as bars:
        outcome = trainer.run(on_batch=bars.batch,
                              on_epoch=lambda m: (bars.epoch(m, as_json),
                                                  _draw_training(weights_dir)))
    _finish(ctx, outcome, say)


def _fresh(options):
    """A new network and config from the options."""
    from .network import Network
    from .config import TrainConfig

    config = TrainConfig(**options)
    net = Network(config.sizes, config.activation, config.cost, seed=config.seed)
    return net, config, None, None


def _replace_previous_run(weights_dir, say):
    """A new run starts a new metrics history; say what of an earlier run it replaces."""
    from pathlib import Path

    old = [n for n in ("latest.npz", "best.npz", "metrics.jsonl", "training.png")
           if (Path(weights_dir) / n).exists()]
    if old:
        say(f"Starting a new run: {', '.join(old)} in {weights_dir}/ will be replaced")
    (Path(weights_dir) / "metrics.jsonl").unlink(missing_ok=True)
    # A run without a validation set never writes best.npz, and `mnistnn test` prefers
    # best.npz: an old one would stand in for the new network.
    (Path(weights_dir) / "best.npz").unlink(missing_ok=True)


def _draw_training(weights_dir):
    """Redraw training.png from the run's metrics.jsonl (all epochs, resumed ones too)."""
    from pathlib import Path

    from . import plots

    folder = Path(weights_dir)
    if (folder / "metrics.jsonl").exists():
        metrics = plots.read_metrics(folder / "metrics.jsonl")
        plots.save_png(plots.training_plot(metrics), folder / "training.png")


def _resumed(path, options, given, quiet):
    """The network, config and loop state saved in a checkpoint, with allowed overrides."""
    from . import checkpoint
    from .config import TrainConfig

    saved = checkpoint.read(path)
    if "config" not in saved.meta or "state" not in saved.meta:
        raise click.ClickException(f"{path} was not written by `mnistnn train`, so there is "
                                   f"no run to resume")
    config, state = TrainConfig.from_dict(saved.meta["config"]), dict(saved.meta["state"])
    for name in sorted(given - {"epochs"}):
        old, new = getattr(config, name), options[name]
        if old == new:
            continue
        if name in ARCHITECTURE:
            raise click.UsageError(f"--resume continues the network in {path}; its "
                                   f"{name} ({old}) cannot change")
        if not quiet:
            note(f"Changing {name} from {old} to {new} for the rest of the run")
        setattr(config, name, new)
        if name == "batch_size" and state.get("batch"):
            state["batch"] = 0  # batch numbers meant other batches: redo that epoch
    if "epochs" in given:
        config.epochs = state["epoch"] + options["epochs"]
    elif state["epoch"] >= config.epochs:
        raise click.UsageError(f"{path} already finished its {config.epochs} epochs; "
                               f"pass --epochs N to train N more")
    if not quiet:
        note(f"Resuming {path} after epoch {state['epoch']}"
             + (f", batch {state['batch']}" if state.get("batch") else ""))
    return saved.net, config, state, saved.velocity


def _describe(config):
    sizes = "-".join(map(str, config.sizes))
    extras = [f"{k.replace('_', ' ')} {getattr(config, k)}"
              for k in ("momentum", "l2", "dropout", "input_dropout", "max_norm")
              if getattr(config, k)]
    if config.nesterov:
        extras[0] = f"Nesterov {extras[0]}"
    if config.schedule != "constant":
        extras.append(f"{config.schedule} schedule")
    if config.distortion.active:
        extras.append("augmented (" + ", ".join(
            f"{k} {getattr(config, k):g}" for k in AUGMENTATION if getattr(config, k)) + ")")
    return (f"{sizes} {config.activation} network ({config.cost} cost) for {config.epochs} "
            f"epochs, lr {config.lr:g}, batch {config.batch_size}"
            + "".join(", " + e for e in extras))


class EpochProgress:
    """A tqdm bar over each epoch's batches, plus one line (or JSON object) per epoch."""

    def __init__(self, quiet, epochs):
        self.quiet, self.epochs, self.bar = quiet, epochs, None

    def __enter__(self):
        return self

    def batch(self, done, total, loss):
        if self.bar is None:
            self.bar = progress_bar(self.quiet, total=total, initial=done - 1, unit="batch")
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def epoch(self, m, as_json):
        self.__exit__()
        if as_json:
            click.echo(json.dumps(m))
            return
        val = m["validation_accuracy"]
        click.echo(f"epoch {m['epoch']:>3}/{self.epochs}  loss {m['train_loss']:.4f}  "
                   f"train {100 * m['train_accuracy']:.2f}%  "
                   + (f"validation {100 * val:.2f}%  " if val is not None else "")
                   + f"{m['seconds']:.2f} s")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _finish(ctx, outcome, say):
    """Say how the run ended; exit 130 after Ctrl-C."""
    if outcome["status"] == "interrupted":
        note(f"Interrupted in epoch {outcome['epoch'] + 1} after batch {outcome['batch']} of "
             f"{outcome['n_batches']}. Saved {outcome['latest']}; continue with:\n"
             f"  mnistnn train --resume {outcome['latest']}")
        ctx.exit(130)
    if outcome["status"] == "early-stopped":
        say(f"Stopped early after epoch {outcome['epoch']}: no progress on the validation set")
    if outcome["best_validation_accuracy"] is not None:
        say(f"Best validation accuracy {100 * outcome['best_validation_accuracy']:.2f}% "
            f"(epoch {outcome['best_epoch']}): {outcome['best']}. Next: mnistnn test")
    else:
        say(f"Saved {outcome['latest']}. Next: mnistnn test")
