"""The layers against independent oracles: finite differences, naive loops, adjoints."""
import numpy as np
import pytest

from conftest import learns_by_heart
from mnistnn import layers
from mnistnn.layers import Conv2D, Dense, Flatten, MaxPool, im2col
from mnistnn.network import ACTIVATIONS, Network, one_hot
from mnistnn.spec import SPEC_HELP, parse, spec_of
from test_network import numeric_gradient, relative_error


def single(layer, in_shape, seed=0):
    """A float64 layer with random parameters, a batch for it and a random weighting R of
    its outputs: the cost C = sum(R * layer(x)) has dC/dz = R."""
    rng = np.random.default_rng(seed)
    if hasattr(layer, "init"):
        layer.init(rng, 1.0, True, np.float64)
    x = rng.standard_normal((3,) + tuple(in_shape))
    R = rng.standard_normal((3,) + layer.out_shape)
    return layer, x, R


LAYERS = [
    (lambda: Dense(5, 4), (5,)),
    (lambda: Conv2D((6, 5, 2), 3, 3), (6, 5, 2)),
    (lambda: Conv2D((5, 6, 2), 3, 3, "same"), (5, 6, 2)),
    (lambda: Conv2D((4, 4, 1), 2, 1), (4, 4, 1)),
    (lambda: MaxPool((6, 4, 3), 2), (6, 4, 3)),
    (lambda: MaxPool((7, 5, 2), 2), (7, 5, 2)),      # odd edges are dropped
    (lambda: MaxPool((6, 6, 1), 3), (6, 6, 1)),
    (lambda: Flatten((3, 2, 2)), (3, 2, 2)),
]


@pytest.mark.parametrize("make, in_shape", LAYERS)
def test_each_layer_matches_central_differences(make, in_shape):
    layer, x, R = single(make(), in_shape)

    def cost():
        return float(np.sum(R * layer.forward(x)))

    params, dx = layer.backward(x, R, need_dx=True)
    own = [layer.W, layer.b] if hasattr(layer, "W") else []
    assert len(params) == len(own)
    for p, g in zip(own + [x], list(params) + [dx]):
        assert g.shape == p.shape
        assert relative_error(g, numeric_gradient(cost, p)) < 1e-6, (layer.item, p.shape)


SPECS = ["2x6x6,conv3k3,pool2,4", "1x7x7,conv2k3same,pool2,conv3k2,5,3",
         "1x6x6,pool2,conv2k2,3", "2x5x5,conv2k3,3,3"]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_network_gradients_match_central_differences(spec, activation):
    """Weights, biases and the input (which imagine needs), through every kind of layer,
    the pool that applies its neighbour's unit, and dropout masks held fixed."""
    net = Network(spec, activation, "log-likelihood", seed=1, dtype=np.float64)
    rng = np.random.default_rng(2)
    x = rng.random((4, net.sizes[0]))
    y = one_hot(rng.integers(0, net.sizes[-1], 4), net.sizes[-1], np.float64)

    def cost():
        acts, _ = net.forward(x, dropout=0.3, rng=np.random.default_rng(7))
        return net.cost.fn(acts[-1], y)

    acts, masks = net.forward(x, dropout=0.3, rng=np.random.default_rng(7))
    grad_w, grad_b, dx = net.backward(acts, net.cost.delta(acts[-1], y) / len(x), masks,
                                      need_dx=True)
    assert dx.shape == x.shape
    for p, g in zip(net.weights + net.biases + [x], grad_w + grad_b + [dx]):
        assert relative_error(g, numeric_gradient(cost, p)) < 1e-6, (spec, p.shape)
    # Training keeps the patches and maxima of the forward pass on a tape: same numbers.
    tape = {}
    acts, masks = net.forward(x, dropout=0.3, rng=np.random.default_rng(7), tape=tape)
    assert len(tape) == sum(isinstance(l, (Conv2D, MaxPool)) for l in net.layers)
    kept = net.backward(acts, net.cost.delta(acts[-1], y) / len(x), masks, True, tape)
    assert tape == {}
    for g, k in zip(grad_w + grad_b + [dx], kept[0] + kept[1] + [kept[2]]):
        np.testing.assert_array_equal(g, k)


def naive_conv(x, W, b, pad):
    """Cross-correlation by loops over output pixels: x (B,H,W,C), W (n,k,k,C)."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, k = W.shape[:2]
    Ho, Wo = x.shape[1] - k + 1, x.shape[2] - k + 1
    out = np.zeros((len(x), Ho, Wo, n))
    for i in range(Ho):
        for j in range(Wo):
            patch = x[:, i:i + k, j:j + k, :]                     # (B, k, k, C)
            out[:, i, j, :] = np.einsum("bijc,nijc->bn", patch, W) + b
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_convolution_equals_the_loop_over_pixels(padding):
    layer, x, _ = single(Conv2D((7, 6, 3), 4, 3, padding), (7, 6, 3))
    expected = naive_conv(x, layer.W, layer.b, 1 if padding == "same" else 0)
    assert layer.out_shape == expected.shape[1:]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("C, k", [(3, 3), (1, 3), (2, 1)])
def test_im2col_rows_are_the_patches(C, k):
    """Both layouts (channels innermost, or pixels transposed when C < k) hold the patch
    at (b, i, j) as row (b*Ho + i)*Wo + j, and a 1 after it (the biases' input)."""
    x = np.random.default_rng(0).standard_normal((2, 6, 5, C))
    cols = im2col(x, k)
    Ho, Wo = 6 - k + 1, 5 - k + 1
    assert cols.shape == (2 * Ho * Wo, k * k * C + 1)
    for b, i, j in np.ndindex(2, Ho, Wo):
        row = cols[(b * Ho + i) * Wo + j]
        np.testing.assert_array_equal(row[:-1].reshape(k, k, C), x[b, i:i + k, j:j + k, :])
        assert row[-1] == 1


def test_the_input_gradient_is_the_adjoint_of_the_convolution():
    """<conv(x), R> = <x, dx(R)> for the linear part (no bias, no unit), for all x and R."""
    for padding in ("valid", "same"):
        layer, x, R = single(Conv2D((7, 6, 3), 4, 3, padding), (7, 6, 3))
        layer.b[:] = 0
        _, dx = layer.backward(x, R)
        assert np.isclose(np.sum(layer.forward(x) * R), np.sum(x * dx))


def test_maxpool_takes_the_largest_of_each_block_and_routes_the_gradient_there():
    x = np.arange(2 * 4 * 6 * 2, dtype=np.float64)
    np.random.default_rng(0).shuffle(x)
    x = x.reshape(2, 4, 6, 2)
    pool = MaxPool((4, 6, 2), 2)
    out = pool.forward(x)
    assert out.shape == (2, 2, 3, 2)
    for i, j in np.ndindex(2, 3):
        np.testing.assert_array_equal(out[:, i, j], x[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                                      .max(axis=(1, 2)))
    _, dx = pool.backward(x, np.ones_like(out))
    assert dx.sum() == out.size and set(np.unique(dx)) == {0, 1}
    np.testing.assert_array_equal(x[dx == 1], np.sort(out, axis=None)[np.argsort(
        np.argsort(x[dx == 1]))])


def test_the_pool_applying_the_unit_computes_conv_relu_pool():
    """max(relu(z)) = relu(max(z)): the network's shortcut is the textbook function."""
    net = Network("1x8x8,conv3k3,pool2,4", "relu", "log-likelihood", seed=0, dtype=np.float64)
    conv, pool = net.layers[0], net.layers[1]
    assert conv.unit is None and pool.unit is ACTIVATIONS["relu"]
    x = np.random.default_rng(0).random((5, 64))
    z = naive_conv(x.reshape(5, 8, 8, 1), conv.W, conv.b, 0)           # (5, 6, 6, 3)
    relu_then_pool = np.maximum(z, 0).reshape(5, 3, 2, 3, 2, 3).max(axis=(2, 4))
    np.testing.assert_allclose(net.forward(x)[0][2], relu_then_pool, rtol=1e-12)


def test_a_small_conv_net_overfits_a_few_dozen_examples():
    from mnistnn.network import SGD
    rng = np.random.default_rng(1)
    x = rng.random((30, 144)).astype(np.float32)
    labels = rng.integers(0, 10, 30)
    net = Network("1x12x12,conv8k3,pool2,conv8k3same,pool2,32,10", "relu", "log-likelihood")
    optimizer = SGD(0.05, momentum=0.9)
    assert learns_by_heart(net, x, labels, optimizer, 300)


def test_float32_conv_net_agrees_with_float64_and_chunks():
    net = Network("1x28x28,conv4k5,pool2,conv8k5,pool2,16,10", "relu", "log-likelihood")
    x = np.random.default_rng(0).random((23, 784), dtype=np.float32)
    p32 = net.predict_proba(x)
    assert p32.dtype == np.float32 and p32.shape == (23, 10)
    np.testing.assert_allclose(p32, net.astype(np.float64).predict_proba(x), atol=1e-5)
    np.testing.assert_allclose(net.feedforward(x, batch_size=4), net.feedforward(x), rtol=1e-5)


def test_dropout_masks_only_what_dense_layers_receive():
    net = Network("1x8x8,conv2k3,pool2,6,10", "relu", "log-likelihood")
    acts, masks = net.forward(np.ones((3, 64), np.float32), 0.5, np.random.default_rng(0))
    assert [m is not None for m in masks] == [False, False, False, True, True, False]
    assert masks[3].shape == (3, 18) and masks[4].shape == (3, 6)


# -- the spec --------------------------------------------------------------------------

def test_specs_parse_to_layers_and_back():
    shape, stack = parse("1x28x28,conv32k5,pool2,conv64k5,pool2,256,10")
    assert shape == (28, 28, 1)
    assert [type(l).__name__ for l in stack] == ["Conv2D", "MaxPool", "Conv2D", "MaxPool",
                                                 "Flatten", "Dense", "Dense"]
    assert [l.out_shape for l in stack] == [(24, 24, 32), (12, 12, 32), (8, 8, 64),
                                            (4, 4, 64), (1024,), (256,), (10,)]
    net = Network(" 1X28x28, conv32k3same ,pool2,conv64k3valid,pool2,10", "relu")
    assert net.spec == "1x28x28,conv32k3same,pool2,conv64k3,pool2,10"
    assert net.sizes == [784, 28 * 28 * 32, 14 * 14 * 32, 12 * 12 * 64, 6 * 6 * 64,
                         6 * 6 * 64, 10]
    assert Network(net.spec).spec == net.spec
    shape, stack = parse("3x8x6,conv2k3,10")                  # channels x height x width
    assert shape == (8, 6, 3) and stack[0].out_shape == (6, 4, 2)
    assert spec_of(shape, stack) == "3x8x6,conv2k3,10"


def test_the_classic_sizes_are_a_spec():
    for spec in ([784, 30, 10], (784, 30, 10), "784,30,10", ["784", "30", "10"],
                 np.array([784, 30, 10])):
        net = Network(spec)
        assert net.spec == "784,30,10" and net.sizes == [784, 30, 10]
        assert [type(l) for l in net.layers] == [Dense, Dense]


def test_same_seed_gives_the_weights_it_always_gave():
    """The numbers the network drew before it was a stack of layers (commit ebbdc5b)."""
    net = Network([784, 30, 10], seed=0)
    np.testing.assert_allclose(net.weights[0][0, :3], [0.0044903648, -0.0047180308, 0.0228722375],
                               rtol=1e-6)
    np.testing.assert_allclose(net.biases[1][:2], [-0.7978422642, -0.8062772751], rtol=1e-6)


@pytest.mark.parametrize("spec, words", [
    ("", "two or more positive integers"),
    ("784", "two or more positive integers"),
    ("784,,10", "item 2 of '784,,10' is empty: a comma too many?"),
    ("784,100,10,", "item 4 of '784,100,10,' is empty: a comma too many?"),
    ("784,0,10", "item 2 ('0'): layer sizes must be positive integers"),
    ("28x28,10", "item 1 ('28x28') must be the input"),
    ("conv32k5,10", "item 1 ('conv32k5') must be the input"),
    ("1x28x28,conv32x5,10", "item 2 ('conv32x5') is not a layer"),
    ("1x28x28,-5,10", "item 2 ('-5'): layer sizes must be positive integers"),
    ("784,conv32k5,10", "item 2 ('conv32k5') needs images (CxHxW) but gets 784 numbers"),
    ("1x28x28,100,pool2,10", "item 3 ('pool2') needs images (CxHxW) but gets 100 numbers"),
    ("1x28x28,conv8k4same,10", "item 2 ('conv8k4same'): 'same' padding needs an odd kernel"),
    ("1x8x8,conv8k5,conv8k5,10", "item 3 ('conv8k5'): a 5x5 kernel does not fit the 4x4"),
    ("1x8x8,pool3,pool3,10", "item 3 ('pool3'): a 3x3 pool does not fit the 2x2"),
    ("1x8x8,conv0k3,10", "item 2 ('conv0k3'): filters and kernel sizes must be positive"),
    ("1x8x8,pool0,10", "item 2 ('pool0'): pool sizes must be positive"),
    ("1x28x28,conv8k5,pool2", "the last item ('pool2') must be the number of outputs"),
    ("784,99999999,10", "item 2 ('99999999'): 78,399,999,216 weights, more than the"),
    ("1x9x9,conv999999k99same,10", "item 2 ('conv999999k99same'): 9,800,990,199 weights"),
])
def test_a_bad_spec_says_what_is_wrong_and_where(spec, words):
    with pytest.raises(ValueError) as error:
        parse(spec)
    message = str(error.value)
    assert words in message, message
    assert ". " not in message.replace("e.g. ", "") and "\n" not in message  # one sentence


def test_the_help_text_names_every_kind_of_item():
    for example in ("256", "conv32k5", "conv32k3same", "pool2", "1x28x28,conv32k5"):
        assert example in SPEC_HELP


def test_convolutions_in_chunks_equal_one_chunk(monkeypatch):
    """A chunk per image or the whole batch at once: the same outputs and gradients."""
    net = Network("1x9x9,conv3k3same,pool2,conv4k3,5", "tanh", "log-likelihood",
                  dtype=np.float64)
    rng = np.random.default_rng(0)
    x, y = rng.random((7, 81)), one_hot(rng.integers(0, 5, 7), 5, np.float64)

    def run(tape):
        acts, masks = net.forward(x, tape=tape)
        grads = net.backward(acts, net.cost.delta(acts[-1], y), masks, True, tape)
        return acts + grads[0] + grads[1] + [grads[2]]

    monkeypatch.setattr(layers, "CHUNK", 10**9)
    whole = run(None)
    monkeypatch.setattr(layers, "CHUNK", 1)
    assert len(net.layers[0]._chunks(7)) == 7
    for tape in (None, {}):                  # patches made again, or kept chunk by chunk
        for a, b in zip(whole, run(tape)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
