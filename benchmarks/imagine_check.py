"""Are imagined digits digits? Prints measured figures for `mnistnn imagine`.

    python benchmarks/imagine_check.py --data-dir data            # about half a minute

1. Self-check: the network that imagined each digit reads it back (target: every digit
   seen as itself with probability >= 0.9, with the shipped model).
2. A second opinion: a second network, trained here with another seed and other hidden
   sizes, reads the same images (target: it recognises at least 8 of the 10). Adversarial
   noise fools only the network it was made for; a drawing of a digit fools neither.

Both are measured for several seeds of the default method, then, for comparison, for
plain ascent on the raw score z_d and for the classic backprojection. The first network
is --weights, else weights/best.npz or latest.npz, else the model shipped with mnistnn;
if there is none, one is trained here (and the figures are for that one).
"""
import sys
from pathlib import Path

# This folder holds numbers.py, which would hide the standard library's numbers module
# (numpy imports it): leave the folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from mnistnn import checkpoint, data  # noqa: E402
from mnistnn.errors import MnistnnError  # noqa: E402
from mnistnn.imagining import imagine_many, self_check  # noqa: E402
from mnistnn.network import Network  # noqa: E402
from mnistnn.pictures import montage, save_png  # noqa: E402
from mnistnn.train import TrainConfig, Trainer, split  # noqa: E402

DIGITS = np.arange(10)


def train(sizes, seed, epochs, x, labels):
    """A ReLU + softmax network trained in memory on (x, labels); returns it and seconds."""
    config = TrainConfig(sizes=tuple(sizes), activation="relu", cost="log-likelihood",
                         lr=0.1, momentum=0.9, batch_size=64, epochs=epochs, seed=seed)
    net = Network(sizes, "relu", "log-likelihood", seed=seed)
    started = time.perf_counter()
    Trainer(net, config, (x, labels)).run()
    return net, time.perf_counter() - started


def first_network(args, x, labels):
    """The network under test, and a sentence about where it came from."""
    try:
        path = checkpoint.locate(args.weights, args.weights_dir)
    except MnistnnError:
        net, seconds = train([784, 256, 10], 0, 5, x, labels)
        return net, f"no trained network found: trained 784-256-10 here ({seconds:.1f} s)"
    net = checkpoint.load(path)
    return net, f"{path} ({checkpoint.describe(net)})"


def second_sizes(first, wanted):
    """The second network's layers: `wanted`, unless the first has the same hidden sizes."""
    sizes = [int(s) for s in wanted.split(",")]
    if sizes[1:-1] == first.sizes[1:-1]:
        sizes[1:-1] = [s + 36 for s in sizes[1:-1]]
    return sizes


def measure(first, second, **options):
    """Imagine all ten digits; returns (seconds, seen_1, p_1(d), seen_2, p_2(d), images)."""
    started = time.perf_counter()
    images = imagine_many(first, DIGITS, **options)
    seconds = time.perf_counter() - started
    seen1, p1 = self_check(first, images)
    seen2, p2 = self_check(second, images)
    return seconds, seen1, p1[DIGITS, DIGITS], seen2, p2[DIGITS, DIGITS], images


def table(name, result):
    """Per-digit lines for one variant, then its two headline figures."""
    seconds, seen1, p1, seen2, p2, _ = result
    print(f"\n{name}  ({seconds:.2f} s for ten digits)")
    print("digit   first net: seen  p(digit)   second net: seen  p(digit)")
    for d in DIGITS:
        print(f"  {d}                {seen1[d]}    {p1[d]:6.3f}                  {seen2[d]}    "
              f"{p2[d]:6.3f}")
    print(f"self-check: {np.sum(p1 >= 0.9)}/10 digits with p >= 0.9 (lowest {p1.min():.3f}); "
          f"second network recognises {np.sum(seen2 == DIGITS)}/10")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="data", help="MNIST folder [default: ./data]")
    parser.add_argument("--weights", default=None, help="the network to imagine with")
    parser.add_argument("--weights-dir", default="weights")
    parser.add_argument("--second-layers", default="784,64,10",
                        help="hidden sizes of the second network [default: 784,64,10]")
    parser.add_argument("--second-seed", type=int, default=12345)
    parser.add_argument("--second-epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3, help="imagine with seeds 0..N-1")
    parser.add_argument("--save", metavar="PNG", help="write the seed-0 pictures here")
    args = parser.parse_args(argv)

    try:
        mnist = data.load_mnist(args.data_dir)
    except (MnistnnError, OSError) as exc:
        sys.exit(f"cannot load MNIST from {args.data_dir}: {exc}")
    (x, labels), _ = split(data.to_inputs(mnist.train_images), mnist.train_labels, 10000)
    x_test = data.to_inputs(mnist.test_images)

    first, where = first_network(args, x, labels)
    sizes = second_sizes(first, args.second_layers)
    second, seconds = train(sizes, args.second_seed, args.second_epochs, x, labels)
    print(f"first network:  {where}, test accuracy "
          f"{100 * first.accuracy(x_test, mnist.test_labels):.2f}%")
    print(f"second network: {'-'.join(map(str, sizes))} relu, seed {args.second_seed}, "
          f"{args.second_epochs} epochs in {seconds:.1f} s, test accuracy "
          f"{100 * second.accuracy(x_test, mnist.test_labels):.2f}%")

    runs = [measure(first, second, steps=args.steps, seed=s) for s in range(args.seeds)]
    for seed, result in enumerate(runs):
        table(f"maximise (the default), seed {seed}", result)
    table("ascent on the raw score z_d (objective='score'), seed 0",
          measure(first, second, steps=args.steps, seed=0, objective="score"))
    try:
        table("backproject (the classic)", measure(first, second, method="backproject"))
    except ValueError as exc:                      # a network with convolutions
        print(f"\nbackproject (the classic): {exc}")

    lowest = min(r[2].min() for r in runs)
    agree = [int(np.sum(r[3] == DIGITS)) for r in runs]
    ok = lowest >= 0.9 and min(agree) >= 8
    print(f"\nSUMMARY (maximise, seeds 0-{args.seeds - 1}): lowest self-check probability "
          f"{lowest:.3f} (target >= 0.9); second network recognises {agree} of 10 "
          f"(target >= 8): {'PASS' if ok else 'FAIL'}")
    if args.save:
        captions = [f"{d}: seen as {s}" for d, s in zip(DIGITS, runs[0][1])]
        save_png(montage(runs[0][5], captions, columns=5, scale=4), Path(args.save))
        print(f"pictures: {args.save}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
