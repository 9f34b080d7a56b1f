"""The layers a Network stacks: Dense, Conv2D, MaxPool, BatchNorm, Flatten, each with two verbs.

    a = layer.forward(x, tape)                    # x (B, *in_shape) -> a (B, *out_shape)
    grads, dx = layer.backward(x, delta, need_dx, tape)

delta is dC/dz, the gradient of the cost with respect to the layer's output before its
unit (activation) is applied; backward returns the gradients of the layer's parameters
(summed over the batch; () for a layer without any) and dC/dx, or None without need_dx.
The Network applies the unit's derivative between layers, and dropout masks. tape is
None or a dict in which a layer keeps work its backward pass would otherwise redo (a
pool's maxima): training passes one from forward to backward, and only training does (a
BatchNorm normalises with the batch's own statistics when it has a tape, else with
the statistics it holds).

Images are batch-first and channels-last, (B, height, width, channels): im2col then
copies each k x k x C patch as one contiguous row, and a convolution is one large matrix
product per chunk of the batch. Parameters of each layer: W with the output units first,
b one per output unit.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class Dense:
    """Fully connected: z = x W^T + b, as in Nielsen's network.py (W is (n_out, n_in))."""

    def __init__(self, n_in, n_out):
        self.in_shape, self.out_shape = (n_in,), (n_out,)
        self.item, self.unit, self.W, self.b = str(n_out), None, None, None

    def init(self, rng, gain, random_bias, dtype):
        """W ~ N(0, gain/n_in); b ~ N(0, 1) if random_bias, else 0 (drawn in float64)."""
        (n_in,), (n_out,) = self.in_shape, self.out_shape
        self.W = (rng.standard_normal((n_out, n_in)) * np.sqrt(gain / n_in)).astype(dtype)
        self.b = (rng.standard_normal(n_out) if random_bias else np.zeros(n_out)).astype(dtype)

    def forward(self, x, tape=None):
        z = x @ self.W.T           # (B, n_in) @ (n_in, n_out) -> (B, n_out)
        z += self.b
        return z if self.unit is None else self.unit.fn(z, out=z)

    def backward(self, x, delta, need_dx=True, tape=None):
        grad_W = delta.T @ x       # (n_out, B) @ (B, n_in) -> (n_out, n_in)
        grad_b = delta.sum(axis=0)  # (n_out,)
        dx = delta @ self.W if need_dx else None  # (B, n_out) @ (n_out, n_in) -> (B, n_in)
        return (grad_W, grad_b), dx


class Conv2D:
    """n filters of k x k x C, stride 1; 'valid' (no padding) or 'same' (zero padding
    that keeps height and width). W is (n, k, k, C), b is (n,)."""

    def __init__(self, in_shape, n, k, padding="valid"):
        H, W, C = in_shape
        self.pad = (k - 1) // 2 if padding == "same" else 0
        self.in_shape, self.k, self.n = tuple(in_shape), k, n
        self.out_shape = (H + 2 * self.pad - k + 1, W + 2 * self.pad - k + 1, n)
        self.item = f"conv{n}k{k}" + ("same" if self.pad else "")
        self.unit, self.W, self.b = None, None, None

    def init(self, rng, gain, random_bias, dtype):
        """W ~ N(0, gain/fan_in) with fan_in = k*k*C, the inputs of one output unit."""
        fan_in = self.k * self.k * self.in_shape[2]
        W = rng.standard_normal((self.n, self.k, self.k, self.in_shape[2]))
        self.W = (W * np.sqrt(gain / fan_in)).astype(dtype)
        self.b = (rng.standard_normal(self.n) if random_bias else np.zeros(self.n)).astype(dtype)

    def forward(self, x, tape=None):
        x, Wb = self._images(x), self._weights_and_biases()  # Wb (n, k*k*C + 1)
        z = np.empty((len(x),) + self.out_shape, np.result_type(x, Wb))  # (B, Ho, Wo, n)
        kept = tape.setdefault(self, []) if tape is not None else None
        for rows in self._chunks(len(x)):
            cols = im2col(self._padded(x[rows]), self.k)     # (b*Ho*Wo, k*k*C + 1)
            if kept is not None:
                kept.append(cols)
            zc = z[rows].reshape(-1, self.n)                 # (b*Ho*Wo, n), a view
            np.matmul(cols, Wb.T, out=zc)                    # (b*Ho*Wo, k*k*C+1) @ (k*k*C+1, n)
            if self.unit is not None:
                self.unit.fn(zc, out=zc)
        return z

    def backward(self, x, delta, need_dx=True, tape=None):
        shape, x = x.shape, self._images(x)
        d = delta.reshape(len(x), -1, self.n)                # (B, Ho*Wo, n)
        grad = np.zeros((self.n, self.W[0].size + 1), d.dtype)  # (n, k*k*C + 1): W's, then b's
        kept = (tape or {}).pop(self, None)
        for c, rows in enumerate(self._chunks(len(x))):
            cols = kept[c] if kept else im2col(self._padded(x[rows]), self.k)
            dc = d[rows].reshape(-1, self.n)                 # (b*Ho*Wo, n)
            if cols.flags.f_contiguous:                      # im2col's transposed layout:
                grad += (cols.T @ dc).T                      # BLAS reads both along b*Ho*Wo
            else:
                grad += dc.T @ cols                          # (n, b*Ho*Wo) @ (b*Ho*Wo, k*k*C+1)
        dx = self._input_gradient(d).reshape(shape) if need_dx else None
        return (grad[:, :-1].reshape(self.W.shape), grad[:, -1].copy()), dx

    def _weights_and_biases(self):
        """W and b side by side, (n, k*k*C + 1): b is the weight of the 1 that im2col
        puts after each patch, so one matrix product adds the biases too."""
        return np.concatenate([self.W.reshape(self.n, -1), self.b[:, None]], axis=1)

    def _input_gradient(self, d):
        """dC/dx (B, H, W, C) from d = dC/dz (B, Ho*Wo, n): the part of each output that
        kernel position (i, j) took from the input goes back where it came from.

        The sums run with the images inside the positions, (y, x, B, C): a block of Wo
        positions side by side is then one run of Wo*B*C numbers in memory, where it is
        Wo*C with the images outside, and numpy adds long runs several times faster (the
        two copies that change the layout cost less than they save)."""
        B, (H, W, C), (Ho, Wo, n), p = len(d), self.in_shape, self.out_shape, self.pad
        d = np.ascontiguousarray(d.reshape(B, Ho, Wo, n).transpose(1, 2, 0, 3))  # (Ho, Wo, B, n)
        d = d.reshape(-1, n)                                 # (Ho*Wo*B, n)
        dx = np.zeros((H + 2 * p, W + 2 * p, B, C), np.result_type(d, self.W))
        part = np.empty((len(d), C), dx.dtype)
        for i in range(self.k):
            for j in range(self.k):
                np.matmul(d, self.W[:, i, j], out=part)      # (Ho*Wo*B, n) @ (n, C)
                dx[i:i + Ho, j:j + Wo] += part.reshape(Ho, Wo, B, C)
        dx = dx[p:p + H, p:p + W]                            # the border of zeros off
        return np.ascontiguousarray(dx.transpose(2, 0, 1, 3))  # (B, H, W, C)

    def _chunks(self, B):
        """Slices of the batch holding about CHUNK numbers of patches each: a chunk's
        patches and their gradient stay in the CPU's cache between the copy that makes
        them and the matrix product that reads them (20% faster than whole batches)."""
        per_image = self.out_shape[0] * self.out_shape[1] * self.W[0].size
        step = max(1, CHUNK // per_image)
        return [slice(i, i + step) for i in range(0, B, step)]

    def _images(self, x):
        return x.reshape((len(x),) + self.in_shape)          # (B, H, W, C), a view

    def _padded(self, x):
        """Images x (b, H, W, C) with p rows and columns of zeros around for 'same'."""
        p = self.pad
        return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0))) if p else x


CHUNK = 2**20  # numbers of patches per chunk of a convolution (4 MB of float32)


def im2col(x, k):
    """Every k x k patch of images x (B, H, W, C) as a row, and a 1 after it:
    (B*Ho*Wo, k*k*C + 1), Ho = H-k+1. The 1 is the input the biases are the weights of
    (Conv2D._weights_and_biases): the matrix product then adds them, and the weight
    gradient's product sums their gradient, with no pass over the outputs of their own.

    sliding_window_view is a view of x (no copy); one copy lays the patches out, in the
    order whose innermost run is longest: a row of a patch is k*C numbers in a row of
    the image (channels-last), or, when there are fewer channels than k (the pixels,
    C = 1), along the rows of the images, into the transposed matrix, returned as its
    (B*Ho*Wo, k*k*C + 1) view.
    """
    B, H, W, C = x.shape
    K = k * k * C                                          # numbers in a patch
    if C >= k:
        rows = x.reshape(B, H, W * C)                      # image rows of W*C numbers
        windows = sliding_window_view(rows, (k, k * C), axis=(1, 2))[:, :, ::C]
        cols = np.empty((B, H - k + 1, W - k + 1, K + 1), x.dtype)
        np.copyto(cols[..., :K].reshape(windows.shape), windows)  # (B, Ho, Wo, k, k*C)
        cols[..., K] = 1
        return cols.reshape(-1, K + 1)
    windows = sliding_window_view(x, (k, k), axis=(1, 2))  # (B, Ho, Wo, C, k, k), a view
    windows = windows.transpose(4, 5, 3, 0, 1, 2)          # (k, k, C, B, Ho, Wo), a view
    cols = np.empty((K + 1,) + windows.shape[3:], x.dtype)  # (K + 1, B, Ho, Wo)
    np.copyto(cols[:K].reshape(windows.shape), windows)
    cols[K] = 1
    return cols.reshape(K + 1, -1).T


class MaxPool:
    """The largest of each k x k block (stride k), channel by channel; rows and columns
    left over at the bottom and right edges (when k does not divide them) are dropped."""

    def __init__(self, in_shape, k=2):
        H, W, C = in_shape
        self.in_shape, self.k, self.out_shape = tuple(in_shape), k, (H // k, W // k, C)
        self.item, self.unit = f"pool{k}", None

    def forward(self, x, tape=None):
        m = self._max(self._blocks(x))                   # (B, Ho, Wo, C)
        if tape is not None:
            tape[self] = m                               # where the maxima are, for backward
        if self.unit is None:
            return m
        return self.unit.fn(m, out=None if tape is not None else m)

    def backward(self, x, delta, need_dx=True, tape=None):
        """The gradient goes to the input that held the maximum; where several tie
        exactly, each of them gets all of it. Ties are common: on MNIST's blank background
        a convolution's outputs all equal its bias, and in the shipped model 41% of the
        first pool's blocks tie (36% four ways; 256 training digits). There the bias
        below is pushed up to four times as hard as a subgradient would push it (one
        gives it to one of them, as PyTorch gives it to the first). Every shipped model
        and recipe figure was trained this way, so changing it means training them all
        again."""
        if not need_dx:
            return (), None
        B, (Ho, Wo, C), k = len(x), self.out_shape, self.k
        covered = self._blocks(x)                        # (B, Ho*k, Wo*k, C)
        blocks = covered.reshape(B, Ho, k, Wo, k, C)     # one k x k block per output
        m = (tape or {}).pop(self, None)
        m = (self._max(covered) if m is None else m).reshape(B, Ho, 1, Wo, 1, C)
        d = delta.reshape(B, Ho, 1, Wo, 1, C)
        dx = np.multiply(blocks == m, d, dtype=d.dtype)  # (B, Ho, k, Wo, k, C)
        dx = dx.reshape(covered.shape)                   # (B, Ho*k, Wo*k, C)
        H, W, _ = self.in_shape
        if (H, W) != (Ho * k, Wo * k):                   # the dropped edges get nothing
            dx = np.pad(dx, ((0, 0), (0, H - Ho * k), (0, W - Wo * k), (0, 0)))
        return (), dx.reshape(x.shape)

    def _blocks(self, x):
        """x as images (B, Ho*k, Wo*k, C): the part the blocks cover."""
        x, (Ho, Wo, _) = x.reshape((len(x),) + self.in_shape), self.out_shape
        return x if x.shape[1:3] == (Ho * self.k, Wo * self.k) else x[:, :Ho * self.k, :Wo * self.k]

    def _max(self, x):
        """Block maxima of x (B, Ho*k, Wo*k, C) -> (B, Ho, Wo, C), one strided view per
        offset in the block (k*k steps over whole arrays, none over positions)."""
        k = self.k
        m = x[:, 0::k, 0::k].copy()
        for i in range(k):
            for j in range(k):
                if i or j:
                    np.maximum(m, x[:, i::k, j::k], out=m)
        return m


class BatchNorm:
    """Batch normalisation (Ioffe & Szegedy, 2015) of the layer below, channel by channel:

        z_hat = (z - mean) / sqrt(var + EPS)      # each channel: mean 0, variance 1
        out = W * z_hat + b                       # then scaled and shifted, as learnt

    In training (forward given a tape) mean and var are the batch's, taken over its
    images and positions; otherwise they are the statistics the layer holds (mean, var),
    measured on training images after each epoch (Network.calibrate). W (gamma) and b
    (beta) are learnt as any weights and biases are. Works on images (B, H, W, C) and on
    vectors (B, n): a channel is the last axis.
    """

    EPS = 1e-5

    def __init__(self, in_shape):
        self.in_shape = self.out_shape = tuple(in_shape)
        self.n = in_shape[-1]
        self.item, self.unit, self.W, self.b = "bn", None, None, None
        self.mean, self.var = None, None

    def init(self, rng, gain, random_bias, dtype):
        """W = 1, b = 0: at first a plain normalisation (draws nothing from rng)."""
        self.W, self.b = np.ones(self.n, dtype), np.zeros(self.n, dtype)
        self.mean, self.var = np.zeros(self.n, dtype), np.ones(self.n, dtype)

    def forward(self, x, tape=None):
        z = x.reshape(-1, self.n)                  # (N, n), N = B*H*W positions
        if tape is None:                           # held statistics: one affine map
            scale = self.W / np.sqrt(self.var + self.EPS)
            out = z * scale                        # (N, n)
            out += self.b - self.mean * scale
        else:                                      # this batch's statistics
            ones = np.full(len(z), 1 / len(z), z.dtype)
            mean = ones @ z                        # (n,): the mean over positions
            out = z - mean                         # (N, n), centred
            var = ones @ np.square(out)            # (n,)
            tape[self] = (mean, var)
            out *= self.W / np.sqrt(var + self.EPS)
            out += self.b
        out = out.reshape(x.shape)
        return out if self.unit is None else self.unit.fn(out, out=out)

    def backward(self, x, delta, need_dx=True, tape=None):
        """Through the batch's statistics in training (each z moved the mean and the
        variance every output was normalised with), else through the held ones."""
        z, d, N = x.reshape(-1, self.n), delta.reshape(-1, self.n), x.size // self.n
        kept = (tape or {}).pop(self, None)
        mean, var = kept or (self.mean, self.var)
        inv = 1 / np.sqrt(var + self.EPS)          # (n,)
        ones = np.ones(N, d.dtype)
        z_hat = z - mean                           # (N, n)
        z_hat *= inv
        grad_b = ones @ d                          # (n,): sum over positions, as a product
        grad_W = ones @ (d * z_hat)                # (n,)
        if not need_dx:
            return (grad_W, grad_b), None
        if kept is None:                           # an affine map: dx = d W / std
            return (grad_W, grad_b), (d * (self.W * inv)).reshape(x.shape)
        # dz = W/std (d - mean(d) - z_hat mean(d z_hat)), the means over the N positions
        dx = z_hat
        dx *= -grad_W / N
        dx += d
        dx -= grad_b / N
        dx *= self.W * inv
        return (grad_W, grad_b), dx.reshape(x.shape)


class Flatten:
    """Images (B, H, W, C) -> vectors (B, H*W*C), for the dense layers that follow."""

    def __init__(self, in_shape):
        self.in_shape, self.out_shape = tuple(in_shape), (int(np.prod(in_shape)),)
        self.item, self.unit = None, None

    def forward(self, x, tape=None):
        return x.reshape(len(x), -1)

    def backward(self, x, delta, need_dx=True, tape=None):
        return (), (delta.reshape(x.shape) if need_dx else None)
