"""OpenBLAS threads (blas.py): one for small networks or a busy machine, the user's
choice wins, a resumed run keeps its count."""
import numpy as np
import pytest

from mnistnn import blas, train
from mnistnn.config import TrainConfig
from mnistnn.network import Network


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
    monkeypatch.setattr(blas.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(blas.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert blas.choose(23_860) == 1                      # 784-30-10
    assert blas.choose(1_275_200) == 2                   # 784-800-800-10, a quiet machine
    assert blas.busy_note(2, 1_275_200) == ""
    monkeypatch.setattr(blas.os, "getloadavg", lambda: (1.0, 1.0, 1.0))   # one other process
    assert blas.choose(1_275_200) == 1
    assert "The machine is busy: training with 1 BLAS thread(s) of 2" in blas.busy_note(
        1, 1_275_200)


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
