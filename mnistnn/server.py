"""`mnistnn draw`: a local web page to draw digits on, and the JSON API it uses (stdlib HTTP).

    server = DrawServer(net, "127.0.0.1", 0)    # bound and listening: server.url is ready
    server.run()                                 # serves until Ctrl-C

Routes; nothing else is served, and nothing from a request reaches the file system:
    GET  /  /draw.js  /style.css       the page, packaged in mnistnn/web/
    GET  /api/model                    the loaded model and what this mnistnn can do
    POST /api/classify                 image bytes -> the reading (server_api.py)
    GET  /api/imagine/<digit>.png      what the network thinks the digit looks like

Limits, so that one bad client blocks nobody: a body over MAX_BODY bytes gets 413 unread;
a request must arrive whole within request_seconds of its first byte, or a watchdog stops
the reading and it gets 408; an idle connection closes after idle_seconds; beyond
max_connections at once, a connection gets 503. Each request thread answers from the
loaded network alone: nothing is kept between requests.
"""
import ipaddress
import os
import socket
import socketserver
import sys
import threading
import time
import webbrowser
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

from .server_api import DrawApi
from .errors import MnistnnError
from .server_handler import Handler, is_loopback, read_pages

REQUEST_SECONDS = 10.0   # from a request's first byte to its last
IDLE_SECONDS = 10.0      # a kept-alive connection waits this long for the next request
MAX_CONNECTIONS = 64
LINGER_SECONDS, LINGER_READS = 1.0, 16   # reading what a closed connection still sends


class ServerError(MnistnnError, OSError):
    """The page cannot be served (address in use, unknown host, files missing)."""


class DrawServer(ThreadingHTTPServer):
    """The drawing page's HTTP server: one thread per connection, limits as above."""
    daemon_threads = True        # Ctrl-C does not wait for open connections
    request_queue_size = 64

    def __init__(self, net, host="127.0.0.1", port=0, source=None, on_error=None,
                 request_seconds=REQUEST_SECONDS, idle_seconds=IDLE_SECONDS,
                 max_connections=MAX_CONNECTIONS):
        self.api = DrawApi(net, source)
        try:
            self.pages = read_pages()
        except OSError as exc:
            raise ServerError(f"the page's files are missing from this installation of "
                              f"mnistnn ({exc.filename}): reinstall it") from None
        self.on_error = on_error or (lambda message: None)
        self.request_seconds, self.idle_seconds = request_seconds, idle_seconds
        self.loopback = is_loopback(host)
        self.slots = threading.BoundedSemaphore(max_connections)
        self.watchdog = Watchdog()
        try:
            self.address_family = _family(host)
            super().__init__((host, port), Handler)
        except OSError as exc:
            raise ServerError(f"cannot listen on {host} port {port} "
                              f"({exc.strerror or exc})") from None
        self.watchdog.start()

    def server_bind(self):
        """Bind without HTTPServer's reverse DNS lookup of the host (slow without DNS)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self):
        """The page's address, for a browser on this machine."""
        host = self.server_name
        if ipaddress.ip_address(host).is_unspecified:        # 0.0.0.0 or ::
            host = "::1" if self.address_family == socket.AF_INET6 else "127.0.0.1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self.server_port}/"

    def run(self):
        """Serve until Ctrl-C (or shutdown() from another thread), then close."""
        try:
            self.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.server_close()

    def server_close(self):
        self.watchdog.stop()
        super().server_close()

    def process_request(self, request, client_address):
        """A thread for the connection, or at once a 503 when all slots are taken."""
        if not self.slots.acquire(blocking=False):
            _refuse(request, b'{"error": "the server is busy: try again", "status": 503}')
            self.close_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def shutdown_request(self, request):
        """Half-close, then read what the client may still be sending (a refused body) for
        a moment before closing: a close with unread data resets the connection, and the
        client could lose the answer it was sent."""
        try:
            request.shutdown(socket.SHUT_WR)
            request.settimeout(LINGER_SECONDS)
            for _ in range(LINGER_READS):
                if not request.recv(65536):
                    break
        except OSError:
            pass
        self.close_request(request)

    def handle_error(self, request, client_address):
        """A client that went away is no error; anything else is one line, no traceback."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            self.on_error(f"draw server: {type(exc).__name__}: {exc}")


class Watchdog(threading.Thread):
    """Stops the reading of requests that take longer than their time: shutdown(SHUT_RD)
    makes the handler's blocked read return, and it answers 408 and closes."""

    def __init__(self, tick=0.1):
        super().__init__(name="mnistnn-draw-watchdog", daemon=True)
        self.tick, self.lock, self.stopping = tick, threading.Lock(), threading.Event()
        self.deadlines, self.expired = {}, set()

    @contextmanager
    def watching(self, connection, seconds):
        with self.lock:
            self.deadlines[connection] = time.monotonic() + seconds
        try:
            yield
        finally:
            self.release(connection)
            with self.lock:
                self.expired.discard(connection)

    def release(self, connection):
        """The request has arrived: stop watching it."""
        with self.lock:
            self.deadlines.pop(connection, None)

    def cut(self, connection):
        """Whether the watchdog stopped this connection's reading."""
        with self.lock:
            return connection in self.expired

    def run(self):
        while not self.stopping.wait(self.tick):
            now = time.monotonic()
            with self.lock:
                late = [c for c, t in self.deadlines.items() if t < now]
                for connection in late:
                    del self.deadlines[connection]
                    self.expired.add(connection)
            for connection in late:
                try:
                    connection.shutdown(socket.SHUT_RD)
                except OSError:           # already closed by the client
                    pass

    def stop(self):
        self.stopping.set()


def _refuse(request, body):
    """Answer a connection with 503 without reading it (all slots taken)."""
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
    try:
        request.settimeout(1.0)
        request.sendall(head.encode() + body)
    except OSError:
        pass


def _family(host):
    """AF_INET6 for an IPv6 address or a name that only resolves to one, else AF_INET."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    families = [family for family, *_ in infos]
    return socket.AF_INET if socket.AF_INET in families else families[0]


def exposure_warning(host):
    """A sentence for stderr when host lets other machines reach the page, else None."""
    if is_loopback(host):
        return None
    return (f"Warning: listening on {host}, not 127.0.0.1: anyone who can reach this "
            f"machine can use the page and its API (there is no password). Without "
            f"--host it stays on this machine.")


def has_display():
    """Whether a browser window can be shown: on Linux and BSD only with X11 or Wayland."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def open_browser(url):
    """Open url in the user's browser when there is a display; whether it was opened."""
    try:
        return has_display() and webbrowser.open(url)
    except webbrowser.Error:
        return False
