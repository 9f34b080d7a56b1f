"""A run and its folder (runs.py, issue 13): a new run replaces an earlier one only once
its first epoch ends, one run at a time, resume into other folders and from the shipped
model, damaged metrics, read-only folders, schedules on resume, collapse."""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import invoke
from mnistnn import checkpoint, data, runs, train
from mnistnn.config import TrainConfig, lr_at


def train_tiny(data, weights, *args):
    return invoke("train", "--data-dir", data, "--weights-dir", weights, "--no-download",
                  "--validation-size", 100, *args)


def snapshot(folder):
    """Every file in folder with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def epochs_in(folder):
    return [json.loads(line)["epoch"] for line in (folder / "metrics.jsonl").open()]


@pytest.fixture(scope="module")
def good(tiny_mnist, tmp_path_factory):
    """A weights folder holding a finished 2-epoch run (latest, best, metrics, picture)."""
    folder = tmp_path_factory.mktemp("runs") / "good"
    assert train_tiny(tiny_mnist, folder, "--epochs", 2, "-q").exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(runs.RUN_FILES)
    return folder


def copy_of(folder, to):
    import shutil

    shutil.copytree(folder, to)
    return to


# -- D3: a new run replaces the old one only once it has its first checkpoint -------------

@pytest.mark.parametrize("args, words", [
    (("--activation", "relu", "--cost", "log-likelihood", "--lr", "1e30"), "diverged"),
    (("--lr", "1e6"), "collapsed"),
])
def test_a_new_run_that_fails_leaves_the_earlier_run_as_it_was(good, tiny_mnist, tmp_path, args,
                                                               words):
    folder = copy_of(good, tmp_path / "w3")
    before = snapshot(folder)
    result = train_tiny(tiny_mnist, folder, "--epochs", 2, *args)
    assert result.exit_code == 1
    assert words in result.stderr and f"Nothing was saved: {folder}/ is as it was." in result.stderr
    assert "last good checkpoint" not in result.stderr
    assert snapshot(folder) == before
    used = invoke("test", "--weights-dir", folder, "--data-dir", tiny_mnist, "--no-download")
    assert f"Using {folder / 'best.npz'}" in used.stderr


def test_a_failed_run_into_a_new_folder_leaves_no_folder(tiny_mnist, tmp_path):
    result = train_tiny(tiny_mnist, tmp_path / "new", "--lr", "1e30", "--activation", "relu",
                        "--cost", "log-likelihood")
    assert result.exit_code == 1 and not (tmp_path / "new").exists()


def test_a_new_run_replaces_the_earlier_one_at_its_first_checkpoint(good, tiny_mnist, tmp_path):
    folder = copy_of(good, tmp_path / "w")
    result = train_tiny(tiny_mnist, folder, "--epochs", 1, "--validation-size", 0)
    assert result.exit_code == 0, result.output
    assert "holds an earlier run" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["latest.npz", "metrics.jsonl",
                                                        "training.png"]
    assert epochs_in(folder) == [1]   # the earlier run's best.npz would have shadowed it


@pytest.mark.parametrize("name, content", [
    ("training.png", "a person's photo"), ("metrics.jsonl", b"my notes\n"),
    ("metrics.jsonl", b'"notes on epoch 3"\n'),     # JSON, but a string, not a run's
    ("best.npz", b"not a checkpoint"), ("latest.npz", "an archive without metadata")])
def test_a_persons_file_under_a_run_files_name_is_never_replaced(good, tiny_mnist, tmp_path,
                                                                 name, content):
    """Only what a run wrote is replaced: a person's file under one of RUN_FILES' names
    stops the run before any work, one sentence, exit 1, the folder as it was."""
    from PIL import Image

    folder = copy_of(good, tmp_path / "w")
    if content == "a person's photo":
        Image.new("RGB", (40, 30), "white").save(folder / name)
    elif content == "an archive without metadata":
        np.savez(folder / name, W0=np.zeros(3))
    else:
        (folder / name).write_bytes(content)
    before = snapshot(folder)
    result = train_tiny(tiny_mnist, folder, "--epochs", 1)
    assert result.exit_code == 1 and result.stdout == ""
    what = ("is not a checkpoint mnistnn can read (damaged, or another program's)"
            if name.endswith(".npz") else "is not a file mnistnn made")
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {folder}/{name} {what}, and a run writes its own {name} there: move it "
        f"away, or pass another --weights-dir")
    assert snapshot(folder) == before


def test_a_damaged_checkpoint_of_a_run_is_named_as_damaged(good, tiny_mnist, tmp_path):
    """A run's own best.npz cut short (a full disk, a copy stopped halfway) is kept, and
    the sentence says it cannot be read, not that mnistnn did not make it."""
    folder = copy_of(good, tmp_path / "w")
    whole = (folder / "best.npz").read_bytes()
    (folder / "best.npz").write_bytes(whole[:len(whole) // 2])
    before = snapshot(folder)
    result = train_tiny(tiny_mnist, folder, "--epochs", 1)
    assert result.exit_code == 1 and isinstance(result.exception, (SystemExit, type(None)))
    assert f"{folder}/best.npz is not a checkpoint mnistnn can read (damaged" in result.stderr
    assert "not a file mnistnn made" not in result.stderr
    assert snapshot(folder) == before


def test_an_earlier_runs_own_files_and_an_empty_metrics_file_are_replaced(good, tmp_path):
    folder = copy_of(good, tmp_path / "w")
    (folder / "metrics.jsonl").write_text("")
    assert runs.earlier_run(folder) == list(runs.RUN_FILES)


def interrupted_in_epoch_1(tiny_mnist, folder, monkeypatch, *args):
    """`mnistnn train` into folder, SIGINT arriving during batch 3 of its first epoch."""
    def interrupt(done, total, loss):
        if done == 3:
            os.kill(os.getpid(), signal.SIGINT)

    real_run = train.Trainer.run
    monkeypatch.setattr(train.Trainer, "run",
                        lambda self, on_batch=None, **kw: real_run(self, interrupt, **kw))
    return train_tiny(tiny_mnist, folder, "--epochs", 2, "--batch-size", 5, *args)


def test_ctrl_c_in_the_first_epoch_leaves_the_earlier_run_as_it_was(
        good, tiny_mnist, tmp_path, monkeypatch):
    """A run stopped before its first epoch ends has nothing to stand in for a whole
    earlier run (it may have been started in the wrong folder): every file of the
    earlier run stays, byte for byte, and the message says so."""
    folder = copy_of(good, tmp_path / "w")
    before = snapshot(folder)
    result = interrupted_in_epoch_1(tiny_mnist, folder, monkeypatch, "--lr", 0.5)
    assert result.exit_code == 130 and isinstance(result.exception, SystemExit)
    assert (f"Interrupted in epoch 1 after batch 3 of 100, before its first epoch ended: "
            f"nothing saved, and {folder}/ still holds its earlier run") in result.stderr
    assert "--resume" not in result.stderr
    assert snapshot(folder) == before


def test_ctrl_c_in_the_first_epoch_of_an_empty_folder_saves_where_it_was(
        tiny_mnist, tmp_path, monkeypatch):
    result = interrupted_in_epoch_1(tiny_mnist, tmp_path / "new", monkeypatch)
    assert result.exit_code == 130
    assert "Interrupted in epoch 1 after batch 3 of 100. Saved" in result.stderr
    saved = checkpoint.read(tmp_path / "new" / "latest.npz")
    assert saved.meta["interrupted"] and saved.meta["state"]["batch"] == 3


# -- D4: resuming into another folder, and the shipped model ------------------------------

def test_resume_into_another_folder(good, tiny_mnist, tmp_path):
    result = train_tiny(tiny_mnist, tmp_path / "wnew", "--resume", good / "latest.npz",
                        "--epochs", 1, "--lr", "1e-9")
    assert result.exit_code == 0, result.output
    assert "Best validation accuracy" in result.stderr and "wnew/latest.npz" in result.stderr
    assert epochs_in(tmp_path / "wnew") == [1, 2, 3]       # the history came along
    assert checkpoint.read(tmp_path / "wnew" / "latest.npz").meta["state"]["epoch"] == 3


def test_resume_as_the_ctrl_c_hint_says_goes_on_in_the_runs_own_folder(good, tiny_mnist,
                                                                       tmp_path, monkeypatch):
    """`mnistnn train --resume run/latest.npz`, no --weights-dir (as printed after Ctrl-C),
    continues in run/ and leaves ./weights, another run, exactly as it was."""
    folder = copy_of(good, tmp_path / "run")
    other = copy_of(good, tmp_path / "weights")
    before = {p.name: p.read_bytes() for p in other.iterdir()}
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MNISTNN_WEIGHTS_DIR", raising=False)
    result = invoke("train", "--resume", folder / "latest.npz", "--epochs", 1,
                    "--data-dir", tiny_mnist, "--no-download", "-q")
    assert result.exit_code == 0, result.output
    assert checkpoint.read(folder / "latest.npz").meta["state"]["epoch"] == 3
    assert epochs_in(folder) == [1, 2, 3]
    assert {p.name: p.read_bytes() for p in other.iterdir()} == before


def test_resume_the_shipped_model(tiny_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("train", "--resume", checkpoint.SHIPPED, "--epochs", 1, "--lr", "1e-9",
                    "--data-dir", tiny_mnist, "--no-download", "--validation-size", 100,
                    "--batch-size", 100, "-q")
    assert result.exit_code == 0, result.output
    saved = checkpoint.read(tmp_path / "weights" / "latest.npz")
    shipped = checkpoint.read(checkpoint.SHIPPED)
    assert saved.meta["state"]["epoch"] == shipped.meta["state"]["epoch"] + 1


def test_resume_what_train_did_not_write_is_one_sentence(tiny_mnist, tmp_path):
    from mnistnn.network import Network

    checkpoint.save(tmp_path / "plain.npz", Network([784, 8, 10]))
    result = train_tiny(tiny_mnist, tmp_path / "w", "--resume", tmp_path / "plain.npz")
    assert result.exit_code == 1 and "no run to resume" in result.stderr


# -- D5: a metrics.jsonl cut short ----------------------------------------------------------

def test_a_cut_short_metrics_line_is_left_out_and_the_history_healed(good, tiny_mnist, tmp_path):
    folder = copy_of(good, tmp_path / "w")
    with open(folder / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 3, "train_lo')                 # an interrupted append
    result = train_tiny(tiny_mnist, folder, "--resume", folder / "latest.npz", "--epochs", 2)
    assert result.exit_code == 0, result.output
    assert "left out 1 damaged line(s)" in result.stderr
    assert epochs_in(folder) == [1, 2, 3, 4]
    assert (folder / "training.png").stat().st_size > 0


def test_the_history_is_written_whole(good, tiny_mnist, tmp_path, monkeypatch):
    """metrics.jsonl goes through files.atomic_open: a crash mid-write keeps the old one."""
    folder = copy_of(good, tmp_path / "w")
    before = (folder / "metrics.jsonl").read_bytes()

    def crash(folder, history):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "write_history", crash)
    train_tiny(tiny_mnist, folder, "--resume", folder / "latest.npz", "--epochs", 1)
    assert (folder / "metrics.jsonl").read_bytes() == before
    monkeypatch.undo()
    history = [{"epoch": e} for e in (1, 2, 3)]
    runs.write_history(folder, history)
    assert runs.read_history(folder, 3) == history and not list(folder.glob(".*.tmp"))


# -- D13: check that the folder can be written before the work ------------------------------

def test_resume_into_a_read_only_folder_fails_before_training(good, tiny_mnist, tmp_path,
                                                              read_only, monkeypatch):
    folder = copy_of(good, tmp_path / "w")
    before = snapshot(folder)
    read_only(folder)
    trained = []
    monkeypatch.setattr(train.Trainer, "_train_epoch", lambda *a: trained.append(1))
    result = train_tiny(tiny_mnist, folder, "--resume", folder / "latest.npz", "--epochs", 1)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit) and not trained
    assert result.stderr.splitlines()[-1].startswith(f"Error: Invalid value for '--weights-dir': "
                                                     f"cannot write checkpoints into {folder}/: ")
    assert "Training" not in result.stderr                # refused before the banner
    assert snapshot(folder) == before


def test_a_weights_dir_under_a_file_is_refused_before_any_work(tiny_mnist, tmp_path,
                                                               monkeypatch):
    """An output that cannot be written is a usage error before any work (exit 2), as
    for every other output: it was exit 1 after the banner and the data's loading."""
    (tmp_path / "notes.txt").write_text("mine")
    loaded = []
    monkeypatch.setattr(data, "ensure", lambda *a, **k: loaded.append(1))
    result = train_tiny(tiny_mnist, tmp_path / "notes.txt" / "w", "--epochs", 1)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert result.stderr.endswith(f"Error: Invalid value for '--weights-dir': cannot write "
                                  f"checkpoints into {tmp_path / 'notes.txt' / 'w'}/: "
                                  f"{tmp_path / 'notes.txt'} is a file, not a folder\n")
    assert not loaded and "Training" not in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1
    monkeypatch.undo()
    result = train_tiny(tiny_mnist, tmp_path / "new" / "deeper", "--epochs", 1)
    assert result.exception is None and result.exit_code == 0, result.output


# -- D16: one run at a time in a folder -----------------------------------------------------

def test_a_second_run_into_the_same_folder_is_refused(tiny_mnist, tmp_path):
    """A real first run holds the folder; the second gets one sentence. After the first is
    killed with SIGKILL, its lock is gone with it: the next run may start."""
    folder = tmp_path / "w"
    first = subprocess.Popen(
        [sys.executable, "-m", "mnistnn", "train", "--data-dir", str(tiny_mnist),
         "--weights-dir", str(folder), "--no-download", "--validation-size", "100",
         "--epochs", "100000", "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True)
    try:
        assert json.loads(first.stdout.readline())["epoch"] == 1
        second = train_tiny(tiny_mnist, folder, "--epochs", 1)
        assert second.exit_code == 1
        assert second.stderr.splitlines()[-1] == (
            f"Error: another training run is writing into {folder}/ right now: wait for it "
            f"to end, or pass another --weights-dir")
        epochs = epochs_in(folder)
        assert epochs == list(range(1, len(epochs) + 1))   # the first run's, in order
    finally:
        first.kill()
        first.wait(timeout=30)
    assert train_tiny(tiny_mnist, folder, "--epochs", 1, "-q").exit_code == 0


# -- resume and the learning-rate schedule --------------------------------------------------

def params(path):
    net = checkpoint.load(path)
    return net.weights + net.biases


@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_a_run_interrupted_and_resumed_is_bit_exact_under_a_schedule(schedule, tiny_mnist,
                                                                     tmp_path, monkeypatch):
    """The schedule spans the run's planned epochs; a resumed run follows it exactly."""
    args = ("--epochs", 4, "--schedule", schedule, "--lr", 1.0, "--momentum", 0.5,
            "--batch-size", 20, "--cost", "cross-entropy", "--json")
    straight = train_tiny(tiny_mnist, tmp_path / "straight", *args)
    assert straight.exit_code == 0

    def interrupt(done, total, loss, calls=[]):
        calls.append(done)
        if len(calls) == 2 * total + 5:                     # in epoch 3
            os.kill(os.getpid(), signal.SIGINT)

    real_run = train.Trainer.run
    with monkeypatch.context() as mp:
        mp.setattr(train.Trainer, "run",
                   lambda self, on_batch=None, **kw: real_run(self, interrupt, **kw))
        assert train_tiny(tiny_mnist, tmp_path / "split", *args).exit_code == 130
    resumed = invoke("train", "--resume", tmp_path / "split" / "latest.npz", "--json",
                     "--data-dir", tiny_mnist, "--no-download",
                     "--weights-dir", tmp_path / "split")
    assert resumed.exit_code == 0, resumed.output
    for p, q in zip(params(tmp_path / "straight" / "latest.npz"),
                    params(tmp_path / "split" / "latest.npz")):
        assert np.array_equal(p, q)
    lrs = [json.loads(line)["lr"] for line in straight.stdout.splitlines()]
    config = TrainConfig(epochs=4, schedule=schedule, lr=1.0)
    assert lrs == [lr_at(config, e) for e in range(4)] and len(set(lrs)) >= 2
    history = [json.loads(line) for line in (tmp_path / "split" / "metrics.jsonl").open()]
    assert [m["lr"] for m in history] == lrs


def test_resume_with_more_epochs_lays_the_schedule_out_again_and_says_so(tiny_mnist, tmp_path):
    folder = tmp_path / "w"
    assert train_tiny(tiny_mnist, folder, "--epochs", 2, "--schedule", "cosine",
                      "--lr", 3.0, "-q").exit_code == 0
    result = train_tiny(tiny_mnist, folder, "--resume", folder / "latest.npz", "--epochs", 2,
                        "--json")
    assert result.exit_code == 0, result.output
    assert ("The run now has 4 epochs instead of 2: its cosine schedule is laid out again "
            "over 4, so epoch 3 gets lr 1.5; only a run that keeps its length resumes bit "
            "for bit") in result.stderr
    lrs = [json.loads(line)["lr"] for line in (folder / "metrics.jsonl").open()]
    four = TrainConfig(epochs=4, schedule="cosine", lr=3.0)
    two = TrainConfig(epochs=2, schedule="cosine", lr=3.0)
    assert lrs == [lr_at(two, 0), lr_at(two, 1), lr_at(four, 2), lr_at(four, 3)]
    assert lrs == pytest.approx([3.0, 1.5, 1.5, 0.4393], abs=1e-4)   # the numbers


def test_a_constant_schedule_resumed_with_more_epochs_is_bit_exact(tiny_mnist, tmp_path):
    args = ("--momentum", 0.5, "--lr", 0.5, "--cost", "cross-entropy", "--batch-size", 20)
    assert train_tiny(tiny_mnist, tmp_path / "straight", "--epochs", 3, *args).exit_code == 0
    assert train_tiny(tiny_mnist, tmp_path / "split", "--epochs", 1, *args).exit_code == 0
    result = train_tiny(tiny_mnist, tmp_path / "split", "--resume",
                        tmp_path / "split" / "latest.npz", "--epochs", 2)
    assert result.exit_code == 0 and "laid out again" not in result.stderr
    for p, q in zip(params(tmp_path / "straight" / "latest.npz"),
                    params(tmp_path / "split" / "latest.npz")):
        assert np.array_equal(p, q)


def test_warmup_through_the_cli(tiny_mnist, tmp_path):
    result = train_tiny(tiny_mnist, tmp_path, "--epochs", 4, "--warmup", 2, "--lr", 0.3,
                        "--json")
    assert result.exit_code == 0, result.output
    lrs = [json.loads(line)["lr"] for line in result.stdout.splitlines()]
    assert lrs == pytest.approx([0.1, 0.2, 0.3, 0.3])
    assert checkpoint.read(tmp_path / "latest.npz").meta["config"]["warmup"] == 2


# -- the library gets the policy too --------------------------------------------------------

def test_the_python_api_resumes_and_replaces_like_the_cli(good, tiny_mnist, tmp_path):
    from mnistnn import data

    mnist = data.load_mnist(tiny_mnist)
    train_set, validation = train.split(data.to_inputs(mnist.train_images),
                                        mnist.train_labels, 100)
    notes = []
    start = train.resume(good / "latest.npz", {"epochs": 1}, notes.append)
    assert start.state.epoch == 2 and start.config.epochs == 3
    folder = copy_of(good, tmp_path / "w")
    (folder / "latest.npz").unlink()
    outcome = train.Trainer(train=train_set, validation=validation, weights_dir=folder,
                            **start._asdict()).run(on_note=notes.append)
    assert outcome["status"] == "finished" and outcome["epoch"] == 3
    assert any("holds an earlier run" in n for n in notes)
    with pytest.raises(ValueError, match="cannot change"):
        train.resume(good / "latest.npz", {"sizes": (784, 50, 10)})
    with pytest.raises(ValueError, match="already finished its 2 epochs"):
        train.resume(good / "latest.npz")


def test_collapse_is_detected_with_a_finite_loss(tiny_mnist, tmp_path):
    result = train_tiny(tiny_mnist, tmp_path / "w", "--epochs", 3, "--lr", "1e6")
    assert result.exit_code == 1
    message = result.stderr.splitlines()[-1]
    assert message.startswith("Error: training collapsed in epoch 1: the network gives the "
                              "same answer whatever the image (training accuracy ")
    assert "finite loss" in message and "diverged" not in message


def test_a_collapse_under_a_tight_max_norm_names_it(tiny_mnist, tmp_path):
    result = train_tiny(tiny_mnist, tmp_path / "w", "--epochs", 2, "--max-norm", "1e-30")
    assert result.exit_code == 1
    assert "or the max-norm limit (1e-30) too tight" in result.stderr.splitlines()[-1]
