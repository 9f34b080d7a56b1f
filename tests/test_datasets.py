"""More than MNIST: the table of data sets, and Fashion-MNIST's real files end to end."""
import hashlib
import re
import shutil

import numpy as np
import pytest
from conftest import invoke

from mnistnn import data, datasets, fetch
from mnistnn.errors import DownloadError, IDXError, MnistnnError
from mnistnn.idx import gunzip, write_idx

FASHION = datasets.DATASETS["fashion-mnist"]
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"


def names(folder):
    return sorted(p.name for p in folder.iterdir())


# -- the table ---------------------------------------------------------------------------

def test_every_entry_is_complete():
    folders = set()
    for name, entry in datasets.DATASETS.items():
        assert entry.name == name and entry.title
        assert tuple(entry.files) == datasets.KEYS
        for file_name, sha in entry.files.values():
            assert file_name.endswith(".gz") and re.fullmatch("[0-9a-f]{64}", sha)
        assert len(entry.classes) == 10 and len(set(entry.classes)) == 10
        assert entry.style in ("mnist", "fashion") and entry.shape == (28, 28)
        assert all(m.startswith(("http://", "https://")) and m.endswith("/")
                   for m in entry.mirrors)
        folders.add(entry.folder)
    assert len(folders) == len(datasets.DATASETS) and datasets.DATASETS["mnist"].folder == ""
    digests = [sha for entry in datasets.DATASETS.values() for _, sha in entry.files.values()]
    assert len(set(digests)) == len(digests)


def test_fashion_mnist_facts():
    assert FASHION.classes == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    assert FASHION.mirrors == (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
    assert FASHION.style == "fashion" and datasets.DATASETS["mnist"].style == "mnist"


def test_the_digests_are_those_of_the_real_files(mnist_dir, fashion_dir):
    for entry, folder in ((datasets.DATASETS["mnist"], mnist_dir), (FASHION, fashion_dir)):
        sums = dict(line.split()[::-1] for line in (folder / "SHA256SUMS").read_text()
                    .splitlines() if line.strip())
        for file_name, sha in entry.files.values():
            assert sums[file_name[:-3]] == sha


def test_folders_and_names(tmp_path, monkeypatch):
    assert datasets.folder("mnist", tmp_path) == tmp_path
    assert datasets.folder("fashion-mnist", tmp_path) == tmp_path / "fashion-mnist"
    monkeypatch.setenv("MNISTNN_DATA_DIR", str(tmp_path / "env"))
    assert datasets.folder("fashion-mnist") == tmp_path / "env" / "fashion-mnist"
    monkeypatch.setenv("MNISTNN_DATASET", "fashion-mnist")
    assert datasets.get().name == "mnist"  # the library never reads it; --dataset does
    with pytest.raises(MnistnnError, match="unknown data set 'kmnist': choose one of mnist, "
                                           "fashion-mnist"):
        datasets.get("kmnist")
    assert datasets.mirrors_env("mnist") == "MNISTNN_MIRRORS"
    assert datasets.mirrors_env("fashion-mnist") == "MNISTNN_MIRRORS_FASHION_MNIST"


def test_a_new_data_set_is_one_table_entry(tiny_mnist, serve, tmp_path, monkeypatch):
    """A made-up IDX family, only added to the table, downloads, verifies and loads."""
    digests = {key: hashlib.sha256(gunzip((tiny_mnist / name).read_bytes())).hexdigest()
               for key, (name, _) in data.FILES.items()}
    files = {key: (name, digests[key]) for key, (name, _) in data.FILES.items()}
    mirror = serve(tiny_mnist)
    entry = datasets.Dataset(name="tiny", title="Tiny", files=files, mirrors=(mirror.url,),
                             classes=tuple("abcdefghij"), style="mnist", shape=(28, 28),
                             folder="tiny")
    monkeypatch.setitem(datasets.DATASETS, "tiny", entry)
    report = data.download(tmp_path, dataset="tiny")
    assert all(url.startswith(mirror.url) for url in report.values())
    assert names(tmp_path) == ["tiny"]
    tiny = data.load_dataset("tiny", tmp_path)
    assert tiny.train_images.shape == (600, 28, 28) and tiny.test_labels.shape == (200,)


# -- Fashion-MNIST's real bytes through a loopback mirror --------------------------------

def test_download_real_fashion_mnist_and_load(serve, fashion_dir, mnist_dir, tmp_path):
    mirror = serve(fashion_dir)
    result = invoke("download", "--dataset", "fashion-mnist", "--mirror", mirror.url,
                    "--data-dir", tmp_path)
    assert result.exit_code == 0
    assert f"Fashion-MNIST is ready in {tmp_path / 'fashion-mnist'}/." in result.stdout
    assert names(tmp_path) == ["fashion-mnist"]  # MNIST's place, the data folder, is untouched
    folder = tmp_path / "fashion-mnist"
    assert all(fetch.is_verified(folder / name, key, "fashion-mnist")
               for key, (name, _) in FASHION.files.items())
    fashion = data.load_dataset("fashion-mnist", tmp_path)
    assert fashion.train_images.shape == (60000, 28, 28) and fashion.train_images.dtype == np.uint8
    assert fashion.test_images.shape == (10000, 28, 28)
    assert np.bincount(fashion.train_labels).tolist() == [6000] * 10
    assert np.bincount(fashion.test_labels).tolist() == [1000] * 10

    # MNIST beside it, in the data folder itself as always; the two stay apart.
    assert invoke("download", "--mirror", serve(mnist_dir).url, "--data-dir", tmp_path,
                  "-q").exit_code == 0
    mnist = data.load_mnist(tmp_path)
    assert not np.array_equal(mnist.test_images[:100], fashion.test_images[:100])
    assert (tmp_path / TRAIN_IMAGES).is_file() and (folder / TRAIN_IMAGES).is_file()
    again = invoke("download", "--dataset", "fashion-mnist", "--mirror", mirror.url,
                   "--data-dir", tmp_path)
    assert again.exit_code == 0 and again.stdout.count("already present and verified") == 4


def test_mnist_offered_as_fashion_mnist_is_refused(serve, mnist_dir, tmp_path):
    impostor = serve(mnist_dir)
    result = invoke("download", "--dataset", "fashion-mnist", "--mirror", impostor.url,
                    "--data-dir", tmp_path)
    assert result.exit_code == 1
    assert (f"{impostor.url}{TRAIN_IMAGES}: {TRAIN_IMAGES} holds MNIST's training images, "
            f"not Fashion-MNIST's training images\n") in result.stderr
    assert (f"mnistnn download --dataset fashion-mnist --data-dir {tmp_path} --mirror "
            f"file:///") in result.stderr
    assert names(tmp_path / "fashion-mnist") == []


def test_verify_names_the_impostor_in_one_sentence(mnist_dir):
    raw = (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    with pytest.raises(IDXError) as caught:
        fetch.verify(raw, "test_labels", "labels.gz", "fashion-mnist")
    assert str(caught.value) == ("labels.gz holds MNIST's test labels, "
                                 "not Fashion-MNIST's test labels")
    with pytest.raises(IDXError, match="holds MNIST's test labels, not MNIST's test images"):
        fetch.verify(raw, "test_images", "x.gz", "mnist")


def test_a_damaged_fashion_file_is_refused_and_the_next_mirror_serves(serve, fashion_dir,
                                                                      tmp_path):
    bad, good = serve(fashion_dir), serve(fashion_dir)
    bad.flip.add("t10k-labels-idx1-ubyte.gz")  # small, stored: the flip reaches the content
    report = data.download(tmp_path, [bad.url, good.url], dataset="fashion-mnist",
                           timeout=10, retries=0)
    assert report["t10k-labels-idx1-ubyte.gz"].startswith(good.url)
    assert report[TRAIN_IMAGES].startswith(bad.url)
    with pytest.raises(DownloadError, match="checksum mismatch|damaged gzip"):
        data.download(tmp_path / "other", [bad.url], dataset="fashion-mnist", retries=0)


def test_mnist_copied_by_hand_into_fashions_folder_is_refused(mnist_dir, fashion_dir, tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name, _ in FASHION.files.values():
        shutil.copy(fashion_dir / name, folder / name)
    shutil.copy(mnist_dir / TRAIN_IMAGES, folder / TRAIN_IMAGES)
    with pytest.raises(IDXError) as caught:
        data.load_dataset("fashion-mnist", tmp_path)
    assert str(caught.value) == (
        f"{folder / TRAIN_IMAGES} holds MNIST's training images, not Fashion-MNIST's training "
        f"images: run `mnistnn download --force --dataset fashion-mnist --data-dir {tmp_path}` "
        f"to fetch it again")
    assert not (folder / "cache").exists() or not list((folder / "cache").glob("train-im*"))


def test_ensure_fetches_fashion_into_its_folder(serve, fashion_dir, tmp_path):
    notes = []
    with pytest.raises(MnistnnError, match=r"Fashion-MNIST is not in .*fashion-mnist \(missing "
                                           r".*run `mnistnn download --dataset fashion-mnist "):
        data.ensure(tmp_path, allow_download=False, dataset="fashion-mnist")
    fashion = data.ensure(tmp_path, on_note=notes.append, dataset="fashion-mnist",
                          mirrors=[serve(fashion_dir).url])
    assert fashion.test_labels.shape == (10000,)
    assert notes == [f"Fashion-MNIST is not in {tmp_path / 'fashion-mnist'} yet: downloading "
                     f"it (--no-download turns this off)"]


# -- the environment and the option --------------------------------------------------------

def test_environment_chooses_the_data_set_and_its_mirrors(serve, fashion_dir, dead_url,
                                                          tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTNN_DATASET", "fashion-mnist")
    monkeypatch.setenv("MNISTNN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MNISTNN_MIRRORS", dead_url)  # MNIST's: not asked for Fashion-MNIST
    monkeypatch.setenv("MNISTNN_MIRRORS_FASHION_MNIST", serve(fashion_dir).url)
    result = invoke("download", "-q")
    assert result.exit_code == 0 and result.output == ""
    assert names(tmp_path) == ["fashion-mnist"]
    assert len(list((tmp_path / "fashion-mnist").glob("*.gz"))) == 4


@pytest.mark.parametrize("env, args", [({}, ["--dataset", "kmnist"]),
                                       ({"MNISTNN_DATASET": "emnist"}, [])])
def test_an_unknown_data_set_is_a_usage_error(env, args, tmp_path, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = invoke("download", "--data-dir", tmp_path, *args)
    assert result.exit_code == 2 and "mnist" in result.stderr and "fashion-mnist" in result.stderr
    assert names(tmp_path) == []


def test_the_option_lists_the_table(tmp_path):
    result = invoke("download", "--help")
    assert result.exit_code == 0 and "[mnist|fashion-mnist]" in result.stdout


def test_load_mnist_is_load_dataset_mnist(tiny_mnist):
    a, b = data.load_mnist(tiny_mnist), data.load_dataset("mnist", tiny_mnist)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_label_past_the_classes_is_refused(tmp_path):
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 10], np.uint8))
    with pytest.raises(IDXError, match="labels must be 0-9, found 10"):
        fetch.verify((tmp_path / "train-labels-idx1-ubyte.gz").read_bytes(), "train_labels",
                     "x", "fashion-mnist", strict=False)


# -- class names ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, index", [
    ("7", 7), ("0", 0), ("sneaker", 7), ("Sneaker", 7), ("SNEAKER", 7), ("  sneaker ", 7),
    ("snea", 7), ("ankle boot", 9), ("Ankle-Boot", 9), ("ankleboot", 9), ("boot", 9),
    ("t-shirt", 0), ("T-shirt/top", 0), ("tshirt", 0), ("top", 0), ("shirt", 6),
    ("Shirt", 6), ("tr", 1), ("bag", 8), ("pull", 2), ("coat", 4), ("dress", 3)])
def test_a_class_by_number_name_or_beginning(text, index):
    assert datasets.class_index(FASHION, text) == index


def test_an_ambiguous_beginning_names_the_candidates():
    with pytest.raises(ValueError) as caught:
        datasets.class_index(FASHION, "s")
    assert str(caught.value) == "'s' could be Sandal, Shirt or Sneaker: give more of the name"
    with pytest.raises(ValueError, match="'t' could be T-shirt/top or Trouser"):
        datasets.class_index(FASHION, "t")


@pytest.mark.parametrize("text", ["x", "10", "-1", "03", "+3", "3.5", "\u00b2", "", "sneakers"])
def test_a_bad_name_is_one_sentence_listing_the_names(text):
    with pytest.raises(ValueError) as caught:
        datasets.class_index(FASHION, text)
    assert str(caught.value) == (
        f"{text!r} is not one of Fashion-MNIST's classes: give a number from 0 to 9 or a name "
        f"(T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot)")


def test_mnist_takes_digits_and_points_to_the_data_set_that_has_the_name():
    mnist = datasets.DATASETS["mnist"]
    assert [datasets.class_index(mnist, str(d)) for d in range(10)] == list(range(10))
    with pytest.raises(ValueError) as caught:
        datasets.class_index(mnist, "sneaker")
    assert str(caught.value) == (
        "'sneaker' is not one of MNIST's classes: give a number from 0 to 9; Sneaker is a class "
        "of Fashion-MNIST: use a model trained on it (--dataset fashion-mnist)")
    with pytest.raises(ValueError, match=r"^'x' is not one of MNIST's classes: give a number "
                                         r"from 0 to 9$"):
        datasets.class_index(mnist, "x")
    with pytest.raises(ValueError, match="Sandal, Shirt and Sneaker are classes of Fashion"):
        datasets.class_index(mnist, "s")


def test_the_data_set_a_checkpoint_names():
    assert datasets.trained_on({}) is datasets.trained_on(None) is datasets.DATASETS["mnist"]
    assert datasets.trained_on({"dataset": "fashion-mnist"}) is FASHION
    with pytest.raises(MnistnnError, match=r"a data set this mnistnn does not know \('kmnist'; "
                                           r"it knows mnist, fashion-mnist\)"):
        datasets.trained_on({"dataset": "kmnist"})
