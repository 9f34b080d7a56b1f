"""`mnistnn classify --number` in-process (CliRunner + tmp_path) on real PNG and JPEG bytes:
the text and JSON answers, --annotate, --save-preprocessed, and bad inputs."""
import json
import re

import numpy as np
import pytest
from PIL import Image

from conftest import invoke
from mnistnn import checkpoint
from mnistnn.idx import read_idx
from number_images import crop_ink, on_paper, pen_number, scaled

LINE = re.compile(r"^(?P<path>.+): (?P<number>\d+)  \((?P<percents>(\d+\.\d% ?)+)\)$")


def run(*args, input=None):
    arguments = ["classify", *map(str, args), "--weights", str(checkpoint.SHIPPED)]
    return invoke(*arguments, input=input)


@pytest.fixture
def numbers(tmp_path):
    """Two numbers drawn with a pen: 2026 on white (PNG), 314 on ruled paper (JPEG)."""
    rng = np.random.default_rng(3)
    files = {}
    for text, name, style in (("2026", "meter.png", "white"), ("314", "pi.jpg", "ruled")):
        ink, boxes = pen_number([int(c) for c in text], rng, height=120)
        files[text] = (tmp_path / name, boxes)
        files[text][0].write_bytes(on_paper(ink, rng, style))
    return files


def test_text_answer_one_line_per_image(numbers):
    paths = [path for path, _ in numbers.values()]
    result = run(*paths, "--number")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for (text, (path, _)), line in zip(numbers.items(), lines):
        match = LINE.match(line)
        assert match and match["path"] == str(path) and match["number"] == text, line
        assert len(match["percents"].split()) == len(text)


def test_json_answer(numbers):
    path, boxes = numbers["2026"]
    result = run(path, "--number", "--json")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert set(obj) == {"path", "number", "confidence", "digits"} and obj["number"] == "2026"
    assert obj["confidence"] == pytest.approx(np.prod([d["confidence"] for d in obj["digits"]]),
                                              abs=1e-5)
    for digit, box, truth in zip(obj["digits"], boxes, "2026"):
        assert set(digit) == {"digit", "label", "name", "confidence", "box", "probabilities"}
        assert digit["digit"] == digit["label"] == int(truth) and digit["name"] == truth
        assert len(digit["probabilities"]) == 10
        assert np.abs(np.array(digit["box"]) - box).max() <= 4


def test_annotate_one_image_and_a_folder(numbers, tmp_path):
    path, boxes = numbers["2026"]
    out = tmp_path / "read.png"
    result = run(path, "--number", "--annotate", out)
    assert result.exit_code == 0, result.output
    drawn = np.asarray(Image.open(out).convert("RGB"), dtype=int)
    assert drawn.shape[:2] == np.asarray(Image.open(path)).shape[:2]
    x0, y0, x1, y1 = boxes[0]
    green = (drawn[..., 1] > 120) & (drawn[..., 0] < 80) & (drawn[..., 2] < 80)
    assert green[y0:y1, x0 - 3:x0 + 4].any(axis=1).mean() > 0.9      # the first box's left side
    again = run(path, "--number", "--annotate", out)
    assert again.exit_code == 0, again.output             # its own picture: made again
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"a person's own file")
    refused = run(path, "--number", "--annotate", mine)   # refused before any work
    assert refused.exit_code == 2 and mine.read_bytes() == b"a person's own file"
    assert f"{mine} already exists and is not a picture mnistnn made" in refused.stderr
    assert refused.stdout == "" and "Using" not in refused.stderr
    copy = tmp_path / "copy.png"
    copy.write_bytes(out.read_bytes())                    # an input that mnistnn drew
    refused = run(copy, "--number", "--annotate", copy)
    assert refused.exit_code == 1 and f"{copy} is one of the images read" in refused.stderr
    assert refused.stdout.startswith(f"{copy}: 2026")     # read and answered all the same
    assert copy.read_bytes() == out.read_bytes()
    folder = tmp_path / "annotated"
    both = run(*[p for p, _ in numbers.values()], "--number", "--annotate", folder)
    assert both.exit_code == 0, both.output
    assert sorted(p.name for p in folder.iterdir()) == ["meter.png", "pi.png"]
    (folder / "pi.png").write_bytes(b"a person's own file")
    again = run(*[p for p, _ in numbers.values()], "--number", "--annotate", folder)
    assert again.exit_code == 0, again.output             # meter.png made again, pi.png kept
    assert sorted(p.name for p in folder.iterdir()) == ["meter.png", "pi-2.png", "pi.png"]
    assert (folder / "pi.png").read_bytes() == b"a person's own file"
    for one in (out, tmp_path / "new.png"):   # one picture's name for several images
        refused = run(*[p for p, _ in numbers.values()], "--number", "--annotate", one)
        assert refused.exit_code == 2 and refused.stdout == ""
        assert (f"--annotate names one picture ({one}) but several images are read: give a "
                f"folder for their pictures") in refused.stderr
    assert not (tmp_path / "new.png").exists() and out.read_bytes() == copy.read_bytes()


def test_a_number_read_as_one_digit_gets_a_hint_to_use_number(numbers, tmp_path):
    """Without --number, "2026" is still answered as one digit (that is what was asked),
    and stderr says that its writing stands apart like a number's; a single digit and
    the JSON on stdout get nothing more."""
    path, _ = numbers["2026"]
    result = run(path, "--json")
    assert result.exit_code == 0 and set(json.loads(result.stdout)) >= {"digit", "confidence"}
    assert (f"{path}: its writing stands apart in pieces side by side, as a number's digits "
            f"do: --number reads a whole number") in result.stderr
    rng = np.random.default_rng(5)
    ink, _ = pen_number([4], rng, height=120)
    one = tmp_path / "four.png"
    one.write_bytes(on_paper(ink, rng, "white"))
    alone = run(one)
    assert alone.exit_code == 0 and "--number" not in alone.stderr


def test_a_mark_left_out_between_digits_is_told(numbers, tmp_path):
    """'7.0' was read as 70 without a word: a mark between two digits that the number has
    no place for (a decimal point, a comma, a dash) gets a note on stderr; the number,
    and a number with no such mark, are as before."""
    rng = np.random.default_rng(4)
    ink, boxes = pen_number([7, 0, 5], rng, height=120)
    x = (boxes[0][2] + boxes[1][0]) // 2                 # between the 7 and the 0
    y = max(boxes[0][3], boxes[1][3]) - 8                 # at the line's foot
    ink[y - 7:y + 7, x - 7:x + 7] = 1                     # a decimal point
    (tmp_path / "dot.png").write_bytes(on_paper(ink, rng, "white"))
    assert_read_with_a_mark(tmp_path / "dot.png", "705", "between digits 1 and 2")
    plain = run(numbers["2026"][0], "--number")
    assert LINE.match(plain.stdout.strip())["number"] == "2026"
    assert "a mark" not in plain.stderr


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gap", [4, 8, 14])
def test_a_point_close_beside_a_digit_is_told_not_taken_into_it(mnist_dir, tmp_path, seed, gap):
    """'12.50' written with the point a few pixels from a digit: the point was taken into
    that digit's piece (the 2's box reached over it, or the 5's, whose bar reaches over
    it) and the number was 1250 with no word. A point beside a digit at the line's foot
    is never part of it (segment.loose_points): the note tells of it."""
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    ink, x = np.zeros((200, 700), np.float32), 40
    for n, label in enumerate((1, 2, 5, 0)):
        glyph = scaled(crop_ink(images[np.flatnonzero(labels == label)[3 * seed + n]]), 110)
        ink[40:150, x:x + glyph.shape[1]] = glyph
        x += glyph.shape[1] + 20
        if label == 2:                                        # the point: 14 px, near the 2
            ink[136:150, x - 20 + gap:x - 6 + gap] = 1
            x += 2 * gap - 6
    (tmp_path / "price.png").write_bytes(on_paper(ink, None, "white"))
    assert_read_with_a_mark(tmp_path / "price.png", "1250", "between digits 2 and 3")


def assert_read_with_a_mark(path, number, where):
    """`classify --number path` reads number, and notes a decimal point's place."""
    result = run(path, "--number")
    assert result.exception is None and result.exit_code == 0, result.output
    assert LINE.match(result.stdout.strip())["number"] == number
    assert (f"{path}: a mark {where} is not part of the number read (a decimal point, a "
            f"comma or a dash?)") in result.stderr


@pytest.mark.parametrize("digits", [[5], [1, 2]])
def test_a_minus_sign_left_out_is_told(digits, tmp_path):
    """'-5' was read as 5 without a word: a mark before the first digit, within the
    line's band, gets its note too (one digit or several)."""
    rng = np.random.default_rng(4)
    ink, boxes = pen_number(digits, rng, height=120)
    ink = np.pad(ink, ((0, 0), (90, 0)))                  # room on the left
    y = (boxes[0][1] + boxes[0][3]) // 2
    ink[y - 5:y + 5, 20:70] = 1                           # a dash before the number
    (tmp_path / "minus.png").write_bytes(on_paper(ink, rng, "white"))
    result = run(tmp_path / "minus.png", "--number")
    assert result.exception is None and result.exit_code == 0, result.output
    assert LINE.match(result.stdout.strip())["number"] == "".join(map(str, digits))
    assert (f"{tmp_path / 'minus.png'}: a mark before the first digit is not part of the "
            f"number read (a minus sign?)") in result.stderr


def test_marks_between_digits_are_marks_in_the_line_not_dust_or_digits():
    from mnistnn import layout

    ink = np.zeros((200, 400), np.float32)
    boxes = [(20, 40, 100, 160), (200, 40, 280, 160)]
    for x0, y0, x1, y1 in boxes:
        ink[y0:y1, x0:x1] = 1
    dot = ink.copy()
    dot[140:155, 140:155] = 1                                   # 15 px: a point
    assert layout.marks_between(dot, boxes) == [0]
    speck = ink.copy()
    speck[150:153, 150:153] = 1                                 # 3 px: dust
    above = ink.copy()
    above[5:20, 140:155] = 1                                    # over the line
    big = ink.copy()
    big[60:140, 130:170] = 1                                    # digit-sized: read if a digit
    assert layout.marks_between(speck, boxes) == layout.marks_between(above, boxes) == \
        layout.marks_between(big, boxes) == layout.marks_between(dot, boxes[:1]) == []
    minus = ink.copy()
    minus[95:105, 2:18] = 1                                     # before the first digit
    far = np.pad(ink, ((0, 0), (300, 0)))
    far[95:105, 2:18] = 1                                       # a line's height away
    shifted = [(x0 + 300, y0, x1 + 300, y1) for x0, y0, x1, y1 in boxes]
    assert layout.marks_between(minus, boxes) == [-1]
    assert layout.marks_between(np.maximum(minus, dot), boxes) == [-1, 0]
    assert layout.marks_between(far, shifted) == []


def test_pictures_are_not_written_into_a_folder_being_read(numbers, tmp_path):
    """Run twice, pictures written into a folder being read would be read as images the
    second time, and their pictures written too: refused, before any work."""
    folder = numbers["2026"][0].parent
    before = sorted(p.name for p in folder.iterdir())
    for option in ("--annotate", "--save-preprocessed"):
        refused = run(folder, "--number", option, folder / ".")
        assert refused.exit_code == 2 and refused.stdout == ""
        assert refused.exception is None or isinstance(refused.exception, SystemExit)
        assert f"{option} {folder / '.'} is a folder of images being read" in refused.stderr
        assert sorted(p.name for p in folder.iterdir()) == before
    out = tmp_path / "read"
    assert run(folder, "--number", "--annotate", out).exit_code == 0   # another folder: fine


def test_a_folder_of_pictures_that_cannot_be_written_is_refused_before_the_work(
        numbers, tmp_path, read_only):
    (tmp_path / "ro").mkdir()
    folder = read_only(tmp_path / "ro")
    result = run(*[p for p, _ in numbers.values()], "--number", "--annotate", folder)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"Invalid value for --annotate: cannot write pictures into {folder}/: " \
        in result.stderr
    assert list(folder.iterdir()) == []


def test_a_picture_that_cannot_be_written_does_not_hide_the_reading(numbers, tmp_path,
                                                                    monkeypatch):
    from mnistnn import pictures

    real = pictures.save_png

    def full_disk_for_pi(image, path, about=""):
        if path.name == "pi.png":
            raise OSError(28, "No space left on device", str(path))
        real(image, path, about)

    monkeypatch.setattr(pictures, "save_png", full_disk_for_pi)
    folder = tmp_path / "annotated"
    result = run(*[p for p, _ in numbers.values()], "--number", "--annotate", folder)
    assert result.exit_code == 1
    assert sorted(line.split(":")[1].split()[0] for line in result.stdout.splitlines()) \
        == ["2026", "314"]                                # both numbers answered
    pi = numbers["314"][0]
    assert f"Error: {pi}: cannot write the annotated picture: No space left on device" \
        in result.stderr
    assert result.stderr.splitlines()[-1] == "Error: 1 of 2 annotated pictures could not be written"
    assert sorted(p.name for p in folder.iterdir()) == ["meter.png"]
    for bad, words in (("read.jpg", "does not end in .png"),
                       ("nodir/read.png", "does not exist")):
        result = run(pi, "--number", "--annotate", tmp_path / bad)
        assert result.exit_code == 2 and "--annotate" in result.stderr and words in result.stderr


def test_save_preprocessed_writes_every_digit(numbers, tmp_path):
    path, _ = numbers["314"]
    out = tmp_path / "seen"
    result = run(path, "--number", "--save-preprocessed", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["pi-1.png", "pi-2.png", "pi-3.png"]


def test_bad_inputs_get_one_sentence_and_the_rest_an_answer(numbers, tmp_path):
    blank = tmp_path / "blank.png"
    blank.write_bytes(on_paper(np.zeros((200, 3000)), np.random.default_rng(0), "white"))
    rng = np.random.default_rng(1)
    long_line = tmp_path / "long.png"
    long_line.write_bytes(on_paper(pen_number(np.arange(60) % 10, rng, height=30)[0], rng,
                                   "white"))
    path, _ = numbers["2026"]
    result = run(blank, path, long_line, "--number")
    assert result.exit_code == 1
    assert LINE.match(result.stdout.strip())["number"] == "2026"
    errors = result.stderr.splitlines()
    assert any(line.startswith(f"Error: {blank}: no digit found") for line in errors)
    assert any(line.startswith(f"Error: {long_line}: the line holds more than 40")
               for line in errors)
    as_json = run(blank, path, "--number", "--json")
    objects = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert set(objects[0]) == {"path", "error"} and objects[1]["number"] == "2026"


def test_stdin_and_usage(numbers):
    path, _ = numbers["2026"]
    result = run("-", "--number", input=path.read_bytes())
    assert result.exit_code == 0 and result.stdout.startswith("<stdin>: 2026  ("), result.output
    assert run(path, "--number", "--top", "3").exit_code == 2
    assert run(path, "--annotate", "x.png").exit_code == 2
    assert "--number" in run("--help").output


def test_two_lines_of_writing_are_one_sentence_not_a_garbled_number(tmp_path):
    """'123' above '4567' was read as '14??7', its boxes across both lines: two lines
    one above the other are now one sentence (exit 1); an underline, a dot above or a
    rising line is still one line."""
    from mnistnn import layout

    rng = np.random.default_rng(6)
    top, _ = pen_number([1, 2, 3], rng, height=100)
    bottom, _ = pen_number([4, 5, 6, 7], rng, height=100)
    width = max(top.shape[1], bottom.shape[1])
    gap = np.zeros((40, width), np.float32)
    two = np.vstack([np.pad(top, ((0, 0), (0, width - top.shape[1]))), gap,
                     np.pad(bottom, ((0, 0), (0, width - bottom.shape[1])))])
    (tmp_path / "two.png").write_bytes(on_paper(two, rng, "white"))
    result = run(tmp_path / "two.png", "--number")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.endswith(f"Error: {tmp_path / 'two.png'}: 2 lines of writing lie one "
                                  f"above the other, and a number is one line: crop the "
                                  f"image to the line to read\n")
    under = np.pad(bottom, ((30, 20), (0, 0)))
    under[-6:, :] = 1                                           # an underline
    under[5:15, 20:30] = 1                                      # a dot above
    rising = np.zeros((300, 400), np.float32)
    for k in range(4):                                          # each digit higher
        rising[150 - 30 * k:250 - 30 * k, 100 * k + 10:100 * k + 20] = 1
    lines = [layout.lines_of_writing(layout.component_boxes(ink))
             for ink in (two, under, rising)]
    assert lines == [2, 1, 1]


@pytest.mark.parametrize("side", [2400, 4000])
def test_a_number_written_small_in_a_large_photo_is_read(side, tmp_path):
    """60 pixels tall in a 2400x1800 photo, reduced to 1024 a side and then blurred as
    much as a small image, "4721" was read as 72 (and as "not a digit" in a 4000x3000
    one): the blur now counts the averaging the reduction did."""
    rng = np.random.default_rng(8)
    ink, _ = pen_number([4, 7, 2, 1], rng, height=60)
    photo = np.full((side * 3 // 4, side), 0.0, np.float32)
    photo[800:800 + ink.shape[0], 900:900 + ink.shape[1]] = ink
    image = Image.fromarray(np.uint8(np.round(255 * (1 - 0.85 * photo)))).convert("RGB")
    image.save(tmp_path / "photo.jpg", quality=90)
    result = run(tmp_path / "photo.jpg", "--number")
    assert result.exception is None and result.exit_code == 0, result.output
    assert LINE.match(result.stdout.strip())["number"] == "4721"
