"""One OpenBLAS thread or two, alone and beside a busy process: the figures behind blas.py.

    python benchmarks/blas_threads.py --data-dir data      # about a minute on a quiet machine

For each network (the classic 784-30-10 for one epoch with its evaluation, and the wide
784-800-800-10 for 100 batches of 128), times training in a fresh process with
OPENBLAS_NUM_THREADS=1 and =2, first alone, then while this script keeps one core busy
with a plain Python loop (what another person's job does on a shared 2-core machine).
Prints the median of --repeat runs of each, and the ratio 2 threads / 1 thread.
"""
import sys
from pathlib import Path

# This folder holds numbers.py (the name issue 9 gives it), which would hide the standard
# library's numbers module (numpy imports it) when a script here runs: leave it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import statistics
import subprocess

CHILD = r"""
import sys, time
import numpy as np
from mnistnn import data
from mnistnn.network import Network
from mnistnn.train import TrainConfig, Trainer, split
mnist = data.load_mnist(sys.argv[1])
x = data.to_inputs(mnist.train_images)
train, validation = split(x, mnist.train_labels, 10000)
if sys.argv[2] == "classic":
    config = TrainConfig(epochs=1)
else:
    config = TrainConfig(sizes=(784, 800, 800, 10), activation="relu", cost="log-likelihood",
                         lr=0.1, batch_size=128, momentum=0.9, nesterov=True, epochs=1)
    train, validation = (train[0][:12800], train[1][:12800]), None
net = Network(config.sizes, config.activation, config.cost)
started = time.perf_counter()
Trainer(net, config, train, validation).run()
print(time.perf_counter() - started)
"""


def seconds(data_dir, kind, threads):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads)}
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", CHILD, data_dir, kind], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for busy in (False, True):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            for kind in ("classic", "wide"):
                t = {n: statistics.median(seconds(args.data_dir, kind, n)
                                          for _ in range(args.repeat)) for n in (1, 2)}
                what = "beside a busy process" if busy else "alone"
                print(f"{kind:8} {what:22} 1 thread {t[1]:7.2f} s   2 threads {t[2]:7.2f} s"
                      f"   ratio {t[2] / t[1]:5.2f}")
        finally:
            if hog:
                hog.kill()
                hog.wait()


if __name__ == "__main__":
    main()
