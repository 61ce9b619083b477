"""The outputs of ``stylize video``, checked before any work: a video file ffmpeg can write
here (or a folder of frames), that replaces nothing it should not, no output that is an
input or inside the content folder, and a GIF whose frames last no longer than its delays
can say. A video this command assembled before (its checksum is in the work folder's
manifest) is replaced without --overwrite: rerunning a finished command reassembles it."""

from __future__ import annotations

import os
from pathlib import Path

from stylize.errors import ImageError
from stylize.files import (
    check_folder_writable,
    check_name_length,
    check_writable,
    file_digests,
    is_regular_file,
)
from stylize.manifest import MANIFEST_NAME, parse_lines
from stylize.outputs import check_distinct
from stylize.video import VIDEO_WRITE
from stylize.video.frames import GIF_LONGEST_MS, gif_durations


def check_outputs(request, video_output: bool, folder: Path) -> None:
    """Refuse, with one line, an output the command could not or should not write."""
    output = request.output
    inputs = {"content clip": request.content, "weights file": request.weights}
    inputs.update({f"style image {i + 1}": path for i, path in enumerate(request.styles)})
    if video_output:
        _check_video(output, request.overwrite or _assembled_here(output, folder))
        outputs = {"the output video": output, "the work folder": folder}
    else:
        _check_folder_name(output)
        outputs = {"the output folder": output}
    check_distinct(outputs, inputs)
    _check_outside(request.content, outputs)
    _check_folder(folder, request.overwrite, video_output)


def _check_video(output: Path, overwrite: bool) -> None:
    suffix = output.suffix.lower()
    if suffix not in VIDEO_WRITE:
        raise ImageError(f"output video '{output}': cannot write '{output.suffix}' videos"
                         f" (expected one of {_known()}, or a folder for PNG frames)")  # fmt: skip
    check_writable(output, f"output video '{output}'", overwrite, ImageError)


def _check_folder_name(output: Path) -> None:
    """An output that is not a video names a folder of frames: an existing one (whatever
    its name), or a new one whose name has no extension (``x.png`` is a typo, not a
    folder to make)."""
    if output.suffix and not output.is_dir():
        raise ImageError(f"output '{output}': '{output.suffix}' is not a video extension"
                         f" (expected one of {_known()}, or a folder name without an"
                         " extension)")  # fmt: skip


def _known() -> str:
    return " ".join(sorted(VIDEO_WRITE))


def _check_outside(content: Path, outputs: dict[str, Path]) -> None:
    """Refuse an output inside a content folder of frames: the next run would read it as
    one of the clip's frames (or at least find it among them)."""
    if not content.is_dir():
        return
    folder = Path(os.path.realpath(content))
    for label, path in outputs.items():
        if Path(os.path.realpath(path)).is_relative_to(folder):
            raise ImageError(f"{label} '{path}' is inside the content folder '{content}',"
                             " whose files are the clip's frames; choose a place outside"
                             " it")  # fmt: skip


def _assembled_here(output: Path, folder: Path) -> bool:
    """Whether ``output`` is the video this command last assembled from ``folder``."""
    manifest = folder / MANIFEST_NAME
    if not (is_regular_file(output) and is_regular_file(manifest)):
        return False
    records, _ = parse_lines(manifest.read_bytes())
    assembled = [r for r in records if r.get("status") == "assembled"
                 and r.get("output") == output.name]  # fmt: skip
    return (
        bool(assembled) and assembled[-1].get("output_sha256") == file_digests(output, "sha256")[0]
    )


def _check_folder(folder: Path, overwrite: bool, work: bool) -> None:
    """The frames' folder: missing (its parent a folder where files can be made), or a
    writable folder this command wrote (it holds a manifest), or empty; any other folder
    only with --overwrite."""
    label = f"{'work' if work else 'output'} folder '{folder}'"
    check_name_length(folder, label, ImageError)
    if folder.exists() and not folder.is_dir():
        raise ImageError(f"{label}: exists and is not a folder")
    if not folder.exists():
        parent = folder.parent
        if not parent.is_dir():
            raise ImageError(f"{label}: folder '{parent}' does not exist")
        check_folder_writable(parent, label, ImageError)
        return
    check_folder_writable(folder, label, ImageError)
    if (folder / MANIFEST_NAME).is_file() or overwrite:
        return
    if any(folder.iterdir()):
        raise ImageError(f"{label}: is not empty and holds no stylize video manifest (pass"
                         " --overwrite to write frames into it anyway)")  # fmt: skip


def check_gif_timing(output: Path, fps: float, repeats: list[int], start: int) -> None:
    """Refuse a GIF output in which a frame the input holds would be shown longer than a
    GIF's delay can say (GIF_LONGEST_MS); ``repeats``: how many times each clip frame from
    ``start`` (0-based) is written at ``fps``. --fps's own limit is checked with the option."""
    if output.suffix.lower() != ".gif":
        return
    shown = [count for count in repeats if count]
    durations = gif_durations(shown, fps)
    longest = max(durations, default=0)
    if longest > GIF_LONGEST_MS:
        frame = [i for i, count in enumerate(repeats) if count][durations.index(longest)]
        raise ImageError(f"output video '{output}': frame {start + frame + 1} of the clip is"
                         f" shown for {longest / 1000:g} s, longer than a GIF frame can"
                         f" last ({GIF_LONGEST_MS / 1000:g} s); give --fps or write another"
                         " format")  # fmt: skip
