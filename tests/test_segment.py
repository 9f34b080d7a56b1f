"""Reading whole numbers: segment.py's parts against independent oracles, and
reading.read_number on real PNG and JPEG bytes of numbers made of MNIST *test* digits and of
Pillow pen strokes, in every way the issue lists."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw, ImageFont

from mnistnn import checkpoint, context, cuts, imaging, layout, reading, reject, segment, touching
from mnistnn.errors import ImageError
from mnistnn.idx import read_idx
from mnistnn.network import Network
from number_images import crop_ink, iou, mnist_number, on_paper, pen_number, ringed, scaled
from test_imaging import arc, encode, pen_mask


@pytest.fixture(scope="module")
def shipped():
    return checkpoint.load(checkpoint.SHIPPED)


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    """The MNIST *test* digits and labels (numbers are never made of training digits)."""
    return (read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz"),
            read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz"))


def read(net, data):
    answer, _ = reading.read_number(net, data, "number.png", reject=False)
    return answer


# -- the parts -------------------------------------------------------------------------------

def flood_labels(mask):
    """8-connected components by breadth-first flood fill: the oracle for components()."""
    labels, n = np.zeros(mask.shape, dtype=int), 0
    for start in zip(*np.nonzero(mask)):
        if labels[start]:
            continue
        n += 1
        labels[start], todo = n, [start]
        while todo:
            y, x = todo.pop()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    q = (y + dy, x + dx)
                    if (0 <= q[0] < mask.shape[0] and 0 <= q[1] < mask.shape[1]
                            and mask[q] and not labels[q]):
                        labels[q] = n
                        todo.append(q)
    return labels


@settings(max_examples=200, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 30), st.integers(1, 30))))
def test_components_match_a_flood_fill(mask):
    ours, theirs = layout.components(mask), flood_labels(mask)
    assert np.array_equal(ours > 0, mask)
    pairs = set(zip(ours[mask], theirs[mask]))        # the same partition, other numbers
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})


def test_components_of_a_snake_and_diagonal_steps():
    snake = np.zeros((9, 9), dtype=bool)
    snake[::2] = True
    snake[1::4, -1] = snake[3::4, 0] = True       # one long path, back and forth
    assert layout.components(snake).max() == 1
    steps = np.eye(6, dtype=bool) | np.eye(6, k=3, dtype=bool)   # corners touch: 8-connected
    assert layout.components(steps).max() == 2


def test_rules_are_removed_and_strokes_through_them_kept():
    ink = np.zeros((120, 400), dtype=np.float32)
    ink[40:42] = 0.5                                   # a rule across the page
    ink[:, 300] = 0.5                                  # a vertical one (squared paper)
    ink[20:90, 100:108] = 1.0                          # a stroke crossing the rule
    ink[60:61, 150:200] = 1.0                          # a short dash: not a rule
    clean = layout.remove_rules(ink)
    assert clean[40:42, :95].max() == 0 and clean[40:42, 110:290].max() == 0
    assert clean[:, 300].max() == 0
    assert clean[40:42, 100:108].min() == 1.0 and clean[60, 150:200].min() == 1.0


def test_form_boxes_are_removed_and_what_is_written_in_them_kept():
    """The printed boxes of a form (one apart, or a comb sharing sides) go; digits inside
    them, a handwritten 0 and a box with nothing in it stay."""
    rng = np.random.default_rng(3)
    ink = np.zeros((200, 700), dtype=np.float32)
    for digit, left in ((0, 40), (7, 130)):
        drawn = crop_ink(pen_number([digit], rng, height=80)[0])[:120, :80]
        ink[50:50 + drawn.shape[0], left:left + drawn.shape[1]] = drawn
    ink[60:150, 436:442] = 1.0                              # a 1
    written = ink.copy()
    ink[30:32, 20:300] = ink[170:172, 20:300] = 0.8         # a comb of boxes: top, bottom
    for x in (20, 110, 200, 298):
        ink[30:172, x:x + 2] = 0.8                          # ... and the sides it shares
    ink[30:33, 400:480] = ink[169:172, 400:480] = 1.0       # one box apart, round the 1
    ink[30:172, 400:403] = ink[30:172, 477:480] = 1.0
    assert np.array_equal(layout.remove_frames(ink), written)
    assert np.array_equal(layout.remove_rules(ink), written)
    box = np.zeros((200, 300), dtype=np.float32)
    box[30:33, 100:200] = box[150:153, 100:200] = box[30:153, 100:103] = box[30:153, 197:200] = 1
    assert np.array_equal(layout.remove_frames(box), box)   # nothing inside: it stays


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_a_number_written_in_a_forms_boxes_is_read(shipped, mnist_dir, seed):
    """MNIST test digits written in the boxes of a form: the boxes' sides were read as 1s
    at 100% (a new user's "314159" was "3114111151191"; these three were 16164181111,
    51816117119181 and 38368101)."""
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(images), 6, replace=False)
    ink = np.zeros((300, 1000), dtype=np.float32)
    for n, i in enumerate(pick):
        left, glyph = 50 + n * 150, scaled(crop_ink(images[i]), 120)
        x0 = left + 65 - glyph.shape[1] // 2
        ink[90:210, x0:x0 + glyph.shape[1]] = glyph
        ink[60:63, left:left + 131] = ink[238:241, left:left + 131] = 1      # its box
        ink[60:241, left:left + 3] = ink[60:241, left + 128:left + 131] = 1
    answer, _ = reading.read_number(shipped, on_paper(ink, rng, "white"))
    assert answer["number"] == "".join(map(str, labels[pick]))


def test_one_digit_written_in_a_box_is_read(shipped, mnist_dir):
    """A single digit in a form's box, read by classify without --number: the box was
    taken as the digit ("not a digit" for each of these four)."""
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    for k in range(4):
        ink = np.zeros((300, 300), dtype=np.float32)
        ink[40:43, 60:241] = ink[258:261, 60:241] = ink[40:261, 60:63] = ink[40:261, 238:241] = 1
        ink[75:225, 75:225] = np.asarray(Image.fromarray(images[k]).resize((150, 150))) / 255
        answer, _ = reading.read_digit(shipped, on_paper(ink, None, "white"))
        assert answer["digit"] == labels[k]


def test_a_ring_round_writing_is_removed_and_a_digits_own_loops_are_not():
    """A ring drawn round writing goes whole, open or closed, and the writing stays as it
    was; a 0 or an 8 (loops with nothing in them), a ring round nothing, and a blob of
    touching digits round a piece stay."""
    rng = np.random.default_rng(0)
    written = np.zeros((60, 140))
    written[10:50, 10:16] = 1                               # a 1 ...
    written[10:16, 60:100] = written[10:50, 94:100] = 1     # ... and a 7
    for gap in (0, 10, 25):
        ink = ringed(written, rng, gap)
        assert np.array_equal(crop_ink(layout.remove_rings(ink)), crop_ink(written))
    for digit in (0, 8, 6):                                 # loops with nothing in them
        ink = np.asarray(pen_mask(digit, (80, 100), (10, 10, 60, 80), 5)) / 255.0
        assert np.array_equal(layout.remove_rings(ink), ink)
    ring = np.asarray(pen_mask(0, (200, 100), (10, 10, 180, 80), 4)) / 255.0
    assert np.array_equal(layout.remove_rings(ring), ring)  # a ring round nothing stays
    blob = np.zeros((100, 200))                             # touching digits, one blob, ...
    blob[10:90, 10:190] = 1
    blob[40:75, 88:102] = 0
    blob[45:70, 93:97] = 1                                  # ... round a piece of a digit
    assert np.array_equal(layout.remove_rings(blob), blob)  # (it read 92182 as 1)


@pytest.mark.parametrize("style", ["white", "ruled"])
def test_a_circled_number_is_read(shipped, test_digits, style):
    """Numbers of MNIST test digits circled by hand, on white and ruled JPEG: the ring
    joined the digits into one blob ("not a digit" for every one of these)."""
    images, labels = test_digits
    rng = np.random.default_rng(7)
    right = 0
    for n in range(6):
        pick = rng.choice(len(images), int(rng.integers(2, 5)), replace=False)
        ink, _ = mnist_number(images[pick], rng, "separated")
        answer = read(shipped, on_paper(ringed(ink, rng, gap=10.0 * (n % 3)), rng, style))
        right += answer["number"] == "".join(map(str, labels[pick]))
    assert right >= 5


def test_pieces_side_by_side_are_counted_and_a_digits_parts_are_not(mnist_dir):
    """Two blobs with a clear gap are 2; the parts of one digit share columns (a 5's
    flag over its body) and count once; specks (grid dots) are not writing; MNIST's test
    digits, each alone, are one piece but for a broken few."""
    ink = np.zeros((100, 200))
    ink[10:90, 10:60] = 1
    ink[10:90, 100:150] = 1
    assert layout.side_by_side(ink) == 2
    ink[10:90, 160:180] = 1                          # closer than the gap to the second
    assert layout.side_by_side(ink) == 2
    ink[10:30, 65:95] = 1                            # short, between them: not a piece
    assert layout.side_by_side(ink) == 1             # ... but it bridges the gaps
    five = np.zeros((100, 100))
    five[10:14, 30:80] = 1                           # the flag, apart from the body
    five[20:90, 25:75] = 1
    five[50:52, 5:7] = five[50:52, 95:97] = 1        # dots of squared paper either side
    assert layout.side_by_side(five) == 1 and layout.side_by_side(np.zeros((9, 9))) == 0
    digits = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:2000] / 255.0
    assert sum(layout.side_by_side(d * (d > 0.05)) > 1 for d in digits) <= 2


def test_slant_of_sheared_strokes():
    ys, xs = np.mgrid[0:100, 0:3]
    for slant in (-0.3, 0.0, 0.4):
        columns = [xs + 40 * k + np.round(slant * (50 - ys)) for k in range(4)]
        x = np.concatenate([c.ravel() for c in columns]).astype(int)
        y = np.tile(ys.ravel(), 4)
        found = layout.estimate_slant(y, x, np.ones(len(x)))
        assert abs(found - slant) <= 0.05, (slant, found)


def test_upright_touching_digits_are_read_as_upright():
    """A line of upright digits that touch is one wide blob. Its slant was found at +-0.5
    for every such line (0 of these 8 upright): rounding half-way positions to even
    columns made that shear look sharpest, and cuts then ran slanted through upright
    digits."""
    found = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        ink, _ = pen_number(rng.integers(0, 10, 5), rng, height=100, layout="touching")
        ys, xs = np.nonzero(ink > 0.05)
        found.append(layout.estimate_slant(ys, xs, ink[ys, xs]))
    assert sum(abs(s) < 0.15 for s in found) >= 6, found   # within one step of upright


def test_cuts_lean_half_as_much_as_the_strokes():
    """A line whose strokes lean by 0.4 is cut along guides leaning 0.2: where two digits
    meet, bowls and bars lean less than the stems the slant was measured on (cuts.LEAN;
    the touching numbers of benchmarks/numbers.py read 45.7% -> 58.3%, before the window
    reader). A block of even ink has no valley, so its cuts run straight along their
    guides."""
    ys, xs = np.nonzero(np.ones((100, 400)))
    side, _ = cuts.cut(ys, xs, np.ones(len(ys)), 100, 0.4, 8)
    side = side.reshape(100, 400)
    for k in (3, 6, 9):                           # three of the cuts, far from the edges
        x = np.argmax(side >= k, axis=1)          # (100,) where the cut is on each row
        lean = np.polyfit(np.arange(100), x, 1)[0]   # x moves by -lean per row downwards
        assert lean == pytest.approx(-0.2, abs=0.02), (k, lean)


def test_least_ink_paths_find_the_cheapest_path():
    """Each path costs no more than the best of every path from top to bottom moving at
    most two columns a row (all 5**4 of them on a 4-row crop, tried one by one), ties in
    the ink included."""
    import itertools
    rng = np.random.default_rng(3)
    for trial in range(30):
        w = int(rng.integers(3, 8))
        crop = np.round(rng.random((4, w)) * 2) / 2              # ink 0, 0.5 or 1: ties
        guides = rng.uniform(0, w - 1, (3, 1)) + rng.uniform(-0.5, 0.5, (3, 1)) * np.arange(4)
        found = cuts.least_ink_paths(crop, guides, 0.3)          # (3, 4)
        rows = np.arange(4)

        def cost(path, guide):
            return crop[rows, path].sum() + 0.3 * np.abs(np.asarray(path) - guide).sum()
        paths = [p for p in itertools.product(range(w), repeat=4)
                 if all(abs(a - b) <= 2 for a, b in zip(p, p[1:]))]
        for path, guide in zip(found, guides):
            assert all(abs(a - b) <= 2 for a, b in zip(path, path[1:]))
            best = min(cost(p, guide) for p in paths)
            assert cost(path, guide) == pytest.approx(best), (trial, path)


# -- numbers of MNIST test digits -------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("layout, style, least", [   # benchmarks/numbers.py: 90%, 84%
    ("separated", "white", 0.75), ("separated", "ruled", 0.7), ("separated", "dark", 0.75),
    ("slanted", "white", 0.6)])
def test_numbers_of_mnist_test_digits(layout, style, least, shipped, test_digits):
    images, labels = test_digits
    rng = np.random.default_rng(21)
    right, boxes_ok, n = 0, 0, 20
    for _ in range(n):
        pick = rng.choice(len(images), int(rng.integers(4, 7)), replace=False)
        ink, boxes = mnist_number(images[pick], rng, layout)
        answer = read(shipped, on_paper(ink, rng, style))
        truth = "".join(map(str, labels[pick]))
        right += answer["number"] == truth
        found = np.array([d["box"] for d in answer["digits"]])
        boxes_ok += len(found) == len(boxes) and np.abs(found - boxes).max() <= 0.2 * np.ptp(
            boxes[:, [1, 3]])
    print(f"\n{layout} on {style}: {right} of {n} numbers read right")
    assert right >= least * n
    assert boxes_ok >= (least - 0.1) * n


@pytest.mark.slow
def test_numbers_drawn_with_pen_strokes(shipped):
    rng = np.random.default_rng(5)
    right, n = 0, 25
    for _ in range(n):
        digits = rng.integers(0, 10, int(rng.integers(1, 9)))
        ink, _ = pen_number(digits, rng)
        right += read(shipped, on_paper(ink, rng, "white"))["number"] == "".join(map(str, digits))
    assert right >= 0.9 * n


def test_touching_neighbours_are_cut_apart(shipped):
    # Touching neighbours are where segmentation falls short (see the README): 2 and 3,
    # whose ink meets, are cut where the network reads both halves; of pen-drawn pairs
    # that touch or overlap, 42% are read right (12% with the sparser cuts before).
    rng = np.random.default_rng(1)
    ink, boxes = pen_number([2, 3], rng, height=120, layout="touching")
    assert layout.components(ink > 0.5).max() == 1
    assert read(shipped, on_paper(ink, rng, "white"))["number"] == "23"


@pytest.mark.slow
def test_touching_pen_pairs(shipped):
    rng, right = np.random.default_rng(50), 0
    for _ in range(40):
        digits = rng.integers(0, 10, 2)
        ink, _ = pen_number(digits, rng, height=120, layout="touching")
        right += read(shipped, on_paper(ink, rng, "white"))["number"] == "".join(map(str, digits))
    assert right >= 0.35 * 40


@pytest.mark.slow
def test_a_1_touching_its_neighbour_is_not_lost(shipped, test_digits):
    """Half the touching numbers read wrong had lost a 1 to its neighbour ('14' read as
    4); the context reader was trained again on lines full of 1s for it. Numbers of 4-5
    MNIST test digits, half of them 1s, touching: 45 of 60 read right (38 with the first
    context reader)."""
    images, labels = test_digits
    ones, others = np.flatnonzero(labels == 1), np.flatnonzero(labels != 1)
    rng, right = np.random.default_rng(21), 0
    for _ in range(60):
        n = int(rng.integers(4, 6))
        pick = np.where(rng.random(n) < 0.5, rng.choice(ones, n), rng.choice(others, n))
        ink, _ = mnist_number(images[pick], rng, "touching")
        right += read(shipped, on_paper(ink, rng, "white"))["number"] == \
            "".join(map(str, labels[pick]))
    print(f"\n{right} of 60 touching numbers full of 1s read right")
    assert right >= 42


@pytest.mark.slow
def test_candidates_frame_most_touching_digits(shipped, test_digits):
    """The oracle of cutting: share of touching digits for which some candidate piece has
    the digit's box (IoU >= 0.7) and is read right. Measured 0.70 with cuts every 0.2
    height; the dense cuts (every 0.1 height, straight and least-ink) about 0.77 before
    the slant was counted by flooring; now 70 of 75 (68 with guides at the full slant:
    benchmarks/numbers.py, on 100 numbers, puts the same ceiling at 93.4% and 86.8%)."""
    images, labels = test_digits
    rng = np.random.default_rng(8)
    score, found, total = reading.piece_scorer(shipped), 0, 0
    for _ in range(15):
        pick = rng.choice(len(images), 5, replace=False)
        ink, boxes = mnist_number(images[pick], rng, "touching", height=100)
        line = segment.candidates(ink.astype(np.float32), score)
        crops = [segment._crop(line.prims, i, j)[0] for i, j in line.groups]
        for box, label in zip(boxes, labels[pick]):
            total += 1
            found += any(iou(c, box) >= 0.7 and line.p[g].argmax() == label
                         for g, c in enumerate(crops))
    print(f"\n{found} of {total} touching digits have a candidate framed and read right")
    assert found >= 0.85 * total


def test_pieces_are_scored_by_the_detector_and_the_window_reader(shipped, tmp_path):
    """The evidence that a crop is one whole digit: the detector for pieces' log-odds less
    its threshold, the window reader's log-odds of one digit and its log-probability of
    the digit read; a data set with neither gets zeros."""
    crops = [np.asarray(pen_mask(d, (60, 90), (10, 10, 40, 70), 6), dtype=np.float32) / 255
             for d in (3, 8)]
    x = reading.mnist_forms(crops)
    p, evidence = reading.piece_scorer(shipped)(crops)
    assert p.shape == (2, 10) and evidence.shape == (2, 4) and np.all(evidence[:, :2] > 0)
    assert np.all(evidence[:, 3] == 0)                  # no frames: no context reading
    detector = reject.for_network(shipped, pieces=True)          # the one for pieces
    assert detector is not reject.for_network(shipped)
    assert np.allclose(evidence[:, 0], detector.log_odds(x) - detector.threshold)
    r = reading.window_reader(shipped).predict_proba(x)           # (2, 11)
    assert np.allclose(evidence[:, 1], np.log(1 - r[:, 10]) - np.log(r[:, 10]), atol=1e-4)
    assert np.allclose(evidence[:, 2], np.log(r[[0, 1], p.argmax(axis=1)]))
    assert list(p.argmax(axis=1)) == [3, 8]
    checkpoint.save(tmp_path / "c.npz", shipped, {"dataset": "fashion-mnist"})
    _, none = reading.piece_scorer(checkpoint.load(tmp_path / "c.npz"))(crops)
    assert np.array_equal(none, np.zeros((2, 4)))


def test_the_context_reader_tells_whole_digits_from_pieces_among_neighbours(
        shipped, test_digits):
    """Candidates of touching numbers of test digits: the context reader's log-odds of
    "one digit" (evidence column 3, from each candidate's frame among its neighbours) is
    high for the candidates that are the digits (box IoU >= 0.8) and low for those that
    are not (< 0.5), and a cut piece's probabilities take CONTEXT_SHARE of its digits."""
    images, labels = test_digits
    rng = np.random.default_rng(21)
    seer, right, wrong = reading.context_reader(shipped), [], []
    for _ in range(8):
        pick = rng.choice(len(images), 5, replace=False)
        ink, boxes = mnist_number(images[pick], rng, "touching", height=100)
        seen = {}

        def score(crops, cut, frames):
            seen.update(cut=cut, frames=frames)
            return reading.piece_scorer(shipped)(crops, cut, frames)
        line = segment.candidates(ink.astype(np.float32), score)
        assert np.array_equal(seen["frames"], context.frames(
            ink.astype(np.float32), line.prims, line.groups, line.height))
        c = seer.predict_proba(seen["frames"])[:, 10]
        odds = np.log(np.maximum(1 - c, 1e-9)) - np.log(np.maximum(c, 1e-9))
        assert np.allclose(line.evidence[:, 3], odds, atol=1e-3)
        best = np.array([max(iou(segment._crop(line.prims, i, j)[0], b) for b in boxes)
                         for i, j in line.groups])
        right += list(line.evidence[best >= 0.8, 3])
        wrong += list(line.evidence[best < 0.5, 3])
    print(f"\ncontext log-odds: {np.mean(np.array(right) > 0):.1%} of {len(right)} right "
          f"candidates above 0, {np.mean(np.array(wrong) < 0):.1%} of {len(wrong)} wrong "
          f"ones below")
    assert np.mean(np.array(right) > 0) >= 0.8 and np.mean(np.array(wrong) < 0) >= 0.95


def test_only_a_line_with_ink_cut_into_pieces_is_framed_for_the_context_reader(test_digits):
    """A line of narrow digits apart (1s) has no ink wide enough to cut, so no piece to
    tell from a whole digit: the scorer gets no frames (the context reader would cost
    time for nothing). Touching digits are cut: a frame for every candidate."""
    images, _ = test_digits
    rng = np.random.default_rng(3)
    ones, _ = pen_number([1, 1, 1, 1], rng, height=100)
    touching, _ = mnist_number(images[:5], rng, "touching", height=100)
    for ink, framed in ((ones, False), (touching, True)):
        seen = {}

        def score(crops, cut, frames):
            seen.update(cut=cut, frames=frames)
            return np.full((len(crops), 10), 0.1), np.zeros((len(crops), len(segment.EVIDENCE)))
        line = segment.candidates(np.asarray(ink, dtype=np.float32), score)
        assert seen["cut"].any() == framed
        assert (seen["frames"] is not None) == framed
        if framed:
            assert seen["frames"].shape == (len(line.groups), context.SIZE)


def test_cut_pieces_are_read_with_the_window_reader(shipped, tmp_path):
    """A piece cut out of wider ink (touching digits) is read by the classifier and by the
    window reader (its ten digits), their probabilities averaged; a whole piece by the
    classifier alone."""
    crops = [np.asarray(pen_mask(d, (60, 90), (10, 10, 40, 70), 6), dtype=np.float32) / 255
             for d in (3, 8)]
    x = reading.mnist_forms(crops)
    reader = reading.window_reader(shipped)
    assert reader is not None and reader is not shipped and reader.sizes[-1] == 11
    assert reader.meta["test_accuracy"] >= 0.99
    p, _ = reading.piece_scorer(shipped)(crops, np.array([False, True]))
    alone = shipped.predict_proba(x)                 # (2, 10); both are sure: compare logs
    r = reader.predict_proba(x[1:])[0]
    both = (alone[1] + r[:10] / r[:10].sum()) / 2
    assert np.allclose(np.log(p[0]), np.log(alone[0]), atol=1e-3)
    assert np.allclose(np.log(p[1]), np.log(both), atol=1e-3)
    assert not np.allclose(np.log(p[1]), np.log(alone[1]), atol=0.1)
    mine = Network([784, 10, 10], seed=1)        # a person's own MNIST model gets it too
    checkpoint.save(tmp_path / "mine.npz", mine, {"config": {}})
    assert reading.window_reader(checkpoint.load(tmp_path / "mine.npz")) is reader
    checkpoint.save(tmp_path / "clothes.npz", mine, {"dataset": "fashion-mnist"})
    assert reading.window_reader(checkpoint.load(tmp_path / "clothes.npz")) is None


@pytest.mark.slow
def test_the_window_reader_tells_one_digit_from_a_miscut_piece(test_digits):
    """Its eleventh output: windows of touching test digits cut where no digit ends are
    "not one digit" far more often than windows holding one digit (`pytest -s` prints
    both), and its ten digits read the right windows."""
    images, labels = test_digits
    reader = reading.window_reader(checkpoint.load(checkpoint.SHIPPED))
    good, good_labels = touching.windows(images, labels, 300, np.random.default_rng(5))
    bad, _ = touching.windows(images, labels, 300, np.random.default_rng(6), miscut=True)
    p_good, p_bad = reader.predict_proba(good), reader.predict_proba(bad)
    none_good, none_bad = np.mean(p_good.argmax(1) == 10), np.mean(p_bad.argmax(1) == 10)
    print(f"\nnot one digit: {none_good:.1%} of windows of one digit, {none_bad:.1%} of "
          f"miscut ones")
    assert none_good <= 0.1 and none_bad >= 0.8       # 5.7% and 93.7%
    assert np.mean(p_good[:, :10].argmax(1) == good_labels) >= 0.95


def test_a_cut_digit_put_back_together_is_whole_ink():
    """A digit wider than 0.75 of the line is cut into pieces. The run holding all of
    them is whole ink again (read by the classifier alone); a run holding only some of
    them is a piece cut out of wider ink (read with the window reader)."""
    ink = np.asarray(pen_mask(0, (160, 100), (10, 10, 130, 80), 8), dtype=np.float32) / 255
    seen = []

    def score(crops, cut, frames):
        seen.append(cut)
        return np.full((len(crops), 10), 0.1), np.zeros((len(crops), len(segment.EVIDENCE)))
    line = segment.candidates(ink, score)
    n, (cut,) = len(line.prims), seen
    assert n > 2 and len({q.comp[0] for q in line.prims}) == 1     # one component, cut
    whole = [g for g, (i, j) in enumerate(line.groups) if j - i == n]
    assert len(whole) == 1 and not cut[whole[0]]
    assert cut[[g for g, (i, j) in enumerate(line.groups) if j - i < n]].all()


def test_cutting_ink_narrower_than_two_digits_costs():
    """A piece of one component narrower than NARROW line heights pays half of how much
    narrower it is ("narrow"); the whole component, and a component wide enough to hold
    two digits, pay nothing."""
    def score(crops, cut, frames):
        return np.full((len(crops), 10), 0.1), np.zeros((len(crops), len(segment.EVIDENCE)))
    narrow = segment.FEATURES.index("narrow")
    for wide, costs in ((150, True), (320, False)):     # 0s 160 pixels tall
        ink = np.asarray(pen_mask(0, (wide + 40, 180), (20, 10, wide + 20, 170), 8),
                         dtype=np.float32) / 255
        line = segment.candidates(ink, score)
        f = segment.group_features(line.prims, line.groups, line.p, line.height,
                                   line.evidence)
        n = len(line.prims)
        assert n > 1 and len({q.comp[0] for q in line.prims}) == 1
        width = np.ptp(np.concatenate([q.u for q in line.prims])) + 1
        share = max(0.0, segment.NARROW - width / line.height) / 2
        assert (share > 0.2) if costs else (share == 0)
        for g, (i, j) in enumerate(line.groups):
            assert f[g, narrow] == pytest.approx(0.0 if j - i == n else share)


@pytest.mark.slow
def test_a_wide_digit_is_not_cut_into_a_1_and_a_digit(shipped, test_digits):
    """Two numbers of MNIST test digits on ruled paper (seed 31, the 46th and 59th) whose
    wide 4 was read as 14 and 6 as 10 before cutting narrow ink came to cost."""
    images, labels = test_digits
    rng, lines = np.random.default_rng(31), {}
    for k in range(59):
        pick = rng.choice(len(images), int(rng.integers(4, 7)), replace=False)
        ink, _ = mnist_number(images[pick], rng, "separated")
        lines[k] = on_paper(ink, rng, "ruled"), "".join(map(str, labels[pick]))
    cases = [lines[45], lines[58]]
    assert [read(shipped, image)["number"] for image, _ in cases] == ["63949", "636589"]
    assert [truth for _, truth in cases] == ["63949", "636589"]
    narrow = segment.FEATURES.index("narrow")
    weight, segment.WEIGHTS[narrow] = segment.WEIGHTS[narrow], 0.0   # read_line's default
    try:
        assert [read(shipped, image)["number"] for image, _ in cases] == ["639149", "6310589"]
    finally:
        segment.WEIGHTS[narrow] = weight


def test_a_number_reads_as_its_pieces_were_scored(shipped, test_digits):
    """read_number answers each digit with the probabilities the reading chose it by (a
    cut piece's: the classifier's and the window reader's together), not the classifier's
    alone."""
    images, _ = test_digits
    rng = np.random.default_rng(4)
    ink, _ = mnist_number(images[rng.choice(len(images), 5, replace=False)], rng, "touching")
    image = on_paper(ink, rng, "white")
    answer, x = reading.read_number(shipped, image)
    line = segment.read_line(imaging.load_ink(image)[0], reading.piece_scorer(shipped))
    scored = [[round(float(v), 6) for v in d.probabilities] for d in line]
    assert [d["probabilities"] for d in answer["digits"]] == scored
    alone = [[round(float(v), 6) for v in p] for p in shipped.predict_proba(x)]
    assert alone != scored                         # some piece was cut, and read by both


def test_one_to_twenty_digits_apart(shipped):
    rng = np.random.default_rng(8)
    for count in (1, 2, 9, 20):
        digits = np.arange(count) % 10
        ink, boxes = pen_number(digits, rng, height=60)
        answer = read(shipped, on_paper(ink, rng, "white"))
        assert len(answer["digits"]) == count, answer["number"]


# -- what real writing does ------------------------------------------------------------------------

# Digits in pieces, as pens leave them (strokes in the unit box): a 4 whose upright stops
# short of the bar, a 5 with its flag apart, a 7 whose stem leaves its bar,
# and a 3 lifted in the middle.
BROKEN = {
    4: [[(0.6, 0.02), (0.05, 0.66), (0.95, 0.66)], [(0.72, 0.1), (0.72, 0.5)],
        [(0.72, 0.66), (0.72, 0.98)]],
    5: [[(0.9, 0.03), (0.3, 0.03)],
        [(0.22, 0.17), (0.2, 0.45)] + arc(0.5, 0.7, 0.4, 0.27, 215, 505)],
    7: [[(0.05, 0.04), (0.95, 0.04)], [(0.88, 0.17), (0.4, 0.98)]],
    3: [arc(0.5, 0.26, 0.36, 0.23, 200, 430), arc(0.5, 0.73, 0.42, 0.25, 290, 520)],
}


@pytest.mark.parametrize("digit", [2, 3])
def test_a_digit_much_wider_than_tall_stays_one_digit(shipped, digit):
    """A 2 or a 3 drawn 1.8 times as wide as it is tall, between a 4 and a 7: cut every
    0.1 height, twice, it is some 30 pieces, and with at most 12 pieces to a digit it
    could only be read as two (4237, 4337)."""
    strokes = [pen_mask(4, (90, 160), (15, 30, 60, 100), 8),
               pen_mask(digit, (210, 160), (15, 30, 180, 100), 8),
               pen_mask(7, (90, 160), (15, 30, 60, 100), 8)]
    image = Image.fromarray(255 - np.concatenate([np.asarray(s) for s in strokes], axis=1))
    assert read(shipped, encode(image))["number"] == f"4{digit}7"


def test_broken_digits_stay_one_and_dust_is_no_digit(shipped):
    canvas = Image.new("L", (700, 220), 0)
    draw = ImageDraw.Draw(canvas)
    for k, digit in enumerate((4, 5, 7, 3)):
        left, top, w, h = 40 + 160 * k, 40, 95, 140
        for stroke in BROKEN[digit]:
            draw.line([(left + x * w, top + y * h) for x, y in stroke], fill=255, width=12,
                      joint="curve")
    pieces = layout.components(np.asarray(canvas) > 0).max()
    rng = np.random.default_rng(3)
    for x, y in rng.uniform((10, 5), (690, 215), (12, 2)):   # specks all over the page
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=255)
    assert pieces >= 7                                        # the digits are in pieces
    answer = read(shipped, encode(Image.fromarray(255 - np.asarray(canvas))))
    assert answer["number"] == "4573"


def test_uneven_light_and_polarity(shipped, test_digits):
    images, labels = test_digits
    rng = np.random.default_rng(2)
    pick = [3, 2, 1, 18]
    ink, _ = mnist_number(images[pick], rng, "separated", height=90)
    y, x = np.mgrid[0:ink.shape[0], 0:ink.shape[1]] / max(ink.shape)
    light = 1 - 0.5 * x                                 # a lamp at the left
    grey = (0.9 - 0.75 * ink) * light
    truth = "".join(map(str, labels[pick]))
    photo = encode(Image.fromarray(np.uint8(255 * grey)), "JPEG", quality=80)
    assert read(shipped, photo)["number"] == truth
    assert read(shipped, on_paper(ink, rng, "dark"))["number"] == truth


def test_boxes_are_in_the_original_pixels(shipped):
    rng = np.random.default_rng(4)
    ink, boxes = pen_number([2, 0, 2, 6], rng, height=400)      # wider than WORK_SIDE
    assert ink.shape[1] > 1024
    answer = read(shipped, on_paper(ink, rng, "white"))
    assert answer["number"] == "2026"
    found = np.array([d["box"] for d in answer["digits"]])
    assert np.abs(found - boxes).max() <= 12                   # a few pixels of the reduction


# -- bad input: one sentence --------------------------------------------------------------------

def test_a_wide_empty_image_is_one_sentence(shipped):
    with pytest.raises(ImageError, match=r"^number\.png: no digit found: the image is blank"):
        read(shipped, encode(Image.new("L", (3000, 200), 255)))


@pytest.mark.parametrize("shape", ["dot", "dash", "line across"])
def test_a_stroke_or_a_blob_is_one_piece_not_a_row_of_digits(shipped, shape):
    """Ink no piece of which is a few pen widths tall is not writing: its line height
    would be a pen width and cutting by it made a dash '7222222222222222221'. It is read
    whole, as a single image of it is: not a digit."""
    image = Image.new("L", (600, 300), 255)
    draw = ImageDraw.Draw(image)
    if shape == "dot":
        draw.ellipse((290, 140, 310, 160), fill=0)
    else:
        draw.line((250 if shape == "dash" else 60, 150, 350 if shape == "dash" else 540, 150),
                  fill=0, width=12)
    answer, _ = reading.read_number(shipped, encode(image), "number.png")
    assert len(answer["digits"]) == 1 and answer["number"] is None
    assert answer["digits"][0]["digit"] is None


def test_bold_digits_with_flat_bars_are_writing_not_a_blob(shipped, test_digits):
    """57629 in a bold pen: the 5's, 7's and 2's bars make the median run of ink across
    56 px, twice the pen's width (down: 35 px), and by that width no piece was tall enough
    to be writing: the whole number came out as one piece, "not a digit"."""
    images, labels = test_digits
    rng = np.random.default_rng(12)
    i = rng.integers(0, 9990)
    ink, _ = mnist_number(images[i:i + 5], rng, "touching", height=120)
    answer, _ = reading.read_number(shipped, on_paper(ink, rng, "white"), "number.jpg")
    assert answer["number"] == "".join(map(str, labels[i:i + 5])) == "57629"


def test_only_the_lines_of_squared_paper_is_one_sentence(shipped):
    """A bar as tall as a very wide image is a line of squared paper, removed: no ink is
    left, which once ended in an IndexError."""
    image = Image.new("L", (5000, 20), 255)
    ImageDraw.Draw(image).rectangle((2500, 2, 2503, 17), fill=0)
    with pytest.raises(ImageError, match=r"^number\.png: no digit found: only the lines of "
                                         r"ruled or squared paper$"):
        read(shipped, encode(image))


def test_one_digit_is_a_number(shipped):
    mask = pen_mask(7, (300, 300), (80, 40, 140, 220), 20)
    answer = read(shipped, encode(Image.fromarray(255 - np.asarray(mask))))
    assert answer["number"] == "7" and len(answer["digits"]) == 1


def test_two_hundred_digits_are_too_long_to_be_a_number(shipped):
    rng = np.random.default_rng(6)
    ink, _ = pen_number(np.arange(200) % 10, rng, height=40)
    with pytest.raises(ImageError) as caught:
        read(shipped, on_paper(ink, rng, "white"))
    message = str(caught.value)
    assert message.startswith("number.png: ") and "more than 40 digit-sized" in message
    assert "\n" not in message


def test_more_than_40_digits_read_are_too_long_even_when_they_touch(shipped):
    """Printed digits close together touch in pairs, so fewer pieces than digits are
    counted at first: the digits read count too (50 were once answered, 41 digits long)."""
    def printed(n):
        font = ImageFont.load_default(size=40)
        image = Image.new("L", (30 * n + 40, 80), 255)
        ImageDraw.Draw(image).text((20, 15), "".join(str(i % 10) for i in range(n)), fill=0,
                                   font=font)
        return encode(image)
    assert len(read(shipped, printed(40))["digits"]) == 40
    with pytest.raises(ImageError, match="more than 40 digit-sized pieces"):
        read(shipped, printed(50))


def test_a_10000_by_300_image(shipped):
    rng = np.random.default_rng(7)
    ink, _ = pen_number([3, 1, 4, 1, 5, 9], rng, height=200)
    page = np.zeros((300, 10000))
    page[50:50 + ink.shape[0], 4000:4000 + ink.shape[1]] = ink[:250]
    answer = read(shipped, on_paper(page, rng, "white"))
    assert answer["number"] == "314159"
    assert all(4000 <= d["box"][0] < d["box"][2] <= 4000 + ink.shape[1] + 10
               for d in answer["digits"])


def test_ink_as_tall_as_the_line_is_always_read_even_when_every_reading_scores_low(shipped):
    """When leaving everything out beats every reading (here leaving a piece out earns 50),
    a line of real writing still gets its digits rather than "only specks of ink"."""
    rng = np.random.default_rng(4)
    ink, _ = pen_number([3, 7], rng, height=120)
    line = segment.candidates(ink, reading.piece_scorer(shipped))
    assert segment.best_path(*line, skip=-50.0) == []
    path = segment.best_path(*line, skip=-50.0, writing=True)
    assert "".join(str(int(line.p[g].argmax())) for g in path) == "37"
    assert segment.is_writing(line.height, ink.shape[0])        # read_line says: writing
    specks = np.zeros((300, 400), dtype=np.float32)
    specks[60:63, 100:103] = specks[200:202, 300:302] = 1.0
    speck_line = segment.candidates(specks, reading.piece_scorer(shipped))
    assert not segment.is_writing(speck_line.height, specks.shape[0])  # ... specks are not


def test_a_small_digit_in_a_large_photo_is_writing_even_when_its_reader_doubts_it(shipped):
    """A new user's MNIST 3, 60 px tall in a 4000x3000 photo, is 18 px in the 768x1024
    image reading works on: 2% of its height, too small a share to count as writing. The
    window reader doubted its one piece ("not one digit", log-odds -6.8), leaving it out
    scored best, and --number answered "only specks of ink" where classify read a 3. A
    line 12 px tall is writing (segment.WRITING_PX), so its tall pieces are read."""
    rng = np.random.default_rng(4)
    ink, _ = pen_number([3], rng, height=18)
    page = np.zeros((768, 1024), np.float32)
    page[380:380 + ink.shape[0], 500:500 + ink.shape[1]] = ink
    scorer = reading.piece_scorer(shipped)

    def doubting(crops, cut, frames=None):
        p, evidence = scorer(crops, cut, frames)
        evidence[:, :3] = 5.9, -6.8, -7.2  # the detector's and window reader's words of it
        return p, evidence

    assert segment.is_writing(segment.candidates(page, doubting).height, len(page))
    digits = segment.read_line(page, doubting)
    assert [int(d.probabilities.argmax()) for d in digits] == [3]
    assert not segment.is_writing(3, 768)                        # specks of dust are not
