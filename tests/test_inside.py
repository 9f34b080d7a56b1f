"""inside.strongest_units: the hidden units that respond most, and what they look for,
checked against a plain forward pass written out here (the oracle)."""
import numpy as np
import pytest

from mnistnn.inside import strongest_units
from mnistnn.network import Network


@pytest.fixture
def net():
    return Network([784, 40, 10], activation="relu", cost="log-likelihood", seed=3)


@pytest.fixture
def x():
    return np.random.default_rng(0).random(784).astype(np.float32)


def test_dense_units_are_the_most_active_with_their_incoming_weights(net, x):
    a1 = np.maximum(net.weights[0] @ x + net.biases[0], 0)           # (40,) the oracle
    units = strongest_units(net, x, k=5)
    assert units.kind == "weights"
    assert list(units.index) == list(np.argsort(-a1, kind="stable")[:5])
    np.testing.assert_allclose(units.activation, a1[units.index], rtol=1e-5)
    assert list(units.activation) == sorted(units.activation, reverse=True)
    for j, picture in zip(units.index, units.pictures):
        w = net.weights[0][j]
        np.testing.assert_allclose(picture, (w / np.abs(w).max()).reshape(28, 28), rtol=1e-6)
    assert units.pictures.shape == (5, 28, 28)
    assert np.abs(units.pictures).max() == pytest.approx(1.0)


def test_each_unit_favours_the_digit_its_outgoing_weights_raise_most(net, x):
    units = strongest_units(net, x, k=6)
    assert list(units.favours) == [int(np.argmax(net.weights[1][:, j])) for j in units.index]


def test_a_deeper_network_shows_its_first_hidden_layer_without_favours(x):
    deep = Network([784, 20, 15, 10], activation="sigmoid", seed=1)
    units = strongest_units(deep, x, k=30)
    assert len(units.index) == 20 and units.favours is None
    assert sorted(units.index) == list(range(20))


def conv_oracle(net, x):
    """The first layer's feature maps, (C, H, W), by a loop over positions written out here:
    z[c, i, j] = sum of x's k x k patch at (i, j) times filter c, plus b[c], then ReLU
    ('same' padding: x surrounded by zeros first)."""
    conv = net.layers[0]
    W, b, k = net.weights[0].astype(np.float64), net.biases[0], conv.k   # W (C, k, k, 1)
    image = np.pad(x.reshape(28, 28).astype(np.float64), conv.pad)
    H, Wd, C = conv.out_shape
    z = np.empty((C, H, Wd))
    for i in range(H):
        for j in range(Wd):
            z[:, i, j] = (W[:, :, :, 0] * image[i:i + k, j:j + k]).sum(axis=(1, 2)) + b
    return np.maximum(z, 0)


@pytest.mark.parametrize("spec", ["1x28x28,conv6k5,pool2,10",         # the pool applies ReLU
                                  "1x28x28,conv6k3same,conv4k3,pool2,10"])
def test_a_convolutional_layer_shows_its_strongest_feature_maps(x, spec):
    net = Network(spec, "relu", "log-likelihood", seed=2)
    net.biases[0][:] = np.linspace(-0.5, 0.5, 6)           # some channels mostly negative
    maps = conv_oracle(net, x)                             # (6, H, W)
    units = strongest_units(net, x, k=3)
    assert units.kind == "feature-map" and units.favours is None
    strength = maps.reshape(6, -1).mean(axis=1)
    assert list(units.index) == list(np.argsort(-strength, kind="stable")[:3])
    np.testing.assert_allclose(units.activation, strength[units.index], rtol=1e-4)
    assert units.pictures.shape == (3,) + maps.shape[1:]
    assert units.pictures.min() >= 0 and units.pictures.max() == pytest.approx(1.0)
    for c, picture in zip(units.index, units.pictures):
        np.testing.assert_allclose(picture, maps[c] / maps[c].max(), rtol=1e-4, atol=1e-6)
