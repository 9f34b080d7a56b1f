"""A convolutional network through every command, in-process on tiny MNIST-format data:
train with a layer spec, --resume, test, classify (a digit and --number), imagine, and the
drawing page's hidden units."""
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke
from number_images import on_paper, pen_number

from mnistnn import checkpoint
from mnistnn.server_api import DrawApi

ROOT = Path(__file__).resolve().parent.parent
SPEC = "1x28x28,conv4k5,pool2,conv8k3,pool2,16,10"
SETTINGS = ("--layers", SPEC, "--activation", "relu", "--cost", "log-likelihood",
            "--lr", 0.05, "--momentum", 0.9, "--batch-size", 50, "--validation-size", 100,
            "--no-download", "-q")


def train(data, folder, *args):
    return invoke("train", *SETTINGS, "--data-dir", data, "--weights-dir", folder, *args)


@pytest.fixture(scope="module")
def run(tiny_mnist, tmp_path_factory):
    """A folder holding a 2-epoch run of the convolutional network."""
    folder = tmp_path_factory.mktemp("conv-run")
    result = train(tiny_mnist, folder, "--epochs", 2)
    assert result.exit_code == 0, result.output
    return folder


def test_the_checkpoint_holds_the_spec_and_the_settings(run):
    saved = checkpoint.read(run / "latest.npz")
    assert saved.meta["layers"] == SPEC and saved.meta["config"]["sizes"] == SPEC
    assert saved.net.spec == SPEC and len(saved.velocity) == 8
    assert checkpoint.read(run / "best.npz").velocity is None


def test_resume_continues_bit_for_bit_and_keeps_the_architecture(run, tiny_mnist, tmp_path):
    assert train(tiny_mnist, tmp_path, "--epochs", 1).exit_code == 0
    latest = tmp_path / "latest.npz"
    changed = invoke("train", "--resume", latest, "--layers", "784,30,10", "-q")
    assert changed.exit_code == 2 and "its sizes (" + SPEC + ") cannot change" in changed.stderr
    same = SPEC.replace("conv4k5", "conv4k5valid")        # the same network, spelled out
    resumed = invoke("train", "--resume", latest, "--layers", same, "--epochs", 1,
                     "--data-dir", tiny_mnist, "--weights-dir", tmp_path, "--no-download",
                     "-q")
    assert resumed.exit_code == 0, resumed.output
    straight, both = checkpoint.load(run / "latest.npz"), checkpoint.load(latest)
    assert both.meta["state"]["epoch"] == 2 and both.spec == SPEC
    pairs = zip(straight.weights + straight.biases, both.weights + both.biases)
    assert all(np.array_equal(a, b) for a, b in pairs)


def test_test_reports_the_accuracy(run, tiny_mnist):
    result = invoke("test", "--weights", run / "best.npz", "--data-dir", tiny_mnist,
                    "--no-download", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 200
    assert f"({SPEC} relu, log-likelihood cost" in result.stderr


def test_classify_reads_digits_and_numbers(run, tmp_path):
    result = invoke("classify", ROOT / "data" / "samples", "--weights", run / "best.npz",
                    "--json", "--no-reject")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers and all(0 <= a["digit"] <= 9 for a in answers)
    rng = np.random.default_rng(0)
    (tmp_path / "number.png").write_bytes(on_paper(pen_number([2, 0, 2, 6], rng, 120)[0], rng))
    number = invoke("classify", tmp_path / "number.png", "--number", "--json",
                    "--weights", run / "best.npz")
    assert number.exit_code == 0, number.output
    assert len(json.loads(number.stdout)["digits"]) >= 1


def test_imagine_draws_by_gradient_and_refuses_backprojection(run, tmp_path):
    out = tmp_path / "three.png"
    result = invoke("imagine", "3", "-o", out, "--weights", run / "best.npz", "--steps", 20)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    refused = invoke("imagine", "3", "-o", tmp_path / "b.png", "--method", "backproject",
                     "--weights", run / "best.npz")
    assert refused.exit_code == 1 and not (tmp_path / "b.png").exists()
    assert refused.stderr.splitlines()[-1].endswith(
        f"the classic backprojection inverts dense layers only, and this network ({SPEC}) "
        f"has convolutions: use the default method, maximise")


def test_the_drawing_page_shows_feature_maps(run):
    api = DrawApi(checkpoint.load(run / "best.npz"), source="best.npz")
    assert api.card["can"]["feature_maps"] is True
    answer = api.classify((ROOT / "data" / "samples" / "3-black-on-white.png").read_bytes(),
                          units=3)
    units = answer["units"]
    assert units["kind"] == "feature-map" and len(units["units"]) == 3
    picture = np.array(units["units"][0]["picture"])
    assert picture.shape == (24, 24) and picture.min() >= 0 and picture.max() == 1
