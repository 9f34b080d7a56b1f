"""Training digits as a line of touching digits shows them: with a neighbour's strokes at
their side (numpy, and imaging's form code).

    x, labels = windows(images, labels, n, rng)   # images (N, 784) in [0, 1] -> (n, 784), (n,)

`classify --number` reads a line whose digits touch by cutting it into windows
(segment.py) and reading each window as a digit; a window cut halfway through the
overlap of two neighbours holds a piece of each neighbour at its edges, and a network
that has only seen digits alone misreads many more of them than of whole digits
(benchmarks/numbers.py prints how many, cut at the true places). Shown such windows in
training, it learns to read the digit in the middle and leave the edges alone.

Each window is made the way a person's line is: a training digit, a neighbour on its left,
its right or both (other training digits, each lifted or lowered a little), moved
until their ink meets or overlaps it by up to a stroke; then the columns from halfway
through the left overlap to halfway through the right one, a few pixels either way,
brought to MNIST form by the very code a person's digit goes through (imaging.to_mnist).
The label is the middle digit's.
"""
import numpy as np

from .form import SIDE
from .imaging import to_mnist

INK = 0.3        # a pixel this dark is ink when digits are moved until they meet
OVERLAP = 0.06   # neighbours overlap by up to this share of the digit's height (a stroke)
JITTER = 0.06    # each edge of the window moves by up to this share of the height
LIFT = 0.12      # a neighbour sits up to this share of the height higher or lower


def windows(images, labels, n, rng, miscut=False):
    """n windows (n, 784) float32 of training digits images (N, 784) in [0, 1], with
    their labels (n,): the middle digit is rng's choice, its neighbours drawn from the
    same images. miscut=True: windows cut where no digit ends instead (_miscut)."""
    centre = rng.integers(0, len(images), n)
    left, right = rng.integers(0, len(images), (2, n))
    sides = np.full(n, 3) if miscut else rng.integers(1, 4, n)   # 1: left, 2: right, 3: both
    x = np.empty((n, SIDE * SIDE), np.float32)
    for k in range(n):
        pieces, middle = [_ink(images[centre[k]])], 0
        if sides[k] & 1:
            pieces, middle = [_ink(images[left[k]])] + pieces, 1
        if sides[k] & 2:
            pieces.append(_ink(images[right[k]]))
        ink, boxes = line(pieces, rng)
        a, b = (_miscut if miscut else _cut)(boxes, middle, pieces[middle].shape[0], rng)
        cut = ink[:, max(0, a):min(ink.shape[1], b)]
        x[k] = to_mnist(cut if cut.max(initial=0) > INK else pieces[middle]).reshape(-1)
    return x, np.asarray(labels)[centre]


def _cut(boxes, middle, height, rng):
    """Columns (a, b) of the window of piece `middle`: halfway through its overlaps with
    its neighbours (its own edge where it has none), each moved a little."""
    a = boxes[middle][0] if middle == 0 else (boxes[middle][0] + boxes[middle - 1][1]) // 2
    b = (boxes[middle][1] if middle == len(boxes) - 1
         else (boxes[middle][1] + boxes[middle + 1][0]) // 2)
    return a + _jitter(height, rng), b + _jitter(height, rng)


def _miscut(boxes, middle, height, rng):
    """Columns (a, b) of a window that is not one digit, piece `middle` having a neighbour
    on each side: two digits (it and one neighbour whole), or a part of it (one edge
    between a third and two thirds of the way across it), or parts of two (both edges
    inside digits)."""
    (a0, a1), (m0, m1), (b0, b1) = boxes[middle - 1:middle + 2]
    inside = lambda lo, hi: int(lo + rng.uniform(1 / 3, 2 / 3) * (hi - lo))   # noqa: E731
    kind = rng.integers(0, 4)
    if kind == 0:
        return a0, (m1 + b0) // 2                                            # left and it
    if kind == 1:
        return (a1 + m0) // 2, b1                                            # it and right
    if kind == 2:
        return ((a1 + m0) // 2, inside(m0, m1)) if rng.random() < 0.5 else \
            (inside(m0, m1), (m1 + b0) // 2)                                 # part of it
    return inside(a0, a1), inside(m0, m1)                                    # parts of two


def _jitter(height, rng):
    return int(rng.integers(-JITTER * height, JITTER * height + 1))


def line(pieces, rng):
    """Pieces (list of ink (h, w)) on one line, each moved left until its ink meets its
    neighbour's or overlaps it by up to OVERLAP of its height -> (ink (H, W), boxes
    [(x0, x1), ...] of each piece's columns)."""
    tall = max(p.shape[0] for p in pieces)
    tops = [int((tall - p.shape[0]) // 2 + rng.uniform(-LIFT, LIFT) * p.shape[0]) + tall
            for p in pieces]
    ink = np.zeros((3 * tall, sum(p.shape[1] for p in pieces) + 1))
    reach = np.full(len(ink), -10 ** 6)                # the last ink column of each row
    boxes = []
    for top, piece in zip(tops, pieces):
        rows = slice(top, top + piece.shape[0])
        dark = piece > INK
        first = np.where(dark.any(axis=1), np.argmax(dark, axis=1), 10 ** 6)
        last = np.where(dark.any(axis=1), piece.shape[1] - 1 - np.argmax(dark[:, ::-1], axis=1),
                        -10 ** 6)
        x = 0
        if boxes:
            x = int(-np.min(first - reach[rows]) - rng.integers(0, OVERLAP * len(piece) + 1))
            x = min(max(x, boxes[-1][0] + 1), boxes[-1][1])   # rows apart: side by side
        ink[rows, x:x + piece.shape[1]] = np.maximum(ink[rows, x:x + piece.shape[1]], piece)
        reach[rows] = np.maximum(reach[rows], x + last)
        boxes.append((x, x + piece.shape[1]))
    rows = np.flatnonzero(ink.any(axis=1))
    return ink[rows[0]:rows[-1] + 1], boxes


def _ink(image):
    """A training image (784,) cropped to its ink -> (h, w)."""
    image = image.reshape(SIDE, SIDE)
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
