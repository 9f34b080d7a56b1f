"""Figures for `mnistnn classify --number` and "not a digit" (issue 9).

    python benchmarks/numbers.py --data-dir data               # every figure, a few minutes
    python benchmarks/numbers.py --data-dir data --weights W   # ... for another checkpoint

Numbers: 4 to 6 digits, made of MNIST *test* digits (tests/number_images.py), read by
reading.read_number exactly as `classify --number` reads them:
    separated    clear gaps, sizes varying along the line, black on white PNG
    ruled        the same on ruled or squared notebook paper, uneven light, JPEG
    touching     each digit moved until its ink meets or overlaps its neighbour's
    drawn        digits drawn with Pillow pen strokes
Sequence accuracy counts a number right when every digit is right, none missing, none
extra. Each failure is put down to segmentation (the boxes found do not match the digits'
boxes one to one, IoU >= 0.5) or to recognition (they do, and a digit is misread); "read
alone" is the accuracy with perfect segmentation (each digit's own ink read alone).

"Not a digit", on sets never looked at while choosing the method (held out): printed
letters and symbols in fonts other than DejaVu (URW base35, FreeFont, Liberation), shapes,
scribbles and textures of other kinds than the ones trained on, Fashion-MNIST test images
as photos; real digits: MNIST test digits as photos, pen-drawn digits, data/samples/; and
the drop in MNIST test accuracy when a rejected digit counts as wrong.

Other modes: --compare (the table of methods, on the development sets), --fit-segmentation
(the weights of segment.WEIGHTS, on numbers made of MNIST *training* digits),
--make-nondigits (mnistnn/models/nondigits.npz, the detector's training non-digits).
"""
import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file's name would hide the standard library's `numbers` (numpy imports it): look
# in this folder last. The image makers come from tests/, which the tests use too.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

from methods import forms  # noqa: E402
from mnistnn import checkpoint, data, reading, reject  # noqa: E402
from mnistnn.idx import read_idx  # noqa: E402
from nondigit_images import nondigits  # noqa: E402
from number_images import crop_ink, mnist_number, on_paper, pen_number  # noqa: E402
from test_imaging import random_drawing, user_image  # noqa: E402

SETS = {"separated": ("separated", "white"), "ruled paper, JPEG": ("separated", "ruled"),
        "touching": ("touching", "white"), "drawn strokes": ("pen", "white")}
TARGETS = {"separated": 0.96, "ruled paper, JPEG": 0.94, "touching": 0.80,
           "drawn strokes": 0.98}


def make_number(kind, images, labels, rng):
    """(image bytes, truth string, boxes (k, 4), digit inks) of one 4-6 digit number."""
    layout, style = SETS[kind]
    pick = rng.choice(len(images), int(rng.integers(4, 7)), replace=False)
    if layout == "pen":
        ink, boxes = pen_number(labels[pick], rng)
        alone = None
    else:
        ink, boxes = mnist_number(images[pick], rng, layout)
        alone = [crop_ink(d) for d in images[pick]]
    return on_paper(ink, rng, style), "".join(map(str, labels[pick])), boxes, alone


def iou(a, b):
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def measure_numbers(net, images, labels, n, seed):
    """Per set: sequence accuracy, failures split, per-digit accuracy, accuracy read alone."""
    rows = {}
    for kind in SETS:
        rng = np.random.default_rng(seed)
        right = seg = rec = alone_right = digits_right = digits = 0
        for _ in range(n):
            data_, truth, boxes, alone = make_number(kind, images, labels, rng)
            answer, _ = reading.read_number(net, data_, reject=False)
            got = [d["digit"] for d in answer["digits"]]
            matched = len(got) == len(truth) and all(
                iou(d["box"], b) >= 0.5 for d, b in zip(answer["digits"], boxes))
            right += answer["number"] == truth
            seg += answer["number"] != truth and not matched
            rec += answer["number"] != truth and matched
            if matched:
                digits_right += sum(str(g) == t for g, t in zip(got, truth))
            digits += len(truth)
            if alone is not None:
                x = reading.mnist_forms(alone)
                alone_right += "".join(map(str, net.predict(x))) == truth
            else:
                alone_right = None
        rows[kind] = dict(accuracy=right / n, segmentation=seg / n, recognition=rec / n,
                          alone=None if alone_right is None else alone_right / n)
    return rows


# -- "not a digit" -----------------------------------------------------------------------------

def held_out_sets(mnist, fashion_dir, seed=3):
    """The held-out images as (N, 784) MNIST-form inputs: non-digits and real digits."""
    rng = np.random.default_rng(seed)
    sets = {"printed, shapes, scribbles, textures": forms(b for b, _ in nondigits(
        "held-out", 1000, seed))}
    if fashion_dir and (Path(fashion_dir) / "t10k-images-idx3-ubyte.gz").is_file():
        fashion = read_idx(Path(fashion_dir) / "t10k-images-idx3-ubyte.gz")[:500]
        sets["Fashion-MNIST photos"] = forms(user_image(f, rng, "rgb") for f in fashion)
    digits = {"MNIST test photos": forms(user_image(d, rng, k) for d, k in zip(
        mnist.test_images[:999], ["rgb", "rgba", "jpeg"] * 333)),
        "drawn digits": forms(random_drawing(d, rng) for d in np.repeat(np.arange(10), 30)),
        "data/samples": forms(p for p in sorted((ROOT / "data" / "samples").iterdir())
                              if p.suffix in (".png", ".jpg"))}
    return sets, digits


def measure_reject(net, mnist, fashion_dir):
    """Rejection rates on the held-out sets and the MNIST test accuracy drop."""
    model = reject.for_network(net)
    if model is None:
        return None
    non, real = held_out_sets(mnist, fashion_dir)
    rows = {name: 1 - float(np.mean(model.accepts(x))) for name, x in non.items()}
    rows.update({name: 1 - float(np.mean(model.accepts(x))) for name, x in real.items()})
    x = data.to_inputs(mnist.test_images)
    correct = net.predict(x) == mnist.test_labels
    kept = model.accepts(x)
    rows["MNIST test: accuracy"] = float(np.mean(correct))
    rows["MNIST test: accuracy, a rejection counted wrong"] = float(np.mean(correct & kept))
    rows["MNIST test: rejected"] = 1 - float(np.mean(kept))
    return rows


def measure_speed(net, images, repeats=7):
    """Median seconds to read a 6-digit 1000x300 photo of ruled paper (JPEG), the reading
    and the truth."""
    rng = np.random.default_rng(5)
    ink, _ = mnist_number(images[:6], rng, "separated", height=140)
    frame = np.zeros((300, 1000))
    h, w = min(300, ink.shape[0]), min(1000, ink.shape[1])
    frame[(300 - h) // 2:(300 - h) // 2 + h, (1000 - w) // 2:(1000 - w) // 2 + w] = ink[:h, :w]
    photo = on_paper(frame, rng, "ruled")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        answer, _ = reading.read_number(net, photo)
        times.append(time.perf_counter() - started)
    return float(np.median(times)), answer["number"]


def main():
    net = checkpoint.load(checkpoint.locate(args.weights, args.weights_dir))
    print(f"network: {checkpoint.describe(net)}")
    mnist = data.ensure(args.data_dir, allow_download=False)
    print(f"\nNumbers of 4-6 MNIST test digits, {args.n} per set (seed {args.seed}):")
    print("| set | sequence accuracy | target | failures: segmentation | recognition "
          "| digits read alone |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = measure_numbers(net, mnist.test_images, mnist.test_labels, args.n, args.seed)
    for kind, r in rows.items():
        alone = "n/a" if r["alone"] is None else f"{r['alone']:.1%}"
        print(f"| {kind} | {r['accuracy']:.1%} | >= {TARGETS[kind]:.0%} | "
              f"{r['segmentation']:.1%} | {r['recognition']:.1%} | {alone} |")
    seconds, number = measure_speed(net, mnist.test_images)
    truth = "".join(map(str, mnist.test_labels[:6]))
    print(f"\nSpeed: a 6-digit 1000x300 photo (JPEG) read in {seconds:.3f} s "
          f"(median of 7; read {number}, written {truth}); target <= 0.3 s")
    rates = measure_reject(net, mnist, args.fashion_dir)
    if rates is None:
        print(f'\nThere is no "not a digit" detector for {reject.dataset_of(net)} networks.')
        return
    print('\n"Not a digit" on held-out images:')
    for name, value in rates.items():
        print(f"  {name}: {value:.2%}")
    drop = rates["MNIST test: accuracy"] - rates["MNIST test: accuracy, a rejection counted wrong"]
    print(f"  MNIST test accuracy drop: {100 * drop:.2f} percentage points (target <= 0.3)")


def parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--fashion-dir", default=str(ROOT.parent / "shared" / "fashion-mnist"))
    parser.add_argument("--weights", default=None)
    parser.add_argument("--weights-dir", default="weights")
    parser.add_argument("--n", type=int, default=300, help="numbers per set")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--fit-segmentation", action="store_true")
    parser.add_argument("--make-nondigits", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    if args.make_nondigits:
        from methods import make_nondigits
        make_nondigits()
    elif args.compare:
        from methods import compare
        compare(args)
    elif args.fit_segmentation:
        from methods import fit_segmentation
        fit_segmentation(args)
    else:
        main()
