"""The figures of a model to ship as mnistnn/models/default.npz, each against its goal:

    python benchmarks/shipped_model.py --data-dir data                      # the shipped one
    python benchmarks/shipped_model.py --data-dir data --weights weights/latest.npz
    python benchmarks/shipped_model.py --data-dir data --weights weights/latest.npz \
        --write mnistnn/models/default.npz       # ship it, its test accuracy in its metadata

- file size;
- MNIST test accuracy (the 10,000 test digits);
- printed digits: 0-9 in every font file (.ttf, .otf) under /usr/share/fonts (or --fonts)
  that has digits (not Dingbats), dark on white, 64 px, read through `classify`'s
  preprocessing (imaging.load_digit); the fonts and digits misread are listed;
- digits drawn with strokes: 1,000 pen drawings (tests/test_imaging.random_drawing: Pillow
  pen strokes at random sizes, places, slants and pen widths, on white, grey or photographed
  paper), 100 per digit, seed 0;
- one-image `mnistnn classify`, wall time of the whole process (start-up, loading the model
  and the "not a digit" detector, reading, answering): median of 7 runs;
- `mnistnn test`'s inference on the 10,000 test images (Network.predict, median of 5).

--write PATH saves the checkpoint to PATH with the test accuracy measured here in its
metadata ("test_accuracy", which `draw`'s model card shows), without the momentum state
(the model to use, as best.npz is; a resumed run starts its momentum afresh). A
Fashion-MNIST checkpoint gets the figures that apply to it: size, test accuracy, inference.
--float16 stores the parameters as float16 (half the bytes); every figure is then that of
the rounded parameters, as `mnistnn` loads them (in float32).

Printed and drawn digits count as read when the network's answer is right; how many of them
the "not a digit" detector would reject is printed beside (classify says "not a digit"
for those, unless --no-reject).
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# benchmarks/numbers.py would hide the standard library's numbers module
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT / "tests"))

import argparse  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from mnistnn import checkpoint, data, datasets, imaging, reject  # noqa: E402
from test_imaging import random_drawing  # noqa: E402

# Fonts whose digit code points draw pictures, not digits: URW's Dingbats (D050000L).
SYMBOL_FONTS = ("D050000L",)
GOALS = {"size": 4.0, "test": 0.995, "fashion": 0.935, "printed": 0.97, "drawn": 0.99,
         "classify": 0.5, "inference": 1.5}


def font_files(folder):
    """Every .ttf and .otf file under folder, sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".ttf", ".otf"))


def has_digits(font):
    """Whether the font draws 0-9 as glyphs of their own (not its 'missing' box)."""
    missing = printed_digit(font, "\ue000")          # a private-use character: no glyph
    return all(printed_digit(font, d) != missing for d in range(10))


def printed_digit(font, digit, size=64):
    """PNG bytes: the digit in the font, black on white, with room around it."""
    image = Image.new("L", (3 * size, 3 * size), 255)
    ImageDraw.Draw(image).text((size, size // 2), str(digit), font=font, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def printed_set(folder):
    """(inputs (N, 784), labels (N,), font names (N,), fonts skipped)."""
    x, labels, names, skipped = [], [], [], []
    for path in font_files(folder):
        font = ImageFont.truetype(str(path), 64)
        if path.stem in SYMBOL_FONTS or not has_digits(font):
            skipped.append(path.name)
            continue
        for d in range(10):
            x.append(imaging.load_digit(printed_digit(font, d), f"{path.name}: {d}"))
            labels.append(d)
            names.append(path.name)
    return np.stack(x), np.array(labels), names, skipped


def drawn_set(n_per_digit=100, seed=0):
    """(inputs (N, 784), labels (N,)) of pen drawings read as classify reads them."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), n_per_digit)
    x = [imaging.load_digit(random_drawing(int(d), rng), f"drawing of {d}") for d in labels]
    return np.stack(x), labels


def classify_wall(weights, runs=7):
    """Median wall seconds of `mnistnn classify IMAGE --weights PATH` as a fresh process."""
    image = ROOT / "data" / "samples" / "3-black-on-white.png"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mnistnn", "classify", str(image), "--weights",
                        str(weights)], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def inference_seconds(net, x, runs=5):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        net.predict(x)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def line(what, value, goal, text, ok):
    print(f"{what:<44} {text:>10}   goal {goal:<10} {'met' if ok else 'NOT MET'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--weights", default=str(checkpoint.SHIPPED))
    parser.add_argument("--fonts", default="/usr/share/fonts")
    parser.add_argument("--write", metavar="PATH", help="save the checkpoint to PATH with "
                        "the measured test accuracy in its metadata")
    parser.add_argument("--float16", action="store_true", help="store the parameters as "
                        "float16; measure the rounded ones")
    args = parser.parse_args()
    saved = checkpoint.read(args.weights)
    net, dataset = saved.net, datasets.trained_on(saved.meta)
    if args.float16:
        net = net.astype(np.float16).astype(np.float32)   # what loading the file gives
    detector = reject.for_network(net)
    print(f"{args.weights}: {checkpoint.describe(net)}; OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, load average "
          f"{os.getloadavg()[0]:.2f}")
    test = data.ensure(args.data_dir, allow_download=False, dataset=dataset.name)
    x_test = data.to_inputs(test.test_images)
    accuracy = net.accuracy(x_test, test.test_labels)
    goal = GOALS["test"] if dataset.style == "mnist" else GOALS["fashion"]
    line(f"{dataset.title} test accuracy", accuracy, f">= {100 * goal:g}%",
         f"{100 * accuracy:.2f}%", accuracy >= goal)
    if args.write:
        checkpoint.save(args.write, net.astype(np.float16) if args.float16 else net,
                        {**saved.meta, "test_accuracy": round(accuracy, 6)})
        print(f"  wrote {args.write}, its test accuracy in its metadata")
    size = Path(args.write or args.weights).stat().st_size / 1e6
    line("file size" + (" as written" if args.write else ""), size, "<= 4 MB",
         f"{size:.2f} MB", size <= GOALS["size"])
    if dataset.style != "mnist":
        seconds = inference_seconds(net, x_test)
        line("inference on the 10,000 test images", seconds, "<= 1.5 s", f"{seconds:.3f} s",
             seconds <= GOALS["inference"])
        return
    x, labels, names, skipped = printed_set(args.fonts)
    predicted = net.predict(x)
    share = float(np.mean(predicted == labels))
    line(f"printed digits, {len(set(names))} fonts", share, ">= 97%", f"{100 * share:.1f}%",
         share >= GOALS["printed"])
    wrong = [f"{n} {d}->{p}" for n, d, p in zip(names, labels, predicted) if d != p]
    print(f"  misread ({len(wrong)}): {', '.join(wrong) or 'none'}")
    print(f"  fonts without digits, skipped: {', '.join(skipped) or 'none'}")
    if detector:
        print(f"  rejected as not a digit: {100 * np.mean(~detector.accepts(x)):.1f}%")
    x_drawn, drawn_labels = drawn_set()
    share = net.accuracy(x_drawn, drawn_labels)
    line(f"digits drawn with strokes, {len(x_drawn)}", share, ">= 99%", f"{100 * share:.1f}%",
         share >= GOALS["drawn"])
    if detector:
        print(f"  rejected as not a digit: {100 * np.mean(~detector.accepts(x_drawn)):.1f}%")
    wall = classify_wall(args.write or args.weights)
    line("one-image `mnistnn classify`, wall", wall, "<= 0.5 s", f"{wall:.3f} s",
         wall <= GOALS["classify"])
    seconds = inference_seconds(net, x_test)
    line("inference on the 10,000 test images", seconds, "<= 1.5 s", f"{seconds:.3f} s",
         seconds <= GOALS["inference"])


if __name__ == "__main__":
    main()
