"""classify for Fashion-MNIST on real bytes: Fashion-MNIST's own test images turned into
product photos (a dark object on white, any size, JPEG or PNG) and brought back to the
data set's form by imaging (object light on black, trimmed, longer side 28, centred)."""
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke
from PIL import Image

from mnistnn import checkpoint, data, datasets, imaging, recipes
from mnistnn.errors import ImageError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from fashion_photos import photos  # noqa: E402 (the benchmark's photos, tested here)

FASHION = datasets.DATASETS["fashion-mnist"]


@pytest.fixture(scope="module")
def fashion_test(fashion_dir, tmp_path_factory):
    """Fashion-MNIST's test images (10000, 28, 28) uint8 and labels, from the real files."""
    folder = tmp_path_factory.mktemp("fashion-data")
    (folder / "fashion-mnist").mkdir()
    for name, _ in FASHION.files.values():
        (folder / "fashion-mnist" / name).symlink_to(fashion_dir / name)
    images = data.load_dataset("fashion-mnist", folder)
    return images.test_images, images.test_labels


def encode(image, kind="JPEG", quality=90):
    buffer = io.BytesIO()
    image.save(buffer, kind, **({"quality": quality} if kind == "JPEG" else {}))
    return buffer.getvalue()


def box(x, level=0.1):
    """(rows, columns) of the bounding box of what is brighter than level in x (28, 28)."""
    rows, cols = np.flatnonzero(x.max(axis=1) > level), np.flatnonzero(x.max(axis=0) > level)
    return (rows[0], rows[-1] + 1), (cols[0], cols[-1] + 1)


@pytest.mark.slow
def test_product_photos_come_back_in_fashion_mnists_form(fashion_test):
    """300 test images as photos from 40 to 900 pixels a side, JPEG and PNG, on white and on
    light grey: what the network sees is close to the original, pixel for pixel."""
    images, _ = fashion_test
    errors = []
    for i, photo in enumerate(photos(images[:300])):
        x = imaging.load_digit(photo, f"photo{i}", style="fashion").reshape(28, 28)
        assert x.dtype == np.float32 and x.min() >= 0 and x.max() == 1
        assert 28 in (np.ptp(box(x)[0]), np.ptp(box(x)[1]))       # the longer side is 28
        errors.append(np.abs(x - images[i] / 255).mean())
    # Measured: mean 0.047; the 10% worst above 0.07 (faint edges, JPEG at 70).
    assert np.mean(errors) < 0.06 and np.percentile(errors, 90) < 0.10


def test_the_form_by_hand():
    """A dark 200 x 100 rectangle on white: 28 x 14, white (the brightest pixel is 1),
    centred as Fashion-MNIST centres (columns 7-20), the background exactly 0."""
    photo = np.full((400, 300), 250, np.uint8)
    photo[60:260, 150:250] = 30
    x = imaging.load_digit(encode(Image.fromarray(photo), "PNG"), style="fashion")
    x = x.reshape(28, 28)
    assert box(x) == ((0, 28), (7, 21))
    np.testing.assert_allclose(x[1:27, 8:20], 1, atol=0.02)
    assert np.all(x[:, :6] == 0) and np.all(x[:, 22:] == 0)
    # Taller than wide by one pixel less: 15 rows high starts at row (29 - 15) // 2 = 7.
    wide = np.full((300, 400), 255, np.uint8)
    wide[100:250, 20:300] = 0
    assert box(imaging.load_digit(encode(Image.fromarray(wide), "PNG"),
                                  style="fashion").reshape(28, 28))[0] == (7, 22)


def test_an_image_already_in_fashion_mnists_form_is_not_negated(fashion_test):
    """A test image saved as it is (light on black) reads back as itself, most of them
    exactly; one whose faint edge is trimmed is enlarged a little (measured: mean error
    0.009, median 0)."""
    images, _ = fashion_test
    errors = [np.abs(imaging.load_digit(encode(Image.fromarray(image), "PNG"), style="fashion")
                     - image.reshape(784) / 255).mean() for image in images[:100]]
    assert np.median(errors) < 0.002 and np.mean(errors) < 0.02


def test_a_large_object_reaching_the_edges_on_a_plain_background():
    """A coat filling most of the photo: the paper is the border's level, not a fit that
    the object would take over."""
    photo = np.full((500, 400), 240, np.uint8)
    photo[8:492, 30:370] = 110
    photo[8:492, 190:210] = 60                                 # a zip, darker
    x = imaging.load_digit(encode(Image.fromarray(photo)), style="fashion").reshape(28, 28)
    assert box(x, 0.3) == ((0, 28), (4, 24)) and x[14, 13] == pytest.approx(1, abs=0.05)
    assert 0.6 < np.median(x[5:23, 5:10]) < 0.9                 # the coat's own grey


@pytest.mark.parametrize("photo", [Image.new("RGB", (300, 200), "white"),
                                   Image.new("L", (64, 64), 200)])
def test_a_blank_photo_is_one_sentence(photo):
    with pytest.raises(ImageError) as caught:
        imaging.load_digit(encode(photo, "PNG"), "blank.png", style="fashion")
    assert str(caught.value) == ("blank.png: no object found: the image is blank (nothing "
                                 "stands out from the background)")


def test_classify_a_blank_photo_with_a_fashion_model(tmp_path):
    model = tmp_path / "fashion.npz"
    checkpoint.save(model, checkpoint.load(checkpoint.SHIPPED), {"dataset": "fashion-mnist"})
    Image.new("RGB", (300, 200), "white").save(tmp_path / "blank.png")
    result = invoke("classify", tmp_path / "blank.png", "--weights", model)
    assert result.exit_code == 1 and "blank.png: no object found" in result.stderr


# -- with the model that ships for Fashion-MNIST -------------------------------------------

SHIPPED = checkpoint.shipped("fashion-mnist")
SHIPPED_ACCURACY = 0.9369          # the README's figure: `mnistnn test --dataset fashion-mnist`


def test_the_shipped_model_is_small_made_by_train_and_package_data():
    assert SHIPPED.stat().st_size <= 4 * 1024 * 1024
    meta = checkpoint.read(SHIPPED, dataset="fashion-mnist").meta
    assert meta["dataset"] == "fashion-mnist" and meta["classes"] == list(FASHION.classes)
    assert meta["config"]["seed"] == 0 and meta["config"]["flip"] == 0.5   # the README's
    assert meta["layers"] == recipes.settings("cnn", "fashion-mnist")["sizes"]  # command
    assert meta["test_accuracy"] == SHIPPED_ACCURACY   # stamped by shipped_model.py --write
    from fnmatch import fnmatch

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    patterns = re.search(r"\[tool\.setuptools\.package-data\]\nmnistnn = \[(.*?)\]",
                         pyproject).group(1)
    assert any(fnmatch("models/fashion-mnist.npz", pattern.strip(' "'))
               for pattern in patterns.split(","))


@pytest.mark.slow
def test_the_shipped_model_reads_photos_as_it_reads_the_originals(fashion_test):
    """benchmarks/fashion_photos.py's figure, on the first 1000 test images."""
    from fashion_photos import measure

    images, labels = fashion_test
    result = measure(checkpoint.load(SHIPPED), images[:1000], labels[:1000])
    assert result["agreement"] >= 0.95
    assert result["accuracy_photos"] >= result["accuracy_original"] - 0.02


def test_classify_a_shoe_photo_with_no_training(fashion_test, tmp_path, monkeypatch):
    """`mnistnn classify --dataset fashion-mnist shoe.jpg` with no weights of one's own."""
    images, labels = fashion_test
    net = checkpoint.load(SHIPPED)
    sneakers = np.flatnonzero(labels[:200] == 7)
    p = net.predict_proba(data.to_inputs(images[sneakers]))
    shoe = images[sneakers[np.argmax(p[:, 7])]]                       # a clear sneaker
    (tmp_path / "shoe.jpg").write_bytes(next(photos([shoe], seed=5)))
    monkeypatch.chdir(tmp_path)                                       # no weights/ here
    result = invoke("classify", "--dataset", "fashion-mnist", "shoe.jpg")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"shoe\.jpg: Sneaker \((9\d|100)\.\d%\)\n", result.stdout)
    assert result.stderr.startswith("Using the model that ships with mnistnn (") and \
        "trained on Fashion-MNIST); `mnistnn train --dataset fashion-mnist` makes" in \
        result.stderr
    answer = json.loads(invoke("classify", "--dataset", "fashion-mnist", "shoe.jpg",
                               "--json").stdout)
    assert (answer["label"], answer["digit"], answer["name"]) == (7, 7, "Sneaker")


def test_test_with_no_weights_uses_the_shipped_model_on_the_real_files(serve, fashion_dir,
                                                                       tmp_path, monkeypatch):
    """The test set comes through a loopback mirror (test downloads what is missing)."""
    monkeypatch.setenv("MNISTNN_MIRRORS_FASHION_MNIST", serve(fashion_dir).url)
    monkeypatch.delenv("MNISTNN_WEIGHTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    result = invoke("test", "--dataset", "fashion-mnist", "--json", "--min-accuracy", "0.92")
    assert result.exit_code == 0, result.output
    assert "Using the model that ships with mnistnn" in result.stderr
    assert "Fashion-MNIST is not in data/fashion-mnist yet: downloading it" in result.stderr
    report = json.loads(result.stdout)
    assert report["dataset"] == "fashion-mnist" and report["total"] == 10000
    assert report["accuracy"] == SHIPPED_ACCURACY
    assert report["passed"] and [d["count"] for d in report["per_digit"]] == [1000] * 10
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["fashion-mnist"]
