"""Checkpoints: exact round trips, and a clear refusal of every damaged or foreign file."""
import io
import json
import pickle
import zipfile

import numpy as np
import pytest
from conftest import invoke
from mnistnn import checkpoint
from mnistnn.errors import CheckpointError
from mnistnn.network import Network


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
