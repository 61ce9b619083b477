"""``--preview`` on ``stylize run``, ``batch`` and ``video``: the address line on stderr once
the inputs and outputs are checked (a user error is the only line), the page following a
real run over plain HTTP, the server gone with the run (a signal while it stops changes
nothing), and a port in use as a one-line error before any work."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from stylize.cli import main

URL = re.compile(r"^preview: (http://127\.0\.0\.1:(\d+)/)$", re.MULTILINE)


def _run_args(vgg_file, image_files, *extra):
    return ["run", "--content", str(image_files["content"]), "--style",
            str(image_files["style"]), "--weights", str(vgg_file), *map(str, extra)]  # fmt: skip


@pytest.fixture
def busy_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_run_announces_the_page_and_stops_it_at_the_end(vgg_file, image_files, tmp_path):
    out = tmp_path / "out.png"
    result = CliRunner().invoke(main, _run_args(vgg_file, image_files, "-o", out,
                                                "--iterations", 3, "--preview", 0))  # fmt: skip
    assert result.exit_code == 0, result.output
    found = URL.search(result.stderr)
    assert found, result.stderr
    assert out.is_file()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(found.group(2))), timeout=2).close()


@pytest.mark.parametrize("command", ["run", "batch", "video"])
def test_a_port_in_use_is_one_line_exit_2_before_any_work(command, busy_port, vgg_file,
                                                          image_files, tmp_path):  # fmt: skip
    out = tmp_path / "out"
    given = ["--content", str(image_files["content"]), "--style", str(image_files["style"]),
             "--weights", str(vgg_file)]  # fmt: skip
    args = {"run": _run_args(vgg_file, image_files, "-o", out / "x.png"),
            "batch": ["batch", *given, "--out", str(out)],
            "video": ["video", *given, "-o", str(out)]}[command]  # fmt: skip
    result = CliRunner().invoke(main, [*args, "--preview", str(busy_port)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: --preview {busy_port}: port {busy_port} on 127.0.0.1 is in"
                             " use; choose another port, or 0 for a free one\n")  # fmt: skip
    assert not out.exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_page_stops_after_the_run_changes_nothing(
    signum, vgg_file, image_files, tmp_path, monkeypatch
):
    from stylize.preview.server import PreviewServer

    real = PreviewServer.close

    def signal_then_close(server):
        os.kill(os.getpid(), signum)
        real(server)

    monkeypatch.setattr(PreviewServer, "close", signal_then_close)
    previous = signal.signal(signal.SIGTERM, _fail)  # not this test process's death
    try:
        result = CliRunner().invoke(main, _run_args(vgg_file, image_files, "-o", tmp_path / "o.png",
                                                    "--json", "-q", "--preview", 0))  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["interrupted"], summary["signal"]) == (False, None)
    assert URL.fullmatch(result.stderr.rstrip("\n")) and (tmp_path / "o.png").is_file()


def _fail(signum, frame):
    raise AssertionError("SIGTERM reached the handler set outside the command")


def _missing_input_args(command, vgg_file, image_files, out):
    given = ["--content", str(out / "nosuch.png"), "--style", str(image_files["style"])]
    return {"run": ["run", *given, "-o", str(out / "x.png")],
            "batch": ["batch", *given, "--out", str(out / "o")],
            "video": ["video", *given, "-o", str(out / "v")]}[command]  # fmt: skip


@pytest.mark.parametrize("command", ["run", "batch", "video"])
def test_a_user_error_with_a_preview_is_the_only_line(command, vgg_file, image_files, tmp_path):
    args = _missing_input_args(command, vgg_file, image_files, tmp_path)
    result = CliRunner().invoke(main, [*args, "--weights", "random-tiny", "--preview", "0"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "nosuch.png" in result.stderr
    assert result.stderr.count("\n") == 1  # no page announced, no warning about the weights
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_with_a_preview_is_the_only_line(vgg_file, image_files, tmp_path):
    (tmp_path / "x.png").write_bytes(b"kept")
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "x.png", "--preview", 0)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: output image '{tmp_path / 'x.png'}': file already exists"
                             " (pass --overwrite to replace it)\n")  # fmt: skip
    assert (tmp_path / "x.png").read_bytes() == b"kept"


def test_a_bad_preview_host_or_port_is_exit_2(vgg_file, image_files, tmp_path):
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "x.png")
    result = CliRunner().invoke(
        main, [*args, "--preview", "0", "--preview-host", "nowhere.invalid"]
    )
    assert result.exit_code == 2 and "--preview-host 'nowhere.invalid'" in result.stderr
    result = CliRunner().invoke(main, [*args, "--preview", "70000"])
    assert result.exit_code == 2 and "--preview" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "batch", "video"])
def test_a_preview_host_without_preview_is_exit_2(command, vgg_file, image_files, tmp_path):
    out = tmp_path / "out"
    args = {"run": ["-o", out / "x.png"], "batch": ["--out", out], "video": ["-o", out]}[command]
    result = CliRunner().invoke(main, [
        command, "--content", str(image_files["content"]), "--style", str(image_files["style"]),
        "--weights", str(vgg_file), *map(str, args), "--preview-host", "0.0.0.0"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == "Error: --preview-host is used only with --preview PORT\n"
    assert list(tmp_path.iterdir()) == []


def _start(args, cwd):
    """A real stylize process with --preview 0; returns it and the page's address."""
    process = subprocess.Popen([sys.executable, "-m", "stylize", *map(str, args),
                                "--preview", "0"], cwd=cwd, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    line = process.stderr.readline()
    found = URL.search(line)
    if not found:
        process.kill()
        pytest.fail(f"no preview line: {line!r} {process.stderr.read()}")
    return process, found.group(1)


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


def _wait_for(url: str, check, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(_get(url + "state.json")[2])
        if check(state):
            return state
        time.sleep(0.2)
    pytest.fail(f"the preview never showed what was expected; last state: {state}")


@pytest.mark.slow
def test_the_page_follows_a_real_run_until_it_is_interrupted(vgg_file, image_files, tmp_path):
    args = _run_args(vgg_file, image_files, "-o", "out.png", "--iterations", 10**6, "--quiet")
    process, url = _start(args, tmp_path)
    try:
        first = _wait_for(url, lambda s: s["iteration"] > 0 and s["image"] > 0)
        second = _wait_for(url, lambda s: s["iteration"] > first["iteration"] + 5)
        status, headers, body = _get(url + "image.png")
        assert status == 200 and body.startswith(b"\x89PNG")
        assert int(headers["X-Image-Version"]) >= first["image"]
        assert second["status"] == "running" and second["iterations"] == 10**6
        assert second["J"] > 0 and second["history"][-1][0] <= second["iteration"]
        assert "content.png + style.png -> out.png" == second["label"]
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert (tmp_path / "out.png").is_file()
    with pytest.raises(OSError):
        _get(url + "state.json")


@pytest.mark.slow
def test_a_batch_page_shows_the_running_job_and_the_counts(vgg_file, batch_folder):
    args = ["batch", "--content", "c", "--style", "s", "--out", "out", "--weights", vgg_file,
            "--iterations", 400, "--quiet"]  # fmt: skip
    process, url = _start(args, batch_folder)
    try:
        running = _wait_for(url, lambda s: s["job"] is not None and s["iteration"] > 0)
        assert running["job"]["total"] == 2 and running["iterations"] == 400
        assert running["label"].endswith(".png") and " + x.png -> " in running["label"]
        done = _wait_for(url, lambda s: (s["batch"] or {}).get("done", 0) >= 1)
        assert done["batch"]["total"] == 2 and done["image"] > 0
    finally:
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr


@pytest.mark.slow
def test_a_video_page_shows_the_current_frame(vgg_file, image_files, tmp_path, gradient):
    from PIL import Image

    (tmp_path / "in").mkdir()
    picture = gradient(50, 30, 3)
    for t in range(3):
        Image.fromarray(picture[:, 2 * t : 2 * t + 40]).save(tmp_path / "in" / f"{t}.png")
    args = ["video", "--content", "in", "--style", image_files["style"], "--weights", vgg_file,
            "-o", "out", "--iterations", 3000, "--first-frame-iterations", 50,
            "--quiet"]  # fmt: skip
    process, url = _start(args, tmp_path)
    try:
        state = _wait_for(url, lambda s: (s["job"] or {}).get("index") == 2 and s["iteration"] > 0)
        assert state["label"] == "frame 00002.png" and state["job"]["total"] == 3
        assert state["batch"]["done"] == 1 and state["image"] > 0
        assert state["iterations"] == 3000 and state["command"] == "stylize video"
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
