"""`mnistnn imagine`: the math against oracles, the must-show figures on networks trained
here on real MNIST, and the command in-process on real PNG files."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from conftest import invoke
from mnistnn import checkpoint, cli_imagine, data, imagining, pictures
from mnistnn.augment import blur as gaussian_blur
from mnistnn.imagining import FRAME, backproject, imagine, imagine_many, project_ink, self_check
from mnistnn.network import Network
from mnistnn.train import TrainConfig, Trainer

DIGITS = np.arange(10)


def trained(mnist_data, sizes, seed, epochs):
    """A ReLU + softmax network trained in memory on the 60k real training digits."""
    mnist = data.load_mnist(mnist_data)
    net = Network(sizes, "relu", "log-likelihood", seed=seed)
    config = TrainConfig(sizes=tuple(sizes), activation="relu", cost="log-likelihood", lr=0.1,
                         momentum=0.9, batch_size=64, epochs=epochs, seed=seed)
    Trainer(net, config, (data.to_inputs(mnist.train_images), mnist.train_labels)).run()
    return net


@pytest.fixture(scope="module")
def first(mnist_data):
    """The network that imagines (about a second of training, ~97% accurate)."""
    return trained(mnist_data, [784, 100, 10], seed=0, epochs=3)


@pytest.fixture(scope="module")
def second(mnist_data):
    """A second opinion: another seed, other hidden sizes."""
    return trained(mnist_data, [784, 48, 10], seed=7, epochs=2)


@pytest.fixture(scope="module")
def imagined(first):
    return imagine_many(first, DIGITS)


@pytest.fixture(scope="module")
def weights(first, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "first.npz"
    checkpoint.save(path, first)
    return path


def roughness(images):
    """Total variation per unit of ink. Real MNIST test digits: median 1.08, 98% within
    0.58-1.74 (measured on 2,000 of them); a digit drawn with smooth strokes is below 1.2."""
    tv = (np.abs(np.diff(images, axis=-1)).sum((-2, -1))
          + np.abs(np.diff(images, axis=-2)).sum((-2, -1)))
    return tv / images.sum((-2, -1))


# -- the must-show figures, on real MNIST ------------------------------------------------

@pytest.mark.mnist
def test_the_network_reads_every_imagined_digit_back_with_probability_0_9(first, imagined):
    seen, proba = self_check(first, imagined)
    assert list(seen) == list(DIGITS)
    assert proba[DIGITS, DIGITS].min() >= 0.9, proba[DIGITS, DIGITS]


@pytest.mark.mnist
def test_a_second_network_recognises_at_least_8_of_10(second, imagined):
    seen, _ = self_check(second, imagined)
    assert np.sum(seen == DIGITS) >= 8, seen


@pytest.mark.mnist
def test_strokes_are_smooth_and_unregularised_ascent_is_noise(first, imagined):
    noise = imagine_many(first, DIGITS, blur=(0, 0), ink=0, jitter=0, copies=1)
    # measured: imagined 0.58-1.0, unregularised 1.35-1.77 (median 1.57)
    assert roughness(imagined).max() < 1.2
    assert np.median(roughness(noise)) > 1.4          # the measure does tell noise apart


@pytest.mark.mnist
def test_pictures_look_like_mnist_black_background_limited_ink(imagined):
    assert imagined.shape == (10, 28, 28) and imagined.dtype == np.float32
    assert imagined.min() >= 0 and imagined.max() <= 1
    assert np.all(imagined[:, FRAME == 0] == 0)               # nothing beyond the frame
    ink = imagined.sum(axis=(1, 2))
    assert np.all(ink <= 100 + 1e-3) and np.all(ink > 30)
    assert np.all(imagined.max(axis=(1, 2)) > 0.5)             # strokes, not a grey haze


@pytest.mark.mnist
def test_deterministic_for_a_seed_and_the_seed_matters(first, imagined):
    again = imagine(first, 3, steps=200, seed=0)
    # One digit alone draws what it draws in a batch, up to the rounding of matrix products
    # of another shape (200 steps amplify it: 0.004 with numpy 1.22 on two BLAS threads).
    np.testing.assert_allclose(again, imagined[3], atol=0.01)
    assert np.array_equal(imagine(first, 3, steps=20, seed=5),
                          imagine(first, 3, steps=20, seed=5))
    assert not np.allclose(imagine(first, 3, steps=20, seed=5),
                           imagine(first, 3, steps=20, seed=6))


# -- the math against independent oracles -----------------------------------------------

@pytest.mark.parametrize("activation,cost", [("relu", "log-likelihood"),
                                             ("sigmoid", "quadratic"),
                                             ("tanh", "cross-entropy")])
def test_gradient_is_the_derivative_of_log_probability(activation, cost):
    """imagine's ascent direction vs central finite differences of log predict_proba."""
    net = Network([784, 12, 10], activation, cost, seed=3).astype(np.float64)
    x = np.random.default_rng(0).random((2, 28, 28))
    digits = np.array([4, 7])
    target = np.eye(10)[digits]
    grad = imagining._gradient(net, x, target, np.zeros((1, 2), int), "log-probability")

    def log_p(images):
        return np.log(net.predict_proba(images.reshape(2, 784))[[0, 1], digits])

    eps = 1e-6
    for i, j in np.random.default_rng(1).integers(0, 28, (12, 2)):
        bump = np.zeros_like(x)
        bump[:, i, j] = eps
        numeric = (log_p(x + bump) - log_p(x - bump)) / (2 * eps)
        np.testing.assert_allclose(grad[:, i, j], numeric, rtol=1e-5, atol=1e-9)


def test_gradient_of_jittered_copies_is_the_mean_of_shifted_gradients():
    net = Network([784, 12, 10], "relu", "log-likelihood", seed=3).astype(np.float64)
    x = np.random.default_rng(0).random((1, 28, 28))
    target = np.eye(10)[[2]]
    shifts = np.array([[1, -2], [0, 3]])
    both = imagining._gradient(net, x, target, shifts, "score")
    one = [np.roll(imagining._gradient(net, np.roll(x, tuple(s), (1, 2)), target,
                                       np.zeros((1, 2), int), "score"), tuple(-s), (1, 2))
           for s in shifts]
    np.testing.assert_allclose(both, np.mean(one, axis=0), rtol=1e-10, atol=1e-12)
    # The raw score of a one-layer network is linear: its gradient is the weight row.
    net1 = Network([784, 10], "relu", "log-likelihood", seed=1).astype(np.float64)
    g = imagining._gradient(net1, x, target, np.zeros((1, 2), int), "score")
    np.testing.assert_allclose(g.reshape(784), net1.weights[0][2])


def test_gaussian_blur_matches_a_direct_2d_convolution():
    """The one blur (augment.blur, used by imagine and the elastic distortion): a 2-D
    Gaussian of width sigma, zero beyond the border, the kernel summing to 1."""
    x = np.random.default_rng(0).random((2, 28, 28))
    sigma, r = 0.8, 27                          # every pixel reaches every other one
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k[np.abs(np.arange(-r, r + 1)) <= 4].sum()   # sums to 1 within 4 sigma (rounded up)
    k2 = np.outer(k, k)
    padded = np.pad(x, ((0, 0), (r, r), (r, r)))
    expected = np.zeros_like(x)
    for i in range(28):
        for j in range(28):
            expected[:, i, j] = (padded[:, i:i + 2 * r + 1, j:j + 2 * r + 1] * k2).sum((1, 2))
    np.testing.assert_allclose(gaussian_blur(x, sigma), expected, rtol=1e-12)
    assert imagining.gaussian_blur is gaussian_blur


def test_project_ink_keeps_the_budget_and_leaves_a_frugal_image_alone():
    rng = np.random.default_rng(0)
    heavy = rng.random((3, 28, 28)).astype(np.float32) * 2 - 0.5   # ~300 ink each
    out = project_ink(heavy, 80)
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(out.sum((1, 2)), 80, rtol=1e-4)
    assert np.all(out[:, FRAME == 0] == 0)
    # the same threshold for every pixel: the order of the pixels is kept
    inside = FRAME == 1
    assert np.all(np.diff(out[0][inside][np.argsort(heavy[0][inside])]) >= 0)
    light = np.zeros((1, 28, 28), np.float32)
    light[0, 10:14, 10:14] = 0.7
    np.testing.assert_allclose(project_ink(light, 80), light, atol=1e-6)


def test_project_ink_lifts_an_image_below_the_least_ink_evenly():
    light = np.zeros((2, 28, 28), np.float32)
    light[0, 10:14, 10:14] = 0.2                                  # 3.2 pixels' worth
    light[1, 8:20, 8:20] = 0.5                                    # 72: within the bounds
    out = project_ink(light, 80, least=40)
    np.testing.assert_allclose(out[0].sum(), 40, rtol=1e-3)
    assert out[0, 12, 12] > out[0, 5, 5] > 0 and np.all(out[0][FRAME == 0] == 0)
    np.testing.assert_allclose(out[1], light[1], atol=1e-6)


def test_the_shipped_networks_one_is_ink_not_blank_paper():
    """A conv net reads blank paper as a 1: without the least ink its imagined 1 stayed
    blank; with it, the 1 is a stroke of about 60 pixels' worth, read as a 1."""
    net = checkpoint.load(checkpoint.SHIPPED)
    one = imagine(net, 1)
    assert one.sum() >= 59 and net.predict(one.reshape(1, -1))[0] == 1
    assert one[:, 14].sum() > 4 * one[:, 3].sum()                  # ink in the middle


def test_backproject_of_a_one_layer_network_is_the_transposed_weights_oracle():
    net = Network([784, 10], "sigmoid", "log-likelihood", seed=2).astype(np.float64)
    t = np.full(10, 0.01)
    t[6] = 0.99
    z = np.log(t) - np.log(t).mean()                  # softmax inverted, up to a constant
    v = net.weights[0].T @ (z - net.biases[0])        # (784, 10) @ (10,)
    expected = ((v - v.min()) / (v.max() - v.min())).reshape(28, 28)
    np.testing.assert_allclose(backproject(net, np.array([6]))[0], expected, atol=1e-6)


def test_backproject_through_a_relu_layer_oracle():
    """Softmax inverted, back through W1, only what ReLUs can give, back through W0."""
    net = Network([784, 16, 10], "relu", "log-likelihood", seed=5).astype(np.float64)
    t = np.where(np.arange(10) == 2, 0.99, 0.01)
    h = net.weights[1].T @ (np.log(t) - np.log(t).mean() - net.biases[1])   # (16,)
    h = 0.99 * np.maximum(h, 0) / np.maximum(h, 0).max()
    v = net.weights[0].T @ (h - net.biases[0])                              # (784,)
    expected = ((v - v.min()) / (v.max() - v.min())).reshape(28, 28)
    np.testing.assert_allclose(backproject(net, np.array([2]))[0], expected, atol=1e-6)


@pytest.mark.parametrize("activation,cost", [("relu", "log-likelihood"),
                                             ("sigmoid", "quadratic"), ("tanh", "quadratic")])
def test_backproject_through_hidden_layers(activation, cost):
    net = Network([784, 30, 20, 10], activation, cost, seed=4)
    images = imagine_many(net, DIGITS, method="backproject")
    assert images.shape == (10, 28, 28) and np.isfinite(images).all()
    assert images.min(axis=(1, 2)).max() == 0 and images.max(axis=(1, 2)).min() == 1
    assert not np.allclose(images[0], images[1])      # each digit gets its own picture


def test_bad_requests_are_value_errors_with_a_sentence():
    net = Network([784, 10, 10], "relu", "log-likelihood")
    for call, words in [(lambda: imagine(net, 10), "0 to 9"),
                        (lambda: imagine(net, -1), "0 to 9"),
                        (lambda: imagine(net, 3, method="dream"), "unknown method"),
                        (lambda: imagine(net, 3, steps=0), "steps"),
                        (lambda: imagine(net, 3, objective="joy"), "unknown objective"),
                        (lambda: imagine(Network([100, 10]), 3), "784 inputs")]:
        with pytest.raises(ValueError, match=words):
            call()


# -- the command, in-process -------------------------------------------------------------

def run(*args):
    return invoke("imagine", *args)


def run_in(folder, monkeypatch, *args):
    """Run in an empty folder; result.files lists what it wrote, result.png the first."""
    monkeypatch.chdir(folder)
    result = run(*args)
    result.files = sorted(os.listdir(folder))
    result.png = Image.open(folder / result.files[0]) if result.files else None
    return result


@pytest.mark.mnist
def test_writes_a_280px_png_and_reports_the_self_check(weights, tmp_path):
    out = tmp_path / "three.png"
    result = run("3", "--weights", weights, "-o", out)
    assert result.exit_code == 0, result.output
    with Image.open(out) as png:
        assert png.format == "PNG" and png.size == (280, 280) and png.mode == "RGB"
        pixels = np.asarray(png)
    assert f"Using {weights}" in result.stderr
    assert "it is read as a 3 with probability" in result.stdout
    # The PNG holds the imagined digit itself, each pixel a 10x10 block of its grey level.
    first = checkpoint.load(weights)
    expected = np.round(imagine(first, 3) * 255)
    np.testing.assert_allclose(pixels[::10, ::10, 0], expected, atol=1)
    assert np.all(pixels[..., 0] == pixels[..., 2])           # grey


@pytest.mark.mnist
def test_json_self_check(weights, tmp_path):
    result = run("7", "--weights", weights, "-o", tmp_path / "7.png", "--json", "--scale", "3")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["digit"] == 7 and report["seen"] == 7 and report["confidence"] >= 0.9
    assert report["probability"] == report["confidence"]
    assert len(report["probabilities"]) == 10 and abs(sum(report["probabilities"]) - 1) < 1e-4
    assert (report["width"], report["height"]) == (84, 84)
    assert report["method"] == "maximise" and report["output"] == str(tmp_path / "7.png")
    assert Image.open(tmp_path / "7.png").size == (84, 84)


@pytest.mark.mnist
def test_default_file_name_and_scale(weights, tmp_path, monkeypatch):
    result = run_in(tmp_path, monkeypatch, "5", "--weights", weights, "--steps", "20",
                    "--scale", "2")
    assert result.exit_code == 0, result.output
    assert result.files == ["imagine-5.png"] and result.png.size == (56, 56)


@pytest.mark.mnist
def test_all_draws_a_labelled_2x5_grid(weights, tmp_path, monkeypatch):
    result = run_in(tmp_path, monkeypatch, "all", "--weights", weights, "--steps", "30",
                    "--json")
    assert result.exit_code == 0, result.output
    assert result.files == ["imagine-all.png"]
    report = json.loads(result.stdout)
    assert report["digit"] == "all" and [r["digit"] for r in report["results"]] == list(range(10))
    seen, proba = self_check(checkpoint.load(weights),
                             imagine_many(checkpoint.load(weights), DIGITS, steps=30))
    assert [r["seen"] for r in report["results"]] == list(seen)
    np.testing.assert_allclose([r["probability"] for r in report["results"]],
                               proba[DIGITS, DIGITS], atol=0.02)
    png = np.asarray(result.png.convert("L"))
    cell = 28 * 10 + 4
    assert png.shape[1] == 5 * cell + 4 and 2 * cell + 4 < png.shape[0] < 2 * (cell + 40) + 4
    row_h = (png.shape[0] - 4) // 2
    for d in range(10):                              # ink in each cell, and a caption below
        x, y = 4 + (d % 5) * cell, 4 + (d // 5) * row_h
        assert png[y:y + 280, x:x + 280].max() > 100
        assert png[y + 282:y + row_h - 4, x:x + 280].max() > 100
    text = run("all", "--weights", weights, "--steps", "5", "-o", tmp_path / "a.png").stdout
    assert text.count(" -> ") == 10


@pytest.mark.mnist
def test_heat_colormap_and_backproject(weights, tmp_path):
    out = tmp_path / "heat.png"
    result = run("0", "--weights", weights, "-o", out, "--colormap", "heat",
                 "--method", "backproject", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "backproject"
    rgb = np.asarray(Image.open(out)).astype(int)
    assert (rgb[..., 0] > rgb[..., 1] + 50).any()            # red: not grey


@pytest.mark.parametrize("args", [["10"], ["-1"], ["x"], ["3.5"], [""], ["3", "--steps", "0"],
                                  ["3", "--colormap", "blue"], ["3", "--scale", "0"],
                                  ["3", "--method", "dream"], ["3", "--seed", "-5"],
                                  ["3", "--seed", str(2**32)], []])
def test_usage_errors_exit_2(args, tmp_path):
    result = run(*args, "--weights", tmp_path / "unused.npz")
    assert result.exit_code == 2, result.output
    if args and args[0] in ("10", "x", "3.5"):
        assert ("give a number from 0 to 9, 'all', or, for a Fashion-MNIST network, a "
                "class name (T-shirt/top") in result.stderr


@pytest.mark.parametrize("out, words", [
    ("no/such/x.png", "cannot write {out}: the folder {parent} does not exist"),
    (".", "{out} is a folder; give a file name such as {out}/picture.png"),
    ("three.jpg", "{out} does not end in .png: it is written as PNG"),
])
def test_an_output_that_cannot_be_written_is_refused_before_the_work(out, words, tmp_path):
    out = tmp_path / out
    result = run("3", "--weights", tmp_path / "never-read.npz", "-o", out)
    assert result.exit_code == 2
    assert "Invalid value for" in result.stderr and "-o/--output" in result.stderr
    assert words.format(out=out, parent=out.parent) in result.stderr
    assert "never-read.npz" not in result.stderr          # refused before loading anything
    assert not out.is_file()


def test_a_persons_file_is_never_replaced(tmp_path):
    """-o names a file that is there: a photo of the person's own 3, say. imagine
    refuses it before any work and leaves it as it was."""
    photo = tmp_path / "three.png"
    Image.new("RGB", (40, 40), "white").save(photo)
    before = photo.read_bytes()
    result = run("3", "--weights", tmp_path / "never-read.npz", "-o", photo)
    assert result.exit_code == 2 and "-o/--output" in result.stderr
    assert f"{photo} already exists and is not a picture mnistnn made: choose another " \
           f"name" in result.stderr
    assert "never-read.npz" not in result.stderr and photo.read_bytes() == before


@pytest.mark.mnist
def test_imagining_again_replaces_its_own_picture_only(weights, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imagine-3.png").write_bytes(b"a person's notes, not a picture")
    result = run("3", "--weights", weights)                          # the default name
    assert result.exit_code == 2 and "imagine-3.png already exists" in result.stderr
    assert (tmp_path / "imagine-3.png").read_bytes() == b"a person's notes, not a picture"
    out = tmp_path / "digit.png"
    for digit in ("3", "5"):
        result = run(digit, "--weights", weights, "-o", out, "--steps", "5", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["digit"] == int(digit)
    with Image.open(out) as png:
        assert png.text["Software"].startswith("mnistnn")
    first = run("7", "--weights", weights, "-o", tmp_path / "seven.png", "--steps", "5")
    again = run("7", "--weights", weights, "-o", tmp_path / "seven.png", "--steps", "5")
    assert first.stdout.startswith(f"Wrote {tmp_path / 'seven.png'} ")      # says so
    assert again.stdout.startswith(f"Replaced the earlier picture {tmp_path / 'seven.png'} ")


def test_a_read_only_folder_is_refused_before_the_work(tmp_path, read_only):
    (tmp_path / "ro").mkdir()
    folder = read_only(tmp_path / "ro")
    result = run("3", "--weights", tmp_path / "never-read.npz", "-o", folder / "x.png")
    assert result.exit_code == 2
    assert f"cannot write x.png into {folder}/: " in result.stderr


@pytest.mark.mnist
def test_a_write_that_fails_after_the_work_is_one_sentence_exit_1(weights, tmp_path,
                                                                  monkeypatch):
    def refuse(image, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("mnistnn.pictures.save_png", refuse)
    result = run("3", "--weights", weights, "-o", tmp_path / "x.png", "--steps", "2")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (f"Error: cannot write {tmp_path / 'x.png'}: "
                                              f"Permission denied")


def test_bad_networks_are_one_sentence_exit_1(tmp_path):
    result = run("3", "--weights", tmp_path / "missing.npz", "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'missing.npz'}: no such checkpoint")
    small = tmp_path / "small.npz"
    checkpoint.save(small, Network([100, 10], "relu", "log-likelihood"))
    result = run("3", "--weights", small, "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (f"Error: {small}: a network for 100 inputs and 10 "
                                              f"classes, but the data set has 784 inputs and "
                                              f"10 classes")
    assert not (tmp_path / "x.png").exists()


def test_help_has_an_example():
    result = run("--help")
    assert result.exit_code == 0
    assert "mnistnn imagine 3 -o three.png" in result.stdout and "--colormap" in result.stdout


def test_the_cli_choices_match_the_library():
    assert cli_imagine.METHODS == imagining.METHODS
    assert cli_imagine.COLORMAPS == pictures.COLORMAPS


def test_mnistnn_imagine_is_the_function_before_and_after_the_module_is_imported():
    import mnistnn

    first = mnistnn.imagine
    import mnistnn.imagining  # noqa: F401  (importing the submodule must not shadow it)
    assert mnistnn.imagine is first is imagining.imagine and callable(first)


@pytest.mark.parametrize("digit", ["\u00b2", "\u2460", "\u0663", "\uff13", "03", "3 3", "+3"])
def test_a_character_that_only_looks_like_a_digit_is_a_usage_error(digit, tmp_path):
    """Issue 13, D14: str.isdigit() accepts superscripts and circled digits, int() not."""
    result = run(digit, "--weights", tmp_path / "unused.npz", "-o", tmp_path / "x.png")
    assert result.exit_code == 2
    assert "give a number from 0 to 9, 'all', or, for a Fashion-MNIST" in result.stderr
