"""`mnistnn train`: checkpoints, resume, Ctrl-C, divergence and bad options, on tiny data."""
import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import invoke
from mnistnn import checkpoint, cli_train, config, network, train
from mnistnn.config import TrainConfig


run = invoke


def train_tiny(data, weights, *args):
    return run("train", "--data-dir", data, "--weights-dir", weights, "--no-download",
               "--validation-size", 100, *args)


def params(path):
    net = checkpoint.load(path)
    return net.weights + net.biases


def test_writes_latest_best_and_metrics(tiny_mnist, tmp_path):
    result = train_tiny(tiny_mnist, tmp_path, "--epochs", 3, "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2, 3]
    assert set(lines[0]) >= {"epoch", "train_loss", "train_accuracy", "validation_accuracy",
                             "seconds"}
    history = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert history == lines
    latest, best = checkpoint.read(tmp_path / "latest.npz"), checkpoint.read(tmp_path / "best.npz")
    assert latest.meta["state"]["epoch"] == 3 and not latest.meta["interrupted"]
    best_epoch = max(lines, key=lambda m: m["validation_accuracy"])["epoch"]
    assert best.meta["state"]["epoch"] == best_epoch
    assert lines[-1]["validation_accuracy"] > 0.5  # it learned something


def test_text_output_has_one_line_per_epoch(tiny_mnist, tmp_path):
    result = train_tiny(tiny_mnist, tmp_path, "--epochs", 2)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch   2/2  loss ")
    assert "validation" in lines[0] and lines[0].endswith(" s")
    assert "Best validation accuracy" in result.stderr and "best.npz" in result.stderr


def test_next_names_the_test_command_of_this_run(tiny_mnist, tmp_path, monkeypatch):
    """The closing "Next:" runs as printed, from the same folder, and tests the network
    just trained: with --weights-dir when the run went elsewhere than test looks."""
    monkeypatch.chdir(tmp_path)
    for folder, suggested in (("weights", "mnistnn test"),
                              ("my runs/cnn", "mnistnn test --weights-dir 'my runs/cnn'")):
        result = run("train", "--data-dir", tiny_mnist, "--no-download", "--epochs", 1,
                     "--validation-size", 100, "--weights-dir", folder)
        assert result.exit_code == 0, result.output
        assert result.stderr.rstrip().endswith(f"Next: {suggested}")
        args = shlex.split(suggested)[2:]
        tested = run("test", "--data-dir", tiny_mnist, "--no-download", *args)
        assert tested.exit_code == 0
        assert f"Using {folder}/best.npz" in tested.stderr


def test_same_seed_same_weights_different_seed_different(tiny_mnist, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert train_tiny(tiny_mnist, tmp_path / name, "--epochs", 1, "--seed", seed,
                          "-q").exit_code == 0
    a, b, c = (params(tmp_path / n / "latest.npz") for n in "abc")
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], c[0])


MOMENTUM = ("--momentum", 0.5, "--lr", 0.5, "--cost", "cross-entropy", "--batch-size", 20)


def test_resume_equals_training_straight_through(tiny_mnist, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_tiny(tiny_mnist, straight, "--epochs", 4, *MOMENTUM).exit_code == 0
    assert train_tiny(tiny_mnist, split, "--epochs", 2, *MOMENTUM).exit_code == 0
    resumed = train_tiny(tiny_mnist, split, "--resume", split / "latest.npz", "--epochs", 2)
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming" in resumed.stderr
    assert [line.split()[1] for line in resumed.stdout.splitlines()] == ["3/4", "4/4"]
    for p, q in zip(params(straight / "latest.npz"), params(split / "latest.npz")):
        assert np.array_equal(p, q)
    history = (split / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in history] == [1, 2, 3, 4]


def test_resume_after_ctrl_c_mid_epoch_equals_straight_through(tiny_mnist, tmp_path):
    """SIGINT arrives during batch 7 of epoch 2; the resumed run finishes identically."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_tiny(tiny_mnist, straight, "--epochs", 3, *MOMENTUM, "--dropout", 0.2,
                      "--activation", "relu").exit_code == 0

    def interrupt(done, total, loss, calls=[]):
        calls.append(done)
        if len(calls) == total + 7:
            os.kill(os.getpid(), signal.SIGINT)

    real_run = train.Trainer.run
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train.Trainer, "run",
                   lambda self, on_batch=None, **kw: real_run(self, interrupt, **kw))
        result = train_tiny(tiny_mnist, split, "--epochs", 3, *MOMENTUM, "--dropout", 0.2,
                            "--activation", "relu")
    assert result.exit_code == 130, result.output
    assert "Interrupted in epoch 2 after batch 7 of 25" in result.stderr
    assert "mnistnn train --resume" in result.stderr
    saved = checkpoint.read(split / "latest.npz")
    assert saved.meta["interrupted"] and saved.meta["state"]["batch"] == 7
    resumed = train_tiny(tiny_mnist, split, "--resume", split / "latest.npz")
    assert resumed.exit_code == 0, resumed.output
    for p, q in zip(params(straight / "latest.npz"), params(split / "latest.npz")):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("signum, code, words", [
    (signal.SIGINT, 130, "Interrupted in epoch"),
    (signal.SIGTERM, 143, "Stopped by SIGTERM in epoch")])   # `kill`, a job's time limit
def test_ctrl_c_or_kill_in_a_real_process(tiny_mnist, tmp_path, signum, code, words):
    """Either signal stops after the batch and saves a checkpoint that resumes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mnistnn", "train", "--data-dir", str(tiny_mnist),
         "--weights-dir", str(tmp_path), "--no-download", "--validation-size", "100",
         "--epochs", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()            # wait for a whole epoch to be done
    assert first.startswith("epoch")
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert words in err and "Traceback" not in err
    assert "mnistnn train --resume " + str(tmp_path / "latest.npz") in err
    saved = checkpoint.read(tmp_path / "latest.npz")
    assert saved.meta["interrupted"] is True


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_second_ctrl_c_or_kill_stops_at_once(tiny_mnist, tmp_path, monkeypatch, signum,
                                               code):
    """The first Ctrl-C (or kill) asks for a stop after the batch; a second one, before
    that stop is done, interrupts at once: exit 130 (143 for kill), one sentence, the last
    checkpoint intact, the handlers as they were."""
    assert train_tiny(tiny_mnist, tmp_path, "--epochs", 1, "-q").exit_code == 0
    before, handler = (tmp_path / "latest.npz").read_bytes(), signal.getsignal(signum)

    def signal_twice(done, total, loss):
        os.kill(os.getpid(), signum)
        os.kill(os.getpid(), signum)

    real_run = train.Trainer.run
    monkeypatch.setattr(train.Trainer, "run",
                        lambda self, on_batch=None, **kw: real_run(self, signal_twice, **kw))
    result = train_tiny(tiny_mnist, tmp_path, "--resume", tmp_path / "latest.npz",
                        "--epochs", 1)
    assert result.exit_code == code and isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines()[-1] == ("Interrupted: stopped at once. Files already "
                                              "written are whole (every write is atomic).")
    assert (tmp_path / "latest.npz").read_bytes() == before
    assert signal.getsignal(signum) is handler                  # restored


def test_graceful_interrupt_turns_the_first_ctrl_c_into_a_flag():
    handler = signal.getsignal(signal.SIGINT)   # SIG_IGN where CI runs in the background
    with train.graceful_interrupt() as stop_requested:
        assert not stop_requested()
        os.kill(os.getpid(), signal.SIGINT)
        assert stop_requested()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is handler


def test_nesterov_momentum_is_the_look_ahead_gradient():
    """SGD stores the look-ahead point phi = theta + mu v (Bengio et al. 2013); on
    f(p) = a p^2 / 2 it must follow classic Nesterov, which evaluates the gradient at
    theta + mu v: v' = mu v - lr f'(theta + mu v), theta' = theta + v'."""
    a, lr, mu = np.array([0.5, 3.0, 1.0]), 0.1, 0.9
    theta, v = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    W, b = theta.copy()[None, :], np.zeros(1)            # SGD's parameters (phi)
    net = type("Params", (), {"weights": [W], "biases": [b], "trainable": [None]})()
    sgd = network.SGD(lr, momentum=mu, nesterov=True)
    for _ in range(25):
        v = mu * v - lr * a * (theta + mu * v)
        theta = theta + v
        sgd.apply(net, [lr * a * W], [np.zeros(1)])       # gradients come pre-scaled by lr
        np.testing.assert_allclose(W[0], theta + mu * v, rtol=1e-12, atol=1e-12)
    plain = network.SGD(lr, momentum=mu)
    W2 = np.array([[1.0, -2.0, 0.5]])
    plain.apply(type("Params", (), {"weights": [W2], "biases": [np.zeros(1)],
                                    "trainable": [None]})(),
                [lr * a * W2], [np.zeros(1)])
    np.testing.assert_allclose(W2[0], [1.0, -2.0, 0.5] - lr * a * np.array([1.0, -2.0, 0.5]))


def test_the_weights_folder_comes_from_mnistnn_weights_dir(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTNN_WEIGHTS_DIR", str(tmp_path / "env-weights"))
    monkeypatch.chdir(tmp_path)
    result = run("train", "--data-dir", tiny_mnist, "--no-download", "--validation-size", 100,
                 "--epochs", 1, "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env-weights" / "best.npz").is_file() and not (tmp_path / "weights").exists()
    result = run("test", "--data-dir", tiny_mnist, "--no-download")
    assert result.exit_code == 0
    assert f"Using {tmp_path / 'env-weights' / 'best.npz'}" in result.stderr
    assert checkpoint.locate() == tmp_path / "env-weights" / "best.npz"


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tiny_mnist, tmp_path):
    tanh = ("--activation", "tanh", "--cost", "cross-entropy")
    assert train_tiny(tiny_mnist, tmp_path, "--epochs", 1, "--lr", 0.05, *tanh).exit_code == 0
    good = (tmp_path / "latest.npz").read_bytes()
    result = train_tiny(tiny_mnist, tmp_path, "--resume", tmp_path / "latest.npz",
                        "--epochs", 3, "--lr", 1e38)
    assert result.exit_code == 1
    assert "training diverged at epoch 2" in result.stderr
    assert "too high" in result.stderr and "latest.npz (epoch 1)" in result.stderr
    assert (tmp_path / "latest.npz").read_bytes() == good


@pytest.mark.parametrize("args, words", [
    (("--layers", "100,30,10"), "the input is 100, but MNIST's images are 28x28: start the "
                                "layers with 784 or 1x28x28"),
    (("--layers", "784,30,9"), "the last layer has 9 outputs, but MNIST has 10 classes: end "
                               "the layers with 10"),
    (("--layers", "784,0,10"), "'784,0,10': item 2 ('0'): layer sizes must be positive"),
    (("--layers", "784,x,10"), "'784,x,10': item 2 ('x') is not a layer: write the input"),
    (("--layers", "784,2000000,10"), "more than the 134,217,728 a layer may have"),
    (("--layers", "1x28x28,conv8k5,pool2,conv8k5,pool2,conv8k5,10"),
     "item 6 ('conv8k5'): a 5x5 kernel does not fit the 4x4 images it gets"),
    (("--layers", "1x32x32,conv8k5,pool2,10"), "the input is 1x32x32, but MNIST's images"),
    (("--layers", "2x28x28,conv8k5,pool2,10"), "the input is 2x28x28, but MNIST's images"),
    (("--layers", "1x28x28,conv8k5,pool2,12"), "the last layer has 12 outputs"),
    (("--layers", "1x28x28,conv8k5,pool2"), "the last item ('pool2') must be the number of "
                                            "outputs"),
    (("--lr", "0"), "'0' is not above 0"),
    (("--lr", "-1"), "'-1' is not above 0"),
    (("--epochs", "0"), "0 is not in the range 1<=x<=100000"),
    (("--epochs", "1e20"), "'1e20' is not a valid whole number"),
    (("--epochs", "100000000000000000000"), "is not in the range 1<=x<=100000"),
    (("--seed", "-1"), "-1 is not in the range 0<=x<=4294967295"),
    (("--batch-size", "0"), "0 is not in the range 1<=x<=1000000"),
    (("--activation", "swish"), "'swish' is not one of"),
    (("--cost", "hinge"), "'hinge' is not one of"),
    (("--nesterov",), "Nesterov momentum needs --momentum"),
    (("--dropout", "1"), "'1' is not in [0, 1)"),
    (("--elastic", "34", "--elastic-sigma", "nan"), "'nan' is not a finite number"),
    (("--validation-size", "0", "--patience", "2"), "--patience needs a validation set"),
    (("--validation-size", "600"), "must be smaller than the training set"),
    (("--batch-size", "501"), "--batch-size 501 is more than the 500 training images"),
])
def test_bad_options_are_usage_errors(tiny_mnist, tmp_path, args, words):
    result = train_tiny(tiny_mnist, tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr and "Training" not in result.stderr
    assert list(tmp_path.iterdir()) == []


FLOATS = [f for f in dataclasses.fields(TrainConfig) if f.type is float]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300", "-1"])
@pytest.mark.parametrize("field", FLOATS, ids=[f.name for f in FLOATS])
def test_every_float_option_is_finite_and_in_range(field, value, tmp_path):
    """Issue 13, D1 and D2: a NaN, an infinity or a number out of range is exit 2."""
    flag = "--" + field.name.replace("_", "-")
    if value == "1e300" and field.metadata["range"].max is None:
        value = "-1e300"    # an unbounded option takes any finite number above its minimum
    result = run("train", flag, value, "--data-dir", tmp_path / "none",
                 "--weights-dir", tmp_path / "w")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"Invalid value for '{flag}'" in result.stderr
    with pytest.raises(ValueError, match=field.name.replace("_", " ")):
        TrainConfig(**{field.name: float(value)}).check()


def test_the_options_are_the_config_fields():
    """One source of truth: every TrainConfig field is an option, with its default."""
    params = {p.name: p for p in cli_train.train.params}
    for field in dataclasses.fields(TrainConfig):
        option = params[field.name]
        default = ",".join(map(str, field.default)) if field.name == "sizes" else field.default
        assert option.default == default and option.help == field.metadata["help"]
        assert not option.required
    defaults = {name: params[name].type_cast_value(None, params[name].default)
                for name in (f.name for f in dataclasses.fields(TrainConfig))}
    defaults["sizes"] = cli_train.parse_layers(None, None, defaults["sizes"])
    assert TrainConfig(**defaults) == TrainConfig()


def test_resume_cannot_change_the_architecture(tiny_mnist, tmp_path):
    assert train_tiny(tiny_mnist, tmp_path, "--epochs", 1).exit_code == 0
    result = train_tiny(tiny_mnist, tmp_path, "--resume", tmp_path / "latest.npz",
                        "--layers", "784,50,10")
    assert result.exit_code == 2 and "cannot change" in result.stderr
    result = train_tiny(tiny_mnist, tmp_path, "--resume", tmp_path / "latest.npz")
    assert result.exit_code == 2 and "already finished its 1 epochs" in result.stderr


def test_the_choices_named_in_the_settings_match_the_library():
    assert config.ACTIVATIONS == tuple(network.ACTIVATIONS)
    assert config.COSTS == tuple(network.COSTS)


def test_early_stopping(tiny_mnist, tmp_path):
    """The run stops exactly `patience` epochs after the first epoch with the best
    validation accuracy, and best.npz holds that epoch."""
    result = train_tiny(tiny_mnist, tmp_path, "--epochs", 50, "--patience", 2, "--json",
                        "--lr", 1.0)
    assert result.exit_code == 0
    accuracy = [json.loads(line)["validation_accuracy"] for line in result.stdout.splitlines()]
    best_epoch = accuracy.index(max(accuracy)) + 1
    assert len(accuracy) == best_epoch + 2 < 50
    assert f"Stopped early after epoch {best_epoch + 2}" in result.stderr
    assert checkpoint.read(tmp_path / "best.npz").meta["state"]["epoch"] == best_epoch


@pytest.mark.parametrize("accuracy, stop_after, best_epoch", [
    ([0.5, 0.4, 0.6, 0.55, 0.58, 0.9], 5, 3),   # patience counts epochs since the best
    ([0.5, 0.5, 0.5], 3, 1),                    # equal is no progress
    ([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 6, 6),     # never stale: runs to the end
])
def test_early_stopping_counts_from_the_best_epoch(accuracy, stop_after, best_epoch,
                                                   monkeypatch):
    rng = np.random.default_rng(0)
    x, labels = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    validation = (x[:10], labels[:10])
    scripted = iter(accuracy)

    def evaluate(net, inputs, labels):
        if inputs is validation[0]:
            return {"loss": 1.0, "accuracy": next(scripted), "spread": 1.0}
        return {"loss": 1.0, "accuracy": 0.5, "spread": 1.0}

    monkeypatch.setattr(train, "evaluate", evaluate)
    config = TrainConfig(epochs=6, lr=0.1, patience=2, batch_size=20)
    outcome = train.Trainer(network.Network(config.sizes), config, (x, labels),
                            validation).run()
    assert outcome["epoch"] == stop_after and outcome["best_epoch"] == best_epoch
    assert outcome["status"] == ("finished" if stop_after == 6 else "early-stopped")


def test_schedules():
    config = train.TrainConfig(lr=1.0, epochs=10, schedule="cosine", warmup=2)
    rates = [train.lr_at(config, e) for e in range(10)]
    assert rates[0] < rates[1] < rates[2] == 1.0 and rates[-1] < 0.1
    step = train.TrainConfig(lr=1.0, epochs=8, schedule="step")
    assert [train.lr_at(step, e) for e in (0, 3, 4, 6, 7)] == [1.0, 1.0, 0.3, 0.1, 0.1]


def test_bad_options_are_caught_before_any_download_or_file_change(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTNN_MIRRORS", "http://127.0.0.1:9/")  # would fail if contacted
    (tmp_path / "metrics.jsonl").write_text("{}\n")
    result = run("train", "--nesterov", "--data-dir", tmp_path / "nothing",
                 "--weights-dir", tmp_path)
    assert result.exit_code == 2 and "Nesterov momentum needs --momentum" in result.stderr
    assert (tmp_path / "metrics.jsonl").read_text() == "{}\n"
    assert not (tmp_path / "nothing").exists()


def test_missing_data_is_a_clear_error(tmp_path):
    result = run("test", "--data-dir", str(tmp_path), "--no-download",
                 "--weights-dir", str(tmp_path / "w"))
    assert result.exit_code == 1
    result = run("train", "--data-dir", str(tmp_path), "--no-download",
                 "--weights-dir", str(tmp_path / "w"))
    assert result.exit_code == 1
    assert "MNIST is not in" in result.stderr and "mnistnn download" in result.stderr


def test_train_refuses_a_download_that_fails_the_checksum(serve, tiny_mnist, monkeypatch,
                                                          tmp_path):
    """train's own download verifies what it fetches (test_e2e.py has one that succeeds)."""
    mirror = serve(tiny_mnist)  # tiny files fail the checksum: the download must refuse them
    monkeypatch.setenv("MNISTNN_MIRRORS", mirror.url)
    result = run("train", "--data-dir", str(tmp_path / "d"), "--weights-dir", str(tmp_path),
                 "--epochs", "1", "--validation-size", "100")
    assert result.exit_code == 1
    assert "checksum mismatch" in result.stderr


def test_the_run_is_described_in_words_one_epoch_or_many():
    one = config.TrainConfig(epochs=1).describe()
    assert one.startswith("784-30-10 sigmoid network (quadratic cost) for 1 epoch, lr 3, ")
    assert "for 30 epochs, lr 3, batch 10" in config.TrainConfig(epochs=30).describe()
