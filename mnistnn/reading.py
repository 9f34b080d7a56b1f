"""What mnistnn answers for a person's image, as JSON-ready data.

    answer, x = read_digit(net, "seven.jpg")
    answer == {"digit": 7, "confidence": 0.986, "probabilities": [...10 floats...]}
    x.shape == (784,)    # the MNIST-form input the network saw

`mnistnn classify --json` prints these answers (with "path" in front), and every other
front end (the drawing page's JSON API) returns the same objects, so they never drift.
"""
import numpy as np

from .imaging import load_digit


def digit_answer(probabilities):
    """The answer for one digit's probabilities (10,): digit, confidence, probabilities."""
    p = [round(float(v), 6) for v in probabilities]
    best = int(np.argmax(probabilities))
    return {"digit": best, "confidence": p[best], "probabilities": p}


def read_digit(net, source, name=None):
    """Read the one digit in an image (a path or its bytes): (answer dict, input (784,)).

    Raises ImageError, one sentence naming the image, when it cannot be read."""
    x = load_digit(source, name)                          # (784,) float32 in [0, 1]
    probabilities = net.predict_proba(x[None])[0]          # (1, 784) -> (10,)
    return digit_answer(probabilities), x
