"""Fashion-MNIST through every command: the data set in checkpoints, a mismatch refused,
class names in text, JSON and pictures (tiny Fashion-format data, in-process CLI)."""
import json
import shutil

import numpy as np
import pytest
from conftest import invoke
from PIL import Image
from test_checkpoint import config_with, trained_meta, with_meta

from mnistnn import checkpoint, datasets
from mnistnn.errors import CheckpointError
from mnistnn.network import Network

FASHION = datasets.DATASETS["fashion-mnist"]
NAMES = list(FASHION.classes)


@pytest.fixture(scope="module")
def fashion_weights(tiny_fashion, tmp_path_factory):
    """A weights folder with a network trained (1 epoch) on the tiny Fashion-format data."""
    folder = tmp_path_factory.mktemp("fashion-weights")
    result = invoke("train", "--dataset", "fashion-mnist", "--layers", "784,32,10",
                    "--epochs", 1, "--validation-size", 100, "--data-dir", tiny_fashion,
                    "--weights-dir", folder, "--no-download")
    assert result.exit_code == 0, result.output
    assert "on 500 Fashion-MNIST images" in result.stderr
    assert "Next: mnistnn test --dataset fashion-mnist" in result.stderr
    return folder


@pytest.fixture(scope="module")
def mnist_weights(tiny_mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist-weights")
    result = invoke("train", "--layers", "784,32,10", "--epochs", 1, "--validation-size", 100,
                    "--data-dir", tiny_mnist, "--weights-dir", folder, "--no-download", "-q")
    assert result.exit_code == 0, result.output
    return folder


# -- checkpoints -----------------------------------------------------------------------------

def test_a_checkpoint_records_its_data_set_and_class_names(fashion_weights, mnist_weights):
    for name in ("best.npz", "latest.npz"):
        meta = checkpoint.read(fashion_weights / name).meta
        assert meta["dataset"] == "fashion-mnist" and meta["classes"] == NAMES
        assert meta["config"]["dataset"] == "fashion-mnist"
    meta = checkpoint.read(mnist_weights / "latest.npz").meta
    assert meta["dataset"] == "mnist" and meta["classes"] == list("0123456789")


def test_an_old_checkpoint_without_a_data_set_means_mnist(tmp_path):
    path = tmp_path / "old.npz"
    trained_meta(path)
    with_meta(path, config={k: v for k, v in config_with(path).items() if k != "dataset"})
    net = checkpoint.load(path, dataset="mnist")
    assert "dataset" not in net.meta and datasets.trained_on(net.meta).name == "mnist"
    assert checkpoint.read(checkpoint.SHIPPED).meta.get("dataset") in (None, "mnist")
    with pytest.raises(CheckpointError, match="trained on MNIST cannot read Fashion-MNIST"):
        checkpoint.load(path, dataset="fashion-mnist")


def test_save_keeps_the_data_set_of_a_loaded_network(fashion_weights, tmp_path):
    net = checkpoint.load(fashion_weights / "best.npz")
    checkpoint.save(tmp_path / "copy.npz", net)
    assert checkpoint.read(tmp_path / "copy.npz").meta["dataset"] == "fashion-mnist"
    checkpoint.save(tmp_path / "plain.npz", Network([784, 8, 10]))
    assert "dataset" not in checkpoint.read(tmp_path / "plain.npz").meta


@pytest.mark.parametrize("changes, words", [
    ({"dataset": "kmnist"}, "trained on a data set this mnistnn does not know ('kmnist'"),
    ({"dataset": 7}, "does not know (7;"),
    ({"dataset": "fashion-mnist", "classes": list("0123456789")},
     "damaged metadata: the class names ['0', '1',"),
    ({"classes": NAMES}, "are not MNIST's"),
    ({"dataset": "fashion-mnist", "classes": NAMES[:9]}, "are not Fashion-MNIST's"),
    ({"dataset": "fashion-mnist", "classes": NAMES},
     "the settings say dataset mnist, the network fashion-mnist"),
])
def test_a_damaged_data_set_field_is_refused_in_one_sentence(changes, words, tmp_path):
    path = tmp_path / "crafted.npz"
    trained_meta(path)
    with_meta(path, **changes)
    with pytest.raises(CheckpointError) as caught:
        checkpoint.read(path)
    assert str(caught.value).startswith(f"{path}: ") and words in str(caught.value)
    result = invoke("classify", path, "--weights", path)
    assert result.exit_code == 1 and result.stderr == f"Error: {caught.value}\n"


def test_default_weights_and_shipped_models_per_data_set(tmp_path, monkeypatch):
    monkeypatch.delenv("MNISTNN_WEIGHTS_DIR", raising=False)
    assert checkpoint.default_weights_dir() == checkpoint.default_weights_dir("mnist")
    assert str(checkpoint.default_weights_dir("mnist")) == "weights"
    assert str(checkpoint.default_weights_dir("fashion-mnist")) == "weights/fashion-mnist"
    monkeypatch.setenv("MNISTNN_WEIGHTS_DIR", str(tmp_path))
    assert checkpoint.default_weights_dir("fashion-mnist") == tmp_path   # named: exactly it
    assert checkpoint.shipped() == checkpoint.shipped("mnist") == checkpoint.SHIPPED
    assert checkpoint.shipped("fashion-mnist") == checkpoint.SHIPPED.with_name(
        "fashion-mnist.npz")
    monkeypatch.setattr(checkpoint, "SHIPPED", tmp_path / "models" / "default.npz")
    (tmp_path / "models").mkdir()
    with pytest.raises(CheckpointError, match="run `mnistnn train --dataset fashion-mnist` "):
        checkpoint.locate(weights_dir=tmp_path, dataset="fashion-mnist")
    trained_meta(tmp_path / "models" / "fashion-mnist.npz")
    assert checkpoint.locate(weights_dir=tmp_path, dataset="fashion-mnist") == \
        tmp_path / "models" / "fashion-mnist.npz"
    trained_meta(tmp_path / "latest.npz")
    assert checkpoint.locate(weights_dir=tmp_path, dataset="fashion-mnist") == \
        tmp_path / "latest.npz"


# -- train -----------------------------------------------------------------------------------

def test_train_writes_into_weights_fashion_mnist_by_default(tiny_fashion, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MNISTNN_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("MNISTNN_DATASET", "fashion-mnist")      # the environment picks it
    result = invoke("train", "--layers", "784,8,10", "--epochs", 1, "--validation-size", 100,
                    "--data-dir", tiny_fashion, "--no-download", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "weights").iterdir()) == ["fashion-mnist"]
    saved = checkpoint.read(tmp_path / "weights" / "fashion-mnist" / "latest.npz")
    assert saved.meta["dataset"] == "fashion-mnist"


def test_a_run_that_replaces_another_data_sets_run_says_so(
        mnist_weights, tiny_fashion, tmp_path):
    """A bare `mnistnn test` gates on whatever the folder holds: a Fashion-MNIST run
    into a folder holding an MNIST run names both data sets before it takes over."""
    folder = tmp_path / "w"
    shutil.copytree(mnist_weights, folder)
    result = invoke("train", "--dataset", "fashion-mnist", "--layers", "784,8,10",
                    "--epochs", 1, "--validation-size", 100, "--data-dir", tiny_fashion,
                    "--weights-dir", folder, "--no-download")
    assert result.exit_code == 0, result.output
    assert (f"{folder}/ holds an earlier MNIST run (latest.npz, best.npz, metrics.jsonl, "
            f"training.png); this Fashion-MNIST run replaces it") in result.stderr


def test_resume_continues_on_the_runs_data_set_and_cannot_change_it(tiny_fashion, tmp_path):
    first = invoke("train", "--dataset", "fashion-mnist", "--layers", "784,8,10", "--epochs", 1,
                   "--validation-size", 100, "--data-dir", tiny_fashion, "--weights-dir",
                   tmp_path, "--no-download", "-q")
    assert first.exit_code == 0, first.output
    more = invoke("train", "--resume", tmp_path / "latest.npz", "--epochs", 1, "--data-dir",
                  tiny_fashion, "--weights-dir", tmp_path, "--no-download")
    assert more.exit_code == 0, more.output           # tiny_fashion holds no MNIST: it must be
    assert "Fashion-MNIST images" in more.stderr      # the run's own data set that was loaded
    assert checkpoint.read(tmp_path / "latest.npz").meta["state"]["epoch"] == 2
    change = invoke("train", "--resume", tmp_path / "latest.npz", "--epochs", 1, "--dataset",
                    "mnist", "--data-dir", tiny_fashion, "--no-download")
    assert change.exit_code == 2
    assert "its dataset (fashion-mnist) cannot change" in change.stderr


def test_recipes_suit_the_data_set_and_explicit_options_still_win(tiny_fashion, tmp_path):
    from mnistnn import recipes
    from mnistnn.config import TrainConfig

    for dataset, changes in recipes.ON_DATASET.items():
        for name, change in changes.items():
            settings = recipes.settings(name, dataset)
            assert settings == {**recipes.RECIPES[name]["settings"], **change["settings"]}
            TrainConfig(**settings).check()
            assert recipes.MEASURED_ON[dataset][name]
    assert recipes.settings("wide", "mnist") == recipes.RECIPES["wide"]["settings"]
    # MNIST's distortions did not help clothes: on Fashion-MNIST, best is wide
    assert TrainConfig(**recipes.settings("best", "fashion-mnist")) == \
        TrainConfig(**recipes.settings("wide", "fashion-mnist"))
    chosen = recipes.resolve("wide", {"dataset": "fashion-mnist", "epochs": 30, "flip": 0.0},
                             given={"epochs"})
    assert chosen["flip"] == 0.5 and chosen["epochs"] == 30 and chosen["input_dropout"] == 0.1
    result = invoke("train", "--dataset", "fashion-mnist", "--recipe", "wide", "--layers",
                    "784,16,10", "--epochs", 1, "--input-dropout", 0, "--data-dir",
                    tiny_fashion, "--weights-dir", tmp_path, "--no-download", "-q")
    assert result.exit_code == 0, result.output
    config = checkpoint.read(tmp_path / "latest.npz").meta["config"]
    assert config["flip"] == 0.5 and config["input_dropout"] == 0       # recipe, explicit
    assert config["dataset"] == "fashion-mnist" and config["sizes"] == [784, 16, 10]
    assert "On Fashion-MNIST" in invoke("train", "--help").stdout


# -- test ------------------------------------------------------------------------------------

def run_test(weights, data_dir, *args):
    return invoke("test", "--weights-dir", weights, "--data-dir", data_dir, "--no-download",
                  *args)


def test_test_uses_the_checkpoints_data_set_and_names_the_classes(fashion_weights,
                                                                  tiny_fashion, tmp_path):
    result = run_test(fashion_weights, tiny_fashion)           # no --dataset: the checkpoint's
    assert result.exit_code == 0, result.output
    assert "trained on Fashion-MNIST" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Test accuracy: ") and lines[0].endswith(" of 200 images)")
    assert lines[2] == "class          accuracy  correct / count"
    assert lines[3].startswith("0 T-shirt/top  ") and lines[12].startswith("9 Ankle boot   ")
    assert "Confusion matrix (rows: true class, columns: predicted class)" in result.stdout
    report = json.loads(run_test(fashion_weights, tiny_fashion, "--json", "--dataset",
                                 "fashion-mnist").stdout)
    assert report["dataset"] == "fashion-mnist" and report["classes"] == NAMES
    assert [d["name"] for d in report["per_digit"]] == NAMES
    assert [d["digit"] for d in report["per_digit"]] == list(range(10))


def test_test_pictures_are_labelled_with_class_names(tiny_fashion, tiny_mnist, tmp_path):
    """The named pictures are larger than the digit ones: room for the names. (Untrained
    networks, so that there are errors to show.)"""
    sizes = {}
    for dataset, data in (("fashion-mnist", tiny_fashion), ("mnist", tiny_mnist)):
        weights = tmp_path / f"{dataset}.npz"
        checkpoint.save(weights, Network([784, 8, 10], seed=0), {"dataset": dataset})
        result = invoke("test", "--weights", weights, "--data-dir", data, "--no-download",
                        "--errors", tmp_path / f"{dataset}-e.png", "--confusion",
                        tmp_path / f"{dataset}-c.png")
        assert result.exit_code == 0, result.output
        sizes[dataset] = [Image.open(tmp_path / f"{dataset}-{p}.png").size for p in "ec"]
    (fe, fc), (me, mc) = sizes["fashion-mnist"], sizes["mnist"]
    assert fc[0] > mc[0] + 40 and fc[1] > mc[1] + 40        # names beside and above the grid
    assert fe[0] >= me[0] and fe[1] > me[1]                  # two caption lines per cell


@pytest.mark.parametrize("dataset, trained, wanted", [("fashion-mnist", "MNIST", "Fashion-MNIST"),
                                                      ("mnist", "Fashion-MNIST", "MNIST")])
def test_a_mismatch_is_refused_in_one_sentence(dataset, trained, wanted, fashion_weights,
                                               mnist_weights, tiny_fashion, tmp_path):
    weights = mnist_weights if trained == "MNIST" else fashion_weights
    path = weights / "best.npz"
    other = "fashion-mnist" if dataset == "mnist" else "mnist"
    sentence = (f"Error: {path}: a network trained on {trained} cannot read {wanted} (use "
                f"--dataset {other}, or the --weights of a model trained on {wanted})\n")
    for command in (["test", "--data-dir", tiny_fashion, "--no-download"],
                    ["classify", tmp_path / "never-read.png"], ["imagine", "3"],
                    ["draw", "--no-browser"]):
        result = invoke(*command, "--weights", path, "--dataset", dataset)
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr == sentence, command
        assert result.stdout == ""


def test_the_environment_asks_for_a_data_set_as_the_option_does(mnist_weights, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("MNISTNN_DATASET", "fashion-mnist")
    result = invoke("classify", tmp_path / "x.png", "--weights", mnist_weights / "best.npz")
    assert result.exit_code == 1 and "cannot read Fashion-MNIST" in result.stderr


# -- classify, imagine, draw -------------------------------------------------------------

def test_classify_answers_with_class_names(fashion_weights, tiny_fashion, tmp_path):
    image = np.zeros((60, 40), np.uint8) + 255                       # a dark box on white
    image[10:50, 8:32] = 40
    Image.fromarray(image).save(tmp_path / "box.png")
    text = invoke("classify", tmp_path / "box.png", "--weights-dir", fashion_weights, "--top",
                  3)
    assert text.exit_code == 0, text.output
    line = text.stdout.strip()
    found = [name for name in NAMES if line.startswith(f"{tmp_path / 'box.png'}: {name} (")]
    assert len(found) == 1 and line.count("%)") == 3 and "; then " in line
    answer = json.loads(invoke("classify", tmp_path / "box.png", "--weights-dir",
                               fashion_weights, "--json").stdout)
    assert answer["name"] == found[0] == NAMES[answer["label"]]
    assert answer["digit"] == answer["label"] and len(answer["probabilities"]) == 10


@pytest.mark.parametrize("ask, name, file", [("sneaker", "Sneaker", "imagine-sneaker.png"),
                                             ("7", "Sneaker", "imagine-sneaker.png"),
                                             ("BOOT", "Ankle boot", "imagine-ankle-boot.png"),
                                             ("t-shirt", "T-shirt/top", "imagine-t-shirt-top.png")])
def test_imagine_takes_a_name_or_a_number(ask, name, file, fashion_weights, tmp_path,
                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("imagine", ask, "--weights-dir", fashion_weights, "--steps", 3, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["name"] == name and report["digit"] == NAMES.index(name)
    assert report["seen_name"] == NAMES[report["seen"]]
    assert report["output"] == file and (tmp_path / file).is_file()
    text = invoke("imagine", ask, "--weights-dir", fashion_weights, "--steps", 3, "-o",
                  "x.png").stdout
    article = "an" if name[0] in "AEIOU" else "a"
    assert f"what the network thinks {article} {name} looks like." in text


def test_imagine_all_is_labelled_with_names(fashion_weights, tmp_path):
    result = invoke("imagine", "all", "--weights-dir", fashion_weights, "--steps", 3,
                    "-o", tmp_path / "all.png", "--scale", 4)
    assert result.exit_code == 0, result.output
    assert "what the network thinks each class looks like" in result.stdout
    rows = result.stdout.splitlines()[1:]
    assert [row.split(" -> ")[0].strip() for row in rows] == NAMES
    grid = Image.open(tmp_path / "all.png")
    assert grid.size[0] == 5 * (28 * 4 + 4) + 4
    assert grid.size[1] > 2 * (28 * 4 + 4 + 2 * 14)              # two caption lines per cell


@pytest.mark.parametrize("weights, ask, words", [
    ("fashion", "s", "'s' could be Sandal, Shirt or Sneaker: give more of the name"),
    ("fashion", "10", "'10' is not a class: give a number from 0 to 9, 'all', or, for a "
                      "Fashion-MNIST network, a class name (T-shirt/top, Trouser, Pullover, "
                      "Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot)"),
    ("mnist", "10", "'10' is not a class: give a number from 0 to 9, 'all', or, for a "
                    "Fashion-MNIST network, a class name"),
    ("mnist", "sneaker", "'sneaker' is not one of MNIST's classes: give a number from 0 to 9; "
                         "Sneaker is a class of Fashion-MNIST: use a model trained on it "
                         "(--dataset fashion-mnist)"),
])
def test_imagine_a_bad_name_is_a_usage_error_listing_the_names(weights, ask, words,
                                                               fashion_weights, mnist_weights,
                                                               tmp_path):
    folder = fashion_weights if weights == "fashion" else mnist_weights
    result = invoke("imagine", ask, "--weights-dir", folder, "-o", tmp_path / "x.png")
    assert result.exit_code == 2 and words in " ".join(result.stderr.split())
    assert not (tmp_path / "x.png").exists()


def test_the_draw_pages_model_card_has_the_class_names(fashion_weights, monkeypatch):
    from mnistnn import server

    cards = []
    monkeypatch.setattr(server.DrawServer, "run",
                        lambda self: (cards.append(self.api.card), self.server_close()))
    result = invoke("draw", "--no-browser", "--weights-dir", fashion_weights,
                    "--dataset", "fashion-mnist")
    assert result.exit_code == 0, result.output
    assert cards[0]["classes"] == NAMES and cards[0]["dataset"] == "fashion-mnist"


def test_imagine_draws_in_the_form_of_the_networks_data_set(monkeypatch):
    """MNIST's digits fit a 20x20 box and hold about 100 pixels' worth of ink; Fashion-MNIST's
    objects span the field and hold about 220 (imagining.FORMS). A network whose class 0
    likes ink anywhere shows the difference."""
    from mnistnn import imagining

    budgets, project = [], imagining.project_ink
    monkeypatch.setattr(imagining, "project_ink",
                        lambda x, ink, **kw: budgets.append(ink) or project(x, ink, **kw))
    net = Network([784, 10], "relu", "log-likelihood")
    net.weights[0][:] = 0
    net.weights[0][0] = 1.0                                   # every pixel says "class 0"
    digit = imagining.imagine(net, 0, steps=20)
    net.meta = {"dataset": "fashion-mnist"}
    clothes = imagining.imagine(net, 0, steps=20)
    outside = imagining.FRAME == 0                            # the outermost ring
    assert np.all(digit[outside] == 0) and clothes[outside].min() > 0
    assert set(budgets[:20]) == {100.0} and set(budgets[20:]) == {220.0}


def test_imagined_clothes_fill_a_silhouette():
    """The shipped network's pictures spent 43 to 121 of their 220 pixels' worth of ink,
    dim textures; each now spends at least 180, and is still read as its class."""
    from mnistnn import imagining

    fashion_net = checkpoint.load(checkpoint.shipped("fashion-mnist"), dataset="fashion-mnist")
    pictures = imagining.imagine_many(fashion_net, [1, 7, 9], steps=60)   # trousers, ...
    assert np.all(pictures.sum(axis=(1, 2)) >= 180 - 1)
    assert fashion_net.predict(pictures.reshape(3, -1)).tolist() == [1, 7, 9]
