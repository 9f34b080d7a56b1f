"""A person's image -> the form of the data set the network was trained on (Pillow + numpy).

    x = load_digit("seven.jpg")                      # (784,) float32, ink 1 on 0, like MNIST
    x = load_digit("shoe.jpg", style="fashion")      # like Fashion-MNIST (see the end)

MNIST digits are light ink on black, scaled so the longer side of the ink is 20 pixels
(anti-aliased) and moved so that their centre of mass is at (14, 14) of a 28x28 field
(form.py). A photo, a scan or a paint-program drawing is brought to that form in three
steps, the last of which does four things:

    read_grey   first frame, EXIF orientation, transparency over white, any mode -> grey
    ink_map     polarity from the border, uneven light removed, paper noise thresholded,
                the photo's margins (a table, dark corners) cleared
    to_mnist    crop to the ink (_crop), thin pen lines thickened to MNIST's stroke width
                (_thicken), longer side scaled to 20 px, centre of mass moved to
                (14, 14) of the 28x28 field (_centre)
"""
import io
import struct
import warnings
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError
from .form import BOX, CENTRE_OF_MASS as CENTRE, SIDE as FIELD  # MNIST's form
from .layout import remove_margins, remove_rules

WORK_SIDE = 1024     # larger images are reduced to this first: time and memory stay bounded
CANVAS = 80          # 4 x BOX: the scale at which stroke width is measured and adjusted
STROKE = 7.5         # median MNIST stroke width at CANVAS scale (2 area / perimeter)
MIN_CONTRAST = 0.1   # ink must differ from the paper by this much (of black to white)
# What Pillow's decoders raise on damaged files (UnidentifiedImageError is an OSError).
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError,
                 KeyError, TypeError, ZeroDivisionError, MemoryError, Image.DecompressionBombError)


def load_digit(source, name=None, style="mnist"):
    """An image file (path) or its bytes -> network input (784,) float32 in [0, 1], in the
    form of a data set's images (datasets.Dataset.style): "mnist", a digit, or "fashion",
    a product photo.

    Raises ImageError, one sentence naming the file, when it is not a readable image
    or holds no ink."""
    try:
        grey, size = _read(source)
        return STYLES[style](grey, _reduced(grey, size)).reshape(FIELD * FIELD)
    except ImageError as exc:
        raise ImageError(f"{source_name(source, name)}: {exc}") from None


def digit_of(ink, source=None, name=None):
    """The MNIST form (784,) of an ink map (H, W) from load_ink, as load_digit makes it
    from the same image; ImageError naming the image when it holds no ink."""
    try:
        return mnist_form(ink).reshape(FIELD * FIELD)
    except ImageError as exc:
        raise ImageError(f"{source_name(source, name)}: {exc}") from None


def mnist_form(ink):
    """An ink map (H, W) -> the (28, 28) MNIST form of the digit in it: ruled or squared
    paper's lines cleared when the image shows two or more (layout.remove_rules; a
    digit on ruled paper otherwise shrinks to a mark in a striped field), then to_mnist.
    An image under PAGE pixels a side is a digit cropped close, not a page: there a
    stroke of the digit can pass for a rule (68 of MNIST's 10,000 test digits, as 28x28
    images, showed two such bands)."""
    return to_mnist(remove_rules(ink, least=2) if min(ink.shape) >= PAGE else ink)


PAGE = 100   # pixels: the least side of an image that may show ruled paper (mnist_form)


def load_ink(source, name=None):
    """An image file (path) or its bytes -> (ink (H, W) float32 in [0, 1], 0 on the paper,
    size (W, H) of the upright original in pixels): the ink map every reader starts from
    (one digit, or a line of them). H, W <= WORK_SIDE; the original is size / (W, H) larger.

    Raises ImageError, one sentence naming the file, when it is not a readable image
    or holds no ink."""
    try:
        grey, size = _read(source)
        return ink_map(grey, _reduced(grey, size)), size
    except ImageError as exc:
        raise ImageError(f"{source_name(source, name)}: {exc}") from None


def _reduced(grey, size):
    """How many of the original's pixels each pixel of grey (H, W) averages along a
    side: 1 up to WORK_SIDE, 4 for a 4000x3000 photo."""
    return max(1.0, max(size) / max(grey.shape))


def source_name(source, name=None):
    """How an image is named in messages: the name given, else its path, else <bytes>."""
    return name or (str(source) if isinstance(source, (str, Path)) else "<bytes>")


# -- reading ---------------------------------------------------------------------------

def read_grey(source):
    """A path or bytes -> grey levels (H, W) float32, 0 black .. 1 white, at most
    WORK_SIDE a side, transparency over white (over black for light ink)."""
    return _read(source)[0]


def _read(source):
    """read_grey, and the size (W, H) of the upright original image in pixels."""
    image, size = _decode(source)
    grey = np.clip(np.asarray(image, dtype=np.float32) / (1 if image.mode == "F" else 255), 0, 1)
    if image.mode != "LA":
        return grey, size
    grey, alpha = grey[..., 0], grey[..., 1]
    over_white = alpha * grey + (1 - alpha)
    light_ink = np.ptp(over_white) < MIN_CONTRAST <= np.ptp(alpha)
    return (alpha * grey if light_ink else over_white), size


def _decode(source):
    """The image's first frame, upright (EXIF), in mode L, LA (if it has transparency) or
    F (16-bit and float images, scaled to [0, 1]), reduced to at most WORK_SIDE a side;
    and the upright original's size (W, H)."""
    with warnings.catch_warnings():
        # Pillow only warns between 1x and 2x its pixel limit; refuse those too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _open_source(source) as fp:
                with Image.open(fp) as probe:
                    probe.verify()     # PNG: every chunk's checksum, which decoding skips
                fp.seek(0)
                with Image.open(fp) as image:
                    size = _upright_size(image)
                    image.draft(image.mode, (WORK_SIDE, WORK_SIDE))  # JPEG: decode at 1/2..1/8
                    image.load()                                      # GIF: the first frame
                    grey = _grey_mode(ImageOps.exif_transpose(image))
                    grey.thumbnail((WORK_SIDE, WORK_SIDE), Image.BOX)   # area average
                    return grey, size
        except UnidentifiedImageError:
            raise ImageError("not an image file that Pillow can read") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"the image declares more than {Image.MAX_IMAGE_PIXELS:,} "
                             f"pixels, refused as a possible decompression bomb") from None
        except ImageError:
            raise
        except DECODE_ERRORS as exc:
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ImageError(f"the image data is damaged or cut short ({why})") from None


def _upright_size(image):
    """(W, H) of an opened image as shown: EXIF orientations 5 to 8 turn it on its side."""
    w, h = image.size
    return (h, w) if image.getexif().get(0x0112, 1) in (5, 6, 7, 8) else (w, h)


def _open_source(source):
    """A file object for Image.open; empty, missing and folder sources fail here."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):                 # stdin or a request with nothing in it
            raise ImageError("empty (0 bytes came in), not an image")
        return io.BytesIO(source)
    path = Path(source)
    if path.is_dir():
        raise ImageError("is a folder, not an image")
    try:
        if path.stat().st_size == 0:
            raise ImageError("the file is empty (0 bytes), not an image")
        return open(path, "rb")
    except OSError as exc:
        raise ImageError(f"cannot be read ({exc.strerror or exc})") from None


def _grey_mode(image):
    """Any Pillow mode (palette, RGB, CMYK, 1-bit, 16-bit, ...) -> L, LA or F."""
    if image.mode.startswith("I") or image.mode == "F":     # 16-bit (or float) levels
        scale = 1 if image.mode == "F" else 1 / 65535
        return image.convert("F").point(lambda v: v * scale)
    has_alpha = "A" in image.mode or "a" in image.mode or "transparency" in image.info
    try:
        return image.convert("RGBA").convert("LA") if has_alpha else image.convert("L")
    except ValueError:
        raise ImageError(f"its colour mode {image.mode} is not supported") from None


def read_rgb(source):
    """A path or bytes -> the image upright (EXIF) as a Pillow RGB image, at full size
    (for drawing on it; transparency over white)."""
    try:
        with _open_source(source) as fp, Image.open(fp) as image:
            image = ImageOps.exif_transpose(image)
            if "A" in image.mode or "transparency" in image.info:
                image = image.convert("RGBA")
                return Image.alpha_composite(Image.new("RGBA", image.size, "white"),
                                             image).convert("RGB")
            return image.convert("RGB")
    except DECODE_ERRORS as exc:
        raise ImageError(f"{source_name(source)}: the image cannot be read again "
                         f"({type(exc).__name__})") from None


# -- finding the ink -------------------------------------------------------------------

def ink_map(grey, reduced=1.0):
    """Grey levels (H, W), 1 = white -> ink (H, W) float32 in [0, 1], 0 on the paper;
    reduced: how many pixels of the original each one averages (_reduced).

    Raises ImageError when nothing stands out from the paper (a blank image)."""
    x, paper = _bright(grey, reduced)
    r = x - _background(x, paper)            # uneven light removed: paper ~ 0
    peak = float(r.max())
    quiet = np.abs(r[r < 0.5 * peak])    # the paper's noise: pixels well below the ink
    sigma = 1.4826 * float(np.median(quiet)) if quiet.size else 0.0
    if peak < MIN_CONTRAST:
        raise ImageError(f"no digit found: the image is blank, or its ink too faint (the "
                         f"darkest mark differs from the paper by {peak:.0%} of black to "
                         f"white; it takes {MIN_CONTRAST:.0%})")
    if peak < 8 * sigma:
        raise ImageError("no digit found: the image is blank (no ink stands out from the "
                         "paper's grain and noise)")
    low = max(5 * sigma, 0.15 * peak)
    full = max(float(np.percentile(r[r > low], 75)), low + 1e-3)  # a stroke's core
    return remove_margins(np.clip((r - low) / (full - low), 0, 1).astype(np.float32))


def _bright(grey, reduced=1.0):
    """Grey levels (H, W), 1 = white -> (x, paper): x (H, W) with JPEG and paper grain
    averaged out and, if need be, flipped so that the ink (or object) is brighter than
    the paper; paper, the paper's level in x."""
    # JPEG and paper grain average out; a long strip (a line of digits) is blurred by its
    # height's measure, not its length's, or its thin strokes would fade away. A large
    # photo reduced to WORK_SIDE was averaged `reduced` pixels a side already: blurred
    # as much again, a number written small in it faded to specks (60 pixels tall in a
    # 2400x1800 photo: "4721" read as 72, a 3 as no digit at all).
    x = _box_blur(grey, round(min(max(grey.shape), 4 * min(grey.shape)) / 400 / reduced))
    paper = _paper_level(x)
    if paper - x.min() >= x.max() - paper:   # the ink is the extreme further from the paper
        x, paper = 1 - x, 1 - paper          # dark ink: flip, so that ink is bright
    return x, paper


def _frame(x):
    """The pixels of a thin frame around x (H, W), where the paper shows: (n,)."""
    m = max(1, min(x.shape) // 50)
    return np.concatenate([x[:m].ravel(), x[-m:].ravel(), x[:, :m].ravel(), x[:, -m:].ravel()])


def _paper_level(x):
    """The paper's grey level: the median of a thin frame around x (H, W), where the
    paper shows, unless a quarter of the frame or more is at the level of the whole
    image's median, far from it (PAPER_GAP): then a table or a shadow along the edges
    fills most of the frame, and the paper is what fills most of the image."""
    frame = _frame(x)
    paper = float(np.median(frame))
    most = float(np.median(x[::4, ::4]))
    if abs(most - paper) > PAPER_GAP and np.mean(np.abs(frame - most) < PAPER_GAP / 2) >= 0.25:
        return most
    return paper


PAPER_GAP = 0.25   # of black to white


def _background(x, level, rounds=4):
    """The paper under bright ink (H, W): a quadratic surface in the pixel coordinates,
    fitted on a 64 px copy (at least 16 px across) to the pixels that are not ink,
    starting from those nearer the paper's level than the brightest ink."""
    scale = min(1.0, max(64 / max(x.shape), 16 / min(x.shape)))   # a strip keeps 16 rows
    small = _resize(x, scale) if scale < 1 else x
    terms = np.stack(np.broadcast_arrays(*_quadratic(*small.shape)), -1).reshape(-1, 6)
    s = small.ravel().astype(np.float64)
    paper = s <= max((level + s.max()) / 2, s.min())
    for _ in range(rounds):
        t = terms[paper]                               # least squares: (6, 6) normal equations
        coef = np.linalg.solve(t.T @ t + 1e-9 * np.eye(6), t.T @ s[paper])
        resid = s - terms @ coef
        spread = 1.4826 * np.median(np.abs(resid[paper]))
        if np.count_nonzero(resid <= 2.5 * spread + 1e-3) < 6:   # too few to refit on
            break
        paper = resid <= 2.5 * spread + 1e-3
    return sum(c * term for c, term in zip(coef.astype(np.float32), _quadratic(*x.shape)))


def _quadratic(h, w):
    """The terms 1, u, v, u^2, uv, v^2 of an (h, w) grid, u (1, w) across and v (h, 1)
    down, both from -1 to 1."""
    u = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    v = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    return np.float32(1), u, v, u * u, u * v, v * v


def _box_blur(x, radius):
    """Mean over a (2 radius + 1)^2 window, edges repeated; radius 0 returns x. (H, W)."""
    if radius < 1:
        return x
    k = 2 * radius + 1
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius + 1, radius)
        c = np.cumsum(np.pad(x, pad, mode="edge"), axis=axis, dtype=np.float64)
        n = c.shape[axis]   # window sums from running sums: c[i + k] - c[i]
        x = (np.take(c, np.arange(k, n), axis) - np.take(c, np.arange(n - k), axis)) / k
    return x.astype(np.float32)


# -- the MNIST form --------------------------------------------------------------------

def to_mnist(ink):
    """Ink (H, W) in [0, 1] -> (28, 28) float32: the ink's bounding box scaled so its longer
    side is 20 px, strokes at least MNIST's width, centre of mass at the field's centre."""
    crop = _crop(ink)
    canvas = _resize(crop, CANVAS / max(crop.shape))
    # A pen line thinner than a canvas pixel is averaged to grey: bring its core back to 1.
    core = _percentile_90(canvas[canvas > 0.05 * canvas.max()])
    canvas = _thicken(np.clip(canvas / core, 0, 1))
    digit = np.clip(_resize(canvas, BOX / max(canvas.shape)), 0, 1)
    return _centre(digit)


def _percentile_90(values):
    """np.percentile(values, 90) for float32 values (n,), the same number, four times as
    fast: the two values around the 90% point found by a partial sort, and numpy's own
    linear interpolation between them (a read scores some 150 candidate pieces)."""
    n = len(values)
    if n < 2:
        return np.percentile(values, 90)
    at = 0.9 * (n - 1)
    low = int(at)
    high, t = min(low + 1, n - 1), at - low
    a, b = np.partition(values, [low, high])[[low, high]]
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def _crop(ink, values=None):
    """The ink's bounding box (h, w), leaving out specks (dust, a stray dot) that lie apart
    from the digit: rows, then columns, then rows again. Cut from `values` (the same
    shape as ink) when given."""
    gap = max(1, round(0.01 * max(ink.shape)))
    top, bottom = _extent(ink.sum(axis=1), gap)
    left, right = _extent(ink[top:bottom].sum(axis=0), gap)
    top, bottom = _extent(ink[:, left:right].sum(axis=1), gap)
    return (ink if values is None else values)[top:bottom, left:right]


def _extent(profile, gap, share=0.1):
    """(start, stop) of the ink along one axis, given its profile (n,): runs of ink apart
    from the rest by more than gap pixels and holding less than share of the ink are
    left out at either end."""
    on = np.flatnonzero(profile)
    cuts = np.flatnonzero(np.diff(on) > gap)
    starts = on[np.concatenate(([0], cuts + 1))]
    ends = on[np.concatenate((cuts, [len(on) - 1]))] + 1
    mass = np.add.reduceat(profile, starts)    # (runs,): nothing lies between the runs
    big = np.flatnonzero(mass >= min(share * mass.sum(), mass.max()))
    return starts[big[0]], ends[big[-1]]


def _resize(a, scale):
    """(H, W) float array scaled by `scale` (area average when shrinking, else bilinear)."""
    size = (max(1, round(a.shape[1] * scale)), max(1, round(a.shape[0] * scale)))
    method = Image.BOX if scale < 1 else Image.BILINEAR
    return np.asarray(Image.fromarray(a.astype(np.float32), "F").resize(size, method))


def stroke_width(canvas):
    """Mean stroke width in pixels of the ink > 0.5: 2 area / perimeter (a long stroke of
    width w and length L has area wL and perimeter about 2L)."""
    mask = np.pad(canvas > 0.5, 1)
    perimeter = np.count_nonzero(np.diff(mask, axis=0)) + np.count_nonzero(np.diff(mask, axis=1))
    return 2 * np.count_nonzero(mask) / max(perimeter, 1)


def _thicken(canvas):
    """Widen strokes thinner than MNIST's (a pen line on a large page) with a max filter;
    strokes already as wide or wider are left alone."""
    missing = STROKE - stroke_width(canvas)
    if missing < 2:
        return canvas
    k = 2 * int(round(missing / 2)) + 1          # odd window: grows each side by k // 2
    wide = np.pad(canvas.astype(np.float32), 2 * (k // 2))  # room to grow, and the window's
    wide = sliding_window_view(wide, k, axis=0).max(axis=-1)  # the max down, then across
    return sliding_window_view(wide, k, axis=1).max(axis=-1)


def _centre(digit):
    """Place digit (h, w), h, w <= 20, in a 28x28 field with its centre of mass at the
    field's centre (whole-pixel shifts, as MNIST did), never cutting it off."""
    h, w = digit.shape
    mass = digit.sum()
    cy = (digit.sum(axis=1) @ np.arange(h)) / mass
    cx = (digit.sum(axis=0) @ np.arange(w)) / mass
    top = int(np.clip(round(CENTRE - cy), 0, FIELD - h))
    left = int(np.clip(round(CENTRE - cx), 0, FIELD - w))
    return _field(digit, top, left)


def _field(image, top, left):
    """image (h, w) at row top, column left of a black 28x28 field (float32)."""
    h, w = image.shape
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top:top + h, left:left + w] = image
    return field


# -- Fashion-MNIST's form ----------------------------------------------------------------
# Fashion-MNIST was made from product photos on white (Xiao et al. 2017, section 2): trim
# to the object, resize the longer side to 28, sharpen, put in the middle of the 28x28
# field, negate, 8-bit grey. The object's grey levels are kept (a T-shirt's print, a
# shoe's sole), not turned into ink, and its brightest pixel is white: 95% of the test
# images reach 254 or 255. Measured on the test images: an object h < 28 pixels high
# starts at row (29 - h) // 2, the half pixel left over going below it.
TRIM = 0.1   # the bounding box holds what is brighter than this share of the brightest


def object_map(grey, reduced=1.0):
    """Grey levels (H, W), 1 = white -> the object (H, W) float32, bright on a black
    background at 0 (a photo's light background negated, as Fashion-MNIST did), its grey
    levels kept; the background's noise is set to 0. The background is plain: its level
    and noise are those of the image's border (a large object defeats ink_map's fit of
    uneven light, made for thin strokes)."""
    x, paper = _bright(grey, reduced)
    r = x - paper
    sigma = 1.4826 * float(np.median(np.abs(_frame(x) - paper)))
    peak = float(r.max())
    if peak < max(MIN_CONTRAST, 8 * sigma):
        raise ImageError("no object found: the image is blank (nothing stands out from "
                         "the background)")
    return np.where(r > max(5 * sigma, 0.02 * peak), r, 0).astype(np.float32)


def to_fashion(obj):
    """An object (H, W) -> (28, 28) float32 in [0, 1]: trimmed to its bounding box, the
    longer side resized to 28 px, centred, its brightest pixel 1. The box holds what is
    brighter than TRIM of the brightest: a soft edge or shadow is kept, but does not
    stretch the box (round trips of the test images, upscaled, JPEG: 0.043 mean error
    per pixel against 0.059 for a box around everything)."""
    crop = _crop(np.where(obj > TRIM * obj.max(), obj, 0), obj)
    small = np.clip(_resize(crop, FIELD / max(crop.shape)), 0, None)
    h, w = small.shape
    return _field(small / max(float(small.max()), 1e-6), (FIELD + 1 - h) // 2,
                  (FIELD + 1 - w) // 2)


STYLES = {"mnist": lambda grey, reduced=1.0: mnist_form(ink_map(grey, reduced)),  # Dataset.style
          "fashion": lambda grey, reduced=1.0: to_fashion(object_map(grey, reduced))}
