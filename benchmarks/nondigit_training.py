"""The non-digits the "not a digit" detector trains on, drawn procedurally (no data file).

    images = training_nondigits(20000, seed=2)     # (N, 784) float32 MNIST-form inputs

Kinds (the `train` family; none of them is a held-out kind of tests/nondigit_images.py,
whose other fonts, hearts, spirals, smileys, arrows, lightning bolts, jagged scribbles,
checkerboards and dots are never trained on):
    glyph        letters and symbols in the DejaVu fonts and Pillow's built-in font, under
                 heavy augmentation: pen thickness, slant, elastic warp, partial crops,
                 two or three side by side
    stroke       two to four pen strokes: lines and arcs
    polygon      irregular polygons and stars, outlined or filled
    silhouette   filled smooth blobs and unions of ellipses and boxes, shaded and textured
                 (things photographed against paper)
    texture      noise blobs, hatching, stripes, gradients
    scribble     smooth random curves
And one kind of digit beside MNIST's (straight_ones): 1s drawn as ruler-straight strokes.
Each is drawn as a picture, dark on white, and read through imaging.ink_map and
to_mnist, as a person's image is (less the file's encoding).
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from mnistnn import imaging
from nondigit_images import GLYPHS, fonts, polygon_shape, scribble, texture

SIZE = 160
MORE_GLYPHS = "abefhkmnrtuvwxyzAEFHKLMNPRUVWXYJ¿¡&%#@*+=?!<>^~{}§¶©®€£¥ΩΣπ∑∞♠♣★☺♪ΔΛΞΦΨ"


def training_nondigits(n, seed=2):
    """n non-digit MNIST-form inputs (n, 784) float32 from the train family."""
    rng = np.random.default_rng(seed)
    makers = [glyph_image, glyph_image, stroke_image, polygon_image, silhouette_image,
              silhouette_image, texture_image, scribble_image]
    return _forms(lambda k: makers[k % len(makers)](rng), n)


def straight_ones(n, seed=5):
    """n MNIST-form inputs (n, 784) float32 of 1s drawn as straight strokes, which the
    detector learns as digits: a stem upright or leaning a little, sometimes a flag at
    its top and a foot at its bottom. A ruler-straight stroke is rare among MNIST's
    handwritten 1s and common among the non-digits (a letter's bar cut off by a crop, two
    strokes drawn over each other), and the detector trained without these turned away a
    1 drawn perfectly upright."""
    rng = np.random.default_rng(seed)
    return _forms(lambda k: straight_one_image(rng), n)


def straight_one_image(rng):
    """One 1: a straight stem of any pen width, a flag with probability 0.5, and under a
    flag a foot with probability 0.4 (a foot alone is the symbol for perpendicular)."""
    image = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(image)
    pen = int(rng.uniform(0.02, 0.12) * SIZE) + 1
    top, bottom = rng.uniform(0.08, 0.25) * SIZE, rng.uniform(0.75, 0.92) * SIZE
    lean = rng.uniform(-0.12, 0.12) * (bottom - top) * (rng.random() < 0.7)
    x = SIZE / 2 + rng.uniform(-0.1, 0.1) * SIZE
    head, foot = (x + lean / 2, top), (x - lean / 2, bottom)
    draw.line([head, foot], fill=255, width=pen)
    tall = bottom - top
    flag = rng.random() < 0.5
    if flag:                                    # the flag, down to the left
        length, angle = rng.uniform(0.12, 0.35) * tall, np.radians(rng.uniform(15, 65))
        draw.line([head, (head[0] - length * np.cos(angle), top + length * np.sin(angle))],
                  fill=255, width=pen)
    if flag and rng.random() < 0.4:             # the foot, across the stem's end
        half = rng.uniform(0.12, 0.3) * tall
        draw.line([(foot[0] - half, bottom), (foot[0] + half, bottom)], fill=255, width=pen)
    return image


def _forms(make, n):
    """n pictures make(k) (white ink on black) as MNIST-form inputs (n, 784) float32, read
    dark on white through imaging.ink_map and to_mnist, as a person's image is."""
    out = []
    while len(out) < n:
        mask = np.asarray(make(len(out)))
        if mask.max() < 128:
            continue
        try:
            grey = 1 - mask.astype(np.float32) / 255              # dark ink on white
            out.append(imaging.to_mnist(imaging.ink_map(grey)).reshape(-1))
        except imaging.ImageError:
            continue
    return np.stack(out).astype(np.float32)


def glyph_image(rng):
    """One to three characters, DejaVu or Pillow's own font, thickened or thinned, slanted,
    warped, sometimes cut by the image's edge."""
    image = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(image)
    count = 1 if rng.random() < 0.75 else int(rng.integers(2, 4))
    points = int(rng.uniform(0.35, 0.75) * SIZE / (1 + 0.4 * (count - 1)))
    faces = fonts("dev")
    if rng.random() < 0.25:
        font = ImageFont.load_default(size=points)
    else:
        font = ImageFont.truetype(str(rng.choice(faces)), points)
    text = "".join(rng.choice(list(GLYPHS + MORE_GLYPHS), count))
    box = draw.textbbox((0, 0), text, font=font)
    if box[2] - box[0] < 2:
        return image
    draw.text(((SIZE - box[2] - box[0]) / 2, (SIZE - box[3] - box[1]) / 2), text, fill=255,
              font=font)
    return augment(image, rng)


def augment(image, rng):
    """Pen thickness, slant, rotation, elastic warp, and sometimes a crop of part of it."""
    k = int(rng.choice([1, 1, 3, 3, 5]))
    if k > 1:
        image = image.filter(ImageFilter.MaxFilter(k) if rng.random() < 0.7
                             else ImageFilter.MinFilter(3))
    shear = rng.uniform(-0.5, 0.5)
    image = image.transform(image.size, Image.AFFINE, (1, shear, -shear * SIZE / 2, 0, 1, 0),
                            Image.BILINEAR).rotate(rng.uniform(-25, 25), Image.BILINEAR)
    if rng.random() < 0.5:
        image = elastic(image, rng)
    if rng.random() < 0.25:                    # a part of it, as a bad crop would give
        a = np.asarray(image).copy()
        side = int(rng.integers(4))
        cut = int(rng.uniform(0.3, 0.5) * SIZE)
        [a[:cut], a[-cut:], a[:, :cut], a[:, -cut:]][side][...] = 0
        image = Image.fromarray(a)
    return image


def elastic(image, rng, alpha=None, sigma=8):
    """A smooth random displacement of every pixel (Simard's elastic distortion)."""
    alpha = alpha or rng.uniform(2, 6)
    field = rng.normal(0, 1, (2, SIZE // sigma + 2, SIZE // sigma + 2)).astype(np.float32)
    dx, dy = (np.asarray(Image.fromarray(f).resize((SIZE, SIZE), Image.BICUBIC)) * alpha
              for f in field)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    src = np.asarray(image, dtype=np.float32)
    xi = np.clip(np.round(x + dx), 0, SIZE - 1).astype(int)
    yi = np.clip(np.round(y + dy), 0, SIZE - 1).astype(int)
    return Image.fromarray(src[yi, xi].astype(np.uint8))


def stroke_image(rng):
    """Two to four pen strokes: straight lines and arcs (one alone could be a 1)."""
    image = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(image)
    pen = int(rng.uniform(0.02, 0.1) * SIZE) + 1
    for _ in range(int(rng.integers(2, 5))):
        a, b = rng.uniform(0.1, 0.9, (2, 2)) * SIZE
        if rng.random() < 0.5:
            draw.line([tuple(a), tuple(b)], fill=255, width=pen)
        else:
            x0, y0 = np.minimum(a, b)
            x1, y1 = np.maximum(a, b) + 10
            start = rng.uniform(0, 360)
            draw.arc((x0, y0, x1, y1), start, start + rng.uniform(60, 200), fill=255, width=pen)
    return image


def polygon_image(rng):
    """An irregular polygon of 3 to 9 corners, or a star, a house, a cross (outlined or
    filled)."""
    if rng.random() < 0.3:
        return augment(polygon_shape(rng, rng.choice(["star", "house", "triangle", "square",
                                                      "cross"]), size=SIZE), rng)
    image = Image.new("L", (SIZE, SIZE), 0)
    filled = rng.random() < 0.5
    n = int(rng.integers(3, 10 if filled else 6))    # a many-cornered outline is a 0
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(0.15, 0.45, n) * SIZE
    pts = [(SIZE / 2 + r[k] * np.cos(t[k]), SIZE / 2 + r[k] * np.sin(t[k])) for k in range(n)]
    draw = ImageDraw.Draw(image)
    if filled:
        draw.polygon(pts, fill=255)
    else:
        draw.line(pts + pts[:1], fill=255, width=int(rng.uniform(0.02, 0.08) * SIZE) + 1)
    return image


def silhouette_image(rng):
    """A filled thing: a smooth blob or a union of ellipses and boxes, its inside shaded
    (a gradient, noise, stripes, holes), as an object photographed on paper looks."""
    y, x = (np.mgrid[0:SIZE, 0:SIZE] - SIZE / 2) / SIZE
    if rng.random() < 0.5:
        angle = np.arctan2(y, x)
        radius = rng.uniform(0.2, 0.35) * np.ones_like(angle)
        for k in range(1, 6):
            radius += rng.normal(0, 0.06 / k) * np.cos(k * angle + rng.uniform(0, 2 * np.pi))
        inside = np.hypot(x * rng.uniform(0.6, 1.4), y) < radius
    else:
        inside = np.zeros((SIZE, SIZE), dtype=bool)
        for _ in range(int(rng.integers(1, 5))):
            cx, cy = rng.uniform(-0.25, 0.25, 2)
            ax = rng.uniform(0.08, 0.3)
            ay = ax * rng.uniform(0.4, 2.5)            # no thin bar: that is a 1
            if rng.random() < 0.5:
                inside |= ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 < 1
            else:
                inside |= (np.abs(x - cx) < ax) & (np.abs(y - cy) < ay)
    shade = rng.uniform(0.3, 1.0) + rng.uniform(-0.6, 0.6) * (x * np.cos(rng.uniform(0, 6))
                                                              + y * np.sin(rng.uniform(0, 6)))
    kind = rng.integers(4)
    if kind == 1:
        shade = shade + rng.normal(0, 0.15, shade.shape)
    elif kind == 2:
        shade = shade * (0.6 + 0.4 * (np.sin(x * rng.uniform(30, 120)) > 0))
    elif kind == 3:
        shade = np.where(np.hypot(x - rng.uniform(-0.1, 0.1), y) < rng.uniform(0.03, 0.12),
                         0, shade)
    return Image.fromarray(np.uint8(255 * np.clip(shade, 0, 1) * inside))


def texture_image(rng):
    """Noise blobs and hatching (tests/nondigit_images.py), stripes or a gradient patch."""
    kind = rng.integers(4)
    if kind < 2:
        return texture(rng, SIZE, kind=["blobs", "hatching"][kind])
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    frame = (np.abs(x - 0.5) < rng.uniform(0.2, 0.4)) & (np.abs(y - 0.5) < rng.uniform(0.2, 0.4))
    if kind == 2:
        v = np.sin((x + rng.uniform(-1, 1) * y) * rng.uniform(8, 25)) > rng.uniform(-0.3, 0.5)
        return Image.fromarray(np.uint8(255 * (v & frame)))
    v = np.clip(rng.uniform(0.2, 1) * (x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1) + 1), 0, 1)
    return Image.fromarray(np.uint8(255 * v * frame))


def scribble_image(rng):
    return augment(scribble(rng, size=SIZE, smooth=True), rng)
