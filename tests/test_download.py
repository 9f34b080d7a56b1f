"""Downloading real MNIST bytes from a loopback mirror, with faults injected."""
import time

import numpy as np
import pytest
from conftest import invoke
from mnistnn import data
from mnistnn.errors import DownloadError

NAMES = [name for name, _ in data.FILES.values()]
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
# How many of each digit MNIST holds (a fact about the data set).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def fast(**kw):
    return {"timeout": 2, "retries": 0, "backoff": 0, **kw}


run = invoke


def test_download_real_mnist_and_load(serve, mnist_dir, tmp_path):
    mirror = serve(mnist_dir)
    result = run("download", "--mirror", mirror.url, "--data-dir", str(tmp_path), "-q")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.gz")) == sorted(NAMES)
    assert not list(tmp_path.glob("*.part"))
    assert all(data.is_verified(tmp_path / name, key) for key, (name, _) in data.FILES.items())

    mnist = data.load_mnist(tmp_path)
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert np.bincount(mnist.train_labels).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.test_labels).tolist() == TEST_COUNTS

    # A second call touches no network and says so.
    served = len(mirror.requests)
    again = run("download", "--mirror", mirror.url, "--data-dir", str(tmp_path))
    assert again.exit_code == 0
    assert len(mirror.requests) == served
    assert "nothing to download" in again.stdout
    assert again.stdout.count("already present and verified") == 4


def test_404_on_first_mirror_then_the_second(serve, mnist_dir, tmp_path):
    first, second = serve(mnist_dir), serve(mnist_dir)
    first.missing.update(NAMES)
    report = data.download(tmp_path, [first.url, second.url], **fast())
    assert all(url.startswith(second.url) for url in report.values())
    assert len(first.requests) == 4


def test_flipped_byte_is_rejected_and_next_mirror_used(serve, mnist_dir, tmp_path):
    bad, good = serve(mnist_dir), serve(mnist_dir)
    bad.flip.add(TRAIN_IMAGES)
    report = data.download(tmp_path, [bad.url, good.url], **fast())
    assert report[TRAIN_IMAGES].startswith(good.url)
    assert report["t10k-images-idx3-ubyte.gz"].startswith(bad.url)  # the rest were fine
    assert data.is_verified(tmp_path / TRAIN_IMAGES, "train_images")


def test_flipped_byte_everywhere_leaves_nothing(serve, mnist_dir, tmp_path):
    bad = serve(mnist_dir)
    bad.flip.add(TRAIN_IMAGES)
    with pytest.raises(DownloadError, match="damaged gzip|checksum mismatch"):
        data.download(tmp_path, [bad.url], **fast())
    assert not (tmp_path / TRAIN_IMAGES).exists()
    assert not list(tmp_path.glob("*.part"))


def test_truncated_gzip_is_rejected(serve, mnist_dir, tmp_path):
    bad = serve(mnist_dir)
    bad.truncate.add(TRAIN_IMAGES)
    result = run("download", "--mirror", bad.url, "--data-dir", str(tmp_path), "--retries", "0")
    assert result.exit_code == 1
    assert "truncated" in result.stderr
    assert not (tmp_path / TRAIN_IMAGES).exists()
    assert not list(tmp_path.glob("*.part"))


def test_a_mirror_that_never_answers_times_out(serve, mnist_dir, tmp_path):
    silent, good = serve(mnist_dir), serve(mnist_dir)
    silent.hang = True
    started = time.monotonic()
    report = data.download(tmp_path, [silent.url, good.url], timeout=0.5, retries=1, backoff=0)
    assert time.monotonic() - started < 10
    assert all(url.startswith(good.url) for url in report.values())
    # Its 0.5 s were spent on the first file: it is skipped for the other files.
    assert len(silent.requests) == 1


def test_nothing_reachable_explains_how_to_install_by_hand(dead_url, tmp_path):
    result = run("download", "--mirror", dead_url, "--mirror", dead_url + "x/",
                 "--data-dir", str(tmp_path), "--retries", "0", "--timeout", "2")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: could not download train-images-idx3-ubyte.gz")
    assert dead_url in result.stderr and "refused" in result.stderr.lower()
    assert "copy the four files" in result.stderr and "--mirror file:///" in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_failure_shows_the_files_that_arrived_and_asks_only_for_the_rest(
        serve, mnist_dir, tmp_path):
    """The last file damaged on the only mirror: the three that arrived verified are said
    (stdout, as on success), and the advice names the one file still missing."""
    bad = serve(mnist_dir)
    bad.flip.add(NAMES[-1])
    result = run("download", "--mirror", bad.url, "--data-dir", str(tmp_path), "--retries", "0")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"{name}: downloaded from {bad.url.rstrip('/')}/ and "
                                          f"verified" for name in NAMES[:-1]]
    assert f"copy the file ({NAMES[-1]}) into {tmp_path}/" in result.stderr
    assert f"mnistnn download --data-dir {tmp_path} --mirror file:///" in result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.gz")) == sorted(NAMES[:-1])


def test_a_mirror_of_another_scheme_is_refused_at_once(tmp_path, monkeypatch):
    result = run("download", "--mirror", "ftp://example.org/mnist/", "--data-dir", tmp_path)
    assert result.exit_code == 2 and not list(tmp_path.iterdir())
    assert ("ftp://example.org/mnist/: mnistnn fetches over http://, https:// or file:// (or "
            "from a folder), not ftp://") in result.stderr
    monkeypatch.setenv("MNISTNN_MIRRORS", "gopher://old.example/")     # the library's check
    with pytest.raises(DownloadError, match="not gopher://"):
        data.download(tmp_path)


def test_the_advice_spells_the_data_folder_as_a_shell_reads_it(tmp_path, monkeypatch):
    """A folder with a space is quoted; the default folder, however written, is left out."""
    from mnistnn import datasets

    assert datasets.options(None, tmp_path / "my data") == [
        f"--data-dir '{tmp_path / 'my data'}'"]
    monkeypatch.chdir(tmp_path)
    assert datasets.options(None, (tmp_path / "data").resolve()) == []
    assert datasets.options("fashion-mnist", "data") == ["--dataset fashion-mnist"]


def test_a_mirror_that_is_a_file_is_refused_at_once(mnist_dir, tmp_path):
    """--mirror names one of the files, not the folder that holds them: a usage error at
    once, not three tries of each file below a file."""
    one = mnist_dir / NAMES[0]
    for mirror in (str(one), one.resolve().as_uri()):
        result = run("download", "--mirror", mirror, "--data-dir", tmp_path / "d")
        assert result.exit_code == 2 and not (tmp_path / "d").exists()
        assert (f"{mirror} is a file: a mirror is the folder that holds the data set's files "
                f"(here {one.resolve().parent if '://' in mirror else one.parent})") \
            in result.stderr
        assert "tries" not in result.stderr
    gone = tmp_path / "no-such-mirror"
    result = run("download", "--mirror", gone, "--data-dir", tmp_path / "d")
    assert result.exit_code == 2 and f"{gone}: no such folder here" in result.stderr


def test_failed_force_keeps_the_good_file(serve, mnist_dir, tmp_path):
    good = serve(mnist_dir)
    data.download(tmp_path, [good.url], **fast())
    before = (tmp_path / TRAIN_IMAGES).read_bytes()
    bad = serve(mnist_dir)
    bad.flip.add(TRAIN_IMAGES)
    result = run("download", "--force", "--mirror", bad.url, "--data-dir", str(tmp_path),
                 "--retries", "0")
    assert result.exit_code == 1
    assert (tmp_path / TRAIN_IMAGES).read_bytes() == before
    assert not list(tmp_path.glob("*.part"))


def test_force_fetches_again(serve, mnist_dir, tmp_path):
    mirror = serve(mnist_dir)
    data.download(tmp_path, [mirror.url], **fast())
    data.download(tmp_path, [mirror.url], force=True, **fast())
    assert len(mirror.requests) == 8


def test_a_damaged_local_file_is_replaced(serve, mnist_dir, tmp_path):
    mirror = serve(mnist_dir)
    (tmp_path / TRAIN_IMAGES).write_bytes(b"garbage")
    report = data.download(tmp_path, [mirror.url], **fast())
    assert report[TRAIN_IMAGES] != "present"
    assert data.is_verified(tmp_path / TRAIN_IMAGES, "train_images")


def test_file_url_and_plain_folder_mirrors(mnist_dir, tmp_path):
    report = data.download(tmp_path / "a", [mnist_dir.as_uri() + "/"], **fast())
    assert all(url.startswith("file://") for url in report.values())
    report = data.download(tmp_path / "b", [str(mnist_dir)], **fast())
    assert len(report) == 4


def test_missing_file_on_a_file_mirror(tmp_path):
    with pytest.raises(DownloadError, match="no such file"):
        data.download(tmp_path / "d", [tmp_path.as_uri()], **fast())


def test_environment_sets_data_dir_and_mirrors(monkeypatch, serve, mnist_dir, tmp_path):
    mirror = serve(mnist_dir)
    monkeypatch.setenv("MNISTNN_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("MNISTNN_MIRRORS", mirror.url)
    assert run("download", "-q").exit_code == 0
    assert len(list((tmp_path / "env-data").glob("*.gz"))) == 4


def test_cache_makes_the_second_load_skip_parsing(mnist_data, monkeypatch):
    data.load_mnist(mnist_data)          # builds the cache if needed
    calls = []
    monkeypatch.setattr(data, "_parse", lambda *args: calls.append(args))
    mnist = data.load_mnist(mnist_data)
    assert calls == [] and mnist.train_images.shape == (60000, 28, 28)


def test_a_changed_source_file_invalidates_the_cache(tiny_mnist, tmp_path):
    import shutil

    from mnistnn.idx import write_idx
    folder = tmp_path / "d"
    shutil.copytree(tiny_mnist, folder)
    first = data.load_mnist(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(200, np.uint8))
    assert data.load_mnist(folder).test_labels.sum() == 0 != first.test_labels.sum()
