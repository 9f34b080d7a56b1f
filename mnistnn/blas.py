"""How many threads OpenBLAS may use for training: the one place that decides it.

On a 2-core machine with another busy process, two OpenBLAS threads fight it for the
cores and a matrix product can take many times longer than with one thread (measured in
the README's Performance section). A small network gains nothing from a second thread,
so it always gets one; a large one gets the cores the load average says are free, at
least one. OPENBLAS_NUM_THREADS or OMP_NUM_THREADS, when the user sets either, win.

The thread count changes the order of floating-point sums, so a run records its count
(TrainState.blas_threads) and a resumed run uses it again, to stay bit for bit the same.
"""
import contextlib
import ctypes
import os

SMALL = 100_000   # parameters: below this a second thread never helped (784-30-10 has 23,860)
USER_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def user_chose():
    """True when the user fixed the thread count in the environment."""
    return any(os.environ.get(name) for name in USER_SETTINGS)


def choose(n_params):
    """The thread count for training a network of n_params parameters, here and now
    (the user's, if set)."""
    for name in USER_SETTINGS:
        if os.environ.get(name, "").strip().isdecimal():
            return max(1, int(os.environ[name]))
    if n_params < SMALL:
        return 1
    cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def busy_note(n, n_params):
    """A sentence when a large network gets fewer threads than there are cores."""
    cores = os.cpu_count() or 1
    if user_chose() or n_params < SMALL or n >= cores:
        return ""
    return (f"The machine is busy: training with {n} BLAS thread(s) of {cores}, which is "
            f"faster then (OPENBLAS_NUM_THREADS=N sets the number)")


@contextlib.contextmanager
def threads(n):
    """Run the block with n OpenBLAS threads (unless the user chose, or there is no
    OpenBLAS to ask), then restore the previous count."""
    calls = None if user_chose() or not n else _openblas()
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


def _openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS numpy loaded, or None."""
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
