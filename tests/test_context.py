"""context.frames: each candidate digit in a frame of its own, among its neighbours."""
from collections import namedtuple

import numpy as np

from mnistnn import context

Prim = namedtuple("Prim", "ys xs vs")


def blob(y0, y1, x0, x1):
    ys, xs = np.mgrid[y0:y1, x0:x1]
    return Prim(ys.ravel(), xs.ravel(), np.ones(ys.size))


def line_of(*prims, shape=(100, 400)):
    ink = np.zeros(shape)
    for q in prims:
        ink[q.ys, q.xs] = q.vs
    return ink


def test_a_frame_holds_the_candidate_in_channel_0_and_its_neighbours_in_channel_1():
    """Two bars 40 px tall (the line's height) with a gap of 20 px: the first's frame
    shows it alone in channel 0, centred, and both in channel 1, the second 16 * 40/40
    frame pixels to the right of the first's (16 per line height)."""
    left, right = blob(30, 70, 100, 110), blob(30, 70, 140, 150)
    ink = line_of(left, right)
    x = context.frames(ink, [left, right], [(0, 1), (1, 2), (0, 2)], height=40)
    assert x.shape == (3, context.SIZE) and x.dtype == np.float32
    f = x.reshape(3, context.HEIGHT, context.WIDTH, 2)
    own, everything = f[0, ..., 0], f[0, ..., 1]
    cols = np.flatnonzero(own.any(axis=0))
    rows = np.flatnonzero(own.any(axis=1))
    assert 16 <= len(rows) <= 17 and abs(rows.mean() - (context.HEIGHT - 1) / 2) < 1
    assert 4 <= len(cols) <= 5 and abs(cols.mean() - (context.WIDTH - 1) / 2) < 1
    assert np.all(everything >= own) and everything.sum() > 1.9 * own.sum()
    neighbour = np.flatnonzero((everything - own).any(axis=0))
    assert abs(neighbour.min() - cols.min() - 16) <= 1           # 40 px right = 16 frame px
    assert own[own > 0].min() > 0.3 and own.max() == 1.0       # solid ink, area-averaged
    both = f[2, ..., 0]
    assert np.array_equal(both, f[2, ..., 1])                    # the pair: all its own ink


def test_frames_do_not_depend_much_on_the_photos_resolution():
    """The same line at twice the size (and twice the line height) makes about the same
    frames: each frame pixel holds the ink of the pixels in it times their area, so the
    ink in a frame and where it lies stay (up to the grid's aliasing)."""
    small = [blob(30, 70, 100, 110), blob(30, 70, 115, 135)]
    large = [blob(60, 140, 200, 220), blob(60, 140, 230, 270)]
    a = context.frames(line_of(*small), small, [(0, 1), (1, 2)], height=40)
    b = context.frames(line_of(*large, shape=(200, 800)), large, [(0, 1), (1, 2)], height=80)
    columns = np.arange(context.WIDTH)
    for f, g in zip(a.reshape(-1, context.HEIGHT, context.WIDTH, 2),
                    b.reshape(-1, context.HEIGHT, context.WIDTH, 2)):
        for c in range(2):
            assert abs(f[..., c].sum() / g[..., c].sum() - 1) < 0.15
            centre = [(h[..., c].sum(axis=0) @ columns) / h[..., c].sum() for h in (f, g)]
            assert abs(centre[0] - centre[1]) < 0.6


def test_ink_beyond_the_frame_is_left_out():
    far = blob(30, 70, 350, 360)
    near = blob(30, 70, 100, 110)
    x = context.frames(line_of(near, far), [near, far], [(0, 1)], height=40)
    f = x.reshape(context.HEIGHT, context.WIDTH, 2)
    assert np.array_equal(f[..., 0], f[..., 1])      # 240 px away: outside 2.5 heights
