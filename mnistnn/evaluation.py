"""Measuring a network on labelled data, and the data's split into training and
validation sets (numpy only)."""
import numpy as np

from .network import one_hot

# The training-set metrics of each epoch come from a fixed random subset of this many
# images: a full pass over 50k images cost about half as much as the epoch itself.
TRAIN_EVAL_SIZE = 10000


def split(inputs, labels, validation_size):
    """The last validation_size examples become the validation set: (train, validation)."""
    if validation_size >= len(inputs):
        raise ValueError(f"the validation size ({validation_size}) must be smaller than "
                         f"the training set ({len(inputs)} images)")
    if validation_size == 0:
        return (inputs, labels), None
    cut = len(inputs) - validation_size
    return (inputs[:cut], labels[:cut]), (inputs[cut:], labels[cut:])


def evaluate(net, inputs, labels, batch_size=10000):
    """Loss and accuracy of the network on a labelled set, in one forward pass, and the
    spread of its answers: the largest standard deviation of an output unit across the
    inputs (of the first batch_size), about 0 when the output ignores the input."""
    loss, correct, spread = 0.0, 0, 0.0
    for i in range(0, len(inputs), batch_size):
        a = net.feedforward(inputs[i:i + batch_size])              # (b, 10)
        y = labels[i:i + batch_size]
        loss += net.cost.fn(a, one_hot(y, a.shape[1], a.dtype)) * len(a)
        correct += int(np.count_nonzero(a.argmax(axis=1) == y))
        spread = spread or float(a.std(axis=0).max())
    n = max(len(inputs), 1)
    return {"loss": loss / n, "accuracy": correct / n, "spread": spread}


def check_data(net, train, validation, config):
    """ValueError when the data does not fit the network or the settings."""
    for inputs, labels in filter(None, (train, validation)):
        if inputs.ndim != 2 or inputs.shape[1] != net.sizes[0] or len(inputs) != len(labels):
            raise ValueError(f"the network takes {net.sizes[0]} inputs per example; the data "
                             f"is {inputs.shape} with {len(labels)} labels")
        if len(labels) and not 0 <= labels.min() <= labels.max() < net.sizes[-1]:
            raise ValueError(f"the labels run from {labels.min()} to {labels.max()}, the "
                             f"network has {net.sizes[-1]} outputs")
    if config.patience and not validation:
        raise ValueError("early stopping (patience) needs a validation set")
    if config.batch_size > len(train[0]):
        raise ValueError(f"--batch-size {config.batch_size} is more than the "
                         f"{len(train[0]):,} training images: a batch cannot hold more")


def eval_subset(n, seed, size=TRAIN_EVAL_SIZE):
    """Indices of the fixed training subset whose metrics stand for the training set."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 2**31]).choice(n, size, replace=False))
