"""``stylize video`` on the command line: through CliRunner, and as a real process that
is killed with SIGKILL and SIGTERM and then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from PIL import Image

from stylize.cli import main
from stylize.files import file_digests
from stylize.video import frames


@pytest.fixture
def clip(tmp_path, gradient):
    picture = gradient(70, 30, 5)
    folder = tmp_path / "in"
    folder.mkdir()
    for t in range(6):
        Image.fromarray(picture[:, 3 * t : 3 * t + 40]).save(folder / f"{t:03d}.png")
    return folder


def _args(clip, image_files, vgg_file, output, *extra):
    return ["video", "--content", str(clip), "--style", str(image_files["style"]), "--weights",
            str(vgg_file), "-o", str(output), "--iterations", "3", "--first-frame-iterations",
            "4", "--seed", "2", *map(str, extra)]  # fmt: skip


def test_video_json_summary(clip, image_files, vgg_file, tmp_path):
    result = CliRunner().invoke(main, _args(clip, image_files, vgg_file, tmp_path / "o.mp4",
                                            "--json", "--quiet"))  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["output"] == str(tmp_path / "o.mp4") and len(summary["frames"]) == 6
    assert set(summary["frames"][1]) == {"index", "J", "J_content", "J_style",
                                         "temporal_error", "seconds", "precision",
                                         "resumed"}  # fmt: skip
    assert summary["precision"] == "float32" == summary["frames"][1]["precision"]
    assert (summary["fps"], summary["width"], summary["height"]) == (25.0, 40, 30)
    assert summary["interrupted"] is False and "temporal_weight" in summary["settings"]
    assert frames.open_clip(tmp_path / "o.mp4").count == 6


def test_progress_is_a_frame_bar_on_stderr(clip, image_files, vgg_file, tmp_path):
    result = CliRunner().invoke(main, _args(clip, image_files, vgg_file, tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'o'}\n"
    assert "frame 6/6" in result.stderr and "warp error" in result.stderr


@pytest.mark.parametrize("extra, message", [
    (["--fps", "-1"], "Error: --fps -1.0: expected a rate from 0.0001 to 1000 frames per"
                      " second"),
    (["--frames", "x"], "Error: --frames 'x': expected A:B"),
    (["--temporal-weight", "nan"], "Error: --temporal-weight nan"),
])  # fmt: skip
def test_bad_options_are_one_line_exit_2(clip, image_files, vgg_file, tmp_path, extra, message):
    result = CliRunner().invoke(main, _args(clip, image_files, vgg_file, tmp_path / "o", *extra))
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_an_animated_png_becomes_a_gif_of_as_many_frames_at_its_rate(
    clip, image_files, vgg_file, tmp_path
):
    pictures = [Image.open(path).convert("RGB") for path in sorted(clip.iterdir())[:4]]
    animated = tmp_path / "moving.png"
    pictures[0].save(animated, save_all=True, append_images=pictures[1:], duration=100)
    result = CliRunner().invoke(main, _args(animated, image_files, vgg_file,
                                            tmp_path / "o.gif", "--json"))  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (len(summary["frames"]), summary["fps"], summary["width"]) == (4, 10.0, 40)
    with Image.open(tmp_path / "o.gif") as made:
        assert made.n_frames == 4 and made.info["duration"] == 100


def test_an_unreadable_clip_is_one_line_exit_2(image_files, vgg_file, tmp_path):
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 100)
    result = CliRunner().invoke(main, _args(tmp_path / "bad.mp4", image_files, vgg_file,
                                            tmp_path / "o.mp4"))  # fmt: skip
    assert result.exit_code == 2 and "cannot read it as a video" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4"]


@pytest.mark.parametrize("output, extra, message", [
    ("o.gif", ["--fps", "0.001"], "Error: --fps 0.001: a GIF shows a frame for at most 655.35 s;"
                                  " expected at least 0.0016 for a .gif output"),
    ("o.mp4", ["--fps", "0.00001"], "Error: --fps 1e-05: expected a rate from 0.0001 to 1000"),
    ("o.png", [], "Error: output '{out}': '.png' is not a video extension"),
    ("o", ["--frames", "3:99"], "Error: --frames '3:99': the clip has 6 frames"),
])  # fmt: skip
def test_outputs_and_ranges_it_cannot_make_are_refused_before_any_work(
    clip, image_files, vgg_file, tmp_path, output, extra, message
):
    out = tmp_path / output
    result = CliRunner().invoke(main, _args(clip, image_files, vgg_file, out, *extra))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message.format(out=out))
    assert result.stderr.count("\n") == 1 and not out.exists()
    assert not out.with_name(output + ".frames").exists()


def test_help_lists_every_video_it_writes_and_the_limits_of_its_options():
    from stylize.video import VIDEO_WRITE

    text = " ".join(CliRunner().invoke(main, ["video", "--help"]).output.split())
    assert "A video file (.mp4 .m4v .mov .mkv as H.264, .webm as VP9, .gif)" in text
    assert all(suffix in text for suffix in VIDEO_WRITE)
    assert "N for frame N alone" in text and "0.0001 to 1000, at least 0.0016 for a .gif" in text


def test_a_run_stopped_before_its_video_prints_no_output_path(clip, image_files, vgg_file,
                                                               tmp_path, monkeypatch):  # fmt: skip
    from stylize.video import command

    def stopped(request, reporter):
        return {"output": None, "signal": "SIGINT", "frames": [], "frames_asked": 6,
                "work_folder": "o.mp4.frames"}  # fmt: skip

    monkeypatch.setattr(command, "run_video", stopped)
    result = CliRunner().invoke(main, _args(clip, image_files, vgg_file, tmp_path / "o.mp4"))
    assert result.exit_code == 130 and result.stdout == ""
    assert "Stopped by SIGINT: 0 of 6 frames done in o.mp4.frames" in result.stderr


def test_ctrl_c_before_the_first_frame_says_nothing_was_written_and_leaves_nothing(
        clip, image_files, vgg_file, tmp_path, monkeypatch):  # fmt: skip
    from stylize.video.progress import FrameProgress

    def interrupt(self, number, total, label):
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(FrameProgress, "frame_started", interrupt, raising=False)
    args = _args(clip, image_files, vgg_file, tmp_path / "o.mp4", "--json")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 130 and result.stdout == ""
    ending = "Error: interrupted by SIGINT before the first frame; nothing written\n"
    assert result.stderr.endswith(ending) and "Stopped by" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def _slow_args(clip, image_files, vgg_file, output, *extra):
    args = _args(clip, image_files, vgg_file, output, "--quiet", *extra)
    args[args.index("--iterations") + 1] = "400"  # slow enough to be stopped midway
    return args


def _start(clip, image_files, vgg_file, output, *extra):
    args = _slow_args(clip, image_files, vgg_file, output, *extra)
    return subprocess.Popen([sys.executable, "-m", "stylize", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_for_frames(folder, count, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        manifest = folder / "manifest.jsonl"
        if manifest.is_file() and len(manifest.read_text().splitlines()) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"stylize video ended early: {process.communicate()}")
        time.sleep(0.1)
    pytest.fail("no frames were recorded in time")


@pytest.mark.slow
def test_kill_9_then_rerun_goes_on_and_the_video_has_every_frame(clip, image_files, vgg_file,
                                                                  tmp_path):  # fmt: skip
    output, work = tmp_path / "clip.mp4", tmp_path / "clip.mp4.frames"
    process = _start(clip, image_files, vgg_file, output)
    _wait_for_frames(work, 2, process)
    process.kill()
    process.communicate(timeout=60)
    done = {p.name: file_digests(p, "sha256")[0] for p in work.glob("*.png")}
    assert len(done) >= 2 and not output.exists()
    rerun = subprocess.run([sys.executable, "-m", "stylize",
                            *_slow_args(clip, image_files, vgg_file, output, "--json")],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    resumed = [f["index"] for f in summary["frames"] if f["resumed"]]
    assert resumed == list(range(1, len(resumed) + 1)) and len(resumed) >= 2
    for name, digest in done.items():  # finished frames were not redone
        if int(name[:5]) in resumed:
            assert file_digests(work / name, "sha256")[0] == digest
    assert frames.open_clip(output).count == 6


@pytest.mark.slow
def test_sigterm_stops_after_the_frames_done_with_exit_143(clip, image_files, vgg_file,
                                                           tmp_path):  # fmt: skip
    process = _start(clip, image_files, vgg_file, tmp_path / "o")
    _wait_for_frames(tmp_path / "o", 1, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Stopped by SIGTERM" in stderr and "run the same command again" in stderr
    assert len(list((tmp_path / "o").glob("*.png"))) >= 1


def test_a_signal_once_the_video_is_written_changes_nothing(clip, image_files, vgg_file,
                                                           tmp_path, monkeypatch):  # fmt: skip
    from stylize.video import command

    real = command._Video.summary

    def signal_first(self, stopped):
        os.kill(os.getpid(), signal.SIGINT)  # as the manifest closes and the summary is made
        return real(self, stopped)

    monkeypatch.setattr(command._Video, "summary", signal_first)
    result = CliRunner().invoke(main, _args(clip, image_files, vgg_file, tmp_path / "o.mp4",
                                            "--json", "--quiet"))  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["interrupted"] is False and len(summary["frames"]) == 6


def test_a_signal_once_the_video_is_assembled_changes_nothing(clip, image_files, vgg_file,
                                                            tmp_path, monkeypatch):  # fmt: skip
    from stylize.stylizer import Stylizer

    real = Stylizer.close

    def signal_first(self):
        os.kill(os.getpid(), signal.SIGINT)  # the video is assembled by now
        real(self)

    monkeypatch.setattr(Stylizer, "close", signal_first)
    result = CliRunner().invoke(main, _args(clip, image_files, vgg_file, tmp_path / "o.mp4",
                                            "--json", "--quiet"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["interrupted"] is False
