"""A candidate digit among its neighbours: the frames the context reader reads (numpy only).

    x = frames(ink, prims, groups, height)   # (len(groups), SIZE) float32 in [0, 1]

A piece cut out of a line of touching digits, seen alone, often cannot say whether it is
a whole digit: a 1 cut out of its neighbour looks like the stem of a 4 cut off. Its
surroundings can. Each candidate (a run of primitives, segment.py) is shown in a frame
1.5 line heights tall and 2.5 wide, centred on its box, at PER_HEIGHT pixels per line
height, in two channels: its own ink, and all the line's ink in the frame.

A frame pixel holds the ink of the line's pixels that fall in it times their area (the
mean ink when it is covered). Sums over rectangles come from integral images (a
cumulative sum over rows and columns), one of the whole line and one of each primitive,
so a frame costs a few lookups whatever the photo's resolution.
"""
import numpy as np

HEIGHT, WIDTH, PER_HEIGHT = 24, 40, 16.0   # 1.5 x 2.5 line heights, 16 px per line height
SIZE = HEIGHT * WIDTH * 2                  # the reader's inputs
SPEC_INPUT = f"2x{HEIGHT}x{WIDTH}"         # its layer spec's first item


def frames(ink, prims, groups, height):
    """(len(groups), SIZE) float32: each group (i, j) of primitives prims[i:j] (with
    .ys, .xs, .vs) in its frame, its own ink and all of ink (H, W)'s."""
    n = len(groups)
    out = np.zeros((n, HEIGHT, WIDTH, 2), np.float32)
    if not n:
        return out.reshape(0, SIZE)
    scale = PER_HEIGHT / height                                 # frame px per ink px
    box = np.array([[q.ys.min(), q.ys.max(), q.xs.min(), q.xs.max()] for q in prims])
    spans = np.array([(box[i:j, 0].min(), box[i:j, 1].max(), box[i:j, 2].min(),
                       box[i:j, 3].max()) for i, j in groups], dtype=float)
    top = (spans[:, 0] + spans[:, 1] + 1) / 2 - HEIGHT / 2 / scale
    left = (spans[:, 2] + spans[:, 3] + 1) / 2 - WIDTH / 2 / scale
    # Pixel y falls in frame row r when r <= (y - top) * scale < r + 1, that is, from row
    # ceil(top + r / scale) of the ink up to the next edge: (n, HEIGHT + 1) and (n, WIDTH + 1).
    rows = np.ceil(top[:, None] + np.arange(HEIGHT + 1) / scale).astype(int)
    cols = np.ceil(left[:, None] + np.arange(WIDTH + 1) / scale).astype(int)
    out[..., 1] = _sums(_integral(ink), rows, cols)
    for p, q in enumerate(prims):                         # each primitive's own ink
        mine = [g for g, (i, j) in enumerate(groups) if i <= p < j]
        y0, x0 = box[p, 0], box[p, 2]
        canvas = np.zeros((box[p, 1] - y0 + 1, box[p, 3] - x0 + 1))
        canvas[q.ys - y0, q.xs - x0] = q.vs
        out[mine, :, :, 0] += _sums(_integral(canvas), rows[mine] - y0, cols[mine] - x0)
    np.minimum(1.0, out * (scale * scale), out=out)
    return out.reshape(n, SIZE)


def _integral(a):
    """S (H + 1, W + 1): S[y, x] the sum of a[:y, :x]."""
    s = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    np.cumsum(np.cumsum(a, axis=0), axis=1, out=s[1:, 1:])
    return s


def _sums(s, rows, cols):
    """The sums (n, HEIGHT, WIDTH) of the rectangles between consecutive edges rows (n,
    HEIGHT + 1) and cols (n, WIDTH + 1) of the array whose integral image is s (edges
    outside it clipped: nothing lies there)."""
    r = np.clip(rows, 0, s.shape[0] - 1)[:, :, None]
    c = np.clip(cols, 0, s.shape[1] - 1)[:, None, :]
    corner = s[r, c]                                            # (n, HEIGHT + 1, WIDTH + 1)
    return corner[:, 1:, 1:] - corner[:, :-1, 1:] - corner[:, 1:, :-1] + corner[:, :-1, :-1]
