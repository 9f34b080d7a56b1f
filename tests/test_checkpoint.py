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


def save_v1(path, net, meta=None, velocity=None):
    """A checkpoint as mnistnn wrote them before convolutional layers (format version 1:
    "sizes" in the metadata, arrays W0, b0, W1, ..., momentum v0, v1, ...)."""
    meta = {**(meta or {}), "format": "mnistnn-checkpoint", "version": 1,
            "sizes": net.sizes, "activation": net.activation.name, "cost": net.cost.name,
            "mnistnn_version": "0.9", "created": "2026-01-01T00:00:00Z"}
    arrays = {"meta": np.array(json.dumps(meta))}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{l}"], arrays[f"b{l}"] = W, b
    arrays.update((f"v{i}", v) for i, v in enumerate(velocity or ()))
    np.savez(path, **arrays)


# A 784-16-10 network's arrays as each format names them (the tests below name version 1's)
NAMES = {1: {}, 2: {"W0": "dense1.W", "b0": "dense1.b", "W1": "dense2.W", "b1": "dense2.b"}}


def version_of(path):
    with zipfile.ZipFile(path) as z:
        return 2 if "dense1.W.npy" in z.namelist() else 1


def named(version, text):
    """text with version 1's array names (W0, b1, ...) as the format `version` names them."""
    return re.sub(r"\b[Wb][01]\b", lambda m: NAMES[version].get(m.group(), m.group()), text)


@pytest.fixture(params=[1, 2], ids=["version 1", "version 2"])
def saved(tmp_path, request):
    """(network, path, format version) of a saved 784-16-10 network."""
    net = Network([784, 16, 10], "relu", "log-likelihood", seed=4)
    path = tmp_path / "net.npz"
    save = save_v1 if request.param == 1 else checkpoint.save
    save(path, net, {"config": {"lr": 0.1}, "state": {"epoch": 3}})
    return net, path, request.param


def test_round_trip_is_exact(saved):
    net, path, version = saved
    back = checkpoint.read(path)
    assert back.net.sizes == [784, 16, 10]
    assert back.net.activation.name == "relu" and back.net.cost.name == "log-likelihood"
    for a, b in zip(net.weights + net.biases, back.net.weights + back.net.biases):
        assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    assert back.meta["config"] == {"lr": 0.1} and back.meta["version"] == version
    assert back.meta["mnistnn_version"] and back.meta["created"].endswith("Z")
    assert back.velocity is None and back.net.meta["state"]["epoch"] == 3
    x = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    assert np.array_equal(net.feedforward(x), back.net.feedforward(x))


@pytest.mark.parametrize("save", [save_v1, checkpoint.save])
def test_velocity_round_trip(tmp_path, save):
    net = Network([784, 8, 10], seed=0)
    velocity = [np.full_like(p, i) for i, p in enumerate([net.weights[0], net.biases[0],
                                                          net.weights[1], net.biases[1]])]
    save(tmp_path / "v.npz", net, velocity=velocity)
    back = checkpoint.read(tmp_path / "v.npz").velocity
    assert [float(v.flat[0]) for v in back] == [0, 1, 2, 3]


def test_the_file_is_plain_data(saved):
    names = ["W0", "W1", "b0", "b1", "meta"]
    with zipfile.ZipFile(saved[1]) as z:
        assert sorted(z.namelist()) == sorted(named(saved[2], n) + ".npy" for n in names)
    with np.load(saved[1], allow_pickle=False) as npz:
        assert json.loads(str(npz["meta"]))["format"] == "mnistnn-checkpoint"


def rewrite(path, **changes):
    """Save the arrays of a checkpoint again with some replaced (None deletes), named as
    in version 1 (W0, b1: rewrite finds them under their names in the file's format)."""
    version = version_of(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for k, v in changes.items():
        k = named(version, k)
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(path, **arrays)


def meta_with(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
    meta.update(as_saved(meta, changes))
    return np.array(json.dumps(meta))


def as_saved(meta, changes):
    """Metadata changes written for version 1 ("sizes") as the file's format says them
    (version 2: "layers", the spec)."""
    if meta.get("version") == 2 and isinstance(changes.get("sizes"), list):
        changes = {**changes, "layers": ",".join(map(str, changes["sizes"]))}
        del changes["sizes"]
    return changes


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
    (lambda p: np.savez(p.open("wb"), a=np.zeros(3)),              # some other .npz
     r"not an mnistnn checkpoint \(no metadata\)"),
    (lambda p: rewrite(p, meta=np.array("{not json")), "not valid JSON"),
    (lambda p: rewrite(p, meta=meta_with(p, format="other")), "unknown format"),
    (lambda p: rewrite(p, meta=meta_with(p, version=99)), "newer than this mnistnn"),
    (lambda p: rewrite(p, meta=meta_with(p, sizes=[784, -1, 10])), "invalid layer sizes"),
    (lambda p: rewrite(p, meta=meta_with(p, activation="swish")), "unknown activation"),
])
def test_bad_checkpoints_are_refused_with_the_file_named(saved, damage, words):
    _, path, version = saved
    damage(path)
    if version == 2 and "invalid layer sizes" in words:
        words = r"invalid layer spec '784,-1,10': item 2 \('-1'\): layer sizes must be"
    with pytest.raises(CheckpointError, match=named(version, words)) as info:
        checkpoint.read(path)
    assert str(info.value).startswith(str(path))


def test_the_metadata_alone_is_the_checkpoints_and_bad_metadata_is_refused(saved, tmp_path):
    """read_meta (what a folder's earlier run trained on) gives read's metadata without
    the arrays, and the file named in one sentence when there is none to read."""
    _, path, _ = saved
    assert checkpoint.read_meta(path) == checkpoint.read(path).meta
    for name, damage in (("half.npz", path.read_bytes()[:200]), ("text.npz", b"hello\n")):
        (tmp_path / name).write_bytes(damage)
        with pytest.raises(CheckpointError, match="not a readable mnistnn checkpoint"):
            checkpoint.read_meta(tmp_path / name)
    rewrite(path, meta=meta_with(path, format="other"))
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(path))}: .*unknown format"):
        checkpoint.read_meta(path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        checkpoint.load(tmp_path / "none.npz")


def test_a_crash_while_saving_keeps_the_previous_file(saved, monkeypatch):
    net, path, _ = saved
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
    meta.update(as_saved(meta, changes))
    members["meta.npy"] = npy(np.array(json.dumps({k: v for k, v in meta.items()
                                                   if v is not None})))
    write_members(path, members)


def trained_meta(path, version=2, layers=(784, 16, 10)):
    """A checkpoint with the metadata `mnistnn train` writes (config and state)."""
    from mnistnn.train import TrainConfig

    config = TrainConfig(sizes=layers, activation="relu", cost="log-likelihood")
    save = save_v1 if version == 1 else checkpoint.save
    save(path, Network(layers, "relu", "log-likelihood"),
         {"config": config.to_dict(), "interrupted": False, "metrics": None,
          "state": {"epoch": 2, "batch": 0, "rng_state": None,
                    "best_validation_accuracy": 0.9, "best_epoch": 2, "stale_epochs": 0}})


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
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
    head = json.dumps({k: meta[k] for k in ("format", "version", "sizes", "layers",
                                            "activation", "cost") if k in meta})
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
    members[named(version_of(path), "W1") + ".npy"] = npy(W)
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
    "test_accuracy a word": (lambda p: with_meta(p, test_accuracy="high"), "'test_accuracy'"),
    "test_accuracy above 1": (lambda p: with_meta(p, test_accuracy=99.6), "'test_accuracy'"),
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


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("name", CRAFTED)
def test_crafted_checkpoints_are_refused_in_one_sentence(name, version, tmp_path):
    path = tmp_path / "crafted.npz"
    trained_meta(path, version)
    craft, words = CRAFTED[name]
    craft(path)
    refused_in_one_sentence(path, named(version, words))


def refused_in_one_sentence(path, words):
    """The checkpoint at path is refused by the library and by test, classify and imagine,
    with one sentence that holds words."""
    with pytest.raises(CheckpointError) as info:
        checkpoint.read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and words in message, message
    assert "\n" not in message and "allow_pickle" not in message and len(message) < 300
    for command in (["test"], ["classify", ROOT / "data" / "samples"], ["imagine", "3"]):
        result = invoke(*command, "--weights", path, "--data-dir", path.parent / "none",
                        "--no-download") if command == ["test"] else \
            invoke(*command, "--weights", path)
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr.splitlines()[-1] == f"Error: {message}"


CONV = "1x28x28,conv4k5,pool2,conv8k3,pool2,16,10"


def spec_with(path, **changes):
    """The convolutional checkpoint at path with its layer spec changed."""
    with_meta(path, config=None, **changes)


CRAFTED_CONV = {
    "a spec that does not parse": (
        lambda p: spec_with(p, layers="1x28x28,conv4k5,pool2,conv8k3,pool2,conv8k9,10"),
        "invalid layer spec '1x28x28,conv4k5,pool2,conv8k3,pool2,conv8k9,10': item 6 "
        "('conv8k9'): a 9x9 kernel does not fit the 5x5 images it gets"),
    "a spec that is not text": (lambda p: spec_with(p, layers=[784, 16, 10]),
                                "damaged metadata: the layers are not a layer spec"),
    "no spec": (lambda p: spec_with(p, layers=None), "the layers are not a layer spec"),
    "a spec of 12 kB": (lambda p: spec_with(p, layers="1x28x28," + "pool1," * 2000 + "10"),
                        "the layers are not a layer spec"),
    "a spec with other filters": (lambda p: spec_with(p, layers=CONV.replace("conv4", "conv6")),
                                  "array conv1.W has shape (4, 5, 5, 1), expected (6, 5, 5, 1)"),
    "a spec with another kernel": (lambda p: spec_with(p, layers=CONV.replace("k3", "k2")),
                                   "array conv2.W has shape (8, 3, 3, 4), expected (8, 2, 2, 4)"),
    "a spec with a layer less": (lambda p: spec_with(p, layers=CONV.replace("16,", "")),
                                 "unexpected ['dense2.W', 'dense2.W.velocity', 'dense2.b'"),
    "a spec with a layer more": (lambda p: spec_with(p, layers=CONV.replace("16,", "16,16,")),
                                 "missing ['dense3.W', 'dense3.b']"),
    "arrays of another shape": (lambda p: rewrite(p, **{"conv2.W": np.zeros((8, 3, 3, 5))}),
                                "array conv2.W has shape (8, 3, 3, 5), expected (8, 3, 3, 4)"),
    "a velocity of another shape": (
        lambda p: rewrite(p, **{"conv1.b.velocity": np.zeros(5, np.float32)}),
        "array conv1.b.velocity has shape (5,), expected (4,)"),
    "version 1's names": (lambda p: write_members(p, {n.replace("conv1.W.npy", "W0.npy"): b
                                                      for n, b in members_of(p).items()}),
                          "missing ['conv1.W'], unexpected ['W0']"),
    "an input of 20x20": (lambda p: spec_with(p, layers=CONV.replace("28x28", "20x20")),
                          "a network for 400 inputs and 10 classes, but the data set has 784 "
                          "inputs and 10 classes"),
    "an input of 2 channels": (lambda p: spec_with(p, layers=CONV.replace("1x28", "2x28")),
                               "a network for 1568 inputs and 10 classes"),
    "12 outputs": (lambda p: spec_with(p, layers=CONV.replace(",10", ",12")),
                   "a network for 784 inputs and 12 classes"),
    "settings that say other layers": (
        lambda p: with_meta(p, config=config_with(p, sizes=CONV.replace("16,", "32,"))),
        "the settings say sizes 1x28x28,conv4k5,pool2,conv8k3,pool2,32,10, the network "
        "1x28x28,conv4k5,pool2,conv8k3,pool2,16,10"),
    "format version 0": (lambda p: with_meta(p, version=0), "format version 0"),
}


@pytest.mark.parametrize("name", CRAFTED_CONV)
def test_crafted_convolutional_checkpoints_are_refused_in_one_sentence(name, tmp_path):
    path = tmp_path / "conv.npz"
    trained_meta(path, layers=CONV)
    net = Network(CONV, "relu", "log-likelihood")
    velocity = [np.zeros_like(p) for pair in zip(net.weights, net.biases) for p in pair]
    checkpoint.save(path, checkpoint.load(path), checkpoint.read(path).meta, velocity)
    assert checkpoint.read(path).velocity is not None
    craft, words = CRAFTED_CONV[name]
    craft(path)
    refused_in_one_sentence(path, words)


def test_a_convolutional_network_round_trips_with_its_spec(tmp_path):
    net = Network(CONV, "relu", "log-likelihood", seed=3)
    checkpoint.save(tmp_path / "c.npz", net, {"dataset": "fashion-mnist"})
    with zipfile.ZipFile(tmp_path / "c.npz") as z:
        assert sorted(z.namelist()) == sorted(
            f"{layer}.{p}.npy" for layer in ("conv1", "conv2", "dense1", "dense2")
            for p in "Wb") + ["meta.npy"]
    back = checkpoint.load(tmp_path / "c.npz")
    assert back.meta["layers"] == CONV and "sizes" not in back.meta
    x = np.random.default_rng(0).random((5, 784)).astype(np.float32)
    assert np.array_equal(net.feedforward(x), back.feedforward(x))
    assert checkpoint.describe(back) == (f"{CONV} relu, log-likelihood cost, trained on "
                                         f"Fashion-MNIST")


def test_float16_storage_loads_as_float32(tmp_path):
    net = Network(CONV, "relu", "log-likelihood", seed=3)
    half = net.astype(np.float16)
    checkpoint.save(tmp_path / "h.npz", half)
    back = checkpoint.load(tmp_path / "h.npz")
    assert back.dtype == np.float32
    assert all(np.array_equal(a.astype(np.float32), b) for a, b in zip(half.weights, back.weights))


@pytest.mark.parametrize("name, classes", [("default", 10), ("fashion-mnist", 10),
                                           ("digit-detector", 2), ("window-detector", 2)])
def test_the_shipped_models_load(name, classes):
    net = checkpoint.load(ROOT / "mnistnn" / "models" / f"{name}.npz", classes=classes)
    assert net.sizes[0] == 784 and net.sizes[-1] == classes
    assert net.meta["version"] in (1, 2)


def test_the_shipped_mnist_model_is_the_cnn_recipes_as_the_readme_says():
    """README, "The model that ships": the cnn recipe, seed 0, 99.62% on the test digits
    (stamped by benchmarks/shipped_model.py --write), under 4 MB."""
    from mnistnn import recipes

    assert checkpoint.SHIPPED.stat().st_size <= 4 * 1024 * 1024
    meta = checkpoint.read(checkpoint.SHIPPED).meta
    assert meta["layers"] == recipes.settings("cnn")["sizes"] and meta["config"]["seed"] == 0
    assert meta["config"]["rotate"] == recipes.settings("cnn")["rotate"]   # distorted digits
    assert meta["test_accuracy"] == 0.9962


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


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("member, size, words", [
    ("extra.npy", 3_000_000_000, "holds unexpected ['extra']"),
    ("W9.npy", 3_000_000_000, "declares more than 1,073,741,824 bytes"),
    ("W0.npy", 50_000_000, "array W0 declares 50,000,000 bytes"),
    ("meta.npy", 50_000_000, "array meta declares 50,000,000 bytes"),
])
def test_sizes_and_names_are_checked_before_any_member_is_read(member, size, words, version,
                                                               tmp_path, monkeypatch):
    """A 3 GB member is refused from the zip directory, without decompressing a byte."""
    path = tmp_path / "bomb.npz"
    trained_meta(path, version)
    member, words = named(version, member), named(version, words)
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
