"""Pieces shared by the CLI commands: options, progress bars, loading data and weights."""
import contextlib
import math
import signal
import sys

import click

from . import datasets

ENV_DATA, ENV_WEIGHTS = datasets.ENV_DATA_DIR, "MNISTNN_WEIGHTS_DIR"


class Real(click.ParamType):
    """A finite number, optionally bounded: the one check behind every float option.

    click's FloatRange lets NaN through (every comparison with NaN is false), and
    "inf" or "1e300" would pass an open upper bound; this type refuses both."""
    name = "number"

    def __init__(self, min=None, max=None, min_open=False, max_open=False):
        self.min, self.max, self.min_open, self.max_open = min, max, min_open, max_open

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        too_low = self.min is not None and (number < self.min or
                                            (self.min_open and number == self.min))
        too_high = self.max is not None and (number > self.max or
                                             (self.max_open and number == self.max))
        if too_low or too_high:
            self.fail(f"{value!r} is not {self.describe()}", param, ctx)
        return number

    def describe(self):
        """The allowed range in words: 'in (0, 3600]', 'at least 0', 'a finite number'."""
        if self.min is not None and self.max is not None:
            return (f"in {'(' if self.min_open else '['}{self.min:g}, "
                    f"{self.max:g}{')' if self.max_open else ']'}")
        if self.min is not None:
            return f"{'above' if self.min_open else 'at least'} {self.min:g}"
        if self.max is not None:
            return f"{'below' if self.max_open else 'at most'} {self.max:g}"
        return "a finite number"


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


def no_download_option(f):
    return click.option("--no-download", is_flag=True,
                        help="Fail instead of downloading MNIST when it is missing.")(f)


def weights_option(f):
    return click.option("--weights", type=click.Path(dir_okay=False), default=None,
                        help="Checkpoint to use [default: weights/best.npz, else "
                             "weights/latest.npz, else the model shipped with mnistnn].")(f)


def weights_dir_option(f):
    return click.option("--weights-dir", type=click.Path(file_okay=False), envvar=ENV_WEIGHTS,
                        default="weights", show_default=True,
                        help=f"Folder for checkpoints (env {ENV_WEIGHTS}).")(f)


def load_data(data_dir, no_download, quiet, dataset=None):
    """A data set (MNIST unless told) from data_dir, downloading what is missing (with a
    progress bar)."""
    from . import data

    with DownloadProgress(quiet) as progress:
        return data.ensure(data_dir, allow_download=not no_download, on_note=note,
                           on_progress=progress, dataset=dataset)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised wherever the program is, so it cleans up as after Ctrl-C."""
    exit_code = 128 + signal.SIGTERM


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


def load_network(weights, weights_dir=None):
    """The network to use, saying on stderr which file it came from."""
    from . import checkpoint

    path = checkpoint.locate(weights, weights_dir)
    net = checkpoint.load(path)
    if path == checkpoint.SHIPPED:
        note(f"Using the model that ships with mnistnn ({checkpoint.describe(net)}); "
             f"`mnistnn train` makes your own")
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

    def __exit__(self, *exc):
        for bar in self.bars.values():
            bar.close()
