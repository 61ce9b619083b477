"""The outputs of ``stylize video`` checked before any work."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stylize.errors import ImageError
from stylize.files import file_digests
from stylize.video.outputs import check_gif_timing, check_outputs


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


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_frames_folder_that_cannot_be_made_or_written_is_refused(tmp_path):
    new = Path("/proc/stylize-no-such-folder")  # mkdir fails there, even for root
    with pytest.raises(ImageError, match=r"^output folder '/proc/stylize-no-such-folder':"
                                         r" folder '/proc' is not writable"):  # fmt: skip
        check_outputs(Request(new, tmp_path / "in"), False, new)
    existing = Path("/proc/sys")  # a folder, but no file can be created in it
    with pytest.raises(ImageError, match=r"^output folder '/proc/sys': folder '/proc/sys' is"
                                         r" not writable"):  # fmt: skip
        check_outputs(Request(existing, tmp_path / "in", overwrite=True), False, existing)


def test_a_folder_on_a_read_only_file_system_is_refused(tmp_path, monkeypatch):
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(ImageError, match="is not writable \\(Read-only file system\\)"):
        check_outputs(Request(tmp_path / "frames", tmp_path / "in"), False, tmp_path / "frames")
    (tmp_path / "frames").mkdir()
    with pytest.raises(ImageError, match="is not writable \\(Read-only file system\\)"):
        check_outputs(Request(tmp_path / "frames", tmp_path / "in"), False, tmp_path / "frames")


@pytest.mark.parametrize("name", ["x.png", "x.txt", "styled.v2"])
def test_a_new_output_with_an_extension_that_is_not_a_video_is_refused(tmp_path, name):
    out = tmp_path / name
    with pytest.raises(ImageError, match=rf"^output '{out}': '\.\w+' is not a video extension"
                                         r" \(expected one of .gif .m4v .mkv .mov .mp4 .webm,"
                                         r" or a folder name without an extension\)$"):  # fmt: skip
        check_outputs(Request(out, tmp_path / "in"), False, out)
    out.mkdir()  # an existing folder is a frames folder, whatever its name
    check_outputs(Request(out, tmp_path / "in"), False, out)


def test_an_output_inside_the_content_folder_is_refused(tmp_path):
    clip = tmp_path / "frames"
    clip.mkdir()
    parent = tmp_path / "frames" / ".."
    cases = [(clip / "out.gif", True, clip / "out.gif.frames"),
             (clip / "styled", False, clip / "styled"),
             (parent / "frames" / "b.mp4", True, clip / "b.mp4.frames")]  # fmt: skip
    for output, video, work in cases:
        message = f"'{output}' is inside the content folder '{clip}', whose files are the"
        with pytest.raises(ImageError, match=re.escape(message)):
            check_outputs(Request(output, clip), video, work)
    check_outputs(Request(tmp_path / "out.gif", clip), True, tmp_path / "out.gif.frames")
    check_outputs(Request(clip / "out.gif", tmp_path / "clip.mp4"), True,
                  clip / "out.gif.frames")  # fmt: skip


def test_a_gif_frame_held_longer_than_a_gif_delay_can_say_is_refused(tmp_path):
    gif = tmp_path / "out.gif"
    check_gif_timing(gif, 0.0016, [1, 1, 1], 0)  # 625 s each
    check_gif_timing(gif, 1.0, [3, 0, 655], 0)  # 655 s
    check_gif_timing(tmp_path / "out.mp4", 1.0, [1, 700], 0)  # only a GIF's delay is 16-bit
    with pytest.raises(ImageError, match=r"^output video '.*out.gif': frame 7 of the clip is"
                                         r" shown for 656 s, longer than a GIF frame can last"
                                         r" \(655.35 s\); give --fps"):  # fmt: skip
        check_gif_timing(gif, 1.0, [3, 0, 656], 4)
