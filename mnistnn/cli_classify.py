"""`mnistnn classify`: read the digit in a person's own images."""
import json
from pathlib import Path

import click

from .cli_common import (load_network, model_dataset_option, note, weights_dir_option,
                         weights_option)

STDIN = "<stdin>"  # how `-` (an image piped in) is named in the output
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp",
                  ".pbm", ".pgm", ".ppm", ".pnm")


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(allow_dash=True))
@weights_option
@weights_dir_option
@model_dataset_option
@click.option("--top", type=click.IntRange(1, 10), default=1, show_default=True, metavar="K",
              help="Also show the runners-up: the K most likely digits.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per image on stdout (JSON Lines).")
@click.option("--save-preprocessed", type=click.Path(file_okay=False), metavar="DIR",
              help="Write the 28x28 image the network saw (enlarged 10x) into DIR as PNG.")
def classify(images, weights, weights_dir, dataset, top, as_json, save_preprocessed):
    """Read the digit in each of your IMAGES (PNG, JPEG, GIF, BMP, TIFF, WebP).

    Dark ink on light paper or light ink on dark, a drawing, a scan or a photo: each
    image is brought to MNIST's form (ink cropped, scaled to 20 px, centred) first.
    With a Fashion-MNIST model, an image is a product photo (an object on a plain light
    background), brought to Fashion-MNIST's form (trimmed, 28 px, negated).
    A folder stands for the images in it; - reads one image from stdin. Every image
    is tried; the exit status is 1 if any could not be read.

    \b
    Examples:
      mnistnn classify data/samples/
      mnistnn classify digit.png --top 3 --save-preprocessed seen/
      cat digit.jpg | mnistnn classify - --json
      mnistnn classify --dataset fashion-mnist shoe.jpg
    """
    from .errors import ImageError
    from .pictures import PreprocessedSaver
    from .reading import read_digit

    saver = PreprocessedSaver(save_preprocessed, images) if save_preprocessed else None
    net = load_network(weights, weights_dir, dataset)
    classes = net.meta.get("classes")              # None: MNIST's digits
    failed = total = unsaved = 0
    for name, source in _sources(images):
        total += 1
        try:
            if source is None:
                raise ImageError(f"{name}: no image files (.png, .jpg, .gif, .bmp, .tif, "
                                 f".webp, ...) in this folder")
            answer, x = read_digit(net, source, name)              # x: (784,)
        except ImageError as exc:
            failed += 1
            _echo_error(name, str(exc), as_json)
            continue
        click.echo(_format(name, answer, top, as_json, classes))
        if saver:
            try:   # one that cannot be saved does not stop the others
                stem = "stdin" if name == STDIN else None
                note(f"{name}: the network saw {saver.save(name, x.reshape(28, 28), stem)}")
            except OSError as exc:
                unsaved += 1
                click.echo(f"Error: {name}: cannot save what the network saw: "
                           f"{exc.strerror or exc}", err=True)
    if failed:
        raise click.ClickException(f"{failed} of {total} images could not be read")
    if unsaved:
        raise click.ClickException(f"{unsaved} of {total} preprocessed images could not be saved")


def _sources(arguments):
    """(name, path or bytes) for each image to classify; a folder expands to its images
    and `-` to the bytes on stdin. A folder with no images yields (name, None)."""
    for argument in arguments:
        if argument == "-":
            with click.open_file("-", "rb") as stdin:
                yield STDIN, stdin.read()
        elif Path(argument).is_dir():
            found = find_images(argument)
            yield from ((str(path), path) for path in found)
            if not found:
                yield argument, None
        else:
            yield argument, argument


def find_images(folder):
    """The image files directly inside folder (by suffix, hidden files skipped), sorted."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file()
                  and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)


def _echo_error(name, message, as_json):
    """A failed image: a JSON object on stdout with --json, else a line on stderr."""
    if as_json:
        click.echo(json.dumps({"path": name, "error": message}))
    else:
        click.echo(f"Error: {message}", err=True)


def _format(name, answer, top, as_json, classes=None):
    """One output line: 'digit.png: 7 (98.6%)', 'shoe.jpg: Sneaker (97.2%)' (+ runners-up),
    or a JSON object."""
    if as_json:
        return json.dumps({"path": name, **answer})
    p = answer["probabilities"]
    order = sorted(range(len(p)), key=lambda d: -p[d])
    best = [f"{classes[d] if classes else d} ({100 * p[d]:.1f}%)" for d in order[:top]]
    return f"{name}: {best[0]}" + (f"; then {', '.join(best[1:])}" if top > 1 else "")
