"""Shared fixtures: real MNIST by path, a loopback HTTP mirror with faults, tiny datasets,
and `invoke`, the one way tests run the CLI in-process."""
import http.server
import inspect
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mnistnn.data import FILES
from mnistnn.datasets import DATASETS
from mnistnn.idx import write_idx

ROOT = Path(__file__).resolve().parent.parent


def cli_runner():
    """A CliRunner whose result.stdout and result.stderr are apart on every click version:
    click < 8.2 mixes stderr into stdout unless given mix_stderr=False, and 8.2 dropped
    that argument (it always keeps them apart; result.output is then both, interleaved)."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)
    return CliRunner()


def learns_by_heart(net, x, labels, optimizer, steps):
    """Train net on the one batch (x, labels) until it reads every example right, for at
    most `steps` steps; whether it got there (a network that can learn overfits a batch)."""
    from mnistnn.network import one_hot

    y = one_hot(labels, net.sizes[-1], net.dtype)
    for _ in range(steps):
        net.train_batch(x, y, optimizer)
        if net.accuracy(x, labels) == 1.0:
            return True
    return False


def invoke(*args, command=None, **kwargs):
    """Run `mnistnn ARGS...` (or another click command) in-process; return the result.

    CliRunner keeps an exception in result.exception and prints no traceback, so an
    output check can never see one: an exception other than the SystemExit of a normal
    exit is raised here instead, with its traceback, and fails the test. Check
    result.exit_code, result.stdout (results) and result.stderr (notes and errors)."""
    from mnistnn.cli import main

    result = cli_runner().invoke(command or main, [str(a) for a in args], **kwargs)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception.with_traceback(result.exc_info[2])
    return result


def real_mnist_dir():
    """Where the real MNIST files are: $MNISTNN_TEST_MNIST, else ../shared/mnist."""
    return Path(os.environ.get("MNISTNN_TEST_MNIST") or ROOT.parent / "shared" / "mnist")


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder holding the four real MNIST .gz files. Under CI=true a missing data set
    fails the test instead of skipping it, so CI can never pass without the real bytes."""
    path = real_mnist_dir()
    if not all((path / name).is_file() for name, _ in FILES.values()):
        message = f"the real MNIST files are not in {path} (set MNISTNN_TEST_MNIST)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def real_fashion_dir():
    """Where the real Fashion-MNIST files are: $MNISTNN_TEST_FASHION, else
    ../shared/fashion-mnist."""
    return Path(os.environ.get("MNISTNN_TEST_FASHION") or
                ROOT.parent / "shared" / "fashion-mnist")


@pytest.fixture(scope="session")
def fashion_dir():
    """The folder holding the four real Fashion-MNIST .gz files; like mnist_dir, a missing
    data set fails the test under CI=true."""
    path = real_fashion_dir()
    if not all((path / name).is_file() for name, _ in DATASETS["fashion-mnist"].files.values()):
        message = f"the real Fashion-MNIST files are not in {path} (set MNISTNN_TEST_FASHION)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def mnist_data(mnist_dir, tmp_path_factory):
    """A data folder with copies of the real files (its parsed-array cache is private)."""
    folder = tmp_path_factory.mktemp("mnist-data")
    for name, _ in FILES.values():
        shutil.copy(mnist_dir / name, folder / name)
    return folder


def synthetic_digits(n, seed, template_seed=1234):
    """n learnable 28x28 uint8 'digits': a fixed random template per class plus noise."""
    templates = np.random.default_rng(template_seed).random((10, 28, 28)) < 0.2
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    noise = rng.random((n, 28, 28)) < 0.05
    images = (templates[labels] ^ noise) * rng.integers(150, 256, (n, 1, 1))
    return images.astype(np.uint8), labels


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory):
    """A data folder in MNIST's format and names, but tiny: 600 train and 200 test images."""
    folder = tmp_path_factory.mktemp("tiny-mnist")
    train, test = synthetic_digits(600, seed=1), synthetic_digits(200, seed=2)
    for key, array in zip(("train_images", "train_labels", "test_images", "test_labels"),
                          (*train, *test)):
        write_idx(folder / FILES[key][0], array)
    return folder


@pytest.fixture(scope="session")
def tiny_fashion(tmp_path_factory):
    """A data folder whose fashion-mnist/ subfolder holds a tiny data set in Fashion-MNIST's
    format and names (600 train and 200 test images; other templates than tiny_mnist's).
    Returns the data folder, as --data-dir takes it."""
    folder = tmp_path_factory.mktemp("tiny-fashion")
    (folder / "fashion-mnist").mkdir()
    train, test = synthetic_digits(600, seed=3, template_seed=99), \
        synthetic_digits(200, seed=4, template_seed=99)
    files = DATASETS["fashion-mnist"].files
    for key, array in zip(("train_images", "train_labels", "test_images", "test_labels"),
                          (*train, *test)):
        write_idx(folder / "fashion-mnist" / files[key][0], array)
    return folder


class Mirror(http.server.ThreadingHTTPServer):
    """Serves a folder on 127.0.0.1 with switches to inject faults:

    missing: file names answered with 404;   flip: names served with one byte flipped;
    truncate: names cut to half;             hang: accept connections, never answer;
    cut: names whose connection closes halfway (the full length announced);
    status: answer every request with this HTTP error code;
    pace: (nbytes, seconds): send the body nbytes at a time, pausing between (a trickle).
    """
    daemon_threads = True

    def __init__(self, folder):
        super().__init__(("127.0.0.1", 0), MirrorHandler)
        self.folder = Path(folder)
        self.missing, self.flip, self.truncate = set(), set(), set()
        self.hang, self.status, self.pace, self.cut = False, None, None, set()
        self.requests = []
        self.stopping = threading.Event()

    def handle_error(self, request, client_address):
        pass  # a client that gave up mid-body (a timeout test) is not news

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/"


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        name = self.path.lstrip("/")
        server.requests.append(name)
        if server.hang:
            server.stopping.wait(30)
            return
        path = server.folder / name
        if name in server.missing or not path.is_file() or server.status:
            self.send_error(server.status or 404)
            return
        body = bytearray(path.read_bytes())
        if name in server.flip:
            body[len(body) // 2] ^= 0x01
        if name in server.truncate:
            body = body[:len(body) // 2]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        step, pause = server.pace or (max(len(body), 1), 0)
        end = len(body) // 2 if name in server.cut else len(body)
        for start in range(0, end, step):
            if start and server.stopping.wait(pause):
                return
            self.wfile.write(bytes(body[start:min(start + step, end)]))

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(folder) -> a running Mirror; all are shut down after the test."""
    servers = []

    def start(folder):
        server = Mirror(folder)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stopping.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def dead_url():
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _writable(folder):
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


@pytest.fixture
def read_only():
    """read_only(folder): make an existing folder unwritable until the test ends. chmod
    does not stop root (CI runs as root), so the immutable attribute (chattr +i) is used
    where chmod is not enough; the test is skipped if neither works here."""
    folders = []

    def make(folder):
        folders.append(folder)
        folder.chmod(0o555)
        if _writable(folder) and shutil.which("chattr"):
            subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        if _writable(folder):
            pytest.skip("cannot make a folder read-only here (chmod and chattr +i)")
        return folder

    yield make
    for folder in folders:
        if shutil.which("chattr"):
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)
