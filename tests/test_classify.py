"""`mnistnn classify` in-process (CliRunner + tmp_path) on real image files, and the model
and sample images that ship with the project."""
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import mnistnn.checkpoint
import mnistnn.imaging
from mnistnn import checkpoint
from mnistnn.cli_classify import find_images
from mnistnn.idx import read_idx
from mnistnn.network import Network
from conftest import invoke
from test_imaging import BAD, WRITERS, pen_mask, style

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
LINE = re.compile(r"^(?P<path>.+): (?P<digit>\d) \((?P<percent>\d+\.\d)%\)$")


def run(*args, input=None):
    return invoke("classify", *args, input=input)


@pytest.fixture
def good(tmp_path):
    """Three good images: a seven (PNG), a three (JPEG) and a four on a transparent canvas."""
    files = {}
    for digit, name, kind in ((7, "seven.png", "black-on-white"), (3, "three.jpg", "jpeg"),
                              (4, "four.png", "transparent")):
        mask = pen_mask(digit, (240, 300), (40, 30, 150, 230), 18)
        files[digit] = tmp_path / name
        files[digit].write_bytes(style(mask, kind))
    return files


@pytest.fixture
def weights_dir(tmp_path):
    """An empty weights folder: classify falls back to the shipped model."""
    folder = tmp_path / "weights"
    folder.mkdir()
    return folder


def test_text_output_one_line_per_file(good, weights_dir):
    result = run(*good.values(), "--weights-dir", weights_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for (digit, path), line in zip(good.items(), lines):
        match = LINE.match(line)
        assert match, line
        assert match["path"] == str(path) and int(match["digit"]) == digit
        assert 50 < float(match["percent"]) <= 100
    assert "Using the model that ships with mnistnn" in result.stderr


def test_top_shows_the_runners_up(good, weights_dir):
    result = run(good[7], "--top", "3", "--weights-dir", weights_dir)
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert re.fullmatch(r".+: 7 \(\d+\.\d%\); then \d \(\d+\.\d%\), \d \(\d+\.\d%\)", line), line
    digits = re.findall(r"(\d) \(", line)
    percents = [float(p) for p in re.findall(r"\((\d+\.\d)%\)", line)]
    assert len(set(digits)) == 3 and percents == sorted(percents, reverse=True)
    assert run(good[7], "--top", "11").exit_code == 2


def test_json_lines_schema(good, weights_dir):
    result = run(*good.values(), "--json", "--weights-dir", weights_dir)
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 3
    for (digit, path), obj in zip(good.items(), objects):
        assert set(obj) == {"path", "digit", "label", "name", "confidence", "probabilities"}
        assert obj["path"] == str(path) and obj["digit"] == obj["label"] == digit
        assert obj["name"] == str(digit)
        p = obj["probabilities"]
        assert len(p) == 10 and all(isinstance(v, float) and 0 <= v <= 1 for v in p)
        assert abs(sum(p) - 1) < 1e-4
        assert obj["confidence"] == p[digit] == max(p)


def test_a_batch_with_bad_files_still_answers_the_good_ones(good, tmp_path, weights_dir):
    bad = []
    for name, (data, _) in BAD.items():
        bad.append(tmp_path / name)
        bad[-1].write_bytes(data)
    bad.append(tmp_path / "does-not-exist.png")
    # Awkward but valid images are answered too: animated GIF, 16-bit PNG, CMYK JPEG.
    ink = np.asarray(pen_mask(7, (240, 300), (40, 30, 150, 230), 18))
    awkward = []
    for kind in ("animated-gif", "16-bit-png", "cmyk-jpeg"):
        awkward.append(tmp_path / f"seven-{kind}.{kind.rsplit('-', 1)[1]}")
        awkward[-1].write_bytes(WRITERS[kind](ink))
    paths = [good[7], *bad, good[3], *awkward]

    text = run(*paths, "--weights-dir", weights_dir)
    assert text.exit_code == 1
    answers = [LINE.match(line) for line in text.stdout.splitlines()]
    assert [(m["path"], int(m["digit"])) for m in answers] == [
        (str(good[7]), 7), (str(good[3]), 3), *((str(p), 7) for p in awkward)]
    errors = [line for line in text.stderr.splitlines() if not line.startswith("Using")]
    assert len(errors) == len(bad) + 1                   # one line per bad file, then a sum
    for path, line in zip(bad, errors):
        assert line.startswith(f"Error: {path}: "), line
    assert errors[-1] == f"Error: no answer for {len(bad)} of {len(paths)} images"

    as_json = run(*paths, "--json", "--weights-dir", weights_dir)
    assert as_json.exit_code == 1
    objects = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [o["path"] for o in objects] == [str(p) for p in paths]
    for o in objects:
        failed = Path(o["path"]) in bad
        assert set(o) == ({"path", "error"} if failed else
                          {"path", "digit", "label", "name", "confidence", "probabilities"})
        if failed:
            assert o["error"].startswith(o["path"] + ": ") and "\n" not in o["error"]


def test_an_unreadable_file_is_one_sentence_and_the_others_are_read(
        good, weights_dir, tmp_path, monkeypatch):
    """A file the user may not read (permissions) is one of the files, not a usage error
    that stops the run: the others are answered, exit status 1. Simulated, since tests may
    run as root: os.access (what a non-root user's check sees) and open refuse it."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(good[7].read_bytes())
    refuse(monkeypatch, secret, mnistnn.imaging)

    result = run(secret, good[3], "--weights-dir", weights_dir)
    assert result.exit_code == 1                    # not 2: not a usage error
    answers = [LINE.match(line) for line in result.stdout.splitlines()]
    assert [(m["path"], m["digit"]) for m in answers] == [(str(good[3]), "3")]
    errors = [line for line in result.stderr.splitlines() if not line.startswith("Using")]
    assert errors == [f"Error: {secret}: cannot be read (Permission denied)",
                      "Error: no answer for 1 of 2 images"]

    alone = run(secret, "--weights-dir", weights_dir)           # one image: one sentence
    assert alone.exit_code == 1
    assert [line for line in alone.stderr.splitlines() if not line.startswith("Using")] == [
        f"Error: {secret}: cannot be read (Permission denied)"]


def refuse(monkeypatch, secret, module):
    """Make the file secret unreadable for this user, as a non-root user without read
    permission finds it: os.access says no, and module's open raises PermissionError."""
    access, real_open = os.access, open

    def refused(path, *args, **kwargs):
        if Path(path) == secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "access", lambda path, mode, **kwargs: Path(path) != secret
                        and access(path, mode, **kwargs))
    monkeypatch.setattr(module, "open", refused, raising=False)


def test_an_unreadable_checkpoint_is_one_sentence(good, tmp_path, monkeypatch):
    """--weights naming a file the user may not read: exit status 1 and a sentence, as for
    a missing one (not click's usage error); simulated as above."""
    secret = tmp_path / "secret.npz"
    checkpoint.save(secret, Network([784, 10, 10]))
    refuse(monkeypatch, secret, mnistnn.checkpoint)
    result = run(good[7], "--weights", secret)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == f"Error: {secret}: cannot be read (Permission denied)"


def test_stdin_given_twice_is_a_usage_error(good, weights_dir):
    """The second - would find stdin empty; it is refused up front."""
    result = run("-", "-", "--weights-dir", weights_dir, input=good[3].read_bytes())
    assert result.exit_code == 2 and result.stdout == ""
    assert "- (an image on stdin) can be given once" in result.stderr


def test_stdin(good, weights_dir):
    result = run("-", "--json", "--weights-dir", weights_dir, input=good[3].read_bytes())
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["path"] == "<stdin>" and obj["digit"] == 3
    empty = run("-", "--weights-dir", weights_dir, input=b"")
    assert empty.exit_code == 1 and "<stdin>: empty (0 bytes came in), not an image" in empty.stderr


def test_a_folder_stands_for_its_images(good, tmp_path, weights_dir):
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"")
    result = run(tmp_path, "--weights-dir", weights_dir)
    assert result.exit_code == 0, result.output
    names = [Path(LINE.match(line)["path"]).name for line in result.stdout.splitlines()]
    assert names == ["four.png", "seven.png", "three.jpg"]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(empty, good[7], "--weights-dir", weights_dir)
    assert result.exit_code == 1
    assert f"{empty}: no image files" in result.stderr and "seven.png: 7" in result.stdout


def test_find_images_lists_only_images(tmp_path):
    for name in ("b.PNG", "a.jpg", "notes.txt", ".hidden.png", "c.webp", "d.jfif"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in find_images(tmp_path)] == ["a.jpg", "b.PNG", "c.webp", "d.jfif"]


def test_save_preprocessed_writes_what_the_network_saw(good, tmp_path, weights_dir):
    from mnistnn.imaging import load_digit

    out = tmp_path / "seen"
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "seven.png").write_bytes(good[3].read_bytes())    # the same name, another digit
    result = run(good[7], twin / "seven.png", "--save-preprocessed", out,
                 "--weights-dir", weights_dir)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["seven-2.png", "seven.png"]
    for source, saved in ((good[7], "seven.png"), (twin / "seven.png", "seven-2.png")):
        image = np.asarray(Image.open(out / saved).convert("L"))
        assert image.shape == (280, 280)
        expected = np.round(255 * load_digit(source).reshape(28, 28))
        assert np.abs(image[5::10, 5::10] - expected).max() <= 1     # 10x10 blocks
        assert f"the network saw {out / saved}" in result.stderr


def test_weights_lookup_prefers_the_weights_folder(good, weights_dir):
    checkpoint.save(weights_dir / "latest.npz", Network([784, 10, 10], seed=1))
    result = run(good[7], "--weights-dir", weights_dir)
    assert result.exit_code == 0 and f"Using {weights_dir / 'latest.npz'}" in result.stderr
    checkpoint.save(weights_dir / "best.npz", Network([784, 10, 10], seed=2))
    result = run(good[7], "--weights-dir", weights_dir)
    assert f"Using {weights_dir / 'best.npz'}" in result.stderr
    result = run(good[7], "--weights", checkpoint.SHIPPED, "--weights-dir", weights_dir)
    assert "Using the model that ships with mnistnn" in result.stderr


def test_a_bad_weights_file_is_one_sentence(good, tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a checkpoint")
    result = run(good[7], "--weights", tmp_path / "bad.npz")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {tmp_path / 'bad.npz'}: not an mnistnn checkpoint "
                             f"(not an .npz archive)\n")


def test_usage():
    assert run().exit_code == 2
    help_text = run("--help").stdout
    assert "Example" in help_text and "--save-preprocessed" in help_text


# -- what ships -------------------------------------------------------------------------

def test_the_samples_are_read_as_the_digit_in_their_name(weights_dir):
    result = run(SAMPLES, "--json", "--weights-dir", weights_dir)
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) >= 5 and {Path(o["path"]).suffix for o in objects} >= {".png", ".jpg"}
    for obj in objects:
        assert obj["digit"] == int(Path(obj["path"]).name[0]), obj


def test_the_samples_are_made_by_the_script(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg"))
    for name in made:
        ours = np.asarray(Image.open(tmp_path / name), dtype=np.int16)
        theirs = np.asarray(Image.open(SAMPLES / name), dtype=np.int16)
        assert ours.shape == theirs.shape and np.abs(ours - theirs).mean() < 1, name


def test_the_shipped_model_is_small_and_accurate(mnist_dir):
    assert checkpoint.SHIPPED.stat().st_size <= 4 * 1024 * 1024
    net = checkpoint.load(checkpoint.SHIPPED)
    assert net.meta["config"]["seed"] is not None        # made by `mnistnn train`
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    accuracy = net.accuracy(images.reshape(len(images), -1).astype(np.float32) / 255, labels)
    print(f"\nshipped model: {accuracy:.2%} on the MNIST test set")
    assert accuracy >= 0.98


# -- --save-preprocessed never overwrites, and never stops the others (issue 13, D11, D12) --

def test_save_preprocessed_into_the_input_folder_keeps_every_input(good, weights_dir):
    photos = good[7].parent
    (photos / "mine.png").write_bytes(good[4].read_bytes())  # a person's own file
    (photos / "four.png").rename(photos / "four-original.png")
    before = {p.name: p.read_bytes() for p in photos.iterdir() if p.is_file()}
    result = run(good[7], good[3], photos / "four-original.png", "--save-preprocessed",
                 photos, "--weights-dir", weights_dir)
    assert result.exit_code == 0, result.output
    for name, data in before.items():
        assert (photos / name).read_bytes() == data, name       # not one byte changed
    assert f"the network saw {photos / 'seven-2.png'} ({photos / 'seven.png'} is an input: " \
           f"left as it was)" in result.stderr
    assert f"the network saw {photos / 'three.png'}" in result.stderr   # three.jpg: no clash
    again = run(good[7], "--save-preprocessed", photos, "--weights-dir", weights_dir)
    assert f"the network saw {photos / 'seven-2.png'}" in again.stderr  # its own: rewritten
    assert again.exit_code == 0 and (photos / "mine.png").read_bytes() == before["mine.png"]


def test_save_preprocessed_keeps_a_file_that_is_not_its_own(good, tmp_path, weights_dir):
    out = tmp_path / "seen"
    out.mkdir()
    (out / "seven.png").write_bytes(b"a person's notes")
    result = run(good[7], "--save-preprocessed", out, "--weights-dir", weights_dir)
    assert result.exit_code == 0
    assert (out / "seven.png").read_bytes() == b"a person's notes"
    assert f"{out / 'seven.png'} is not a picture of mnistnn's: left as it was" in result.stderr
    assert Image.open(out / "seven-2.png").size == (280, 280)


def test_save_preprocessed_into_a_read_only_folder_is_refused_before_the_work(
        good, tmp_path, weights_dir, read_only):
    (tmp_path / "ro").mkdir()
    folder = read_only(tmp_path / "ro")
    result = run(*good.values(), "--save-preprocessed", folder, "--weights-dir", weights_dir)
    assert result.exit_code == 2 and result.stdout == ""      # a bad option, as --annotate's
    assert f"Invalid value for --save-preprocessed: cannot write pictures into {folder}/: " \
        in result.stderr


def test_one_picture_that_cannot_be_saved_does_not_stop_the_others(good, tmp_path,
                                                                   weights_dir, monkeypatch):
    from mnistnn import pictures

    real = pictures.save_png

    def full_disk_for_three(image, path, text=None):
        if path.name == "three.png":
            raise OSError(28, "No space left on device", str(path))
        real(image, path, text)

    monkeypatch.setattr(pictures, "save_png", full_disk_for_three)
    out = tmp_path / "seen"
    result = run(*good.values(), "--save-preprocessed", out, "--weights-dir", weights_dir)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 3                     # every image answered
    assert f"Error: {good[3]}: cannot save what the network saw: No space left on device" \
        in result.stderr
    assert result.stderr.splitlines()[-1] == "Error: 1 of 3 preprocessed images could not be saved"
    assert sorted(p.name for p in out.iterdir()) == ["four.png", "seven.png"]
