"""`mnistnn draw`: the command in-process (its serving loop stubbed) and as a real process
stopped with Ctrl-C (SIGINT)."""
import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from click.testing import CliRunner

from mnistnn import server
from mnistnn.cli import main


@pytest.fixture
def no_serving(monkeypatch):
    """DrawServer.run returns at once (closing the socket): the command runs to its end."""
    monkeypatch.setattr(server.DrawServer, "run", server.DrawServer.server_close)


@pytest.fixture
def browser(monkeypatch):
    """Records the URLs webbrowser.open is asked to show (no browser starts)."""
    opened = []
    monkeypatch.setattr(server.webbrowser, "open", lambda url: opened.append(url) or True)
    return opened


def run(*args):
    return CliRunner().invoke(main, ["draw", *args])


def test_help_has_an_example():
    result = run("--help")
    assert result.exit_code == 0
    assert "Example" in result.output and "mnistnn draw --port 8000 --no-browser" in result.output
    assert "Ctrl-C" in result.output


def test_prints_the_url_and_opens_a_browser_with_a_display(no_serving, browser, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    result = run()
    assert result.exit_code == 0, result.output
    url = next(line for line in result.output.splitlines() if line.startswith("http"))
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    assert browser == [url] and "Warning" not in result.output


def test_no_browser_without_a_display_or_with_no_browser(no_serving, browser, monkeypatch):
    monkeypatch.setattr(server.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert run().exit_code == 0
    monkeypatch.setenv("DISPLAY", ":0")
    assert run("--no-browser").exit_code == 0
    assert browser == []


def test_another_host_than_loopback_is_warned_about(no_serving):
    result = run("--host", "0.0.0.0", "--no-browser")
    assert result.exit_code == 0, result.output
    assert "Warning: listening on 0.0.0.0, not 127.0.0.1" in result.output
    assert "http://127.0.0.1:" in result.output      # the URL for this machine's browser
    assert server.exposure_warning("127.0.0.1") is None
    assert server.exposure_warning("localhost") is None
    assert server.exposure_warning("::1") is None


def test_a_port_in_use_is_one_sentence_and_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run("--port", str(taken.getsockname()[1]), "--no-browser")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cannot listen on 127.0.0.1 port" in result.output


@pytest.mark.parametrize("args, code", [
    (["--port", "70000"], 2), (["--port", "x"], 2), (["--host", "no.such.host.invalid"], 1),
    (["--weights", "missing.npz"], 1)])
def test_bad_options(args, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args, "--no-browser")
    assert result.exit_code == code and isinstance(result.exception, SystemExit), result.output


def default_sigint():
    """In the child: Ctrl-C's default action, even when the tests run with SIGINT ignored
    (as a background job of a shell does), so that Python turns it into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_real_process_serves_until_ctrl_c():
    process = subprocess.Popen([sys.executable, "-m", "mnistnn", "draw", "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=default_sigint)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        with urllib.request.urlopen(url + "api/model", timeout=30) as response:
            assert json.load(response)["source"] == "the model that ships with mnistnn"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert err.rstrip().endswith("Stopped.") and "Traceback" not in err
