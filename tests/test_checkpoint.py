"""Checkpoints: exact round trips, and a clear refusal of every damaged or foreign file."""
import io
import json
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke
from mnistnn import checkpoint
from mnistnn.errors import CheckpointError
from mnistnn.network import Network

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def saved(tmp_path):
    net = Network([784, 16, 10], "relu", "log-likelihood", seed=4)
    path = tmp_path / "net.npz"
    checkpoint.save(path, net, {"config": {"lr": 0.1}, "state": {"epoch": 3}})
    return net, path


def test_round_trip_is_exact(saved):
    net, path = saved
    back = checkpoint.read(path)
    assert back.net.sizes == [784, 16, 10]
    assert back.net.activation.name == "relu" and back.net.cost.name == "log-likelihood"
    for a, b in zip(net.weights + net.biases, back.net.weights + back.net.biases):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    assert back.meta["config"] == {"lr": 0.1} and back.meta["version"] == checkpoint.VERSION
    assert back.meta["mnistnn_version"] and back.meta["created"].endswith("Z")
    assert back.velocity is None and back.net.meta["state"]["epoch"] == 3
    x = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    assert np.array_equal(net.feedforward(x), back.net.feedforward(x))


def test_velocity_round_trip(tmp_path):
    net = Network([784, 8, 10], seed=0)
    velocity = [np.full_like(p, i) for i, p in enumerate([net.weights[0], net.biases[0],
                                                          net.weights[1], net.biases[1]])]
    checkpoint.save(tmp_path / "v.npz", net, velocity=velocity)
    back = checkpoint.read(tmp_path / "v.npz").velocity
    assert [float(v.flat[0]) for v in back] == [0, 1, 2, 3]


def test_the_file_is_plain_data(saved):
    with zipfile.ZipFile(saved[1]) as z:
        assert sorted(z.namelist()) == ["W0.npy", "W1.npy", "b0.npy", "b1.npy", "meta.npy"]
    with np.load(saved[1], allow_pickle=False) as npz:
        assert json.loads(str(npz["meta"]))["format"] == "mnistnn-checkpoint"


def rewrite(path, **changes):
    """Save the arrays of a checkpoint again with some replaced (None deletes)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(path, **arrays)


def meta_with(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
    meta.update(changes)
    return np.array(json.dumps(meta))


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
     r"not a readable mnistnn checkpoint \(a damaged .npz archive\)"),
    (lambda p: p.write_bytes(b""), r"\(the file is empty\)"),
    (lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)), r"\(not an .npz archive\)"),
    (lambda p: p.write_bytes(b"hello\n"), r"\(not an .npz archive\)"),
    (lambda p: p.write_bytes(pickle.dumps({"W0": [1, 2]})), "pickled Python objects, which"),
    (lambda p: np.save(p.open("wb"), np.zeros(3)), "a single .npy array"),
    (lambda p: rewrite(p, W0=np.array([{"a": 1}] * 3, dtype=object)),
     r"it holds Python objects, which mnistnn never loads"),
    (lambda p: rewrite(p, W0=np.zeros((16, 783), np.float32)), r"W0 has shape \(16, 783\)"),
    (lambda p: rewrite(p, b1=None), r"missing \['b1'\]"),
    (lambda p: rewrite(p, X9=np.zeros(2)), r"unexpected \['X9'\]"),
    (lambda p: rewrite(p, W1=np.full((10, 16), np.nan, np.float32)), "NaN or infinite"),
    (lambda p: rewrite(p, W1=np.zeros((10, 16), np.int32)), "expected floats"),
    (lambda p: rewrite(p, meta=None), "no metadata"),
    (lambda p: rewrite(p, meta=np.array("{not json")), "not valid JSON"),
    (lambda p: rewrite(p, meta=meta_with(p, format="other")), "unknown format"),
    (lambda p: rewrite(p, meta=meta_with(p, version=99)), "newer than this mnistnn"),
    (lambda p: rewrite(p, meta=meta_with(p, sizes=[784, -1, 10])), "invalid layer sizes"),
    (lambda p: rewrite(p, meta=meta_with(p, activation="swish")), "unknown activation"),
])
def test_bad_checkpoints_are_refused_with_the_file_named(saved, damage, words):
    path = saved[1]
    damage(path)
    with pytest.raises(CheckpointError, match=words) as info:
        checkpoint.read(path)
    assert str(info.value).startswith(str(path))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        checkpoint.load(tmp_path / "none.npz")


def test_a_crash_while_saving_keeps_the_previous_file(saved, monkeypatch):
    net, path = saved
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, Network([784, 16, 10], seed=9))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_cli_refuses_a_bad_checkpoint_without_traceback(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(io.BytesIO(b"PK\x03\x04 truncated").getvalue())
    result = invoke("test", "--weights", bad)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr == (f"Error: {bad}: not a readable mnistnn checkpoint "
                             f"(a damaged .npz archive)\n")


def test_locate_prefers_best_then_latest_then_the_shipped_model(tmp_path, monkeypatch):
    net = Network([784, 4, 10])
    monkeypatch.setattr(checkpoint, "SHIPPED", tmp_path / "shipped.npz")
    with pytest.raises(CheckpointError, match="run `mnistnn train` first"):
        checkpoint.locate(weights_dir=tmp_path)
    checkpoint.save(tmp_path / "shipped.npz", net)
    assert checkpoint.locate(weights_dir=tmp_path) == tmp_path / "shipped.npz"
    checkpoint.save(tmp_path / "latest.npz", net)
    assert checkpoint.locate(weights_dir=tmp_path) == tmp_path / "latest.npz"
    checkpoint.save(tmp_path / "best.npz", net)
    assert checkpoint.locate(weights_dir=tmp_path) == tmp_path / "best.npz"
    assert checkpoint.locate("x.npz", tmp_path).name == "x.npz"


def test_saved_files_get_the_permissions_of_a_plain_open(tmp_path):
    """Atomic writes go through a temporary file; it must not leave them private (0600)."""
    import os

    from mnistnn.files import _UMASK
    checkpoint.save(tmp_path / "net.npz", Network([784, 4, 10]))
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert os.stat(tmp_path / "net.npz").st_mode & 0o777 == 0o666 & ~_UMASK
    assert os.stat(plain).st_mode & 0o777 == 0o666 & ~_UMASK


# -- crafted files (issue 13: D6-D10) ------------------------------------------------------

def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def members_of(path):
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def write_members(path, members):
    """An .npz (a zip of .npy files) holding exactly these members, name -> bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def with_meta(path, **changes):
    """The checkpoint at path with its metadata changed (None deletes a key)."""
    members = members_of(path)
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
    meta.update(changes)
    members["meta.npy"] = npy(np.array(json.dumps({k: v for k, v in meta.items()
                                                   if v is not None})))
    write_members(path, members)


def trained_meta(path):
    """A checkpoint with the metadata `mnistnn train` writes (config and state)."""
    from mnistnn.train import TrainConfig

    config = TrainConfig(sizes=(784, 16, 10), activation="relu", cost="log-likelihood")
    checkpoint.save(path, Network([784, 16, 10], "relu", "log-likelihood"),
                    {"config": config.to_dict(), "interrupted": False, "metrics": None,
                     "state": {"epoch": 2, "batch": 0, "rng_state": None,
                               "best_validation_accuracy": 0.9, "best_epoch": 2,
                               "stale_epochs": 0}})


def config_with(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        config = json.loads(str(npz["meta"]))["config"]
    return {**config, **changes}


def state_with(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        state = json.loads(str(npz["meta"]))["state"]
    return {**state, **changes}


def deep_meta(path, depth):
    members = members_of(path)
    head = json.dumps({"format": "mnistnn-checkpoint", "version": 1, "sizes": [784, 16, 10],
                       "activation": "relu", "cost": "log-likelihood"})
    members["meta.npy"] = npy(np.array(head[:-1] + ', "x": ' + "[" * depth + "]" * depth
                                       + "}"))
    write_members(path, members)


def pickled_members(path):
    members = {name: pickle.dumps(np.zeros(3)) for name in members_of(path)
               if name != "meta.npy"}
    write_members(path, {**members_of(path), **members})


def float64_with(path, value):
    members = members_of(path)
    W = np.zeros((10, 16))
    W[0, 0] = value
    members["W1.npy"] = npy(W)
    write_members(path, members)


CRAFTED = {
    "meta nested 100k deep": (lambda p: deep_meta(p, 100_000), "damaged metadata"),
    "meta nested 200k deep": (lambda p: deep_meta(p, 200_000), "array meta declares"),
    "state a string": (lambda p: with_meta(p, state="5"),
                       "the training state must be a mapping, not a str"),
    "state.epoch a string": (lambda p: with_meta(p, state=state_with(p, epoch="5")),
                             "epoch must be a whole number, got '5'"),
    "state.epoch negative": (lambda p: with_meta(p, state=state_with(p, epoch=-1)),
                             "epoch must be in [0, 100000], got -1"),
    "state.rng_state junk": (lambda p: with_meta(p, state=state_with(p, rng_state={"a": 1})),
                             "random generator state is damaged"),
    "config.lr a word": (lambda p: with_meta(p, config=config_with(p, lr="fast")),
                         "lr must be a number, got 'fast'"),
    "config.lr infinite": (lambda p: with_meta(p, config=config_with(p, lr=1e400)),
                           "lr must be above 0, got inf"),
    "config a list": (lambda p: with_meta(p, config=[1, 2]),
                      "the training settings must be a mapping, not a list"),
    "config.sizes other": (lambda p: with_meta(p, config=config_with(p, sizes=[784, 8, 10])),
                           "the settings say sizes"),
    "config.nesterov a number": (lambda p: with_meta(p, config=config_with(p, nesterov=1)),
                                 "nesterov must be true or false"),
    "interrupted a string": (lambda p: with_meta(p, interrupted="no"), "'interrupted'"),
    ".npy members that are pickles": (pickled_members, "not a readable mnistnn checkpoint "
                                                       "(a damaged .npz archive (array W0))"),
    "sizes [100, 10]": (lambda p: with_meta(p, sizes=[100, 10], config=None),
                        "a network for 100 inputs and 10 classes, but the data set has 784 "
                        "inputs and 10 classes"),
    "sizes [784, 16, 5]": (lambda p: with_meta(p, sizes=[784, 16, 5], config=None),
                           "a network for 784 inputs and 5 classes"),
    "sizes [784, 16, 12]": (lambda p: with_meta(p, sizes=[784, 16, 12], config=None),
                            "a network for 784 inputs and 12 classes"),
    "a float64 weight of 1e300": (lambda p: float64_with(p, 1e300), "too large for float32"),
    "PK and junk": (lambda p: p.write_bytes(b"PK" + b"junk" * 100),
                    "not a readable mnistnn checkpoint (a damaged .npz archive)"),
    "PK header and junk": (lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 40 + b"j" * 99),
                           "not a readable mnistnn checkpoint (a damaged .npz archive)"),
}


@pytest.mark.parametrize("name", CRAFTED)
def test_crafted_checkpoints_are_refused_in_one_sentence(name, tmp_path):
    path = tmp_path / "crafted.npz"
    trained_meta(path)
    craft, words = CRAFTED[name]
    craft(path)
    with pytest.raises(CheckpointError) as info:
        checkpoint.read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and words in message, message
    assert "\n" not in message and "allow_pickle" not in message and len(message) < 300
    for command in (["test"], ["classify", ROOT / "data" / "samples"], ["imagine", "3"]):
        result = invoke(*command, "--weights", path, "--data-dir", tmp_path / "none",
                        "--no-download") if command == ["test"] else \
            invoke(*command, "--weights", path)
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr.splitlines()[-1] == f"Error: {message}"


def test_the_trainers_metadata_passes_the_schema(tmp_path):
    trained_meta(tmp_path / "ok.npz")
    assert checkpoint.read(tmp_path / "ok.npz").meta["state"]["epoch"] == 2


def test_the_input_size_and_class_count_are_parameters(tmp_path):
    checkpoint.save(tmp_path / "n.npz", Network([100, 8, 12]))
    assert checkpoint.load(tmp_path / "n.npz", inputs=100, classes=12).sizes == [100, 8, 12]
    with pytest.raises(CheckpointError, match="the data set has 784 inputs and 10 classes"):
        checkpoint.load(tmp_path / "n.npz")


def inflate_declared_size(path, member, size):
    """Rewrite the zip directory so that `member` declares `size` bytes once decompressed."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")
    while True:      # central directory entries: the name starts 46 bytes in
        name_length = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + name_length] == member.encode():
            data[at + 24:at + 28] = size.to_bytes(4, "little")
            break
        at = data.index(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("member, size, words", [
    ("extra.npy", 3_000_000_000, "holds unexpected ['extra']"),
    ("W9.npy", 3_000_000_000, "declares more than 1,073,741,824 bytes"),
    ("W0.npy", 50_000_000, "array W0 declares 50,000,000 bytes"),
    ("meta.npy", 50_000_000, "array meta declares 50,000,000 bytes"),
])
def test_sizes_and_names_are_checked_before_any_member_is_read(member, size, words, tmp_path,
                                                               monkeypatch):
    """A 3 GB member is refused from the zip directory, without decompressing a byte."""
    path = tmp_path / "bomb.npz"
    trained_meta(path)
    members = members_of(path)
    members.setdefault(member, b"\x00" * 1000)
    write_members(path, members)
    inflate_declared_size(path, member, size)
    opened = []
    real_open = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        opened.append(name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    with pytest.raises(CheckpointError, match=re.escape(words)):
        checkpoint.read(path)
    assert member not in opened and (member == "meta.npy" or opened in ([], ["meta.npy"]))
