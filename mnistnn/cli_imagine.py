"""`mnistnn imagine`: what the network thinks a digit (or a class) looks like, as a PNG."""
import json
import re
from pathlib import Path

import click

from .cli_common import (Whole, check_output, model_dataset_option, weights_dir_option,
                         weights_option)

METHODS = ("maximise", "backproject")  # spelled out so that --help needs no numpy
COLORMAPS = ("gray", "heat")


class ClassType(click.ParamType):
    """'all', or a class: its number (0 to 9) or a name, in full or its beginning
    ('sneaker', 'snea'). A name no data set has is refused here, before any work; the
    network's data set decides once it is loaded (datasets.class_index)."""
    name = "CLASS"

    def convert(self, value, param, ctx):
        from . import datasets

        text = str(value).strip()
        if text.lower() == "all":
            return "all"
        if any(datasets.candidates(entry, text) for entry in datasets.DATASETS.values()):
            return text
        named = "; or ".join(f"for a {e.title} network, a class name ({', '.join(e.classes)})"
                             for e in datasets.DATASETS.values()
                             if e.classes != tuple(map(str, range(len(e.classes)))))
        self.fail(f"{value!r} is not a class: give a number from 0 to 9, 'all', or, {named}",
                  param, ctx)


@click.command()
@click.argument("digit", metavar="CLASS", type=ClassType())
@click.option("-o", "--output", type=click.Path(), default=None,
              help="PNG file to write.  [default: imagine-CLASS.png]")
@weights_option
@weights_dir_option
@model_dataset_option
@click.option("--method", type=click.Choice(METHODS), default="maximise", show_default=True,
              help="maximise: gradient ascent on the pixels, with regularisers; "
                   "backproject: the classic reverse pass through the transposed weights.")
@click.option("--steps", type=Whole(min=1, max=100000), default=200,
              show_default=True, help="Gradient-ascent steps (maximise).")
@click.option("--scale", type=Whole(min=1, max=100), default=10, show_default=True,
              help="Each pixel becomes a SCALE x SCALE block.")
@click.option("--colormap", type=click.Choice(COLORMAPS), default="gray", show_default=True,
              help="gray: white ink on black like MNIST; heat: black-red-yellow-white.")
@click.option("--seed", type=Whole(0, 2**32 - 1), default=0, show_default=True,
              help="Seed for the jitter; the same seed draws the same picture.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the self-check as a JSON object on stdout.")
def imagine(digit, output, weights, weights_dir, dataset, method, steps, scale, colormap, seed,
            as_json):
    """Draw what the network thinks CLASS (0-9, a name, or 'all') looks like.

    Gradient ascent turns a blank image into the one the network is most sure
    shows CLASS, kept natural by jitter, blur and a limited amount of ink. The
    PNG is then fed back to the network, which says what it sees. 'all' draws
    the ten classes in a labelled 2x5 grid. A Fashion-MNIST model takes names
    (any case, or their beginning) as well as numbers.

    \b
    Examples:
      mnistnn imagine 3 -o three.png
      mnistnn imagine all --colormap heat --json
      mnistnn imagine sneaker --dataset fashion-mnist
    """
    from . import checkpoint, datasets, imagining, pictures
    from .cli_common import load_network

    if output:
        check_output(output, "-o/--output")   # before anything is loaded
    source = checkpoint.locate(weights, weights_dir, dataset)
    net = load_network(source, dataset=dataset)
    digits, names = _chosen(digit, datasets.trained_on(net.meta))
    what = "all" if digit == "all" else _slug(names[digits[0]])
    path = check_output(output or f"imagine-{what}.png", "-o/--output")
    try:
        images = imagining.imagine_many(net, digits, method, steps, seed)
    except ValueError as exc:
        raise click.ClickException(f"{source}: {exc}") from None
    # The self-check sees what the PNG holds: 256 grey levels.
    seen, proba = imagining.self_check(net, (images * 255).round() / 255)
    results = [{"digit": d, "name": names[d], "seen": int(s), "seen_name": names[s],
                "confidence": float(p[s]), "probability": float(p[d]),
                "probabilities": [round(float(v), 6) for v in p]}
               for d, s, p in zip(digits, seen, proba)]
    if digit == "all":
        picture = pictures.montage(images, _captions(results, names), columns=5, scale=scale,
                                   colormap=colormap, font_size=2 * scale if scale >= 6 else None)
    else:
        picture = pictures.digit_image(images[0], scale, colormap)
    replaced = Path(path).exists()      # check_output let it through: an earlier picture
    try:
        pictures.save_png(picture, path)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    _report(digit, path, picture.size, method, str(source), results, as_json, replaced)


def _chosen(digit, dataset):
    """(the class numbers to draw, the data set's class names) for CLASS ('all', a number
    or a name); a name the network's data set lacks is a usage error."""
    from . import datasets

    if digit == "all":
        return list(range(len(dataset.classes))), dataset.classes
    try:
        return [datasets.class_index(dataset, digit)], dataset.classes
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CLASS") from None


def _slug(name):
    """A class name as part of a file name: '7', 'sneaker', 't-shirt-top'."""
    return "-".join(re.findall(r"[0-9a-z]+", name.lower()))


def _captions(results, names):
    """'3: seen as 3 (99%)' under each digit; a name and, below it, what it was seen as."""
    if names == tuple(map(str, range(len(names)))):
        return [f"{r['digit']}: seen as {r['seen']} ({r['confidence']:.0%})" for r in results]
    return [f"{r['name']}\nseen as {r['seen_name']} ({r['confidence']:.0%})" for r in results]


def _report(digit, path, size, method, source, results, as_json, replaced=False):
    """The self-check on stdout, as sentences or one JSON object; replaced: path held an
    earlier picture of mnistnn's, now written over."""
    if as_json:
        head = {"output": str(path), "width": size[0], "height": size[1], "method": method,
                "weights": source}
        body = {"digit": "all", "results": results} if digit == "all" else results[0]
        click.echo(json.dumps({**head, **body}))
        return
    wrote = "Replaced the earlier picture" if replaced else "Wrote"
    if digit != "all":
        r = results[0]
        click.echo(f"{wrote} {path} ({size[0]}x{size[1]}): what the network thinks "
                   f"{_a(r['name'])} looks like.")
        click.echo(f"Fed back to the network, it is read as {_a(r['seen_name'])} with "
                   f"probability {r['confidence']:.1%}"
                   + ("." if r["seen"] == r["digit"] else
                      f" ({_a(r['name'])} gets {r['probability']:.1%})."))
        return
    kind = "digit" if results[0]["name"] == "0" else "class"
    click.echo(f"{wrote} {path} ({size[0]}x{size[1]}): what the network thinks each {kind} "
               f"looks like. Fed back to the network, they are read as:")
    width = max(len(r["name"]) for r in results)
    for r in results:
        mark = "" if r["seen"] == r["digit"] else f"   <- not {_a(r['name'])}"
        click.echo(f"  {r['name']:>{width}} -> {r['seen_name']:<{width}}  "
                   f"{r['confidence']:6.1%}{mark}")


def _a(name):
    """'a 3', 'an 8', 'a Sneaker', 'an Ankle boot'."""
    return f"an {name}" if name[:1].lower() in "8aeiou" else f"a {name}"
