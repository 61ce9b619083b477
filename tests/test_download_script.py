"""scripts/download_vgg19.sh, run as a subprocess against small local files.

curl fetches file:// URLs (and resumes them with -C -); wget has no file:// support, so its
branch is tested against a loopback HTTP server that honours Range requests and logs what it
was asked for. Every run gets its own weights folder through STYLIZE_WEIGHTS_DIR, so the
real weights/ folder is never touched.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "download_vgg19.sh"
NAME = "imagenet-vgg-verydeep-19.mat"
ASIDE = "imagenet-vgg-verydeep-19.mismatch.mat"
PAYLOAD_SIZE = 256 * 1024
HALF = PAYLOAD_SIZE // 2

# Tools the script needs besides a downloader and a checksum tool, for runs on a PATH of
# symlinks (the ones given by name in the restricted-PATH tests below).
BASE_TOOLS = ("bash", "dirname", "mkdir", "mv", "rm")

# curl is the default downloader and the one that reads file:// URLs, which most tests use.
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
needs_wget = pytest.mark.skipif(
    shutil.which("wget") is None,
    reason="wget is not installed, so the script's wget branch cannot run here",
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def payload() -> bytes:
    """Stands in for the 535 MB weights file: random bytes, different in every test."""
    return os.urandom(PAYLOAD_SIZE)


@pytest.fixture
def served(tmp_path) -> Path:
    """The folder whose files are offered to the downloaders (file:// and HTTP alike)."""
    folder = tmp_path / "served"
    folder.mkdir()
    return folder


@pytest.fixture
def weights(tmp_path) -> Path:
    """The destination folder; not created, so the script has to create it."""
    return tmp_path / "out" / "weights"


@dataclass
class Request:
    path: str
    range: str | None
    user_agent: str


@dataclass
class Server:
    base_url: str
    requests: list[Request] = field(default_factory=list)


@pytest.fixture
def http_server(served):
    """A loopback HTTP server for `served`, answering `Range: bytes=N-` with 206."""
    log: list[Request] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            log.append(
                Request(self.path, self.headers.get("Range"), self.headers.get("User-Agent", ""))
            )
            target = served / self.path.lstrip("/")
            if not target.is_file():
                self.send_error(404)
                return
            data = target.read_bytes()
            start = 0
            wanted = self.headers.get("Range")
            if wanted:
                match = re.fullmatch(r"bytes=(\d+)-", wanted)
                assert match, f"unexpected Range header {wanted!r}"
                start = int(match[1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{server.server_address[1]}", log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Backend:
    """One downloader and how to address a file of `served` for it."""

    name: str
    server: Server | None = None

    def url(self, path: Path) -> str:
        if self.server is None:
            return path.as_uri()
        return f"{self.server.base_url}/{path.name}"


@pytest.fixture(params=["curl", pytest.param("wget", marks=needs_wget)])
def backend(request) -> Backend:
    if request.param == "curl":
        return Backend("curl")
    return Backend("wget", request.getfixturevalue("http_server"))


def run(
    tmp_path: Path,
    *args: str,
    script: Path = SCRIPT,
    path: str | None = None,
    cwd: Path | None = None,
    **overrides: str,
) -> subprocess.CompletedProcess[str]:
    """Runs the script with a clean environment plus the given STYLIZE_* overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("STYLIZE_") and not key.lower().endswith("_proxy")
    }
    env["HOME"] = str(tmp_path)  # no ~/.curlrc or ~/.wgetrc of the user's
    if path is not None:
        env["PATH"] = path
    env.update(overrides)
    return subprocess.run(
        [str(script), *args],
        env=env,
        cwd=cwd or tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )


def tool_dir(tmp_path: Path, *tools: str) -> str:
    """A folder holding symlinks to exactly the named tools, to serve as the whole PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed")
        (folder / tool).symlink_to(found)
    return str(folder)


# --- usage ------------------------------------------------------------------------------


def test_script_is_executable():
    assert os.access(SCRIPT, os.X_OK)


def test_help_lists_the_environment_overrides(tmp_path):
    done = run(tmp_path, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("Usage: download_vgg19.sh")
    for name in (
        "STYLIZE_VGG19_URL",
        "STYLIZE_VGG19_SHA256",
        "STYLIZE_WEIGHTS_DIR",
        "STYLIZE_DOWNLOADER",
    ):
        assert name in done.stdout
    assert done.stderr == ""


def test_an_unknown_argument_is_a_usage_error(tmp_path):
    done = run(tmp_path, "--force")
    assert done.returncode == 2
    assert "unexpected argument(s): --force" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("STYLIZE_VGG19_SHA256", "abc123", "must be 64 hexadecimal digits"),
        ("STYLIZE_DOWNLOADER", "aria2c", "must be 'curl' or 'wget'"),
    ],
)
def test_bad_settings_stop_before_anything_is_written(
    tmp_path, served, weights, payload, variable, value, message
):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    settings = {
        "STYLIZE_VGG19_URL": source.as_uri(),
        "STYLIZE_VGG19_SHA256": sha256(payload),
        "STYLIZE_WEIGHTS_DIR": str(weights),
        variable: value,
    }
    done = run(tmp_path, **settings)
    assert done.returncode == 2
    assert message in done.stderr
    assert not weights.exists()


# --- downloads --------------------------------------------------------------------------


def test_a_fresh_download_is_verified_and_lands_in_the_destination(
    tmp_path, served, weights, payload, backend
):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    done = run(
        tmp_path,
        STYLIZE_VGG19_URL=backend.url(source),
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
        STYLIZE_DOWNLOADER=backend.name,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{weights / NAME}\n"
    assert (weights / NAME).read_bytes() == payload
    assert sorted(p.name for p in weights.iterdir()) == [NAME]  # no .part left behind
    assert f"with {backend.name}" in done.stderr
    if backend.server is not None:
        [request] = backend.server.requests
        assert request.range is None
        assert request.user_agent.lower().startswith("wget")


def test_the_checksum_is_compared_case_insensitively(tmp_path, served, weights, payload):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    done = run(
        tmp_path,
        STYLIZE_VGG19_URL=source.as_uri(),
        STYLIZE_VGG19_SHA256=sha256(payload).upper(),
        STYLIZE_WEIGHTS_DIR=str(weights),
    )
    assert done.returncode == 0, done.stderr
    assert (weights / NAME).read_bytes() == payload


def test_a_verified_file_is_not_downloaded_again(tmp_path, served, weights, payload):
    weights.mkdir(parents=True)
    present = weights / NAME
    present.write_bytes(payload)
    before = present.stat()
    # Nothing is served at this URL: any download attempt would fail the run.
    done = run(
        tmp_path,
        STYLIZE_VGG19_URL=(served / "missing.mat").as_uri(),
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
    )
    assert done.returncode == 0, done.stderr
    assert "already there and verified" in done.stderr
    assert done.stdout == f"{present}\n"
    after = present.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert present.read_bytes() == payload
    assert sorted(p.name for p in weights.iterdir()) == [NAME]


def test_a_checksum_mismatch_fails_and_leaves_no_file(tmp_path, served, weights, payload, backend):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    wrong = sha256(b"some other file")
    done = run(
        tmp_path,
        STYLIZE_VGG19_URL=backend.url(source),
        STYLIZE_VGG19_SHA256=wrong,
        STYLIZE_WEIGHTS_DIR=str(weights),
        STYLIZE_DOWNLOADER=backend.name,
    )
    assert done.returncode == 1
    assert "SHA-256 mismatch" in done.stderr
    assert f"expected {wrong}, got {sha256(payload)}" in done.stderr
    assert done.stdout == ""
    assert list(weights.iterdir()) == []  # neither the final file nor the .part
    if backend.server is not None:
        assert len(backend.server.requests) == 1  # the file was really fetched


def test_a_partial_download_is_resumed(tmp_path, served, weights, payload, backend):
    # The .part holds the true first half. The served file's first half is scrambled, so
    # only a download that resumes at the .part's end (rather than starting over) ends with
    # the file whose checksum is expected.
    source = served / "vgg.mat"
    source.write_bytes(bytes(255 - b for b in payload[:HALF]) + payload[HALF:])
    weights.mkdir(parents=True)
    (weights / f"{NAME}.part").write_bytes(payload[:HALF])
    done = run(
        tmp_path,
        STYLIZE_VGG19_URL=backend.url(source),
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
        STYLIZE_DOWNLOADER=backend.name,
    )
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr
    assert (weights / NAME).read_bytes() == payload
    assert sorted(p.name for p in weights.iterdir()) == [NAME]
    if backend.server is not None:
        assert [r.range for r in backend.server.requests] == [f"bytes={HALF}-"]


def test_a_corrupt_file_is_moved_aside_and_replaced(tmp_path, served, weights, payload):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    weights.mkdir(parents=True)
    corrupt = payload[:1000] + b"\0" + payload[1001:]
    (weights / NAME).write_bytes(corrupt)
    done = run(
        tmp_path,
        STYLIZE_VGG19_URL=source.as_uri(),
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
    )
    assert done.returncode == 0, done.stderr
    assert "does not match the expected SHA-256" in done.stderr
    assert (weights / NAME).read_bytes() == payload
    assert (weights / ASIDE).read_bytes() == corrupt
    assert sorted(p.name for p in weights.iterdir()) == sorted([NAME, ASIDE])
    assert done.stdout == f"{weights / NAME}\n"


def test_a_failed_download_leaves_no_file(tmp_path, served, weights, payload):
    done = run(
        tmp_path,
        STYLIZE_VGG19_URL=(served / "missing.mat").as_uri(),
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
    )
    assert done.returncode == 1
    assert "curl failed" in done.stderr
    assert done.stdout == ""
    assert list(weights.iterdir()) == []


def test_the_default_destination_is_weights_beside_the_scripts_folder(tmp_path, served, payload):
    # A copy of the script in a fake checkout, run from an unrelated working directory.
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    script = checkout / "scripts" / SCRIPT.name
    shutil.copy2(SCRIPT, script)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    source = served / "vgg.mat"
    source.write_bytes(payload)
    done = run(
        tmp_path,
        script=script,
        cwd=elsewhere,
        STYLIZE_VGG19_URL=source.as_uri(),
        STYLIZE_VGG19_SHA256=sha256(payload),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{checkout / 'weights' / NAME}\n"
    assert (checkout / "weights" / NAME).read_bytes() == payload
    assert list(elsewhere.iterdir()) == []


# --- which tools: runs on a PATH holding only the named tools ---------------------------


def test_without_curl_or_wget_the_script_says_so(tmp_path, served, weights, payload):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    done = run(
        tmp_path,
        path=tool_dir(tmp_path, *BASE_TOOLS, "sha256sum"),
        STYLIZE_VGG19_URL=source.as_uri(),
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
    )
    assert done.returncode == 2
    assert "neither curl nor wget is installed" in done.stderr
    assert not weights.exists()


def test_a_forced_downloader_that_is_missing_is_an_error(tmp_path, served, weights, payload):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    done = run(
        tmp_path,
        path=tool_dir(tmp_path, *BASE_TOOLS, "sha256sum", "curl"),
        STYLIZE_VGG19_URL=source.as_uri(),
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
        STYLIZE_DOWNLOADER="wget",
    )
    assert done.returncode == 2
    assert "STYLIZE_DOWNLOADER=wget, but wget is not installed" in done.stderr
    assert not weights.exists()


@needs_wget
def test_wget_is_used_when_curl_is_missing(tmp_path, served, weights, payload, http_server):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    done = run(
        tmp_path,
        path=tool_dir(tmp_path, *BASE_TOOLS, "sha256sum", "wget"),
        STYLIZE_VGG19_URL=f"{http_server.base_url}/vgg.mat",
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
    )
    assert done.returncode == 0, done.stderr
    assert "with wget" in done.stderr
    assert [r.user_agent.lower()[:4] for r in http_server.requests] == ["wget"]
    assert (weights / NAME).read_bytes() == payload


def test_shasum_is_used_when_sha256sum_is_missing(tmp_path, served, weights, payload):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    path = tool_dir(tmp_path, *BASE_TOOLS, "shasum", "curl")
    settings = {
        "STYLIZE_VGG19_URL": source.as_uri(),
        "STYLIZE_WEIGHTS_DIR": str(weights),
    }
    wrong = run(tmp_path, path=path, STYLIZE_VGG19_SHA256=sha256(b"other"), **settings)
    assert wrong.returncode == 1
    assert f"got {sha256(payload)}" in wrong.stderr
    right = run(tmp_path, path=path, STYLIZE_VGG19_SHA256=sha256(payload), **settings)
    assert right.returncode == 0, right.stderr
    assert (weights / NAME).read_bytes() == payload


def test_without_a_checksum_tool_nothing_is_downloaded(tmp_path, served, weights, payload):
    source = served / "vgg.mat"
    source.write_bytes(payload)
    done = run(
        tmp_path,
        path=tool_dir(tmp_path, *BASE_TOOLS, "curl"),
        STYLIZE_VGG19_URL=source.as_uri(),
        STYLIZE_VGG19_SHA256=sha256(payload),
        STYLIZE_WEIGHTS_DIR=str(weights),
    )
    assert done.returncode == 2
    assert "neither sha256sum nor shasum is installed" in done.stderr
    assert not weights.exists()
