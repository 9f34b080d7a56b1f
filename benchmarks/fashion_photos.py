"""How well `classify` reads product photos of clothes.

Fashion-MNIST's test images are turned into product photos (the object dark on a plain
light background, as the data set's source photos were: 40 to 900 pixels a side,
somewhere on a larger canvas, JPEG at quality 70-95 or PNG, on white or light grey),
brought back to the data set's form by classify's preprocessing (imaging.load_digit,
style "fashion"), and read by a network trained on Fashion-MNIST. Printed: how often the
network reads a photo as it reads the original image (agreement), and its accuracy on
both.

    python benchmarks/fashion_photos.py --data-dir data              # the shipped model
    python benchmarks/fashion_photos.py --data-dir data -n 10000 --weights my.npz
"""
import sys
from pathlib import Path

# This folder holds numbers.py (the name issue 9 gives it), which would hide the standard
# library's numbers module (numpy imports it) when a script here runs: leave it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import io
import json
import time

import numpy as np
from PIL import Image

from mnistnn import checkpoint, data, imaging


def product_photo(image, rng, side, kind="JPEG", paper=255):
    """A test image (28, 28) as a product photo: the object dark on a plain light
    background (Fashion-MNIST negated its photos), enlarged to side x side pixels
    (bicubic), somewhere on a larger canvas, RGB, as JPEG (random quality) or PNG bytes."""
    grey = np.asarray(Image.fromarray(255 - image).resize((side, side), Image.BICUBIC), float)
    grey = paper - (255 - grey) * paper / 255                    # white -> the paper's level
    width, height = (int(side * rng.uniform(1.15, 1.8)) for _ in range(2))
    canvas = np.full((height, width), float(paper))
    top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
    canvas[top:top + side, left:left + side] = grey
    photo = Image.fromarray(np.clip(canvas, 0, 255).round().astype(np.uint8)).convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, kind, **({"quality": int(rng.integers(70, 96))} if kind == "JPEG"
                                else {}))
    return buffer.getvalue()


def photos(images, seed=0):
    """The photos of images (n, 28, 28), as bytes: sizes, formats and papers vary."""
    rng = np.random.default_rng(seed)
    for i, image in enumerate(images):
        side, kind = int(rng.integers(40, 900)), ("JPEG", "PNG")[i % 2]
        yield product_photo(image, rng, side, kind, paper=(255, 225)[i % 3 == 0])


def measure(net, images, labels, seed=0):
    """Agreement and accuracies of net on the images (n, 28, 28) and on their photos."""
    started = time.perf_counter()
    seen = np.stack([imaging.load_digit(photo, style="fashion")
                     for photo in photos(images, seed)])                   # (n, 784)
    seconds = time.perf_counter() - started
    original, read = net.predict(data.to_inputs(images)), net.predict(seen)
    return {"images": len(images), "agreement": float(np.mean(read == original)),
            "accuracy_original": float(np.mean(original == labels)),
            "accuracy_photos": float(np.mean(read == labels)),
            "ms_per_photo": round(1000 * seconds / len(images), 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="data", help="the data folder (Fashion-MNIST "
                                                           "in its fashion-mnist/ subfolder)")
    parser.add_argument("--weights", default=None, help="a network trained on Fashion-MNIST "
                                                        "[default: the shipped one]")
    parser.add_argument("-n", type=int, default=1000, help="the first N test images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = args.weights or checkpoint.shipped("fashion-mnist")
    net = checkpoint.load(path, dataset="fashion-mnist")
    test = data.load_dataset("fashion-mnist", args.data_dir)
    result = measure(net, test.test_images[:args.n], test.test_labels[:args.n], args.seed)
    print(json.dumps({"weights": str(path), **result}))


if __name__ == "__main__":
    main()
