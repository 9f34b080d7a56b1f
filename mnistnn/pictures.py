"""Writing pictures with Pillow: digits as PNGs, upscaled, in grey or a heat colormap,
and labelled grids (montages) of many digits.

Every PNG mnistnn writes says so in a text chunk (Software: mnistnn...), and an existing
file is replaced only when it says so (files.marked_png): a picture mnistnn made earlier is made
again, a person's own file of the same name is left as it was."""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from .files import PNG_MARK, atomic_open, marked_png
from .form import SIDE

COLORMAPS = ("gray", "heat")


def to_rgb(values, colormap="gray"):
    """Values in [0, 1], shape (H, W) -> uint8 RGB (H, W, 3). 'gray' draws ink white on
    black like MNIST; 'heat' goes black -> red -> yellow -> white."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0, 1)
    if colormap == "gray":
        rgb = np.repeat(v[..., None], 3, axis=-1)
    elif colormap == "heat":
        rgb = np.stack([np.clip(3 * v, 0, 1), np.clip(3 * v - 1, 0, 1),
                        np.clip(3 * v - 2, 0, 1)], axis=-1)
    else:
        raise ValueError(f"unknown colormap {colormap!r}: choose {', '.join(COLORMAPS)}")
    return (rgb * 255 + 0.5).astype(np.uint8)


def digit_image(values, scale=10, colormap="gray"):
    """A (28, 28) array in [0, 1] as a PIL image, each pixel a scale x scale block."""
    image = Image.fromarray(to_rgb(values, colormap))
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def montage(images, captions=None, columns=10, scale=3, colormap="gray", pad=4, font_size=None):
    """Digits (N, 28, 28) in a grid with an optional caption under each one (lines apart
    by "\n"), written in Pillow's small bitmap font, or at font_size pixels (for big cells)
    when given."""
    images = list(images)
    rows = max(1, -(-len(images) // columns))
    font = ImageFont.load_default(size=font_size) if font_size else ImageFont.load_default()
    text_h = font.getbbox("Ag")[3] + 3 if font_size else 14
    lines = max(str(c).count("\n") + 1 for c in captions) if captions else 0
    cell_w, cell_h = SIDE * scale + pad, SIDE * scale + pad + text_h * lines
    sheet = Image.new("RGB", (columns * cell_w + pad, rows * cell_h + pad), "black")
    draw = ImageDraw.Draw(sheet)
    for i, values in enumerate(images):
        x, y = pad + (i % columns) * cell_w, pad + (i // columns) * cell_h
        sheet.paste(digit_image(values, scale, colormap), (x, y))
        if captions:
            draw.multiline_text((x, y + SIDE * scale + 1), str(captions[i]), fill="white",
                                font=font, spacing=text_h - font.getbbox("Ag")[3])
    return sheet


def save_png(image, path, about=""):
    """Save a PIL image as PNG atomically (a temporary file, then rename), marked as
    mnistnn's ("Software: mnistnn: <about>") so that it may be replaced later
    (files.marked_png)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"{PNG_MARK}: {about}" if about else PNG_MARK)
    with atomic_open(path) as f:
        image.save(f, format="PNG", pnginfo=info)


class PreprocessedSaver:
    """Writes what the network saw of each image as FOLDER/<name>.png, enlarged 10x, and
    never overwrites what is not its own: an input, a file a person put there, or a
    picture written earlier in the same run. A name that is taken becomes <name>-2.png,
    -3, ..."""
    ABOUT = "the 28x28 image the network saw"

    def __init__(self, folder, inputs=()):
        from .runs import check_writable

        self.folder, self.used = Path(folder), set()
        check_writable(self.folder, "pictures")
        self.inputs = input_files(inputs)

    def save(self, name, digit, stem=None):
        """Write digit (28, 28) for the image called name; say where it went (and why
        there, when its plain name was taken)."""
        plain = path = self.folder / f"{stem or Path(name).stem}.png"
        n = 1
        while path in self.used or taken(path, self.inputs):
            n += 1
            path = plain.with_name(f"{plain.stem}-{n}.png")
        self.used.add(path)
        save_png(digit_image(digit, scale=10), path, self.ABOUT)
        if path == plain or plain in self.used:
            return str(path)
        why = "an input" if plain.resolve() in self.inputs else "not a picture of mnistnn's"
        return f"{path} ({plain} is {why}: left as it was)"


def input_files(inputs):
    """The resolved paths of the files a command reads (its arguments: files, folders
    of them, "-"), which it never writes over."""
    named = [Path(arg) for arg in inputs if arg != "-"]
    files = [p for arg in named for p in (arg.iterdir() if arg.is_dir() else [arg])]
    return {p.resolve() for p in files if p.is_file()}


def input_folder(path, inputs):
    """Whether path is one of the folders a command reads its images from (its arguments):
    pictures written there would be read as images by the same command run again."""
    folders = {Path(arg).resolve() for arg in inputs if arg != "-" and Path(arg).is_dir()}
    return Path(path).resolve() in folders


def taken(path, inputs=frozenset()):
    """Whether writing path would replace what mnistnn may not: an input (input_files)
    or an existing file that is not a picture of mnistnn's."""
    return path.exists() and (path.resolve() in inputs or not marked_png(path))


def annotate(image, digits):
    """A copy of a PIL RGB image with each digit's box (x0, y0, x1, y1) drawn in green and
    its reading above it ("?" in red for a piece that is not a digit)."""
    image = image.copy()
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 400))
    font = ImageFont.load_default(size=max(12, round(max(image.size) / 25)))
    for d in digits:
        x0, y0, x1, y1 = d["box"]
        colour = (0, 170, 0) if d["digit"] is not None else (220, 0, 0)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        text = f"{d['digit'] if d['digit'] is not None else '?'}"
        draw.text((x0, max(0, y0 - font.getbbox(text)[3] - width)), text, fill=colour,
                  font=font)
    return image
