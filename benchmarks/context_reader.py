"""Build the context reader (mnistnn/models/context-reader.npz): the network that sees each
candidate digit of a line among its neighbours and says whether it is one whole digit.

    OPENBLAS_NUM_THREADS=2 python benchmarks/context_reader.py --data-dir data --write

The window reader sees a candidate alone, in MNIST's form, and a 1 cut out of its
neighbour looks to it like the stem of a 4 cut off. The context reader sees the
candidate's own ink and all the line's ink around it (context.py: a frame 1.5 x 2.5 line
heights, two channels), so it can tell a whole 1 beside a whole 7 from a piece of a 4
beside the rest of the 4.

It is trained on the pieces the reading itself cuts out of 4,800 lines of training
digits 0-49,999 (benchmarks/pieces.py with context=True, 1,200 lines a seed, in two
processes): seeds 11 and 12 as benchmarks/numbers.py makes its lines, seeds 13 and 14
touching lines (3 of 4 of MNIST digits, 1 of 4 of pen strokes) in which a digit is a 1
with probability ONES. A 1 absorbed into its neighbour was half of the reading's
mistakes on touching numbers: the pieces' frames of 1s beside their neighbours, and of
1s and neighbours taken together, are what tells them apart. Right pieces count as their
digits (outputs 0-9); three times as many wrong ones as "not one digit" (output 10):
every piece that holds most of a second digit's box (a 1 and its neighbour), and the
rest drawn from the others (two digits, part of one, parts of two). Layers
2x24x40,conv16k5,pool2,conv32k5,pool2,128,11 (small, as it reads every candidate of a
line: 149 for a 6-digit photo), ReLU, softmax, SGD with momentum 0.9, learning rate 0.05
on a cosine schedule, L2 5e-4, dropout 0.2, batches of 64, 8 epochs, seed 0; 5% of the
pieces are held out and their accuracy printed. Training digits 50,000-59,999 are in no
line, so the reading's weight for it (segment.WEIGHTS, "context") and its share
(reading.CONTEXT_SHARE) are chosen on numbers made of them (benchmarks/numbers.py
--context-weights). About 15 minutes on two cores (7 to cut the pieces, in two
processes; 8 to train).
"""
import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

from mnistnn import blas, checkpoint, context, data, reading  # noqa: E402
from mnistnn.network import SGD, Network, one_hot  # noqa: E402
from pieces import pieces  # noqa: E402

LINES, SEEDS, WRONG_PER_RIGHT = 1200, (11, 12, 13, 14), 3
ONES, ONES_SEEDS = 0.35, (13, 14)              # lines where a digit is a 1 that often
ONES_LAYOUTS = {"touching": 3, "pen-touching": 1}
SPEC = f"{context.SPEC_INPUT},conv16k5,pool2,conv32k5,pool2,128,11"
EPOCHS, BATCH, LR, HELD_OUT = 8, 64, 0.05, 0.05


def harvest(data_dir, seed, lines=LINES):
    """The context frames of one seed's lines: (right, digits, wrong, holding)."""
    mnist = data.ensure(data_dir, allow_download=False)
    ones = {"ones": ONES, "layouts": ONES_LAYOUTS} if seed in ONES_SEEDS else {}
    return pieces(mnist.train_images[:50000], mnist.train_labels[:50000], lines, seed,
                  context=True, **ones)


def training_set(data_dir, lines=LINES):
    """(x (N, context.SIZE) float32, labels (N,) 0-10), shuffled, as the docstring says."""
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(harvest, [data_dir] * len(SEEDS), SEEDS, [lines] * len(SEEDS)))
    right, digits, wrong, holding = (np.concatenate([part[k] for part in parts])
                                     for k in range(4))
    del parts
    rng = np.random.default_rng(0)
    others = np.flatnonzero(~holding)
    room = max(0, WRONG_PER_RIGHT * len(right) - int(holding.sum()))
    wrong = np.concatenate([wrong[holding], wrong[rng.choice(
        others, min(len(others), room), replace=False)]])
    x = np.concatenate([right, wrong]).astype(np.float32)
    y = np.concatenate([digits, np.full(len(wrong), reading.NOT_ONE)])
    order = rng.permutation(len(x))
    return x[order], y[order]


def train(x, y, on_epoch, epochs=EPOCHS):
    """The context reader trained on x, y (the last HELD_OUT share held out)."""
    n = int(len(x) * (1 - HELD_OUT))
    net = Network(SPEC, "relu", "log-likelihood", seed=0)
    optimizer = SGD(LR, momentum=0.9, l2=5e-4)
    targets, rng = one_hot(y, reading.NOT_ONE + 1), np.random.default_rng(0)
    steps, step = epochs * (n // BATCH), 0
    with blas.threads(blas.choose(sum(w.size for w in net.weights))):
        for epoch in range(epochs):
            order = rng.permutation(n)
            for i in range(0, n - BATCH + 1, BATCH):
                optimizer.lr = LR * 0.5 * (1 + np.cos(np.pi * step / steps))
                step += 1
                batch = order[i:i + BATCH]
                net.train_batch(x[batch], targets[batch], optimizer, dropout=0.2, rng=rng)
            on_epoch(epoch + 1, held_out_accuracy(net, x[n:], y[n:]))
    return net, held_out_accuracy(net.astype(np.float16).astype(np.float32), x[n:], y[n:])


def held_out_accuracy(net, x, y):
    return float(np.mean(net.predict_proba(x).argmax(axis=1) == y))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--write", action="store_true", help="build and write the reader")
    parser.add_argument("--output", default=None, help="where (default: the shipped file)")
    parser.add_argument("--lines", type=int, default=LINES, help=argparse.SUPPRESS)  # tests
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.write:
        parser.error("nothing to do: --write builds the context reader")
    started = time.perf_counter()
    x, y = training_set(args.data_dir, args.lines)
    print(f"{len(x)} pieces, {np.sum(y == reading.NOT_ONE)} of them not one digit "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    net, accuracy = train(x, y, lambda epoch, acc: print(
        f"epoch {epoch}: {acc:.2%} of the held-out pieces right", flush=True), args.epochs)
    half = net.astype(np.float16)
    half.meta = None
    output = args.output or reading.CONTEXT_READERS["mnist"]
    checkpoint.save(output, half, {"reader": {"dataset": "mnist", "input": "context frames",
                                              "outputs": "0-9, not one digit"},
                                   "held_out_accuracy": round(accuracy, 6)})
    print(f"{output}: {accuracy:.2%} of the held-out pieces right (float16), "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
