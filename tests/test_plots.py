"""Pictures: training curves, confusion heat map and the errors montage are valid PNGs of
the stated size, and the montage shows the stated number of digits."""
import json

import numpy as np
import pytest
from PIL import Image

from conftest import invoke
from mnistnn import plots

TRAINING_SIZE, CONFUSION_SIZE = (920, 340), (512, 508)


def metrics(n, validation=True):
    return [{"epoch": e, "train_loss": 0.3 / e, "train_accuracy": 1 - 0.05 / e,
             "validation_loss": 0.35 / e if validation else None,
             "validation_accuracy": 1 - 0.06 / e if validation else None}
            for e in range(1, n + 1)]


def open_png(path):
    """The image at path, after checking that it is a complete, valid PNG."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    return Image.open(path).convert("RGB")


@pytest.mark.parametrize("history", [metrics(30), metrics(1), metrics(5, validation=False)])
def test_training_plot_is_a_png_of_the_stated_size(history, tmp_path):
    plots.save_png(plots.training_plot(history), tmp_path / "training.png")
    image = open_png(tmp_path / "training.png")
    assert image.size == TRAINING_SIZE
    colours = {c for _, c in image.getcolors(1 << 20)}
    assert plots.COLORS["train"] in colours                   # the curve is drawn
    assert (plots.COLORS["validation"] in colours) == (history[0]["validation_loss"] is not None)


def test_nice_ticks_cover_the_range_with_round_steps():
    assert plots.nice_ticks(0.03, 0.31) == [0.0, 0.1, 0.2, 0.3, 0.4]
    ticks = plots.nice_ticks(97.2, 99.9)
    assert ticks[0] <= 97.2 and ticks[-1] >= 99.9 and 4 <= len(ticks) <= 8
    assert len(plots.nice_ticks(5, 5)) >= 2


@pytest.mark.parametrize("ys, unit", [([0.0469], ""), ([94.4], "%"), ([100.0], "%"),
                                      ([0.0], ""), ([0.3, 0.1], "")])
def test_one_epochs_value_gets_a_range_a_loss_or_accuracy_can_have(ys, unit):
    """One epoch's loss 0.0469 once got a y axis from -0.6 to 0.6."""
    low, high = plots.value_range(ys, unit)
    ticks = plots.nice_ticks(low, high, 5)
    assert ticks[0] >= 0 and ticks[0] <= min(ys) and ticks[-1] >= max(ys)
    assert high > low and (unit != "%" or ticks[-1] <= 100 or min(ys) == 100)


def test_one_epochs_two_figures_are_not_stretched_over_the_chart():
    """Train 0.0469 and validation 0.0467 after one epoch once filled the whole height,
    a difference of 0.4% drawn as if it were everything."""
    low, high = plots.value_range([0.0469, 0.0467], "", one_epoch=True)
    assert low <= 0.04 and high >= 0.055
    assert plots.value_range([0.3, 0.1], "") == (0.1, 0.3)          # epochs: their extent


def test_one_epochs_dots_are_drawn_inside_the_chart(tmp_path):
    """The dots of epoch 1 sat on the right edge of an axis from 0 to 1, cut in half."""
    plots.save_png(plots.training_plot(metrics(1)), tmp_path / "training.png")
    image = np.asarray(open_png(tmp_path / "training.png"))
    train = np.all(image == plots.COLORS["train"], axis=2)
    panel = image.shape[1] // 2
    swatch = [r for r in range(len(train)) if train[r, :panel].sum() > 10]   # the legend's
    train[swatch] = False                        # line is long; the dot is 5 pixels wide
    xs = np.flatnonzero(train[:, :panel].any(axis=0))          # the loss panel's dot
    assert 0 < len(xs) <= 8 and panel * 0.35 < xs.mean() < panel * 0.65


def test_confusion_plot_is_a_png_of_the_stated_size_with_white_zeros(tmp_path):
    counts = np.diag(np.full(10, 980)) + np.eye(10, k=1, dtype=int) * 7
    plots.save_png(plots.confusion_plot(counts), tmp_path / "confusion.png")
    image = np.asarray(open_png(tmp_path / "confusion.png"))
    assert image.shape == (CONFUSION_SIZE[1], CONFUSION_SIZE[0], 3)

    def cell(i, j):  # the colour near the top-left corner of cell (i, j), clear of its text
        return image[56 + 44 * i + 3, 60 + 44 * j + 3]

    assert tuple(cell(0, 5)) == (255, 255, 255)                   # zero: white
    assert cell(3, 3).sum() < 100                                  # the most: dark
    assert cell(3, 4)[2] < 200 and cell(3, 4)[0] > 200            # a few errors: warm


@pytest.mark.parametrize("wrong, limit, shown", [(23, 100, 23), (150, 100, 100), (0, 100, 0)])
def test_the_errors_montage_shows_the_stated_count(wrong, limit, shown):
    n = 200
    images = np.zeros((n, 784), dtype=np.float32)
    images[:, 300:500] = 1.0                                        # every digit has ink
    labels = np.arange(n) % 10
    predicted = labels.copy()
    predicted[:wrong] = (labels[:wrong] + 1) % 10
    sheet = np.asarray(plots.errors_montage(images, labels, predicted, limit, columns=10))
    if shown == 0:
        assert sheet.shape[:2] == plots.NO_ERRORS_SIZE[::-1]
        return
    rows = max(1, -(-shown // 10))
    cell_w, cell_h = 28 * 3 + 4, 28 * 3 + 4 + 14
    assert sheet.shape[:2] == (rows * cell_h + 4, 10 * cell_w + 4)
    inked = [sheet[4 + r * cell_h + 40, 4 + c * cell_w + 40].max() > 0
             for r in range(rows) for c in range(10)]
    assert sum(inked) == shown and all(inked[:shown])


def test_train_draws_training_png_and_test_draws_errors_and_confusion(tiny_mnist, tmp_path):
    common = ["--data-dir", tiny_mnist, "--no-download"]
    weights = tmp_path / "weights"
    result = invoke("train", "--epochs", 2, "--lr", 0.05, "--validation-size", 100,
                    "--weights-dir", weights, "-q", *common)
    assert result.exit_code == 0, result.output
    assert open_png(weights / "training.png").size == TRAINING_SIZE
    result = invoke("test", "--weights-dir", weights, "--json", "--errors", tmp_path / "errors.png",
                    "--confusion", tmp_path / "confusion.png", *common)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert open_png(tmp_path / "confusion.png").size == CONFUSION_SIZE
    wrong = min(report["total"] - report["correct"], 100)
    height = max(1, -(-wrong // 10)) * 102 + 4 if wrong else plots.NO_ERRORS_SIZE[1]
    assert open_png(tmp_path / "errors.png").size[1] == height
    assert f"Wrote {wrong} of the" in result.stderr
