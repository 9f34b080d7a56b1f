"""What mnistnn answers for a person's image, as JSON-ready data.

    answer, x = read_digit(net, "seven.jpg")
    answer == {"digit": 7, "label": 7, "name": "7", "confidence": 0.986,
               "probabilities": [...10 floats...]}
    x.shape == (784,)    # the input the network saw, in its data set's form

    answer, xs = read_number(net, "meter.jpg")
    answer == {"number": "2026", "confidence": 0.84, "digits": [{"digit": 2, "confidence":
               0.991, "box": [x0, y0, x1, y1], "probabilities": [...]}, ...]}
    xs.shape == (4, 784)

When the image holds no digit (a letter, a star, a doodle) and the network's data set
has a "not a digit" detector (reject.py; MNIST has one), the digit is None and "closest"
names the digit it resembles most: {"digit": None, "closest": 4, "confidence": 0.38, ...};
in a number that digit is written "?" (and "number" is None when no piece is a digit).
reject=False always answers with the closest digit.

A digit of a number that was cut out of touching digits (wider ink) carries bits of its
neighbours at its edges. It is read by the network and by its data set's window reader
(models/window-reader.npz for MNIST: the cnn recipe trained with such pieces, and with
pieces that are not one digit as an eleventh output; benchmarks/window_reader.py), their
probabilities averaged; whole pieces by the network alone. The window reader also tells
the reading how much each candidate piece looks like one whole digit.

"label" is the number of the class the network chose, "name" its name (a digit for
MNIST, "Sneaker" for Fashion-MNIST); "digit" is the same number as "label", kept under
the key it has always had so that scripts written for MNIST go on working. A rejected
image has "digit", "label" and "name" None.

`mnistnn classify --json` prints these answers (with "path" in front), and every other
front end (the drawing page's JSON API) returns the same objects, so they never drift.
"""
import numpy as np

from . import checkpoint, context, segment
from . import reject as rejection
from .datasets import trained_on
from .errors import ImageError
from .imaging import FIELD, digit_of, load_digit, load_ink, source_name, to_mnist
from .layout import marks_between, remove_rules, side_by_side


def digit_answer(probabilities, is_digit=True, classes=None):
    """The answer for one image's probabilities (10,): its class as "digit", "label" and
    "name" (from classes, default the digits), confidence, probabilities; when it is not
    a digit, those three are None and "closest" names the likeliest class."""
    p = [round(float(v), 6) for v in probabilities]
    best = int(np.argmax(probabilities))
    if not is_digit:
        return {"digit": None, "label": None, "name": None, "closest": best,
                "confidence": p[best], "probabilities": p}
    name = str(classes[best]) if classes is not None else str(best)
    return {"digit": best, "label": best, "name": name, "confidence": p[best],
            "probabilities": p}


def read_digit(net, source, name=None, reject=True, on_note=None):
    """Read the one digit (or object) in an image (a path or its bytes), brought to the
    form of the network's data set: (answer dict, input (784,)). With on_note, an image
    of digits whose writing stands apart in pieces side by side (layout.side_by_side, on
    the same ink: a number, read here as one digit) gets a sentence saying so.

    Raises ImageError, one sentence naming the image, when it cannot be read."""
    dataset = trained_on(net.meta)
    if dataset.style == "mnist" and on_note:
        ink, _ = load_ink(source, name)            # load_digit's ink map, kept
        x = digit_of(ink, source, name)
        if side_by_side(remove_rules(ink)) > 1:
            on_note(f"{source_name(source, name)}: its writing stands apart in pieces side "
                    f"by side, as a number's digits do: --number reads a whole number")
    else:
        x = load_digit(source, name, dataset.style)        # (784,) float32 in [0, 1]
    probabilities = net.predict_proba(x[None])[0]          # (10,)
    return digit_answer(probabilities, _accepts(net, x[None], reject)[0], dataset.classes), x


def read_number(net, source, name=None, reject=True, on_note=None):
    """Read the line of digits in an image, left to right: (answer dict, inputs (k, 784)),
    boxes in the original image's pixels. With on_note, a mark left out between two
    digits or before the first (a decimal point, a comma, a dash, a minus sign:
    layout.marks_between) gets a sentence saying where, as the number read has no place
    for it.

    Raises ImageError, one sentence naming the image, when it cannot be read, holds no
    ink, or holds more digit-sized pieces than a number (segment.MAX_DIGITS)."""
    ink, (width, height) = load_ink(source, name)
    clean = remove_rules(ink)               # the reading's ink, the marks' and one digit's
    try:
        digits = segment.read_line(ink, piece_scorer(net), clean)
    except ImageError as exc:
        raise ImageError(f"{source_name(source, name)}: {exc}") from None
    if not digits:
        raise ImageError(f"{source_name(source, name)}: no digit found: only specks of ink")
    x = mnist_forms([d.ink for d in digits])                  # (k, 784)
    gaps = marks_between(clean, [d.box for d in digits]) if on_note else []
    if gaps:
        on_note(f"{source_name(source, name)}: {_marks(gaps)}")
    if len(digits) > 1:
        is_digit = _accepts(net, x, reject, pieces=True)
    else:   # an image of one digit: judged by the detector for whole images, on all its
        # ink but ruled paper's lines (the piece may have left out specks of it)
        whole = digit_of(clean, source, name) if reject else x[0]
        is_digit = _accepts(net, whole[None], reject)
    scale = np.array([width / ink.shape[1], height / ink.shape[0]] * 2)
    answers = []    # each digit as the reading scored it (cut pieces: with the window reader)
    for digit, ok in zip(digits, is_digit):
        box = np.round(np.array(digit.box) * scale).astype(int)   # x0, y0, x1, y1
        answers.append({**digit_answer(digit.probabilities, ok), "box": [int(v) for v in box]})
    return number_answer(answers), x


def _marks(gaps):
    """The note for marks left out, from layout.marks_between's gaps: 'a mark before the
    first digit is not part of the number read (a minus sign?)', 'marks between digits 4
    and 5 and between 6 and 7 are not part ... (decimal points, commas or dashes?)'."""
    places = ["before the first digit" if k < 0 else f"between digits {k + 1} and {k + 2}"
              for k in gaps]
    if len(places) > 1 and all(k >= 0 for k in gaps):
        places = [places[0]] + [p.replace("between digits", "between") for p in places[1:]]
    text = places[0] if len(places) == 1 else ", ".join(places[:-1]) + " and " + places[-1]
    one, inner = len(gaps) == 1, sum(k >= 0 for k in gaps)
    kinds = (["a minus sign"] if gaps[0] < 0 else []) + (
        ["a decimal point, a comma or a dash" if inner == 1 else
         "decimal points, commas or dashes"] if inner else [])
    return (f"{'a mark' if one else 'marks'} {text} {'is' if one else 'are'} not part of "
            f"the number read ({' or '.join(kinds)}?)")


def piece_scorer(net):
    """score(crops, cut=None, frames=None) for segment.read_line: each crop's
    probabilities (N, 10) and evidence (N, 4) that it is one whole digit
    (segment.EVIDENCE): the detector's log-odds less its threshold, the window reader's
    log-odds of "one digit" against "not one digit", its log-probability of the digit
    read, and the context reader's log-odds of "one digit", from frames (N,
    context.SIZE), the crops among their neighbours (zeros where the data set has no
    detector or reader). A crop holding a piece cut out of wider ink (cut, (N,) bool) is
    read by the network and by the window reader, their probabilities of the ten digits
    averaged, then by the context reader too (weight CONTEXT_SHARE)."""
    detector = rejection.for_network(net, pieces=True)

    def score(crops, cut=None, frames=None):
        x = mnist_forms(crops)                                   # (N, 784)
        evidence = np.zeros((len(x), len(segment.EVIDENCE)))
        if detector:
            evidence[:, 0] = detector.log_odds(x) - detector.threshold
        p = net.predict_proba(x)                                 # (N, 10)
        reader = window_reader(net)
        if reader is not None:
            r = reader.predict_proba(x)                          # (N, 11)
            if cut is not None:
                p[cut] = (p[cut] + ten_digits(r[cut])) / 2
            evidence[:, 1] = one_digit_log_odds(r)
            evidence[:, 2] = np.log(np.maximum(r[np.arange(len(x)), p.argmax(axis=1)], 1e-9))
        seer = context_reader(net) if frames is not None else None
        if seer is not None:
            c = np.maximum(seer.predict_proba(frames), 1e-9)     # (N, 11)
            evidence[:, 3] = one_digit_log_odds(c)
            if cut is not None:
                p[cut] = (1 - CONTEXT_SHARE) * p[cut] + CONTEXT_SHARE * ten_digits(c[cut])
        return p, evidence
    return score


# The network that reads pieces cut out of touching digits beside the classifier, per data
# set, with an eleventh output (NOT_ONE): the piece is not one digit (two, part of one,
# parts of two). Built by benchmarks/window_reader.py.
WINDOW_READERS = {"mnist": rejection.MODELS / "window-reader.npz"}
NOT_ONE = 10


def window_reader(net):
    """The window reader for a classifier's data set, or None (none for it, or the
    classifier does not read MNIST-form images)."""
    return rejection.shipped(WINDOW_READERS, net, lambda path: checkpoint.load(
        path, classes=NOT_ONE + 1))


def ten_digits(r):
    """A reader's eleven outputs (N, 11) -> its ten digits' probabilities (N, 10), the
    share of "not one digit" given back to them in proportion."""
    return r[:, :NOT_ONE] / r[:, :NOT_ONE].sum(axis=1, keepdims=True)


def one_digit_log_odds(r):
    """A reader's log-odds of "one digit" against "not one digit" (N,), from its eleven
    outputs (N, 11)."""
    return np.log(np.maximum(1 - r[:, NOT_ONE], 1e-9)) - np.log(np.maximum(r[:, NOT_ONE], 1e-9))


# The network that reads each candidate digit among its neighbours (context.py), per data
# set, with the window reader's eleven outputs. Built by benchmarks/context_reader.py.
CONTEXT_READERS = {"mnist": rejection.MODELS / "context-reader.npz"}
CONTEXT_SHARE = 0.3    # its share of a cut piece's probabilities


def context_reader(net):
    """The context reader for a classifier's data set, or None."""
    return rejection.shipped(CONTEXT_READERS, net, lambda path: checkpoint.load(
        path, inputs=context.SIZE, classes=NOT_ONE + 1))


def save_reader(path, net, test_x, test_labels):
    """Write a window reader (atomically, parameters as float16) with its accuracy on
    test_x (N, 784) when its ten digits alone are read (the rounded parameters'), and
    return that accuracy."""
    half = net.astype(np.float16)
    half.meta = None             # a reader's outputs are not its data set's classes alone
    rounded = half.astype(np.float32)
    accuracy = float(np.mean(rounded.predict_proba(test_x)[:, :NOT_ONE].argmax(axis=1)
                             == test_labels))
    checkpoint.save(path, half, {"reader": {"dataset": "mnist", "outputs": "0-9, not one "
                                            "digit"}, "test_accuracy": round(accuracy, 6)})
    return accuracy


def number_answer(digits):
    """The answer for a line of digit answers: number ("?" for a piece that is not a
    digit; None when none is), confidence (the product of the digits'; None when a piece
    is not a digit: a rejected piece's "confidence" is its closest digit's, no measure of
    the number), digits."""
    text = "".join("?" if d["digit"] is None else str(d["digit"]) for d in digits)
    number = None if all(d["digit"] is None for d in digits) else text
    confidence = (None if "?" in text else
                  round(float(np.prod([d["confidence"] for d in digits])), 6))
    return {"number": number, "confidence": confidence, "digits": digits}


def mnist_forms(crops):
    """Ink crops (list of (h, w)) -> (N, 784) float32 MNIST-form inputs: each through the
    very code a single digit goes through."""
    return np.stack([to_mnist(crop).reshape(FIELD * FIELD) for crop in crops])


def number_refusal(net):
    """Why this network cannot read whole numbers (one sentence), or None when it can:
    numbers are lines of handwritten digits, read through MNIST's preprocessing."""
    dataset = trained_on(net.meta)
    if dataset.style == "mnist":
        return None
    return f"--number reads handwritten digits, and this network was trained on {dataset.title}"


def can_reject(net):
    """Whether "not a digit" can be said for this network (its data set has a detector)."""
    return rejection.for_network(net) is not None


def rejection_note(net):
    """A sentence for a network whose data set has no "not a digit" detector, else None."""
    if can_reject(net):
        return None
    return (f'There is no "not a digit" detector for {trained_on(net.meta).title} networks: '
            f"every image gets its closest class, as with --no-reject")


def _accepts(net, x, reject, pieces=False):
    """Whether each input x (N, 784) is a digit (N,) bool: always True without reject or
    when the network has no "not a digit" model. pieces: x are pieces of a line, judged
    by the detector for them."""
    detector = rejection.for_network(net, pieces) if reject else None
    return detector.accepts(x) if detector else np.ones(len(x), dtype=bool)
