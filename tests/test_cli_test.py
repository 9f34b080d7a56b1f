"""`mnistnn test` on tiny data: output paths checked before the work, --min-accuracy."""
import json
from pathlib import Path

import pytest

from conftest import invoke


@pytest.fixture(scope="module")
def weights(tiny_mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    result = invoke("train", "--epochs", 1, "--data-dir", tiny_mnist, "--weights-dir", folder,
                    "--no-download", "--validation-size", 100, "-q")
    assert result.exit_code == 0, result.output
    return folder


def run_test(weights, tiny_mnist, *args):
    return invoke("test", "--weights-dir", weights, "--data-dir", tiny_mnist, "--no-download",
                  *args)


@pytest.mark.parametrize("option, name, words", [
    ("--errors", "nodir/e.png", "the folder {parent} does not exist"),
    ("--confusion", "nodir/c.png", "the folder {parent} does not exist"),
    ("--errors", "afile/e.png", "{parent} is a file, not a folder"),
    ("--errors", "e.jpg", "does not end in .png"),
    ("--errors", "out/", "out/ names a folder; give a file name such as"),
    ("--confusion", ".", "is a directory"),   # click.Path(dir_okay=False) says it first
])
def test_output_paths_are_checked_before_the_work(weights, tiny_mnist, tmp_path, option, name,
                                                  words):
    """Issue 13, D13: refused at once, exit 2, not exit 1 after the whole report."""
    path = f"{tmp_path / name}/" if name.endswith("/") else tmp_path / name   # as typed
    if name.startswith("afile/"):
        (tmp_path / "afile").write_bytes(b"a person's notes")
    result = run_test(weights, tiny_mnist, option, path)
    assert result.exit_code == 2
    assert option in result.stderr and words.format(parent=Path(path).parent) in result.stderr
    assert result.stdout == "" and "Using" not in result.stderr   # nothing was done


def test_one_file_for_both_pictures_is_refused(weights, tiny_mnist, tmp_path, monkeypatch):
    """--errors and --confusion naming one file (however written) would leave only the
    second picture: refused before the work, exit 2."""
    monkeypatch.chdir(tmp_path)
    result = run_test(weights, tiny_mnist, "--errors", "same.png", "--confusion",
                      tmp_path / "same.png")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--errors and --confusion both name same.png" in result.stderr
    assert not (tmp_path / "same.png").exists()


def test_a_persons_file_is_not_written_over(weights, tiny_mnist, tmp_path):
    """A file of the same name that mnistnn did not make is refused before the work;
    the pictures of an earlier `mnistnn test` are made again."""
    mine = tmp_path / "confusion.png"
    mine.write_bytes(b"my own notes")
    result = run_test(weights, tiny_mnist, "--confusion", mine)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{mine} already exists and is not a picture mnistnn made" in result.stderr
    assert mine.read_bytes() == b"my own notes"
    ours = tmp_path / "errors.png"
    for _ in range(2):
        result = run_test(weights, tiny_mnist, "--errors", ours, "--json")
        assert result.exit_code == 0, result.output
    assert ours.stat().st_size > 0


def test_a_read_only_folder_for_the_pictures(weights, tiny_mnist, tmp_path, read_only):
    (tmp_path / "ro").mkdir()
    folder = read_only(tmp_path / "ro")
    result = run_test(weights, tiny_mnist, "--errors", folder / "e.png")
    assert result.exit_code == 2 and f"cannot write e.png into {folder}/" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("value, threshold", [
    ("0.95", 0.95), ("95", 0.95), ("95%", 0.95), ("100%", 1.0), ("1%", 0.01), ("0", 0.0),
    ("0.5", 0.5), ("100", 1.0), (" 90 % ", 0.9),
])
def test_min_accuracy_is_a_fraction_or_a_percentage(weights, tiny_mnist, value, threshold):
    result = run_test(weights, tiny_mnist, "--json", "--min-accuracy", value)
    report = json.loads(result.stdout)
    assert report["min_accuracy"] == pytest.approx(threshold)
    assert report["passed"] is (report["accuracy"] >= threshold)
    assert result.exit_code == (0 if report["passed"] else 1)


@pytest.mark.parametrize("value, words", [
    ("1", "1 is ambiguous: write 100% (every digit right) or 1%"),
    ("120", "'120' is not in [0, 100]"), ("101%", "'101%' is not in [0, 100]"),
    ("-1", "is not in"),
    ("nan", "not a finite number"), ("most", "not a number"),
])
def test_min_accuracy_refuses_what_is_ambiguous_or_out_of_range(weights, tiny_mnist, value,
                                                                words):
    result = run_test(weights, tiny_mnist, "--min-accuracy", value)
    assert result.exit_code == 2 and words in result.stderr
    assert result.stdout == ""


def test_help_says_how_min_accuracy_reads():
    text = invoke("test", "--help").stdout
    assert "1 alone is refused as ambiguous" in " ".join(text.split())


def test_quiet_means_no_notes_on_stderr(weights, tiny_mnist):
    result = run_test(weights, tiny_mnist, "--json", "-q")
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["accuracy"] >= 0
    assert "Using" in run_test(weights, tiny_mnist, "--json").stderr


def test_the_report_names_the_checkpoint_it_tested(weights, tiny_mnist):
    """A CI script can tell its own run from the shipped model by the JSON alone."""
    report = json.loads(run_test(weights, tiny_mnist, "--json", "-q").stdout)
    assert report["weights"] == str(weights / "best.npz")


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_weights_folder_that_does_not_exist_fails_the_gate(
        tiny_mnist, tmp_path, monkeypatch, how):
    """A typo in --weights-dir (or MNISTNN_WEIGHTS_DIR), or a training step that never
    ran, must not pass a CI gate on the shipped model: one sentence, exit 1, no report."""
    missing = tmp_path / "weights-typo"
    args = ["test", "--data-dir", tiny_mnist, "--no-download", "--json", "-q",
            "--min-accuracy", "50%"]
    if how == "option":
        args += ["--weights-dir", missing]
    else:
        monkeypatch.setenv("MNISTNN_WEIGHTS_DIR", str(missing))
    result = invoke(*args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr == (f"Error: the weights folder {missing}/ does not exist, so "
                             f"nothing was trained there: check its name, or leave it out "
                             f"for the model that ships with mnistnn\n")
    assert not missing.exists()
