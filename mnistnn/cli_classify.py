"""`mnistnn classify`: read the digit in a person's own images."""
import json
from pathlib import Path

import click

from .cli_common import (Whole, check_output, load_network, model_dataset_option, note,
                         weights_dir_option, weights_option)

STDIN = "<stdin>"  # how `-` (an image piped in) is named in the output
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".bmp", ".tif", ".tiff",
                  ".webp", ".pbm", ".pgm", ".ppm", ".pnm")  # .jfif: JPEGs saved from browsers


@click.command()
@click.argument("images", nargs=-1, required=True,
                type=click.Path(allow_dash=True, readable=False))   # each is tried
@weights_option
@weights_dir_option
@model_dataset_option
@click.option("--number", is_flag=True,
              help="Read the whole line of digits in each image (a number), left to right.")
@click.option("--no-reject", is_flag=True,
              help='Always answer with the closest digit, never "not a digit".')
@click.option("--top", type=Whole(1, 10), default=1, show_default=True, metavar="K",
              help="Also show the runners-up: the K most likely digits (single digits).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per image on stdout (JSON Lines).")
@click.option("--save-preprocessed", type=click.Path(file_okay=False), metavar="DIR",
              help="Write the 28x28 image the network saw (enlarged 10x) into DIR as PNG.")
@click.option("--annotate", type=click.Path(), metavar="PATH",
              help="With --number: write the image with each digit's box and reading drawn "
                   "on it, as PNG (a folder when there are several images).")
def classify(images, weights, weights_dir, dataset, number, no_reject, top, as_json,
             save_preprocessed, annotate):
    """Read the digit in each of your IMAGES (PNG, JPEG, GIF, BMP, TIFF, WebP), or with
    --number the whole number written in each.

    Dark ink on light paper or light ink on dark, a drawing, a scan or a photo: each
    digit is brought to MNIST's form (ink cropped, scaled to 20 px, centred) first.
    An image that holds no digit (a letter, a star, a doodle) is answered "not a digit"
    with the closest digit, unless --no-reject. With a Fashion-MNIST model, an image is
    a product photo (an object on a plain light background), brought to Fashion-MNIST's
    form (trimmed, 28 px, negated). A folder stands for the images in it; - reads one
    image from stdin. Every image is tried; the exit status is 1 if any got no answer
    (or a picture asked for could not be written).

    \b
    Examples:
      mnistnn classify data/samples/
      mnistnn classify digit.png --top 3 --save-preprocessed seen/
      mnistnn classify meter.jpg --number --annotate meter-read.png
      cat digit.jpg | mnistnn classify - --json
      mnistnn classify --dataset fashion-mnist shoe.jpg
    """
    from .errors import ImageError
    from .pictures import PreprocessedSaver, input_folder
    from .reading import number_refusal, read_digit, read_number, rejection_note
    from .runs import check_writable

    if top > 1 and number:
        raise click.UsageError("--top shows runners-up of single digits, not with --number")
    if annotate and not number:
        raise click.UsageError("--annotate draws the digits of a number: add --number")
    if images.count("-") > 1:
        raise click.UsageError("- (an image on stdin) can be given once: stdin is read once")
    for option, folder in (("--save-preprocessed", save_preprocessed), ("--annotate", annotate)):
        if folder and input_folder(folder, images):
            raise click.UsageError(f"{option} {folder} is a folder of images being read: the "
                                   f"pictures written there would be read as images the next "
                                   f"time; choose another folder")
    annotator = Annotator(annotate, images) if annotate else None
    if annotator and not annotator.several:
        check_output(annotate, "--annotate")          # before anything is loaded
    elif annotator and not Path(annotate).is_dir() and (
            Path(annotate).exists() or Path(annotate).suffix.lower() == ".png"):
        raise click.UsageError(f"--annotate names one picture ({annotate}) but several "
                               f"images are read: give a folder for their pictures")
    # A folder that cannot be written is a bad option, as a picture's path is: exit 2.
    saver = _before_work(lambda: PreprocessedSaver(save_preprocessed, images),
                         "--save-preprocessed") if save_preprocessed else None
    if annotator and annotator.several:
        _before_work(lambda: check_writable(annotate, "pictures"), "--annotate")
    net = load_network(weights, weights_dir, dataset)
    classes = net.meta.get("classes")              # None: MNIST's digits
    if number and number_refusal(net):
        raise click.UsageError(number_refusal(net))
    if not no_reject and rejection_note(net):
        note(rejection_note(net))
    failed = total = unsaved = unannotated = 0
    for name, source in _sources(images):
        total += 1
        try:
            if source is None:
                raise ImageError(f"{name}: no image files (.png, .jpg, .gif, .bmp, .tif, "
                                 f".webp, ...) in this folder")
            hints = []       # said after the answer
            if number:
                answer, x = read_number(net, source, name, not no_reject, hints.append)
            else:
                answer, x = read_digit(net, source, name, not no_reject, hints.append)
        except ImageError as exc:
            failed += 1
            _echo_error(name, str(exc), as_json)
            continue
        click.echo(_format(name, answer, top, as_json, classes))
        for hint in hints:
            note(hint)
        try:   # a picture that cannot be written does not stop the other images
            if annotator:
                note(f"{name}: annotated in {annotator.save(name, source, answer)}")
        except (ImageError, OSError) as exc:
            unannotated += 1
            reason = str(exc) if isinstance(exc, ImageError) else exc.strerror or str(exc)
            click.echo(f"Error: {name}: cannot write the annotated picture: {reason}",
                       err=True)
        if saver:
            try:
                for stem, digit in _stems(name, x, number):
                    note(f"{name}: the network saw {saver.save(name, digit, stem)}")
            except OSError as exc:
                unsaved += 1
                click.echo(f"Error: {name}: cannot save what the network saw: "
                           f"{exc.strerror or exc}", err=True)
    if failed:    # each failure has had its sentence; a sum only says more for several
        if total == 1:
            raise SystemExit(1)
        raise click.ClickException(f"no answer for {failed} of {total} images")
    if unannotated:
        raise click.ClickException(f"{unannotated} of {total} annotated pictures could not be "
                                   f"written")
    if unsaved:
        raise click.ClickException(f"{unsaved} of {total} preprocessed images could not be saved")


def _before_work(check, option):
    """check()'s result; its MnistnnError (a folder that cannot be written) as a usage
    error naming the option."""
    from .errors import MnistnnError

    try:
        return check()
    except MnistnnError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _stems(name, x, number):
    """(file stem, (28, 28) input) of each digit the network saw: NAME, or for a number
    NAME-1, NAME-2, ..."""
    stem = "stdin" if name == STDIN else Path(name).stem
    digits = x.reshape(-1, 28, 28)
    if not number:
        return [(stem, digits[0])]
    return [(f"{stem}-{k + 1}", digit) for k, digit in enumerate(digits)]


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
    'star.png: not a digit (closest: 4, 38.0%)', 'meter.jpg: 2026  (99.1% 97.3% 99.8%
    88.0%)', or JSON."""
    if as_json:
        return json.dumps({"path": name, **answer})
    if "digits" in answer:
        return f"{name}: {_number_text(answer)}"
    p = answer["probabilities"]
    order = sorted(range(len(p)), key=lambda d: -p[d])
    best = [f"{classes[d] if classes else d} ({100 * p[d]:.1f}%)" for d in order[:top]]
    then = f"; then {', '.join(best[1:])}" if top > 1 else ""
    if answer["digit"] is None:
        return f"{name}: not a digit (closest: {answer['closest']}, {_percent(answer)}){then}"
    return f"{name}: {best[0]}{then}"


def _number_text(answer):
    """'2026  (99.1% 97.3% 99.8% 88.0%)', '20?6  (99.1% 97.3% not a digit 88.0%)', or for
    a line where no piece is a digit 'not a number (closest: 480)'."""
    digits = answer["digits"]
    if answer["number"] is None:
        closest = "".join(str(d["closest"]) for d in digits)
        if len(digits) == 1:
            return f"not a digit (closest: {closest}, {_percent(digits[0])})"
        return f"not a number (closest: {closest})"
    parts = [_percent(d) if d["digit"] is not None else "not a digit" for d in digits]
    return f"{answer['number']}  ({' '.join(parts)})"


def _percent(answer):
    return f"{100 * answer['confidence']:.1f}%"


class Annotator:
    """Writes each image with its digits' boxes and readings drawn on it: to PATH for one
    image, else into the folder PATH as <name>.png. An existing file is replaced only when
    it is a picture mnistnn made and not an input (pictures.taken): for one image anything
    else is an error, in a folder the new file gets -2, -3, ..."""

    def __init__(self, path, images):
        from .pictures import input_files

        self.path, self.used = Path(path), set()
        self.several = len(images) > 1 or (images[0] != "-" and Path(images[0]).is_dir())
        self.inputs = input_files(images)

    def save(self, name, source, answer):
        from .errors import ImageError
        from .imaging import read_rgb
        from .pictures import annotate, save_png, taken

        if self.several:
            self.path.mkdir(parents=True, exist_ok=True)
            stem = "stdin" if name == STDIN else Path(name).stem
            path, n = self.path / f"{stem}.png", 1
            while path in self.used or taken(path, self.inputs):
                n += 1
                path = self.path / f"{stem}-{n}.png"
        elif taken(self.path, self.inputs):
            why = ("is one of the images read" if self.path.resolve() in self.inputs
                   else "already exists and is not a picture mnistnn made")
            raise ImageError(f"{self.path} {why}: choose another name for --annotate")
        else:
            path = self.path
        self.used.add(path)
        save_png(annotate(read_rgb(source), answer["digits"]), path, "digits read")
        return path
