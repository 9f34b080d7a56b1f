"""Recipes (presets that explicit options override) and the training features they rely
on: dropout (off in evaluation, inverted scaling), input dropout, early stopping."""
import dataclasses

import numpy as np
import pytest
from conftest import invoke
from mnistnn import checkpoint, recipes
from mnistnn.network import Network, one_hot
from mnistnn.config import check_fits_dataset
from mnistnn.train import TrainConfig, Trainer, eval_subset, evaluate

FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


run = invoke


def saved_config(folder):
    return checkpoint.read(folder / "latest.npz").meta["config"]


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_every_recipe_is_a_valid_training_config(name):
    settings = recipes.RECIPES[name]["settings"]
    assert set(settings) <= FIELDS
    TrainConfig(**settings).check()
    assert recipes.MEASURED[name]


def test_best_is_wide_with_distortions_and_the_settings_it_was_measured_with():
    best, wide = recipes.RECIPES["best"]["settings"], recipes.RECIPES["wide"]["settings"]
    assert TrainConfig(**best) == TrainConfig(
        sizes=(784, 800, 800, 10), activation="relu", cost="log-likelihood", epochs=100,
        lr=0.1, batch_size=128, momentum=0.9, nesterov=True, dropout=0.1,
        schedule="cosine", validation_size=0, rotate=10.0, scale=0.1, shear=0.1, shift=1.0,
        elastic=34.0, elastic_sigma=5.0)
    assert {k for k in best if best[k] != wide.get(k)} == {
        "epochs", "dropout", "input_dropout", "rotate", "scale", "shear", "shift", "elastic",
        "elastic_sigma"}


def test_the_recipe_overrides_defaults_and_explicit_options_override_the_recipe():
    defaults = {"sizes": (784, 30, 10), "epochs": 30, "lr": 3.0, "seed": 0}
    settings = recipes.resolve("wide", defaults, given={"epochs", "seed"})
    assert settings["sizes"] == recipes.RECIPES["wide"]["settings"]["sizes"]
    assert settings["lr"] == recipes.RECIPES["wide"]["settings"]["lr"]
    assert settings["epochs"] == 30 and settings["seed"] == 0          # given explicitly
    assert recipes.resolve("classic", defaults, given=set()) == defaults
    with pytest.raises(ValueError, match="unknown recipe"):
        recipes.resolve("fastest", defaults, set())


def test_cli_recipe_with_explicit_options(tiny_mnist, tmp_path):
    result = run("train", "--recipe", "best", "--layers", "784,16,10", "--epochs", 1,
                 "--elastic", 0, "--data-dir", tiny_mnist, "--weights-dir", tmp_path,
                 "--no-download", "-q")
    assert result.exit_code == 0, result.output
    config = saved_config(tmp_path)
    best = recipes.RECIPES["best"]["settings"]
    assert config["sizes"] == [784, 16, 10] and config["epochs"] == 1    # explicit
    assert config["elastic"] == 0                                       # explicit zero
    assert config["rotate"] == best["rotate"] and config["lr"] == best["lr"]  # recipe
    assert config["activation"] == "relu" and config["validation_size"] == 0
    assert (tmp_path / "training.png").is_file()


def test_cli_recipe_cannot_be_combined_with_resume(tiny_mnist, tmp_path):
    assert run("train", "--epochs", 1, "--validation-size", 100, "--data-dir", tiny_mnist,
               "--weights-dir", tmp_path, "--no-download", "-q").exit_code == 0
    result = run("train", "--resume", tmp_path / "latest.npz", "--recipe", "wide",
                 "--epochs", 1, "--data-dir", tiny_mnist, "--no-download", "-q")
    assert result.exit_code == 2 and "--recipe starts a new run" in result.stderr


def test_help_lists_every_recipe_with_its_measurement():
    text = run("train", "--help").stdout
    for name in recipes.RECIPES:
        assert f"  {name} " in text
    assert text.count("Measured:") == len(recipes.RECIPES)


# -- dropout ------------------------------------------------------------------------------

def test_dropout_is_off_in_evaluation():
    """After training with dropout, predictions and evaluation use every unit, unscaled:
    they equal the layers' formula worked out by hand, and do not vary from call to call."""
    rng = np.random.default_rng(0)
    x, labels = rng.random((200, 784), dtype=np.float32), rng.integers(0, 10, 200)
    config = TrainConfig(sizes=(784, 50, 10), activation="relu", cost="log-likelihood",
                         dropout=0.5, input_dropout=0.2, lr=0.05, batch_size=20, epochs=1)
    net = Network(config.sizes, "relu", "log-likelihood", seed=1)
    Trainer(net, config, (x, labels)).run()
    (W0, W1), (b0, b1) = net.weights, net.biases
    z = np.maximum(x @ W0.T + b0, 0) @ W1.T + b1                     # (200, 10), no masks
    by_hand = np.exp(z - z.max(axis=1, keepdims=True))
    by_hand /= by_hand.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(net.feedforward(x), by_hand, rtol=1e-4, atol=1e-6)
    assert evaluate(net, x, labels) == evaluate(net, x, labels)
    assert evaluate(net, x, labels)["accuracy"] == np.mean(by_hand.argmax(axis=1) == labels)


def test_inverted_dropout_keeps_the_expected_activation():
    net = Network([784, 40, 40, 10], "relu", "log-likelihood", seed=2)
    x = np.repeat(np.random.default_rng(0).random((1, 784), dtype=np.float32), 40000, axis=0)
    acts, masks = net.forward(x, dropout=0.5, rng=np.random.default_rng(3))
    kept = masks[1] > 0
    assert abs(kept.mean() - 0.5) < 0.01 and set(np.unique(masks[1])) == {0, 2}
    seen = (acts[1] * masks[1]).mean(axis=0)                       # (40,) over the draws
    np.testing.assert_allclose(seen, acts[1][0], rtol=0.05, atol=1e-3)


def test_input_dropout_keeps_the_expected_pixel():
    config = TrainConfig(input_dropout=0.2, sizes=(784, 8, 10))
    x = np.full((5000, 784), 0.5, dtype=np.float32)
    trainer = Trainer(Network(config.sizes, seed=0), config, (x, np.zeros(5000, int)))
    seen = trainer._distort(x, np.random.default_rng(0), config.distortion)
    assert abs((seen == 0).mean() - 0.2) < 0.01
    assert abs(seen.mean() - 0.5) < 0.01


# -- early stopping and evaluation ---------------------------------------------------------

def test_early_stopping_stops_when_validation_stops_improving():
    rng = np.random.default_rng(0)
    x, labels = rng.random((200, 784), dtype=np.float32), rng.integers(0, 10, 200)
    config = TrainConfig(epochs=20, lr=1e-12, patience=3, batch_size=50)  # learns nothing
    trainer = Trainer(Network(config.sizes, seed=0), config, (x, labels), (x[:50], labels[:50]))
    outcome = trainer.run()
    assert outcome["status"] == "early-stopped"
    assert outcome["epoch"] == 1 + 3 and outcome["best_epoch"] == 1


def test_evaluate_matches_loss_and_accuracy_in_one_pass():
    rng = np.random.default_rng(1)
    net = Network([784, 20, 10], "relu", "log-likelihood", seed=0)
    x, labels = rng.random((2500, 784), dtype=np.float32), rng.integers(0, 10, 2500)
    result = evaluate(net, x, labels, batch_size=1000)
    assert result["accuracy"] == net.accuracy(x, labels)
    assert result["loss"] == pytest.approx(net.cost.fn(net.feedforward(x), one_hot(labels)),
                                           rel=1e-5)


def test_the_training_metrics_use_a_fixed_subset():
    a, b = eval_subset(60000, seed=4), eval_subset(60000, seed=4)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 10000 and len(np.unique(a)) == 10000
    np.testing.assert_array_equal(eval_subset(600, seed=4), np.arange(600))


def test_the_cnn_recipes_are_the_settings_they_were_measured_with():
    base = dict(sizes="1x28x28,conv32k5,pool2,conv64k5,pool2,256,10", activation="relu",
                cost="log-likelihood", lr=0.05, batch_size=128, momentum=0.9, nesterov=True,
                schedule="cosine", validation_size=0)
    assert TrainConfig(**recipes.settings("cnn-quick")) == TrainConfig(**base, epochs=15)
    assert TrainConfig(**recipes.settings("cnn")) == TrainConfig(
        **base, epochs=30, dropout=0.25, rotate=10.0, scale=0.1, shear=0.1, shift=2.0)
    fashion = TrainConfig(**recipes.settings("cnn", "fashion-mnist"), dataset="fashion-mnist")
    assert fashion == TrainConfig(
        **{**base, "sizes": "1x28x28,conv32k3same,bn,pool2,conv64k3same,bn,pool2,"
                            "conv128k3same,bn,256,10"},
        epochs=30, dropout=0.2, flip=0.5, shift=1.0, dataset="fashion-mnist")
    fashion.check()
    check_fits_dataset(fashion)


def test_cli_cnn_recipe(tiny_fashion, tmp_path):
    result = run("train", "--recipe", "cnn", "--dataset", "fashion-mnist", "--epochs", 1,
                 "--data-dir", tiny_fashion, "--weights-dir", tmp_path, "--no-download", "-q")
    assert result.exit_code == 0, result.output
    meta = checkpoint.read(tmp_path / "latest.npz").meta
    assert meta["layers"] == recipes.FASHION_CNN["sizes"] == meta["config"]["sizes"]
    assert meta["config"]["flip"] == 0.5 and meta["config"]["epochs"] == 1


def test_the_help_keeps_each_layer_spec_whole():
    """A spec in `train --help` is something to copy into --layers: never cut mid-word."""
    text = recipes.describe()
    assert recipes.settings("cnn", "fashion-mnist")["sizes"] in text
    assert recipes.settings("cnn")["sizes"] in text
