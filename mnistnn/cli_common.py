"""Pieces shared by the CLI commands: options, progress bars, loading data and weights."""
import contextlib
import math
import os
import signal
import sys

import click

from . import datasets
from .errors import Terminated

ENV_DATA, ENV_WEIGHTS = datasets.ENV_DATA_DIR, "MNISTNN_WEIGHTS_DIR"


class Real(click.ParamType):
    """A finite number, optionally bounded: the one check behind every float option.

    click's FloatRange lets NaN through (every comparison with NaN is false), and
    "inf" or "1e300" would pass an open upper bound; this type refuses both. The bounds
    are a config.Range, the same check TrainConfig applies to its settings."""
    name = "number"

    def __init__(self, min=None, max=None, min_open=False, max_open=False):
        from .config import Range

        self.range = Range(min, max, min_open, max_open)

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if number not in self.range:
            self.fail(f"{value!r} is not {self.describe()}", param, ctx)
        return number

    def describe(self):
        """The allowed range in words: 'in (0, 3600]', 'at least 0', 'a finite number'."""
        return self.range.describe()


class Whole(click.IntRange):
    """A whole number in a range: click's IntRange, named so that its refusal reads
    "'1e20' is not a valid whole number" (click's own says "integer range"), shown as N
    in --help."""
    name = "whole number"

    def get_metavar(self, param, ctx=None):   # click 8.2 passes ctx, older ones do not
        return "N"


def check_output(path, param_hint, suffix=".png"):
    """Refuse, before any work and as a usage error naming the option, an output file
    that cannot be written: a folder, another suffix, a missing or read-only folder, or
    a file that is there and is not a picture mnistnn made (files.marked_png)."""
    from pathlib import Path

    from .errors import MnistnnError
    from .files import marked_png
    from .runs import check_writable

    folder = str(path).endswith(("/", os.sep))            # 'out/' names a folder
    path = Path(path)
    if path.is_dir() or folder:
        raise click.BadParameter(f"{path}{'/' if folder else ''} "
                                 f"{'names' if folder else 'is'} a folder; give a file name "
                                 f"such as {path / ('picture' + suffix)}", param_hint=param_hint)
    if path.suffix.lower() != suffix:
        raise click.BadParameter(f"{path} does not end in {suffix}: it is written as "
                                 f"{suffix[1:].upper()}", param_hint=param_hint)
    if not path.parent.is_dir():
        why = (f"{path.parent} is a file, not a folder" if path.parent.exists()
               else f"the folder {path.parent} does not exist")
        raise click.BadParameter(f"cannot write {path}: {why}", param_hint=param_hint)
    if path.exists() and not marked_png(path):
        raise click.BadParameter(f"{path} already exists and is not a picture mnistnn made: "
                                 f"choose another name (it replaces only its own pictures)",
                                 param_hint=param_hint)
    try:
        check_writable(path.parent, path.name)
    except MnistnnError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None
    return path


def note(message):
    click.echo(message, err=True)


def progress_bar(quiet, **kwargs):
    """A tqdm bar on stderr, shown only on a terminal and without --quiet."""
    from tqdm import tqdm

    return tqdm(file=sys.stderr, disable=quiet or not sys.stderr.isatty(), leave=False,
                dynamic_ncols=True, **kwargs)


def data_dir_option(f):
    return click.option("--data-dir", type=click.Path(file_okay=False), envvar=ENV_DATA,
                        default="data", show_default=True,
                        help=f"The data folder: MNIST's files in it, other data sets in a "
                             f"subfolder named after them (env {ENV_DATA}).")(f)


def dataset_option(f):
    return click.option("--dataset", type=click.Choice(datasets.NAMES),
                        envvar=datasets.ENV_DATASET, default=datasets.DEFAULT,
                        show_default=True,
                        help=f"The data set (env {datasets.ENV_DATASET}).")(f)


def model_dataset_option(f):
    """--dataset for the commands that use a trained network: by default the one the
    network was trained on; given, it picks the default weights and must match them."""
    return click.option("--dataset", type=click.Choice(datasets.NAMES),
                        envvar=datasets.ENV_DATASET, default=None,
                        help=f"The data set: the default weights are its own, and a network "
                             f"trained on another is refused [default: the one the network "
                             f"was trained on] (env {datasets.ENV_DATASET}).")(f)


def no_download_option(f):
    return click.option("--no-download", is_flag=True,
                        help="Fail instead of downloading the data set when it is missing.")(f)


def weights_option(f):
    return click.option("--weights", type=click.Path(dir_okay=False, readable=False),
                        default=None,
                        help="Checkpoint to use [default: weights/best.npz, else "
                             "weights/latest.npz, else the model shipped with mnistnn].")(f)


def weights_dir_option(f):
    return click.option("--weights-dir", type=click.Path(file_okay=False), envvar=ENV_WEIGHTS,
                        default=None,
                        help=f"Folder for checkpoints [default: weights, and weights/NAME for "
                             f"another data set than MNIST, such as weights/fashion-mnist] "
                             f"(env {ENV_WEIGHTS}).")(f)


def load_data(data_dir, no_download, quiet, dataset=None, splits=("train", "test")):
    """A data set (MNIST unless told) from data_dir, downloading what is missing (with a
    progress bar); splits: the parts needed (data.ensure)."""
    from . import data

    with DownloadProgress(quiet) as progress:
        return data.ensure(data_dir, allow_download=not no_download, on_note=note,
                           on_progress=progress, dataset=dataset, splits=splits)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """For the block, `kill PID` raises Terminated (a KeyboardInterrupt) instead of ending
    the process on the spot, so half-written temporary files are removed as for Ctrl-C."""
    def terminate(signum, frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread (an embedding program): leave signals be
        previous = terminate
    try:
        yield
    finally:
        if previous is not terminate:  # None: set outside Python, so the default
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def load_network(weights, weights_dir=None, dataset=None, quiet=False):
    """The network to use (trained on `dataset` when given), saying on stderr which file
    it came from (unless quiet): see checkpoint.locate."""
    from . import checkpoint

    path = checkpoint.locate(weights, weights_dir, dataset)
    net = checkpoint.load(path, dataset=dataset)
    if quiet:
        return net
    if path in map(checkpoint.shipped, datasets.NAMES):
        train = "mnistnn train" + (f" --dataset {dataset}" if dataset else "")
        note(f"Using the model that ships with mnistnn ({checkpoint.describe(net)}); "
             f"`{train}` makes your own")
    else:
        note(f"Using {path} ({checkpoint.describe(net)})")
    return net


class DownloadProgress:
    """on_progress callback for data.download: one tqdm bytes bar per file."""

    def __init__(self, quiet):
        self.quiet, self.bars = quiet, {}

    def __enter__(self):
        return self

    def __call__(self, name, nbytes, total):
        if name not in self.bars:
            self.bars[name] = progress_bar(self.quiet, total=total, desc=name, unit="B",
                                           unit_scale=True, unit_divisor=1024)
        self.bars[name].update(nbytes)

    def close(self, name):
        """The file is in place: its bar is finished."""
        if name in self.bars:
            self.bars.pop(name).close()

    def __exit__(self, *exc):
        for bar in self.bars.values():
            bar.close()
