"""The pieces the reading cuts out of lines of MNIST *training* digits, labelled by where
the digits really are: what the window reader (benchmarks/window_reader.py) learns a
right cut from a wrong one by.

    right, digits, wrong, holding = pieces(images, labels, lines, seed)
    # right (n, 784) and wrong (m, 784) MNIST forms, digits (n,) the right ones' labels,
    # holding (m,): the wrong ones that hold most of a second digit (context=True only)

Each line is made as benchmarks/numbers.py makes its numbers, but of training digits (or
pen strokes), and cut by segment.candidates exactly as `classify --number` cuts it:
every run of pieces that could be one digit, brought to MNIST form by the code the
reading uses. A piece whose box matches a digit's (IoU >= RIGHT) is that digit, cut
right; one that matches no digit even loosely (IoU < WRONG with every digit: two digits,
part of one, parts of two) is not one digit. The ones in between are left out.

The windows of touching.py teach the same thing, but they are cut straight down through
ink laid side by side; these are what the least-ink cuts and the grouping of pieces
really make, specks, slant, pen strokes and all.
"""
import numpy as np

from mnistnn import imaging, reading, segment
from mnistnn.context import frames
from mnistnn.layout import remove_rules
from number_images import iou, mnist_number, on_paper, pen_number

# Layouts and how many lines of each, per six lines: touching neighbours are where a
# wrong cut looks most like a digit.
LAYOUTS = {"touching": 3, "pen-touching": 1, "separated": 1, "slanted": 1}
RIGHT, WRONG = 0.8, 0.5


def pieces(images, labels, lines, seed, context=False, ones=0.0, layouts=LAYOUTS):
    """Right pieces, their digits, wrong pieces (MNIST forms, float32) of `lines` lines
    of 4-6 of the digits images (N, 28, 28) uint8, labels (N,), and which wrong ones hold
    another digit (all False unless context).

    context=True: the pieces as the context reader sees them, among their neighbours
    (context.frames, float16 to halve the memory), and a piece whose box holds most
    (HOLDS) of another digit's box is not one digit, however well it matches its own
    digit's box: a thin 1 tucked against a 7 barely widens the 7's box. Such a piece is
    kept (as wrong) even when its box matches its own digit's only loosely (IoU between
    WRONG and RIGHT, left out otherwise): a 1 and its neighbour read as one digit is the
    reading's most common mistake on touching numbers.
    ones: the share of the digits that are 1s (drawn from the 1s of images), 0: as drawn.
    layouts: {layout: lines of it per sum of the values}."""
    rng = np.random.default_rng(seed)
    right, digits, wrong, holding = [], [], [], []
    one = np.flatnonzero(np.asarray(labels) == 1)
    for layout, share in layouts.items():
        for _ in range(lines * share // sum(layouts.values())):
            pick = rng.choice(len(images), int(rng.integers(4, 7)), replace=False)
            if ones:
                chosen = rng.random(len(pick)) < ones
                pick[chosen] = rng.choice(one, int(chosen.sum()), replace=False)
            if layout == "pen-touching":
                ink, boxes = pen_number(labels[pick], rng, layout="touching")
            else:
                ink, boxes = mnist_number(images[pick], rng, layout)
            found, (width, _) = imaging.load_ink(on_paper(ink, rng, "white"))
            forms = []
            line = segment.candidates(found, lambda crops, cut, seen: _keep(
                forms, None if context else reading.mnist_forms(crops), len(crops)))
            if context:    # every line's, not only those the reading has the reader see
                forms = [frames(remove_rules(found), line.prims, line.groups,
                                line.height).astype(np.float16)]
            truth = np.asarray(boxes) * (found.shape[1] / width)   # in the ink's pixels
            found_boxes = [segment._crop(line.prims, i, j)[0] for i, j in line.groups]
            overlap = np.array([[iou(b, t) for t in truth] for b in found_boxes])
            best = overlap.max(axis=1)                              # (groups,)
            ok, bad = best >= RIGHT, best < WRONG
            two = np.zeros(len(best), dtype=bool)
            if context:
                two = np.array([_holds_another(b, truth, k) for b, k in
                                zip(found_boxes, overlap.argmax(axis=1))], dtype=bool)
                two &= best >= WRONG
                ok, bad = ok & ~two, bad | two
            right.append(forms[0][ok])
            digits.append(labels[pick][overlap.argmax(axis=1)][ok])
            wrong.append(forms[0][bad])
            holding.append(two[bad])
    return (np.concatenate(right), np.concatenate(digits), np.concatenate(wrong),
            np.concatenate(holding))


HOLDS = 0.6


def _holds_another(box, truth, mine):
    """Whether box holds at least HOLDS of the area of a digit's box other than truth[mine]."""
    for k, (x0, y0, x1, y1) in enumerate(truth):
        w = max(0.0, min(x1, box[2]) - max(x0, box[0]))
        h = max(0.0, min(y1, box[3]) - max(y0, box[1]))
        if k != mine and w * h >= HOLDS * (x1 - x0) * (y1 - y0):
            return True
    return False


def _keep(forms, x, n):
    """A scorer for segment.candidates that keeps the n pieces' MNIST forms x and scores
    nothing (the pieces do not depend on their scores)."""
    forms.append(x)
    return np.zeros((n, 10)), np.zeros((n, len(segment.EVIDENCE)))
