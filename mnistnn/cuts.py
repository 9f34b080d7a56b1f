"""Candidate cuts through a wide component (digits that touch or overlap), numpy only.

    side, crossed = cut(ys, xs, vs, height, slant, stroke)

Each cut runs from the component's top to its bottom, one column per row: straight
along a guide line that leans half as much as the writing (LEAN), or crossing as little
ink as it can near it. Guides are dense (every 0.1 line height), so that some pair of
cuts frames each of two touching digits; the network later decides which cuts are real
(segment.best_path).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# A guide every STEP line heights. Denser guides frame more digits, but more wrong pieces
# too. Touching numbers of MNIST training digits, 200 from each of two seeds, read with
# guides every 0.1, 0.09, 0.085, 0.08 and 0.07 heights: 65.0% and 65.0%, 68.0% and
# 65.5%, 71.0% and 70.0%, 67.5% and 66.0%, 68.5% and 66.5%
# (`python benchmarks/numbers.py --data-dir data --cut-steps 0.1 0.09 0.085 0.08 0.07`).
# On the test numbers of benchmarks/numbers.py, 0.085 read 64.7% of the touching ones
# against 66.7% at 0.1, and 94.7% of those on ruled paper against 95.3%: the gain on the
# training numbers does not carry over, so the guides stay 0.1 apart.
STEP = 0.1
PULL = 0.5            # ink a cut may avoid per line height it strays from its guide
# The line's slant is the shear that stands its strokes upright (layout.estimate_slant),
# and the strokes it sees most are stems: of 1s, 4s, 7s and 9s. Where two digits meet,
# their bowls and bars lean less than their stems, and guides at the full slant cut
# through them. Touching numbers of MNIST training digits (150 upright, 150 sheared by
# 0.15-0.3), read with guides at 0.3, 0.5, 0.7 and 1 times the slant: 58.3%, 58.7%,
# 58.3% and 55.7% (on test digits: upright guides read fewer sheared numbers, 48 of 100
# against 65 at 0.5).
LEAN = 0.5


def cut(ys, xs, vs, height, slant, stroke):
    """Cut one wide component from its top to its bottom near guides every STEP height
    leaning LEAN times the writing's slant: along each guide itself, and along the path
    that crosses as little ink as it can near it (moving at most two pixels sideways per
    row). Returns each pixel's piece (n,) and the strokes each cut crosses (K,)."""
    y0, x0 = ys.min(), xs.min()
    crop = np.zeros((ys.max() - y0 + 1, xs.max() - x0 + 1))
    crop[ys - y0, xs - x0] = vs
    h, w = crop.shape
    lean = -LEAN * slant * (np.arange(h) - (h - 1) / 2)          # (h,) the guides' x offset
    lo, hi = -lean.min() + 0.2 * height, w - lean.max() - 0.2 * height
    centres = np.arange(lo, hi, STEP * height) if hi > lo else np.zeros(0)
    if not len(centres):
        return np.zeros(len(ys), dtype=int), np.zeros(0)
    guides = centres[:, None] + lean[None, :]                    # (K, h)
    paths = least_ink_paths(crop, guides, PULL / height)
    straight = np.clip(np.round(guides), 0, w - 1).astype(int)     # where no valley helps
    paths = np.r_[paths, straight]
    paths = paths[np.argsort(paths.mean(axis=1))]
    paths = np.maximum.accumulate(paths, axis=0)                # cuts never cross
    keep = np.r_[True, np.abs(np.diff(paths, axis=0)).mean(axis=1) > 0.03 * height]
    paths = paths[keep]                                          # (K, h)
    crossed = crop[np.arange(h)[None, :], paths].sum(axis=1) / max(stroke, 1.0)
    side = (xs[None, :] - x0 >= paths[:, ys - y0]).sum(axis=0)  # (n,) 0..K
    return side, crossed


def least_ink_paths(crop, guides, weight, reach=2):
    """For each guide line (K, h) of x positions, the path (K, h) int from the top row of
    crop (h, w) to the bottom, one column per row, moving at most reach columns per row,
    minimising the ink it crosses plus weight times its distance from the guide."""
    h, w = crop.shape
    columns = np.arange(w)
    padded = np.full((len(guides), w + 2 * reach), np.inf)    # the cost so far, inf outside
    cost = padded[:, reach:reach + w]                          # (K, w), a view
    cost[:] = crop[None, 0] + weight * np.abs(columns[None, :] - guides[:, :1])
    options = sliding_window_view(padded, w, axis=1)          # (K, S, w): from x + step
    step = np.zeros((len(guides), h, w), dtype=np.int8)
    shifts = np.arange(-reach, reach + 1)
    for r in range(1, h):
        choice = np.argmin(options, axis=1)                                  # (K, w)
        best = np.take_along_axis(options, choice[:, None], axis=1)[:, 0]
        cost[:] = best + crop[r] + weight * np.abs(columns[None, :] - guides[:, r:r + 1])
        step[:, r] = shifts[choice]                           # came from x + step
    path = np.zeros((len(guides), h), dtype=int)
    path[:, -1] = np.argmin(cost, axis=1)
    k = np.arange(len(guides))
    for r in range(h - 1, 0, -1):
        path[:, r - 1] = path[:, r] + step[k, r, path[:, r]]
    return path
