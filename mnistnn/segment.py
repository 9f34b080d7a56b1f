"""A line of handwritten digits -> one piece of ink per digit, left to right (numpy only).

    digits = read_line(ink, score)   # ink (H, W) from imaging.load_ink; score: see read_line

The network decides where one digit ends and the next begins:

    layout       ruled lines removed, 8-connected components, the line's height, pen
                 width and slant (layout.py); every x below is measured along the
                 writing's slant (x' = x + slant * (y - middle))
    primitives   the components but specks, wide ones cut into pieces (cuts.py)
    best path    dynamic programming over groups of consecutive primitives: each group is
                 scored by the network (log-probability of its best digit), by the
                 evidence that it is one whole digit (EVIDENCE) and by its shape (a digit
                 is about as tall as the line, not much wider than tall, one piece of
                 writing); small specks and scraps of line may be left out.

Pieces are crops of the ink (h, w), scored by a callback (reading.piece_scorer turns each
into the MNIST form, the same code as a single digit, and asks the network, the detector
for pieces and the window reader), so this module needs nothing but numpy.
"""
from collections import namedtuple

import numpy as np

from .context import frames
from .cuts import cut
from .errors import ImageError
from .layout import (boxes_of, components, estimate_slant, line_height, lines_of_writing,
                     remove_rules, stroke_width)

MAX_DIGITS = 40       # more digit-sized pieces than this is not one number
TOO_LONG = (f"the line holds more than {MAX_DIGITS} digit-sized pieces of writing: too long "
            f"to be one number")
MAX_GROUP = 24        # primitives one digit may be made of (two cuts every 0.1 height)
MIN_HEIGHT = 0.4      # a digit is at least this share of the line's height

Digit = namedtuple("Digit", "box ink probabilities")   # box (x0, y0, x1, y1), ink (h, w)
# A primitive: its pixels' rows, columns, ink and sheared x (n,) each; comp: (component,
# index of the part); cut: strokes crossed by the cut on its (left, right), None: no cut.
Prim = namedtuple("Prim", "ys xs vs u comp cut")


def read_line(ink, score, clean=None):
    """The digits of the line in ink (H, W) float in [0, 1], left to right: [Digit, ...].
    clean: remove_rules(ink), when the caller has it already (it is made otherwise).

    score(list of crops (h, w), cut (N,) bool: the crop holds a piece cut out of wider
    ink, frames (N, context.SIZE): each crop among its neighbours, or None on a line
    with no piece cut out of wider ink) -> (probabilities (N, 10), evidence (N, 4) that
    each is one whole digit, see EVIDENCE; zeros where there is none). Raises ImageError
    when the line holds more than MAX_DIGITS digit-sized pieces."""
    line = candidates(ink, score, clean)
    if line.prims and _no_writing(line.prims, min(stroke_width(ink), stroke_width(ink.T))):
        box, crop = _crop(line.prims, 0, len(line.prims))     # one thing, read as a whole
        return [Digit(box, crop, score([crop], np.zeros(1, dtype=bool), None)[0][0])]
    path = best_path(*line, writing=is_writing(line.height, ink.shape[0]))
    if len(path) > MAX_DIGITS:     # touching digits counted as fewer pieces at first
        raise ImageError(TOO_LONG)
    return [Digit(*_crop(line.prims, *line.groups[g]), line.p[g]) for g in path]


SOLID = 2.5   # ink no more than this many pen widths tall anywhere is a stroke or a blob


def _no_writing(prims, stroke):
    """Whether the ink is one stroke or blob, not writing: no piece is SOLID pen widths
    tall (a dash, a dot, a line drawn across). The line's height is then a pen width, and
    cutting by it would make a dash a row of narrow 'digits'; read whole, it is what a
    single image of it is (most often not a digit). stroke: the shorter of the median
    runs of ink across and down, as a dash's runs across are its length, and bold digits
    with flat bars (a 5, a 7, a 2) have runs across of twice their pen's width."""
    return max(np.ptp(q.ys) + 1 for q in prims) < SOLID * stroke


Line = namedtuple("Line", "prims groups p height evidence")
# What score tells of each crop besides its probabilities, one column each: the detector
# for pieces' log-odds less its threshold; the window reader's log-odds of "one digit"
# against "not one digit"; its log-probability of the digit read; the context reader's
# log-odds of "one digit" (it sees the crop among its neighbours, context.py).
EVIDENCE = ("odds", "whole", "reader", "context")
WRITING = 0.2   # a line at least this share of the image's height is writing, not specks
# ... as is a line at least this many pixels tall (of the image at most 1024 px a side that
# imaging reads): a digit 70 px tall in a 4000x3000 photo is 18 px there, 2% of its height,
# and specks of dust are a few pixels.
WRITING_PX = 12


def is_writing(height, image_height):
    """Whether a line height pixels tall, in an image image_height pixels tall, is writing
    rather than specks of dust: at least WRITING of the image's height or WRITING_PX."""
    return height >= min(WRITING * image_height, WRITING_PX)


def candidates(ink, score, clean=None):
    """Everything the best path is chosen from: Line(primitives, candidate groups (i, j),
    their probabilities (len(groups), 10), the line's height in pixels, their evidence
    (len(groups), len(EVIDENCE))). clean: as read_line's."""
    ink = remove_rules(ink) if clean is None else clean
    ys, xs = np.nonzero(ink)
    if not len(ys):
        raise ImageError("no digit found: only the lines of ruled or squared paper")
    labels = components(ink > 0)[ys, xs]                    # (n,) component of each pixel
    lines = lines_of_writing(boxes_of(ys, xs, labels))
    if lines > 1:      # read as one, their digits would be cut and merged across lines
        raise ImageError(f"{lines} lines of writing lie one above the other, and a number "
                         f"is one line: crop the image to the line to read")
    height = line_height(ys, labels)
    slant = estimate_slant(ys, xs, ink[ys, xs])
    u = xs + slant * (ys - ys.mean())                          # (n,) sheared x
    prims = primitives((ys, xs, ink[ys, xs], u), labels, height, slant, stroke_width(ink))
    groups = candidate_groups(prims, height)
    parts = {q.comp for q in prims}
    cut = np.array([bool(_cuts_around(prims, i, j, parts)) for i, j in groups], dtype=bool)
    # The context reader tells whole digits from pieces cut out of wider ink: a line
    # with no ink wide enough to cut (1s apart) has no piece to tell, and no frames.
    seen = frames(ink, prims, groups, height) if cut.any() else None
    p, evidence = score([_crop(prims, i, j)[1] for i, j in groups], cut, seen)  # (., 10), (., 4)
    return Line(prims, groups, p, height, evidence)


# -- primitives and candidate digits -------------------------------------------------------

def primitives(pixels, labels, height, slant, stroke):
    """The pieces digits are made of, sorted by sheared x: each component but specks
    (smaller than 0.15 height every way), wide ones cut along paths of least ink.
    Raises ImageError when the line holds more than MAX_DIGITS digit-sized pieces."""
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(np.r_[-1, labels[order], -2]))
    prims, sized = [], 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        ys, xs, vs, u = (v[order[a:b]] for v in pixels)
        tall, wide = np.ptp(ys) + 1, np.ptp(u) + 1
        if max(tall, wide) < 0.15 * height:
            continue                                   # a speck of dust
        sized += max(1, int(wide / height)) if tall >= MIN_HEIGHT * height else 0
        if sized > MAX_DIGITS:
            raise ImageError(TOO_LONG)
        side, crossed = np.zeros(len(ys), dtype=int), np.zeros(0)
        if wide > 0.75 * height:
            side, crossed = cut(ys, xs, vs, height, slant, stroke)
        parts = np.unique(side)
        for n, k in enumerate(parts):
            mine = side == k
            left = crossed[k - 1] if n > 0 else None     # strokes the cut on the left crosses
            right = crossed[parts[n + 1] - 1] if n + 1 < len(parts) else None
            prims.append(Prim(ys[mine], xs[mine], vs[mine], u[mine], (a, n), (left, right)))
    return sorted(prims, key=lambda p: float(p.u.mean()))


def candidate_groups(prims, height):
    """(i, j) for each run of consecutive primitives i..j-1 that could be one digit: at
    most MAX_GROUP of them, at most twice the line's height wide, no wide gap inside, no
    point first or last beside the rest at their foot (loose_points; one amid a digit's
    pieces, a speck under a 7's bar, may be its own)."""
    groups, points = [], loose_points(prims, height)
    for i in range(len(prims)):
        left, right = prims[i].u.min(), prims[i].u.max()
        for j in range(i + 1, min(i + MAX_GROUP, len(prims)) + 1):
            if j > i + 1:
                if prims[j - 1].u.min() - right > 0.3 * height:
                    break
                left, right = min(left, prims[j - 1].u.min()), max(right, prims[j - 1].u.max())
            if right - left > 2 * height:
                break
            if j > i + 1 and any(_beside(prims, k, i, j) for k in (i, j - 1) if points[k]):
                continue
            groups.append((i, j))
    return groups


POINT = 0.3   # a decimal point or a comma is at most this share of the line's height


def loose_points(prims, height):
    """Which primitives (len(prims),) bool are a point or a comma: a whole component at
    most POINT of the line's height every way, below the middle of the line (that of
    the primitives as tall as TALL of it). Taken into a digit's piece beside which it
    stands, "12.50" read as 1250 with no word of the point; left out, it is a mark
    between digits (layout.marks_between), which reading notes."""
    tall = [q for q in prims if np.ptp(q.ys) + 1 >= TALL * height]
    if not tall:
        return np.zeros(len(prims), dtype=bool)
    middle = np.median([(q.ys.min() + q.ys.max()) / 2 for q in tall])
    return np.array([q.cut == (None, None) and q.ys.min() > middle
                     and max(np.ptp(q.ys), np.ptp(q.u)) + 1 <= POINT * height for q in prims])


def _beside(prims, k, i, j):
    """Whether primitive k stands beside the others of i..j-1: none of their ink in its
    rows, or as high again above it, shares a column with it (a 5's bar may reach over
    a point; columns, not sheared ones, as the point and its neighbour's foot are on one
    level)."""
    q = prims[k]
    top = q.ys.min() - np.ptp(q.ys) - 1
    near = np.concatenate([p.xs[(p.ys >= top) & (p.ys <= q.ys.max())]
                           for n, p in enumerate(prims[i:j], i) if n != k])
    return not np.any((near >= q.xs.min()) & (near <= q.xs.max()))


def _cuts_around(prims, i, j, parts):
    """The strokes crossed by each cut that parts primitives i..j-1 from the rest of their
    components (parts: every primitive's comp): [] when they hold whole components, even
    ones that were cut and are put back together here."""
    others = parts - {q.comp for q in prims[i:j]}
    return [q.cut[side] for q in prims[i:j] for side in (0, 1)
            if (q.comp[0], q.comp[1] + 2 * side - 1) in others]


def _crop(prims, i, j):
    """Box (x0, y0, x1, y1) and ink crop (h, w) of primitives i..j-1 together."""
    ys = np.concatenate([p.ys for p in prims[i:j]])
    xs = np.concatenate([p.xs for p in prims[i:j]])
    y0, x0 = int(ys.min()), int(xs.min())
    crop = np.zeros((int(ys.max()) + 1 - y0, int(xs.max()) + 1 - x0), dtype=np.float32)
    crop[ys - y0, xs - x0] = np.concatenate([p.vs for p in prims[i:j]])
    return (x0, y0, int(xs.max()) + 1, int(ys.max()) + 1), crop


# -- the best reading ----------------------------------------------------------------------------

# A candidate digit's score is its features (group_features) times WEIGHTS; leaving out a
# primitive costs SKIP times how tall it is (skip_shares: a speck nearly nothing). Fitted by
# `python benchmarks/numbers.py --fit-segmentation` on numbers made of MNIST *training*
# digits.
FEATURES = ("log p", "odds", "digit", "cut", "crossed", "short", "squat", "wide", "gap",
            "whole", "reader", "context", "narrow")
WEIGHTS = np.array([1.0, 0.168, -0.1, -1.336, -0.1, -30.0, -0.796, 0.0, 0.796, 0.1, 0.25,
                    0.075, -2.0])
SKIP = 1.336
TALL = 0.65     # a primitive this share of the line's height is a digit's worth of writing
# Ink narrower than NARROW line heights is more often one digit than two that touch: a 2
# with a loop, a 9 with a long tail, a 0 joined to a scrap of a ruled line were cut into
# two digits (a 1 among them) on separated numbers. Cutting such ink costs ("narrow").
# Chosen by `python benchmarks/numbers.py --data-dir data --narrow-weights` (training
# digits 50,000+): at 1.6 heights and weight 2, the choosing half reads 87.8% as without
# it, the checking half 84.5% (84.0% without), ruled paper 98% (97%), touching 79.0%
# unchanged; heavier weights cost touching numbers, as a 1 and its neighbour are narrow
# ink too.
NARROW = 1.6


def best_path(prims, groups, p, height, evidence, weights=WEIGHTS, skip=SKIP, writing=False):
    """Indices into groups of the digits of the best reading, left to right: the path
    through the primitives maximising the sum of its digits' scores less the cost of
    the primitives it leaves out. writing=True: the line is writing, not specks (see
    read_line), so when leaving everything out scores best (a blob of touching digits the
    detector doubts), the pieces as tall as the line are read anyway."""
    scores = group_features(prims, groups, p, height, evidence) @ weights   # (len(groups),)
    path = _best_path(len(prims), groups, scores, skip * skip_shares(prims, height))
    if path or not writing:
        return path
    return _best_path(len(prims), groups, scores,
                      np.where(_heights(prims, height) >= TALL, 1e9, 0.0))


def skip_shares(prims, height):
    """The share of SKIP that leaving out each primitive costs (len(prims),): its height
    over TALL line heights, at most 1."""
    return np.minimum(1.0, _heights(prims, height) / TALL)


def _heights(prims, height):
    """Each primitive's height in line heights (len(prims),)."""
    return np.array([(np.ptp(q.ys) + 1) / height for q in prims])


def _best_path(n, groups, scores, skip_cost):
    """Dynamic programming over the nodes 0..n (between primitives): best[j] is the best
    score of a reading of primitives 0..j-1, back[j] the group that ends it (None: j-1
    left out)."""
    best = np.full(n + 1, -np.inf)
    best[0], back = 0.0, [None] * (n + 1)
    ending = [[] for _ in range(n + 1)]
    for g, (i, j) in enumerate(groups):
        ending[j].append(g)
    for j in range(1, n + 1):
        best[j] = best[j - 1] - skip_cost[j - 1]
        for g in ending[j]:
            if best[groups[g][0]] + scores[g] > best[j]:
                best[j], back[j] = best[groups[g][0]] + scores[g], g
    path, j = [], n
    while j > 0:
        g = back[j]
        if g is not None:
            path.append(g)
        j = groups[g][0] if g is not None else j - 1
    return path[::-1]


def group_features(prims, groups, p, height, evidence):
    """The features (len(groups), len(FEATURES)) of each candidate digit: log-probability
    of its best digit; the detector's log-odds less its threshold, clipped to [-8, 8]; 1;
    half the number of cuts through ink that part it from its neighbours (each side pays
    half) and half the strokes they cross; how much shorter than TALL of the line; how
    much wider than tall beyond 1; how much wider than the line is tall beyond 1; the
    widest gap between its pieces (in line heights) beyond 0.05; the window reader's
    log-odds of one digit, clipped to [-10, 10], and its log-probability of the digit;
    the context reader's log-odds of one digit, clipped to [-10, 10]; for each component it
    holds part of, half of how much narrower than NARROW line heights the component is."""
    f = np.zeros((len(groups), len(FEATURES)))
    f[:, 0] = np.log(np.maximum(p.max(axis=1), 1e-12))
    f[:, 1] = np.clip(evidence[:, 0], -8, 8)
    f[:, 2] = 1
    f[:, 9] = np.clip(evidence[:, 1], -10, 10)
    f[:, 10] = evidence[:, 2]
    f[:, 11] = np.clip(evidence[:, 3], -10, 10)
    parts = {q.comp for q in prims}
    extent = {}                                         # component -> its ink's (left, right)
    for q in prims:
        left, right = extent.get(q.comp[0], (np.inf, -np.inf))
        extent[q.comp[0]] = min(left, q.u.min()), max(right, q.u.max())
    for g, (i, j) in enumerate(groups):
        cuts = _cuts_around(prims, i, j, parts)
        f[g, 3:5] = len(cuts) / 2, sum(cuts) / 2
        mine = {q.comp for q in prims[i:j]}
        split = {c for c, _ in mine} & {c for c, _ in parts - mine}  # components it cuts
        f[g, 12] = sum(max(0.0, NARROW - (extent[c][1] - extent[c][0] + 1) / height)
                       for c in split) / 2
        ys = np.concatenate([q.ys for q in prims[i:j]])
        spans = np.array(sorted((q.u.min(), q.u.max()) for q in prims[i:j]))   # (k, 2)
        reach = np.maximum.accumulate(spans[:, 1])     # the furthest right ink so far
        gap = max(0.0, float(np.max(spans[1:, 0] - reach[:-1], initial=0.0)))
        tall, wide = np.ptp(ys) + 1, reach[-1] - spans[0, 0] + 1
        f[g, 5:9] = (max(0.0, TALL - tall / height), max(0.0, wide / tall - 1),
                     max(0.0, wide / height - 1), max(0.0, gap / height - 0.05))
    return f
