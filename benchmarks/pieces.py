"""The pieces the reading cuts out of lines of MNIST *training* digits, labelled by where
the digits really are: what the window reader (benchmarks/window_reader.py) learns a
right cut from a wrong one by.

    right, digits, wrong = pieces(images, labels, lines, seed)
    # right (n, 784) and wrong (m, 784) MNIST forms, digits (n,) the right ones' labels

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
from number_images import iou, mnist_number, on_paper, pen_number

# Layouts and how many lines of each, per six lines: touching neighbours are where a
# wrong cut looks most like a digit.
LAYOUTS = {"touching": 3, "pen-touching": 1, "separated": 1, "slanted": 1}
RIGHT, WRONG = 0.8, 0.5


def pieces(images, labels, lines, seed):
    """Right pieces, their digits and wrong pieces (MNIST forms, float32) of `lines` lines
    of 4-6 of the digits images (N, 28, 28) uint8, labels (N,)."""
    rng = np.random.default_rng(seed)
    right, digits, wrong = [], [], []
    for layout, share in LAYOUTS.items():
        for _ in range(lines * share // sum(LAYOUTS.values())):
            pick = rng.choice(len(images), int(rng.integers(4, 7)), replace=False)
            if layout == "pen-touching":
                ink, boxes = pen_number(labels[pick], rng, layout="touching")
            else:
                ink, boxes = mnist_number(images[pick], rng, layout)
            found, (width, _) = imaging.load_ink(on_paper(ink, rng, "white"))
            forms = []
            line = segment.candidates(found, lambda crops, cut: _keep(forms, crops))
            truth = np.asarray(boxes) * (found.shape[1] / width)   # in the ink's pixels
            overlap = np.array([[iou(segment._crop(line.prims, i, j)[0], t) for t in truth]
                                for i, j in line.groups])          # (groups, digits)
            best = overlap.max(axis=1)
            right.append(forms[0][best >= RIGHT])
            digits.append(labels[pick][overlap.argmax(axis=1)][best >= RIGHT])
            wrong.append(forms[0][best < WRONG])
    return np.concatenate(right), np.concatenate(digits), np.concatenate(wrong)


def _keep(forms, crops):
    """A scorer for segment.candidates that keeps the pieces' MNIST forms and scores
    nothing (the pieces do not depend on their scores)."""
    forms.append(reading.mnist_forms(crops))
    return np.zeros((len(crops), 10)), np.zeros((len(crops), 3))
