"""The preview's HTTP server: the standard library's ThreadingHTTPServer on a thread of
its own, serving exactly five resources (the page, its script and style sheet, the state as
JSON and the image as PNG) from memory. No part of a request is ever used as a path: the
page's files are read once from the package when the server starts.

Rules: GET and HEAD only (every other method: 405); any other path: 404; when bound to a
loopback address (however --preview-host wrote it: ``127.1``, a name that resolves there), a
request must name that address, the name it was given as or ``localhost`` with the port in
its Host header (403 otherwise), so a web page elsewhere cannot read the preview through DNS
rebinding. Every answer, http.server's refusals of malformed requests included, carries the
same security headers.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from stylize.errors import ConfigError
from stylize.preview.board import Board

PAGE_FILES = {"/": ("page.html", "text/html; charset=utf-8"),
              "/preview.js": ("preview.js", "text/javascript; charset=utf-8"),
              "/preview.css": ("preview.css", "text/css; charset=utf-8")}  # fmt: skip
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self';"
    " img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'",
}
REQUEST_TIMEOUT = 10.0  # seconds a connection may take to send its request


class PreviewServer:
    """A running preview of ``board`` at ``url``; ``close()`` (or leaving a ``with``
    block) stops it and frees the port."""

    def __init__(self, board: Board, host: str = "127.0.0.1", port: int = 0):
        family, address = _listen_address(host, port)
        files = {route: (_page_file(name), kind) for route, (name, kind) in PAGE_FILES.items()}
        server_class = type("_Server", (ThreadingHTTPServer,), {"address_family": family})
        try:
            self.httpd = server_class(address, _handler(board, files))
        except OSError as error:
            raise ConfigError(_bind_message(host, port, error)) from None
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        bound = self.httpd.server_address[0]
        self.httpd.allowed_hosts = _allowed_hosts(host, bound, self.port)
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.2,),
                                        name="stylize-preview", daemon=True)  # fmt: skip
        self._thread.start()

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/"

    def close(self) -> None:
        if self._thread.is_alive():
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()

    def __enter__(self) -> PreviewServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _listen_address(host: str, port: int) -> tuple[socket.AddressFamily, tuple]:
    """(family, address) to bind for ``host``, an IP address or a name; ConfigError if it
    does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        raise ConfigError(
            f"--preview-host '{host}': not an address to listen on ({error})"
        ) from None
    family, _, _, _, address = found[0]
    return family, address


def _bind_message(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (f"--preview {port}: port {port} on {host} is in use; choose another port, or 0"
                " for a free one")  # fmt: skip
    if error.errno == errno.EACCES:
        return (
            f"--preview {port}: not allowed to listen on port {port} (ports below 1024 need root)"
        )
    reason = error.strerror or str(error)
    return f"--preview-host '{host}' --preview {port}: cannot listen there ({reason})"


def _allowed_hosts(given: str, bound: str, port: int) -> frozenset[str] | None:
    """Host header values accepted (lower case, each with ``:port``), or None (any) when
    ``bound``, the address actually listened on, is not a loopback one. ``given`` is
    --preview-host as written (an address in any form, or a name)."""
    address = ipaddress.ip_address(bound)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if not address.is_loopback:
        return None
    names = {given.lower(), str(address), "localhost", "127.0.0.1", "::1"}
    return frozenset(f"[{name}]:{port}" if ":" in name else f"{name}:{port}" for name in names)


def _page_file(name: str) -> bytes:
    return resources.files("stylize.preview").joinpath(name).read_bytes()


def _handler(board: Board, files: dict[str, tuple[bytes, str]]) -> type:
    """A request handler class bound to ``board`` and the page's files."""
    return type("_Handler", (_PreviewHandler,), {"board": board, "files": files})


class _PreviewHandler(BaseHTTPRequestHandler):
    board: Board
    files: dict[str, tuple[bytes, str]]
    server_version = "stylize-preview"
    sys_version = ""
    timeout = REQUEST_TIMEOUT

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def _refuse_method(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", "text/plain",
                   extra={"Allow": "GET, HEAD"})  # fmt: skip

    def __getattr__(self, name: str):
        # http.server looks up do_<METHOD> and answers 501, without our headers, to a method
        # it finds none for; every method but GET and HEAD is refused here instead.
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """http.server's refusal of a malformed request (400, 414, 431, 505): plain text with
        the security headers, in place of its HTML page without them."""
        status = HTTPStatus(code)
        if self.request_version == "HTTP/0.9":
            # The default when no version could be read: http.server would then write the
            # body alone, with no status line and no headers.
            self.request_version = "HTTP/1.0"
        self._send(status, f"{status.phrase.lower()}\n".encode(), "text/plain",
                   head=self.command == "HEAD", extra={"Connection": "close"})  # fmt: skip

    def _serve(self, head: bool) -> None:
        allowed = self.server.allowed_hosts
        if allowed is not None and (self.headers.get("Host") or "").lower() not in allowed:
            return self._send(HTTPStatus.FORBIDDEN, b"wrong host\n", "text/plain", head=head)
        route = urlsplit(self.path).path
        if route in self.files:
            body, kind = self.files[route]
            return self._send(HTTPStatus.OK, body, kind, head=head)
        if route == "/state.json":
            body = json.dumps(self.board.snapshot(), allow_nan=False).encode()
            return self._send(HTTPStatus.OK, body, "application/json", head=head)
        if route == "/image.png":
            return self._send_image(head)
        return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", head=head)

    def _send_image(self, head: bool) -> None:
        found = self.board.image_png()
        if found is None:
            return self._send(HTTPStatus.NO_CONTENT, b"", "image/png", head=True)
        version, png = found
        self._send(HTTPStatus.OK, png, "image/png", head=head,
                   extra={"X-Image-Version": str(version)})  # fmt: skip

    def _send(self, status: HTTPStatus, body: bytes, kind: str, head: bool = False,
              extra: dict | None = None) -> None:  # fmt: skip
        self.send_response(status)
        for name, value in {"Content-Type": kind, "Content-Length": str(len(body)),
                            **SECURITY_HEADERS, **(extra or {})}.items():  # fmt: skip
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's signature
        """Requests are not logged: stderr belongs to the command's progress."""
