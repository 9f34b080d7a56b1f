"""What mnistnn answers for a person's image, as JSON-ready data.

    answer, x = read_digit(net, "seven.jpg")
    answer == {"digit": 7, "label": 7, "name": "7", "confidence": 0.986,
               "probabilities": [...10 floats...]}
    x.shape == (784,)    # the input the network saw, in its data set's form

"label" is the number of the class the network chose, "name" its name (a digit for
MNIST, "Sneaker" for Fashion-MNIST); "digit" is the same number as "label", kept under
the key it has always had so that scripts written for MNIST go on working.
`mnistnn classify --json` prints these answers (with "path" in front), and every other
front end (the drawing page's JSON API) returns the same objects, so they never drift.
"""
import numpy as np

from .datasets import trained_on
from .imaging import load_digit


def digit_answer(probabilities, classes=None):
    """The answer for one image's probabilities (10,): its class (as "digit", "label"
    and "name", from classes, default the digits), confidence, probabilities."""
    p = [round(float(v), 6) for v in probabilities]
    best = int(np.argmax(probabilities))
    name = str(classes[best]) if classes is not None else str(best)
    return {"digit": best, "label": best, "name": name, "confidence": p[best],
            "probabilities": p}


def read_digit(net, source, name=None):
    """Read the one digit (or object) in an image (a path or its bytes), brought to the
    form of the network's data set: (answer dict, input (784,)).

    Raises ImageError, one sentence naming the image, when it cannot be read."""
    dataset = trained_on(net.meta)
    x = load_digit(source, name, dataset.style)            # (784,) float32 in [0, 1]
    probabilities = net.predict_proba(x[None])[0]          # (1, 784) -> (10,)
    return digit_answer(probabilities, dataset.classes), x
