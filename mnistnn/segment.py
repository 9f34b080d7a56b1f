"""A line of handwritten digits -> one piece of ink per digit, left to right (numpy only).

    digits = read_line(ink, score)   # ink (H, W) from imaging.load_ink; score: crops -> (N, 10)

The network decides where one digit ends and the next begins:

    rules        long thin lines crossing the whole image (ruled or squared paper) removed
    components   8-connected blobs of ink, found from the runs of each row
    slant        the shear that makes the column profile sharpest; every x below is
                 measured along the writing's slant (x' = x + slant * (y - middle))
    primitives   the components, wide ones cut at the valleys of their column profile
    best path    dynamic programming over groups of consecutive primitives: each group is
                 scored by the network (log-probability of its best digit) and by its shape
                 (a digit is about as tall as the line, not much wider than tall, one
                 piece of writing); small specks and scraps of line may be left out.

Pieces are crops of the ink (h, w), scored by a callback (the reader turns each into the
MNIST form, the same code as a single digit, and asks the network), so this module needs
nothing but numpy.
"""
from collections import namedtuple

import numpy as np

from .errors import ImageError

MAX_DIGITS = 40       # more digit-sized pieces than this is not one number
MAX_GROUP = 7         # primitives one digit may be made of
SLANTS = np.linspace(-0.6, 0.6, 13)   # shears tried: -31 to 31 degrees from upright
RULE_COVER = 0.8      # a rule crosses at least this share of the image
MIN_HEIGHT = 0.4      # a digit is at least this share of the line's height

Digit = namedtuple("Digit", "box ink probabilities")   # box (x0, y0, x1, y1), ink (h, w)
# A primitive: its pixels' rows, columns, ink and sheared x (n,) each; comp: (component,
# index of the part); cut: strokes crossed by the cut on its (left, right), None: no cut.
Prim = namedtuple("Prim", "ys xs vs u comp cut")


def read_line(ink, score):
    """The digits of the line in ink (H, W) float in [0, 1], left to right: [Digit, ...].

    score(list of crops (h, w)) -> probabilities (N, 10). Raises ImageError when the line
    holds more than MAX_DIGITS digit-sized pieces."""
    line = candidates(ink, score)
    path = best_path(*line)
    prims, groups, p, _ = line
    return [Digit(*_crop(prims, *groups[g]), p[g]) for g in path]


Line = namedtuple("Line", "prims groups p height")


def candidates(ink, score):
    """Everything the best path is chosen from: Line(primitives, candidate groups (i, j),
    their probabilities (len(groups), 10), the line's height in pixels)."""
    ink = remove_rules(ink)
    ys, xs = np.nonzero(ink)
    labels = components(ink > 0)[ys, xs]                    # (n,) component of each pixel
    height = line_height(ys, labels)
    slant = estimate_slant(ys, xs, ink[ys, xs])
    u = xs + slant * (ys - ys.mean())                          # (n,) sheared x
    prims = primitives((ys, xs, ink[ys, xs], u), labels, height, slant, stroke_width(ink))
    groups = candidate_groups(prims, height)
    p = score([_crop(prims, i, j)[1] for i, j in groups])       # (len(groups), 10)
    return Line(prims, groups, p, height)


# -- ruled paper ---------------------------------------------------------------------------

def remove_rules(ink):
    """ink (H, W) without ruled lines: thin bands of rows (and of columns) whose ink covers
    RULE_COVER of the image are cleared, except where a stroke crosses them (judged with
    the other direction's rules left out, so that rules do not cross each other)."""
    rows, cols = _rules(ink), _rules(ink.T)                   # (H,), (W,) bool
    clean = ink.copy()
    _clear(clean, rows, ink * ~cols[None, :])
    _clear(clean.T, cols, (ink * ~rows[:, None]).T)           # .T: a view of clean
    return clean


def _rules(ink):
    """Which rows of ink (H, W) are rules: thin bands whose ink, small gaps bridged,
    covers RULE_COVER of the width. (H,) bool."""
    H, W = ink.shape
    rule = _dilate(ink > 0, max(2, W // 200)).mean(axis=1) >= RULE_COVER
    edges = np.flatnonzero(np.diff(np.r_[0, rule.view(np.int8), 0]))
    for top, bottom in zip(edges[::2], edges[1::2]):
        if bottom - top > max(3, 0.03 * H):
            rule[top:bottom] = False                          # too thick to be a rule
    return rule


def _clear(out, rule, judge):
    """Clear the rule rows (H,) of out (H, W) in place, except in the columns where judge
    (H, W) has ink just above or below the band: a stroke crossing the rule."""
    edges = np.flatnonzero(np.diff(np.r_[0, rule.view(np.int8), 0]))
    for top, bottom in zip(edges[::2], edges[1::2]):
        above = judge[max(top - 2, 0):top].max(axis=0, initial=0)
        below = judge[bottom:bottom + 2].max(axis=0, initial=0)
        crossing = _dilate((above > 0) | (below > 0), 1)     # (W,)
        out[top:bottom, ~crossing] = 0


def _dilate(mask, radius):
    """Boolean mask (..., W) grown by radius pixels along its last axis."""
    k = 2 * radius + 1
    c = np.cumsum(np.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(radius + 1, radius)]),
                  axis=-1)
    return (c[..., k:] - c[..., :-k]) > 0


# -- connected components ----------------------------------------------------------------------

def components(mask):
    """8-connected components of mask (H, W) bool -> labels (H, W) int, 0 off the ink,
    1, 2, ... for the components (numbered by their first run, top to bottom)."""
    H, W = mask.shape
    d = np.diff(np.pad(mask.view(np.int8), ((0, 0), (1, 1))), axis=1)    # (H, W + 1)
    rows, starts = np.nonzero(d == 1)      # runs of ink: [start, end) in each row
    ends = np.nonzero(d == -1)[1]
    key = rows * (W + 2)
    # The runs of the next row that touch each run (columns overlap, corners count).
    lo = np.searchsorted(key + ends, key + W + 2 + starts, side="left")
    hi = np.searchsorted(key + starts, key + W + 2 + ends, side="right")
    count = np.maximum(hi - lo, 0)
    a = np.repeat(np.arange(len(rows)), count)
    b = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count - lo, count)
    root = _union(len(rows), a, b)
    ids = np.unique(root, return_inverse=True)[1].ravel() + 1     # (runs,) 1, 2, ...
    acc = np.zeros((H, W + 1), dtype=np.int64)
    np.add.at(acc, (rows, starts), ids)
    np.add.at(acc, (rows, ends), -ids)
    return np.cumsum(acc, axis=1)[:, :W]


def _union(n, a, b):
    """Roots of n nodes joined by the edges (a[k], b[k]): each node's smallest connected
    index, by propagating minima along the edges and jumping to the roots' roots."""
    root = np.arange(n)
    while True:
        low = np.minimum(root[a], root[b])
        new = root.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, root):
            return root
        root = new


# -- the line's geometry -----------------------------------------------------------------------

def line_height(ys, labels):
    """The height of the line's digits in pixels: the median component height, weighted
    by ink, so that specks and the loose parts of a digit count little."""
    order = np.argsort(labels, kind="stable")
    ys, labels = ys[order], labels[order]
    first = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    top = np.minimum.reduceat(ys, first)
    tall = np.maximum.reduceat(ys, first) - top + 1               # (components,)
    weight = np.diff(np.r_[first, len(ys)])                       # pixels in each
    order = np.argsort(tall)
    cumulative = np.cumsum(weight[order])
    return float(tall[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def stroke_width(ink):
    """The pen's width in pixels: the median length of the horizontal runs of ink."""
    d = np.diff(np.pad((ink > 0).view(np.int8), ((0, 0), (1, 1))), axis=1)
    runs = np.nonzero(d == -1)[1] - np.nonzero(d == 1)[1]
    return float(np.median(runs)) if len(runs) else 1.0


def estimate_slant(ys, xs, vs):
    """The shear s (x' = x + s (y - mean y)) that makes the ink's column profile sharpest
    (largest sum of squares): upright strokes then stand in few columns."""
    y = ys - ys.mean()
    sharpness = [np.sum(np.bincount(np.round(xs + s * y - (xs + s * y).min()).astype(int),
                                    weights=vs) ** 2) for s in SLANTS]
    return float(SLANTS[int(np.argmax(sharpness))])


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
            raise ImageError(f"the line holds more than {MAX_DIGITS} digit-sized pieces of "
                             f"writing: too long to be one number")
        side, crossed = np.zeros(len(ys), dtype=int), np.zeros(0)
        if wide > 0.75 * height:
            side, crossed = _cut(ys, xs, vs, height, slant, stroke)
        parts = np.unique(side)
        for n, k in enumerate(parts):
            mine = side == k
            left = crossed[k - 1] if n > 0 else None     # strokes the cut on the left crosses
            right = crossed[parts[n + 1] - 1] if n + 1 < len(parts) else None
            prims.append(Prim(ys[mine], xs[mine], vs[mine], u[mine], (a, n), (left, right)))
    return sorted(prims, key=lambda p: float(p.u.mean()))


def _cut(ys, xs, vs, height, slant, stroke):
    """Cut one wide component along paths from its top to its bottom, one near every
    0.2 height along the slant, each crossing as little ink as it can (moving at most two
    pixels sideways per row). Returns each pixel's piece (n,) and the strokes each cut
    crosses (K,)."""
    y0, x0 = ys.min(), xs.min()
    crop = np.zeros((ys.max() - y0 + 1, xs.max() - x0 + 1))
    crop[ys - y0, xs - x0] = vs
    h, w = crop.shape
    lean = -slant * (np.arange(h) - (h - 1) / 2)                 # (h,) the slant's x offset
    lo, hi = -lean.min() + 0.2 * height, w - lean.max() - 0.2 * height
    centres = np.arange(lo, hi, 0.2 * height) if hi > lo else np.zeros(0)
    if not len(centres):
        return np.zeros(len(ys), dtype=int), np.zeros(0)
    paths = _least_ink_paths(crop, centres[:, None] + lean[None, :], 0.5 / height)
    paths = paths[np.argsort(paths.mean(axis=1))]
    paths = np.maximum.accumulate(paths, axis=0)                # cuts never cross
    keep = np.r_[True, np.abs(np.diff(paths, axis=0)).mean(axis=1) > 0.03 * height]
    paths = paths[keep]                                          # (K, h)
    crossed = crop[np.arange(h)[None, :], paths].sum(axis=1) / max(stroke, 1.0)
    side = (xs[None, :] - x0 >= paths[:, ys - y0]).sum(axis=0)  # (n,) 0..K
    return side, crossed


def _least_ink_paths(crop, guides, weight, reach=2):
    """For each guide line (K, h) of x positions, the path (K, h) int from the top row of
    crop (h, w) to the bottom, one column per row, moving at most reach columns per row,
    minimising the ink it crosses plus weight times its distance from the guide."""
    h, w = crop.shape
    columns = np.arange(w)
    cost = crop[None, 0] + weight * np.abs(columns[None, :] - guides[:, :1])   # (K, w)
    step = np.zeros((len(guides), h, w), dtype=np.int8)
    shifts = np.arange(-reach, reach + 1)
    for r in range(1, h):
        padded = np.pad(cost, ((0, 0), (reach, reach)), constant_values=np.inf)
        options = np.stack([padded[:, reach + d:reach + d + w] for d in shifts])  # (S, K, w)
        choice = np.argmin(options, axis=0)                                  # (K, w)
        cost = np.take_along_axis(options, choice[None], axis=0)[0]
        cost = cost + crop[r] + weight * np.abs(columns[None, :] - guides[:, r:r + 1])
        step[:, r] = shifts[choice]                           # came from x + step
    path = np.zeros((len(guides), h), dtype=int)
    path[:, -1] = np.argmin(cost, axis=1)
    k = np.arange(len(guides))
    for r in range(h - 1, 0, -1):
        path[:, r - 1] = path[:, r] + step[k, r, path[:, r]]
    return path


def candidate_groups(prims, height):
    """(i, j) for each run of consecutive primitives i..j-1 that could be one digit: at
    most MAX_GROUP of them, at most twice the line's height wide, no wide gap inside."""
    groups = []
    for i in range(len(prims)):
        left, right = prims[i].u.min(), prims[i].u.max()
        for j in range(i + 1, min(i + MAX_GROUP, len(prims)) + 1):
            if j > i + 1:
                if prims[j - 1].u.min() - right > 0.3 * height:
                    break
                left, right = min(left, prims[j - 1].u.min()), max(right, prims[j - 1].u.max())
            if right - left > 2 * height:
                break
            groups.append((i, j))
    return groups


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
# primitive costs SKIP times how tall it is (a speck: nothing). Fitted by
# `python benchmarks/numbers.py --fit` on numbers made of MNIST *training* digits.
FEATURES = ("log p", "digit", "cut", "crossed", "short", "squat", "wide", "gap")
WEIGHTS = np.array([1.0, 0.796, -1.336, -2.245, -30.0, -6.332, 1.336, -30.0])
SKIP = 2.245


def best_path(prims, groups, p, height, weights=WEIGHTS, skip=SKIP):
    """Indices into groups of the digits of the best reading, left to right: the path
    through the primitives maximising the sum of its digits' scores less the cost of
    the primitives it leaves out."""
    scores = group_features(prims, groups, p, height) @ weights       # (len(groups),)
    tall = np.array([(np.ptp(q.ys) + 1) / height for q in prims])
    return _best_path(len(prims), groups, scores, skip * np.minimum(1.0, tall / 0.65))


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


def group_features(prims, groups, p, height):
    """The features (len(groups), len(FEATURES)) of each candidate digit: log-probability
    of its best digit; 1; half the number of cuts through ink that part it from its
    neighbours (each side pays half) and half the strokes they cross; how much shorter
    than 0.65 of the line; how much wider than tall beyond 1; how much wider than the line
    is tall beyond 1; the widest gap between its pieces (in line heights) beyond 0.05."""
    f = np.zeros((len(groups), len(FEATURES)))
    f[:, 0] = np.log(np.maximum(p.max(axis=1), 1e-12))
    f[:, 1] = 1
    parts = {q.comp for q in prims}
    for g, (i, j) in enumerate(groups):
        mine = {q.comp for q in prims[i:j]}
        cuts = [q.cut[side] for q in prims[i:j] for side in (0, 1)
                if (q.comp[0], q.comp[1] + 2 * side - 1) in parts - mine]
        f[g, 2:4] = len(cuts) / 2, sum(cuts) / 2
        ys = np.concatenate([q.ys for q in prims[i:j]])
        spans = np.array(sorted((q.u.min(), q.u.max()) for q in prims[i:j]))   # (k, 2)
        reach = np.maximum.accumulate(spans[:, 1])     # the furthest right ink so far
        gap = max(0.0, float(np.max(spans[1:, 0] - reach[:-1], initial=0.0)))
        tall, wide = np.ptp(ys) + 1, reach[-1] - spans[0, 0] + 1
        f[g, 4:] = (max(0.0, 0.65 - tall / height), max(0.0, wide / tall - 1),
                    max(0.0, wide / height - 1), max(0.0, gap / height - 0.05))
    return f
