"""Training: the epoch loop and its checkpoints (settings: config.py; how a run starts,
resumes and takes over its folder: runs.py; measuring: evaluation.py).

    trainer = Trainer(Network([784, 30, 10]), TrainConfig(epochs=5, lr=3.0),
                      train=(x, labels), validation=(xv, labels_v), weights_dir="weights")
    outcome = trainer.run(on_epoch=print)

Each epoch shuffles with its own generator, default_rng([seed, epoch]), so a resumed
run draws exactly the numbers the uninterrupted run would have drawn.
"""
import contextlib
import math
import signal
import time
from pathlib import Path

import numpy as np

from . import blas, checkpoint, datasets, runs
from .augment import augment
from .config import SCHEDULES, TrainConfig, TrainState, lr_at  # noqa: F401 (this module's API)
from .errors import TrainingDiverged
from .evaluation import TRAIN_EVAL_SIZE, check_data, eval_subset, evaluate, split  # noqa: F401
from .network import SGD, one_hot
from .runs import (check_can_write, folder_of, graceful_interrupt, new_run,  # noqa: F401
                   resume)  # (this module's API)

# A network whose every output varies by less than this across the inputs answers the
# same whatever the image: measured 0 to 2e-5 after a collapse, 0.016 and more at the
# random start of a 784-30-10 network of any activation.
COLLAPSED = 1e-3
# Training images whose statistics each BatchNorm holds after an epoch (Network.calibrate):
# means and variances over 2048 images x positions, a forward pass of a second or so.
CALIBRATION_SIZE = 2048


def with_windows(inputs, labels, config):
    """The training set and, after it, config.touching of its size again in windows cut
    out of lines of its touching digits (touching.py), drawn from the run's seed: a
    resumed run makes the same ones. The one use of Pillow in training, imported only
    when asked for: a window goes through the form code a person's image goes through."""
    from .touching import windows

    rng = np.random.default_rng([config.seed, WINDOWS_STREAM])
    extra, extra_labels = windows(inputs, labels, n_windows(config, len(inputs)), rng)
    return (np.concatenate([inputs, extra.astype(inputs.dtype, copy=False)]),
            np.concatenate([labels, extra_labels]))


def n_windows(config, n):
    """How many windows of touching digits a training set of n images gets."""
    return round(config.touching * n)


WINDOWS_STREAM = 2**31   # the windows' random stream: [seed, epoch] is each epoch's


class Trainer:
    """Runs the epochs of one training run, writing checkpoints as it goes.

    weights_dir gets latest.npz after every epoch, best.npz whenever validation accuracy
    improves, and metrics.jsonl, one JSON object per epoch (runs.py says how a run takes
    over a folder). `state`, `velocity` and `source` (from runs.resume) continue an
    earlier run where it stopped.
    """

    def __init__(self, net, config, train, validation=None, weights_dir=None,
                 state=None, velocity=None, source=None):
        config.check()
        self.net, self.config = net, config
        self.inputs, self.labels = train
        check_data(net, train, validation, config)
        subset = eval_subset(len(self.inputs), config.seed)
        self.train_eval = (self.inputs[subset], self.labels[subset])   # the digits as they are
        if config.touching:
            self.inputs, self.labels = with_windows(self.inputs, self.labels, config)
        self.targets = one_hot(self.labels, net.sizes[-1], net.dtype)
        self.validation = validation
        self.weights_dir = Path(weights_dir) if weights_dir else None
        self.optimizer = SGD(config.lr, config.momentum, config.nesterov, config.l2,
                             config.max_norm)
        self.optimizer.velocity = velocity
        if not isinstance(state, TrainState):
            state = TrainState.from_dict(state or {})
        self.epoch, self.batch = state.epoch, state.batch  # epochs done, next batch of the next
        self.rng_state = state.rng_state
        self.best, self.best_epoch = state.best_validation_accuracy, state.best_epoch
        self.stale = state.stale_epochs                    # epochs since the best one
        self.n_params = sum(W.size for W in net.weights)
        self.blas_threads = state.blas_threads or blas.choose(self.n_params)
        self.source = Path(source) if source else None
        self.history, self.claimed = [], False  # claimed: this run's checkpoint is in the folder
        self.earlier = []                        # the files of the run it is to replace

    @property
    def n_batches(self):
        return math.ceil(len(self.inputs) / self.config.batch_size)

    def run(self, on_batch=None, on_epoch=None, on_note=None):
        """Train until config.epochs, early stopping, Ctrl-C or kill; return a summary
        dict (after a signal, its "signal": "SIGINT" or "SIGTERM").

        on_batch(batch, n_batches, loss) is called about 100 times per epoch;
        on_epoch(metrics) after each epoch; on_note(sentence) with news about the folder.
        Raises TrainingDiverged on a NaN/inf loss or a collapse, MnistnnError when the
        folder cannot be written or another run holds it."""
        note = on_note or (lambda message: None)
        if blas.busy_note(self.blas_threads, self.n_params):
            note(blas.busy_note(self.blas_threads, self.n_params))
        with self._folder(note), blas.threads(self.blas_threads), np.errstate(all="ignore"), \
                graceful_interrupt() as stop_requested:
            while self.epoch < self.config.epochs:
                if not self._train_epoch(on_batch, stop_requested):
                    return {**self._summary("interrupted"),
                            "signal": signal.Signals(stop_requested()).name}
                metrics = self._end_epoch()
                if on_epoch:
                    on_epoch(metrics)
                if self.config.patience and self.stale >= self.config.patience:
                    return self._summary("early-stopped")
        return self._summary("finished")

    @contextlib.contextmanager
    def _folder(self, note):
        """Hold weights_dir for the run: created, locked, writable, its history read."""
        folder = self.weights_dir
        if not folder:
            yield
            return
        created = not folder.exists()
        runs.check_writable(folder)
        try:
            with runs.lock(folder):
                self.claimed = bool(self.source) and self.source.parent.resolve() == \
                    folder.resolve()                      # a run continued in its own folder
                if self.source:
                    self.history = runs.read_history(self.source.parent, self.epoch, note)
                self.earlier = [] if self.claimed else runs.earlier_run(folder)
                if self.earlier:
                    was, now = runs.earlier_dataset(folder), datasets.get(self.config.dataset)
                    other = was is not None and was.name != now.name   # say when it changes
                    note(f"{folder}/ holds an earlier {was.title + ' ' if other else ''}run "
                         f"({', '.join(self.earlier)}); this {now.title + ' ' if other else ''}"
                         f"run replaces it once its first epoch ends")
                yield
        finally:
            if created and not self.claimed:
                with contextlib.suppress(OSError):
                    folder.rmdir()                         # only if nothing was written

    def _train_epoch(self, on_batch, stop_requested):
        """One pass over the shuffled training set; False if Ctrl-C or kill stopped it."""
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
                if self.claimed or not self.earlier:   # never a part-epoch for a whole run
                    self._calibrate()                  # the checkpoint usable as it is
                    self._save("latest.npz", interrupted=True)
                return False
        self.seconds = time.perf_counter() - started
        self.batch, self.rng_state = 0, None
        return True

    def _end_epoch(self):
        """Evaluate, record and checkpoint a finished epoch; return its metrics."""
        started = time.perf_counter()
        self._calibrate()
        train = evaluate(self.net, *self.train_eval)
        self._check_finite(train["loss"], "the end of the epoch")
        self._check_collapse(train)
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
        self.history.append(metrics)
        self._save("latest.npz")
        if improved:
            self._save("best.npz")
        if self.weights_dir:
            runs.write_history(self.weights_dir, self.history)
        return metrics

    def _calibrate(self):
        """Each batch normalisation's statistics, measured on the network as it is now."""
        self.net.calibrate(self.train_eval[0][:CALIBRATION_SIZE])

    def _distort(self, x, rng, distortion):
        """The batch x (B, 784) as the network should see it: augmented, pixels dropped."""
        cfg = self.config
        x = augment(x, rng, distortion)
        if cfg.input_dropout:
            keep = rng.random(x.shape, dtype=np.float32) >= cfg.input_dropout
            x = x * keep * np.float32(1 / (1 - cfg.input_dropout))  # inverted, as in forward
        return x

    def _check_finite(self, loss, where):
        if math.isfinite(loss) and all(np.isfinite(W).all() for W in self.net.weights[-1:]):
            return
        what = f"the loss became {loss}" if not math.isfinite(loss) else \
            "the weights became NaN or infinite"
        raise TrainingDiverged(
            f"training diverged at epoch {self.epoch + 1}, {where}: {what}. The learning "
            f"rate ({self.config.lr:g}) is probably too high; try a smaller --lr.{self._kept()}")

    def _check_collapse(self, train):
        """A network that answers the same whatever the input has collapsed, even with a
        finite loss (dead ReLUs, saturated sigmoids): stop rather than train on."""
        if train["accuracy"] >= 2 / self.net.sizes[-1] or train["spread"] >= COLLAPSED:
            return
        blame = "learning rate ({:g}) is probably too high".format(self.config.lr)
        if self.config.l2:
            blame += f", or the weight decay ({self.config.l2:g}) too strong"
        if self.config.max_norm:
            blame += f", or the max-norm limit ({self.config.max_norm:g}) too tight"
        raise TrainingDiverged(
            f"training collapsed in epoch {self.epoch + 1}: the network gives the same "
            f"answer whatever the image (training accuracy {train['accuracy']:.1%}, chance "
            f"level, at a finite loss of {train['loss']:.4g}). The {blame}; try a smaller "
            f"--lr.{self._kept()}")

    def _kept(self):
        """What the folder holds after a failure, as a sentence to append."""
        if not self.weights_dir:
            return ""
        if self.claimed:
            return (f" The last good checkpoint is {self.weights_dir / 'latest.npz'} "
                    f"(epoch {self.epoch}).")
        return f" Nothing was saved: {self.weights_dir}/ is as it was."

    def _save(self, name, interrupted=False):
        if not self.weights_dir:
            return
        state = {"epoch": self.epoch, "batch": self.batch, "rng_state": self.rng_state,
                 "best_validation_accuracy": self.best, "best_epoch": self.best_epoch,
                 "stale_epochs": self.stale, "blas_threads": self.blas_threads}
        meta = {"config": self.config.to_dict(), "state": state, "interrupted": interrupted,
                "metrics": getattr(self, "metrics", None), "dataset": self.config.dataset}
        # Only latest.npz, the point to resume from, carries the momentum state; best.npz
        # is the model to use and stays half the size.
        velocity = self.optimizer.velocity if name == "latest.npz" else None
        checkpoint.save(self.weights_dir / name, self.net, meta, velocity)
        if not self.claimed:    # the run's first checkpoint: now it replaces the earlier run
            runs.remove_earlier_run(self.weights_dir, keep={name})
            if self.history:
                runs.write_history(self.weights_dir, self.history)
            self.claimed = True

    def _summary(self, status):
        """How the run ended; "latest" and "best" name this run's checkpoints, if any,
        and "folder" its weights_dir."""
        paths = {"folder": str(self.weights_dir)} if self.weights_dir else {}
        if self.weights_dir and self.claimed:
            paths.update({name: str(self.weights_dir / f"{name}.npz")
                          for name in ("latest", "best")
                          if (self.weights_dir / f"{name}.npz").exists()})
        return {"status": status, "epoch": self.epoch, "batch": self.batch,
                "n_batches": self.n_batches, "best_validation_accuracy": self.best,
                "best_epoch": self.best_epoch, **paths}
