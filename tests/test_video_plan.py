"""Which frames a rerun keeps: frame names, the --frames range, and the settings compared
for the first frame and for the later ones."""

from __future__ import annotations

import pytest

from stylize.config import Settings
from stylize.errors import InputError
from stylize.video import plan


def test_frame_names_are_1_based_and_wide_enough():
    assert plan.frame_name(0, 10) == "00001.png"
    assert plan.frame_name(99998, 99999) == "99999.png"
    assert plan.frame_name(0, 123456) == "000001.png"
    assert plan.frame_name(4, 5) == "00005.png"


def test_the_work_folder_sits_beside_a_video_output():
    from pathlib import Path

    assert plan.work_folder(Path("a/clip.mp4"), True) == Path("a/clip.mp4.frames")
    assert plan.work_folder(Path("a/styled"), False) == Path("a/styled")


@pytest.mark.parametrize("text, expected", [
    (None, (0, 10)), ("2:5", (1, 5)), ("3:", (2, 10)), (":4", (0, 4)), ("7", (6, 7)),
    ("8:10", (7, 10)), ("10", (9, 10)),
])  # fmt: skip
def test_frames_ranges(text, expected):
    assert plan.parse_frames(text, 10) == expected


@pytest.mark.parametrize("text", ["0:3", "5:2", "a:b", "11:", "1:2:3"])
def test_bad_frames_ranges(text):
    with pytest.raises(InputError, match=r"^--frames"):
        plan.parse_frames(text, 10)


@pytest.mark.parametrize("text", ["8:99", ":11", "11", "11:", "12:11"])
def test_a_range_beyond_the_clip_at_either_end_names_its_length(text):
    with pytest.raises(InputError, match=rf"^--frames '{text}': the clip has 10 frames"):
        plan.parse_frames(text, 10)


def test_first_and_later_frames_compare_different_settings():
    settings = Settings(scales=2, scale_ratio=4.0, seed=4, iterations=50)
    inputs = {"styles_sha256": ["ab"], "weights": "w.mat"}
    first = plan.frame_settings(settings, True, 200, 100.0, True, inputs)
    later = plan.frame_settings(settings, False, 50, 100.0, True, inputs)
    assert first["iterations"] == 200 and first["scales"] == 2 and first["seed"] == 4
    assert first["scale_ratio"] == 4.0
    assert "temporal_weight" not in first and first["styles_sha256"] == ["ab"]
    assert later["iterations"] == 50 and later["temporal_weight"] == 100.0
    assert not {"scales", "scale_ratio", "init", "noise_ratio", "seed"} & set(later)
    assert "device" not in first and "device" not in later
    assert "seed" not in plan.frame_settings(settings, True, 200, 100.0, False, inputs)
    assert isinstance(first["content_layers"][0], list)  # strict JSON, as read back


def test_stale_temporaries_are_the_frames_and_the_video_a_killed_run_was_writing(tmp_path):
    work = tmp_path / "clip.mp4.frames"
    work.mkdir()
    names = [".00002.png.k3_9zq0a.tmp", ".00002.png.short.tmp", "00002.png", ".notes.tmp",
             ".000002.png.abcdefgh.tmp"]  # fmt: skip
    beside = [".clip.abcd_123.mp4", ".clip.abcdefgh.webm", ".other.abcdefgh.mp4", "clip.mp4",
              ".clip.abcdefgh.mp4.tmp"]  # fmt: skip
    for name in names:
        (work / name).write_bytes(b"x")
    for name in beside:
        (tmp_path / name).write_bytes(b"x")
    found = plan.stale_temporaries(work, tmp_path / "clip.mp4")
    frames_only = [".000002.png.abcdefgh.tmp", ".00002.png.k3_9zq0a.tmp"]
    assert sorted(p.name for p in found) == [*frames_only, ".clip.abcd_123.mp4"]
    assert sorted(p.name for p in plan.stale_temporaries(work, None)) == frames_only
    assert plan.stale_temporaries(tmp_path / "missing", None) == []


def test_stale_frames_are_only_this_commands_frames_a_shorter_clip_has_no_place_for(tmp_path):
    from stylize.files import file_digests

    def record(name, **changes):
        (tmp_path / name).write_bytes(name.encode())
        digest = file_digests(tmp_path / name, "sha256")[0]
        return {"output": name, "status": "ok", "output_sha256": digest, **changes}

    latest = {name: record(name) for name in ["00003.png", "00004.png", "00005.png",
                                              "000002.png"]}  # fmt: skip
    latest["00006.png"] = record("00006.png", status="failed")
    latest["00007.png"] = dict(record("00007.png"), output_sha256="changed since")
    latest["00008.png"] = record("00008.png")
    (tmp_path / "00008.png").unlink()
    latest["clip.mp4"] = {"output": "clip.mp4", "status": "assembled"}
    (tmp_path / "00009.png").write_bytes(b"not recorded")
    found = plan.stale_frames(latest, 4, tmp_path)
    assert [p.name for p in found] == ["000002.png", "00005.png"]
    assert plan.stale_frames(latest, 123456, tmp_path) == [
        tmp_path / name for name in ["00003.png", "00004.png", "00005.png"]
    ]
