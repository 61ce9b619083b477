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


@pytest.mark.parametrize("method", ["PROPFIND", "PURGE", "CONNECT", "BREW", "get"])
def test_every_other_method_is_refused_alike(served, method):
    _, server = served
    response, body = _request(server, method, "/state.json")
    assert (response.status, body) == (405, b"method not allowed\n")
    assert response.getheader("Allow") == "GET, HEAD"
    _assert_security_headers(response.getheader)


def _assert_security_headers(header) -> None:
    assert header("X-Content-Type-Options") == "nosniff"
    assert "default-src 'none'" in header("Content-Security-Policy")
    assert header("Cache-Control") == "no-store"
    assert header("Referrer-Policy") == "no-referrer"


# http.server reads at most this much of a line and this many header lines; the requests
# below end exactly where it stops reading, since unread bytes would make closing the
# connection a reset that can overtake the answer.
LINE_LIMIT, HEADER_LIMIT = 65536, 100


def _raw_request(server, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers by lower-case name, body) of the answer to ``data`` sent as is."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
    return int(status_line.split()[1]), headers, body


def _header_of(headers: dict[str, str]):
    return lambda name: headers.get(name.lower())


@pytest.mark.parametrize("request_bytes, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.x\r\n\r\n", 400),
    (b"POST /\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET /" + b"a" * (LINE_LIMIT + 1 - 5), 414),
    (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * (LINE_LIMIT + 1 - 8), 431),
    (b"GET / HTTP/1.1\r\n" + b"X-Many: 1\r\n" * (HEADER_LIMIT + 1), 431),
])  # fmt: skip
def test_malformed_requests_are_refused_with_the_same_headers(served, request_bytes, status):
    _, server = served
    answer_status, headers, body = _raw_request(server, request_bytes)
    assert answer_status == status
    _assert_security_headers(_header_of(headers))
    assert headers["content-type"] == "text/plain" and headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body) and b"<" not in body


def test_a_malformed_head_request_gets_no_body(served):
    _, server = served
    too_many = b"HEAD / HTTP/1.1\r\n" + b"X: 1\r\n" * (HEADER_LIMIT + 1)
    status, headers, body = _raw_request(server, too_many)
    assert (status, body) == (431, b"") and int(headers["content-length"]) > 0
    _assert_security_headers(_header_of(headers))


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


@pytest.fixture
def resolver_with_a_loopback_name(monkeypatch):
    """``preview-box.test`` resolves to 127.0.0.1, as a machine's own name often does."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real("127.0.0.1" if host == "preview-box.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("given", ["127.1", "preview-box.test", "LocalHost"])
def test_loopback_is_decided_by_the_address_bound_not_by_how_it_was_written(
    resolver_with_a_loopback_name, given
):
    with PreviewServer(Board("stylize run"), given, 0) as server:
        assert server.httpd.server_address[0] == "127.0.0.1"
        port = server.port
        for host in ["evil.example", f"evil.example:{port}", f"{given}:1"]:
            response, _ = _request(server, path="/state.json", host=host)
            assert response.status == 403, host
        for host in [f"{given}:{port}", f"{given.upper()}:{port}", f"127.0.0.1:{port}",
                     f"localhost:{port}"]:  # fmt: skip
            response, _ = _request(server, path="/state.json", host=host)
            assert response.status == 200, host


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


@pytest.mark.parametrize("given", ["::1", "0:0:0::1"])
def test_ipv6_loopback_when_the_machine_has_it(given):
    """However the address is written, it is loopback: its own forms pass, others are 403."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        server = PreviewServer(Board("stylize run"), given, 0)
    except ConfigError as error:
        pytest.skip(f"IPv6 loopback not configured: {error}")
    with server:
        if given == "::1":
            assert server.url == f"http://[::1]:{server.port}/"
        for host, status in [(f"[::1]:{server.port}", 200), (f"[{given}]:{server.port}", 200),
                             ("evil.example", 403)]:  # fmt: skip
            connection = http.client.HTTPConnection("::1", server.port, timeout=10)
            connection.request("GET", "/state.json", headers={"Host": host})
            assert connection.getresponse().status == status, host
            connection.close()
