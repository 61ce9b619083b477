"""The outputs of ``stylize video`` checked before any work."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stylize.errors import ImageError
from stylize.files import file_digests
from stylize.video.outputs import check_outputs


@dataclass
class Request:
    output: Path
    content: Path
    weights: Path = Path("w.mat")
    styles: tuple = field(default_factory=tuple)
    overwrite: bool = False


def test_a_video_this_command_assembled_may_be_replaced(tmp_path):
    video, work = tmp_path / "clip.mp4", tmp_path / "clip.mp4.frames"
    video.write_bytes(b"assembled")
    work.mkdir()
    record = {"output": "clip.mp4", "status": "assembled",
              "output_sha256": file_digests(video, "sha256")[0]}  # fmt: skip
    (work / "manifest.jsonl").write_text(json.dumps(record) + "\n")
    check_outputs(Request(video, tmp_path / "in"), True, work)
    video.write_bytes(b"edited since")
    with pytest.raises(ImageError, match="already exists"):
        check_outputs(Request(video, tmp_path / "in"), True, work)
    check_outputs(Request(video, tmp_path / "in", overwrite=True), True, work)


def test_an_output_that_is_an_input_is_refused(tmp_path):
    clip = tmp_path / "frames"
    clip.mkdir()
    with pytest.raises(ImageError, match="is the content clip"):
        check_outputs(Request(clip, clip), False, clip)
    style = tmp_path / "style.mp4"
    style.write_bytes(b"x")
    with pytest.raises(ImageError, match="is the style image 1"):
        check_outputs(Request(style, clip, styles=(style,), overwrite=True), True,
                      tmp_path / "style.mp4.frames")  # fmt: skip


def test_the_work_folder_must_be_a_folder(tmp_path):
    (tmp_path / "clip.mp4.frames").write_text("a file")
    with pytest.raises(ImageError, match="exists and is not a folder"):
        check_outputs(Request(tmp_path / "clip.mp4", tmp_path / "in"), True,
                      tmp_path / "clip.mp4.frames")  # fmt: skip


def test_an_empty_or_own_folder_is_fine_and_overwrite_allows_any(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    check_outputs(Request(out, tmp_path / "in"), False, out)
    (out / "x.txt").write_text("x")
    with pytest.raises(ImageError, match="holds no stylize video manifest"):
        check_outputs(Request(out, tmp_path / "in"), False, out)
    check_outputs(Request(out, tmp_path / "in", overwrite=True), False, out)
    (out / "manifest.jsonl").write_text("")
    check_outputs(Request(out, tmp_path / "in"), False, out)
