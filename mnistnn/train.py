"""Training: the epoch loop, evaluation and the checkpoint policy (settings: config.py).

    trainer = Trainer(Network([784, 30, 10]), TrainConfig(epochs=5, lr=3.0),
                      train=(x, labels), validation=(xv, labels_v), weights_dir="weights")
    outcome = trainer.run(on_epoch=print)

Each epoch shuffles with its own generator, default_rng([seed, epoch]), so a resumed
run draws exactly the numbers the uninterrupted run would have drawn.
"""
import contextlib
import json
import math
import signal
import threading
import time
from pathlib import Path

import numpy as np

from . import checkpoint
from .augment import augment
from .config import SCHEDULES, TrainConfig, lr_at  # noqa: F401  (part of this module's API)
from .errors import TrainingDiverged
from .network import SGD, one_hot

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
    """Loss and accuracy of the network on a labelled set, in one forward pass."""
    loss, correct = 0.0, 0
    for i in range(0, len(inputs), batch_size):
        a = net.feedforward(inputs[i:i + batch_size])              # (b, 10)
        y = labels[i:i + batch_size]
        loss += net.cost.fn(a, one_hot(y, a.shape[1], a.dtype)) * len(a)
        correct += int(np.count_nonzero(a.argmax(axis=1) == y))
    n = max(len(inputs), 1)
    return {"loss": loss / n, "accuracy": correct / n}


def eval_subset(n, seed, size=TRAIN_EVAL_SIZE):
    """Indices of the fixed training subset whose metrics stand for the training set."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 2**31]).choice(n, size, replace=False))


@contextlib.contextmanager
def graceful_interrupt():
    """Turn the first Ctrl-C into a flag (the loop stops after the current batch); a
    second Ctrl-C interrupts at once. Yields a callable that says whether to stop."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    pressed = []

    def handler(signum, frame):
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous)


class Trainer:
    """Runs the epochs of one training run, writing checkpoints as it goes.

    weights_dir gets latest.npz after every epoch, best.npz whenever validation accuracy
    improves, and metrics.jsonl, one JSON object per epoch. `state` (from a checkpoint's
    metadata) continues an earlier run where it stopped.
    """

    def __init__(self, net, config, train, validation=None, weights_dir=None,
                 state=None, velocity=None):
        config.check()
        self.net, self.config = net, config
        self.inputs, self.labels = train
        self.targets = one_hot(self.labels, net.sizes[-1], net.dtype)
        subset = eval_subset(len(self.inputs), config.seed)
        self.train_eval = (self.inputs[subset], self.labels[subset])
        self.validation = validation
        self.weights_dir = Path(weights_dir) if weights_dir else None
        self.optimizer = SGD(config.lr, config.momentum, config.nesterov, config.l2,
                             config.max_norm)
        self.optimizer.velocity = velocity
        state = state or {}
        self.epoch = state.get("epoch", 0)          # epochs completed
        self.batch = state.get("batch", 0)          # next batch of an interrupted epoch
        self.rng_state = state.get("rng_state")
        self.best = state.get("best_validation_accuracy")
        self.best_epoch = state.get("best_epoch")
        self.stale = state.get("stale_epochs", 0)  # epochs since the best one

    @property
    def n_batches(self):
        return math.ceil(len(self.inputs) / self.config.batch_size)

    def run(self, on_batch=None, on_epoch=None):
        """Train until config.epochs, early stopping or Ctrl-C; return a summary dict.

        on_batch(batch, n_batches, loss) is called about 100 times per epoch;
        on_epoch(metrics) after each epoch. Raises TrainingDiverged on a NaN/inf loss.
        """
        if self.weights_dir:
            self.weights_dir.mkdir(parents=True, exist_ok=True)
        with np.errstate(all="ignore"), graceful_interrupt() as stop_requested:
            while self.epoch < self.config.epochs:
                if not self._train_epoch(on_batch, stop_requested):
                    return self._summary("interrupted")
                metrics = self._end_epoch()
                if on_epoch:
                    on_epoch(metrics)
                if self.config.patience and self.stale >= self.config.patience:
                    return self._summary("early-stopped")
        return self._summary("finished")

    def _train_epoch(self, on_batch, stop_requested):
        """One pass over the shuffled training set; False if Ctrl-C stopped it."""
        cfg, net, B = self.config, self.net, self.config.batch_size
        rng = np.random.default_rng([cfg.seed, self.epoch])
        order = rng.permutation(len(self.inputs))
        if self.batch and self.rng_state:   # resume mid-epoch: same order, same stream
            rng.bit_generator.state = self.rng_state
        self.optimizer.lr = lr_at(cfg, self.epoch)
        report_every = max(1, self.n_batches // 100)
        distortion = cfg.distortion  # once per epoch: a small batch has no time to spare
        distorted = distortion.active or cfg.input_dropout
        started = time.perf_counter()
        for b in range(self.batch, self.n_batches):
            idx = order[b * B:(b + 1) * B]
            x, y = self.inputs.take(idx, axis=0), self.targets.take(idx, axis=0)
            if distorted:
                x = self._distort(x, rng, distortion)
            out = net.train_batch(x, y, self.optimizer, cfg.dropout, rng)
            if b % report_every == 0 or b == self.n_batches - 1:
                loss = net.cost.fn(out, y)
                self._check_finite(loss, f"batch {b + 1}")
                if on_batch:
                    on_batch(b + 1, self.n_batches, loss)
            if stop_requested():
                self.batch, self.rng_state = b + 1, rng.bit_generator.state
                self._save("latest.npz", interrupted=True)
                return False
        self.seconds = time.perf_counter() - started
        self.batch, self.rng_state = 0, None
        return True

    def _end_epoch(self):
        """Evaluate, record and checkpoint a finished epoch; return its metrics."""
        started = time.perf_counter()
        train = evaluate(self.net, *self.train_eval)
        self._check_finite(train["loss"], "the end of the epoch")
        val = evaluate(self.net, *self.validation) if self.validation else None
        self.epoch += 1
        metrics = {"epoch": self.epoch, "train_loss": train["loss"],
                   "train_accuracy": train["accuracy"],
                   "validation_loss": val and val["loss"],
                   "validation_accuracy": val and val["accuracy"],
                   "lr": self.optimizer.lr, "seconds": round(self.seconds, 4),
                   "eval_seconds": round(time.perf_counter() - started, 4)}
        improved = val is not None and (self.best is None or val["accuracy"] > self.best)
        if improved:
            self.best, self.best_epoch, self.stale = val["accuracy"], self.epoch, 0
        else:
            self.stale += 1
        self.metrics = metrics
        self._save("latest.npz")
        if improved:
            self._save("best.npz")
        if self.weights_dir:
            with open(self.weights_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(metrics) + "\n")
        return metrics

    def _distort(self, x, rng, distortion):
        """The batch x (B, 784) as the network should see it: augmented, pixels dropped."""
        cfg = self.config
        x = augment(x, rng, distortion)
        if cfg.input_dropout:
            keep = rng.random(x.shape, dtype=np.float32) >= cfg.input_dropout
            x = x * keep * np.float32(1 / (1 - cfg.input_dropout))  # inverted, as in forward
        return x

    def _check_finite(self, loss, where):
        if not math.isfinite(loss) or not all(np.isfinite(W).all() for W in self.net.weights[-1:]):
            last = self.weights_dir / "latest.npz" if self.weights_dir else None
            kept = (f" The last good checkpoint is {last} (epoch {self.epoch})."
                    if last and last.exists() else "")
            raise TrainingDiverged(
                f"training diverged at epoch {self.epoch + 1}, {where}: the loss became "
                f"{loss}. The learning rate ({self.config.lr:g}) is probably too high; "
                f"try a smaller --lr.{kept}")

    def _save(self, name, interrupted=False):
        if not self.weights_dir:
            return
        state = {"epoch": self.epoch, "batch": self.batch, "rng_state": self.rng_state,
                 "best_validation_accuracy": self.best, "best_epoch": self.best_epoch,
                 "stale_epochs": self.stale}
        meta = {"config": self.config.to_dict(), "state": state, "interrupted": interrupted,
                "metrics": getattr(self, "metrics", None)}
        # Only latest.npz, the point to resume from, carries the momentum state; best.npz
        # is the model to use and stays half the size.
        velocity = self.optimizer.velocity if name == "latest.npz" else None
        checkpoint.save(self.weights_dir / name, self.net, meta, velocity)

    def _summary(self, status):
        paths = {}
        if self.weights_dir:
            paths = {name: str(self.weights_dir / f"{name}.npz") for name in ("latest", "best")
                     if (self.weights_dir / f"{name}.npz").exists()}
        return {"status": status, "epoch": self.epoch, "batch": self.batch,
                "n_batches": self.n_batches, "best_validation_accuracy": self.best,
                "best_epoch": self.best_epoch, **paths}
