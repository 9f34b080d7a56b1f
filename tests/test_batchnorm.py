"""Batch normalisation: its gradients in training (through the batch's statistics) and in
use (through the held ones), the statistics it holds, its place in a spec and a network,
its checkpoints, and a network with it through train, --resume, test and imagine."""
import json
import os
import re
import signal

import numpy as np
import pytest
from conftest import invoke

from mnistnn import checkpoint, train
from mnistnn.layers import BatchNorm, Conv2D, MaxPool
from mnistnn.network import SGD, Network, ReLU, one_hot
from mnistnn.spec import parse
from test_network import numeric_gradient, relative_error

SPEC = "1x8x8,conv4k3same,bn,pool2,conv3k3,bn,6,bn,3"


def scrambled(net, seed=3):
    """net with random scales, shifts and held statistics in its batch normalisations
    (a fresh one holds 1, 0, 0 and 1, which would hide a mix-up)."""
    rng = np.random.default_rng(seed)
    for layer in net.normalisers:
        layer.W, layer.b = rng.uniform(0.5, 1.5, layer.n), rng.normal(0, 0.3, layer.n)
        layer.mean, layer.var = rng.normal(0, 0.5, layer.n), rng.uniform(0.5, 2, layer.n)
    return net


@pytest.mark.parametrize("training", [True, False])
def test_gradients_match_central_differences(training):
    """Every weight, bias, scale, shift and the input. In training every output depends
    on the whole batch through its statistics, and the gradient must say so; in use the
    layer is an affine map with the held statistics."""
    net = scrambled(Network(SPEC, "relu", "log-likelihood", seed=1, dtype=np.float64))
    rng = np.random.default_rng(0)
    x = rng.random((5, 64))
    y = one_hot(rng.integers(0, 3, 5), 3, np.float64)

    def tape():
        return {} if training else None

    def cost():
        acts = net._activations(x, [None] * (len(net.layers) + 1), tape())
        return net.cost.fn(acts[-1], y)

    kept = tape()
    acts = net._activations(x, [None] * (len(net.layers) + 1), kept)
    grad_w, grad_b, dx = net.backward(acts, net.cost.delta(acts[-1], y) / len(x),
                                      need_dx=True, tape=kept)
    assert not kept                                    # backward used all it was given
    for p, g in zip(net.weights + net.biases + [x], grad_w + grad_b + [dx]):
        numeric = numeric_gradient(cost, p)
        if training and np.abs(numeric).max() < 1e-8:  # a bias before a normalisation
            assert np.abs(g).max() < 1e-12, p.shape    # (its mean takes it away again)
        else:
            assert relative_error(g, numeric) < 1e-6, p.shape


def test_training_normalises_each_channel_over_the_batch_and_positions():
    layer = BatchNorm((5, 4, 3))
    layer.init(None, 1.0, False, np.float64)
    layer.W, layer.b = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0])
    x = np.random.default_rng(0).normal(7, 3, (6, 5, 4, 3))
    tape = {}
    out = layer.forward(x, tape).reshape(-1, 3)
    np.testing.assert_allclose(out.mean(axis=0), layer.b, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), layer.W / np.sqrt(1 + 1e-5 / x.var(
        axis=(0, 1, 2))), rtol=1e-9)
    mean, var = tape[layer]
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(var, x.var(axis=(0, 1, 2)))
    # In use, with the held statistics: (x - mean) / sqrt(var + EPS) * W + b, image by image.
    layer.mean, layer.var = np.array([1.0, 2, 3]), np.array([4.0, 1, 0.25])
    one = layer.forward(x[:1])
    np.testing.assert_allclose(one, (x[:1] - layer.mean) / np.sqrt(layer.var + 1e-5) *
                               layer.W + layer.b)


def test_calibrate_holds_the_statistics_of_the_whole_set():
    """Mean and variance over all the images and positions given, of what each batch
    normalisation receives as training shows it (the layers below normalised by batch)."""
    net = Network("1x6x6,conv3k3,bn,4", "relu", "log-likelihood", seed=0, dtype=np.float64)
    x = np.random.default_rng(1).random((40, 36))
    net.calibrate(x, batch_size=10)
    z = net.layers[0].forward(x).reshape(-1, 3)        # the convolution's outputs
    bn = net.normalisers[0]
    np.testing.assert_allclose(bn.mean, z.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.var, z.var(axis=0), rtol=1e-12)
    net.calibrate(x[:7], batch_size=10)                # fewer images than a batch: one
    np.testing.assert_allclose(bn.mean, z[:7 * 16].mean(axis=0), rtol=1e-12)
    plain = Network("784,10")                          # nothing to hold: nothing done (x,
    plain.calibrate(x)                                 # 36 numbers an image, would not fit)


def test_the_unit_follows_the_normalisation_and_a_pool_takes_it_over():
    net = Network("1x8x8,conv4k3same,bn,pool2,conv3k3,bn,6,bn,3", "relu")
    conv1, bn1, pool, conv2, bn2, _, dense, bn3, out = net.layers
    assert conv1.unit is None and bn1.unit is None and pool.unit is ReLU
    assert conv2.unit is None and bn2.unit is ReLU
    assert dense.unit is None and bn3.unit is ReLU and out.unit is not ReLU
    assert [type(l) for l in parse("1x8x8,conv4k3,bn,10")[1]][:2] == [Conv2D, BatchNorm]
    assert net.spec == "1x8x8,conv4k3same,bn,pool2,conv3k3,bn,6,bn,3"
    assert not any(isinstance(l, MaxPool) and l.unit is None for l in net.layers)


@pytest.mark.parametrize("spec, words", [
    ("1x8x8,bn,10", "item 2 ('bn'): batch normalisation (bn) must follow a convolution"),
    ("1x8x8,conv2k3,pool2,bn,10", "item 4 ('bn'): batch normalisation (bn) must follow"),
    ("1x8x8,conv2k3,bn,bn,10", "item 4 ('bn')"),
    ("784,10,bn", "the last item ('bn') must be the number of outputs"),
])
def test_a_misplaced_normalisation_is_one_sentence(spec, words):
    with pytest.raises(ValueError) as error:
        parse(spec)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_weight_decay_and_max_norm_leave_the_scales_alone():
    net = Network("1x8x8,conv4k3same,bn,pool2,6,10", "relu", "log-likelihood")
    bn = net.normalisers[0]
    bn.W[:] = 5.0
    grads_w = [np.zeros_like(W) for W in net.weights]
    grads_b = [np.zeros_like(b) for b in net.biases]
    conv = net.weights[0].copy()
    SGD(0.1, l2=0.5, max_norm=0.01).apply(net, grads_w, grads_b)
    assert np.all(bn.W == 5.0)
    assert np.all(np.abs(net.weights[0]) < np.abs(conv) + 1e-9) and \
        not np.array_equal(net.weights[0], conv)


def test_checkpoints_keep_the_statistics_and_refuse_damaged_ones(tmp_path):
    net = scrambled(Network(SPEC, "relu", "log-likelihood").astype(np.float32))
    path = tmp_path / "bn.npz"
    checkpoint.save(path, net, {"dataset": "mnist"})
    x = np.random.default_rng(0).random((4, 64), dtype=np.float32)
    loaded = checkpoint.load(path, inputs=64, classes=3)
    for a, b in zip(net.normalisers, loaded.normalisers):
        np.testing.assert_array_equal(a.mean.astype(np.float32), b.mean)
        np.testing.assert_array_equal(a.var.astype(np.float32), b.var)
    np.testing.assert_allclose(loaded.feedforward(x), net.feedforward(x), rtol=1e-5)
    with np.load(path) as f:
        arrays = dict(f)
    assert {"bn1.W", "bn1.b", "bn1.mean", "bn1.var", "bn3.var"} <= set(arrays)
    for damage, words in [({"bn2.var": -arrays["bn2.var"]}, "array bn2.var holds negative values"),
                          ({"bn1.mean": None}, "missing ['bn1.mean']")]:
        bad = {k: v for k, v in {**arrays, **damage}.items() if v is not None}
        np.savez(tmp_path / "bad.npz", **bad)
        with pytest.raises(checkpoint.CheckpointError, match=re.escape(words)):
            checkpoint.load(tmp_path / "bad.npz", inputs=64, classes=3)


def test_a_network_with_batch_norms_trains_resumes_tests_and_imagines(
        tiny_mnist, tmp_path, monkeypatch):
    """Two epochs straight, or interrupted (Ctrl-C) in the second and resumed: the same
    network, statistics included. The interrupted checkpoint holds statistics measured
    when it was written, not the last epoch's. test and imagine then read it."""
    spec = "1x28x28,conv4k5,bn,pool2,conv8k3,bn,pool2,16,10"
    settings = ("--layers", spec, "--activation", "relu", "--cost", "log-likelihood",
                "--lr", 0.1, "--momentum", 0.9, "--batch-size", 50, "--validation-size", 100,
                "--epochs", 2, "--data-dir", tiny_mnist, "--no-download", "-q")
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert invoke("train", *settings, "--weights-dir", straight).exit_code == 0

    def interrupt(done, total, loss, calls=[]):
        calls.append(done)
        if len(calls) == total + 3:                         # in epoch 2
            os.kill(os.getpid(), signal.SIGINT)

    real_run = train.Trainer.run
    with monkeypatch.context() as mp:
        mp.setattr(train.Trainer, "run",
                   lambda self, on_batch=None, **kw: real_run(self, interrupt, **kw))
        assert invoke("train", *settings, "--weights-dir", split).exit_code == 130
    stopped = checkpoint.read(split / "latest.npz")
    assert stopped.meta["interrupted"] and stopped.meta["state"]["epoch"] == 1
    held = [(l.mean.copy(), l.var.copy()) for l in stopped.net.normalisers]
    stopped.net.calibrate(load_inputs(tiny_mnist)[:train.CALIBRATION_SIZE])
    for (mean, var), layer in zip(held, stopped.net.normalisers):
        np.testing.assert_allclose(mean, layer.mean, rtol=1e-4, atol=1e-5)  # sum order
    resumed = invoke("train", "--resume", split / "latest.npz", "--data-dir", tiny_mnist,
                     "--weights-dir", split, "--no-download", "-q")
    assert resumed.exit_code == 0, resumed.output
    a, b = checkpoint.load(straight / "latest.npz"), checkpoint.load(split / "latest.npz")
    for x, y in zip(a.normalisers, b.normalisers):
        assert not np.all(x.mean == 0) and np.array_equal(x.mean, y.mean)
        assert np.array_equal(x.var, y.var) and np.array_equal(x.W, y.W)
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
    tested = invoke("test", "--weights", straight / "latest.npz", "--data-dir", tiny_mnist,
                    "--no-download", "--json")
    assert tested.exit_code == 0, tested.output
    assert json.loads(tested.stdout)["accuracy"] > 0.5
    imagined = invoke("imagine", "3", "--weights", straight / "latest.npz", "-o",
                      tmp_path / "three.png")
    assert imagined.exit_code == 0 and imagined.exception is None, imagined.output
    assert (tmp_path / "three.png").stat().st_size > 0


def load_inputs(folder, validation_size=100, seed=0):
    """The images whose statistics training holds: its fixed evaluation subset of the
    training images left after the validation split, in order."""
    from mnistnn import data
    from mnistnn.evaluation import eval_subset, split

    images = data.load_dataset("mnist", folder)
    (x, _), _ = split(data.to_inputs(images.train_images), images.train_labels,
                      validation_size)
    return x[eval_subset(len(x), seed)]


def test_the_drawing_pages_feature_maps_are_normalised_and_activated():
    """What the first convolution shows on the page: its maps as the layers above see
    them, relu(bn(conv(x))), scaled to [0, 1] (the pool that follows applies the unit)."""
    from mnistnn.inside import strongest_units

    net = Network("1x28x28,conv4k3same,bn,pool2,10", "relu", "log-likelihood")
    rng = np.random.default_rng(0)
    net.calibrate(rng.random((256, 784), dtype=np.float32))
    x = rng.random(784, dtype=np.float32)
    units = strongest_units(net, x, k=4)
    conv, bn = net.layers[:2]
    maps = np.maximum(bn.forward(conv.forward(x[None]))[0], 0)   # (28, 28, 4)
    assert units.kind == "feature-map"
    assert np.all(maps.max(axis=(0, 1)) > 0)
    for i, picture in zip(units.index, units.pictures):
        np.testing.assert_allclose(picture, maps[..., i] / maps[..., i].max(), atol=1e-6)
