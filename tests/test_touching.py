"""touching.py: training digits as a line of touching digits shows them, and the shipped
detector that learnt from them (windows of MNIST *test* digits here, never training ones)."""
import numpy as np
import pytest

from conftest import invoke
from mnistnn import checkpoint, data, layout, reject, touching
from mnistnn.form import SIDE
from mnistnn.imaging import to_mnist
from mnistnn.idx import read_idx
from mnistnn.network import Network
from mnistnn.train import Trainer, TrainConfig


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    return data.to_inputs(images), read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")


def bar(h, w):
    """A filled block of ink (h, w)."""
    return np.ones((h, w))


def test_pieces_are_moved_until_their_ink_meets_or_overlaps_by_a_stroke():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        pieces = [bar(40, 10), bar(30, 12), bar(44, 8)]
        ink, boxes = touching.line(pieces, rng)
        assert layout.components(ink > 0.5).max() == 1          # one blob: they touch
        for (a0, a1), (b0, b1) in zip(boxes, boxes[1:]):
            assert 0 <= a1 - b0 <= touching.OVERLAP * 44 + 1     # overlap: up to a stroke
        assert ink.sum() <= sum(p.sum() for p in pieces)         # drawn once, no more


def test_pieces_without_rows_in_common_sit_side_by_side():
    rng = np.random.default_rng(0)
    high, low = np.zeros((60, 10)), np.zeros((60, 10))
    high[:5], low[-5:] = 1, 1                                   # ink rows never meet
    ink, boxes = touching.line([high, low], rng)
    assert boxes[1][0] <= boxes[0][1]                          # not thrown off the line
    assert ink.shape[1] >= boxes[1][1]


def test_windows_are_mnist_forms_of_the_middle_digit(test_digits):
    images, labels = test_digits
    x, y = touching.windows(images, labels, 60, np.random.default_rng(1))
    assert x.shape == (60, SIDE * SIDE) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    rows, cols = np.mgrid[0:SIDE, 0:SIDE]
    mass = x.reshape(-1, SIDE, SIDE)
    centre = [(m * rows).sum() / m.sum() for m in mass], [(m * cols).sum() / m.sum() for m in mass]
    assert np.allclose(centre, 14, atol=1.5)                   # centred like MNIST
    again, y_again = touching.windows(images, labels, 60, np.random.default_rng(1))
    assert np.array_equal(x, again) and np.array_equal(y, y_again)   # the seed decides
    assert set(y) <= set(range(10))


def test_a_window_keeps_its_own_digit_and_only_edges_of_its_neighbours():
    rng = np.random.default_rng(3)
    # The middle piece: a ring; its neighbours: solid blocks. The window must look like
    # the ring (hollow), the blocks only at its edges.
    ring = np.ones((40, 24))
    ring[6:-6, 6:-6] = 0
    for _ in range(10):
        pieces = [bar(40, 24), ring, bar(40, 24)]
        ink, boxes = touching.line(pieces, rng)
        a, b = touching._cut(boxes, 1, 40, rng)
        window = to_mnist(ink[:, a:b])
        on = np.flatnonzero(window[SIDE // 2] > 0.5)            # the middle row's ink
        assert np.diff(on).max() > 4                            # two walls, a hole between
        tall, wide = (np.count_nonzero(window.max(axis=k) > 0.5) for k in (1, 0))
        assert tall >= 19 and wide <= 15                        # a ring's shape: no block


def test_miscut_windows_hold_no_one_digit(test_digits):
    """A miscut window is two digits, or part of one, or parts of two: wider or narrower
    than the middle digit's window, never the same columns."""
    images, labels = test_digits
    rng = np.random.default_rng(4)
    for _ in range(50):
        pieces = [touching._ink(images[k]) for k in rng.integers(0, len(images), 3)]
        ink, boxes = touching.line(pieces, rng)
        right = touching._cut(boxes, 1, pieces[1].shape[0], np.random.default_rng(0))
        a, b = touching._miscut(boxes, 1, pieces[1].shape[0], rng)
        assert a < b
        assert abs(a - right[0]) + abs(b - right[1]) > 0.2 * (boxes[1][1] - boxes[1][0])


def test_training_adds_windows_after_the_digits_the_same_on_every_run(test_digits):
    images, labels = test_digits
    x, y = images[:200], labels[:200]

    def trainer(**settings):
        config = TrainConfig(sizes="1x28x28,conv4k5,pool2,10", activation="relu",
                             cost="log-likelihood", epochs=1, lr=0.05, batch_size=50,
                             validation_size=0, **settings)
        return Trainer(Network(config.sizes, "relu", "log-likelihood"), config, (x, y))
    plain, once, again = trainer(), trainer(touching=0.5), trainer(touching=0.5)
    assert len(plain.inputs) == 200 and len(once.inputs) == 300 and once.n_batches == 6
    assert np.array_equal(once.inputs[:200], x) and np.array_equal(once.labels[:200], y)
    assert np.array_equal(once.inputs, again.inputs)           # a resumed run's windows
    assert not np.array_equal(once.inputs, trainer(touching=0.5, seed=1).inputs)
    assert np.array_equal(once.train_eval[0], plain.train_eval[0])   # measured on digits
    assert once.targets.shape == (300, 10)
    assert np.array_equal(once.targets.argmax(axis=1), once.labels)


@pytest.mark.slow
def test_the_piece_detector_tells_a_digit_window_from_a_miscut_one(test_digits):
    """The detector for pieces of a line learnt from windows of training digits: on
    windows of test digits it accepts those that hold one digit, neighbours' strokes at
    their edges and all, and rejects most that do not; the detector for whole images
    (digits alone against letters and shapes) turns away far more of the right ones.
    `pytest -s` prints both (the README's figures: 99.3% and 24.7%; 82.3% and 27.3%)."""
    images, labels = test_digits
    shipped = checkpoint.load(checkpoint.SHIPPED)
    good, _ = touching.windows(images, labels, 300, np.random.default_rng(5))
    bad, _ = touching.windows(images, labels, 300, np.random.default_rng(6), miscut=True)
    rates = {}
    for name, pieces in (("pieces", True), ("whole images", False)):
        detector = reject.for_network(shipped, pieces=pieces)
        rates[name] = detector.accepts(good).mean(), detector.accepts(bad).mean()
        print(f"\nthe detector for {name} accepts {rates[name][0]:.1%} of windows of one "
              f"digit, {rates[name][1]:.1%} of miscut ones")
    accepted, miscut_accepted = rates["pieces"]
    assert accepted >= 0.9
    assert miscut_accepted <= 0.3
    assert rates["whole images"][0] <= accepted - 0.1      # why pieces have their own


def test_train_touching_from_the_command_line_and_resume(tiny_mnist, tmp_path):
    """`--touching 0.5` on 500 training images: 250 windows made and said, the setting
    kept in the checkpoint, and a resumed run (which makes the same windows) ends where
    an uninterrupted one does."""
    settings = ("train", "--layers", "1x28x28,conv4k5,pool2,10", "--activation", "relu",
                "--cost", "log-likelihood", "--lr", 0.05, "--batch-size", 50,
                "--validation-size", 100, "--touching", 0.5, "--data-dir", tiny_mnist,
                "--no-download")
    straight = invoke(*settings, "--epochs", 2, "--weights-dir", tmp_path / "straight")
    assert straight.exit_code == 0, straight.output
    assert "on 500 MNIST images and 250 windows of touching digits" in straight.stderr
    first = invoke(*settings, "--epochs", 1, "--weights-dir", tmp_path / "resumed")
    assert first.exit_code == 0, first.output
    resumed = invoke("train", "--resume", tmp_path / "resumed" / "latest.npz", "--epochs", 1,
                     "--data-dir", tiny_mnist, "--weights-dir", tmp_path / "resumed",
                     "--no-download")
    assert resumed.exit_code == 0, resumed.output
    a, b = (checkpoint.load(tmp_path / f / "latest.npz") for f in ("straight", "resumed"))
    assert a.meta["config"]["touching"] == 0.5 == b.meta["config"]["touching"]
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))


def test_touching_is_for_digits_only(tiny_fashion, tmp_path):
    result = invoke("train", "--dataset", "fashion-mnist", "--touching", 0.2, "--epochs", 1,
                    "--data-dir", tiny_fashion, "--weights-dir", tmp_path, "--no-download")
    assert result.exit_code == 2 and "--touching makes windows of touching handwritten " \
        "digits, and Fashion-MNIST holds none" in result.stderr
    assert not any(tmp_path.iterdir())                         # nothing written
