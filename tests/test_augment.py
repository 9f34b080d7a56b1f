"""Augmentation: shapes and range kept, zero strength is the identity, seeded, and the
geometry is right (a shift moves the centre of mass by the shift, 90 degrees is rot90)."""
import numpy as np
import pytest

from mnistnn.augment import Distortion, augment, elastic_field, random_affine, warp
from mnistnn.train import TrainConfig

EVERYTHING = Distortion(rotate=12, scale=0.1, shear=0.15, shift=2, elastic=34, sigma=4)


def digits(n=16, seed=0):
    """n blobby 'digits' (n, 784) in [0, 1], kept away from the border so shifts lose no ink."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.float32)
    images[:, 8:20, 9:19] = rng.random((n, 12, 10), dtype=np.float32)
    return images.reshape(n, 784)


def centre_of_mass(images):
    """(x, y) centre of mass of each image (n, 28, 28) -> two (n,) arrays."""
    ys, xs = np.mgrid[:28, :28]
    mass = images.sum(axis=(1, 2))
    return (images * xs).sum(axis=(1, 2)) / mass, (images * ys).sum(axis=(1, 2)) / mass


@pytest.mark.parametrize("distortion", [
    EVERYTHING, Distortion(rotate=30), Distortion(scale=0.3), Distortion(shear=0.5),
    Distortion(shift=5), Distortion(elastic=60, sigma=3)])
def test_shape_dtype_and_range_are_kept(distortion):
    x = digits()
    y = augment(x, np.random.default_rng(1), distortion)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert 0 <= y.min() and y.max() <= 1
    assert not np.array_equal(x, y)
    images = x.reshape(-1, 28, 28)
    assert augment(images, np.random.default_rng(1), distortion).shape == images.shape


def test_float64_in_float64_out():
    x = digits().astype(np.float64)
    assert augment(x, np.random.default_rng(0), EVERYTHING).dtype == np.float64


def test_zero_strength_is_the_identity():
    x = digits()
    assert not Distortion().active
    assert augment(x, np.random.default_rng(0), Distortion()) is x
    n = len(x)  # the resampling itself, with an identity map and no field, changes nothing
    same = warp(x.reshape(n, 28, 28), np.tile(np.eye(2), (n, 1, 1)), np.zeros((n, 2)),
                np.zeros((n, 2, 28, 28), dtype=np.float32))
    np.testing.assert_array_equal(same.reshape(n, 784), x)


def test_same_seed_same_batch_other_seed_other_batch():
    x = digits()
    a = augment(x, np.random.default_rng(5), EVERYTHING)
    b = augment(x, np.random.default_rng(5), EVERYTHING)
    c = augment(x, np.random.default_rng(6), EVERYTHING)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_a_pure_shift_moves_the_centre_of_mass_by_the_shift():
    x = digits(8).reshape(8, 28, 28)
    offset = np.array([[2, -3], [0.5, 1.25], [-4, 0], [1.7, -2.2]] * 2)   # (x, y) pixels
    moved = warp(x, np.tile(np.eye(2), (8, 1, 1)), offset)
    (x0, y0), (x1, y1) = centre_of_mass(x), centre_of_mass(moved)
    np.testing.assert_allclose(x1 - x0, offset[:, 0], atol=1e-4)
    np.testing.assert_allclose(y1 - y0, offset[:, 1], atol=1e-4)


def test_random_shifts_move_each_digit_by_its_drawn_offset():
    x = digits(32)
    moved = augment(x, np.random.default_rng(3), Distortion(shift=3))
    _, offset = random_affine(np.random.default_rng(3), 32, Distortion(shift=3))
    (x0, y0), (x1, y1) = centre_of_mass(x.reshape(-1, 28, 28)), centre_of_mass(
        moved.reshape(-1, 28, 28))
    assert np.abs(offset).max() <= 3 and np.abs(offset).max() > 1
    np.testing.assert_allclose(np.stack([x1 - x0, y1 - y0], axis=1), offset, atol=1e-4)


def test_a_quarter_turn_is_rot90_and_turns_clockwise_on_screen():
    x = digits(2).reshape(2, 28, 28)
    turn = np.array([[0.0, -1.0], [1.0, 0.0]])      # forward map (x, y) -> (-y, x)
    turned = warp(x, np.tile(np.linalg.inv(turn), (2, 1, 1)), np.zeros((2, 2)))
    np.testing.assert_allclose(turned, np.rot90(x, k=-1, axes=(1, 2)), atol=1e-5)


def test_scaling_up_spreads_the_ink():
    x = digits(4).reshape(4, 28, 28)
    big = warp(x, np.tile(np.eye(2) / 1.5, (4, 1, 1)), np.zeros((4, 2)))
    assert ((big > 0.01).sum(axis=(1, 2)) > 1.8 * (x > 0.01).sum(axis=(1, 2))).all()


def test_elastic_fields_are_smooth_and_sized_by_alpha():
    field = elastic_field(np.random.default_rng(0), 64, alpha=34, sigma=4)
    assert field.shape == (64, 2, 28, 28)
    step = np.abs(np.diff(field, axis=-1)).mean()   # neighbours move together
    assert step < 0.3 * np.abs(field).mean()
    double = elastic_field(np.random.default_rng(0), 64, alpha=68, sigma=4)
    np.testing.assert_allclose(double, 2 * field, rtol=1e-5)


def test_training_settings_build_the_distortion():
    config = TrainConfig(rotate=5, elastic=30, elastic_sigma=6)
    assert config.distortion == Distortion(rotate=5, elastic=30, sigma=6)
    assert not TrainConfig().distortion.active
    with pytest.raises(ValueError, match=r"shift must be in \[0, 28\], got -1"):
        TrainConfig(shift=-1).check()


def test_augmented_training_is_the_same_when_resumed(tiny_mnist, tmp_path):
    """The distortions come from the epoch's generator, so a resumed run redraws them."""
    from conftest import invoke
    from mnistnn import checkpoint

    def train(folder, *args):
        result = invoke(
            "train", "--data-dir", tiny_mnist, "--weights-dir", folder, "--no-download",
            "--validation-size", 100, "--layers", "784,16,10", "--lr", 0.5, "--batch-size", 20,
            "--rotate", 10, "--elastic", 30, "--input-dropout", 0.1, "-q", *args)
        assert result.exit_code == 0, result.output

    straight, split = tmp_path / "straight", tmp_path / "split"
    train(straight, "--epochs", 3)
    train(split, "--epochs", 2)
    train(split, "--resume", split / "latest.npz", "--epochs", 1)
    a, b = checkpoint.load(straight / "latest.npz"), checkpoint.load(split / "latest.npz")
    for p, q in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(p, q)


def test_flip_mirrors_left_to_right_exactly_with_its_probability():
    """Fashion-MNIST's clothes have no left and right; the mirror image is exact (column i
    becomes column 27 - i, no resampling blur), and flip=0 draws nothing, so every other
    distortion keeps its random stream (and the recipes their measured results)."""
    x = digits(2000, seed=3).reshape(-1, 28, 28)
    out = augment(x, np.random.default_rng(0), Distortion(flip=0.3))
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)])
    unchanged = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(mirrored ^ unchanged) and abs(mirrored.mean() - 0.3) < 0.04
    assert np.array_equal(augment(x, np.random.default_rng(1), Distortion(flip=1.0)),
                          x[:, :, ::-1])
    draws = np.random.default_rng(2)       # the stream as it was before there was a flip
    draws.uniform(-10, 10, 50), draws.uniform(1, 1, (2, 50)), draws.uniform(0, 0, 50)
    _, offset = random_affine(np.random.default_rng(2), 50, Distortion(rotate=10, shift=2))
    assert np.array_equal(offset, draws.uniform(-2, 2, (50, 2)))
    assert TrainConfig(flip=0.5).distortion.flip == 0.5
    with pytest.raises(ValueError, match=r"flip must be in \[0, 1\], got 2"):
        TrainConfig(flip=2).check()


def test_erase_paints_one_rectangle_of_noise_with_its_probability():
    """Random erasing: with probability p an image gets one axis-aligned rectangle of noise
    (between 2% and 40% of its area, cut to fit) and is untouched elsewhere; erase=0 draws
    nothing, so the warps keep their stream; erasing alone does not resample the image."""
    x = np.full((3000, 28, 28), 2.0, dtype=np.float32)     # 2 is no value noise can take
    out = augment(x, np.random.default_rng(0), Distortion(erase=0.4))
    assert out.shape == x.shape and out.dtype == np.float32
    painted = out != 2.0                                     # (n, 28, 28)
    hit = painted.any(axis=(1, 2))
    assert abs(hit.mean() - 0.4) < 0.03
    for mask in painted[hit][:200]:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        assert box.all() and box.size == mask.sum()                  # one full rectangle
        assert len(rows) == rows[-1] - rows[0] + 1
        assert 1 <= mask.sum() <= 0.4 * 784 + 28                     # rounding of the sides
    assert 0 <= out[painted].min() and out[painted].max() < 1        # uniform noise
    assert abs(painted[hit].mean(axis=(1, 2)).mean() - 0.21) < 0.03  # mean area about 21%
    plain = digits()
    assert np.array_equal(augment(plain, np.random.default_rng(1), Distortion(erase=0.0)),
                          plain)
    both = Distortion(rotate=10, shift=2, erase=0.5)
    warped = augment(plain, np.random.default_rng(5), Distortion(rotate=10, shift=2))
    erased = augment(plain, np.random.default_rng(5), both)
    same = (warped == erased).reshape(-1, 784).all(axis=1)
    assert 0 < same.sum() < len(plain)      # the warp is as without erasing; some are painted
    assert TrainConfig(erase=0.5).distortion.erase == 0.5
    with pytest.raises(ValueError, match=r"erase must be in \[0, 1\], got 2"):
        TrainConfig(erase=2).check()
