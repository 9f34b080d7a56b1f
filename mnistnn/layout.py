"""The layout of a line of handwriting, from its ink map (numpy only): ruled lines and
form boxes removed, 8-connected components, and the line's height, pen width and slant.

    ink = remove_rules(ink)               # (H, W) without ruled paper's lines, form boxes, rings
    labels = components(ink > 0)          # (H, W) 0 off the ink, 1, 2, ... per component
    height = line_height(ys, labels[ys, xs]); slant = estimate_slant(ys, xs, ink[ys, xs])
"""
import numpy as np

SLANTS = np.linspace(-0.6, 0.6, 13)   # shears tried: -31 to 31 degrees from upright
RULE_COVER = 0.8      # a rule crosses at least this share of the image


# -- ruled paper ---------------------------------------------------------------------------

def remove_rules(ink, least=1):
    """ink (H, W) without the paper's printed lines: thin bands of rows (and of columns)
    whose ink covers RULE_COVER of the image are cleared, except where a stroke crosses
    them (judged with the other direction's rules left out, so that rules do not cross
    each other), and first a form's boxes (remove_frames). With fewer than `least` such bands,
    the rules stay: an image of one digit cropped close holds one band that may be the
    digit's own (a 7's bar), and paper shows several. Last, a ring drawn round the
    writing goes (remove_rings: on ruled paper the rules join it to everything)."""
    ink = remove_frames(ink)
    rows, cols = _rules(ink), _rules(ink.T)                   # (H,), (W,) bool
    if len(_bands(rows)) + len(_bands(cols)) < least:
        return remove_rings(ink)
    clean = ink.copy()
    _clear(clean, rows, ink * ~cols[None, :])
    _clear(clean.T, cols, (ink * ~rows[:, None]).T)           # .T: a view of clean
    return remove_rings(clean)


def _rules(ink):
    """Which rows of ink (H, W) are rules: thin bands whose ink, small gaps bridged,
    covers RULE_COVER of the width. (H,) bool."""
    H, W = ink.shape
    rule = _dilate(ink > 0, max(2, W // 200)).mean(axis=1) >= RULE_COVER
    for top, bottom in _bands(rule):
        if bottom - top > max(3, 0.03 * H):
            rule[top:bottom] = False                          # too thick to be a rule
    return rule


def _bands(rule):
    """The runs of True in rule (n,) bool, as (start, stop) pairs."""
    edges = np.flatnonzero(np.diff(np.r_[0, rule.view(np.int8), 0]))
    return list(zip(edges[::2], edges[1::2]))


def _clear(out, rule, judge):
    """Clear the rule rows (H,) of out (H, W) in place, except in the columns where judge
    (H, W) has ink just above or below the band: a stroke crossing the rule."""
    for top, bottom in _bands(rule):
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


# -- the boxes of a printed form ---------------------------------------------------------------

FRAME_COVER = 0.95   # a side of a printed box is inked along this share of its length
FRAME_THIN = 0.1     # ... by a line at most this share of the box's size thick (3 px or less)


def remove_frames(ink):
    """Ink (H, W) without the printed boxes of a form that digits are written in: in each
    component that holds at least two straight lines across its whole width (a top and a
    bottom) and two down its whole height (the sides), thin for its size, those lines are
    cleared, but where a stroke crosses them (a digit written over a box's side). One box,
    or a comb of boxes side by side; a handwritten 0 has no sides inked along their whole
    length. When nothing else is left, the ink stays: a square is not a digit."""
    mask = ink > 0
    labels = components(mask)
    ys, xs = np.nonzero(mask)
    clean = None
    for k, (top, bottom, left, right) in enumerate(boxes_of(ys, xs, labels[ys, xs])):
        mine = labels[top:bottom, left:right] == k + 1         # (h, w): this component
        lines = _frame_lines(mine) if min(mine.shape) >= 8 else None
        if lines is None:
            continue
        clean = ink.copy() if clean is None else clean
        across, down = (_dilate(line[None], 1)[0] for line in lines)   # and their blur
        out, judge = clean[top:bottom, left:right], np.where(mine, ink[top:bottom, left:right], 0)
        _clear(out, across, judge * ~down[None, :])
        _clear(out.T, down, (judge * ~across[:, None]).T)      # .T: views of clean
    return ink if clean is None or not clean.any() else clean


def _frame_lines(mine):
    """The rows (h,) and columns (w,) bool of a component's box (its mask (h, w) bool)
    that are a printed box's lines, or None when it is no box (see remove_frames)."""
    thin = max(3.0, FRAME_THIN * min(mine.shape))
    across, down = mine.mean(axis=1) >= FRAME_COVER, mine.mean(axis=0) >= FRAME_COVER
    bands = [_bands(across), _bands(down)]
    if min(len(b) for b in bands) < 2 or any(stop - start > thin for b in bands
                                             for start, stop in b):
        return None
    return across, down


# -- a ring drawn round writing ----------------------------------------------------------------

RING_INSIDE = 0.25   # writing inside a ring is at least this share of the ring's height
RING_AROUND = 0.9    # ... and the ring's ink lies in this share of the directions round it
RING_HOLLOW = 0.05   # ... and at most this share of it lies in the middle of its box


def remove_rings(ink):
    """Ink (H, W) without the rings drawn round writing (a circled number, a box drawn by
    hand round a digit): each component that goes round writing (_rings_round) goes
    whole. A 0, a 6, an 8 or a 9 holds no writing in its loops, and a ring with nothing
    in it stays (a circle is not a digit)."""
    mask = ink > 0
    labels = components(mask)
    ys, xs = np.nonzero(mask)
    boxes = boxes_of(ys, xs, labels[ys, xs])
    rings = [k + 1 for k in range(len(boxes)) if _rings_round(labels, boxes, k)]
    return np.where(np.isin(labels, rings), 0, ink).astype(ink.dtype) if rings else ink


def _rings_round(labels, boxes, k):
    """Whether component k + 1 (labels (H, W), boxes (n, 4) as boxes_of's) is a ring
    round writing: another component at least RING_INSIDE of its height lies in its box,
    and seen from that component's middle, the ring's ink lies in RING_AROUND of the
    directions (of 36), and on all four sides beyond it: above and below it in its
    columns, left and right of it in its rows; and the ring is hollow: at most
    RING_HOLLOW of its ink lies in the ellipse of half its box's size at its box's
    middle. A ring drawn by hand seldom closes: a gap of up to a tenth of the way round
    is still a ring. A line of touching digits is ink in most directions from a speck or
    a 1 standing apart among them, but it fills its box: it is no ring."""
    top, bottom, left, right = boxes[k]
    inside = [m for m, (t, b, l, r) in enumerate(boxes) if m != k and t > top and
              b < bottom and l > left and r < right and b - t >= RING_INSIDE * (bottom - top)]
    if not inside:
        return False
    ry, rx = np.nonzero(labels[top:bottom, left:right] == k + 1)   # the ring's pixels
    height, width = bottom - top, right - left
    middle = ((ry + 0.5) / height - 0.5) ** 2 + ((rx + 0.5) / width - 0.5) ** 2 < 0.25 ** 2
    if middle.mean() > RING_HOLLOW:
        return False
    ry, rx = ry + top, rx + left
    for m in inside:
        t, b, l, r = boxes[m]
        my, mx = np.nonzero(labels[t:b, l:r] == m + 1)
        angle = np.arctan2(ry - (my.mean() + t), rx - (mx.mean() + l))   # (n,) in [-pi, pi]
        bins = np.unique(np.minimum((angle + np.pi) / (2 * np.pi) * 36, 35).astype(int))
        cols, rows = (rx >= l) & (rx < r), (ry >= t) & (ry < b)
        if len(bins) >= RING_AROUND * 36 and (cols & (ry < t)).any() and (
                cols & (ry >= b)).any() and (rows & (rx < l)).any() and (rows & (rx >= r)).any():
            return True
    return False


# -- a photo's margins ------------------------------------------------------------------------

MARGIN = 0.15   # of the image's shorter side: how far in from its edge a margin reaches


def remove_margins(ink):
    """Ink (H, W) with what lies along the photo's edges cleared: the table beside the
    sheet, the dark wedges at the corners of a sheet shot a little crooked. Such a margin
    is a component of the ink that touches an edge, lies (90% of it) within MARGIN of the
    edges, and runs along a third of an edge or more; a digit does not, even one that
    touches an edge. It is cleared only when other ink remains: a line drawn along the
    edge of an otherwise empty image is what the image shows. Paper all round (the
    usual case) costs one look at the edges."""
    mask = ink > 0
    if not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()):
        return ink
    H, W = ink.shape
    labels = components(mask)
    edges = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    ys, xs = np.nonzero(mask)
    own, band = labels[ys, xs], MARGIN * min(H, W)
    near = np.minimum(np.minimum(ys, H - 1 - ys), np.minimum(xs, W - 1 - xs)) < band
    margins = []
    for k in edges[edges > 0]:
        mine = own == k
        long = np.ptp(ys[mine]) + 1 >= H / 3 or np.ptp(xs[mine]) + 1 >= W / 3
        if long and near[mine].mean() >= 0.9:
            margins.append(k)
    kept = ~np.isin(labels, margins)
    if not margins or not (mask & kept).any():
        return ink
    return np.where(kept, ink, 0).astype(ink.dtype)


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


def component_boxes(ink):
    """The box of each 8-connected component of ink (H, W) > 0: (components, 4) int,
    rows (top, bottom, left, right), bottom and right exclusive."""
    ys, xs = np.nonzero(ink)
    return boxes_of(ys, xs, components(ink > 0)[ys, xs])


def boxes_of(ys, xs, labels):
    """component_boxes from the ink's pixels (n,) and their components' labels (n,), for
    a caller that has them already."""
    if not len(ys):
        return np.zeros((0, 4), dtype=int)
    order = np.argsort(labels, kind="stable")
    ys, xs, labels = ys[order], xs[order], labels[order]     # by component
    first = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    return np.stack([np.minimum.reduceat(ys, first), np.maximum.reduceat(ys, first) + 1,
                     np.minimum.reduceat(xs, first), np.maximum.reduceat(xs, first) + 1],
                    axis=1)


def side_by_side(ink, gap=0.2, tall=0.5, speck=0.15):
    """How many pieces of writing stand side by side in ink (H, W): groups of components
    whose columns are apart by more than `gap` of the writing's height, each group at
    least `tall` of that height. Specks (no side `speck` of the height, as the reading of
    numbers leaves them out: dust, the dots where squared paper's lines crossed) are not
    writing. A digit gives 1 (its parts share columns), "2026" written apart gives 4;
    neighbours that touch or lean over each other count as one."""
    boxes = component_boxes(ink)                           # (components, 4)
    if not len(boxes):
        return 0
    size = np.maximum(boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2])
    boxes = boxes[size >= speck * size.max()]
    height = boxes[:, 1].max() - boxes[:, 0].min()
    groups = []                                    # [top, bottom, left, right], by left
    for top, bottom, left, right in boxes[np.argsort(boxes[:, 2])]:
        if groups and left - groups[-1][3] <= gap * height:
            g = groups[-1]
            g[:] = min(g[0], top), max(g[1], bottom), g[2], max(g[3], right)
        else:
            groups.append([top, bottom, left, right])
    return sum(bottom - top >= tall * height for top, bottom, _, _ in groups)


def lines_of_writing(boxes, tall=0.5, speck=0.15, least=8):
    """How many lines of writing lie one above the other, from the ink's component_boxes
    (components, 4): bands of rows held by components whose rows overlap, each band at
    least `tall` of the tallest (an underline, a dash or a dot is no line of its own)
    and `least` pixels tall. Specks (no side `speck` of the tallest component) are not
    writing. A number gives 1, a number under an address 2 or more."""
    if not len(boxes):
        return 0
    heights = boxes[:, 1] - boxes[:, 0]
    boxes = boxes[np.maximum(heights, boxes[:, 3] - boxes[:, 2]) >= speck * heights.max()]
    bands = []                                             # [top, bottom], by top
    for top, bottom in boxes[np.argsort(boxes[:, 0]), :2]:
        if bands and top <= bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], bottom)
        else:
            bands.append([top, bottom])
    tallest = max(bottom - top for top, bottom in bands)
    return sum(bottom - top >= max(tall * tallest, least) for top, bottom in bands)


def marks_between(ink, boxes, least=0.1, most=0.5):
    """Which gaps between neighbouring digits hold a mark the reading left out (a decimal
    point, a comma, a dash): [k, ...], k for the gap between boxes[k] and boxes[k + 1]
    (x0, y0, x1, y1 in ink's pixels, left to right), and -1 for a mark before the first
    digit, within the digits' height of it (a minus sign). A mark is a component of ink
    (H, W) that touches no digit's box, stands between the two digits' centres and, by
    its middle, between their tops and a little below their bottoms, and is from `least`
    to `most` of the digits' median height on its longer side (smaller is dust, larger
    would have been read)."""
    if not len(boxes):
        return []
    y0, y1, x0, x1 = component_boxes(ink).T                 # (components,) each
    b = np.asarray(boxes, dtype=float)                      # (k, 4)
    height = float(np.median(b[:, 3] - b[:, 1]))
    size = np.maximum(y1 - y0, x1 - x0)
    apart = np.all((x1[:, None] <= b[None, :, 0]) | (x0[:, None] >= b[None, :, 2]) |
                   (y1[:, None] <= b[None, :, 1]) | (y0[:, None] >= b[None, :, 3]), axis=1)
    mark = apart & (size >= least * height) & (size <= most * height)
    middle, level = (x0 + x1) / 2, (y0 + y1) / 2
    # the gaps' left and right ends: before the first digit, then centre to centre
    ends = np.r_[b[0, 0] - height, (b[:, 0] + b[:, 2]) / 2]
    row = np.r_[0, np.arange(len(b))]                       # the digit left of each gap
    return [k for k in range(-1, len(b) - 1)
            if np.any(mark & (middle > ends[k + 1]) & (middle < ends[k + 2])
                      & (level > min(b[row[k + 1], 1], b[k + 1, 1]))      # within the line's
                      & (level < max(b[row[k + 1], 3], b[k + 1, 3]) + 0.1 * height))]  # band


def stroke_width(ink):
    """The pen's width in pixels: the median length of the horizontal runs of ink."""
    d = np.diff(np.pad((ink > 0).view(np.int8), ((0, 0), (1, 1))), axis=1)
    runs = np.nonzero(d == -1)[1] - np.nonzero(d == 1)[1]
    return float(np.median(runs)) if len(runs) else 1.0


def estimate_slant(ys, xs, vs):
    """The shear s (x' = x + s (y - mean y)) that makes the ink's column profile sharpest
    (largest sum of squares): upright strokes then stand in few columns."""
    y = ys - ys.mean()
    sharpness = [np.sum(np.bincount(np.floor(xs + s * y - (xs + s * y).min()).astype(int),
                                    weights=vs) ** 2) for s in SLANTS]
    return float(SLANTS[int(np.argmax(sharpness))])
