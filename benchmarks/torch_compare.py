"""Speed side by side: the same conv net trained by PyTorch (CPU) and by mnistnn, one run.

    pip install -e '.[bench]'                                 # a CPU torch, for this only
    python benchmarks/torch_compare.py --data-dir data        # about 3 minutes, idle machine

The conv net is 1x28x28,conv32k5,pool2,conv64k5,pool2,256,10: ReLU units, softmax outputs
with the log-likelihood cost, SGD with momentum 0.9 (lr 0.05), batches of 128 drawn from
all 60,000 training images, float32, and the same number of threads for both (--threads,
2). Epochs alternate, PyTorch then mnistnn, so that both meet the same machine; an epoch
is the training pass alone (shuffle, gather, forward, backward, step), as `mnistnn train`
reports it. Printed for the conv net: seconds per epoch, the ratio mnistnn / PyTorch, and
two floors: its matrix-product FLOPs divided by the float32 matrix-product rate measured
here (a 2048 x 2048 product), and the same epoch's matrix products alone, timed. Then the
wide MLP 784-800-800-10 (batch 128, 60,000 images) against its floor, the same epoch's
matrix products alone, each epoch paired with the floor timed right after it. Without
torch the PyTorch column is skipped, with a message.
"""
import os
import sys

# benchmarks/numbers.py would hide the standard library's `numbers` (statistics and numpy
# import it): look for modules everywhere but in this folder.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each (default 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args()


ARGS = arguments()
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(ARGS.threads)   # before numpy loads its BLAS

import numpy as np  # noqa: E402

from mnistnn import blas, data  # noqa: E402
from mnistnn.layers import Conv2D  # noqa: E402
from mnistnn.network import SGD, Network, keep_freed_memory, one_hot  # noqa: E402

CONV = "1x28x28,conv32k5,pool2,conv64k5,pool2,256,10"
WIDE = "784,800,800,10"
BATCH, LR, MOMENTUM = 128, 0.05, 0.9

try:
    import torch
except ImportError:
    torch = None


class TorchRun:
    """The conv net in PyTorch, trained epoch by epoch on the same arrays."""

    def __init__(self, x, labels, seed=0):
        torch.set_num_threads(ARGS.threads)
        torch.manual_seed(seed)
        nn = torch.nn
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1024, 256), nn.ReLU(), nn.Linear(256, 10))
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=LR, momentum=MOMENTUM)
        self.x = torch.from_numpy(x.reshape(-1, 1, 28, 28))
        self.y = torch.from_numpy(labels.astype(np.int64))
        self.rng = np.random.default_rng(seed)

    def epoch(self):
        started = time.perf_counter()
        order = torch.from_numpy(self.rng.permutation(len(self.x)))
        for i in range(0, len(self.x), BATCH):
            idx = order[i:i + BATCH]
            self.optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(self.net(self.x[idx]), self.y[idx])
            loss.backward()
            self.optimizer.step()
        return time.perf_counter() - started

    def accuracy(self, x, labels):
        with torch.no_grad():
            out = self.net(torch.from_numpy(x.reshape(-1, 1, 28, 28)))
        return float((out.argmax(1).numpy() == labels).mean())


class MnistnnRun:
    """The same net in mnistnn, trained epoch by epoch as `mnistnn train` does (train.py's
    Trainer: shuffle, gather each batch with take, train_batch; its thread count)."""

    def __init__(self, spec, x, labels, seed=0):
        self.net = Network(spec, "relu", "log-likelihood", seed=seed)
        self.optimizer = SGD(LR, momentum=MOMENTUM)
        self.x, self.y = x, one_hot(labels, 10, self.net.dtype)
        self.seed, self.epochs = seed, 0

    def epoch(self):
        order = np.random.default_rng([self.seed, self.epochs]).permutation(len(self.x))
        self.epochs += 1
        started = time.perf_counter()
        with blas.threads(ARGS.threads):
            for i in range(0, len(self.x), BATCH):
                idx = order[i:i + BATCH]
                self.net.train_batch(self.x.take(idx, axis=0), self.y.take(idx, axis=0),
                                     self.optimizer)
        return time.perf_counter() - started


def sgemm_rate(n=2048, repeats=5):
    """Float32 matrix-product FLOP/s of this machine: best of a few n x n products."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    best = min(_seconds(lambda: a @ a) for _ in range(repeats))
    return 2 * n ** 3 / best


def _seconds(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def products(net, batch):
    """The matrix products of one training step of net, as (rows, inner, cols) triples:
    forward, weight gradient and (but for the first layer) input gradient per layer."""
    shapes = []
    for l, layer in enumerate(net.trainable):
        n_out, fan_in = layer.W.shape[0], layer.W[0].size
        rows = batch * int(np.prod(layer.out_shape[:-1]))      # output positions
        shapes += [(rows, fan_in, n_out), (n_out, rows, fan_in)]
        if l > 0:
            shapes.append((rows, n_out, fan_in))
    return shapes


def epoch_flops(net, n_images):
    return sum(2 * m * k * n for m, k, n in products(net, 1)) * n_images


def step_products(net, batch, rng):
    """A function doing one training step's matrix products alone, on arrays made once
    with the layouts the layers use: inputs (or im2col's patches, with their 1 for the
    biases, transposed for the pixels), deltas and weights, multiplied in the same
    orientations."""
    work = []
    for l, layer in enumerate(net.trainable):
        n_out, fan_in = layer.W.shape[0], layer.W[0].size
        fan_in += isinstance(layer, Conv2D)                   # im2col's 1 for the biases
        rows = batch * int(np.prod(layer.out_shape[:-1]))
        pixels = isinstance(layer, Conv2D) and layer.in_shape[2] < layer.k
        x = (rng.random((fan_in, rows), dtype=np.float32).T if pixels
             else rng.random((rows, fan_in), dtype=np.float32))
        d = rng.random((rows, n_out), dtype=np.float32)
        W = rng.random((n_out, fan_in), dtype=np.float32)
        work.append((x, d, W, l > 0))

    def step():
        for x, d, W, below in work:
            x @ W.T                                           # forward
            (x.T @ d).T if x.flags.f_contiguous else d.T @ x  # weight gradient
            if below:
                d @ W                                         # input gradient
    return step


def products_alone(net, n_images, repeats=2):
    """Seconds of one epoch's matrix products alone (step_products for every batch of
    the epoch, the last one smaller): best of repeats."""
    sizes = [BATCH] * (n_images // BATCH) + ([n_images % BATCH] if n_images % BATCH else [])
    rng = np.random.default_rng(0)
    steps = {b: step_products(net, b, rng) for b in set(sizes)}
    return min(_seconds(lambda: [steps[b]() for b in sizes]) for _ in range(repeats))


def conv_figures(x, labels, x_test, test_labels, rate):
    """Alternating epochs of PyTorch and mnistnn, and the conv net's floors."""
    ours = MnistnnRun(CONV, x, labels)
    theirs = TorchRun(x, labels) if torch else None
    r = {"torch_epoch_s": [], "mnistnn_epoch_s": [], "others_cores": []}
    for _ in range(ARGS.epochs):
        with others() as busy:
            if theirs:
                r["torch_epoch_s"].append(theirs.epoch())
            r["mnistnn_epoch_s"].append(ours.epoch())
        r["others_cores"].append(busy[0])
        _log(f"  epoch {len(r['mnistnn_epoch_s'])}: " + (
            f"PyTorch {r['torch_epoch_s'][-1]:.2f} s, " if theirs else "")
            + f"mnistnn {r['mnistnn_epoch_s'][-1]:.2f} s"
            + (f" (other processes used {busy[0]:.2f} cores)" if busy[0] is not None else ""))
    r["mnistnn_accuracy"] = ours.net.accuracy(x_test, test_labels)
    if theirs:
        r["torch_accuracy"] = theirs.accuracy(x_test, test_labels)
        r["ratio"] = statistics.median(r["mnistnn_epoch_s"]) / statistics.median(
            r["torch_epoch_s"])
    r["flops_per_epoch"] = epoch_flops(ours.net, len(x))
    r["flop_floor_s"] = r["flops_per_epoch"] / rate
    r["products_alone_s"] = products_alone(ours.net, len(x))
    return r


def wide_figures(x, labels):
    """Each epoch of the wide MLP followed at once by its matrix products alone, so that
    both meet the same machine (its speed drifts by a third over minutes here): the
    median of the pairs' ratios."""
    run = MnistnnRun(WIDE, x, labels)
    epochs, floors = [], []
    for _ in range(ARGS.epochs):
        epochs.append(run.epoch())
        floors.append(products_alone(run.net, len(x), repeats=1))
    return {"wide_epoch_s": epochs, "wide_products_alone_s": floors,
            "wide_ratio": statistics.median(e / f for e, f in zip(epochs, floors))}


@contextlib.contextmanager
def others():
    """Yields a list that holds, after the block, the cores that other processes kept busy
    during it (from /proc/stat less this process's CPU time), or None where there is no
    /proc: a figure taken while they ran is not a figure of this code."""
    result = [None]
    before = _busy_jiffies(), time.process_time(), time.perf_counter()
    yield result
    after = _busy_jiffies(), time.process_time(), time.perf_counter()
    if before[0] and after[0]:
        seconds = after[2] - before[2]
        all_busy = (after[0] - before[0]) / os.sysconf("SC_CLK_TCK") / seconds
        result[0] = max(0.0, all_busy - (after[1] - before[1]) / seconds)


def _busy_jiffies():
    """CPU time all processes have used since boot, in clock ticks (None without /proc)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
    except OSError:
        return None
    return sum(ticks) - ticks[3] - ticks[4]      # all but idle and iowait


def _log(text):
    print(text, file=sys.stderr if ARGS.json else sys.stdout, flush=True)


def main():
    keep_freed_memory()   # mnistnn training sets it; PyTorch gets the same allocator
    mnist = data.ensure(ARGS.data_dir, allow_download=False)
    x, labels = data.to_inputs(mnist.train_images), mnist.train_labels
    x_test, test_labels = data.to_inputs(mnist.test_images), mnist.test_labels
    r = {"threads": ARGS.threads, "numpy": np.__version__,
         "torch": torch.__version__ if torch else None, "load_before": os.getloadavg()[0]}
    _log(f"threads {ARGS.threads}, numpy {np.__version__}, "
         f"torch {r['torch'] or 'absent'}, load average {r['load_before']:.2f}")
    if not torch:
        _log("PyTorch is not installed (pip install -e '.[bench]'): timing mnistnn alone")
    rate = r["sgemm_flops"] = sgemm_rate()
    _log(f"float32 matrix products: {rate / 1e9:.0f} GFLOP/s (2048 x 2048)")
    _log(f"conv net {CONV}, batch {BATCH}, {len(x)} images:")
    r.update(conv_figures(x, labels, x_test, test_labels, rate))
    r.update(wide_figures(x, labels))
    r["load_after"] = os.getloadavg()[0]
    if ARGS.json:
        print(json.dumps(r))
        return
    ours = statistics.median(r["mnistnn_epoch_s"])
    if torch:
        print(f"  median epoch: PyTorch {statistics.median(r['torch_epoch_s']):.2f} s, "
              f"mnistnn {ours:.2f} s: mnistnn / PyTorch = {r['ratio']:.2f} (required <= 1.0)")
        print(f"  test accuracy after {ARGS.epochs} epochs: PyTorch "
              f"{100 * r['torch_accuracy']:.2f}%, mnistnn {100 * r['mnistnn_accuracy']:.2f}%")
    print(f"  floor: {r['flops_per_epoch'] / 1e12:.2f} TFLOP / {rate / 1e9:.0f} GFLOP/s = "
          f"{r['flop_floor_s']:.2f} s ({ours / r['flop_floor_s']:.2f}x); its matrix "
          f"products alone {r['products_alone_s']:.2f} s ({ours / r['products_alone_s']:.2f}x)")
    pairs = zip(r["wide_epoch_s"], r["wide_products_alone_s"])
    print(f"wide MLP {WIDE}, batch {BATCH}: epochs "
          + ", ".join(f"{e:.2f} s (products alone {f:.2f} s)" for e, f in pairs)
          + f": median ratio {r['wide_ratio']:.2f}x (goal <= 1.25x)")
    print(f"load average before {r['load_before']:.2f}, after {r['load_after']:.2f}")
    if any(busy and busy > 0.1 for busy in r["others_cores"]):
        print("other processes ran during some epochs: measure again on a quiet machine")


if __name__ == "__main__":
    main()
