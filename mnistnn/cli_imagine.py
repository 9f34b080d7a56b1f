"""`mnistnn imagine`: what the network thinks a digit looks like, as a PNG."""
import json

import click

from .cli_common import check_output, weights_dir_option, weights_option

METHODS = ("maximise", "backproject")  # spelled out so that --help needs no numpy
COLORMAPS = ("gray", "heat")


class DigitType(click.ParamType):
    """0 to 9, or 'all'."""
    name = "DIGIT"

    def convert(self, value, param, ctx):
        text = str(value).strip().lower()
        if text == "all":
            return "all"
        if len(text) == 1 and text in "0123456789":  # not isdigit(): it takes '²' and '①'
            return int(text)
        self.fail(f"{value!r} is not a digit: give 0 to 9, or 'all' for all ten", param, ctx)


@click.command()
@click.argument("digit", type=DigitType())
@click.option("-o", "--output", type=click.Path(), default=None,
              help="PNG file to write.  [default: imagine-DIGIT.png]")
@weights_option
@weights_dir_option
@click.option("--method", type=click.Choice(METHODS), default="maximise", show_default=True,
              help="maximise: gradient ascent on the pixels, with regularisers; "
                   "backproject: the classic reverse pass through the transposed weights.")
@click.option("--steps", type=click.IntRange(min=1, max=100000), default=200,
              show_default=True, help="Gradient-ascent steps (maximise).")
@click.option("--scale", type=click.IntRange(min=1, max=100), default=10, show_default=True,
              help="Each pixel becomes a SCALE x SCALE block.")
@click.option("--colormap", type=click.Choice(COLORMAPS), default="gray", show_default=True,
              help="gray: white ink on black like MNIST; heat: black-red-yellow-white.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for the jitter; the same seed draws the same picture.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the self-check as a JSON object on stdout.")
def imagine(digit, output, weights, weights_dir, method, steps, scale, colormap, seed,
            as_json):
    """Draw what the network thinks DIGIT (0-9, or 'all') looks like.

    Gradient ascent turns a blank image into the one the network is most sure
    shows DIGIT, kept natural by jitter, blur and a limited amount of ink. The
    PNG is then fed back to the network, which says what it sees. 'all' draws
    the ten digits in a labelled 2x5 grid.

    \b
    Examples:
      mnistnn imagine 3 -o three.png
      mnistnn imagine all --colormap heat --json
    """
    from . import checkpoint, imagining, pictures
    from .cli_common import load_network

    path = check_output(output or f"imagine-{digit}.png", "-o/--output")
    source = checkpoint.locate(weights, weights_dir)
    net = load_network(source)
    digits = list(range(10)) if digit == "all" else [digit]
    try:
        images = imagining.imagine_many(net, digits, method, steps, seed)
    except ValueError as exc:
        raise click.ClickException(f"{source}: {exc}") from None
    # The self-check sees what the PNG holds: 256 grey levels.
    seen, proba = imagining.self_check(net, (images * 255).round() / 255)
    results = [{"digit": d, "seen": int(s), "confidence": float(p[s]),
                "probability": float(p[d]), "probabilities": [round(float(v), 6) for v in p]}
               for d, s, p in zip(digits, seen, proba)]
    if digit == "all":
        captions = [f"{r['digit']}: seen as {r['seen']} ({r['confidence']:.0%})" for r in results]
        picture = pictures.montage(images, captions, columns=5, scale=scale, colormap=colormap,
                                   font_size=2 * scale if scale >= 6 else None)
    else:
        picture = pictures.digit_image(images[0], scale, colormap)
    try:
        pictures.save_png(picture, path)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    _report(digit, path, picture.size, method, str(source), results, as_json)


def _report(digit, path, size, method, source, results, as_json):
    """The self-check on stdout, as sentences or one JSON object."""
    if as_json:
        head = {"output": str(path), "width": size[0], "height": size[1], "method": method,
                "weights": source}
        body = {"digit": "all", "results": results} if digit == "all" else results[0]
        click.echo(json.dumps({**head, **body}))
        return
    if digit != "all":
        r = results[0]
        click.echo(f"Wrote {path} ({size[0]}x{size[1]}): what the network thinks "
                   f"{_a(digit)} looks like.")
        click.echo(f"Fed back to the network, it is read as {_a(r['seen'])} with probability "
                   f"{r['confidence']:.1%}" + ("." if r["seen"] == digit else
                                               f" ({_a(digit)} gets {r['probability']:.1%})."))
        return
    click.echo(f"Wrote {path} ({size[0]}x{size[1]}): what the network thinks each digit "
               f"looks like. Fed back to the network, they are read as:")
    for r in results:
        mark = "" if r["seen"] == r["digit"] else f"   <- not {_a(r['digit'])}"
        click.echo(f"  {r['digit']} -> {r['seen']}  {r['confidence']:6.1%}{mark}")


def _a(digit):
    return f"an {digit}" if digit == 8 else f"a {digit}"
