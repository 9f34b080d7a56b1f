"""Data augmentation on the fly: random affine maps (rotation, scale, shear, shift, mirror)
and elastic distortions of a batch of images, resampled bilinearly, and random erasing.
numpy only, vectorised over the batch, deterministic under the generator passed in.

    x = augment(x, rng, Distortion(rotate=12, scale=0.1, shift=2, elastic=34, sigma=4))

The elastic distortion follows Simard, Steinkraus and Platt (2003): a random field of
displacements, uniform in [-1, 1] per pixel and axis, smoothed by a Gaussian of width
sigma and scaled by alpha (`elastic`), moves each output pixel's sampling point.

Random erasing follows Zhong, Zheng, Kang, Li and Yang (2017): with probability `erase`, a
rectangle of random area and shape is painted over with noise, so that the network cannot
lean on any one part of an object (a collar, a heel) to name it.
"""
import dataclasses

import numpy as np

from .form import MIDDLE as CENTRE, SIDE  # rotation, scale and shear pivot about the middle


@dataclasses.dataclass(frozen=True)
class Distortion:
    """How strong each random distortion is; all zero means no augmentation."""
    rotate: float = 0.0   # degrees, uniform in [-rotate, rotate]
    scale: float = 0.0    # each axis scaled by a factor uniform in [1 - scale, 1 + scale]
    shear: float = 0.0    # x += k * y, k uniform in [-shear, shear]
    shift: float = 0.0    # pixels, uniform in [-shift, shift] along each axis
    elastic: float = 0.0  # alpha: the size of the smoothed random displacements, pixels
    sigma: float = 4.0    # the width of the Gaussian that smooths them, pixels
    flip: float = 0.0     # the probability of a mirror image (left <-> right)
    erase: float = 0.0    # the probability of a rectangle painted over with noise

    @property
    def warps(self):
        """Whether images are resampled (any affine map or elastic distortion)."""
        return any((self.rotate, self.scale, self.shear, self.shift, self.elastic, self.flip))

    @property
    def active(self):
        return self.warps or bool(self.erase)


def augment(x, rng, distortion):
    """A randomly distorted copy of a batch x (B, 784) or (B, 28, 28) with values in [0, 1]:
    same shape, dtype and range. Returns x itself when every strength is zero."""
    if not distortion.active:
        return x
    images = x.reshape(-1, SIDE, SIDE)
    if distortion.warps:
        inverse, offset = random_affine(rng, len(images), distortion)
        field = (elastic_field(rng, len(images), distortion.elastic, distortion.sigma)
                 if distortion.elastic else None)
        images = warp(images, inverse, offset, field)
    if distortion.erase:  # drawn last and only when asked for: the others keep their stream
        images = erase(images, rng, distortion.erase)
    return images.astype(x.dtype, copy=False).reshape(x.shape)


def random_affine(rng, n, d):
    """n random affine maps as (inverse (n, 2, 2), offset (n, 2)) for warp(); (x, y) order.

    The forward map applied to the digit is rotate @ shear @ scale about the centre, then
    a shift by offset; warp() needs its inverse to find where each output pixel comes from.
    A mirror image (probability d.flip) scales x by -1: column i becomes column 27 - i.
    """
    angle = np.deg2rad(rng.uniform(-d.rotate, d.rotate, n))            # (n,)
    sx, sy = rng.uniform(1 - d.scale, 1 + d.scale, (2, n))              # (n,) each
    if d.flip:   # drawn only when asked for: the other distortions keep their random stream
        sx = np.where(rng.random(n) < d.flip, -sx, sx)
    k = rng.uniform(-d.shear, d.shear, n)                               # (n,)
    offset = rng.uniform(-d.shift, d.shift, (n, 2))                     # (n, 2)
    cos, sin = np.cos(angle), np.sin(angle)
    forward = np.empty((n, 2, 2))
    # rotate @ shear @ scale = [[c, -s], [s, c]] @ [[1, k], [0, 1]] @ diag(sx, sy)
    forward[:, 0, 0], forward[:, 0, 1] = cos * sx, (cos * k - sin) * sy
    forward[:, 1, 0], forward[:, 1, 1] = sin * sx, (sin * k + cos) * sy
    return np.linalg.inv(forward), offset


def erase(images, rng, p, area=(0.02, 0.4), aspect=0.3):
    """Random erasing of images (B, 28, 28): with probability p, each image gets a rectangle
    of a random fraction of its area (uniform in `area`) and shape (height / width
    log-uniform in [aspect, 1 / aspect]), cut to fit and placed uniformly, filled with
    uniform noise in [0, 1). The values of the paper (Zhong et al. 2017). Returns float32."""
    n = len(images)
    size = rng.uniform(*area, n) * SIDE * SIDE                           # (n,) pixels
    ratio = np.exp(rng.uniform(np.log(aspect), -np.log(aspect), n))      # (n,) h / w
    h = np.clip(np.rint(np.sqrt(size * ratio)), 1, SIDE).astype(int)     # (n,)
    w = np.clip(np.rint(np.sqrt(size / ratio)), 1, SIDE).astype(int)
    top = (rng.random(n) * (SIDE - h + 1)).astype(int)                   # (n,) in [0, 28 - h]
    left = (rng.random(n) * (SIDE - w + 1)).astype(int)
    hit = rng.random(n) < p                                              # (n,)
    i = np.arange(SIDE)
    rows = (i >= top[:, None]) & (i < (top + h)[:, None])                # (n, 28)
    cols = (i >= left[:, None]) & (i < (left + w)[:, None])              # (n, 28)
    inside = hit[:, None, None] & rows[:, :, None] & cols[:, None, :]    # (n, 28, 28)
    noise = rng.random(images.shape, dtype=np.float32)
    return np.where(inside, noise, images).astype(np.float32, copy=False)


def gaussian_matrix(sigma, side=SIDE):
    """(side, side) matrix G such that G @ f smooths f along its first axis with a
    Gaussian of width sigma (zero beyond the border), G @ f @ G along both."""
    i = np.arange(side)
    g = np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
    radius = np.arange(-4 * int(np.ceil(sigma)), 4 * int(np.ceil(sigma)) + 1)
    return g / np.exp(-0.5 * (radius / sigma) ** 2).sum()  # normalised as the whole kernel


def blur(images, sigma):
    """Gaussian blur of width sigma (pixels) of images (..., 28, 28), black beyond the
    edge: G @ x @ G, rows then columns (G is symmetric). Same shape and dtype."""
    g = gaussian_matrix(sigma, images.shape[-1]).astype(images.dtype)
    return g @ images @ g


def elastic_field(rng, n, alpha, sigma):
    """n random smooth displacement fields (n, 2, 28, 28): (dx, dy) in pixels."""
    u = rng.random((n, 2, SIDE, SIDE), dtype=np.float32)               # uniform in [0, 1)
    u -= 0.5                                                           # ... in [-0.5, 0.5)
    return np.float32(2 * alpha) * blur(u, sigma)


def warp(images, inverse, offset, field=None):
    """Resample images (B, 28, 28): output pixel p takes the (bilinear) value of the input
    at inverse @ (p - centre - offset) + centre + field[:, :, p]; outside the field is 0.

    inverse (B, 2, 2) and offset (B, 2) act on (x, y) = (column, row); field (B, 2, 28, 28)
    holds extra (dx, dy) displacements, or None. Returns float32 (B, 28, 28).
    """
    grid = np.arange(SIDE, dtype=np.float32) - CENTRE
    gx, gy = grid[None, None, :], grid[None, :, None]                      # (1, 1, 28), (1, 28, 1)
    inv = inverse.astype(np.float32)[:, :, :, None, None]               # (B, 2, 2, 1, 1)
    ox = gx - offset[:, 0, None, None].astype(np.float32)               # (B, 1, 28)
    oy = gy - offset[:, 1, None, None].astype(np.float32)               # (B, 28, 1)
    x = inv[:, 0, 0] * ox + inv[:, 0, 1] * oy + CENTRE                  # (B, 28, 28)
    y = inv[:, 1, 0] * ox + inv[:, 1, 1] * oy + CENTRE
    if field is not None:
        x, y = x + field[:, 0], y + field[:, 1]
    return bilinear(images, x, y)


def bilinear(images, x, y):
    """Values of images (B, 28, 28) at real coordinates x, y (B, 28, 28), zero outside."""
    n = len(images)
    padded = np.zeros((n, SIDE + 2, SIDE + 2), dtype=np.float32)       # a border of zeros
    padded[:, 1:-1, 1:-1] = images
    x, y = np.clip(x, -1, SIDE), np.clip(y, -1, SIDE)
    # floor, but at most SIDE - 1 so that x0 + 1 stays on the padded grid (weight 1 there)
    x0, y0 = np.minimum(np.floor(x), SIDE - 1), np.minimum(np.floor(y), SIDE - 1)
    wx, wy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    stride = SIDE + 2
    base = np.arange(n)[:, None, None] * stride * stride
    i00 = base + (y0.astype(np.intp) + 1) * stride + (x0.astype(np.intp) + 1)  # (B, 28, 28)
    flat = padded.ravel()
    top = flat[i00] * (1 - wx) + flat[i00 + 1] * wx
    bottom = flat[i00 + stride] * (1 - wx) + flat[i00 + stride + 1] * wx
    return top * (1 - wy) + bottom * wy
