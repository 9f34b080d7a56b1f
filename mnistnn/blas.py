"""How many threads training uses, and how they share the work: the one place for both.

On a 2-core machine with another busy process, two OpenBLAS threads fight it for the
cores and a matrix product can take many times longer than with one thread (measured in
the README's Performance section). A small network gains nothing from a second thread,
so it always gets one; a large one gets the cores other processes leave free now, at
least one. OPENBLAS_NUM_THREADS or OMP_NUM_THREADS, when the user sets either, win.

The thread count changes the order of floating-point sums, so a run records its count
(TrainState.blas_threads) and a resumed run uses it again, to stay bit for bit the same.

How n threads share a batch (in_parallel): each of n Python threads runs the whole
forward and backward pass for its slice of the batch, with OpenBLAS on one thread, and
the slices' gradients are summed in a fixed order. Measured against OpenBLAS's own n
threads per product plus numpy's elementwise work split over threads per call (what the
network did before, README's Performance section): numpy lets go of Python's lock in its
products, copies and most elementwise loops, so the threads run at once, meet once per
batch instead of a few dozen times, and no idle OpenBLAS thread spins on a core that the
other thread needs.
"""
import contextlib
import ctypes
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

SMALL = 100_000   # parameters: below this a second thread never helped (784-30-10 has 23,860)
USER_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def user_chose():
    """True when the user fixed the thread count in the environment."""
    return any(os.environ.get(name) for name in USER_SETTINGS)


def choose(n_params):
    """The thread count for training a network of n_params parameters, here and now
    (the user's, if set)."""
    if _users_count():
        return _users_count()
    if n_params < SMALL:
        return 1
    cores = _cores()
    return max(1, min(cores, int(cores - busy_elsewhere() + 0.5)))


def busy_elsewhere(seconds=0.25):
    """The cores other processes keep busy now: all CPU time the machine spent in a short
    look (/proc/stat) less this process's own. Where there is no /proc, the one-minute load
    average, which lags: it still counts, for a minute, a process that has just ended."""
    before = _busy_ticks(), time.process_time(), time.perf_counter()
    if before[0] is None:
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    time.sleep(seconds)
    after = _busy_ticks(), time.process_time(), time.perf_counter()
    wall = after[2] - before[2]
    everyone = (after[0] - before[0]) / os.sysconf("SC_CLK_TCK") / wall
    return max(0.0, everyone - (after[1] - before[1]) / wall)


def _busy_ticks():
    """CPU time all processes have used since boot, in clock ticks, or None (no /proc)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(ticks) - ticks[3] - ticks[4]      # all but idle and iowait


def busy_note(n, n_params):
    """A sentence when a large network gets fewer threads than there are cores."""
    cores = _cores()
    if user_chose() or n_params < SMALL or n >= cores:
        return ""
    return (f"The machine is busy: training with {n} BLAS thread(s) of {cores}, which is "
            f"faster then (OPENBLAS_NUM_THREADS=N sets the number)")


@contextlib.contextmanager
def threads(n):
    """Run the block with n threads: in_parallel splits work n ways and OpenBLAS gets n
    threads for products outside it (unless the user chose its count, or there is no
    OpenBLAS to ask); then restore the previous counts."""
    before = _WORKERS[0]
    _WORKERS[0] = n or before
    try:
        with _blas_threads(None if user_chose() else n):
            yield
    finally:
        _WORKERS[0] = before


def workers():
    """Threads in_parallel uses now: the count of the innermost threads() block, else the
    user's OPENBLAS_NUM_THREADS or OMP_NUM_THREADS, else one per CPU this process may use."""
    return _WORKERS[0]


def in_parallel(fn, n, least=8):
    """[fn(rows) for each part of range(n)]: workers() parts (fewer, so that each has at
    least `least` rows) of consecutive rows, run at once, each thread's products on one
    OpenBLAS thread. The parts, so the results, depend on n and the thread count alone."""
    k = max(1, min(workers(), n // least))
    if k == 1 or getattr(_INSIDE, "yes", False):      # a part does not split again
        return [fn(slice(0, n))]
    edges = [n * i // k for i in range(k + 1)]
    parts = [slice(a, b) for a, b in zip(edges, edges[1:])]
    with _LOCK, _blas_threads(1):         # one region at a time: the BLAS count is global
        if k not in _POOLS:
            _POOLS[k] = ThreadPoolExecutor(k - 1, thread_name_prefix="mnistnn")
        others = [_POOLS[k].submit(_part, fn, rows) for rows in parts[1:]]
        try:
            first = _part(fn, parts[0])
        finally:
            for other in others:
                other.exception()          # waits for every part, even after an error
        return [first] + [other.result() for other in others]


def _part(fn, rows):
    _INSIDE.yes = True
    try:
        return fn(rows)
    finally:
        _INSIDE.yes = False


@contextlib.contextmanager
def _blas_threads(n):
    """Run the block with n OpenBLAS threads (None or no OpenBLAS: as they are)."""
    calls = _openblas() if n else None
    if calls is None:
        yield
        return
    get, set_ = calls
    before = get()
    set_(n)
    try:
        yield
    finally:
        set_(before)


def _users_count():
    """The thread count the user set in the environment (at least 1), or None."""
    for name in USER_SETTINGS:
        if os.environ.get(name, "").strip().isdecimal():
            return max(1, int(os.environ[name]))
    return None


def _cores():
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_WORKERS = [_users_count() or _cores()]
_POOLS = {}   # thread count -> the pool of its helper threads, made once
_LOCK, _INSIDE = threading.Lock(), threading.local()


def _openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS numpy loaded, or None."""
    if not _CALLS:
        _CALLS.extend([_find_openblas()] if "numpy" in sys.modules else [])
    return _CALLS[0] if _CALLS else None


_CALLS = []   # once numpy is loaded: the calls _find_openblas found, or None


def _find_openblas():
    try:
        with open("/proc/self/maps") as maps:   # the libraries this process has loaded
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
                if get and set_:
                    set_.argtypes = [ctypes.c_int]
                    return get, set_
    return None
