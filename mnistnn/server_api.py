"""What the drawing page's API answers, as JSON-ready data, from library calls alone.

    api = DrawApi(net, source="weights/best.npz")
    api.card                                  GET  /api/model
    api.classify(png_bytes, units=8)          POST /api/classify?units=8
    api.imagine_png(3)                        GET  /api/imagine/3.png

classify answers what `classify --json` prints (reading.read_digit: digit, confidence,
probabilities; "digit": null with "closest" once "not a digit" lands), plus "view", the
28x28 input the network saw, and with units=K the K hidden units that respond most
(inside.strongest_units). What other work adds lights up in one place each:
    number mode     reading.read_number              DrawApi._number
    feature maps    a convolutional first layer      inside.strongest_units (kind)
    class names     the checkpoint's "classes"       _classes
"""
import io
import threading
from pathlib import Path

import numpy as np

from . import checkpoint, datasets, imagining, inside, reading
from .errors import MnistnnError
from .pictures import digit_image

MAX_BODY = 5 * 1024 * 1024   # bytes of one posted image (a 280x280 drawing is ~3 KB)
MAX_UNITS = 16               # hidden units in one answer
NAME = "the posted image"    # how the body is named in an error sentence


class ApiError(MnistnnError, ValueError):
    """A request the API cannot answer: an HTTP status, one sentence, and for 405 the
    methods allowed."""

    def __init__(self, status, message, allowed=None):
        super().__init__(message)
        self.status, self.allowed = status, allowed


class DrawApi:
    """The answers of the page's API for one loaded network (which never changes)."""

    def __init__(self, net, source=None):
        self.net, self.source = net, source
        self.card = self._card()
        self._imagined, self._lock = None, threading.Lock()

    def classify(self, body, number=False, units=0):
        """Image bytes -> the reading, "view" (28x28 lists) and optionally "units"."""
        if number:
            return self._number(body)
        answer, x = reading.read_digit(self.net, body, NAME)    # x: (784,)
        answer["view"] = _grid(x.reshape(28, 28))
        if units:
            answer["units"] = self._units(x, units)
        return answer

    def _number(self, body):
        """The whole number in the image, as `classify --number --json` gives it, each digit
        with its "view"."""
        if reading.number_refusal(self.net):
            raise ApiError(400, reading.number_refusal(self.net))
        answer, inputs = reading.read_number(self.net, body, NAME)    # inputs: (n, 784)
        for digit, x in zip(answer["digits"], inputs):
            digit["view"] = _grid(np.reshape(x, (28, 28)))
        return answer

    def _units(self, x, k):
        """The k hidden units that respond most to x (784,), as JSON-ready data."""
        found = inside.strongest_units(self.net, x, k)
        favours = [None] * len(found.index) if found.favours is None else found.favours
        return {"kind": found.kind, "units": [
            {"unit": int(i), "activation": round(float(a), 4),
             "favours": None if f is None else int(f), "picture": _grid(p)}
            for i, a, f, p in zip(found.index, found.activation, favours, found.pictures)]}

    def imagine_png(self, digit):
        """PNG bytes (28x28) of what the network thinks `digit` looks like. The ten pictures
        are drawn once, on first request (about a second): they depend on the weights only."""
        if not 0 <= digit < len(self.card["classes"]):
            raise ApiError(404, f"there is no digit {digit}: ask for 0 to "
                                f"{len(self.card['classes']) - 1}")
        with self._lock:
            if self._imagined is None:
                try:
                    digits = list(range(len(self.card["classes"])))
                    self._imagined = imagining.imagine_many(self.net, digits)   # (10, 28, 28)
                except ValueError as exc:
                    raise ApiError(501, f"this network cannot imagine digits: {exc}") from None
        buffer = io.BytesIO()
        digit_image(self._imagined[digit], scale=1).save(buffer, format="PNG")
        return buffer.getvalue()

    def _card(self):
        """The model card: what is loaded (from its metadata) and what the page can show."""
        net, meta = self.net, self.net.meta or {}
        metrics, state = meta.get("metrics") or {}, meta.get("state") or {}
        source = self.source and str(self.source)
        if self.source and Path(self.source) in map(checkpoint.shipped, datasets.NAMES):
            source = "the model that ships with mnistnn"
        probe = inside.strongest_units(net, np.zeros(784, dtype=np.float32), 1)
        return {
            "source": source,
            "description": checkpoint.describe(net),
            "layers": net.spec, "sizes": list(net.sizes), "activation": net.activation.name,
            "cost": net.cost.name, "output": net.cost.output.name,
            "parameters": sum(int(W.size + b.size) for W, b in zip(net.weights, net.biases)),
            "epoch": state.get("epoch"),
            "test_accuracy": meta.get("test_accuracy"),
            "validation_accuracy": metrics.get("validation_accuracy"),
            "created": meta.get("created"),
            "dataset": meta.get("dataset", "mnist"),
            "classes": _classes(net),
            "can": {"number": reading.number_refusal(net) is None,
                    "reject": reading.can_reject(net),
                    "feature_maps": probe.kind == "feature-map"},
            "limits": {"max_body_bytes": MAX_BODY, "max_units": MAX_UNITS},
        }


def _classes(net):
    """The output classes' names: the checkpoint's "classes" (issue 12), else 0-9."""
    names = (net.meta or {}).get("classes")
    n = net.sizes[-1]
    if isinstance(names, list) and len(names) == n and all(isinstance(s, str) for s in names):
        return names
    return [str(d) for d in range(n)]


def _grid(image):
    """An image (H, W) as lists of rows, values rounded to 3 decimals (compact JSON)."""
    return np.round(image.astype(np.float64), 3).tolist()
