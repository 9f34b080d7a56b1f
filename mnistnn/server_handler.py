"""One HTTP connection of the drawing page's server: routing, request bodies, JSON errors.

Every answer is JSON or one of the packaged files; every error is {"error": sentence,
"status": code} with that status (400, 403, 404, 405, 408, 411, 413, 500, 501), never a
traceback. The server (server.py) sets the limits this handler enforces.
"""
import ipaddress
import json
import re
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .errors import ImageError
from .server_api import MAX_BODY, MAX_UNITS, ApiError

WEB = Path(__file__).parent / "web"
PAGES = {"/": "index.html", "/index.html": "index.html", "/draw.js": "draw.js",
         "/style.css": "style.css"}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}
IMAGINE = re.compile(r"/api/imagine/(\d{1,2})\.png")
HEADERS = {   # the page loads nothing from anywhere else, and no other site may frame it
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache"}


def read_pages():
    """The packaged page files, read once: {route: (content type, bytes)}."""
    return {route: (TYPES[Path(name).suffix], (WEB / name).read_bytes())
            for route, name in PAGES.items()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"        # keep-alive: the page's live readings reuse a socket
    default_request_version = "HTTP/1.0"  # not 0.9: every answer has a status line
    disable_nagle_algorithm = True        # the body follows the headers at once, no 40 ms
    server_version = "mnistnn-draw"

    def version_string(self):
        return self.server_version

    def setup(self):
        self.timeout = self.server.idle_seconds   # each read or write waits at most this long
        super().setup()

    def handle_one_request(self):
        """Wait (idle_seconds at most) for a request to begin, then give it request_seconds
        to arrive whole: the watchdog stops the reading of a slower one."""
        try:
            started = self.rfile.peek(1)
        except OSError:               # idle too long, or the client reset the connection
            started = b""
        if not started:
            self.close_connection = True
            return
        with self.server.watchdog.watching(self.connection, self.server.request_seconds):
            super().handle_one_request()

    def do_GET(self):
        self._answer()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _answer(self):
        """Route the request, read its body, answer it (or say what is wrong)."""
        url, self.body_read = urlsplit(self.path), False
        if self.server.watchdog.cut(self.connection):   # the headers never finished
            self.close_connection = True
            return self._error(408, self._late())
        try:
            route, allowed = self._route(url.path)
            self._check(allowed)
            body = self._body() if self.command == "POST" else b""
            self.server.watchdog.release(self.connection)
            answer = route(parse_qs(url.query), body)
        except (ApiError, ImageError) as exc:
            return self._error(getattr(exc, "status", 400), str(exc),
                               getattr(exc, "allowed", None))
        except Exception as exc:      # a bug: one line for the log and the client, no traceback
            self.server.on_error(f"draw server: {self.command} {url.path}: "
                                 f"{type(exc).__name__}: {exc}")
            return self._error(500, f"internal error ({type(exc).__name__}); the server "
                                    f"goes on")
        self._send(200, *answer)

    def _route(self, path):
        """(function (query, body) -> (content type, bytes), allowed methods) for a path."""
        if path in PAGES:
            return (lambda query, body: self.server.pages[path]), ("GET",)
        if path == "/api/model":
            return (lambda query, body: _json(self.server.api.card)), ("GET",)
        if path == "/api/classify":
            return self._classify, ("POST",)
        found = IMAGINE.fullmatch(path)
        if found:
            digit = int(found.group(1))
            return (lambda query, body: ("image/png", self.server.api.imagine_png(digit))), ("GET",)
        raise ApiError(404, f"nothing here: {path[:100]} (the page is at /, the API under "
                            f"/api/model, /api/classify and /api/imagine/<digit>.png)")

    def _classify(self, query, body):
        number = _choice(query, "number", ("0", "1")) == "1"
        units = _choice(query, "units", [str(k) for k in range(MAX_UNITS + 1)])
        return _json(self.server.api.classify(body, number=number, units=int(units)))

    def _check(self, allowed):
        """Refuse a method the route does not take, and (on loopback) a foreign Host: a
        web site that renames itself to 127.0.0.1 (DNS rebinding) cannot reach the API."""
        if "GET" in allowed:
            allowed = allowed + ("HEAD",)          # a GET's headers alone (_send)
        if self.command not in allowed:
            raise ApiError(405, f"{self.command} is not allowed here: use "
                                f"{' or '.join(allowed)}", allowed=allowed)
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            raise ApiError(400, f"the request has {len(hosts)} Host headers: send one")
        host = hosts[0] if hosts else ""
        try:
            name = urlsplit(f"//{host}").hostname or ""
        except ValueError:
            name = ""
        if self.server.loopback and not is_loopback(name):
            raise ApiError(403, f"this page answers only to localhost, not {host[:100]!r}")

    def _body(self):
        """The request body: 411 without a length, 413 when too long (not read), 408 when
        the watchdog cut it off or it stalled, 400 when the client closed it short."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise ApiError(411, "send the image with a Content-Length (chunked bodies are "
                                "not supported)")
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.close_connection = True
            raise ApiError(411 if length is None else 400, "the request needs a valid "
                           "Content-Length header: the image's size in bytes")
        length = int(length)
        if length > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, f"the image is {length:,} bytes; the limit is {MAX_BODY:,}")
        try:
            body = self.rfile.read(length)
        except OSError:             # idle_seconds passed with nothing sent: a timeout
            self.close_connection = True
            raise ApiError(408, f"the request body stopped arriving: nothing came for "
                                f"{self.server.idle_seconds:g} s") from None
        if len(body) < length:
            self.close_connection = True
            if self.server.watchdog.cut(self.connection):
                raise ApiError(408, self._late())
            raise ApiError(400, f"the request body was cut short: {len(body):,} of "
                                f"{length:,} bytes arrived")
        self.body_read = True
        return body

    def _late(self):
        return f"the request did not arrive within {self.server.request_seconds:g} s"

    def _send(self, status, content_type, payload, extra=None):
        self.send_response(status)
        headers = {"Content-Type": content_type, "Content-Length": str(len(payload)),
                   **HEADERS, **(extra or {})}
        if self.close_connection:
            headers["Connection"] = "close"
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _error(self, status, message, allowed=None):
        if not self.body_read and (self.headers.get("Content-Length", "0").strip() != "0"
                                   or self.headers.get("Transfer-Encoding")):
            self.close_connection = True       # the unread body must not pass for a request
        extra = {"Allow": ", ".join(allowed)} if allowed else None
        self._send(status, *_json({"error": message, "status": status}), extra=extra)

    def parse_request(self):
        """http.server's, but headers that stop arriving for idle_seconds get 408 (it
        closed the connection without a word)."""
        try:
            return super().parse_request()
        except socket.timeout:           # TimeoutError from Python 3.10 on; not in 3.9
            self.send_error(408, f"the request's headers stopped arriving: nothing came "
                                 f"for {self.server.idle_seconds:g} s")
            return False

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (a bad request line, headers too long, ...) as JSON."""
        self.close_connection = True
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        self._send(code, *_json({"error": message or phrase, "status": code}))

    def log_message(self, format, *args):
        """No access log: the terminal shows the URL and errors only."""


def is_loopback(host):
    """Whether host only reaches this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json(data):
    return "application/json", json.dumps(data).encode()


def _choice(query, name, allowed):
    """The query parameter `name` (its last value), which must be one of allowed."""
    value = query.get(name, ["0"])[-1]
    if value not in allowed:
        raise ApiError(400, f"{name}={value[:20]!r} is not one of {', '.join(allowed[:3])}"
                            + (f" ... {allowed[-1]}" if len(allowed) > 3 else ""))
    return value
