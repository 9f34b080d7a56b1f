"""The design card's `mnistnn train --epochs 5 --lr 3.0`, for several seeds: test accuracy.

    python benchmarks/classic_accuracy.py --data-dir data        # about 30 seconds

Each seed trains the classic 784-30-10 network in a fresh weights folder with the real
command, then `mnistnn test --json` reads the accuracy of its best.npz. Prints each
seed's figure and the median.
"""
import sys
from pathlib import Path

# This folder holds numbers.py (the name issue 9 gives it), which would hide the standard
# library's numbers module (numpy imports it) when a script here runs: leave it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import statistics
import subprocess
import tempfile
import time


def mnistnn(*args):
    done = subprocess.run([sys.executable, "-m", "mnistnn", *args], check=True,
                          capture_output=True, text=True)
    return done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    accuracies = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as weights:
            started = time.perf_counter()
            mnistnn("train", "--epochs", "5", "--lr", "3.0", "--seed", str(seed), "--quiet",
                    "--data-dir", args.data_dir, "--weights-dir", weights, "--no-download")
            seconds = time.perf_counter() - started
            report = json.loads(mnistnn("test", "--json", "--weights-dir", weights,
                                        "--data-dir", args.data_dir, "--no-download"))
        accuracies.append(report["accuracy"])
        print(f"seed {seed}: test accuracy {100 * report['accuracy']:.2f}% "
              f"(train command {seconds:.1f} s wall)")
    print(f"median of {len(accuracies)} seeds: {100 * statistics.median(accuracies):.2f}%")


if __name__ == "__main__":
    main()
