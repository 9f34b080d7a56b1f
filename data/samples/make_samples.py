"""Draw the sample digits in this folder: `python data/samples/make_samples.py [FOLDER]`.

Each file is a digit drawn with Pillow by this script (nothing comes from MNIST), in one of
the situations `mnistnn classify` must handle. The first character of a name is the digit.
The output is deterministic: running the script again rewrites the same images.
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SUPER = 4  # draw at 4x and shrink: anti-aliased strokes


def arc(cx, cy, rx, ry, start, stop, n=40):
    """Points on an ellipse from angle start to stop (degrees; y points down, so angles
    grow clockwise on the screen), in the unit box."""
    t = np.radians(np.linspace(start, stop, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


# Each digit is a list of strokes, each stroke a list of (x, y) points in the unit box.
GLYPHS = {
    2: [arc(0.5, 0.3, 0.3, 0.25, 200, 380) + [(0.18, 0.95), (0.85, 0.95)]],
    3: [arc(0.5, 0.28, 0.28, 0.22, 200, 450) + arc(0.5, 0.72, 0.32, 0.24, 270, 520)],
    4: [[(0.66, 0.95), (0.66, 0.05), (0.12, 0.68), (0.9, 0.68)]],
    5: [[(0.82, 0.05), (0.3, 0.05), (0.25, 0.46)] + arc(0.5, 0.68, 0.3, 0.27, 215, 510)],
    7: [[(0.12, 0.06), (0.88, 0.06), (0.38, 0.95)], [(0.35, 0.5), (0.78, 0.5)]],
    9: [arc(0.5, 0.3, 0.3, 0.26, 0, 360), [(0.8, 0.3), (0.74, 0.95)]],
}


def ink(digit, size, box, width, angle=0.0):
    """An ink mask (H, W) float in [0, 1]: the digit's strokes drawn `width` px wide into
    box = (left, top, right, bottom) of a canvas of size (W, H), rotated by angle degrees."""
    w, h = size
    canvas = Image.new("L", (w * SUPER, h * SUPER), 0)
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = box
    cx, cy = (left + right) / 2, (top + bottom) / 2
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    r = width * SUPER / 2
    for stroke in GLYPHS[digit]:
        pts = []
        for x, y in stroke:
            px, py = left + x * (right - left) - cx, top + y * (bottom - top) - cy
            pts.append(((cx + c * px - s * py) * SUPER, (cy + s * px + c * py) * SUPER))
        draw.line(pts, fill=255, width=int(2 * r), joint="curve")
        for x, y in (pts[0], pts[-1]):   # round pen ends
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(canvas.resize(size, Image.LANCZOS), dtype=np.float64) / 255


def paint(background, ink_colour, mask):
    """RGB uint8 (H, W, 3): ink_colour laid on background (H, W, 3) with opacity mask."""
    colour = np.asarray(ink_colour, dtype=np.float64)
    out = background * (1 - mask[..., None]) + colour * mask[..., None]
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB")


def black_on_white(folder):
    """A paint-program drawing: black brush on a white landscape canvas, off to the left."""
    mask = ink(3, (400, 300), (40, 40, 190, 260), 14)
    paint(np.full((300, 400, 3), 255.0), (0, 0, 0), mask).save(folder / "3-black-on-white.png")


def transparent(folder):
    """A black digit on a fully transparent canvas (RGBA), as drawing apps export."""
    alpha = ink(7, (512, 512), (150, 90, 400, 430), 22)
    rgba = np.zeros((512, 512, 4), dtype=np.uint8)
    rgba[..., 3] = np.round(alpha * 255).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(folder / "7-transparent.png")


def grey_paper(folder, rng):
    """A dark pen on grey, grainy paper, saved as a fairly compressed JPEG."""
    h = w = 480
    blotches = rng.normal(128, 40, (30, 30)).clip(0, 255).astype(np.uint8)   # paper fibre
    grain = rng.normal(0, 10, (h, w)) + np.asarray(
        Image.fromarray(blotches).resize((w, h), Image.BICUBIC), dtype=np.float64) / 8
    paper = (150 + grain)[..., None] * np.array([1.0, 0.98, 0.92])
    mask = ink(4, (w, h), (120, 70, 380, 420), 16) * 0.85
    paint(paper, (45, 40, 60), mask).save(folder / "4-grey-paper.jpg", quality=60)


def white_on_black(folder, rng):
    """Chalk-like light strokes on a black canvas (MNIST's own polarity), small and low."""
    mask = ink(2, (300, 300), (170, 150, 270, 280), 11) * rng.uniform(0.75, 1, (300, 300))
    paint(np.full((300, 300, 3), 15.0), (235, 235, 235), mask).save(folder / "2-white-on-black.png")


def phone_photo(folder, rng):
    """Blue ballpoint on paper under uneven light (bright top left, dim corners), a slight
    tilt, sensor noise, and stored on its side with an EXIF 'rotate 90' tag like a phone."""
    w, h = 900, 1200
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    light = 0.95 - 0.35 * (x + y) / 2 - 0.25 * ((x - 0.4) ** 2 + (y - 0.5) ** 2)  # (H, W)
    mask = ink(5, (w, h), (260, 330, 640, 860), 9, angle=6)[..., None] * 0.9
    lit = (245 * np.array([1.0, 0.97, 0.9]) * (1 - mask) + np.array([40, 55, 140]) * mask)
    pixels = lit * light[..., None] + rng.normal(0, 4, (h, w, 1))
    photo = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the viewer must rotate the stored pixels 90 degrees clockwise
    photo.transpose(Image.ROTATE_90).save(folder / "5-phone-photo.jpg", quality=80, exif=exif)


def thin_pen(folder):
    """A thin 4 px brush on a large canvas: far thinner strokes than MNIST's."""
    mask = ink(9, (700, 700), (250, 120, 480, 560), 4)
    paint(np.full((700, 700, 3), 255.0), (20, 20, 20), mask).save(folder / "9-thin-pen.png")


def main(folder=HERE):
    """Write all the samples into folder (this script's own folder by default)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    black_on_white(folder)
    transparent(folder)
    grey_paper(folder, rng)
    white_on_black(folder, rng)
    phone_photo(folder, rng)
    thin_pen(folder)
    return folder


if __name__ == "__main__":
    print(f"samples written to {main(*sys.argv[1:2])}")
