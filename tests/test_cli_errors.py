"""Bad input and faults end with one clear line, the right exit code and nothing written."""

from __future__ import annotations

import contextlib
import errno
import importlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner
from PIL import Image

from stylize.cli import main


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, vgg_file, image_files):
    """A folder of broken inputs, made once."""
    folder = tmp_path_factory.mktemp("bad")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("this is not a JPEG\n")
    (folder / "adir.jpg").mkdir()
    picture = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(picture).save(folder / "full.jpg")
    Image.fromarray(picture).save(folder / "full.png")
    for name in ("full.jpg", "full.png"):
        data = (folder / name).read_bytes()
        (folder / f"cut{os.path.splitext(name)[1]}").write_bytes(data[: len(data) // 2])
    Image.fromarray(picture[:10, :12]).save(folder / "tiny.png")
    Image.new("L", (200, 200)).save(folder / "bomb.png")
    mat = vgg_file.read_bytes()
    (folder / "cut.mat").write_bytes(mat[: len(mat) // 2])
    data = {k: v for k, v in scipy.io.loadmat(str(vgg_file)).items() if not k.startswith("__")}
    data["layers"][0, 2][0, 0]["name"] = np.array(["conv1_x"])
    scipy.io.savemat(str(folder / "other.mat"), data)
    Image.new("L", (40, 30), 0).save(folder / "black.png")
    Image.new("L", (40, 30), 255).save(folder / "white.png")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116)
    (folder / "v73.mat").write_bytes(header + b"\0" * 8 + b"\x00\x02IM" + b"\0" * 512)
    _variant(
        vgg_file,
        folder / "strbias.mat",
        lambda d: d["layers"][0, 0][0, 0]["weights"].__setitem__((0, 1), np.array(["ab"])),
    )
    _variant(
        vgg_file,
        folder / "nanmean.mat",
        lambda d: d["meta"][0, 0]["normalization"][0, 0].__setitem__(
            "averageImage", np.full((1, 1, 3), np.nan, np.float32)
        ),
    )
    _variant(
        vgg_file,
        folder / "nankernel.mat",
        lambda d: d["layers"][0, 2][0, 0]["weights"][0, 0].__setitem__(0, np.nan),
    )
    return folder


def _variant(source, target, edit) -> None:
    data = {k: v for k, v in scipy.io.loadmat(str(source)).items() if not k.startswith("__")}
    edit(data)
    scipy.io.savemat(str(target), data, do_compression=True)


CASES = {
    "missing content": ({"--content": "{bad}/absent.jpg"}, "absent.jpg", 2),
    "missing style": ({"--style": "{bad}/absent.png"}, "absent.png", 2),
    "missing weights": ({"--weights": "{bad}/absent.mat"}, "download_vgg19.sh", 2),
    "directory as content": ({"--content": "{bad}/adir.jpg"}, "is a directory", 2),
    "empty file": ({"--content": "{bad}/empty.jpg"}, "empty", 2),
    "text named .jpg": ({"--style": "{bad}/text.jpg"}, "not a readable image", 2),
    "truncated JPEG": ({"--content": "{bad}/cut.jpg"}, "cut.jpg", 2),
    "truncated PNG": ({"--content": "{bad}/cut.png"}, "cut.png", 2),
    "too small": ({"--content": "{bad}/tiny.png"}, "too small", 2),
    "decompression bomb": ({"--content": "{bad}/bomb.png"}, "too large to decode", 2),
    "truncated .mat": ({"--weights": "{bad}/cut.mat"}, "cut.mat", 2),
    "another network": ({"--weights": "{bad}/other.mat"}, "conv1_x", 2),
    "no output folder": ({"-o": "{out}/missing/x.png"}, "does not exist", 2),
    "unknown extension": ({"-o": "{out}/x.gif"}, "x.gif", 2),
    "16 bits as JPEG": ({"-o": "{out}/x.jpg", "--bit-depth": "16"}, "--bit-depth 16", 2),
    "bit depth 12": ({"--bit-depth": "12"}, "--bit-depth", 2),
    "weights is a directory": ({"--weights": "{bad}"}, "not a file", 2),
    "negative iterations": ({"--iterations": "-1"}, "--iterations", 2),
    "learning rate 0": ({"--learning-rate": "0"}, "--learning-rate", 2),
    "noise ratio above 1": ({"--noise-ratio": "1.1"}, "--noise-ratio", 2),
    "non-numeric": ({"--alpha": "lots"}, "--alpha", 2),
    "unknown layer": ({"--style-layers": "conv1_1,conv9_1"}, "--style-layers", 2),
    "content ratio and alpha": (
        {"--alpha": "10", "--content-ratio": "1e-3"},
        "--alpha and --content-ratio",
        2,
    ),
    "content ratio 0": ({"--content-ratio": "0"}, "--content-ratio must be a positive", 2),
    "content ratio, beta 0": ({"--content-ratio": "1e-3", "--beta": "0"}, "needs --beta", 2),
    "weights count": ({"--style-weights": "0.5,0.3,0.2"}, "--style-weights", 2),
    "bad init path": ({"--init": "{bad}/absent.png"}, "absent.png", 2),
    "emulated bfloat16": ({"--precision": "bfloat16"}, "--precision bfloat16: this CPU", 2),
    # the hardening issue's defects, each one line and exit 2 before any work
    "F1 relu6": ({"--content-layers": "relu6"}, "unknown layer 'relu6'", 2),
    "F1 relu7": ({"--style-layers": "relu7"}, "unknown layer 'relu7'", 2),
    "F2 v7.3 weights": ({"--weights": "{bad}/v73.mat"}, "v7.3 (HDF5)", 2),
    "F3 text bias": ({"--weights": "{bad}/strbias.mat"}, "bias holds", 2),
    "F4 NaN mean pixel": ({"--weights": "{bad}/nanmean.mat"}, "contains NaN", 2),
    "F5 NaN kernel": ({"--weights": "{bad}/nankernel.mat"}, "contains NaN", 2),
    "F6 alpha overflows": ({"--alpha": "1e39"}, "largest float32", 2),
    "F6 beta overflows": ({"--beta": "1e300"}, "largest float32", 2),
    "F8 history is the output": ({"--history": "{out}/result.png"}, "same file", 2),
    "F8 plot is the output": ({"--loss-plot": "{out}/result.png"}, "same file", 2),
    "F8 sheet is the plot": (
        {"--loss-plot": "{out}/p.png", "--contact-sheet": "{out}/p.png"},
        "same file",
        2,
    ),
    "sheet extension": ({"--contact-sheet": "{out}/sheet.gif"}, "--contact-sheet '", 2),
    "F10 name too long": ({"-o": "{out}/" + "a" * 300 + ".png"}, "bytes long", 2),
    "F10 history too long": ({"--history": "{out}/" + "h" * 250}, "bytes long", 2),
    # spatial control
    "unreadable style mask": ({"--style-mask": "{bad}/text.jpg"}, "--style-mask", 2),
    "black style mask": ({"--style-mask": "{bad}/black.png"}, "black all over", 2),
    "unreadable mask": ({"--mask": "{bad}/cut.png"}, "--mask", 2),
}


def _invoke(case, vgg_file, image_files, bad_files, out, monkeypatch):
    overrides, needle, code = CASES[case]
    options = {
        "--content": str(image_files["content"]),
        "--style": str(image_files["style"]),
        "--weights": str(vgg_file),
        "-o": str(out / "result.png"),
        "--iterations": "2",
    }
    for key, value in overrides.items():
        options[key] = value.format(bad=bad_files, out=out, **image_files)
    if case == "decompression bomb":
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 40,000 pixels > 2x the limit
    if case == "emulated bfloat16":
        from stylize import device

        monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"sse2", "avx2"}))
    args = ["run", *[part for pair in options.items() for part in pair]]
    return CliRunner().invoke(main, args), needle, code  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    case, vgg_file, image_files, bad_files, tmp_path, monkeypatch
):
    inputs = {path: path.read_bytes() for path in image_files.values()}
    result, needle, code = _invoke(case, vgg_file, image_files, bad_files, tmp_path, monkeypatch)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert needle in lines[0]
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no output and no temporary file
    assert {path: path.read_bytes() for path in image_files.values()} == inputs


def test_existing_output_is_kept_without_overwrite(vgg_file, image_files, tmp_path):
    output = tmp_path / "result.png"
    output.write_bytes(b"keep me")
    args = ["run", "--content", str(image_files["content"]), "--style",
            str(image_files["style"]), "--weights", str(vgg_file), "-o", str(output)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert output.read_bytes() == b"keep me" and len(list(tmp_path.iterdir())) == 1


def _run_args(vgg_file, image_files, *extra):
    return ["run", "--content", str(image_files["content"]), "--style", str(image_files["style"]),
            "--weights", str(vgg_file), "--iterations", "2", *map(str, extra)]  # fmt: skip


@pytest.mark.parametrize(
    ("option", "role", "needle"),
    [("-o", "content", "is the content image"), ("--history", "style", "is the style image 1"),
     ("--loss-plot", "content", "is the content image")],
)  # fmt: skip
def test_no_output_may_replace_an_input_even_with_overwrite(
    vgg_file, image_files, tmp_path, option, role, needle
):
    before = image_files[role].read_bytes()
    extra = [] if option == "-o" else ["-o", tmp_path / "r.png"]
    args = _run_args(vgg_file, image_files, option, image_files[role], *extra, "--overwrite")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and needle in result.stderr, result.output
    assert image_files[role].read_bytes() == before and list(tmp_path.iterdir()) == []


def test_a_folder_as_history_is_refused_before_any_work(vgg_file, image_files, tmp_path):
    (tmp_path / "somedir").mkdir()
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", "--history",
                     tmp_path / "somedir", "--overwrite")  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert (
        result.exit_code == 2
        and "--history" in result.stderr
        and "is a directory" in (result.stderr)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somedir"]


def test_checkpoints_are_checked_by_their_pattern(vgg_file, image_files, tmp_path, monkeypatch):
    from stylize import images

    checked = []
    real = images.check_output_path
    monkeypatch.setattr(
        images, "check_output_path", lambda p, *a, **k: checked.append(p) or real(p, *a, **k)
    )
    (tmp_path / "r_100000.png").write_bytes(b"the last checkpoint of an earlier run")
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", "--save-every", "10")
    args[args.index("--iterations") + 1] = "100000"
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "r_100000.png" in result.stderr, result.output
    assert len(checked) < 10  # not one check per checkpoint (10,000 of them)


def _full_disk_for(monkeypatch, name: str) -> None:
    """images.atomic_writer fails with ENOSPC for the file called ``name`` alone."""
    from stylize import images

    real = images.atomic_writer

    @contextlib.contextmanager
    def full_disk_for_one_snapshot(path):
        if Path(path).name == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        with real(path) as stream:
            yield stream

    monkeypatch.setattr(images, "atomic_writer", full_disk_for_one_snapshot)


def test_a_snapshot_that_cannot_be_written_does_not_end_the_run(
    vgg_file, image_files, tmp_path, monkeypatch
):
    _full_disk_for(monkeypatch, "r_00002.png")
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", "--save-every", "2",
                     "--json", "--quiet")  # fmt: skip
    args[args.index("--iterations") + 1] = "6"
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lost = tmp_path / "r_00002.png"
    assert (f"warning: --save-every: output image '{lost}': cannot write (No space left on"
            " device); the run goes on") in result.stderr  # fmt: skip
    summary = json.loads(result.stdout)
    assert summary["iterations"] == 6 and summary["snapshots_not_written"] == [str(lost)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png", "r_00004.png", "r_00006.png"]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: --save-every: 1 snapshot(s) not written, the first because")
    assert last.endswith(f"(written to {tmp_path / 'r.png'})")
    assert Image.open(tmp_path / "r.png").size == (32, 24)


def test_a_checkpoint_name_is_no_other_output(vgg_file, image_files, tmp_path):
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", "--save-every", "1",
                     "--loss-plot", tmp_path / "r_00002.png")  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "checkpoints" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_second_signal_while_writing_keeps_the_result(
    vgg_file, image_files, tmp_path, monkeypatch
):
    from stylize import runner

    real = runner.Recorder.write_outputs

    def interrupted_write(self, result):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the outputs are written
        os.kill(os.getpid(), signal.SIGINT)
        real(self, result)

    monkeypatch.setattr(runner.Recorder, "write_outputs", interrupted_write)
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", "--history",
                     tmp_path / "h.jsonl", "--json")  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 143, result.output
    assert Image.open(tmp_path / "r.png").size == (32, 24)
    assert len((tmp_path / "h.jsonl").read_text().splitlines()) == 2
    assert json.loads(result.stdout)["signal"] == "SIGTERM"


@pytest.mark.slow
def test_a_closed_stderr_does_not_stop_the_work(vgg_file, image_files, tmp_path):
    args = [sys.executable, "-m", "stylize", *_run_args(vgg_file, image_files, "-o",
                                                        tmp_path / "r.png")]  # fmt: skip
    done = subprocess.run(
        args,
        capture_output=False,
        stdout=subprocess.PIPE,
        preexec_fn=lambda: os.close(2),
        timeout=300,
    )  # noqa: PLW1509
    assert done.returncode == 0
    assert done.stdout.decode().strip() == str(tmp_path / "r.png")
    assert Image.open(tmp_path / "r.png").size == (32, 24)


FULL = "/dev/full"  # Linux: every write fails with ENOSPC, as on a full disk


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(FULL), reason="needs Linux's /dev/full")
def test_a_full_stdout_is_one_line_exit_1_and_keeps_the_image(vgg_file, image_files, tmp_path):
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", "--json", "-q")
    with open(FULL, "w") as full:
        done = subprocess.run([sys.executable, "-m", "stylize", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "Error: cannot write to stdout: No space left on device\n"
    assert Image.open(tmp_path / "r.png").size == (32, 24)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(FULL), reason="needs Linux's /dev/full")
def test_a_full_stderr_drops_progress_and_warnings_and_the_run_goes_on(image_files, tmp_path):
    args = [*_run_args("random-tiny", image_files, "-o", tmp_path / "r.png"), "--save-every", 1]
    with open(FULL, "w") as full:
        done = subprocess.run([sys.executable, "-m", "stylize", *map(str, args)],
                              stdout=subprocess.PIPE, stderr=full, text=True,
                              timeout=300)  # fmt: skip
    assert done.returncode == 0
    assert done.stdout == f"{tmp_path / 'r.png'}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png", "r_00001.png", "r_00002.png"]


class _FullDisk(io.TextIOBase):
    """A text stream on a full disk: every write fails as /dev/full's do."""

    encoding, errors = "utf-8", "strict"

    def writable(self) -> bool:
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str")
        raise OSError(errno.ENOSPC, "No space left on device")


def _exit_code(args, monkeypatch, stdout, stderr) -> int:
    """``stylize ARGS`` in this process with these standard streams."""
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    with pytest.raises(SystemExit) as exited:
        main.main([str(arg) for arg in args], prog_name="stylize")
    return exited.value.code


def test_a_full_stdout_after_a_lost_snapshot_shows_both_errors(
    vgg_file, image_files, tmp_path, monkeypatch
):
    _full_disk_for(monkeypatch, "r_00001.png")
    stderr = io.StringIO()
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", "--save-every", 1, "-q")
    assert _exit_code(args, monkeypatch, _FullDisk(), stderr) == 1
    lines = stderr.getvalue().splitlines()
    assert lines[-2].startswith("Error: --save-every: 1 snapshot(s) not written")
    assert lines[-1] == "Error: cannot write to stdout: No space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png", "r_00002.png"]


def _batch_args(image_files, out):
    return ["batch", "--content", image_files["content"], "--style", image_files["style"],
            "--weights", "random-tiny", "--iterations", 2, "--out", out]  # fmt: skip


def test_a_batch_with_a_full_stdout_is_one_line_exit_1(image_files, tmp_path, monkeypatch):
    stderr = io.StringIO()
    args = [*_batch_args(image_files, tmp_path / "out"), "--json", "-q"]
    assert _exit_code(args, monkeypatch, _FullDisk(), stderr) == 1
    manifest = tmp_path / "out" / "manifest.jsonl"
    assert stderr.getvalue().splitlines() == [
        "warning: random VGG-19 weights: a smoke test, not the real network",
        f"batch: 1 jobs: 1 done, 0 skipped, 0 failed (manifest: {manifest})",
        "Error: cannot write to stdout: No space left on device"]  # fmt: skip
    assert len(list((tmp_path / "out").glob("*.png"))) == 1


def test_a_batch_with_a_full_stderr_goes_on(image_files, tmp_path, monkeypatch):
    stdout = io.StringIO()
    args = [*_batch_args(image_files, tmp_path / "out"), "--json"]
    assert _exit_code(args, monkeypatch, stdout, _FullDisk()) == 0
    assert json.loads(stdout.getvalue())["done"] == 1
    assert len(list((tmp_path / "out").glob("*.png"))) == 1


def test_unwritable_output_folder(vgg_file, image_files, tmp_path, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p) == str(tmp_path) else
                        real_access(p, m))  # fmt: skip
    args = ["run", "--content", str(image_files["content"]), "--style",
            str(image_files["style"]), "--weights", str(vgg_file),
            "-o", str(tmp_path / "r.png")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "not writable" in result.stderr


def test_out_of_memory_is_refused_before_building(vgg_file, image_files, tmp_path, monkeypatch):
    monkeypatch.setattr("stylize.memory.available_memory", lambda: 1024)
    args = ["run", "--content", str(image_files["content"]), "--style",
            str(image_files["style"]), "--weights", str(vgg_file),
            "-o", str(tmp_path / "r.png")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "--max-size" in result.stderr and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


# --- signals, as a real subprocess ----------------------------------------------------------


def _start(vgg_file, image_files, output, *extra):
    args = [sys.executable, "-m", "stylize", "run", "--content", str(image_files["content"]),
            "--style", str(image_files["style"]), "--weights", str(vgg_file), "-o", str(output),
            "--iterations", "20000", "--json", *extra]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_iterations(process, timeout=120):
    """Progress lines arrive on stderr, one per 5 % of the iterations (1,000 of _start's
    20,000: a few seconds in, with 19 lines still to come); wait for the first."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if line.startswith("iteration "):
            return seen
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no progress before the deadline: {seen}")


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_writes_the_best_image_and_exits_with_its_code(
    vgg_file, image_files, tmp_path, signum, code
):
    output = tmp_path / "result.png"
    process = _start(vgg_file, image_files, output)
    _wait_for_iterations(process)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    summary = json.loads(stdout)
    assert summary["interrupted"] is True and summary["iterations"] > 0
    assert summary["signal"] == signal.Signals(signum).name
    assert "interrupted by" in stderr and "Traceback" not in stderr
    assert Image.open(output).size == (32, 24)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.png"]


def _full_disk_writer():
    """files.atomic_writer on a full disk: the temporary file is made, then the write fails."""
    from stylize.files import atomic_writer

    @contextlib.contextmanager
    def writer(target):
        with atomic_writer(target) as stream:
            yield stream
            raise OSError(errno.ENOSPC, "No space left on device")

    return writer


def _full_disk_text_writer():
    """files.atomic_write_text on a full disk."""
    writer = _full_disk_writer()

    def write_text(path, text):
        with writer(path) as stream:
            stream.write(text.encode("utf-8"))

    return write_text


def _full_disk_save_image():
    """images.save_image on a full disk (the contact sheet's writer)."""
    from stylize import images

    writer = _full_disk_writer()

    def save_image(path, image):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(images, "atomic_writer", writer)
            images.save_image(path, image)

    return save_image


@pytest.mark.parametrize("option, name, where, failing, label", [
    ("--history", "h.jsonl", "stylize.runner.atomic_write_text", _full_disk_text_writer,
     "--history"),
    ("--loss-plot", "loss.png", "stylize.report.atomic_writer", _full_disk_writer,
     "--loss-plot"),
    ("--contact-sheet", "sheet.png", "stylize.report.save_image", _full_disk_save_image,
     "output image"),
])  # fmt: skip
def test_a_full_disk_while_a_report_is_written_is_one_line_and_keeps_the_image(
    vgg_file, image_files, tmp_path, monkeypatch, option, name, where, failing, label
):
    monkeypatch.setattr(where, failing())
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", option, tmp_path / name)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    expected = (f"Error: {label} '{tmp_path / name}': cannot write (No space left on device);"
                f" the image was written to {tmp_path / 'r.png'}\n")  # fmt: skip
    assert result.stderr.endswith(expected) and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png"]


# --- signals before a command's work and after its outputs -------------------------------------


@pytest.fixture
def sigterm_is_a_failure():
    """While the test runs, a SIGTERM that reaches the handler from before the command (in a
    real process: its death) raises, so that a regression fails the test, not the run."""

    def fail(signum, frame):
        raise AssertionError("SIGTERM reached the handler set outside the command")

    previous = signal.signal(signal.SIGTERM, fail)
    yield
    signal.signal(signal.SIGTERM, previous)


def _signalling(function, signum):
    """``function``, which first sends this process ``signum``."""

    def send_then_call(*args, **kwargs):
        os.kill(os.getpid(), signum)
        return function(*args, **kwargs)

    return send_then_call


EARLY = {  # command: (the step before its machinery that the signal lands in, its line)
    "run": ("stylize.cli.run.run_request",
            "interrupted by {} before the first iteration; nothing written"),
    "batch": ("stylize.cli.batch.batch_request", "interrupted by {}; finished jobs stay recorded"
              " in the manifest, run the same command again to finish"),
    "video": ("stylize.cli.video.video_request",
              "interrupted by {} before the first frame; nothing written"),
    "weights": ("stylize.cli.weights.checked_file", "interrupted by {} before the check finished"),
}  # fmt: skip


def _early_args(command, vgg_file, image_files, out):
    inputs = ["--content", str(image_files["content"]), "--style", str(image_files["style"]),
              "--weights", str(vgg_file)]  # fmt: skip
    return {"run": ["run", *inputs, "-o", str(out / "r.png")],
            "batch": ["batch", *inputs, "--out", str(out / "o")],
            "video": ["video", *inputs, "-o", str(out / "v")],
            "weights": ["weights", str(vgg_file), "--no-self-test"]}[command]  # fmt: skip


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])  # fmt: skip
@pytest.mark.parametrize("command", sorted(EARLY))
def test_a_signal_before_the_work_is_one_line_with_its_exit_code(
    command, signum, code, vgg_file, image_files, tmp_path, monkeypatch, sigterm_is_a_failure
):
    where, line = EARLY[command]
    module_name, name = where.rsplit(".", 1)
    module = importlib.import_module(module_name)
    monkeypatch.setattr(module, name, _signalling(getattr(module, name), signum))
    result = CliRunner().invoke(main, _early_args(command, vgg_file, image_files, tmp_path))
    assert result.exit_code == code, result.output
    assert result.stderr == f"Error: {line.format(signal.Signals(signum).name)}\n"
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_a_ctrl_c_while_the_options_are_read_is_one_line_exit_130(
    vgg_file, image_files, tmp_path, monkeypatch
):
    from stylize import weights

    # --weights' callback looks the value up while click parses the command line
    monkeypatch.setattr(weights, "weights_location",
                        _signalling(weights.weights_location, signal.SIGINT))  # fmt: skip
    result = CliRunner().invoke(main, _run_args(vgg_file, image_files, "-o", tmp_path / "r.png"))
    assert result.exit_code == 130, result.output
    assert result.stderr == ("Error: interrupted by SIGINT before the first iteration; nothing"
                             " written\n")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_once_the_outputs_are_written_changes_nothing(
    signum, vgg_file, image_files, tmp_path, monkeypatch, sigterm_is_a_failure
):
    from stylize import runner

    real = runner.run_command

    def signal_as_it_returns(inputs, board):
        outcome = real(inputs, board)
        os.kill(os.getpid(), signum)  # before the result is printed
        return outcome

    monkeypatch.setattr(runner, "run_command", signal_as_it_returns)
    args = _run_args(vgg_file, image_files, "-o", tmp_path / "r.png", "--json", "-q")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["interrupted"], summary["signal"], summary["iterations"]) == (False, None, 2)
    assert result.stderr == "" and sorted(p.name for p in tmp_path.iterdir()) == ["r.png"]


def test_a_command_run_in_this_process_puts_the_handlers_back(vgg_file, tmp_path):
    before = [signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)]
    args = ["weights", "--write-random", str(tmp_path / "w.mat"), "--network", "random-tiny",
            "--no-self-test"]  # fmt: skip
    assert CliRunner().invoke(main, args).exit_code == 0
    assert [signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)] == before


# A stylize process whose own code sends it signals at set points: as its command begins
# (SIGNAL_FIRST) or after its command has returned, while the interpreter ends (SIGNALS_LAST:
# SIGINT from an atexit function, SIGTERM from an object freed as the modules are torn down,
# after Python has put back the default handlers in place of its own).
SIGNAL_FIRST = """
import os, signal, sys
import stylize.cli.run as run
real = run.run_request
def run_request(options):
    os.kill(os.getpid(), signal.SIGTERM)
    return real(options)
run.run_request = run_request
from stylize.cli import main
main()
"""
SIGNALS_LAST = """
import atexit, os, signal
class SignalWhenFreed:
    def __del__(self, kill=os.kill, pid=os.getpid(), number=signal.SIGTERM):
        kill(pid, number)
freed_last = SignalWhenFreed()
atexit.register(os.kill, os.getpid(), signal.SIGINT)
from stylize.cli import main
main()
"""


def _stylize_with(code: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_a_process_sent_sigterm_as_its_command_begins_exits_143_with_one_line(
    vgg_file, image_files, tmp_path
):
    done = _stylize_with(SIGNAL_FIRST, *_run_args(vgg_file, image_files, "-o", tmp_path / "r.png"))
    assert done.returncode == 143, done.stderr
    assert done.stderr == ("Error: interrupted by SIGTERM before the first iteration; nothing"
                           " written\n")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_signals_while_the_process_ends_change_nothing(tmp_path):
    out = tmp_path / "w.mat"
    done = _stylize_with(SIGNALS_LAST, "weights", "--write-random", out, "--network",
                         "random-tiny", "--no-self-test", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and json.loads(done.stdout)["path"] == str(out)


def test_an_output_larger_than_its_format_holds_is_refused_before_the_weights_load(
    image_files, tmp_path
):
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((16, 16384, 3), np.uint8)).save(wide)
    output = tmp_path / "out.webp"
    args = ["run", "--content", str(wide), "--style", str(image_files["style"]), "-o",
            str(output), "--max-size", "16384", "--weights", str(tmp_path / "no.mat")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"Error: output image '{output}': 16384x16 pixels is more than WebP holds (at most"
        " 16,383 pixels a side); lower --max-size, or write PNG or TIFF"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wide.png"]


def test_a_16bit_file_read_at_8_bits_is_one_warning_line(vgg_file, image_files, tmp_path):
    import cv2

    content = tmp_path / "alpha.tif"  # OpenCV does not say how a TIFF's alpha is stored
    pixels = np.random.default_rng(5).integers(0, 65536, (24, 32, 4), dtype=np.uint16)
    assert cv2.imwrite(str(content), pixels)
    args = ["run", "--content", str(content), "--style", str(image_files["style"]), "--weights",
            str(vgg_file), "--iterations", "1", "--bit-depth", "16", "-q", "-o",
            str(tmp_path / "r.png")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: content image '{content}': read at 8 bits: a 16-bit TIFF is read whole as"
        " RGB without alpha only"
    ]
