"""Images of whole numbers for the tests and benchmarks/numbers.py: MNIST digits (the test
set's, never the training set's) or pen strokes put side by side, in the ways people write
them, and saved as real PNG and JPEG bytes. Each maker returns (bytes, boxes (k, 4) of the
digits' ink in the image's pixels as x0, y0, x1, y1)."""
import numpy as np
from PIL import Image, ImageDraw

from test_imaging import encode, pen_mask

LAYOUTS = ("separated", "touching", "slanted")


def iou(a, b):
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)


def crop_ink(digit):
    """A (28, 28) uint8 digit cropped to its ink -> (h, w) float in [0, 1]."""
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    return digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] / 255.0


def scaled(ink, height):
    """ink (h, w) resized (bilinear) to the given height, keeping its aspect ratio."""
    w = max(1, round(ink.shape[1] * height / ink.shape[0]))
    image = Image.fromarray(ink.astype(np.float32), "F").resize((w, height), Image.BILINEAR)
    return np.clip(np.asarray(image), 0, 1)


def sheared(ink, slant):
    """ink (h, w) leaning right by slant (x shifts by slant * height from bottom to top)."""
    h, w = ink.shape
    extra = int(np.ceil(abs(slant) * h))
    image = Image.fromarray(ink.astype(np.float32), "F")
    offset = -slant * h if slant > 0 else 0
    out = image.transform((w + extra, h), Image.AFFINE, (1, slant, offset, 0, 1, 0),
                          Image.BILINEAR)
    out = np.asarray(out)
    cols = np.flatnonzero(out.max(axis=0) > 0.05)
    return out[:, cols[0]:cols[-1] + 1]


def compose(pieces, rng, layout, height):
    """Digit inks (list of (h, w)) set on one line -> (ink (H, W), boxes (k, 4)).

    separated: clear gaps between the ink boxes; touching: each digit moved left until
    its ink meets its neighbour's, or overlaps it by up to a stroke; slanted: leaning
    digits whose boxes overlap while their ink stays apart."""
    margin = int(0.4 * height)
    tops = [margin + int(rng.uniform(-0.12, 0.12) * height) + (height - p.shape[0]) // 2
            for p in pieces]
    H = max(t + p.shape[0] for t, p in zip(tops, pieces)) + margin
    W = sum(p.shape[1] for p in pieces) + int(0.5 * height) * len(pieces) + 2 * margin
    ink, boxes, right = np.zeros((H, W)), [], np.full(H, -10 ** 6)   # right: last ink per row
    for k, (top, piece) in enumerate(zip(tops, pieces)):
        rows = slice(top, top + piece.shape[0])
        first = np.where(piece.max(axis=1) > 0.3, np.argmax(piece > 0.3, axis=1), 10 ** 6)
        if k == 0:
            x = margin
        else:
            room = np.min(first - right[rows])             # x + room: closest approach
            if layout == "touching":
                x = int(-room - rng.integers(0, 0.06 * height + 1))
            elif layout == "slanted":
                x = int(-room + rng.uniform(0.06, 0.15) * height)
            else:
                x = int(max(boxes[-1][2] + rng.uniform(0.08, 0.4) * height, -room + 2))
            x = max(x, boxes[-1][0] + 1)
        ink[rows, x:x + piece.shape[1]] = np.maximum(ink[rows, x:x + piece.shape[1]], piece)
        last = np.where(piece.max(axis=1) > 0.3,
                        piece.shape[1] - 1 - np.argmax(piece[:, ::-1] > 0.3, axis=1), -10 ** 6)
        right[rows] = np.maximum(right[rows], x + last)
        boxes.append((x, top, x + piece.shape[1], top + piece.shape[0]))
    width = max(b[2] for b in boxes) + margin
    return ink[:, :width], np.array(boxes)


def mnist_number(images, rng, layout="separated", height=None):
    """MNIST digits (k, 28, 28) uint8 written as one number: sizes varying by +-15% along
    the line, slanted for the slanted layout. -> (ink (H, W) in [0, 1], boxes (k, 4))."""
    height = height or int(rng.integers(60, 160))
    slant = rng.uniform(0.15, 0.3) if layout == "slanted" else 0.0
    pieces = []
    for digit in images:
        piece = scaled(crop_ink(digit), max(8, int(height * rng.uniform(0.85, 1.15))))
        pieces.append(sheared(piece, slant) if slant else piece)
    return compose(pieces, rng, layout, height)


def pen_number(digits, rng, height=None, layout="separated"):
    """Digits drawn with Pillow pen strokes, one after the other (with gaps, or touching)
    -> (ink, boxes)."""
    height = height or int(rng.integers(60, 160))
    pieces = []
    for d in digits:
        h = int(height * rng.uniform(0.85, 1.15))
        w = int(h * (rng.uniform(0.25, 0.4) if d == 1 else rng.uniform(0.55, 0.8)))
        pen = max(2, rng.uniform(0.06, 0.14) * h)
        pad = int(pen) + 2
        mask = pen_mask(int(d), (w + 2 * pad, h + 2 * pad), (pad, pad, w, h), pen,
                        angle=rng.uniform(-8, 8), wobble=0.03, rng=rng)
        pieces.append(crop_ink(np.asarray(mask)))
    return compose(pieces, rng, layout, height)


def on_paper(ink, rng, style="white", quality=85):
    """Bytes of an image showing ink (H, W) in [0, 1]: 'white' dark ink on white paper
    (PNG); 'ruled' a photo of ruled (or squared) notebook paper with faint blue lines and
    a red margin, uneven light, noise, saved as JPEG; 'dark' light chalk on a board (PNG)."""
    if style == "dark":
        return encode(Image.fromarray(np.uint8(np.round(255 * (0.15 + 0.75 * ink)))))
    if style == "white":
        return encode(Image.fromarray(np.uint8(np.round(255 * (1 - ink)))))
    H, W = ink.shape
    paper = np.ones((H, W, 3)) * np.array([0.97, 0.96, 0.92])
    spacing = int(rng.uniform(0.2, 0.35) * H)
    line = np.array([0.55, 0.7, 0.95])                      # faint blue
    for y in range(int(rng.integers(0, spacing)), H, spacing):
        paper[y:y + 2] = line
    if rng.random() < 0.5:                                  # squared paper
        for x in range(int(rng.integers(0, spacing)), W, spacing):
            paper[:, x:x + 2] = line
    margin = int(rng.uniform(0.02, 0.1) * W)
    paper[:, margin:margin + 2] = [0.95, 0.55, 0.55]         # the red margin line
    pen = np.array([0.1, 0.12, 0.3])                        # blue-black ballpoint
    rgb = paper * (1 - ink[..., None]) + pen * ink[..., None]
    y, x = np.mgrid[0:H, 0:W] / max(H, W)
    light = 1 - 0.35 * (x * rng.uniform(0.5, 1) + y * rng.uniform(0, 0.5))
    rgb = rgb * light[..., None] + rng.normal(0, 0.015, rgb.shape)
    image = Image.fromarray(np.uint8(np.round(255 * np.clip(rgb, 0, 1))), "RGB")
    return encode(image, "JPEG", quality=quality)


def ringed(ink, rng, gap=0.0):
    """ink (H, W) with a ring drawn round it by hand, as a teacher circles a number: an
    ellipse a little larger than the ink's box, pen 2-5 px, open by gap degrees where
    the pen started (a hand seldom closes it), tilted a little. -> (H', W') in [0, 1]."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    h, w = rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0]
    pad_y, pad_x = int(0.45 * h) + 10, int(0.2 * w + 0.3 * h) + 10
    out = np.zeros((h + 2 * pad_y + 20, w + 2 * pad_x + 20))
    out[pad_y + 10:pad_y + 10 + h, pad_x + 10:pad_x + 10 + w] = ink[rows[0]:rows[-1] + 1,
                                                                    cols[0]:cols[-1] + 1]
    ring = Image.new("L", (out.shape[1], out.shape[0]), 0)
    start = rng.uniform(0, 360)
    ImageDraw.Draw(ring).arc((10, 10, out.shape[1] - 10, out.shape[0] - 10), start,
                             start + 360 - gap, fill=255, width=int(rng.integers(2, 6)))
    ring = ring.rotate(rng.uniform(-5, 5), resample=Image.BILINEAR)
    return np.maximum(out, np.asarray(ring) / 255.0)
