"""The `mnistnn` command: thin click wrappers around the library.

Results go to stdout (text, or JSON with --json); progress bars and notes go to stderr.
A problem the user can fix is one sentence and exit status 1; a bad option is exit 2.
numpy and friends are imported inside the commands so that `mnistnn --help` is quick.
"""
import os
import sys

import click

from . import __version__
from .cli_common import DownloadProgress, data_dir_option
from .errors import MnistnnError


class Main(click.Group):
    """The command group; turns library errors into one clear sentence (exit 1)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MnistnnError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:  # `mnistnn ... | head`: the reader left; leave quietly too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mnistnn")
def main():
    """A from-scratch neural network that reads handwritten digits.

    \b
    mnistnn download                    fetch MNIST, verified
    mnistnn train --epochs 5 --lr 3.0   train the classic 784-30-10 network
    mnistnn test                        accuracy, per digit, confusion matrix
    mnistnn imagine 3 -o three.png      what the network thinks a 3 looks like
    mnistnn classify digit.png          read your own digit
    """


@main.command()
@data_dir_option
@click.option("--mirror", "mirrors", multiple=True, metavar="URL",
              help="Fetch from this mirror (http://, https://, file:// or a folder); "
                   "repeat to try several in order. [default: the public mirrors, "
                   "or $MNISTNN_MIRRORS]")
@click.option("--force", is_flag=True, help="Fetch again even if verified files are present.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Seconds to wait for a mirror to answer.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Extra attempts per mirror after a network error.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no notes.")
def download(data_dir, mirrors, force, timeout, retries, quiet):
    """Download the four MNIST files into DATA_DIR and verify them.

    Each file is checked against the SHA-256 of the canonical MNIST data and
    written atomically; files already present and verified are not fetched again.

    \b
    Example:
      mnistnn download --mirror file:///media/usb/mnist/
    """
    from . import data

    with DownloadProgress(quiet) as progress:
        report = data.download(data_dir, mirrors, force=force, timeout=timeout,
                               retries=retries, on_progress=progress)
    fetched = {name: src for name, src in report.items() if src != "present"}
    for name, source in report.items():
        if source == "present":
            what = "already present and verified, not fetched"
        else:
            what = f"downloaded from {source.rsplit('/', 1)[0]}/ and verified"
        click.echo(f"{name}: {what}")
    if not fetched:
        click.echo(f"MNIST is ready in {data_dir}/: nothing to download "
                   f"(--force fetches again).")
    else:
        click.echo(f"MNIST is ready in {data_dir}/.")


def not_yet(name):
    """A command whose issue has not landed yet: exit 1, no fake output."""
    @main.command(name, help="Not implemented yet.",
                  context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args):
        raise click.ClickException(f"{name} is not implemented yet")


for _name in ("train", "test", "imagine", "classify"):
    not_yet(_name)


if os.environ.get("MNISTNN_DEBUG"):  # pragma: no cover - developer aid: real tracebacks
    Main.invoke = click.Group.invoke
