"""Build the window reader (mnistnn/models/window-reader.npz): the network that reads the
pieces `classify --number` cuts out of touching digits, and says which are not one digit.

    OPENBLAS_NUM_THREADS=2 python benchmarks/window_reader.py --data-dir data --write

Its layers are the cnn recipe's with an eleventh output, "not one digit". It trains as
the cnn recipe does (30 epochs, distortions, dropout; the settings are the `mnistnn train
--recipe cnn --touching 0.33 --seed 0` run that built the first window reader), on:
- digits (outputs 0-9): MNIST's 60,000 training digits, 19,800 windows of them touching
  (mnistnn/touching.py, as `--touching 0.33` makes them), and the pieces the reading
  itself cuts right out of 1,200 lines of training digits 0-49,999
  (benchmarks/pieces.py, seed 9; about 29,000);
- not one digit (output 10): 60,000 of the pieces it cuts wrong out of the same lines
  (seed 10, of about 230,000) and 20,000 windows cut where no digit ends (touching.py,
  seed 8).
Training digits 50,000-59,999 are in no line, so numbers made of them can choose its
weight in the reading (segment.WEIGHTS) on pieces it never saw. About 45 minutes on two
threads (the harvest 9, the training 35); it prints its accuracy on MNIST's test digits.
"""
import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

from mnistnn import data, reading, recipes, touching  # noqa: E402
from mnistnn.config import TrainConfig, normal_layers  # noqa: E402
from mnistnn.network import Network  # noqa: E402
from mnistnn.train import Trainer, with_windows  # noqa: E402
from pieces import pieces  # noqa: E402

LINES, WRONG, MISCUT = 1200, 60000, 20000


def training_set(mnist):
    """(inputs (N, 784) float32, labels (N,) 0-10) as the module's docstring says."""
    x, y = data.to_inputs(mnist.train_images), mnist.train_labels
    right, digits, wrong, _ = pieces(mnist.train_images[:50000], y[:50000], LINES, seed=9)
    wrong = wrong[np.random.default_rng(10).choice(len(wrong), WRONG, replace=False)]
    miscut, _ = touching.windows(x[:50000], y[:50000], MISCUT, np.random.default_rng(8),
                                 miscut=True)
    x, y = with_windows(x, y, config(touching=0.33))
    return (np.concatenate([x, right, wrong, miscut]).astype(np.float32),
            np.concatenate([y, digits, np.full(WRONG + MISCUT, reading.NOT_ONE)]))


def config(touching=0.0):
    """The cnn recipe, seed 0, with eleven outputs (the windows are made beforehand)."""
    settings = {**recipes.settings("cnn"), "seed": 0, "touching": touching}
    settings["sizes"] = normal_layers(settings["sizes"].rsplit(",", 1)[0] + ",11")
    return TrainConfig(**settings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--write", action="store_true", help="train and write the reader")
    parser.add_argument("--output", default=None, help="where (default: the shipped file)")
    args = parser.parse_args()
    if not args.write:
        parser.error("nothing to do: --write builds the window reader")
    mnist = data.ensure(args.data_dir, allow_download=False)
    started = time.perf_counter()
    x, y = training_set(mnist)
    print(f"{len(x)} examples, {np.sum(y == reading.NOT_ONE)} of them not one digit",
          flush=True)
    settings = config()
    net = Network(settings.sizes, settings.activation, settings.cost, seed=settings.seed)
    Trainer(net, settings, (x, y)).run(on_epoch=lambda m: print(
        f"epoch {m['epoch']}: loss {m['train_loss']:.4f}", flush=True))
    output = args.output or reading.WINDOW_READERS["mnist"]
    accuracy = reading.save_reader(output, net, data.to_inputs(mnist.test_images),
                                   mnist.test_labels)
    print(f"{output}: {accuracy:.2%} of MNIST's test digits, "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
