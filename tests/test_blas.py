"""Threads (blas.py): one for small networks or a busy machine, the user's choice wins,
a resumed run keeps its count; a batch split over threads, each on one OpenBLAS thread."""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from mnistnn import blas, train
from mnistnn.config import TrainConfig
from mnistnn.network import SGD, Network, one_hot


@pytest.fixture
def no_user_choice(monkeypatch):
    for name in blas.USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def openblas():
    calls = blas._openblas()
    if calls is None:
        pytest.skip("numpy here does not use OpenBLAS")
    return calls


def test_small_networks_get_one_thread_and_large_ones_the_free_cores(no_user_choice,
                                                                     monkeypatch):
    monkeypatch.setattr(blas, "_cores", lambda: 2)
    monkeypatch.setattr(blas, "busy_elsewhere", lambda: 0.1)
    assert blas.choose(23_860) == 1                      # 784-30-10
    assert blas.choose(1_275_200) == 2                   # 784-800-800-10, a quiet machine
    assert blas.busy_note(2, 1_275_200) == ""
    monkeypatch.setattr(blas, "busy_elsewhere", lambda: 1.0)   # one other process
    assert blas.choose(1_275_200) == 1
    assert "The machine is busy: training with 1 BLAS thread(s) of 2" in blas.busy_note(
        1, 1_275_200)


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="no /proc/stat here")
def test_busy_elsewhere_sees_another_process_now_and_not_this_one():
    """A process spinning on a core counts as about one core; this process's own work does
    not count (the look is /proc/stat less our CPU time, not the lagging load average)."""
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert blas.busy_elsewhere(0.5) > 0.6
    finally:
        spin.kill()
        spin.wait()
    quiet = blas.busy_elsewhere(0.3)     # what others run now (a CI machine is not idle)
    stop = threading.Event()
    mine = threading.Thread(target=lambda: [None for _ in iter(stop.is_set, True)])
    mine.start()                         # spins on a core until stopped
    try:
        during = blas.busy_elsewhere(0.3)
    finally:
        stop.set()
        mine.join()
    assert during < quiet + 0.5  # our own spinning thread is not another process's load


def test_without_proc_the_load_average_decides(monkeypatch):
    monkeypatch.setattr(blas, "_busy_ticks", lambda: None)
    monkeypatch.setattr(blas.os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert blas.busy_elsewhere() == 1.5


def test_the_users_setting_wins(no_user_choice, monkeypatch, openblas):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert blas.user_chose() and blas.choose(10) == 3
    before = openblas[0]()
    with blas.threads(1):
        assert openblas[0]() == before                  # not touched


def test_threads_sets_and_restores_the_count(no_user_choice, openblas):
    get, set_ = openblas
    before = get()
    try:
        set_(2)
        with blas.threads(1):
            assert get() == 1
        assert get() == 2
    finally:
        set_(before)


def test_a_run_trains_with_its_count_and_records_it(no_user_choice, openblas, tmp_path):
    rng = np.random.default_rng(0)
    x, labels = rng.random((100, 784), dtype=np.float32), rng.integers(0, 10, 100)
    seen = []
    config = TrainConfig(epochs=1, batch_size=20)
    trainer = train.Trainer(Network(config.sizes), config, (x, labels), weights_dir=tmp_path)
    trainer.run(on_batch=lambda *a: seen.append(openblas[0]()))
    assert set(seen) == {1}
    from mnistnn import checkpoint

    state = checkpoint.read(tmp_path / "latest.npz").meta["state"]
    assert state["blas_threads"] == 1
    resumed = train.Trainer(Network(config.sizes), config, (x, labels),
                            state={**state, "blas_threads": 2})
    assert resumed.blas_threads == 2                    # as the run began: bit-exact resume


def test_in_parallel_runs_consecutive_parts_at_once_each_on_one_blas_thread(openblas):
    seen, barrier = [], threading.Barrier(3, timeout=10)

    def part(rows):
        barrier.wait()                                  # all three run at the same time
        seen.append((rows, threading.get_ident(), openblas[0](), blas.in_parallel(lambda r: r, 99)))
        return rows.stop - rows.start

    get, set_ = openblas
    before = get()
    try:
        set_(2)
        with blas.threads(3):
            assert blas.workers() == 3
            assert blas.in_parallel(part, 50) == [16, 17, 17]  # results in the parts' order
            assert blas.in_parallel(lambda rows: rows, 23) == [slice(0, 11), slice(11, 23)]
            assert blas.in_parallel(lambda rows: rows, 15) == [slice(0, 15)]  # 8 rows or more
        assert get() == 2
    finally:
        set_(before)
    assert sorted(rows.start for rows, *_ in seen) == [0, 16, 33]
    assert len({thread for _, thread, _, _ in seen}) == 3
    assert {count for _, _, count, _ in seen} == {1}
    assert all(len(inner) == 1 for *_, inner in seen)        # a part does not split again


def test_an_error_in_a_part_reaches_the_caller_after_every_part_ended(openblas):
    ended = []

    def part(rows):
        if rows.start:
            raise ArithmeticError(f"part at {rows.start}")
        threading.Event().wait(0.2)
        ended.append(rows)

    before = openblas[0]()
    with blas.threads(2), pytest.raises(ArithmeticError, match="part at 20"):
        blas.in_parallel(part, 40)
    assert ended == [slice(0, 20)] and openblas[0]() == before


def conv_training(threads, steps=3):
    """A small conv net (and a dense one) after a few batches trained on `threads`."""
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 144), dtype=np.float32), one_hot(rng.integers(0, 10, 40))
    nets = [Network("1x12x12,conv4k3,pool2,conv6k3same,pool2,16,10", "relu",
                    "log-likelihood"), Network("144,32,10", "relu", "log-likelihood")]
    with blas.threads(threads):
        for net in nets:
            optimizer = SGD(0.1, momentum=0.9)
            for step in range(steps):
                net.train_batch(x, y, optimizer, dropout=0.2,
                                rng=np.random.default_rng(step))
    return [p for net in nets for p in net.weights + net.biases]


def test_a_thread_count_always_gives_the_same_bits_and_counts_agree_closely():
    one, two, three = conv_training(1), conv_training(2), conv_training(3)
    for a, b in zip(two, conv_training(2)):
        np.testing.assert_array_equal(a, b)                 # reproducible, for resume
    assert any(not np.array_equal(a, b) for a, b in zip(one, two))   # the sums differ
    for a, b, c in zip(one, two, three):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-6)
