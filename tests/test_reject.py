""""Not a digit": the detector that ships (one file for every MNIST classifier), data sets
without one, fitting one, and what `classify` answers, on real PNG bytes of printed
letters, shapes and real digits."""
import json
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import invoke
from mnistnn import checkpoint, datasets, imaging, layout, reading, reject
from mnistnn.network import Network
from nondigit_images import glyph, nondigits, polygon_shape
from number_images import on_paper, pen_number
from test_imaging import encode, pen_mask, random_drawing

NOT_A_DIGIT = re.compile(r"^(?P<path>.+): not a digit \(closest: \d, \d+\.\d%\)$")


@pytest.fixture(scope="module")
def shipped():
    return checkpoint.load(checkpoint.SHIPPED)


def picture(image):
    """A Pillow 'L' drawing (255 = ink) as PNG bytes, dark ink on white."""
    return encode(Image.fromarray(255 - np.asarray(image)))


@pytest.fixture(scope="module")
def star_and_letter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nondigits")
    rng = np.random.default_rng(1)
    (folder / "star.png").write_bytes(picture(polygon_shape(rng, "star")))
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    # A bold "A" sits at the threshold (it is much like a closed 4): K is plainly no digit.
    (folder / "K.png").write_bytes(picture(glyph("K", font, np.random.default_rng(2))))
    (folder / "house.png").write_bytes(picture(polygon_shape(rng, "house")))
    return folder


def run(*args, input=None):
    return invoke(*args, input=input)


def test_one_detector_serves_every_mnist_classifier(shipped, tmp_path):
    detector = reject.for_network(shipped)
    assert detector is not None and detector.dataset == "mnist"
    assert detector.net.sizes[0] == 784 and detector.net.sizes[-1] == 2
    assert reading.can_reject(shipped)
    checkpoint.save(tmp_path / "mine.npz", Network([784, 10, 10], seed=1), {"config": {}})
    assert reject.for_network(checkpoint.load(tmp_path / "mine.npz")) is detector


def test_pieces_of_a_number_are_judged_by_the_detector_for_pieces(shipped, tmp_path,
                                                                  monkeypatch):
    """A detector that turns everything away, put in place of the one for pieces: every
    digit of a number is then not a digit, and a single digit is still read."""
    strict = reject.Detector(reject.for_network(shipped).net, 1e9)
    reject.save(tmp_path / "strict.npz", strict)
    monkeypatch.setitem(reject.PIECE_DETECTORS, "mnist", tmp_path / "strict.npz")
    rng = np.random.default_rng(3)
    ink, _ = pen_number([2, 3], rng, height=100)
    answer, _ = reading.read_number(shipped, on_paper(ink, rng, "white"), "23.png")
    assert answer["digits"] and all(d["digit"] is None for d in answer["digits"])
    assert answer["number"] is None
    three = picture(pen_mask(3, (80, 80), (15, 10, 50, 60), 6))
    assert reading.read_digit(shipped, three)[0]["digit"] == 3  # the whole-image detector


def smiley():
    """A face: a ring, two dots for eyes, an arc for a mouth (PNG bytes, dark on white).
    Read as a number, its ring alone is one piece, a fair 0 (the eyes are specks)."""
    from PIL import ImageDraw

    image = Image.new("L", (200, 200), 0)
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 30, 170, 170), outline=255, width=9)
    for x in (75, 125):
        draw.ellipse((x - 8, 70, x + 8, 86), fill=255)
    draw.arc((65, 80, 135, 140), 20, 160, fill=255, width=8)
    return picture(image)


def test_a_number_of_one_piece_is_judged_as_a_single_image_is(shipped):
    """With --number, an image whose line is one piece is judged by the detector for
    whole images, on all its ink: the smiley is not a digit either way (it was read as
    "0" when only its ring was judged, by the detector for pieces), and a drawn 7 is
    still a 7."""
    face = smiley()
    assert reading.read_digit(shipped, face)[0]["digit"] is None
    answer, _ = reading.read_number(shipped, face)
    assert answer["number"] is None and len(answer["digits"]) == 1
    assert answer["confidence"] is None      # not its closest digit's 99.9%: no number
    assert answer["digits"][0]["digit"] is None and answer["digits"][0]["closest"] == 0
    rng = np.random.default_rng(4)
    ink, _ = pen_number([7], rng, height=100)
    assert reading.read_number(shipped, on_paper(ink, rng, "white"))[0]["number"] == "7"


def test_one_digit_on_ruled_paper_is_read_without_number_too(shipped):
    """classify's single digit: the ruled lines are cleared before the MNIST form (they
    were kept, and 23 of 60 such digits were turned away, 24 misread)."""
    rng = np.random.default_rng(8)
    read = []
    for digit in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9):
        ink, _ = pen_number([digit], rng, height=100)
        read.append(reading.read_digit(shipped, on_paper(ink, rng, "ruled"))[0]["digit"])
    assert read == list(range(10))


def test_a_close_cropped_digits_bar_is_not_a_ruled_line():
    """One full-width bar (a 7's, cropped close) is left alone, and so is an image under
    imaging.PAGE pixels a side: paper shows several lines, and pages are not that small."""
    seven = np.zeros((120, 120), np.float32)
    seven[10:13, 2:118] = 1                                   # the bar, the whole width
    for y in range(13, 118):
        seven[y, 116 - (y - 13): 119 - (y - 13)] = 1            # the stroke down
    assert np.array_equal(layout.remove_rules(seven, least=2), seven)
    assert not np.array_equal(layout.remove_rules(seven), seven)   # a line's reading would
    small = np.zeros((60, 60), np.float32)
    small[10:12] = small[40:42] = 1                           # two "rules" in a small image
    small[5:55, 30:33] = 1
    assert np.array_equal(imaging.mnist_form(small), imaging.to_mnist(small))


def test_one_digit_on_ruled_paper_is_a_digit_with_number(shipped):
    """The whole image is judged without ruled paper's lines: with them, a digit shrank to
    a mark in a wide striped field and half of these were "not a digit"."""
    rng = np.random.default_rng(6)
    turned_away = []
    for digit in (1, 2, 3, 4, 5, 6, 7, 8):
        ink, _ = pen_number([digit], rng, height=100)
        answer, _ = reading.read_number(shipped, on_paper(ink, rng, "ruled"))
        turned_away += [digit] * any(d["digit"] is None for d in answer["digits"])
    assert turned_away == []


def test_other_data_sets_have_no_detector(tmp_path):
    checkpoint.save(tmp_path / "clothes.npz", Network([784, 10, 10], seed=1),
                    {"dataset": "fashion-mnist"})
    clothes = checkpoint.load(tmp_path / "clothes.npz")
    assert reject.for_network(clothes) is None and not reading.can_reject(clothes)
    assert "no \"not a digit\" detector for Fashion-MNIST" in reading.rejection_note(clothes)
    answer, _ = reading.read_digit(clothes, random_drawing(3, np.random.default_rng(1)))
    assert answer["digit"] is not None


def test_non_digits_are_rejected_and_digits_kept(shipped):
    detector = reject.for_network(shipped)
    non = np.stack([imaging.load_digit(b) for b, _ in nondigits("dev", 60, seed=5)])
    rng = np.random.default_rng(9)
    real = np.stack([imaging.load_digit(random_drawing(d, rng)) for d in np.arange(60) % 10])
    print(f"\nrejected: {1 - detector.accepts(non).mean():.0%} of 60 non-digits, "
          f"{1 - detector.accepts(real).mean():.0%} of 60 drawn digits")
    assert detector.accepts(non).mean() <= 0.25
    assert detector.accepts(real).mean() >= 0.95


def ruled_one(pen, lean=0, flag=False, foot=False, size=200):
    """A 1 drawn with a ruler, dark on white, as PNG bytes: a straight stem (leaning lean
    pixels over its height), with a flag and a foot if asked."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    head, end = (100 + lean / 2, 30), (100 - lean / 2, 170)
    draw.line([head, end], fill=0, width=pen)
    if flag:
        draw.line([head, (head[0] - 30, 55)], fill=0, width=pen)
    if foot:
        draw.line([(end[0] - 30, 170), (end[0] + 30, 170)], fill=0, width=pen)
    return encode(image)


def test_a_one_drawn_with_a_ruler_is_a_digit(shipped, tmp_path):
    # Upright to the pixel, a stroke is rare among MNIST's 1s and common among letters'
    # bars: the detector trained without such 1s turned every upright one away.
    ones = {f"one-{pen}-{lean}-{flag:d}{foot:d}.png": ruled_one(pen, lean, flag, foot)
            for pen in (3, 8, 16) for lean in (0, 6) for flag, foot in
            ((False, False), (True, False), (True, True))}
    for name, png in ones.items():
        (tmp_path / name).write_bytes(png)
    result = run("classify", tmp_path, "--json")
    assert result.exception is None and result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(ones) == 18
    assert all(a["digit"] == 1 for a in answers), [a for a in answers if a["digit"] != 1]


def test_mnist_test_digits_are_kept(mnist_dir, shipped):
    from mnistnn.idx import read_idx

    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:2000]
    kept = reject.for_network(shipped).accepts(images.reshape(-1, 784).astype(np.float32) / 255)
    assert kept.mean() >= 0.99


def test_a_detector_file_round_trips_and_is_checked(tmp_path, shipped):
    detector = reject.for_network(shipped)
    reject.save(tmp_path / "d.npz", detector)
    loaded = reject.load(tmp_path / "d.npz")
    assert loaded.threshold == pytest.approx(detector.threshold) and loaded.dataset == "mnist"
    assert (loaded.shift, loaded.keeps) == (detector.shift, detector.keeps)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.net.weights, detector.net.weights))
    two = Network([784, 5, 2], seed=1)
    checkpoint.save(tmp_path / "two.npz", two, {"detector": {"dataset": "mnist"}})
    with pytest.raises(checkpoint.CheckpointError, match="not a digit detector"):
        reject.load(tmp_path / "two.npz")
    with pytest.raises(checkpoint.CheckpointError, match="10 classes"):
        reject.load(checkpoint.SHIPPED)                  # a classifier, not a detector


def test_the_shipped_detectors_say_how_they_read():
    """Whole images with their four one-pixel shifts, at the share of training digits set
    for them; pieces of a line alone, at reject.KEEP (their scores feed the reading)."""
    whole = reject.load(reject.DETECTORS["mnist"])
    assert (whole.shift, whole.keeps) == (reject.SHIFT, reject.IMAGE_KEEP) == (1, 0.9985)
    pieces = reject.load(reject.PIECE_DETECTORS["mnist"])
    assert (pieces.shift, pieces.keeps) == (0, reject.KEEP)


def test_moved_images_bring_in_zeros():
    x = np.arange(1, 785, dtype=np.float32).reshape(1, 784)
    image = x.reshape(28, 28)
    down = reject.moved(x, 1, 0).reshape(28, 28)
    assert np.array_equal(down[1:], image[:-1]) and not down[0].any()
    left = reject.moved(x, 0, -2).reshape(28, 28)
    assert np.array_equal(left[:, :-2], image[:, 2:]) and not left[:, -2:].any()
    assert reject.moved(x, 0, 0) is x


def test_a_shifted_detector_averages_the_log_odds_of_the_moved_copies(shipped):
    """The log-odds of each image are the mean over it and its four one-pixel moves, one
    image at a time or many together; a digit pushed against the edge loses ink only in
    the moves that push it further."""
    net = reject.for_network(shipped).net
    plain, shifted = reject.Detector(net, 0), reject.Detector(net, 0, shift=1)
    rng = np.random.default_rng(4)
    x = np.stack([imaging.load_digit(random_drawing(d, rng)) for d in range(4)])
    x[3] = reject.moved(x[3:4], 0, 4)[0]                 # ink near the right edge
    moves = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    expected = np.mean([plain.log_odds(reject.moved(x, *m)) for m in moves], axis=0)
    assert np.allclose(shifted.log_odds(x), expected, atol=1e-4)
    assert np.allclose([shifted.log_odds(x[k:k + 1])[0] for k in range(4)], expected,
                       atol=1e-4)
    assert not np.allclose(shifted.log_odds(x), plain.log_odds(x), atol=1e-3)


def test_a_detector_file_with_a_bad_shift_is_refused(tmp_path, shipped):
    net = reject.for_network(shipped).net
    for about in ({"shift": 40}, {"shift": "1"}, {"keeps": 2}, {"keeps": None}):
        meta = {"detector": {"dataset": "mnist", "threshold": 0.0, **about}}
        checkpoint.save(tmp_path / "bad.npz", net, meta)
        with pytest.raises(checkpoint.CheckpointError, match="out of range"):
            reject.load(tmp_path / "bad.npz")


def test_fit_learns_to_tell_digits_from_textures():
    rng = np.random.default_rng(0)
    digits = np.zeros((600, 28, 28), dtype=np.float32)
    for k, d in enumerate(digits):                        # vertical bars: "digits"
        d[4:24, 12 + k % 4:15 + k % 4] = 1
    noise = (rng.random((100, 784)) < 0.3).astype(np.float32)   # speckle: not digits
    detector = reject.fit(digits.reshape(600, 784)[:500], noise, digits.reshape(600, 784)[500:],
                          epochs=3)
    assert detector.accepts(digits.reshape(600, 784)[500:]).mean() >= reject.KEEP - 0.01
    fresh = (rng.random((50, 784)) < 0.3).astype(np.float32)
    assert detector.accepts(fresh).mean() <= 0.1
    assert (detector.shift, detector.keeps) == (0, reject.KEEP)


def test_fit_sets_the_threshold_on_shifted_readings():
    """keep and shift given: the threshold is the quantile of the held-out digits' mean
    log-odds over their moved copies, and the file says how to read."""
    rng = np.random.default_rng(0)
    digits = np.zeros((400, 28, 28), dtype=np.float32)
    for k, d in enumerate(digits):
        d[4:24, 10 + k % 8:13 + k % 8] = 1
    digits = digits.reshape(400, 784)
    noise = (rng.random((100, 784)) < 0.3).astype(np.float32)
    detector = reject.fit(digits[:300], noise, digits[300:], epochs=2, keep=0.9, shift=1)
    assert (detector.shift, detector.keeps) == (1, 0.9)
    odds = reject.Detector(detector.net, 0, shift=1).log_odds(digits[300:])
    assert detector.threshold == pytest.approx(np.quantile(odds, 0.1), rel=1e-5)


# -- the command line ---------------------------------------------------------------------------

def test_classify_says_not_a_digit(star_and_letter, tmp_path):
    weights_dir = tmp_path          # empty: the shipped model
    result = run("classify", star_and_letter, "--weights-dir", weights_dir)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(NOT_A_DIGIT.match(line) for line in lines), lines
    as_json = run("classify", star_and_letter / "star.png", "--json", "--weights-dir", weights_dir)
    obj = json.loads(as_json.stdout)
    assert set(obj) == {"path", "digit", "label", "name", "closest", "confidence",
                        "probabilities"}
    assert obj["digit"] is obj["label"] is obj["name"] is None
    assert obj["confidence"] == obj["probabilities"][obj["closest"]]
    forced = run("classify", star_and_letter / "star.png", "--json", "--no-reject",
                 "--weights-dir", weights_dir)
    assert set(json.loads(forced.stdout)) == {"path", "digit", "label", "name", "confidence",
                                              "probabilities"}
    top = run("classify", star_and_letter / "star.png", "--top", "3", "--weights-dir",
              weights_dir)                                  # the runners-up are shown too
    line = top.stdout.strip()
    assert re.fullmatch(r".+: not a digit \(closest: \d, \d+\.\d%\); then \d \(\d+\.\d%\), "
                        r"\d \(\d+\.\d%\)", line), line


def test_your_own_model_says_not_a_digit_without_any_fitting(star_and_letter, tmp_path):
    checkpoint.save(tmp_path / "mine.npz", Network([784, 10, 10], seed=1))
    result = run("classify", star_and_letter / "star.png", "--weights", tmp_path / "mine.npz")
    assert result.exit_code == 0 and "detector" not in result.stderr
    assert NOT_A_DIGIT.match(result.stdout.strip()), result.stdout


def test_a_fashion_model_says_it_has_no_detector(star_and_letter, tmp_path):
    checkpoint.save(tmp_path / "clothes.npz", Network([784, 10, 10], seed=1),
                    {"dataset": "fashion-mnist"})
    result = run("classify", star_and_letter / "star.png", "--weights", tmp_path / "clothes.npz")
    assert result.exit_code == 0, result.stderr
    name = "|".join(re.escape(c) for c in datasets.get("fashion-mnist").classes)
    assert re.match(rf".+star\.png: ({name}) \(\d+\.\d%\)$", result.stdout.strip())
    assert 'no "not a digit" detector for Fashion-MNIST' in result.stderr
    quiet = run("classify", star_and_letter / "star.png", "--no-reject",
                "--weights", tmp_path / "clothes.npz")
    assert quiet.exit_code == 0 and "detector" not in quiet.stderr


def test_a_number_with_a_piece_turned_away_has_no_confidence():
    """'20?6': a rejected piece's confidence is its closest digit's probability, no
    measure of the number, so the number's confidence is null; with every piece a
    digit it is their product."""
    def piece(digit, confidence, is_digit=True):
        return reading.digit_answer(np.eye(10)[digit] * confidence, is_digit)
    whole = reading.number_answer([piece(2, 0.5), piece(0, 0.5)])
    assert whole["number"] == "20" and whole["confidence"] == 0.25
    partial = reading.number_answer([piece(2, 0.5), piece(0, 0.99, is_digit=False)])
    assert partial["number"] == "2?" and partial["confidence"] is None
