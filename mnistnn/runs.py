"""A training run and its folder: how a run starts or resumes, who may write the folder,
and what happens to the run that was there before.

    start = new_run({"epochs": 5, "lr": 3.0})         # or resume("weights/latest.npz")
    Trainer(train=(x, y), weights_dir="weights", **start._asdict()).run()

The policy lives here so that the Python API gets it as the CLI does:
- One run at a time writes into a folder: `lock` holds an flock on the folder, which
  the kernel drops when the process ends, however it ends, so a killed run never
  leaves a stale lock behind.
- A new run replaces the folder's earlier run (RUN_FILES) only once its first epoch
  ends: a run that fails, or is stopped, before that leaves the folder exactly as it
  was (stopped with no earlier run there, it saves where it was, to resume from).
- metrics.jsonl is rewritten whole, atomically, after every epoch; a damaged line (an
  interrupted append by an older mnistnn) is left out with a note, never fatal.
- The first Ctrl-C or `kill` asks the loop to stop after the current batch
  (graceful_interrupt); a second one stops at once.
- A resumed run continues the saved settings and schedule bit for bit. Settings given
  explicitly change the rest of the run; `epochs` then means that many more epochs,
  and the schedule is laid out again over the new length (said in a note).
"""
import contextlib
import json
import signal
import tempfile
import threading
from collections import namedtuple
from pathlib import Path

from . import checkpoint, datasets
from .config import (ARCHITECTURE, TrainConfig, TrainState, check_fits_dataset, layers_text,
                     lr_at, normal_layers)
from .errors import CheckpointError, MnistnnError, Terminated
from .files import atomic_open, folder_lock, marked_png

RUN_FILES = ("latest.npz", "best.npz", "metrics.jsonl", "training.png")
Start = namedtuple("Start", "net config state velocity source")  # Trainer's arguments


def new_run(settings):
    """A new network and its checked settings (a dict of TrainConfig fields); its layers
    must read the data set (ValueError)."""
    from .network import Network

    config = TrainConfig(**settings)
    config.check()
    check_fits_dataset(config)
    net = Network(config.sizes, config.activation, config.cost, seed=config.seed)
    return Start(net, config, None, None, None)


def resume(path, changes=None, on_note=None):
    """Continue the run saved in the checkpoint at path, with the settings in `changes`
    (a dict of TrainConfig fields; "epochs" counts epochs to add) changed.

    Raises CheckpointError when the file holds no run, ValueError when a change is not
    possible (the architecture, or a finished run without more epochs)."""
    note = on_note or (lambda message: None)
    saved = checkpoint.read(path)
    if "config" not in saved.meta or "state" not in saved.meta:
        raise CheckpointError(f"{path} was not written by `mnistnn train`, so there is no "
                              f"run to resume")
    config = TrainConfig.from_dict(saved.meta["config"])
    state = TrainState.from_dict(saved.meta["state"])
    changes = dict(changes or {})
    more = changes.pop("epochs", None)
    for name, new in sorted(changes.items()):
        old = getattr(config, name)
        if old == new or (name == "sizes" and normal_layers(new) == old):
            continue
        if name in ARCHITECTURE:
            raise ValueError(f"--resume continues the network in {path}; its {name} "
                             f"({layers_text(old) if name == 'sizes' else old}) cannot change")
        note(f"Changing {name} from {old} to {new} for the rest of the run")
        setattr(config, name, new)
        if name == "batch_size" and state.batch:
            state.batch, state.rng_state = 0, None  # those batch numbers meant other batches
    _set_length(config, state, more, path, note)
    config.check()
    note(f"Resuming {path} after epoch {state.epoch}"
         + (f", batch {state.batch}" if state.batch else ""))
    return Start(saved.net, config, state, saved.velocity, Path(path))


def folder_of(start, dataset, chosen=None):
    """Where a run writes its checkpoints: the folder chosen (--weights-dir), else, for a
    resumed run, the folder of the checkpoint it continues, so that the run goes on where
    it was and never replaces another; else (a new run, or the model shipped inside the
    package) the data set's default folder."""
    if chosen:
        return Path(chosen)
    source = start.source
    package = checkpoint.shipped().parent.resolve()
    if source and Path(source).resolve().parent != package:
        return Path(source).parent
    return checkpoint.default_weights_dir(dataset)


def _set_length(config, state, more, path, note):
    """`more` epochs after the saved ones (None: the run's own length, if any is left)."""
    if more is None:
        if state.epoch >= config.epochs:
            raise ValueError(f"{path} already finished its {config.epochs} epochs; pass "
                             f"--epochs N to train N more")
        return
    planned = lr_at(config, state.epoch) if state.epoch < config.epochs else None
    old, config.epochs = config.epochs, state.epoch + more
    if config.epochs != old and (config.schedule != "constant" or config.warmup > state.epoch):
        note(f"The run now has {config.epochs} epochs instead of {old}: its {config.schedule} "
             f"schedule is laid out again over {config.epochs}, so epoch {state.epoch + 1} "
             f"gets lr {lr_at(config, state.epoch):.4g}"
             + (f" (planned: {planned:.4g})" if planned is not None else "")
             + "; only a run that keeps its length resumes bit for bit")


@contextlib.contextmanager
def graceful_interrupt():
    """Turn the first Ctrl-C, or `kill` (SIGTERM, what a job's time limit sends), into a
    flag: the loop stops after the current batch. A second one interrupts at once.
    Yields a callable: the number of the signal that asked to stop, else 0."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: 0
        return
    pressed = []

    def handler(signum, frame):
        if pressed:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        pressed.append(signum)

    previous = {kind: signal.signal(kind, handler) for kind in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: pressed[0] if pressed else 0
    finally:
        for kind, before in previous.items():
            signal.signal(kind, signal.SIG_DFL if before is None else before)


@contextlib.contextmanager
def lock(folder):
    """Hold the folder for one training run; MnistnnError if another run holds it.
    Re-entrant within a process (the run may download its data into the same folder)."""
    with folder_lock(folder, wait=False) as held:
        if not held:
            raise MnistnnError(f"another training run is writing into {folder}/ right now: "
                               f"wait for it to end, or pass another --weights-dir")
        yield


def check_writable(folder, what="checkpoints"):
    """Create folder if needed; MnistnnError naming it unless a file can be created in it
    (creating one is the only test that root, a read-only file system or a full disk
    cannot fool: os.access can)."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(folder, what, exc.strerror or exc) from None
    check_can_write(folder, what)


def check_can_write(folder, what="checkpoints"):
    """check_writable with nothing left behind, for before any work: MnistnnError unless
    the nearest part of folder's path that exists is a folder a file can be created in
    (one is, and removed at once)."""
    path = Path(folder)
    there = next(p for p in (path, *path.parents) if p.exists())   # '.' or '/' at last
    if not there.is_dir():
        raise _cannot_write(folder, what, f"{there} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=there):
            pass
    except OSError as exc:
        raise _cannot_write(folder, what, exc.strerror or exc) from None


def _cannot_write(folder, what, why):
    return MnistnnError(f"cannot write {what} into {folder}/: {why}")


def earlier_run(folder):
    """The files of a run in folder, by name. MnistnnError when one of them is not a file
    mnistnn made (a person's picture or notes under a run file's name): the run would
    replace it, so it is refused before any work."""
    names = [name for name in RUN_FILES if (Path(folder) / name).exists()]
    for name in names:
        if not _made_by_a_run(Path(folder) / name):
            what = ("is not a checkpoint mnistnn can read (damaged, or another program's)"
                    if name.endswith(".npz") else "is not a file mnistnn made")
            raise MnistnnError(f"{folder}/{name} {what}, and a run writes its own {name} "
                               f"there: move it away, or pass another --weights-dir")
    return names


def earlier_dataset(folder):
    """The data set (datasets entry) the run in folder trained on, from its checkpoint's
    metadata; None when it has none that can be read."""
    for name in ("latest.npz", "best.npz"):
        try:
            return datasets.trained_on(checkpoint.read_meta(Path(folder) / name))
        except (MnistnnError, OSError):
            continue
    return None


def _made_by_a_run(path):
    """Whether path looks like what a run writes under its name: a checkpoint (an .npz
    archive holding metadata), the training curves (a picture of mnistnn's), the metrics
    (JSON lines with an epoch, or nothing yet)."""
    if path.suffix == ".npz":
        return checkpoint.has_metadata(path)
    if path.suffix == ".png":
        return marked_png(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line for line in f if line.strip()]
    except OSError:
        return False
    return not lines or any(_epoch_line(line) for line in lines)


def _epoch_line(line):
    """Whether a line of metrics.jsonl is a run's: a JSON object with an epoch."""
    try:
        metrics = json.loads(line)
    except ValueError:
        return False
    return isinstance(metrics, dict) and "epoch" in metrics


def remove_earlier_run(folder, keep):
    """Delete what an earlier run left in folder, except the files named in keep."""
    for name in RUN_FILES:
        if name not in keep:
            (Path(folder) / name).unlink(missing_ok=True)


def read_history(folder, upto, on_note=None):
    """The metrics of epochs 1..upto recorded in folder/metrics.jsonl, in order; lines
    that do not parse are left out, with a note."""
    path = Path(folder) / "metrics.jsonl"
    if not upto or not path.is_file():
        return []
    history, damaged = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                metrics = json.loads(line)
                epoch = metrics["epoch"]
            except (ValueError, TypeError, KeyError):
                damaged += bool(line.strip())
                continue
            if type(epoch) is int and len(history) < epoch <= upto:
                history.append(metrics)
    if damaged and on_note:
        on_note(f"{path}: left out {damaged} damaged line(s) (an interrupted write?)")
    return history


def write_history(folder, history):
    """Write folder/metrics.jsonl, one JSON object per epoch, whole or not at all."""
    with atomic_open(Path(folder) / "metrics.jsonl", "w") as f:
        f.writelines(json.dumps(metrics) + "\n" for metrics in history)
