"""Pictures of training and testing, drawn with Pillow: the training curves (loss and
accuracy per epoch), the confusion matrix as a heat map, and the misclassified digits.

    save_png(training_plot(metrics), "weights/training.png")
    save_png(confusion_plot(report["confusion"]), "confusion.png")
    save_png(errors_montage(images, labels, predicted), "errors.png")
"""
import json
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .form import SIDE
from .pictures import montage, save_png, to_rgb

__all__ = ["training_plot", "confusion_plot", "errors_montage", "read_metrics", "save_png"]

PANEL = (460, 340)                   # width, height of one chart, pixels
MARGIN = (62, 20, 16, 48)            # left, top, right, bottom: room for ticks and labels
COLORS = {"train": (31, 119, 180), "validation": (255, 127, 14)}
NO_ERRORS_SIZE = (240, 40)           # the errors montage when there are none
GRID, AXIS, INK = (225, 225, 225), (60, 60, 60), (20, 20, 20)


def font(size=13):
    return ImageFont.load_default(size=size)


def read_metrics(path):
    """The per-epoch metrics dicts of a metrics.jsonl file, in order."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def nice_ticks(lo, hi, count=5):
    """About count round tick values covering [lo, hi], e.g. (0.03, 0.31) -> 0, 0.1, ... 0.4."""
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def _label(value):
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.0e}"


def draw_chart(draw, origin, title, series, ylabel, legend_at="top", unit=""):
    """One line chart at origin (x, y): series maps a name to (epochs, values) or None;
    the legend (top or bottom right) gives each series' last value."""
    ox, oy = origin
    box = (ox + MARGIN[0], oy + MARGIN[1], ox + PANEL[0] - MARGIN[2], oy + PANEL[1] - MARGIN[3])
    left, top, right, bottom = box
    points = {k: v for k, v in series.items() if v and len(v[0])}
    xs = [x for e, _ in points.values() for x in e] or [1]
    ys = [y for _, v in points.values() for y in v] or [0, 1]
    one = len(set(xs)) == 1              # one epoch: its dots mid-chart, not on the edge
    xticks = nice_ticks(min(xs) - one, max(xs) + one, 6)
    xticks = [t for t in xticks if t == int(t)] or [0, 1]
    at = _axes(draw, box, xticks, nice_ticks(*value_range(ys, unit, one), 5))
    draw.text(((left + right) / 2, oy + 4), title, fill=INK, font=font(14), anchor="mt")
    draw.text((ox + 4, top - 14), ylabel, fill=INK, font=font(11))
    for name, (epochs, values) in points.items():
        line = [at(x, y) for x, y in zip(epochs, values)]
        if len(line) > 1:
            draw.line(line, fill=COLORS[name], width=2)
        for px, py in line if len(line) <= 40 else ():   # dots while they stay apart
            draw.ellipse([px - 2.5, py - 2.5, px + 2.5, py + 2.5], fill=COLORS[name])
    digits = 2 if unit == "%" else 4
    entries = [(n, f"{n} {points[n][1][-1]:.{digits}f}{unit}") for n in COLORS if n in points]
    height = 8 + 18 * len(entries)
    _legend(draw, (right - 160, top + 6 if legend_at == "top" else bottom - 6 - height), entries)


def value_range(ys, unit="", one_epoch=False):
    """(low, high) of a chart's values ys: their extent, or for one epoch (or a single
    value) a range around them that stays at or above 0 (and at or below 100 for
    percentages), as a loss or an accuracy does: one epoch's train and validation
    figures 0.0469 and 0.0467 are not stretched over the whole height."""
    low, high = min(ys), max(ys)
    if low == high or one_epoch:
        low, high = max(0.0, low - 0.2 * abs(low)), high + 0.2 * abs(high) + 1e-9
        high = min(high, 100.0) if unit == "%" and low < 100 else high
    return low, high


def _axes(draw, box, xticks, yticks):
    """Grid, ticks, tick labels and axis lines in box (left, top, right, bottom); returns
    at(x, y), the pixel position of a data point."""
    left, top, right, bottom = box
    x0, x1, y0, y1 = xticks[0], max(xticks[-1], xticks[0] + 1), yticks[0], yticks[-1]

    def at(x, y):
        return (left + (x - x0) / (x1 - x0) * (right - left),
                bottom - (y - y0) / ((y1 - y0) or 1) * (bottom - top))

    for t in yticks:
        _, py = at(x0, t)
        draw.line([(left, py), (right, py)], fill=GRID)
        draw.text((left - 6, py), _label(t), fill=INK, font=font(11), anchor="rm")
    for t in xticks:
        px, _ = at(t, y0)
        draw.line([(px, bottom), (px, bottom + 4)], fill=AXIS)
        draw.text((px, bottom + 6), f"{t:g}", fill=INK, font=font(11), anchor="mt")
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=AXIS, width=1)
    draw.text(((left + right) / 2, bottom + 24), "epoch", fill=INK, font=font(12), anchor="mt")
    return at


def _legend(draw, corner, entries):
    """A boxed legend at corner (x, y): a coloured line and a text per (name, text)."""
    if not entries:
        return
    x, y = corner
    draw.rectangle([x, y, x + 154, y + 8 + 18 * len(entries)], fill="white", outline=AXIS)
    for i, (name, text) in enumerate(entries):
        cy = y + 13 + 18 * i
        draw.line([(x + 8, cy), (x + 30, cy)], fill=COLORS[name], width=3)
        draw.text((x + 36, cy), text, fill=INK, font=font(12), anchor="lm")


def _series(metrics, key, scale=1.0):
    """(epochs, values) of one metric over the epochs where it was measured, or None."""
    pairs = [(m["epoch"], scale * m[key]) for m in metrics if m.get(key) is not None]
    return tuple(map(list, zip(*pairs))) if pairs else None


def training_plot(metrics):
    """The training curves of a run as an RGB image (920, 340): loss on the left,
    accuracy in percent on the right, each for the training and the validation set."""
    image = Image.new("RGB", (2 * PANEL[0], PANEL[1]), "white")
    draw = ImageDraw.Draw(image)
    draw_chart(draw, (0, 0), "Loss", {"train": _series(metrics, "train_loss"),
                                      "validation": _series(metrics, "validation_loss")},
               "cost")
    draw_chart(draw, (PANEL[0], 0), "Accuracy",
               {"train": _series(metrics, "train_accuracy", 100),
                "validation": _series(metrics, "validation_accuracy", 100)}, "%",
               legend_at="bottom", unit="%")
    return image


def confusion_plot(counts, cell=44, classes=None):
    """A confusion matrix counts (10, 10) (rows: true class, columns: predicted) as a heat
    map with the count in every cell: white for 0, then yellow, red and black for the most,
    on a log(1 + count) scale so that a handful of errors still shows. The rows and
    columns are labelled with the classes' names (default: the digits)."""
    counts = np.asarray(counts)
    n = len(counts)
    names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(n)]
    kind = "digit" if names == [str(i) for i in range(n)] else "class"
    name_w = max(font(13).getbbox(name)[2] for name in names)   # pixels
    left, top = (60, 56) if kind == "digit" else (44 + name_w, 40 + name_w)
    image = Image.new("RGB", (left + n * cell + 12, top + n * cell + 12), "white")
    draw = ImageDraw.Draw(image)
    level = np.log1p(counts) / max(np.log1p(counts.max()), 1e-9)       # (10, 10) in [0, 1]
    rgb = to_rgb(1 - level, "heat")                                    # (10, 10, 3)
    for i, j in np.ndindex(n, n):
        x, y = left + j * cell, top + i * cell
        draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=tuple(map(int, rgb[i, j])))
        ink = (190, 190, 190) if counts[i, j] == 0 else (
            INK if rgb[i, j].astype(int).sum() > 380 else (255, 255, 255))
        draw.text((x + cell / 2, y + cell / 2), str(int(counts[i, j])), fill=ink, font=font(12),
                  anchor="mm")
    draw.rectangle([left - 1, top - 1, left + n * cell, top + n * cell], outline=AXIS)
    for i, name in enumerate(names):
        middle = i * cell + cell / 2
        draw.text((left - 8, top + middle), name, fill=INK, font=font(13), anchor="rm")
        if kind == "digit":
            draw.text((left + middle, top - 8), name, fill=INK, font=font(13), anchor="mb")
        else:    # names, written upwards above their columns
            _vertical_text(image, name, (int(left + middle - 8), top - 8), anchor="bottom")
    draw.text((left + n * cell / 2, 6), f"predicted {kind}", fill=INK, font=font(13),
              anchor="mt")
    _vertical_text(image, f"true {kind}", (6, top + n * cell // 2))
    return image


def _vertical_text(image, text, at, anchor="middle"):
    """Write text turned 90 degrees (reading upwards) with its left edge at at[0] and its
    middle (or, with anchor="bottom", its end) at at[1]."""
    box = font(13).getbbox(text)
    strip = Image.new("RGB", (box[2] + 2, box[3] + 2), "white")
    ImageDraw.Draw(strip).text((1, 1), text, fill=INK, font=font(13))
    strip = strip.rotate(90, expand=True)
    top = at[1] - (strip.height if anchor == "bottom" else strip.height // 2)
    image.paste(strip, (at[0], top))


def errors_montage(images, labels, predicted, limit=100, columns=10, scale=3, classes=None):
    """Misclassified images, up to limit of them in their order, each captioned
    "true -> predicted" (with the classes' names when given: on two lines, in cells wide
    enough for them). images (N, 784) or (N, 28, 28) in [0, 1]; labels, predicted (N,)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    wrong = np.flatnonzero(labels != predicted)[:limit]
    if not len(wrong):
        image = Image.new("RGB", NO_ERRORS_SIZE, "black")
        ImageDraw.Draw(image).text((10, 20), "no misclassified images", fill="white",
                                   font=font(14), anchor="lm")
        return image
    digits = np.asarray(images)[wrong].reshape(-1, SIDE, SIDE)
    names = [str(c) for c in classes] if classes is not None else None
    if names is None or names == [str(i) for i in range(len(names))]:
        return montage(digits, [f"{labels[i]} -> {predicted[i]}" for i in wrong],
                       columns=columns, scale=scale)
    captions = [f"{names[labels[i]]}\n-> {names[predicted[i]]}" for i in wrong]
    widest = max(font(11).getbbox(line)[2] for c in captions for line in c.split("\n"))
    return montage(digits, captions, columns=columns, scale=max(scale, -(-widest // SIDE)),
                   font_size=11)
