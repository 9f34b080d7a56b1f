""""Not a digit": the detector that ships, how checkpoints carry it, fitting one, and what
`classify` answers, on real PNG bytes of printed letters, shapes and real digits."""
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mnistnn import checkpoint, imaging, reading, reject
from mnistnn.cli import main
from mnistnn.network import Network
from nondigit_images import glyph, nondigits, polygon_shape
from test_imaging import encode, random_drawing

NOT_A_DIGIT = re.compile(r"^(?P<path>.+): not a digit \(closest: \d, \d+\.\d%\)$")


@pytest.fixture(scope="module")
def shipped():
    return checkpoint.load(checkpoint.SHIPPED)


def picture(image):
    """A Pillow 'L' drawing (255 = ink) as PNG bytes, dark ink on white."""
    return encode(Image.fromarray(255 - np.asarray(image)))


@pytest.fixture(scope="module")
def star_and_letter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nondigits")
    rng = np.random.default_rng(1)
    (folder / "star.png").write_bytes(picture(polygon_shape(rng, "star")))
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    (folder / "A.png").write_bytes(picture(glyph("A", font, np.random.default_rng(2))))
    (folder / "house.png").write_bytes(picture(polygon_shape(rng, "house")))
    return folder


def runner():
    """A CliRunner keeping stderr apart (click < 8.2 mixes it into output by default)."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:          # click >= 8.2: always apart, and no such argument
        return CliRunner()


def run(*args, input=None):
    return runner().invoke(main, [*map(str, args)], input=input)


def test_the_shipped_model_carries_a_detector(shipped):
    model = reject.of(shipped)
    assert model is not None and shipped.meta["reject"]["method"] == reject.METHOD
    assert model.net.sizes == list(reject.SIZES)
    assert reading.can_reject(shipped)


def test_non_digits_are_rejected_and_digits_kept(shipped):
    model = reject.of(shipped)
    non = np.stack([imaging.load_digit(b) for b, _ in nondigits("dev", 60, seed=5)])
    rng = np.random.default_rng(9)
    real = np.stack([imaging.load_digit(random_drawing(d, rng)) for d in np.arange(60) % 10])
    print(f"\nrejected: {1 - model.accepts(shipped, non).mean():.0%} of 60 non-digits, "
          f"{1 - model.accepts(shipped, real).mean():.0%} of 60 drawn digits")
    assert model.accepts(shipped, non).mean() <= 0.25
    assert model.accepts(shipped, real).mean() >= 0.95


def test_mnist_test_digits_are_kept(mnist_dir, shipped):
    from mnistnn.idx import read_idx

    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:2000]
    kept = reject.of(shipped).accepts(shipped, images.reshape(-1, 784).astype(np.float32) / 255)
    assert kept.mean() >= 0.99


def test_a_checkpoint_without_a_detector_has_none(tmp_path):
    net = Network([784, 10, 10], seed=1)
    checkpoint.save(tmp_path / "plain.npz", net)
    plain = checkpoint.load(tmp_path / "plain.npz")
    assert reject.of(plain) is None and plain.extras == {}
    answer, _ = reading.read_digit(plain, random_drawing(3, np.random.default_rng(1)))
    assert answer["digit"] is not None


def test_extras_round_trip_and_are_checked(tmp_path, shipped):
    arrays, meta = reject.of(shipped).arrays()
    net = Network([784, 10, 10], seed=1)
    checkpoint.save(tmp_path / "with.npz", net, {"reject": meta}, extras=arrays)
    loaded = checkpoint.load(tmp_path / "with.npz")
    assert set(loaded.extras) == set(arrays)
    assert all(np.array_equal(loaded.extras[k], arrays[k]) for k in arrays)
    assert reject.of(loaded).threshold == pytest.approx(meta["threshold"])
    broken = dict(arrays, reject_W0=np.full_like(arrays["reject_W0"], np.nan))
    checkpoint.save(tmp_path / "nan.npz", net, {"reject": meta}, extras=broken)
    with pytest.raises(checkpoint.CheckpointError, match="reject_W0 holds NaN"):
        checkpoint.load(tmp_path / "nan.npz")
    wrong = dict(arrays, reject_W0=arrays["reject_W0"][:, :100])
    checkpoint.save(tmp_path / "wrong.npz", net, {"reject": meta}, extras=wrong)
    assert reject.of(checkpoint.load(tmp_path / "wrong.npz")) is None


def test_fit_learns_to_tell_digits_from_textures():
    rng = np.random.default_rng(0)
    digits = np.zeros((600, 28, 28), dtype=np.float32)
    for k, d in enumerate(digits):                        # vertical bars: "digits"
        d[4:24, 12 + k % 4:15 + k % 4] = 1
    noise = (rng.random((100, 784)) < 0.3).astype(np.float32)   # speckle: not digits
    detector = reject.fit(digits.reshape(600, 784)[:500], noise, digits.reshape(600, 784)[500:],
                          epochs=3)
    assert detector.accepts(None, digits.reshape(600, 784)[500:]).mean() >= reject.KEEP - 0.01
    fresh = (rng.random((50, 784)) < 0.3).astype(np.float32)
    assert detector.accepts(None, fresh).mean() <= 0.1


# -- the command line ---------------------------------------------------------------------------

def test_classify_says_not_a_digit(star_and_letter, tmp_path):
    weights_dir = tmp_path / "none"
    result = run("classify", star_and_letter, "--weights-dir", weights_dir)
    assert result.exit_code == 0 and result.exception is None, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(NOT_A_DIGIT.match(line) for line in lines), lines
    as_json = run("classify", star_and_letter / "star.png", "--json", "--weights-dir", weights_dir)
    obj = json.loads(as_json.stdout)
    assert set(obj) == {"path", "digit", "closest", "confidence", "probabilities"}
    assert obj["digit"] is None and obj["confidence"] == obj["probabilities"][obj["closest"]]
    forced = run("classify", star_and_letter / "star.png", "--json", "--no-reject",
                 "--weights-dir", weights_dir)
    assert set(json.loads(forced.stdout)) == {"path", "digit", "confidence", "probabilities"}


def test_a_model_without_a_detector_says_so_and_answers_digits(star_and_letter, tmp_path):
    checkpoint.save(tmp_path / "mine.npz", Network([784, 10, 10], seed=1))
    result = run("classify", star_and_letter / "star.png", "--weights", tmp_path / "mine.npz")
    assert result.exit_code == 0, result.output
    assert re.match(r".+star\.png: \d \(\d+\.\d%\)$", result.stdout.strip())
    assert 'carries no "not a digit" model' in result.stderr
    assert "fit-reject" in result.stderr


def test_fit_reject_copies_a_detector_into_a_checkpoint(tmp_path, shipped, star_and_letter):
    path = tmp_path / "mine.npz"
    net = Network([784, 10, 10], seed=1)
    checkpoint.save(path, net, {"config": {"seed": 1}})
    before = checkpoint.load(path)
    result = run("fit-reject", path, "--copy-from", checkpoint.SHIPPED)
    assert result.exit_code == 0 and result.exception is None, result.output
    after = checkpoint.load(path)
    assert all(np.array_equal(a, b) for a, b in zip(before.weights, after.weights))
    assert after.meta["config"] == {"seed": 1} and reject.of(after) is not None
    answer = run("classify", star_and_letter / "star.png", "--weights", path)
    assert NOT_A_DIGIT.match(answer.stdout.strip()), answer.output
    plain = tmp_path / "plain.npz"
    checkpoint.save(plain, net)
    refused = run("fit-reject", path, "--copy-from", plain)
    assert refused.exit_code == 1 and 'carries no "not a digit" model' in refused.stderr
