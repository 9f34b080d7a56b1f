"""The "not a digit" detector (mnistnn/reject.py): build it, compare methods, measure it.

    python benchmarks/detector.py --data-dir data --write     # rebuild the shipped detector
    python benchmarks/detector.py --data-dir data --write --windows   # ... the one for pieces
    python benchmarks/detector.py --data-dir data --compare   # methods side by side (dev sets)
    python benchmarks/detector.py --data-dir data             # held-out figures (also printed
                                                              # by benchmarks/numbers.py)
    python benchmarks/detector.py --data-dir data --dev       # the detector on the dev sets
    python benchmarks/detector.py --data-dir data --write --layers SPEC --output FILE
    python benchmarks/detector.py --data-dir data --detector FILE   # measure another one

--write trains reject.SIZES on MNIST training digits 0-49,999 and 3,000 1s drawn as
straight strokes (seed 5) against 24,000 non-digits drawn by
benchmarks/nondigit_training.py (seed 2), sets the threshold to keep
reject.IMAGE_KEEP of training digits 50,000-59,999, each read with its copies moved by
reject.SHIFT pixels, and writes mnistnn/models/digit-detector.npz (about 14 minutes on
two threads; it gives the shipped weights and threshold bit for bit).
--write --windows adds 20,000 windows of touching training digits 0-49,999 to the digits
and 20,000 miscut ones to the non-digits (mnistnn/touching.py, seeds 7 and 8) and writes
mnistnn/models/window-detector.npz, the detector for pieces of a line (15 minutes on 2
threads), with reject.KEEP and no shifted copies.

Development sets (the only ones looked at while choosing): training digits 50,000-59,999
raw and as photos, pen digits (seed 11), tests/nondigit_images.py's dev family (DejaVu
glyphs, stars, houses, triangles, squares, crosses, smooth scribbles, blobs, hatching;
seed 1) and the training family drawn afresh (seed 99). Held out, measured once choices
were made: tests/nondigit_images.py's held-out family (URW base35, FreeFont and
Liberation glyphs; hearts, spirals, smileys, arrows, lightning; jagged scribbles;
checkerboards and dots), each kind apart, and Fashion-MNIST test images as photos; real
digits: MNIST test digits as photos, pen-drawn digits, data/samples/.
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

from mnistnn import checkpoint, data, imaging, reject, touching  # noqa: E402
from mnistnn.idx import read_idx  # noqa: E402
from nondigit_images import fonts, nondigits  # noqa: E402
from nondigit_training import straight_ones, training_nondigits  # noqa: E402
from test_imaging import random_drawing, user_image  # noqa: E402

TRAINING = 24000          # generated non-digits the detector trains on
STRAIGHT_ONES = 3000      # and 1s drawn as straight strokes, beside MNIST's digits
# The font folders the README's held-out figures were drawn from (Debian's packages
# fonts-urw-base35, fonts-freefont-ttf, fonts-liberation). The held-out set draws its
# glyphs from every installed font but DejaVu, and every image after the first glyph
# depends on how many there are: with other fonts, every held-out figure differs.
HELD_OUT_FONTS = ("urw-base35", "freefont", "liberation")
INSTALL_FONTS = "apt-get install fonts-urw-base35 fonts-freefont-ttf fonts-liberation"
WINDOWS = 20000           # windows of touching training digits, cut right and miscut


def forms(sources):
    """Images (bytes or paths) -> (N, 784) through imaging.load_digit; blank ones skipped."""
    out = []
    for source in sources:
        try:
            out.append(imaging.load_digit(source))
        except imaging.ImageError:
            pass
    return np.stack(out)


def build(mnist, sizes=reject.SIZES, on_epoch=None, windows=False):
    """The detector, trained from scratch (see the module's docstring); windows=True: the
    one for pieces of a line, windows of touching training digits added."""
    digits = data.to_inputs(mnist.train_images)
    positive, negative = digits[:50000], training_nondigits(TRAINING, seed=2)
    if not windows:      # whole images: each read with its shifted copies
        positive = np.concatenate([positive, straight_ones(STRAIGHT_ONES, seed=5)])
        return reject.fit(positive, negative, digits[50000:], sizes, on_epoch=on_epoch,
                          keep=reject.IMAGE_KEEP, shift=reject.SHIFT)
    labels = mnist.train_labels[:50000]
    right, _ = touching.windows(positive, labels, WINDOWS, np.random.default_rng(7))
    wrong, _ = touching.windows(positive, labels, WINDOWS, np.random.default_rng(8),
                                miscut=True)
    positive, negative = np.concatenate([positive, right]), np.concatenate([negative, wrong])
    return reject.fit(positive, negative, digits[50000:], sizes, on_epoch=on_epoch)


def dev_sets(mnist):
    """The development sets, (N, 784) each: val, photo, pen (digits); non, fresh (not)."""
    rng = np.random.default_rng(0)
    return {"val": data.to_inputs(mnist.train_images[50000:]),
            "photo": forms(user_image(d, rng, k) for d, k in zip(
                mnist.train_images[50000:50600], ["rgb", "rgba", "jpeg"] * 200)),
            "pen": forms(random_drawing(d, np.random.default_rng(11 + d))
                         for d in np.repeat(np.arange(10), 30)),
            "non": forms(b for b, _ in nondigits("dev", 1000, seed=1)),
            "fresh": training_nondigits(1000, seed=99)}


def held_out_sets(mnist, fashion_dir, seed=3):
    """The held-out images, (N, 784) MNIST-form inputs: non-digits by kind, real digits."""
    if not fonts("held-out"):
        sys.exit(f"The held-out glyphs are printed in fonts other than DejaVu, and none is "
                 f"installed: {INSTALL_FONTS}")
    rng = np.random.default_rng(seed)
    drawn = nondigits("held-out", 1000, seed)
    names = {"glyph": "printed letters and symbols, other fonts",
             "shape": "hearts, spirals, smileys, arrows, lightning",
             "scribble": "jagged scribbles", "texture": "checkerboards and dots"}
    sets = {name: forms(b for b, k in drawn if k == kind) for kind, name in names.items()}
    if fashion_dir and (Path(fashion_dir) / "t10k-images-idx3-ubyte.gz").is_file():
        fashion = read_idx(Path(fashion_dir) / "t10k-images-idx3-ubyte.gz")[:500]
        sets["Fashion-MNIST test images as photos"] = forms(
            user_image(f, rng, "rgb") for f in fashion)
    digits = {"MNIST test digits as photos": forms(user_image(d, rng, k) for d, k in zip(
        mnist.test_images[:999], ["rgb", "rgba", "jpeg"] * 333)),
        "pen-drawn digits": forms(random_drawing(d, rng) for d in np.repeat(np.arange(10), 30)),
        "data/samples/": forms(p for p in sorted((ROOT / "data" / "samples").iterdir())
                               if p.suffix in (".png", ".jpg"))}
    return sets, digits


def measure(net, mnist, fashion_dir):
    """[(set, images, share rejected)] on the held-out sets, then the MNIST test rows; None
    when the network's data set has no detector."""
    detector = reject.for_network(net)
    if detector is None:
        return None
    non, real = held_out_sets(mnist, fashion_dir)
    rows = [(name, len(x), 1 - float(np.mean(detector.accepts(x))))
            for name, x in {**non, **real}.items()]
    x = data.to_inputs(mnist.test_images)
    correct = net.predict(x) == mnist.test_labels
    kept = detector.accepts(x)
    rows.append(("MNIST test digits (raw)", len(x), 1 - float(np.mean(kept))))
    drop = float(np.mean(correct) - np.mean(correct & kept))
    return rows, float(np.mean(correct)), drop, len(non)


def print_measure(net, mnist, fashion_dir):
    result = measure(net, mnist, fashion_dir)
    if result is None:
        print(f'\nThere is no "not a digit" detector for {reject.dataset_of(net)} networks.')
        return
    rows, accuracy, drop, families = result
    print('\n"Not a digit" on held-out images (reject.py, the shipped detector):')
    print(font_note(fonts("held-out")))
    print("| held-out set | images | rejected | target |\n|---|---:|---:|---:|")
    for k, (name, n, rate) in enumerate(rows):
        target = ">= 90%" if k < families else "<= 1%"
        print(f"| {name} | {n} | {rate:.1%} | {target} |")
        if k == families - 1:
            images = sum(n for _, n, _ in rows[:families])
            rejected = sum(n * rate for _, n, rate in rows[:families])
            print(f"| all held-out non-digits together | {images:,} | "
                  f"{rejected / images:.1%} | >= 90% |")
    print(f"| MNIST test accuracy {accuracy:.2%} -> {accuracy - drop:.2%}, a rejection "
          f"counted wrong | | -{100 * drop:.2f} points | <= 0.3 |")


def font_note(faces):
    """One line naming the font folders the held-out glyphs came from (faces: font file
    paths), and saying so when they are not the ones the README's figures came from."""
    folders = sorted({Path(f).parent.name for f in faces})
    note = f"Held-out glyphs from {len(faces)} font files ({', '.join(folders) or 'none'})."
    if folders != sorted(HELD_OUT_FONTS):
        note += (f" The README's figures were drawn from {', '.join(HELD_OUT_FONTS)}: with "
                 f"other fonts every held-out row differs ({INSTALL_FONTS}, and no other "
                 f"fonts, to repeat them).")
    return note


def print_dev(mnist):
    """The detector's figures on the development sets, the ones to choose by: its network
    reading each image alone or with its shifted copies, each at the threshold that keeps
    a share of training digits 50,000-59,999 (the way fit() sets it); the last row is how
    the shipped file reads."""
    network, sets = reject.load(reject.DETECTORS["mnist"]).net, dev_sets(mnist)
    print("| copies moved by | keeps | " + " | ".join(f"{k} ({len(x)})" for k, x in sets.items())
          + " |\n|---|---:|" + "---:|" * len(sets))
    readings = {shift: reject.Detector(network, 0, shift=shift) for shift in (0, reject.SHIFT)}
    odds = {shift: {k: d.log_odds(x) for k, x in sets.items()} for shift, d in readings.items()}
    for shift, keep in ((0, 0.996), (0, reject.KEEP), (reject.SHIFT, reject.KEEP),
                        (reject.SHIFT, reject.IMAGE_KEEP)):
        threshold = np.quantile(odds[shift]["val"], 1 - keep)
        print(f"| {shift} px | {keep:.2%} | "
              + " | ".join(f"{np.mean(o < threshold):.2%}" for o in odds[shift].values())
              + " |")


def main():
    args = parse()
    mnist = data.ensure(args.data_dir, allow_download=False)
    if args.write:
        started = time.perf_counter()

        def progress(m):
            print(f"epoch {m['epoch']}: loss {m['train_loss']:.4f}", flush=True)
        detector = build(mnist, args.layers, on_epoch=progress, windows=args.windows)
        shipped = reject.PIECE_DETECTORS if args.windows else reject.DETECTORS
        output = args.output or shipped["mnist"]
        reject.save(output, detector, {"built_by": "python benchmarks/detector.py --write"
                                       + " --windows" * args.windows})
        print(f"{output}: threshold {detector.threshold:.3f}, "
              f"{time.perf_counter() - started:.0f} s")
        return
    if args.detector:
        reject.DETECTORS["mnist"] = Path(args.detector)
    net = checkpoint.load(checkpoint.locate(args.weights, args.weights_dir))
    print(f"network: {checkpoint.describe(net)}")
    if args.dev:
        print_dev(mnist)
        return
    if args.compare:
        from methods import compare
        compare(net, mnist, dev_sets(mnist))
    else:
        print_measure(net, mnist, args.fashion_dir)


def measure_options(parser):
    """The options of what is measured, shared with benchmarks/numbers.py: the data, the
    Fashion-MNIST files (for the held-out photos) and the classifier."""
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--fashion-dir", default=str(ROOT.parent / "shared" / "fashion-mnist"))
    parser.add_argument("--weights", default=None)
    parser.add_argument("--weights-dir", default="weights")
    return parser


def parse():
    parser = measure_options(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--write", action="store_true", help="rebuild the shipped detector")
    parser.add_argument("--windows", action="store_true", help="with --write: the detector "
                        "for pieces of a line (window-detector.npz), windows of touching "
                        "digits added")
    parser.add_argument("--output", default=None,
                        help="where --write puts it (default: the shipped file)")
    parser.add_argument("--compare", action="store_true", help="methods side by side")
    parser.add_argument("--layers", default=reject.SIZES,
                        help="with --write: the detector's layers (default: reject.SIZES)")
    parser.add_argument("--dev", action="store_true", help="the detector on the development "
                        "sets (digits: val, photo, pen; non-digits: non, fresh)")
    parser.add_argument("--detector", help="measure with this detector file instead of the "
                        "shipped one")
    return parser.parse_args()


if __name__ == "__main__":
    main()
