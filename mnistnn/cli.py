"""The `mnistnn` command: thin click wrappers around the library.

Results go to stdout (text, or JSON with --json); progress bars and notes go to stderr.
A problem the user can fix is one sentence and exit status 1; a bad option is exit 2.
numpy and friends are imported inside the commands so that `mnistnn --help` is quick.
"""
import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .cli_common import (DownloadProgress, Real, Whole, check_output, data_dir_option,
                         dataset_option, load_data, load_network, model_dataset_option,
                         no_download_option, note, sigterm_as_interrupt, weights_dir_option,
                         weights_option)
from .cli_classify import classify
from .cli_draw import draw
from .cli_imagine import imagine
from .cli_train import train
from .errors import MnistnnError
from .fetch import RETRIES, TIMEOUT

ERRORS_SHOWN = 100  # misclassified digits in `mnistnn test --errors`


class Main(click.Group):
    """The command group; turns library errors into one clear sentence (exit 1)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MnistnnError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt as exc:  # a second Ctrl-C or kill (train), or one
            note("Interrupted: stopped at once. Files already written are whole (every "
                 "write is atomic).")
            ctx.exit(getattr(exc, "exit_code", 130))     # 143 for kill (errors.Terminated)
        except BrokenPipeError:  # `mnistnn ... | head`: the reader left; leave quietly too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None


class Accuracy(click.ParamType):
    """A required accuracy as a fraction in [0, 1]: 0.95, 95 and 95% all mean 0.95."""
    name = "accuracy"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip()
        percent = text.endswith("%")
        digits = text.rstrip("%").strip()
        try:
            number = Real(0, 100).convert(digits, param, ctx)
        except click.BadParameter as exc:   # quote what was typed: '200%', not '200'
            self.fail(exc.message.replace(repr(digits), repr(text), 1), param, ctx)
        if not percent and number == 1:
            self.fail("1 is ambiguous: write 100% (every digit right) or 1%", param, ctx)
        return number / 100 if percent or number > 1 else number


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mnistnn")
def main():
    """A from-scratch neural network that reads handwritten digits.

    \b
    mnistnn download                    fetch MNIST (or --dataset fashion-mnist), verified
    mnistnn train --epochs 5 --lr 3.0   train the classic 784-30-10 network
    mnistnn test                        accuracy, per digit, confusion matrix
    mnistnn imagine 3 -o three.png      what the network thinks a 3 looks like
    mnistnn classify digit.png          read your own digit
    mnistnn classify meter.jpg --number read a whole number
    mnistnn draw                        draw digits in your browser, read live
    """


@main.command()
@dataset_option
@data_dir_option
@click.option("--mirror", "mirrors", multiple=True, metavar="URL",
              help="Fetch from this mirror (http://, https://, file:// or a folder) holding "
                   "the data set's files; repeat to try several in order. [default: the "
                   "data set's public mirrors, or $MNISTNN_MIRRORS for MNIST, "
                   "$MNISTNN_MIRRORS_FASHION_MNIST for Fashion-MNIST]")
@click.option("--force", is_flag=True, help="Fetch again even if verified files are present.")
@click.option("--timeout", type=Real(min=0, max=86400, min_open=True), default=TIMEOUT,
              show_default=True, metavar="SECONDS",
              help="The longest one mirror may take over one file, retries included; "
                   "then the next mirror is tried.")
@click.option("--retries", type=Whole(min=0, max=10), default=RETRIES,
              show_default=True,
              help="Extra tries of a mirror after a network error, within --timeout.")
@click.option("--quiet", "-q", is_flag=True,
              help="Print nothing unless something goes wrong.")
def download(dataset, data_dir, mirrors, force, timeout, retries, quiet):
    """Download a data set's four files into the data folder and verify them.

    Each file is checked against the SHA-256 of the data set's canonical bytes and
    written atomically; files already present and verified are not fetched again.
    MNIST goes into the data folder itself (--data-dir, default data/), Fashion-MNIST
    into its fashion-mnist/ subfolder.

    \b
    Examples:
      mnistnn download
      mnistnn download --data-dir ~/datasets/mnist
      mnistnn download --mirror file:///media/usb/mnist/
      mnistnn download --dataset fashion-mnist
    """
    from . import datasets, fetch

    entry = datasets.get(dataset)
    try:
        fetch.check_mirrors(mirrors)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mirror") from None
    try:
        with sigterm_as_interrupt(), DownloadProgress(quiet) as progress:
            report = fetch.download(data_dir, mirrors, force=force, timeout=timeout,
                                    retries=retries, on_progress=progress,
                                    on_note=None if quiet else note, dataset=entry.name,
                                    on_file=None if quiet else _file_line(progress))
    except KeyboardInterrupt as exc:
        note("Download interrupted: verified files are kept, and nothing half-written "
             "was left behind.")
        raise SystemExit(getattr(exc, "exit_code", 130)) from None
    if not quiet:
        _download_report(entry, datasets.folder(entry.name, data_dir), report)


def _file_line(progress):
    """on_file for fetch.download: one line per file as it is in place (the progress bar
    of that file closed first)."""
    def say(name, source):
        progress.close(name)
        if source == "present":
            what = "already present and verified, not fetched"
        else:
            what = f"downloaded from {source.rsplit('/', 1)[0]}/ and verified"
        click.echo(f"{name}: {what}")
    return say


def _download_report(entry, folder, report):
    """Where the data set is now (each file had its line as it arrived)."""
    if all(source == "present" for source in report.values()):
        click.echo(f"{entry.title} is ready in {folder}/: nothing to download "
                   f"(--force fetches again).")
    else:
        click.echo(f"{entry.title} is ready in {folder}/.")


main.add_command(train)


@main.command("test")
@weights_option
@weights_dir_option
@model_dataset_option
@data_dir_option
@no_download_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--min-accuracy", type=Accuracy(), default=None, metavar="X",
              help="Exit 1 if test accuracy is below X: a fraction (0.95), or a percentage "
                   "(95 or 95%). 1 alone is refused as ambiguous: write 100% or 1%.")
@click.option("--errors", "errors_png", type=click.Path(dir_okay=False), default=None,
              metavar="PATH", help="Write a PNG of the misclassified images (the first "
                                   f"{ERRORS_SHOWN}), each labelled true -> predicted.")
@click.option("--confusion", "confusion_png", type=click.Path(dir_okay=False), default=None,
              metavar="PATH", help="Write the confusion matrix as a PNG heat map with counts.")
@click.option("--quiet", "-q", is_flag=True, help="No notes on stderr.")
def test_command(weights, weights_dir, dataset, data_dir, no_download, as_json, min_accuracy,
                 errors_png, confusion_png, quiet):
    """Measure accuracy on the 10,000 test images of the network's data set.

    Shows overall and per-class accuracy and the confusion matrix. With
    --min-accuracy it is a CI gate: exit status 1 when the network falls short.

    \b
    Examples:
      mnistnn test --json --min-accuracy 0.95 > report.json
      mnistnn test --errors errors.png --confusion confusion.png
      mnistnn test --dataset fashion-mnist
    """
    from . import checkpoint, data, datasets, report

    if errors_png and confusion_png and Path(errors_png).resolve() == Path(
            confusion_png).resolve():
        raise click.UsageError(f"--errors and --confusion both name {errors_png}: one "
                               f"picture would replace the other; give two file names")
    for path, hint in ((errors_png, "--errors"), (confusion_png, "--confusion")):
        if path:
            check_output(path, hint)  # before the work, not after the whole report
    threshold = min_accuracy
    source = checkpoint.locate(weights, weights_dir, dataset)
    net = load_network(source, dataset=dataset, quiet=quiet)
    entry = datasets.trained_on(net.meta)
    test_set = load_data(data_dir, no_download, quiet, entry.name, splits=("test",))
    inputs = data.to_inputs(test_set.test_images)
    predicted = net.predict(inputs)
    result = report.test_report(test_set.test_labels, predicted, net.sizes[-1], entry)
    result["weights"] = str(source)
    if threshold is not None:
        result["min_accuracy"], result["passed"] = threshold, result["accuracy"] >= threshold
    click.echo(json.dumps(result) if as_json else report.format_report(result))
    _test_pictures(inputs, test_set.test_labels, predicted, result, errors_png, confusion_png,
                   quiet)
    if threshold is not None and not result["passed"]:
        raise click.ClickException(
            f"test accuracy {100 * result['accuracy']:.2f}% is below the required "
            f"{100 * threshold:.2f}%")


def _test_pictures(inputs, labels, predicted, result, errors_png, confusion_png, quiet):
    """Write the pictures `mnistnn test` was asked for, saying so on stderr."""
    from . import plots

    say = (lambda message: None) if quiet else note
    classes = result["classes"]
    if confusion_png:
        plots.save_png(plots.confusion_plot(result["confusion"], classes=classes),
                       confusion_png)
        say(f"Wrote the confusion matrix to {confusion_png}")
    if errors_png:
        wrong = result["total"] - result["correct"]
        plots.save_png(plots.errors_montage(inputs, labels, predicted, ERRORS_SHOWN,
                                            classes=classes), errors_png)
        say(f"Wrote {min(wrong, ERRORS_SHOWN)} of the {wrong} misclassified images "
            f"to {errors_png}")


main.add_command(imagine)
main.add_command(classify)
main.add_command(draw)

if os.environ.get("MNISTNN_DEBUG"):  # pragma: no cover - developer aid: real tracebacks
    Main.invoke = click.Group.invoke
