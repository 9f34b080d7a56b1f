"""Downloads under pressure: time limits, bad options, parallel runs, signals, damaged files."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import invoke

from mnistnn import data, fetch, files
from mnistnn.errors import DownloadError, IDXError

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
MB = 1 << 20


def hidden(folder):
    """Temporary files left in a folder (ours are hidden), and any old-style .part files."""
    return sorted(p.name for p in folder.rglob("*")
                  if p.name.startswith(".") or p.name.endswith(".part"))


def child(*args):
    """`mnistnn ARGS` in a real process, with Ctrl-C armed (a background shell ignores it)."""
    return subprocess.Popen([sys.executable, "-m", "mnistnn", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def within(seconds, function, *args, **kwargs):
    """Run function in a thread; fail the test (not hang) if it runs over `seconds`."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], time.monotonic() - started


# -- D1/D2: options that are not finite numbers in range -------------------------------

@pytest.mark.parametrize("option, value", [
    ("--timeout", "inf"), ("--timeout", "1e300"), ("--timeout", "nan"), ("--timeout", "0"),
    ("--timeout", "-1"), ("--timeout", "fast"), ("--retries", "-1"), ("--retries", "11"),
])
def test_bad_timeout_and_retries_exit_2(option, value, tmp_path):
    result = invoke("download", "--data-dir", tmp_path / "d", "--mirror", tmp_path, option, value)
    assert result.exit_code == 2 and option in result.stderr
    assert not (tmp_path / "d").exists()


# -- D15: --timeout bounds a mirror, retries included, and the message says what happened

def test_a_trickling_mirror_is_cut_off_at_the_timeout(serve, mnist_dir, tmp_path):
    slow, good = serve(mnist_dir), serve(mnist_dir)
    slow.pace = (1, 0.2)  # one byte every 0.2 s: never silent long enough for a socket timeout
    report, seconds = within(10, data.download, tmp_path, [slow.url, good.url], timeout=1,
                             retries=2, backoff=0)
    assert seconds < 3
    assert all(url.startswith(good.url) for url in report.values())
    assert len(slow.requests) == 1  # cut off once, then skipped for the other files


def test_the_trickle_message_says_what_arrived(serve, mnist_dir, tmp_path):
    slow = serve(mnist_dir)
    slow.pace = (1, 0.2)
    result, _ = within(10, invoke, "download", "--data-dir", tmp_path, "--mirror", slow.url,
                       "--timeout", "1")
    assert result.exit_code == 1
    size = (mnist_dir / TRAIN_IMAGES).stat().st_size / 1e6
    assert f"bytes of {size:.1f} MB arrived within 1 s" in result.stderr
    assert hidden(tmp_path) == []


def test_a_hung_mirror_costs_the_timeout_once_and_says_so(serve, mnist_dir, tmp_path):
    silent = serve(mnist_dir)
    silent.hang = True
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        data.download(tmp_path, [silent.url], timeout=0.5, retries=2, backoff=0.1)
    assert time.monotonic() - started < 1.5  # not 3 tries of 0.5 s plus pauses (1.8 s)
    assert f"{TRAIN_IMAGES}: no answer within 0.5 s\n" in str(caught.value)
    assert len(silent.requests) == 1


def test_retries_fit_in_the_timeout(serve, mnist_dir, tmp_path):
    broken = serve(mnist_dir)
    broken.status = 500
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        data.download(tmp_path, [broken.url], timeout=1, retries=10, backoff=0.2)
    assert time.monotonic() - started < 2.0  # not 0.2 + 0.4 + 0.8 + ... s
    assert "HTTP 500 Internal Server Error (3 tries)" in str(caught.value)  # 0.2 + 0.4 s pauses
    assert len(broken.requests) == 3  # then skipped for the other three files


def test_a_connection_closed_early_is_tried_again(serve, mnist_dir, tmp_path):
    flaky, other = serve(mnist_dir), serve(mnist_dir)
    flaky.cut.add(TRAIN_IMAGES)
    with pytest.raises(DownloadError) as caught:
        data.download(tmp_path, [flaky.url], retries=1, backoff=0)
    size = (mnist_dir / TRAIN_IMAGES).stat().st_size
    assert (f"the connection closed after {size // 2 / 1e6:.1f} MB of {size / 1e6:.1f} MB "
            f"(2 tries)") in str(caught.value)
    assert flaky.requests == [TRAIN_IMAGES] * 2
    report = data.download(tmp_path, [flaky.url, other.url], retries=0, backoff=0)
    assert report[TRAIN_IMAGES].startswith(other.url)
    assert report["t10k-images-idx3-ubyte.gz"].startswith(flaky.url)  # not skipped for it


def test_the_pause_between_tries_is_capped(serve, mnist_dir, tmp_path, monkeypatch):
    pauses = []
    monkeypatch.setattr(fetch.time, "sleep", pauses.append)
    broken = serve(mnist_dir)
    broken.status = 503
    with pytest.raises(DownloadError, match=r"HTTP 503 Service Unavailable \(5 tries\)"):
        data.download(tmp_path, [broken.url], retries=4, backoff=1)
    assert pauses == [1, 2, 4, 4]


# -- D17: parallel runs sharing one data folder ---------------------------------------

def test_three_downloads_at_once_all_succeed(serve, mnist_dir, tmp_path):
    mirror = serve(mnist_dir)
    mirror.pace = (MB, 0.05)  # slow enough for the three runs to overlap
    runs = [child("download", "--data-dir", tmp_path, "--mirror", mirror.url, "-q")
            for _ in range(3)]
    results = [(run.wait(60), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert all(data.is_verified(tmp_path / name, key) for key, (name, _) in data.FILES.items())
    assert hidden(tmp_path) == []
    if files.fcntl is not None:
        assert len(mirror.requests) == 4  # the runs took turns: the others found it done


LOAD = """
import sys
from mnistnn import data
mnist = data.ensure(sys.argv[1], mirrors=[sys.argv[2]], on_note=print)
print(mnist.train_images.shape, mnist.test_labels.shape)
"""


def test_three_trainings_that_download_at_once_all_succeed(serve, mnist_dir, tmp_path):
    mirror = serve(mnist_dir)
    mirror.pace = (MB, 0.05)
    runs = [subprocess.Popen([sys.executable, "-c", LOAD, str(tmp_path), mirror.url],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(3)]
    results = [(run.wait(60), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert all("(60000, 28, 28) (10000,)" in out for _, out, _ in results)
    assert hidden(tmp_path) == []
    caches = sorted(p.name.split(".")[0] for p in (tmp_path / "cache").glob("*.npy"))
    assert caches == sorted(name.split(".")[0] for name, _ in data.FILES.values())


def test_three_loads_building_the_cache_at_once(mnist_dir, tmp_path):
    for name, _ in data.FILES.values():
        shutil.copy(mnist_dir / name, tmp_path / name)
    for _ in range(3):  # a few rounds: the race is in the cache's build and clean-up
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)
        runs = [subprocess.Popen([sys.executable, "-c", LOAD, str(tmp_path), "unused"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
        results = [(run.wait(60), *run.communicate()) for run in runs]
        assert [code for code, _, _ in results] == [0, 0, 0], results
        assert len(list((tmp_path / "cache").glob("*.npy"))) == 4
        assert hidden(tmp_path) == []


# -- Ctrl-C, SIGTERM, --quiet -------------------------------------------------------------

@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_download_exits_cleanly(signum, code, serve, mnist_dir, tmp_path):
    mirror = serve(mnist_dir)
    mirror.pace = (64 * 1024, 0.1)  # about 15 s for the first file: it is mid-download
    run = child("download", "--data-dir", tmp_path, "--mirror", mirror.url)
    deadline = time.monotonic() + 20
    while not mirror.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    run.send_signal(signum)
    out, err = run.communicate(timeout=20)
    assert run.returncode == code, err
    assert "Download interrupted" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_quiet_prints_nothing_on_success(serve, mnist_dir, tmp_path):
    mirror = serve(mnist_dir)
    result = invoke("download", "--data-dir", tmp_path, "--mirror", mirror.url, "--quiet")
    assert result.exit_code == 0 and result.output == ""
    again = invoke("download", "--data-dir", tmp_path, "--mirror", mirror.url, "-q")
    assert again.exit_code == 0 and again.output == ""


def test_quiet_still_says_what_went_wrong(dead_url, tmp_path):
    result = invoke("download", "--data-dir", tmp_path, "--mirror", dead_url, "-q",
                    "--retries", "0")
    assert result.exit_code == 1 and "could not download" in result.stderr


# -- a damaged file under its final name ---------------------------------------------------

def test_a_truncated_file_suggests_download_force(serve, mnist_dir, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    for name, _ in data.FILES.values():
        shutil.copy(mnist_dir / name, folder / name)
    whole = (folder / TEST_IMAGES).read_bytes()
    (folder / TEST_IMAGES).write_bytes(whole[:100_000])
    with pytest.raises(IDXError, match=f"run `mnistnn download --force --data-dir {folder}`"):
        data.load_mnist(folder)
    result = invoke("test", "--data-dir", folder, "--no-download")
    assert result.exit_code == 1
    assert "truncated" in result.stderr and "mnistnn download --force" in result.stderr
    # ... and that command mends it.
    mirror = serve(mnist_dir)
    fixed = invoke("download", "--force", "--data-dir", folder, "--mirror", mirror.url)
    assert fixed.exit_code == 0 and (folder / TEST_IMAGES).read_bytes() == whole
    assert data.load_mnist(folder).test_images.shape == (10000, 28, 28)


def test_test_needs_only_the_test_files(mnist_dir, tmp_path):
    """`test` reads the test set alone: a folder of the two t10k files is enough, and
    a damaged training file there is never read."""
    folder = tmp_path / "d"
    folder.mkdir()
    for key in ("test_images", "test_labels"):
        shutil.copy(mnist_dir / data.FILES[key][0], folder / data.FILES[key][0])
    result = invoke("test", "--data-dir", folder, "--no-download", "--json")
    assert result.exception is None and result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == 10000
    (folder / TRAIN_IMAGES).write_bytes(b"\x1f\x8b\x08junk")
    assert invoke("test", "--data-dir", folder, "--no-download", "-q").exit_code == 0
    trained = invoke("train", "--data-dir", folder, "--no-download", "--epochs", "1",
                     "--weights-dir", tmp_path / "w")
    assert trained.exit_code == 1 and "train-labels-idx1-ubyte.gz" in trained.stderr
    assert not (tmp_path / "w").exists()


def test_the_default_folder_needs_no_data_dir_in_the_advice(tiny_mnist, tmp_path, monkeypatch):
    shutil.copytree(tiny_mnist, tmp_path / "data")
    (tmp_path / "data" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08junk")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MNISTNN_DATA_DIR", raising=False)
    with pytest.raises(IDXError, match=r"damaged gzip .*: run `mnistnn download --force` to"):
        data.load_mnist()
