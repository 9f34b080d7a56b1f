"""Speed benchmark: prints measured seconds, medians of repeated runs, side by side.

    python benchmarks/speed.py --data-dir data          # about a minute and a half

- classic 784-30-10 sigmoid network, batch 10: seconds per 50k-image epoch (the training
  pass, as `mnistnn train` reports it), and the same network trained by the textbook
  per-example loop (`for x, y in mini_batch`, written below), with the speed-up ratio;
- a wide 784-800-800-10 ReLU network, batch 128: seconds per epoch;
- inference on the 10k test images with 784-30-10;
- loading MNIST: parsing the .gz files vs the cache; `mnistnn --help` wall time.
"""
import os
import sys

# benchmarks/numbers.py would hide the standard library's `numbers` (statistics and numpy
# import it): look for modules everywhere but in this folder.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from mnistnn import data  # noqa: E402
from mnistnn.network import Network, one_hot  # noqa: E402
from mnistnn.train import TrainConfig, Trainer  # noqa: E402


def epoch_seconds(sizes, activation, cost, lr, batch_size, x, labels, epochs, momentum=0.0):
    """Seconds of each epoch's training pass, from the library's own Trainer."""
    net = Network(sizes, activation, cost, seed=0)
    config = TrainConfig(sizes=sizes, activation=activation, cost=cost, lr=lr,
                         batch_size=batch_size, epochs=epochs, momentum=momentum)
    seconds = []
    Trainer(net, config, (x, labels)).run(on_epoch=lambda m: seconds.append(m["seconds"]))
    return seconds


class PerExampleNetwork:
    """The textbook loop: backprop one column-vector example at a time (float64)."""

    def __init__(self, sizes, rng):
        self.weights = [rng.standard_normal((n, m)) / np.sqrt(m)
                        for m, n in zip(sizes[:-1], sizes[1:])]
        self.biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_b, delta_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = w @ activation + b
            zs.append(z)
            activation = 1 / (1 + np.exp(-z))
            activations.append(activation)
        delta = (activations[-1] - y) * activations[-1] * (1 - activations[-1])
        nabla_b, nabla_w = [delta], [delta @ activations[-2].T]
        for layer in range(2, len(self.weights) + 1):
            a = activations[-layer]
            delta = (self.weights[-layer + 1].T @ delta) * a * (1 - a)
            nabla_b.insert(0, delta)
            nabla_w.insert(0, delta @ activations[-layer - 1].T)
        return nabla_b, nabla_w


def per_example_epoch(x, labels, rng):
    """Seconds for one epoch of the textbook loop on the same data (eta 3.0, batch 10)."""
    net = PerExampleNetwork([784, 30, 10], rng)
    training = [(xi.reshape(784, 1).astype(np.float64), yi.reshape(10, 1).astype(np.float64))
                for xi, yi in zip(x, one_hot(labels))]
    started = time.perf_counter()
    order = rng.permutation(len(training))
    with np.errstate(over="ignore"):
        for k in range(0, len(training), 10):
            net.update_mini_batch([training[i] for i in order[k:k + 10]], 3.0)
    return time.perf_counter() - started


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def load_seconds(data_dir):
    """(seconds to parse the four .gz files, seconds to load them again from the cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, _ in data.FILES.values():
            shutil.copy(Path(data_dir) / name, Path(tmp) / name)
        parse = timed(lambda: data.load_mnist(tmp), 1)[0]        # builds the cache
        cached = statistics.median(timed(lambda: data.load_mnist(tmp), 5))
    return parse, cached


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--epochs", type=int, default=5, help="classic epochs to time")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    mnist = data.ensure(args.data_dir, allow_download=False)
    x, labels = data.to_inputs(mnist.train_images)[:50000], mnist.train_labels[:50000]
    x_test = data.to_inputs(mnist.test_images)
    rng = np.random.default_rng(0)
    r = {}
    classic = epoch_seconds((784, 30, 10), "sigmoid", "quadratic", 3.0, 10, x, labels,
                            args.epochs)
    loop = [per_example_epoch(x, labels, rng) for _ in range(2)]
    classic += epoch_seconds((784, 30, 10), "sigmoid", "quadratic", 3.0, 10, x, labels, 2)
    r["classic_epoch_s"] = statistics.median(classic)
    r["per_example_epoch_s"] = statistics.median(loop)
    r["speedup"] = r["per_example_epoch_s"] / r["classic_epoch_s"]
    wide = epoch_seconds((784, 800, 800, 10), "relu", "log-likelihood", 0.05, 128, x, labels,
                         3, momentum=0.9)
    r["wide_epoch_s"] = statistics.median(wide)
    net = Network([784, 30, 10], seed=0)
    r["inference_10k_ms"] = 1000 * statistics.median(timed(lambda: net.predict(x_test), 30))
    r["load_gz_s"], r["load_cache_s"] = load_seconds(args.data_dir)
    helps = timed(lambda: subprocess.run([sys.executable, "-m", "mnistnn", "--help"],
                                         check=True, capture_output=True), 7)
    r["help_s"] = statistics.median(helps)
    if args.json:
        print(json.dumps(r))
        return
    print(f"classic 784-30-10, batch 10:    {r['classic_epoch_s']:.3f} s/epoch "
          f"(median of {len(classic)}: {', '.join(f'{s:.3f}' for s in classic)})")
    print(f"per-example textbook loop:      {r['per_example_epoch_s']:.3f} s/epoch "
          f"(median of {len(loop)})")
    print(f"speed-up, same run:             {r['speedup']:.1f}x")
    print(f"wide 784-800-800-10, batch 128: {r['wide_epoch_s']:.3f} s/epoch (median of 3)")
    print(f"inference, 10k test images:     {r['inference_10k_ms']:.2f} ms (median of 30)")
    print(f"load MNIST: parse .gz {r['load_gz_s']:.3f} s, from cache {r['load_cache_s']:.3f} s")
    print(f"mnistnn --help:                 {r['help_s']:.3f} s wall (median of 7)")


if __name__ == "__main__":
    main()
