"""Recipe benchmark: trains each recipe with the project's own command and prints what
it measured, for the README's results table and `mnistnn train --help`.

    python benchmarks/recipes.py --data-dir data wide          # one recipe, ~10 minutes
    python benchmarks/recipes.py --data-dir data classic wide best
    python benchmarks/recipes.py --data-dir data --dataset fashion-mnist classic wide best

For each recipe, in a fresh weights folder:
  mnistnn train [--dataset D] --recipe NAME --seed SEED ...   (a child process: wall time,
                                  and its peak RSS from os.wait4, i.e. getrusage of that
                                  child alone)
  mnistnn test --json             (test accuracy of the network it saved, on the data set it
                                  was trained on)
plus the epochs run, the median seconds of an epoch's training pass and of its
evaluation (from metrics.jsonl), and the load average before and after. Extra options
after `--` go to `mnistnn train` (e.g. `-- --epochs 2` for a quick check).
"""
import sys
from pathlib import Path

# This folder holds numbers.py, which would hide the standard library's numbers module
# (numpy imports it): leave the folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from mnistnn.datasets import NAMES  # noqa: E402

MNISTNN = [sys.executable, "-m", "mnistnn"]


def run_child(args):
    """Run a command; return (exit status, wall seconds, peak RSS in MB)."""
    started = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, time.perf_counter() - started, usage.ru_maxrss / 1024


def benchmark(recipe, seed, data_dir, extra, folder, dataset="mnist"):
    """Train and test one recipe on a data set; a dict of the figures."""
    weights = Path(folder) / dataset / recipe
    train = ["train", "--recipe", recipe, "--seed", str(seed), *extra]
    if dataset != "mnist":
        train[1:1] = ["--dataset", dataset]
    common = ["--data-dir", str(data_dir), "--no-download"]
    load_before = os.getloadavg()
    status, wall, rss = run_child([*MNISTNN, *train, *common, "--weights-dir", str(weights),
                                   "--quiet"])
    load_after = os.getloadavg()
    if status != 0:
        raise SystemExit(f"mnistnn train --recipe {recipe} failed with exit status {status}")
    report = json.loads(subprocess.run([*MNISTNN, "test", "--json", "--weights-dir",
                                        str(weights), *common, "--quiet"], check=True,
                                       capture_output=True, text=True).stdout)
    with open(weights / "metrics.jsonl") as f:
        epochs = [json.loads(line) for line in f]
    return {"recipe": recipe, "dataset": dataset, "seed": seed,
            "command": "mnistnn " + shlex.join(train),
            "test_accuracy": report["accuracy"], "errors": report["total"] - report["correct"],
            "wall_seconds": round(wall, 1), "epochs": len(epochs),
            "epoch_seconds": statistics.median(m["seconds"] for m in epochs),
            "eval_seconds": statistics.median(m.get("eval_seconds", 0) for m in epochs),
            "peak_rss_mb": round(rss), "load_before": load_before, "load_after": load_after,
            "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
            "cpus": os.cpu_count()}


def show(r):
    """One recipe's figures as a few readable lines."""
    return (f"{r['recipe']} ({r['dataset']}): {100 * r['test_accuracy']:.2f}% test accuracy "
            f"({r['errors']} "
            f"errors), {r['wall_seconds']:.0f} s ({r['wall_seconds'] / 60:.1f} min) wall, "
            f"{r['epochs']} epochs "
            f"({r['epoch_seconds']:.1f} s training + {r['eval_seconds']:.2f} s evaluation "
            f"per epoch, medians), peak RSS {r['peak_rss_mb']} MB\n"
            f"  command: {r['command']}\n"
            f"  load average before {r['load_before'][0]:.2f}, after "
            f"{r['load_after'][0]:.2f} (1 min); {r['cpus']} CPUs, "
            f"OPENBLAS_NUM_THREADS={r['threads']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipes", nargs="+", help="recipe names, e.g. classic wide best")
    parser.add_argument("--data-dir", default="data", help="the data folder (MNIST's files "
                                                           "in it, Fashion-MNIST's in a "
                                                           "subfolder)")
    parser.add_argument("--dataset", default="mnist", choices=NAMES,
                        help="the data set to train and test the recipes on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one JSON object per recipe")
    parser.add_argument("--keep", metavar="DIR", help="keep each recipe's weights folder "
                                                      "(checkpoints, training.png) in DIR")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args, extra = parser.parse_args(argv[:cut]), argv[cut + 1:]
    with tempfile.TemporaryDirectory(prefix="mnistnn-recipes-") as scratch:
        folder = args.keep or scratch
        for recipe in args.recipes:
            result = benchmark(recipe, args.seed, args.data_dir, extra, folder,
                               args.dataset)
            print(json.dumps(result) if args.json else show(result), flush=True)


if __name__ == "__main__":
    main()
