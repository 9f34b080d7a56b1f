"""`mnistnn train`: options -> runs.new_run or runs.resume -> Trainer.run, progress on stderr.

The training options are made from TrainConfig's fields (config.py: type, default,
range, help), so that the command and the library cannot disagree."""
import dataclasses
import json
import shlex
import signal
from pathlib import Path

import click
from click.core import ParameterSource

from . import recipes
from .cli_common import (Real, Whole, data_dir_option, load_data, no_download_option, note,
                         progress_bar, weights_dir_option)
from .config import TrainConfig
from .datasets import DEFAULT, ENV_DATASET
from .errors import MnistnnError


ENVVARS = {"dataset": ENV_DATASET}   # the settings an environment variable also gives


LAYERS_HELP = """\b
Layers (--layers): the input, then one item per layer, separated by commas:
  784 or 1x28x28   the input: 784 pixels, or channels x height x width
  256              a dense layer of 256 units
  conv32k5         32 filters of 5x5, stride 1 (conv32k3same pads to keep the size)
  pool2            the largest of each 2x2 block
  bn               batch normalisation of the layer before, then its activation
  10               the last item: one output per class
e.g. --layers 784,30,10 (the classic network), --layers 784,800,800,10, or
     --layers 1x28x28,conv32k5,pool2,conv64k5,pool2,256,10 (the cnn recipes')"""


def parse_layers(ctx, param, value):
    """'784,30,10' -> (784, 30, 10); a convolutional spec -> its canonical text. A spec
    that does not parse is a usage error with spec.py's sentence; whether it fits the data
    set is TrainConfig.check's to say."""
    from .config import normal_layers
    from .spec import parse

    try:
        parse(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}") from None
    return normal_layers(value)


def _option(field):
    """The click option for one TrainConfig field."""
    meta, kind = field.metadata, field.type
    flag = meta["flag"] or "--" + field.name.replace("_", "-")
    if field.name == "sizes":
        return click.option(flag, "sizes", default=",".join(map(str, field.default)),
                            show_default=True, callback=parse_layers, help=meta["help"])
    if kind is bool:
        return click.option(flag, field.name, is_flag=True, default=False, help=meta["help"])
    if meta["choices"]:
        kind = click.Choice(meta["choices"])
    elif meta["range"] and field.type is int:
        kind = Whole(meta["range"].min, meta["range"].max)
    elif meta["range"]:
        r = meta["range"]
        kind = Real(r.min, r.max, r.min_open, r.max_open)
    return click.option(flag, field.name, type=kind, default=field.default, show_default=True,
                        help=meta["help"], envvar=ENVVARS.get(field.name))


def config_options(command):
    """Decorate a command with one option per TrainConfig field, in the fields' order."""
    for field in reversed(dataclasses.fields(TrainConfig)):
        command = _option(field)(command)
    return command


@click.command(epilog=LAYERS_HELP + "\n\n\b\nRecipes (--recipe NAME; options given explicitly "
               "override the recipe's settings):\n" + recipes.describe())
@click.option("--recipe", type=click.Choice(list(recipes.RECIPES)), default=recipes.DEFAULT,
              show_default=True, help="A preset of all the settings below (see Recipes).")
@config_options
@data_dir_option
@weights_dir_option
@click.option("--resume", type=click.Path(dir_okay=False, readable=False), default=None,
              help="Continue the run saved in this checkpoint, in its own folder unless "
                   "--weights-dir says where.")
@no_download_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no notes.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per epoch on stdout instead of the text lines.")
@click.pass_context
def train(ctx, recipe, data_dir, weights_dir, resume, no_download, quiet, as_json,
          **options):
    """Train a network on MNIST (or --dataset fashion-mnist), checkpointing into WEIGHTS_DIR.

    The defaults are the classic network: 784-30-10 sigmoid units, quadratic cost,
    mini-batches of 10. Ctrl-C stops after the current batch and saves a checkpoint
    that --resume continues. A new run replaces the one in WEIGHTS_DIR once its first
    epoch ends (stopped before that, it saves nothing there and keeps the earlier run).

    Writes training.png (loss and accuracy per epoch) next to the checkpoints.

    \b
    Examples:
      mnistnn train --epochs 5 --lr 3.0
      mnistnn train --recipe wide
      mnistnn train --recipe cnn
      mnistnn train --layers 1x28x28,conv32k5,pool2,256,10 --activation relu \\
                    --cost log-likelihood --lr 0.05 --momentum 0.9 --batch-size 128
      mnistnn train --recipe best --epochs 50 --seed 2
      mnistnn train --dataset fashion-mnist --recipe wide
      mnistnn train --resume weights/latest.npz --epochs 2
    """
    from . import data, datasets
    from . import train as training

    given = {k: v for k, v in options.items()
             if ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE}
    say = (lambda message: None) if quiet else note
    try:  # every option is checked before anything is loaded or replaced
        if resume and ctx.get_parameter_source("recipe") == ParameterSource.COMMANDLINE:
            raise ValueError("--recipe starts a new run; --resume continues the settings "
                             "saved in the checkpoint")
        start = (training.resume(resume, given, say) if resume else
                 training.new_run(recipes.resolve(recipe, options, set(given))))
    except MnistnnError:   # a damaged checkpoint: exit 1, not a usage error
        raise
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    dataset = datasets.get(start.config.dataset)
    weights_dir = training.folder_of(start, dataset.name, weights_dir)
    try:
        training.check_can_write(weights_dir)
    except MnistnnError as exc:
        raise click.BadParameter(str(exc), param_hint="'--weights-dir'") from None
    images = load_data(data_dir, no_download, quiet, dataset.name)
    try:
        train_set, validation = training.split(data.to_inputs(images.train_images),
                                               images.train_labels, start.config.validation_size)
        training.check_data(start.net, train_set, validation, start.config)   # before words
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    windows = training.n_windows(start.config, len(train_set[0]))   # the Trainer makes them
    say(f"Training {start.config.describe()} on {len(train_set[0])} {dataset.title} images"
        + (f" and {windows} windows of touching digits" if windows else "")
        + (f", validating on {len(validation[0])}" if validation else "")
        + f"; checkpoints in {weights_dir}/")
    trainer = training.Trainer(train=train_set, validation=validation, weights_dir=weights_dir,
                               **start._asdict())
    with EpochProgress(quiet, start.config.epochs) as bars:
        outcome = trainer.run(on_batch=bars.batch, on_note=say,
                              on_epoch=lambda m: (bars.epoch(m, as_json),
                                                  _draw_training(weights_dir, trainer.history)))
    _finish(ctx, outcome, say, _test_command(dataset.name, weights_dir))


def _draw_training(weights_dir, history):
    """Redraw training.png from the run's metrics (all epochs, resumed ones too)."""
    from pathlib import Path

    from . import plots

    plots.save_png(plots.training_plot(history), Path(weights_dir) / "training.png")


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


def _test_command(dataset, weights_dir):
    """The `mnistnn test` that tests this run: naming its data set and folder unless they
    are the ones test finds by itself."""
    from .checkpoint import default_weights_dir

    command = "mnistnn test" + (f" --dataset {dataset}" if dataset != DEFAULT else "")
    if Path(weights_dir).resolve() != default_weights_dir(dataset).resolve():
        command += f" --weights-dir {shlex.quote(str(weights_dir))}"
    return command


def _finish(ctx, outcome, say, next_step="mnistnn test"):
    """Say how the run ended; exit 130 after Ctrl-C, 143 after `kill` (SIGTERM)."""
    if outcome["status"] == "interrupted":
        killed = outcome.get("signal") == "SIGTERM"
        where = (f"{'Stopped by SIGTERM' if killed else 'Interrupted'} in epoch "
                 f"{outcome['epoch'] + 1} after batch {outcome['batch']} of "
                 f"{outcome['n_batches']}")
        if "latest" in outcome:
            note(f"{where}. Saved {outcome['latest']}; continue with:\n"
                 f"  mnistnn train --resume {outcome['latest']}")
        else:       # stopped before its first epoch ended, beside an earlier run
            note(f"{where}, before its first epoch ended: nothing saved, and "
                 f"{outcome['folder']}/ still holds its earlier run")
        ctx.exit(128 + signal.Signals[outcome["signal"]])        # 143 or 130
    if outcome["status"] == "early-stopped":
        say(f"Stopped early after epoch {outcome['epoch']}: no progress on the validation set")
    if outcome["best_validation_accuracy"] is not None:
        say(f"Best validation accuracy {100 * outcome['best_validation_accuracy']:.2f}% "
            f"(epoch {outcome['best_epoch']})"
            + (f": {outcome['best']}" if "best" in outcome else "")
            + f". Saved {outcome['latest']}. Next: {next_step}")
    else:
        say(f"Saved {outcome['latest']}. Next: {next_step}")
