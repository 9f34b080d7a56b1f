"""Images that hold no digit, for the tests and benchmarks/numbers.py: printed letters and
symbols, shapes, scribbles and textures, as real PNG bytes (dark ink on white paper).

Two families that never share a style: `DEV` (DejaVu fonts, stars, houses, ...), the only
ones looked at while choosing and fitting the "not a digit" method, and `HELD_OUT` (other
fonts, other shapes, other scribbles), measured once at the end."""
import glob

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from test_imaging import encode

# Glyphs that are, or are often written as, digits are left out: O o Q D (0), I l i j |
# (1), ( ) [ ] { } / \\ (1), Z z (2), S s (5), b G (6), T (7), B & (8), g q a (9), and
# marks too small to be anything (. , ' ` - _ ~ " : ;). No ring either (a 0).
GLYPHS = ("ACEFHKLMNPRUVWXYcdefhkmnprtuvwxy%#@$*+=?!<>^"
          + "\u00a7\u00b6\u00a9\u00ae\u20ac\u00a3\u00a5\u03a9\u03a3\u03c0\u2211\u221e\u2660"
          "\u2663\u2665\u2605\u263a\u266a")


def fonts(family):
    """Font files: 'dev' the DejaVu faces; 'held-out' every other installed face."""
    found = sorted(glob.glob("/usr/share/fonts/**/*.[ot]tf", recursive=True))
    dejavu = [f for f in found if "DejaVu" in f]
    return dejavu if family == "dev" else [f for f in found if "DejaVu" not in f]


def glyph(char, font_path, rng, size=200):
    """One printed character, at a random size, place and slight rotation."""
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    points = int(rng.uniform(0.35, 0.7) * size)
    try:
        font = ImageFont.truetype(font_path, points)
    except OSError:
        font = ImageFont.load_default()
    box = draw.textbbox((0, 0), char, font=font)
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None                                          # the font has no such glyph
    x = rng.uniform(0, max(1, size - (box[2] - box[0]))) - box[0]
    y = rng.uniform(0, max(1, size - (box[3] - box[1]))) - box[1]
    draw.text((x, y), char, fill=255, font=font)
    return image.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR)


def polygon_shape(rng, kind, size=200):
    """A drawn shape: star, house, triangle, square, circle, cross, arrow, heart,
    spiral, smiley, lightning (outline or filled, pen of random width)."""
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    c, r = size / 2 + rng.uniform(-20, 20, 2), rng.uniform(0.25, 0.45) * size
    pen = int(rng.uniform(0.02, 0.08) * size) + 1
    if kind == "star":
        t = np.linspace(0, 2 * np.pi, 11)[:-1] + rng.uniform(0, np.pi)
        k = np.where(np.arange(10) % 2 == 0, 1.0, 0.4)
        pts = list(zip(c[0] + r * k * np.cos(t), c[1] + r * k * np.sin(t)))
    elif kind in ("triangle", "square"):
        n = 3 if kind == "triangle" else 4
        a = np.linspace(0, 2 * np.pi, n + 1)[:-1] + rng.uniform(0, np.pi)
        pts = [(c[0] + r * np.cos(v), c[1] + r * np.sin(v)) for v in a]
    elif kind == "house":
        pts = [(c[0] - r, c[1] + r), (c[0] - r, c[1]), (c[0], c[1] - r), (c[0] + r, c[1]),
               (c[0] + r, c[1] + r)]
    elif kind == "cross":
        draw.line([(c[0] - r, c[1] - r), (c[0] + r, c[1] + r)], fill=255, width=pen)
        pts = [(c[0] + r, c[1] - r), (c[0] - r, c[1] + r)]
        draw.line(pts, fill=255, width=pen)
        return image
    elif kind == "heart":
        a = np.linspace(0, 2 * np.pi, 60)
        hx = 16 * np.sin(a) ** 3
        hy = -(13 * np.cos(a) - 5 * np.cos(2 * a) - 2 * np.cos(3 * a) - np.cos(4 * a))
        pts = list(zip(c[0] + r * hx / 17, c[1] + r * hy / 17))
    elif kind == "spiral":
        a = np.linspace(0, rng.uniform(3, 5) * np.pi, 80)
        pts = list(zip(c[0] + r * a / a[-1] * np.cos(a), c[1] + r * a / a[-1] * np.sin(a)))
        draw.line(pts, fill=255, width=pen, joint="curve")
        return image
    elif kind == "smiley":
        draw.ellipse((c[0] - r, c[1] - r, c[0] + r, c[1] + r), outline=255, width=pen)
        for dx in (-0.35, 0.35):
            draw.ellipse((c[0] + dx * r - pen, c[1] - 0.3 * r - pen, c[0] + dx * r + pen,
                          c[1] - 0.3 * r + pen), fill=255)
        draw.arc((c[0] - 0.5 * r, c[1] - 0.3 * r, c[0] + 0.5 * r, c[1] + 0.55 * r), 20, 160,
                 fill=255, width=pen)
        return image
    elif kind == "arrow":
        pts = [(c[0] - r, c[1] - 0.15 * r), (c[0] + 0.3 * r, c[1] - 0.15 * r),
               (c[0] + 0.3 * r, c[1] - 0.5 * r), (c[0] + r, c[1]), (c[0] + 0.3 * r, c[1] + 0.5 * r),
               (c[0] + 0.3 * r, c[1] + 0.15 * r), (c[0] - r, c[1] + 0.15 * r)]
    elif kind == "lightning":
        zigzag = [(-0.2, -1), (0.4, -1), (0, -0.1), (0.5, -0.1), (-0.4, 1), (-0.1, 0.1),
                  (-0.5, 0.1)]
        pts = [(c[0] + dx * r, c[1] + dy * r) for dx, dy in zigzag]
    else:
        raise ValueError(f"unknown shape {kind!r}")
    if rng.random() < 0.3:
        draw.polygon(pts, fill=255)
    else:
        draw.line(pts + pts[:1], fill=255, width=pen, joint="curve")
    return image


def scribble(rng, size=200, smooth=True):
    """A random pen scribble: a smooth curve through 4 to 9 random points."""
    image = Image.new("L", (size, size), 0)
    n = int(rng.integers(4, 10))
    pts = rng.uniform(0.1, 0.9, (n, 2)) * size
    if smooth:
        t = np.linspace(0, n - 1, 20 * n)
        pts = np.stack([np.interp(t, np.arange(n), pts[:, k]) for k in (0, 1)], axis=1)
        kernel = np.ones(9) / 9
        pts = np.stack([np.convolve(np.pad(pts[:, k], 4, mode="edge"), kernel, "valid")
                        for k in (0, 1)], axis=1)
    ImageDraw.Draw(image).line([tuple(p) for p in pts], fill=255,
                               width=int(rng.uniform(0.02, 0.07) * size) + 1, joint="curve")
    return image


def texture(rng, size=200, kind=None):
    """A patch of texture: noise blobs, hatching, a checkerboard or dots."""
    kind = kind or rng.choice(["blobs", "hatching", "checker", "dots"])
    y, x = np.mgrid[0:size, 0:size] / size
    if kind == "blobs":
        noise = rng.random((8, 8))
        v = np.asarray(Image.fromarray(noise.astype(np.float32), "F").resize(
            (size, size), Image.BICUBIC)) > 0.6
    elif kind == "hatching":
        a = rng.uniform(0, np.pi)
        v = np.sin((x * np.cos(a) + y * np.sin(a)) * rng.uniform(20, 60)) > 0.6
    elif kind == "checker":
        k = int(rng.integers(3, 8))
        v = ((x * k).astype(int) + (y * k).astype(int)) % 2 == 0
    else:
        v = rng.random((size, size)) < 0.02
        v = np.asarray(Image.fromarray(v.astype(np.uint8) * 255).filter(
            __import__("PIL.ImageFilter", fromlist=["x"]).MaxFilter(5))) > 0
    frame = (x > 0.15) & (x < 0.85) & (y > 0.15) & (y < 0.85)
    return Image.fromarray(np.uint8(255 * (v & frame)))


DEV_SHAPES = ("star", "house", "triangle", "square", "cross")
HELD_OUT_SHAPES = ("heart", "spiral", "smiley", "arrow", "lightning")


def nondigits(family, n, seed):
    """n images (PNG bytes, kind) of the family 'dev' or 'held-out': a mix of glyphs in
    that family's fonts, its shapes, scribbles and textures."""
    rng = np.random.default_rng(seed)
    faces = fonts(family)
    shapes = DEV_SHAPES if family == "dev" else HELD_OUT_SHAPES
    out = []
    while len(out) < n:
        kind = ["glyph", "glyph", "shape", "scribble", "texture"][len(out) % 5]
        if kind == "glyph":
            image = glyph(rng.choice(list(GLYPHS)), rng.choice(faces), rng)
        elif kind == "shape":
            image = polygon_shape(rng, rng.choice(shapes))
        elif kind == "scribble":
            image = scribble(rng, smooth=family == "dev")
        else:
            image = texture(rng, kind=rng.choice(["blobs", "hatching"] if family == "dev"
                                                 else ["checker", "dots"]))
        if image is not None and np.asarray(image).max() > 0:
            out.append((encode(Image.fromarray(255 - np.asarray(image))), kind))
    return out
