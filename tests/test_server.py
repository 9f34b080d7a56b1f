"""The drawing page's server over real HTTP: a DrawServer on 127.0.0.1, port 0, real PNG and
JPEG bytes, and clients that misbehave (bad images, cut-short and oversized bodies, unknown
paths and methods, slow and half-sent requests, many at once)."""
import copy
import http.client
import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mnistnn import checkpoint, reading
from mnistnn.cli import main
from mnistnn.server import DrawServer
from mnistnn.server_api import MAX_BODY
from number_images import on_paper, pen_number
from test_imaging import encode, pen_mask, style

SEVEN = style(pen_mask(7, (280, 280), (70, 40, 140, 200), 20), "black-on-white")   # PNG
THREE = style(pen_mask(3, (280, 280), (70, 40, 140, 200), 20), "jpeg")             # JPEG


@pytest.fixture(scope="module")
def net():
    return checkpoint.load(checkpoint.SHIPPED)


class Running:
    """A DrawServer serving in a thread; .errors collects what it reports."""

    def __init__(self, net, **limits):
        self.errors = []
        self.server = DrawServer(net, source=checkpoint.SHIPPED, on_error=self.errors.append,
                                 **limits)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def request(self, method, path, body=None, headers=None, timeout=30):
        """(status, headers, parsed JSON or raw bytes) of one request on a new connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            return read(connection.getresponse())
        finally:
            connection.close()

    def raw(self, data, timeout=10):
        """Send raw bytes on a socket; return (status, JSON body) of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            return parse_raw(receive_all(sock))

    def stop(self):
        self.server.shutdown()
        self.thread.join(10)


def read(response):
    body = response.read()
    kind = response.getheader("Content-Type", "")
    return response.status, response, json.loads(body) if kind == "application/json" else body


def receive_all(sock):
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def parse_raw(data):
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else None
    return status, json.loads(body) if body else None


@pytest.fixture(scope="module")
def page(net):
    running = Running(net, request_seconds=3, idle_seconds=5)
    yield running
    running.stop()
    assert running.errors == []


# -- the page and the model card -------------------------------------------------------

def test_the_page_and_its_files_and_nothing_from_elsewhere(page):
    status, response, html = page.request("GET", "/")
    assert status == 200 and response.getheader("Content-Type").startswith("text/html")
    assert b'src="draw.js"' in html and b'href="style.css"' in html
    assert "default-src 'self'" in response.getheader("Content-Security-Policy")
    for path, kind in (("/draw.js", "text/javascript"), ("/style.css", "text/css")):
        status, response, text = page.request("GET", path)
        assert status == 200 and response.getheader("Content-Type").startswith(kind)
        # No CDN, no web font: the only URL in the files is the SVG namespace.
        assert re.findall(rb"https?://[^\s'\"`)]+", text) in ([], [b"http://www.w3.org/2000/svg"])
    assert re.findall(rb"https?://", html) == []


def test_the_model_card_describes_what_is_loaded(page, net):
    status, _, card = page.request("GET", "/api/model")
    assert status == 200
    assert card["sizes"] == net.sizes and card["layers"] == net.spec
    assert card["description"] == checkpoint.describe(net)
    assert card["source"] == "the model that ships with mnistnn"
    assert card["parameters"] == sum(W.size + b.size for W, b in zip(net.weights, net.biases))
    assert card["validation_accuracy"] == net.meta["metrics"]["validation_accuracy"]
    assert card["test_accuracy"] == net.meta.get("test_accuracy")
    assert card["classes"] == [str(d) for d in range(10)]
    assert card["can"]["number"] is hasattr(reading, "read_number")
    assert card["limits"]["max_body_bytes"] == MAX_BODY == 5 * 1024 * 1024


# -- reading images ---------------------------------------------------------------------

def test_classify_answers_what_classify_json_prints_plus_the_view(page, tmp_path):
    for name, data, digit in (("seven.png", SEVEN, 7), ("three.jpg", THREE, 3)):
        status, _, answer = page.request("POST", "/api/classify", data)
        assert status == 200 and answer["digit"] == digit
        (tmp_path / name).write_bytes(data)
        printed = CliRunner().invoke(main, ["classify", str(tmp_path / name), "--json",
                                            "--weights", str(checkpoint.SHIPPED)])
        assert printed.exit_code == 0, printed.output
        line = json.loads(next(t for t in printed.output.splitlines() if t.startswith("{")))
        assert {k: v for k, v in answer.items() if k != "view"} == \
            {k: v for k, v in line.items() if k != "path"}
        view = np.array(answer["view"])
        _, x = reading.read_digit(checkpoint.load(checkpoint.SHIPPED), data)
        assert view.shape == (28, 28)
        np.testing.assert_allclose(view, x.reshape(28, 28), atol=5e-4)


def test_classify_with_units_names_the_strongest_hidden_units(page):
    """The shipped network is convolutional: its units are the first layer's feature maps
    (inside.py; a dense network's, its weight pictures, are tested in test_inside.py)."""
    status, _, answer = page.request("POST", "/api/classify?units=5", SEVEN)
    assert status == 200 and answer["units"]["kind"] == "feature-map"
    units = answer["units"]["units"]
    assert len(units) == 5 and len({u["unit"] for u in units}) == 5
    activations = [u["activation"] for u in units]
    assert activations == sorted(activations, reverse=True) and activations[0] > 0
    for unit in units:
        picture = np.array(unit["picture"])                 # the 24x24 map of a 5x5 filter
        assert picture.shape == (24, 24) and picture.max() == pytest.approx(1, abs=1e-3)
        assert picture.min() >= 0 and unit["favours"] is None
    status, _, plain = page.request("POST", "/api/classify", SEVEN)
    assert "units" not in plain


@pytest.mark.parametrize("body, says", [
    (b"this is not an image at all", "not an image file"),
    (SEVEN[:len(SEVEN) // 2], "damaged or cut short"),
    (b"", "empty"),
    (encode(Image.new("L", (280, 280), 255)), "no digit found"),
])
def test_bad_images_get_400_and_one_sentence(page, body, says):
    status, _, answer = page.request("POST", "/api/classify", body)
    assert status == 400 and answer["status"] == 400
    assert says in answer["error"] and "\n" not in answer["error"]
    assert answer["error"].startswith("the posted image: ")


@pytest.mark.parametrize("query, says", [
    ("units=99", "units='99'"), ("units=x", "units='x'"), ("number=2", "number='2'")])
def test_bad_query_parameters_get_400(page, query, says):
    status, _, answer = page.request("POST", f"/api/classify?{query}", SEVEN)
    assert status == 400 and says in answer["error"]


def test_number_mode_answers_what_classify_number_prints_plus_views(page, net):
    """?number=1 goes through reading.read_number: the number, each digit's box in the
    posted image's pixels and the 28x28 view the network saw."""
    ink, boxes = pen_number([4, 0, 7], np.random.default_rng(3), height=120)
    body = on_paper(ink, np.random.default_rng(3), "white")
    expected, _ = reading.read_number(net, body)
    assert page.request("GET", "/api/model")[2]["can"]["number"] is True
    status, _, answer = page.request("POST", "/api/classify?number=1", body)
    assert status == 200 and answer["number"] == expected["number"] == "407"
    assert [d["box"] for d in answer["digits"]] == [d["box"] for d in expected["digits"]]
    assert all(np.array(d["view"]).shape == (28, 28) for d in answer["digits"])


def test_number_mode_is_refused_with_400_for_a_network_of_clothes(net):
    clothes = copy.deepcopy(net)
    clothes.meta = {**net.meta, "dataset": "fashion-mnist"}
    running = Running(clothes)
    try:
        assert running.request("GET", "/api/model")[2]["can"]["number"] is False
        status, _, answer = running.request("POST", "/api/classify?number=1", SEVEN)
    finally:
        running.stop()
    assert status == 400 and "trained on Fashion-MNIST" in answer["error"]


def test_imagine_pictures_are_pngs_the_network_reads_as_their_digit(page, net):
    for digit in (3, 8):
        status, response, png = page.request("GET", f"/api/imagine/{digit}.png")
        assert status == 200 and response.getheader("Content-Type") == "image/png"
        image = Image.open(__import__("io").BytesIO(png)).convert("L")
        assert image.size == (28, 28)
        x = np.asarray(image, dtype=np.float32).reshape(1, 784) / 255
        assert net.predict(x)[0] == digit


# -- what is refused --------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/nope", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/web/index.html",
    "/mnistnn/web/draw.js", "/api/imagine/10.png", "/api/imagine/x.png", "/api/imagine/3",
    "/api", "/api/classify/", "//etc/passwd", "/draw.js/../../server.py"])
def test_unknown_paths_get_404(page, path):
    status, _, answer = page.request("GET", path)
    assert status == 404 and answer["status"] == 404 and "nothing here" in answer["error"] \
        or "there is no digit" in answer["error"]


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/api/model", "GET, HEAD"), ("DELETE", "/", "GET, HEAD"),
    ("POST", "/", "GET, HEAD"), ("GET", "/api/classify", "POST"),
    ("OPTIONS", "/api/classify", "POST"), ("PATCH", "/api/imagine/3.png", "GET, HEAD")])
def test_wrong_methods_get_405_with_allow(page, method, path, allowed):
    status, response, answer = page.request(method, path, body=b"x" if method != "GET" else None)
    assert status == 405 and response.getheader("Allow") == allowed
    assert answer["error"] == f"{method} is not allowed here: use {allowed.replace(', ', ' or ')}"


def test_a_foreign_host_name_is_refused_on_loopback(page):
    status, _, answer = page.request("GET", "/api/model", headers={"Host": "evil.example:80"})
    assert status == 403 and "only to localhost" in answer["error"]
    for host in (f"localhost:{page.port}", f"127.0.0.1:{page.port}", "[::1]"):
        assert page.request("GET", "/api/model", headers={"Host": host})[0] == 200


def test_an_oversized_body_gets_413_without_being_read(page):
    head = (f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode()
    started = time.monotonic()
    status, answer = page.raw(head + b"x" * 1000)
    assert status == 413 and "limit is 5,242,880" in answer["error"]
    assert time.monotonic() - started < 2.0       # answered at once, not after the body


def test_a_truncated_body_gets_400(page):
    with socket.create_connection(("127.0.0.1", page.port), timeout=10) as sock:
        sock.sendall(b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(SEVEN) + SEVEN[:500])
        sock.shutdown(socket.SHUT_WR)                # the client is done sending
        status, answer = parse_raw(receive_all(sock))
    assert status == 400 and f"500 of {len(SEVEN):,} bytes" in answer["error"]


@pytest.mark.parametrize("head, status", [
    (b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 411),
    (b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n0\r\n\r\n", 411),
    (b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n", 400),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
])
def test_malformed_requests_get_a_json_error(page, head, status):
    assert page.raw(head)[0] == status


def test_a_bug_is_500_with_one_line_and_the_server_goes_on(net, monkeypatch):
    running = Running(net)
    monkeypatch.setattr(running.server.api, "classify", lambda *a, **k: 1 / 0)
    try:
        status, _, answer = running.request("POST", "/api/classify", SEVEN)
        assert status == 500 and "ZeroDivisionError" in answer["error"]
        assert running.request("GET", "/api/model")[0] == 200
    finally:
        running.stop()
    assert running.errors == ["draw server: POST /api/classify: ZeroDivisionError: "
                              "division by zero"]


# -- many clients, slow clients ---------------------------------------------------------

def test_one_connection_serves_many_requests(page):
    connection = http.client.HTTPConnection("127.0.0.1", page.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("POST", "/api/classify", SEVEN)
            status, _, answer = read(connection.getresponse())
            assert status == 200 and answer["digit"] == 7
    finally:
        connection.close()


def client_loop(port, until):
    """POST the seven again and again on one kept-alive connection: (answers, errors)."""
    answers, errors = 0, []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < until:
        try:
            connection.request("POST", "/api/classify", SEVEN)
            status, _, answer = read(connection.getresponse())
            if status != 200 or answer["digit"] != 7:
                errors.append((status, answer))
            answers += 1
        except (OSError, http.client.HTTPException) as exc:
            errors.append(repr(exc))
            connection.close()
    connection.close()
    return answers, errors


def test_twenty_concurrent_clients_get_every_answer_right(page):
    until = time.monotonic() + 3
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: client_loop(page.port, until), range(20)))
    assert [e for _, errors in results for e in errors] == []
    assert all(answers >= 1 for answers, _ in results)


def test_a_half_sent_request_blocks_nobody_and_gets_408(page):
    with socket.create_connection(("127.0.0.1", page.port), timeout=10) as slow:
        slow.sendall(b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(SEVEN) + SEVEN[:100])
        started = time.monotonic()
        for _ in range(3):                            # others are served meanwhile
            status, _, answer = page.request("POST", "/api/classify", SEVEN, timeout=2)
            assert status == 200 and answer["digit"] == 7
        assert time.monotonic() - started < 2.0      # before the slow one's 3 s are up
        status, answer = parse_raw(receive_all(slow))  # after request_seconds (3 s)
    assert status == 408 and "did not arrive within 3 s" in answer["error"]
    assert time.monotonic() - started < 6


@pytest.mark.parametrize("sent, error", [
    (b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc",
     "the request body stopped arriving: nothing came for 0.5 s"),
    (b"GET / HTTP/1.1\r\nHost: localhost\r\n",
     "the request's headers stopped arriving: nothing came for 0.5 s")])
def test_a_request_that_stalls_gets_408(net, sent, error):
    """A few bytes of the body, or of the headers, then nothing for longer than
    idle_seconds (well within request_seconds): a timeout, 408, not '400: 0 of N bytes
    arrived' for the body, nor a connection closed without a word for the headers (as
    http.server does)."""
    running = Running(net, request_seconds=30, idle_seconds=0.5)
    try:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as slow:
            slow.sendall(sent)
            status, answer = parse_raw(receive_all(slow))
        assert status == 408 and answer["error"] == error
    finally:
        running.stop()


def test_head_is_a_gets_headers_and_two_host_headers_are_refused(page):
    status, response, body = page.request("HEAD", "/")
    assert status == 200 and not body and int(response.getheader("Content-Length")) > 1000
    status, answer = page.raw(b"HEAD /api/classify HTTP/1.1\r\nHost: localhost\r\n"
                              b"Connection: close\r\n\r\n")
    assert status == 405 and answer is None                  # headers only
    status, answer = page.raw(b"GET /api/model HTTP/1.1\r\nHost: localhost\r\n"
                              b"Host: evil.example\r\nConnection: close\r\n\r\n")
    assert status == 400 and answer["error"] == "the request has 2 Host headers: send one"


def test_headers_sent_a_byte_at_a_time_are_cut_off_in_time(page):
    head = b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 100
    with socket.create_connection(("127.0.0.1", page.port), timeout=10) as slow:
        started = time.monotonic()
        try:
            for byte in head:                          # each byte well within idle_seconds
                slow.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:                                # the server has stopped listening
            pass
        status, answer = parse_raw(receive_all(slow))
    assert status == 408 and time.monotonic() - started < 6    # 150 bytes would take 7.5 s


def test_an_idle_connection_is_closed(net):
    running = Running(net, idle_seconds=0.5)
    try:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as idle:
            started = time.monotonic()
            assert idle.recv(1) == b""                 # closed without a word
            assert 0.4 < time.monotonic() - started < 3
    finally:
        running.stop()


def test_beyond_max_connections_a_client_gets_503_at_once(net):
    running = Running(net, max_connections=2, idle_seconds=5)
    try:
        held = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(2)]
        time.sleep(0.2)
        status, answer = running.raw(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status == 503 and "busy" in answer["error"]
        for sock in held:
            sock.close()
        time.sleep(0.3)
        assert running.request("GET", "/api/model")[0] == 200
    finally:
        running.stop()
