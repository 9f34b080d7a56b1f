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


class ConvStandIn:
    """What a network whose first layer is convolutional looks like to strongest_units:
    forward() returns that layer's activations as (B, C, H, W) feature maps."""
    dtype = np.float32

    def __init__(self, maps):
        self.maps = maps                                           # (C, 24, 24)
        self.weights = [np.zeros((len(maps), 1, 5, 5), np.float32)]

    def forward(self, x):
        return [x, self.maps[None], np.zeros((1, 10), np.float32)], None


def test_a_convolutional_layer_shows_its_strongest_feature_maps(x):
    maps = np.random.default_rng(1).normal(size=(6, 24, 24)).astype(np.float32)
    maps[4] += 3                                                   # the strongest channel
    units = strongest_units(ConvStandIn(maps), x, k=3)
    assert units.kind == "feature-map" and units.favours is None
    strength = maps.reshape(6, -1).mean(axis=1)
    assert units.index[0] == 4 and list(units.index) == list(np.argsort(-strength)[:3])
    assert units.pictures.shape == (3, 24, 24)
    assert units.pictures.min() >= 0 and units.pictures.max() == pytest.approx(1.0)
    expected = np.maximum(maps[4], 0) / np.maximum(maps[4], 0).max()
    np.testing.assert_allclose(units.pictures[0], expected, rtol=1e-6)
