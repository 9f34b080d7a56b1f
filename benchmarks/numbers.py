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
Two ceilings on touching numbers follow: of the cutting (a candidate piece framing each
digit and read right) and of the recognition (each digit cut out at the true places,
halfway through each overlap, and read as a piece cut out of wider ink is: by the network
and the window reader).

"Not a digit", on sets never looked at while choosing the method (held out), each family
apart: benchmarks/detector.py's figures, printed here too so that one command measures a
model.

--fit-segmentation fits segment.WEIGHTS on numbers made of MNIST *training* digits;
--cut-steps 0.1 0.085 reads touching numbers of training digits with guides that far
apart (cuts.STEP); --reader-weights reads numbers of training digits 50,000-59,999 with
the window reader's features weighed in turn (segment.WEIGHTS' "whole" and "reader");
--context-weights reads them with the context reader's weight and share in turn;
--narrow-weights with segment.NARROW and the weight of cutting narrower ink in turn.
"""
import argparse
import os
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

from detector import measure_options, print_measure  # noqa: E402
from mnistnn import blas, checkpoint, data, imaging, reading, segment  # noqa: E402
from nondigit_images import nondigits  # noqa: E402
from number_images import crop_ink, iou, mnist_number, on_paper, pen_number  # noqa: E402

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


def measure_oracle(net, images, labels, n, seed):
    """The cutting's ceiling on touching numbers: the share of digits for which some
    candidate piece has the digit's box (IoU >= 0.7) and is read right, and the share of
    numbers where every digit has one (what a perfect choice of path would reach)."""
    rng = np.random.default_rng(seed)
    score, framed, digits, whole = reading.piece_scorer(net), 0, 0, 0
    for _ in range(n):
        data_, truth, boxes, _ = make_number("touching", images, labels, rng)
        ink, (width, _) = imaging.load_ink(data_)
        line = segment.candidates(ink, score)
        scale = width / ink.shape[1]
        crops = [np.array(segment._crop(line.prims, i, j)[0]) * scale for i, j in line.groups]
        found = [any(iou(c, box) >= 0.7 and str(line.p[g].argmax()) == t
                     for g, c in enumerate(crops)) for box, t in zip(boxes, truth)]
        framed, digits, whole = framed + sum(found), digits + len(found), whole + all(found)
    return framed / digits, whole / n


def measure_windows(net, images, labels, n, seed):
    """Recognition where touching digits overlap: each digit of n touching numbers cut out
    at the true places (halfway through each overlap, all the ink in those columns) and
    read as the reading reads a piece cut out of wider ink (the network and the window
    reader). -> (share of digits read right, share of numbers all right)."""
    rng, score = np.random.default_rng(seed), reading.piece_scorer(net)
    right = digits = whole = 0
    for _ in range(n):
        pick = rng.choice(len(images), int(rng.integers(4, 7)), replace=False)
        ink, boxes = mnist_number(images[pick], rng, "touching")
        edges = [boxes[0][0]] + [(a[2] + b[0]) // 2 for a, b in zip(boxes, boxes[1:])] \
            + [boxes[-1][2]]
        crops = [ink[:, a:b] for a, b in zip(edges, edges[1:])]
        read = score(crops, np.ones(len(crops), dtype=bool))[0].argmax(axis=1)
        right, digits = right + np.sum(read == labels[pick]), digits + len(pick)
        whole += np.all(read == labels[pick])
    return right / digits, whole / n


def measure_number_nondigits(net, n=300, seed=5):
    """Held-out non-digit images (tests/nondigit_images.py's held-out family) read with
    --number: (share answered as a number with no digit turned away, images read; the
    others hold no ink the reading keeps and are refused in one sentence)."""
    full = []
    for png, _ in nondigits("held-out", n, seed):
        try:
            answer, _ = reading.read_number(net, png)
        except imaging.ImageError:
            continue
        full.append(all(d["digit"] is not None for d in answer["digits"]))
    return float(np.mean(full)), len(full)


def measure_speed(net, images, threads, repeats=7):
    """Median seconds to read a 6-digit 1000x300 photo of ruled paper (JPEG) on `threads`
    threads (blas.threads: the candidate pieces split among them, as `classify` splits
    them among the machine's cores), and the reading."""
    rng = np.random.default_rng(5)
    ink, _ = mnist_number(images[:6], rng, "separated", height=140)
    frame = np.zeros((300, 1000))
    h, w = min(300, ink.shape[0]), min(1000, ink.shape[1])
    frame[(300 - h) // 2:(300 - h) // 2 + h, (1000 - w) // 2:(1000 - w) // 2 + w] = ink[:h, :w]
    photo = on_paper(frame, rng, "ruled")
    times = []
    with blas.threads(threads):
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
    framed, whole = measure_oracle(net, mnist.test_images, mnist.test_labels, args.n // 3,
                                   args.seed)
    print(f"\nTouching numbers ({args.n // 3}): {framed:.1%} of digits have a candidate piece "
          f"framed (IoU >= 0.7) and read right; {whole:.1%} of numbers have one for every "
          f"digit (the ceiling of the path's choice)")
    right, whole = measure_windows(net, mnist.test_images, mnist.test_labels, args.n,
                                   args.seed)
    print(f"Touching numbers ({args.n}) cut at the true places, halfway through each "
          f"overlap: {right:.1%} of the digits read right, {whole:.1%} of the numbers (the "
          f"recognition's ceiling; digits alone: the table's last column)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    truth = "".join(map(str, mnist.test_labels[:6]))
    print()
    for threads in sorted({cores, 1}, reverse=True):
        seconds, number = measure_speed(net, mnist.test_images, threads)
        how = " (as classify reads it here)" if threads == cores else ""
        print(f"Speed: a 6-digit 1000x300 photo (JPEG) read in {seconds:.3f} s on {threads} "
              f"thread(s){how} (median of 7; read {number}, written {truth}); target <= 0.3 s")
    print_measure(net, mnist, args.fashion_dir)
    share, read = measure_number_nondigits(net)
    print(f"\nWith --number, {share:.1%} of {read} held-out non-digit images (300 of the "
          f"held-out family, seed 5) are answered as a number with no digit turned away")


def parse():
    parser = measure_options(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--n", type=int, default=300, help="numbers per set")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--fit-segmentation", action="store_true")
    parser.add_argument("--cut-steps", type=float, nargs="+", metavar="STEP")
    parser.add_argument("--reader-weights", action="store_true")
    parser.add_argument("--context-weights", action="store_true")
    parser.add_argument("--narrow-weights", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    if args.fit_segmentation:
        from methods import fit_segmentation
        fit_segmentation(args)
    elif args.cut_steps:
        from methods import choose_cut_step
        choose_cut_step(args)
    elif args.reader_weights:
        from methods import choose_reader_weights
        choose_reader_weights(args)
    elif args.context_weights:
        from methods import choose_context_weights
        choose_context_weights(args)
    elif args.narrow_weights:
        from methods import choose_narrow
        choose_narrow(args)
    else:
        main()
