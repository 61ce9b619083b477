"""``stylize video``'s machinery with a tiny network on a panned clip: frames written and
recorded, reruns that keep what still stands and redo from the first frame a change
affects, assembly, interruption, and outputs refused before any work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import clip_with_sound, require_bfloat16_tensorflow, sound_rms
from PIL import Image

from stylize.config import Settings
from stylize.errors import ConfigError, ImageError, InputError, Interrupted
from stylize.files import file_digests
from stylize.video import frames
from stylize.video.command import VideoReporter, VideoRequest, run_video


@pytest.fixture
def clip(tmp_path, gradient):
    """A folder of 4 frames, 40x30, a picture panned 2 px per frame."""
    picture = gradient(60, 30, 5)
    folder = tmp_path / "in"
    folder.mkdir()
    for t in range(4):
        Image.fromarray(picture[:, 2 * t : 2 * t + 40]).save(folder / f"{t:03d}.png")
    return folder


@pytest.fixture
def request_for(clip, image_files, vgg_file, tmp_path):
    def make(output="out", **changes):
        settings = Settings(**{"iterations": 3, "seed": 1, **changes.pop("settings", {})})
        changes = {"first_frame_iterations": 4, **changes}
        content = changes.pop("content", clip)
        return VideoRequest(settings, content, (image_files["style"],), tmp_path / output,
                            vgg_file, **changes)  # fmt: skip

    return make


def _digests(folder):
    return {p.name: file_digests(p, "sha256")[0] for p in sorted(folder.glob("*.png"))}


def test_every_frame_is_written_recorded_and_summed_up(request_for, tmp_path):
    summary = run_video(request_for())
    out = tmp_path / "out"
    assert sorted(_digests(out)) == ["00001.png", "00002.png", "00003.png", "00004.png"]
    rows = summary["frames"]
    assert [r["index"] for r in rows] == [1, 2, 3, 4] and not any(r["resumed"] for r in rows)
    assert rows[0]["temporal_error"] is None and all(r["temporal_error"] >= 0 for r in rows[1:])
    assert (summary["width"], summary["height"], summary["fps"]) == (40, 30, 25.0)
    assert summary["output_frames"] is None  # a folder: no video to lay out
    assert summary["signal"] is None and summary["settings"]["temporal_weight"] == 1000.0
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert [x["output"] for x in lines] == ["00001.png", "00002.png", "00003.png", "00004.png"]
    assert all(x["output_sha256"] == file_digests(out / x["output"], "sha256")[0] for x in lines)
    assert lines[0]["settings"]["iterations"] == 4 and lines[1]["settings"]["iterations"] == 3
    assert lines[1]["J_temporal"] > 0 and lines[1]["flow_seconds"] > 0
    with Image.open(out / "00002.png") as picture:
        assert picture.size == (40, 30)


@pytest.mark.parametrize("flags, ran", [({"avx512_bf16"}, "bfloat16"), ({"avx2"}, "float32")])
def test_the_precision_auto_ran_is_recorded_per_frame(request_for, tmp_path, monkeypatch,
                                                      flags, ran):  # fmt: skip
    from stylize import device

    if ran == "bfloat16":
        require_bfloat16_tensorflow()
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset(flags))
    summary = run_video(request_for(settings={"precision": "auto", "device": "cpu"}))
    lines = [json.loads(x) for x in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    frames_made = [x for x in lines if x["status"] == "ok"]
    assert len(frames_made) == 4 and all(x["precision"] == ran for x in frames_made)
    assert all(x["settings"]["precision"] == "auto" for x in frames_made)
    assert summary["precision"] == ran
    assert [r["precision"] for r in summary["frames"]] == [ran] * 4
    again = run_video(request_for(settings={"precision": "auto", "device": "cpu"}))
    assert all(r["resumed"] for r in again["frames"])  # nothing ran this time
    assert again["precision"] is None and [r["precision"] for r in again["frames"]] == [ran] * 4


def test_a_rerun_keeps_every_frame_untouched(request_for, tmp_path):
    run_video(request_for())
    before = _digests(tmp_path / "out")
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.png")}
    summary = run_video(request_for())
    assert all(r["resumed"] for r in summary["frames"])
    assert _digests(tmp_path / "out") == before
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*.png")} == mtimes


def test_a_manifest_from_before_a_setting_existed_keeps_its_frames(request_for, tmp_path):
    run_video(request_for())
    manifest = tmp_path / "out" / "manifest.jsonl"
    lines = [json.loads(x) for x in manifest.read_text().splitlines()]
    for line in lines:  # as an older stylize wrote them, before --scale-ratio
        line.get("settings", {}).pop("scale_ratio", None)
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert all(r["resumed"] for r in run_video(request_for())["frames"])
    changed = run_video(request_for(settings={"scale_ratio": 4.0}))
    assert [r["resumed"] for r in changed["frames"]] == [False] * 4  # the first frame's


@pytest.mark.parametrize("change, kept", [
    ({"settings": {"iterations": 2}}, [True, False, False, False]),  # later frames only
    ({"first_frame_iterations": 5}, [False, False, False, False]),
    ({"temporal_weight": 50.0}, [True, False, False, False]),
    ({"settings": {"beta": 20.0}}, [False, False, False, False]),
    ({"settings": {"scales": 2}}, [False, False, False, False]),  # the first frame's
    ({"settings": {"device": "cpu"}}, [True, True, True, True]),
    ({"settings": {"tile_size": 16}}, [True, True, True, True]),  # the same images
])  # fmt: skip
def test_changed_settings_redo_from_the_first_frame_they_affect(request_for, change, kept):
    run_video(request_for())
    summary = run_video(request_for(**change))
    assert [r["resumed"] for r in summary["frames"]] == kept


def test_a_changed_init_image_redoes_the_first_frame_and_those_after_it(request_for, tmp_path,
                                                                       gradient):  # fmt: skip
    init = tmp_path / "init.png"
    Image.fromarray(gradient(40, 30, 7)).save(init)
    start = {"settings": {"init": str(init)}, "frames": "1:2"}
    run_video(request_for(**start))
    first = (tmp_path / "out" / "00001.png").read_bytes()
    assert all(r["resumed"] for r in run_video(request_for(**start))["frames"])
    Image.fromarray(gradient(40, 30, 8)).save(init)  # the same path, other pixels
    assert [r["resumed"] for r in run_video(request_for(**start))["frames"]] == [False, False]
    assert (tmp_path / "out" / "00001.png").read_bytes() != first


@pytest.mark.parametrize("init, resumed", [(True, False), (False, True)])
def test_frames_recorded_before_init_checksums_are_redone_if_an_init_file_made_them(
    request_for, tmp_path, init, resumed
):
    path = tmp_path / "init.png"
    Image.new("RGB", (40, 30), (200, 90, 40)).save(path)
    start = {"settings": {"init": str(path)} if init else {}, "frames": "1"}
    run_video(request_for(**start))
    manifest = tmp_path / "out" / "manifest.jsonl"
    lines = [json.loads(x) for x in manifest.read_text().splitlines()]
    for line in lines:  # as stylize wrote them before it compared the --init file
        line["settings"].pop("init_sha256", None)
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    # that file may have changed since, so its frames are redone; other starts are kept
    assert [r["resumed"] for r in run_video(request_for(**start))["frames"]] == [resumed]


def test_a_changed_input_frame_or_a_damaged_output_redoes_from_there(request_for, clip, tmp_path):
    run_video(request_for())
    picture = np.asarray(Image.open(clip / "002.png")).copy()
    picture[0, 0] ^= 1
    Image.fromarray(picture).save(clip / "002.png")
    assert [r["resumed"] for r in run_video(request_for())["frames"]] == [True, True, False, False]
    (tmp_path / "out" / "00002.png").write_bytes(b"damaged")
    assert [r["resumed"] for r in run_video(request_for())["frames"]] == [True, False, False, False]
    (tmp_path / "out" / "00001.png").unlink()
    assert not any(r["resumed"] for r in run_video(request_for())["frames"])


def test_frames_computed_in_tiles_are_the_one_pass_frames(request_for):
    shallow = {"content_layers": (("conv2_2", 1.0),), "style_layers": (("conv1_1", 0.5),
               ("conv2_1", 0.5))}  # fmt: skip
    whole = run_video(request_for("whole", settings=shallow))
    tiled = run_video(request_for("tiled", settings={**shallow, "tile_size": 16}))
    for a, b in zip(whole["frames"], tiled["frames"], strict=True):
        assert b["J"] == pytest.approx(a["J"], rel=1e-3)
    for name in ("00001.png", "00004.png"):
        a, b = (np.asarray(Image.open(request_for(n).output / name), np.int16)
                for n in ("whole", "tiled"))  # fmt: skip
        assert np.abs(a - b).mean() < 0.05


def test_seeded_runs_are_byte_identical(request_for):
    run_video(request_for("a"))
    run_video(request_for("b"))
    first, second = (request_for(name).output for name in ("a", "b"))
    assert _digests(first) == _digests(second)


def test_frames_a_to_b_does_only_those(request_for, tmp_path):
    summary = run_video(request_for(frames="2:3"))
    assert [r["index"] for r in summary["frames"]] == [2, 3]
    assert sorted(_digests(tmp_path / "out")) == ["00002.png", "00003.png"]
    assert summary["frames"][0]["temporal_error"] is None  # frame 2 is this run's first


def test_a_video_output_is_assembled_then_reassembled_on_a_rerun(request_for, tmp_path):
    summary = run_video(request_for("clip.mp4", fps=8.0))
    video = tmp_path / "clip.mp4"
    opened = frames.open_clip(video)
    assert (opened.count, opened.fps, opened.size) == (4, 8.0, (40, 30))
    assert summary["work_folder"] == str(tmp_path / "clip.mp4.frames")
    assert len(list((tmp_path / "clip.mp4.frames").glob("*.png"))) == 4
    video.write_bytes(video.read_bytes())  # same bytes: still the one this command made
    again = run_video(request_for("clip.mp4", fps=8.0))
    assert all(r["resumed"] for r in again["frames"]) and frames.open_clip(video).count == 4


@pytest.fixture
def held_gif(tmp_path, gradient):
    """A 4-frame GIF, 40x30, whose third frame is held for a second: 0.1, 0.1, 1 and 0.2 s."""
    picture = gradient(60, 30, 5)
    pictures = [Image.fromarray(picture[:, 2 * t : 2 * t + 40]) for t in range(4)]
    path = tmp_path / "held.gif"
    pictures[0].save(path, save_all=True, append_images=pictures[1:], loop=0,
                     duration=[100, 100, 1000, 200])  # fmt: skip
    return path


def test_a_held_frame_keeps_its_time_in_the_output_video(request_for, held_gif, tmp_path):
    summary = run_video(request_for("out.mp4", content=held_gif))
    assert len(summary["frames"]) == 4  # each frame stylized once
    assert (summary["fps"], summary["output_frames"]) == (10.0, 14)
    opened = frames.open_clip(tmp_path / "out.mp4")
    assert (opened.count, opened.fps) == (14, 10.0)
    assert opened.timeline[-1] == pytest.approx(1.4)
    run_video(request_for("out.gif", content=held_gif))
    with Image.open(tmp_path / "out.gif") as picture:
        durations = []
        for index in range(picture.n_frames):
            picture.seek(index)
            durations.append(picture.info["duration"])
    assert durations == [100, 100, 1000, 200]  # Pillow merges a repeated frame's times


def test_a_rate_asked_for_writes_each_frame_once_and_a_part_keeps_its_own_times(
    request_for, held_gif, tmp_path
):
    summary = run_video(request_for("fixed.mp4", content=held_gif, fps=5.0))
    assert (summary["fps"], summary["output_frames"]) == (5.0, 4)
    assert frames.open_clip(tmp_path / "fixed.mp4").count == 4
    # frames 3 and 4 last 1 and 0.2 s: five output frames a second, 5 + 1 of them
    summary = run_video(request_for("part.mp4", content=held_gif, frames="3:4"))
    assert (summary["fps"], summary["output_frames"]) == (5.0, 6)
    assert frames.open_clip(tmp_path / "part.mp4").count == 6


def test_a_part_of_a_clip_keeps_the_sound_of_that_part(request_for, tmp_path):
    source = clip_with_sound(tmp_path / "with_sound.mp4")
    summary = run_video(request_for("part.mp4", content=source, frames="3:6"))
    assert [r["index"] for r in summary["frames"]] == [3, 4, 5, 6]
    written = frames.open_clip(tmp_path / "part.mp4")
    assert written.audio and written.count == 4  # a part had no sound until 2026-12-07
    expected = np.sqrt((0.6**3 - 0.2**3) / (3 * 0.4) / 2)  # 0.2-0.6 s of the tone
    assert sound_rms(tmp_path / "part.mp4") == pytest.approx(expected, rel=0.05)


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg(*arguments):
    command = [_ffmpeg_exe(), "-y", "-v", "error", *arguments]
    return subprocess.run(command, check=True, capture_output=True).stdout


def _samples(video: Path) -> np.ndarray:
    """A video's sound, decoded to mono float at 44.1 kHz."""
    return np.frombuffer(_ffmpeg("-i", str(video), "-map", "0:a:0", "-f", "f32le", "-ac", "1",
                                 "-ar", "44100", "-"), np.float32)  # fmt: skip


def test_a_video_stream_that_starts_after_its_sound_keeps_in_step_with_it(request_for, tmp_path):
    plain, late = tmp_path / "plain.mp4", tmp_path / "late.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=48x32:rate=10", "-frames:v", "4", "-pix_fmt",
            "yuv420p", str(plain))  # fmt: skip
    # the picture from 0.3 to 0.7 s; the tone from 0 to 1 s, its amplitude the time in seconds
    _ffmpeg("-itsoffset", "0.3", "-i", str(plain), "-f", "lavfi", "-i",
            "aevalsrc=t*sin(2*PI*440*t):s=44100:d=1", "-map", "0:v", "-map", "1:a", "-c:v",
            "copy", "-c:a", "aac", "-b:a", "192k", str(late))  # fmt: skip
    assert frames.open_clip(late).timeline[0] == pytest.approx(0.3)
    run_video(request_for("all.mp4", content=late))
    sound = _samples(tmp_path / "all.mp4")
    assert len(sound) / 44100 == pytest.approx(0.4, abs=0.03)  # as long as the picture
    # its first frame is shown with the sound of 0.3 s (it was the sound of 0 s)
    assert np.abs(sound[:2205]).max() == pytest.approx(0.33, abs=0.04)
    run_video(request_for("part.mp4", content=late, frames="1:4"))
    assert np.allclose(_samples(tmp_path / "part.mp4"), sound, atol=0.02)  # --frames agrees


def test_pixels_that_are_not_square_are_stylized_and_written_as_shown(request_for, tmp_path):
    wide = tmp_path / "wide.mp4"  # 32x32 pixels twice as wide as high: shown 64x32
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32:rate=10", "-frames:v", "2", "-vf",
            "setsar=2/1", "-pix_fmt", "yuv420p", str(wide))  # fmt: skip
    summary = run_video(request_for("out.mp4", content=wide, settings={"max_size": 32}))
    assert (summary["width"], summary["height"]) == (32, 16)  # --max-size of the shown size
    with Image.open(tmp_path / "out.mp4.frames" / "00001.png") as picture:
        assert picture.size == (32, 16)
    written = frames.open_clip(tmp_path / "out.mp4")
    assert written.size == (32, 16) and written.count == 2
    probe = subprocess.run([_ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "out.mp4")],
                           capture_output=True, text=True).stderr  # fmt: skip
    assert ", 32x16" in probe and "[SAR" not in probe.replace("[SAR 1:1", "")


def test_an_existing_video_not_made_here_needs_overwrite(request_for, tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"someone's video")
    with pytest.raises(ImageError, match="already exists"):
        run_video(request_for("clip.mp4"))
    assert not (tmp_path / "clip.mp4.frames").exists()
    run_video(request_for("clip.mp4", overwrite=True))
    assert frames.open_clip(tmp_path / "clip.mp4").count == 4


class _StopAt(VideoReporter):
    def __init__(self, frame):
        self.frame, self.current = frame, 0

    def frame_started(self, number, total, label):
        self.current = number

    def iteration(self, progress, transfer):
        if self.current == self.frame and progress.iteration == 2:
            raise KeyboardInterrupt


def test_an_interruption_keeps_the_finished_frames_and_a_rerun_goes_on(request_for, tmp_path):
    summary = run_video(request_for(), _StopAt(3))
    assert summary["signal"] == "SIGINT" and [r["index"] for r in summary["frames"]] == [1, 2]
    assert sorted(_digests(tmp_path / "out")) == ["00001.png", "00002.png"]
    again = run_video(request_for())
    assert [r["resumed"] for r in again["frames"]] == [True, True, False, False]


class _TermBefore(VideoReporter):
    """Sends this process SIGTERM as frame ``frame`` starts: after the frames before it were
    recorded, before its own stylization (where its stop would be caught) has begun."""

    def __init__(self, frame):
        self.frame = frame

    def frame_started(self, number, total, label):
        if number == self.frame:
            os.kill(os.getpid(), signal.SIGTERM)


def test_a_signal_between_two_frames_keeps_the_frames_done(request_for, tmp_path):
    summary = run_video(request_for(), _TermBefore(2))
    assert summary["signal"] == "SIGTERM" and summary["interrupted"] is True
    assert [r["index"] for r in summary["frames"]] == [1]
    assert sorted(_digests(tmp_path / "out")) == ["00001.png"]
    again = run_video(request_for())
    assert [r["resumed"] for r in again["frames"]] == [True, False, False, False]


def test_a_signal_while_the_video_is_assembled_keeps_every_frame(request_for, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    write_video = frames.write_video

    def interrupted(path, stream, *args):
        next(iter(stream))
        os.kill(os.getpid(), signal.SIGTERM)
        write_video(path, stream, *args)

    monkeypatch.setattr(frames, "write_video", interrupted)
    summary = run_video(request_for("clip.mp4"))
    assert summary["signal"] == "SIGTERM" and len(summary["frames"]) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4.frames", "in"]
    monkeypatch.setattr(frames, "write_video", write_video)
    again = run_video(request_for("clip.mp4"))
    assert all(r["resumed"] for r in again["frames"]) and again["signal"] is None
    assert frames.open_clip(tmp_path / "clip.mp4").count == 4


def test_a_video_that_cannot_be_written_keeps_the_frames_for_a_rerun(request_for, tmp_path,
                                                                      monkeypatch):  # fmt: skip
    codec = ("libx264", ["-preset", "no-such-preset"], "aac")
    monkeypatch.setitem(frames.VIDEO_WRITE, ".mp4", codec)
    with pytest.raises(ImageError) as caught:
        run_video(request_for("clip.mp4"))
    work = tmp_path / "clip.mp4.frames"
    assert str(caught.value) == (
        f"video '{tmp_path / 'clip.mp4'}': cannot write (x264: invalid preset"
        f" 'no-such-preset'); the frames stay in {work}, run the same command again to"
        " assemble them"
    )
    assert sorted(_digests(work)) == ["00001.png", "00002.png", "00003.png", "00004.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4.frames", "in"]
    monkeypatch.undo()
    again = run_video(request_for("clip.mp4"))
    assert all(r["resumed"] for r in again["frames"])
    assert frames.open_clip(tmp_path / "clip.mp4").count == 4


def test_a_rerun_removes_what_a_killed_run_was_writing_and_nothing_else(request_for,
                                                                           tmp_path):  # fmt: skip
    run_video(request_for("clip.mp4"))
    work = tmp_path / "clip.mp4.frames"
    left = [work / ".00003.png.a1b2c3d4.tmp", tmp_path / ".clip.q_9w8e7r.mp4"]
    kept = [work / "notes.txt", tmp_path / ".clip.mp4.bak", tmp_path / ".other.q_9w8e7r.mp4"]
    for path in [*left, *kept]:
        path.write_bytes(b"partial")
    again = run_video(request_for("clip.mp4"))
    assert all(r["resumed"] for r in again["frames"])
    assert not any(path.exists() for path in left) and all(path.exists() for path in kept)


def test_a_signal_before_the_work_folder_is_used_writes_nothing(request_for, tmp_path,
                                                                monkeypatch):  # fmt: skip
    from stylize import prepare

    def load_weights(*args):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(prepare, "load_weights", load_weights)
    with pytest.raises(Interrupted, match="SIGTERM before the first frame; nothing written"):
        run_video(request_for())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def _stop_before_the_first_frame(where, monkeypatch):
    """(the signal, the reporter) of a run stopped before its first frame is made: by a
    SIGTERM as the manifest opens or as the first frame starts (outside its stylization),
    or by a Ctrl-C within the first frame."""
    if where == "as the manifest opens":
        from stylize.manifest import Manifest

        def open_(manifest, opened=Manifest.open):
            os.kill(os.getpid(), signal.SIGTERM)
            opened(manifest)

        monkeypatch.setattr(Manifest, "open", open_)
        return "SIGTERM", None
    if where == "as the first frame starts":
        return "SIGTERM", _TermBefore(1)
    return "SIGINT", _StopAt(1)


@pytest.mark.parametrize("where", ["as the manifest opens", "as the first frame starts",
                                   "within the first frame"])  # fmt: skip
@pytest.mark.parametrize("output", ["out", "clip.mp4", "empty"])
def test_a_signal_before_the_first_frame_is_made_leaves_nothing_behind(request_for, tmp_path,
                                                                       monkeypatch, where,
                                                                       output):  # fmt: skip
    (tmp_path / "empty").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    name, reporter = _stop_before_the_first_frame(where, monkeypatch)
    with pytest.raises(Interrupted, match=f"{name} before the first frame; nothing written"):
        run_video(request_for(output), reporter)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_signal_before_the_first_frame_keeps_a_folder_of_other_files(request_for, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(Interrupted, match="SIGTERM before the first frame; nothing written"):
        run_video(request_for(overwrite=True), _TermBefore(1))
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["holiday.jpg"]


@pytest.mark.parametrize("earlier", ["frames", "an empty manifest"])
def test_a_signal_before_a_new_frame_keeps_an_earlier_runs_work_folder(request_for, tmp_path,
                                                                       earlier):  # fmt: skip
    out = tmp_path / "out"
    if earlier == "frames":
        run_video(request_for(frames="1:2"))
    else:  # what a run killed with SIGKILL before its first frame leaves
        out.mkdir()
        (out / "manifest.jsonl").write_bytes(b"")
    before = _digests(out)
    manifest = (out / "manifest.jsonl").read_bytes()
    stopped = run_video(request_for(first_frame_iterations=5), _StopAt(1))  # frame 1 redone
    assert stopped["signal"] == "SIGINT" and stopped["frames"] == []
    assert stopped["work_folder"] == str(out)
    assert _digests(out) == before and (out / "manifest.jsonl").read_bytes() == manifest


@pytest.mark.parametrize("output, changes, error, message", [
    ("out.avi", {}, ImageError, "cannot write '.avi' videos"),
    ("out", {"temporal_weight": -1.0}, ConfigError, "--temporal-weight -1.0"),
    ("out", {"fps": 0.0}, ConfigError, "--fps 0.0"),
    ("out", {"frames": "3:2"}, InputError, "--frames '3:2'"),
    ("out", {"frames": "9:"}, InputError, "the clip has 4 frames"),
    ("missing/out.mp4", {}, ImageError, "does not exist"),
    ("out", {"frames": "3:99"}, InputError, "the clip has 4 frames"),
    ("out.gif", {"fps": 0.0015}, ConfigError, "--fps 0.0015: a GIF shows a frame for at most"),
    ("out.mp4", {"fps": 1e-5}, ConfigError, "--fps 1e-05: expected a rate from 0.0001 to"),
    ("out.png", {}, ImageError, "'.png' is not a video extension"),
    ("in/out.gif", {}, ImageError, "is inside the content folder"),
    ("/proc/stylize-no-such-folder", {}, ImageError, "folder '/proc' is not writable"),
])  # fmt: skip
def test_bad_options_and_outputs_are_refused_before_any_work(request_for, tmp_path, output,
                                                              changes, error, message):  # fmt: skip
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(error, match=message):
        run_video(request_for(output, **changes))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_folder_of_other_files_is_not_written_into(request_for, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(ImageError, match="holds no stylize video manifest"):
        run_video(request_for())
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["holiday.jpg"]


class _Notes(VideoReporter):
    def __init__(self):
        self.notes = []

    def message(self, text):
        self.notes.append(text)


@pytest.mark.parametrize("matrix", ["bt2020nc", "gbr"])
def test_an_hdr_clip_is_stylized_and_one_that_cannot_be_mapped_is_said_so(request_for,
                                                                          tmp_path, matrix,
                                                                          colour_clip):  # fmt: skip
    nits = np.repeat(np.repeat(np.array([[[30.0, 60.0, 90.0], [600.0, 500.0, 400.0]]]), 30, 0),
                     20, 1)  # fmt: skip
    path = colour_clip(tmp_path / "hdr.mkv", nits, "smpte2084", "bt2020", matrix=matrix)
    reporter = _Notes()
    summary = run_video(request_for(content=path), reporter)
    assert [row["index"] for row in summary["frames"]] == [1, 2]
    if matrix == "bt2020nc":
        assert reporter.notes == []
    else:
        assert reporter.notes == ["warning: 'hdr.mkv' is HDR (PQ) in BT.2020 in RGB, which"
                                  " stylize cannot map to SDR BT.709: its frames are read as"
                                  " stored and may look flat and dull"]  # fmt: skip


def _fails_in_the_first_frame(kind, monkeypatch, tmp_path, gradient):
    """Changes to a request that make the first frame fail with a usage error."""
    if kind == "device":
        from stylize import device
        from stylize.errors import DeviceError

        def no_gpu(*args):
            raise DeviceError("--device gpu: no GPU here")

        monkeypatch.setattr(device, "resolve_device", no_gpu)
        return {}, DeviceError
    if kind == "style weights":
        return {"settings": {"style_weights": (1.0, 2.0)}}, ConfigError
    folder = tmp_path / "tiny"
    folder.mkdir()
    for t in range(2):
        Image.fromarray(gradient(10, 10, t)).save(folder / f"{t}.png")
    return {"content": folder}, ImageError


@pytest.mark.parametrize("kind", ["device", "style weights", "10x10 frames"])
@pytest.mark.parametrize("output", ["out", "clip.mp4", "empty"])
def test_a_usage_error_in_the_first_frame_leaves_nothing_behind(request_for, tmp_path, kind,
                                                                output, monkeypatch,
                                                                gradient):  # fmt: skip
    changes, error = _fails_in_the_first_frame(kind, monkeypatch, tmp_path, gradient)
    (tmp_path / "empty").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(error):
        run_video(request_for(output, **changes))
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_usage_error_keeps_an_earlier_runs_work_folder(request_for, tmp_path, monkeypatch,
                                                         gradient):  # fmt: skip
    run_video(request_for(frames="1:2"))
    before = _digests(tmp_path / "out")
    manifest = (tmp_path / "out" / "manifest.jsonl").read_bytes()
    changes, error = _fails_in_the_first_frame("device", monkeypatch, tmp_path, gradient)
    with pytest.raises(error):
        run_video(request_for(**changes))
    assert _digests(tmp_path / "out") == before
    assert (tmp_path / "out" / "manifest.jsonl").read_bytes() == manifest


def test_a_shorter_clip_removes_only_the_frames_this_command_made_beyond_it(request_for, clip,
                                                                            tmp_path):  # fmt: skip
    run_video(request_for())
    out = tmp_path / "out"
    (out / "00007.png").write_bytes(b"the user's own")
    (clip / "003.png").unlink()  # the clip is now 3 frames long
    frame_3 = _digests(out)["00003.png"]
    run_video(request_for(frames="1:2"))  # frame 3 is outside the part, but in the clip
    assert sorted(_digests(out)) == ["00001.png", "00002.png", "00003.png", "00007.png"]
    assert _digests(out)["00003.png"] == frame_3
    summary = run_video(request_for())
    assert [r["resumed"] for r in summary["frames"]] == [True, True, True]
    assert sorted(_digests(out)) == ["00001.png", "00002.png", "00003.png", "00007.png"]


def test_the_summary_names_no_video_until_one_is_assembled(request_for, tmp_path):
    stopped = run_video(request_for("clip.mp4"), _StopAt(2))
    assert stopped["signal"] == "SIGINT" and [r["index"] for r in stopped["frames"]] == [1]
    assert stopped["output"] is None and stopped["output_frames"] is None
    assert stopped["work_folder"] == str(tmp_path / "clip.mp4.frames")
    done = run_video(request_for("clip.mp4"))
    assert done["output"] == str(tmp_path / "clip.mp4") and done["output_frames"] == 4
    folder = run_video(request_for("out"), _StopAt(2))  # a folder output: its frames are in it
    assert folder["output"] == str(tmp_path / "out") and folder["output_frames"] is None


def _hold_for(apng: Path, frame: int, seconds: int) -> None:
    """Set ``frame``'s APNG delay to ``seconds``: its fcTL chunk's delay_num and delay_den
    (bytes 20-23 of the 26) to seconds/1, the chunk's CRC recomputed. Pillow 10.1 writes
    delays as milliseconds/1000, so at most 65.535 s."""
    data = bytearray(apng.read_bytes())
    start = -1
    for _ in range(frame + 1):
        start = data.index(b"fcTL", start + 1)
    body = start + 4
    data[body + 20 : body + 24] = seconds.to_bytes(2, "big") + (1).to_bytes(2, "big")
    data[body + 26 : body + 30] = zlib.crc32(bytes(data[start : body + 26])).to_bytes(4, "big")
    apng.write_bytes(bytes(data))


def test_a_gif_frame_held_longer_than_a_gif_can_show_it_is_refused(request_for, tmp_path,
                                                                   gradient):  # fmt: skip
    pictures = [Image.fromarray(gradient(40, 30, t)) for t in range(3)]
    held = tmp_path / "held.png"
    pictures[0].save(held, save_all=True, append_images=pictures[1:],
                     duration=100)  # fmt: skip
    _hold_for(held, frame=1, seconds=700)
    with pytest.raises(ImageError, match=r"frame 2 of the clip is shown for 700 s, longer than"
                                         r" a GIF frame can last"):  # fmt: skip
        run_video(request_for("out.gif", content=held))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["held.png", "in"]
