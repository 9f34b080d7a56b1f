"""The network's math against independent oracles: finite differences, overfitting, seeds."""
import itertools
import warnings

import numpy as np
import pytest

from conftest import learns_by_heart
from mnistnn import blas
from mnistnn.network import ACTIVATIONS, COSTS, SGD, Network, Sigmoid, Softmax, one_hot

COMBINATIONS = list(itertools.product(ACTIVATIONS, COSTS))


def small_problem(activation, cost, seed=0, sizes=(6, 5, 4, 3)):
    """A float64 network and a batch whose units sit away from ReLU's kink."""
    rng = np.random.default_rng(seed)
    net = Network(list(sizes), activation, cost, seed=seed, dtype=np.float64)
    x = rng.random((7, sizes[0]))
    y = one_hot(rng.integers(0, sizes[-1], 7), sizes[-1], np.float64)
    return net, x, y


def mean_cost(net, x, y):
    return net.cost.fn(net.forward(x)[0][-1], y)


def relative_error(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-12)


def numeric_gradient(f, p, h=1e-6):
    """Central differences of the scalar f() with respect to every entry of array p."""
    g = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        saved = p[i]
        p[i] = saved + h
        up = f()
        p[i] = saved - h
        g[i] = (up - f()) / (2 * h)
        p[i] = saved
    return g


@pytest.mark.parametrize("activation, cost", COMBINATIONS)
def test_gradients_match_central_differences(activation, cost):
    net, x, y = small_problem(activation, cost)
    acts, _ = net.forward(x)
    delta = net.cost.delta(acts[-1], y) / len(x)      # dC/dz for the mean cost
    grad_w, grad_b, grad_x = net.backward(acts, delta, need_dx=True)
    for params, grads in ((net.weights, grad_w), (net.biases, grad_b), ([x], [grad_x])):
        for p, g in zip(params, grads):
            numeric = numeric_gradient(lambda: mean_cost(net, x, y), p)
            assert relative_error(g, numeric) < 1e-6, (activation, cost, p.shape)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dropout_gradients_match_central_differences(activation):
    """With the masks held fixed (same generator seed), backprop through dropout is exact."""
    net, x, y = small_problem(activation, "log-likelihood", sizes=(6, 8, 8, 3))

    def cost():
        acts, _ = net.forward(x, dropout=0.4, rng=np.random.default_rng(7))
        return net.cost.fn(acts[-1], y)

    acts, masks = net.forward(x, dropout=0.4, rng=np.random.default_rng(7))
    assert masks[1] is not None and masks[2] is not None and masks[3] is None
    grad_w, _, _ = net.backward(acts, net.cost.delta(acts[-1], y) / len(x), masks)
    assert relative_error(grad_w[1], numeric_gradient(cost, net.weights[1])) < 1e-6


def test_float32_network_uses_the_same_numbers_as_float64():
    a = Network([784, 30, 10], seed=3)
    b = Network([784, 30, 10], seed=3, dtype=np.float64)
    assert a.dtype == np.float32 and b.dtype == np.float64
    np.testing.assert_allclose(a.weights[0], b.weights[0], rtol=1e-6)


# Learning rates that suit each combination (relu and tanh units want smaller steps).
OVERFIT_LR = {"sigmoid": (3.0, 0.5, 0.5), "tanh": (0.1, 0.1, 0.1), "relu": (0.3, 0.05, 0.05)}


@pytest.mark.parametrize("activation, cost", COMBINATIONS)
def test_a_tiny_network_overfits_a_few_dozen_examples(activation, cost):
    rng = np.random.default_rng(1)
    x = rng.random((30, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 30)
    net = Network([784, 30, 10], activation, cost, seed=1)
    optimizer = SGD(OVERFIT_LR[activation][list(COSTS).index(cost)])
    assert net.accuracy(x, labels) < 0.5
    assert learns_by_heart(net, x, labels, optimizer, 2000)


def test_same_seed_same_weights_different_seed_different():
    a, b, c = (Network([784, 30, 10], seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(p, q) for p, q in zip(a.weights + a.biases, b.weights + b.biases))
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_initialisation_scales():
    sig = Network([784, 100, 10], "sigmoid", seed=0)
    relu = Network([784, 100, 10], "relu", "log-likelihood", seed=0)
    assert abs(sig.weights[0].std() - 1 / np.sqrt(784)) < 0.002
    assert abs(relu.weights[0].std() - np.sqrt(2 / 784)) < 0.002
    assert abs(sig.biases[0].std() - 1) < 0.3 and not relu.biases[0].any()


def test_sigmoid_is_stable_for_any_input():
    z = np.array([-1e30, -1000, -89, -10, 0, 10, 89, 1000, 1e30], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = Sigmoid.fn(z)
    assert np.all(np.isfinite(a)) and a[0] == 0 and a[-1] == 1 and a[4] == 0.5
    np.testing.assert_allclose(Sigmoid.fn(np.array([2.0, -3.0])), 1 / (1 + np.exp([-2.0, 3.0])))


def test_softmax_rows_sum_to_one_even_for_huge_inputs():
    z = np.array([[1e4, 0, -1e4], [1, 2, 3]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = Softmax.fn(z.copy())
    np.testing.assert_allclose(a.sum(axis=1), 1, rtol=1e-6)
    assert a[0, 0] == 1


def test_predict_proba_rows_are_probabilities():
    net = Network([784, 30, 10], seed=0)
    p = net.predict_proba(np.random.default_rng(0).random((5, 784)))
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    x = np.random.default_rng(0).random((5, 784))
    assert (p >= 0).all() and np.array_equal(p.argmax(1), net.predict(x))


def test_feedforward_in_chunks_equals_one_pass():
    net = Network([784, 30, 10], seed=0)
    x = np.random.default_rng(0).random((25, 784)).astype(np.float32)
    np.testing.assert_allclose(net.feedforward(x, batch_size=7), net.feedforward(x), rtol=1e-6)


def recorded(actual, numbers):
    """actual equals the recorded numbers bit for bit on numpy 2 (with the OpenBLAS the
    numbers were recorded with); an older numpy and its BLAS sum in another order, so there
    the last digits may differ."""
    if int(np.__version__.split(".")[0]) >= 2:
        return actual.tolist() == numbers
    return np.allclose(actual, numbers, rtol=1e-4, atol=1e-7)


def test_one_thread_trains_bit_for_bit_as_before():
    """Weights after 20 classic batches and 8 batches with every option, on one thread: the
    numbers the network computed before it split batches over threads (commit 6c8e60d)."""
    rng = np.random.default_rng(5)
    x = rng.random((200, 784), dtype=np.float32)
    y = one_hot(rng.integers(0, 10, 200))
    with blas.threads(1):
        net = Network([784, 30, 10], seed=3)
        optimizer = SGD(3.0)
        for b in range(0, 200, 10):
            net.train_batch(x[b:b + 10], y[b:b + 10], optimizer)
        assert recorded(net.weights[0][7, 300:303], [
            0.0010698752012103796, 0.046941135078668594, 0.04628922790288925])
        assert recorded(net.biases[1][:3], [
            -0.03748496249318123, 0.25978386402130127, 1.0130058526992798])
        net = Network([784, 64, 10], "relu", "log-likelihood", seed=3)
        optimizer = SGD(0.1, momentum=0.9, nesterov=True, l2=1e-3, max_norm=2.0)
        for b in range(0, 200, 25):
            net.train_batch(x[b:b + 25], y[b:b + 25], optimizer, dropout=0.25, rng=rng)
        assert recorded(net.weights[0][7, 300:303], [
            -0.04828651249408722, 0.025021828711032867, 0.001994628459215164])
        assert recorded(net.biases[1][:3], [
            0.010287173092365265, -0.05175379663705826, 0.06987743079662323])


def test_momentum_step_is_the_textbook_update():
    net = Network([3, 2], "sigmoid", "cross-entropy", seed=0, dtype=np.float64)
    W0 = net.weights[0].copy()
    opt = SGD(lr=0.1, momentum=0.5)
    g = [np.ones_like(W0)], [np.zeros(2)]
    opt.apply(net, [0.1 * g[0][0]], [0.1 * g[1][0]])   # v = -0.1 g
    opt.apply(net, [0.1 * g[0][0]], [0.1 * g[1][0]])   # v = 0.5 (-0.1 g) - 0.1 g
    np.testing.assert_allclose(net.weights[0], W0 - 0.1 - 0.15)


@pytest.mark.parametrize("settings", [dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                      dict(momentum=0.5, l2=1e-3), dict(l2=1e-3)])
def test_the_update_in_blocks_is_the_update_of_whole_arrays_bit_for_bit(settings):
    """SGD updates large arrays block by block, for the CPU's cache: the same numbers."""
    rng = np.random.default_rng(0)
    nets, opts = [Network([300, 250, 10], "relu", seed=1) for _ in range(2)], []
    for block in (SGD.BLOCK, 10**9):                 # 75,000 weights: two blocks, and one
        opt = SGD(lr=0.1, **settings)
        opt.BLOCK = block
        opts.append(opt)
    for _ in range(3):
        grad_w = [rng.standard_normal(W.shape).astype(W.dtype) for W in nets[0].weights]
        grad_b = [rng.standard_normal(b.shape).astype(b.dtype) for b in nets[0].biases]
        for net, opt in zip(nets, opts):
            opt.apply(net, [g.copy() for g in grad_w], [g.copy() for g in grad_b])
    assert nets[0].weights[0].size > SGD.BLOCK
    for a, b in zip(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases):
        assert np.array_equal(a, b)


def test_l2_and_max_norm():
    net = Network([3, 4, 2], seed=0, dtype=np.float64)
    net.weights[0][:] = 10.0
    W1 = net.weights[1].copy()
    SGD(lr=0.1, l2=0.5).apply(net, [0 * W for W in net.weights], [0 * b for b in net.biases])
    np.testing.assert_allclose(net.weights[1], W1 * (1 - 0.05))
    SGD(lr=0.1, max_norm=2.0).apply(net, [0 * W for W in net.weights],
                                    [0 * b for b in net.biases])
    np.testing.assert_allclose(np.linalg.norm(net.weights[0], axis=1), 2.0)


def test_bad_construction_is_a_clear_error():
    with pytest.raises(ValueError, match="two or more positive integers"):
        Network([784])
    with pytest.raises(ValueError, match="positive integers"):
        Network([784, 0, 10])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Network([784, 10], "swish")
    with pytest.raises(ValueError, match="unknown cost"):
        Network([784, 10], cost="hinge")
