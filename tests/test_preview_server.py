"""The preview server over real HTTP: its five resources, and the rules for paths, methods
and the Host header; binding errors as one-line ConfigErrors."""

from __future__ import annotations

import http.client
import json
import socket

import numpy as np
import pytest

from stylize.errors import ConfigError
from stylize.preview import Board, PreviewServer


@pytest.fixture
def served():
    board = Board("stylize run")
    board.start_job("a.png + b.png -> c.png", 10)
    with PreviewServer(board, "127.0.0.1", 0) as server:
        yield board, server


def _request(server, method="GET", path="/", host=None, port=None):
    connection = http.client.HTTPConnection("127.0.0.1", port or server.port, timeout=10)
    headers = {} if host is None else {"Host": host}
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_the_page_its_script_and_style_are_served(served):
    _, server = served
    assert server.url == f"http://127.0.0.1:{server.port}/"
    for path, kind, marker in [("/", "text/html", b"<canvas"),
                               ("/preview.js", "text/javascript", b"state.json"),
                               ("/preview.css", "text/css", b"#image")]:  # fmt: skip
        response, body = _request(server, path=path)
        assert response.status == 200, path
        assert response.getheader("Content-Type").startswith(kind)
        assert marker in body
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert "default-src 'none'" in response.getheader("Content-Security-Policy")
        assert response.getheader("Cache-Control") == "no-store"


def test_state_is_the_boards_snapshot_as_json(served):
    board, server = served
    board.update(3, (9.0, 4.0, 1.0), 1.5)
    response, body = _request(server, path="/state.json")
    assert response.status == 200 and response.getheader("Content-Type") == "application/json"
    state = json.loads(body)
    assert (state["iteration"], state["J"], state["label"]) == (3, 9.0, "a.png + b.png -> c.png")


def test_the_image_is_no_content_until_there_is_one_then_a_png_with_its_version(served):
    board, server = served
    response, body = _request(server, path="/image.png")
    assert (response.status, body) == (204, b"")
    board.show(lambda: np.full((6, 8, 3), 200, np.uint8))
    response, body = _request(server, path="/image.png?v=1")
    assert response.status == 200 and body.startswith(b"\x89PNG")
    assert response.getheader("X-Image-Version") == "1"
    response, body = _request(server, "HEAD", "/image.png")
    assert response.status == 200 and body == b""
    assert int(response.getheader("Content-Length")) > 0


@pytest.mark.parametrize("path", [
    "/page.html", "/preview.js/", "/../page.html", "/%2e%2e/etc/passwd", "//etc/passwd",
    "/static/../preview.js", "/favicon.ico", "/state.json/x", "/IMAGE.PNG", "/index.html",
])  # fmt: skip
def test_any_other_path_is_not_found(served, path):
    _, server = served
    response, body = _request(server, path=path)
    assert response.status == 404 and body == b"not found\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_only_get_and_head_are_allowed(served, method):
    _, server = served
    response, _ = _request(server, method, "/state.json")
    assert response.status == 405 and response.getheader("Allow") == "GET, HEAD"


def test_unknown_methods_are_refused(served):
    _, server = served
    response, _ = _request(server, "BREW", "/")
    assert response.status == 501


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1",
                                  "localhost", "127.0.0.1.evil.example:{port}", ""])  # fmt: skip
def test_a_loopback_preview_refuses_other_host_headers(served, host):
    _, server = served
    response, body = _request(server, path="/state.json", host=host.format(port=server.port))
    assert response.status == 403 and b"board" not in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_a_loopback_preview_accepts_its_own_names(served, host):
    _, server = served
    response, _ = _request(server, path="/state.json", host=host.format(port=server.port))
    assert response.status == 200


def test_a_preview_on_every_interface_accepts_any_host():
    with PreviewServer(Board("stylize run"), "0.0.0.0", 0) as server:
        response, _ = _request(server, path="/", host="my-machine.lan:8000")
        assert response.status == 200
        assert server.url == f"http://0.0.0.0:{server.port}/"


def test_it_listens_on_the_given_address_only(served):
    _, server = served
    names = {socket.gethostbyname(socket.gethostname())} - {"127.0.0.1", "127.0.1.1"}
    for address in names:  # this machine's other address, where there is one
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=2).close()
    assert server.httpd.server_address[0] == "127.0.0.1"


def test_a_port_in_use_is_a_config_error_naming_the_option(served):
    _, server = served
    with pytest.raises(ConfigError, match=rf"^--preview {server.port}: port {server.port} on"
                                          r" 127.0.0.1 is in use"):  # fmt: skip
        PreviewServer(Board("stylize run"), "127.0.0.1", server.port)


def test_a_host_that_does_not_resolve_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^--preview-host 'no-such-host\.invalid': not an"):
        PreviewServer(Board("stylize run"), "no-such-host.invalid", 0)


def test_an_address_not_on_this_machine_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^--preview-host '192\.0\.2\.1' --preview 0: cannot"):
        PreviewServer(Board("stylize run"), "192.0.2.1", 0)  # TEST-NET-1, never local


def test_closing_frees_the_port():
    board = Board("stylize run")
    server = PreviewServer(board, "127.0.0.1", 0)
    port = server.port
    server.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with PreviewServer(board, "127.0.0.1", port) as again:
        assert again.port == port


def test_ipv6_loopback_when_the_machine_has_it():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        server = PreviewServer(Board("stylize run"), "::1", 0)
    except ConfigError as error:
        pytest.skip(f"IPv6 loopback not configured: {error}")
    with server:
        assert server.url == f"http://[::1]:{server.port}/"
        connection = http.client.HTTPConnection("::1", server.port, timeout=10)
        connection.request("GET", "/state.json")
        assert connection.getresponse().status == 200
