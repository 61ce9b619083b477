"""The outputs of ``stylize video``, checked before any work: a video file ffmpeg can write
here (or a folder of frames), that replaces nothing it should not, and no output that is an
input. A video this command assembled before (its checksum is in the work folder's
manifest) is replaced without --overwrite: rerunning a finished command reassembles it."""

from __future__ import annotations

from pathlib import Path

from stylize.errors import ImageError
from stylize.files import check_name_length, check_writable, file_digests, is_regular_file
from stylize.manifest import MANIFEST_NAME, parse_lines
from stylize.outputs import check_distinct
from stylize.video.frames import VIDEO_WRITE


def check_outputs(request, video_output: bool, folder: Path) -> None:
    """Refuse, with one line, an output the command could not or should not write."""
    output = request.output
    inputs = {"content clip": request.content, "weights file": request.weights}
    inputs.update({f"style image {i + 1}": path for i, path in enumerate(request.styles)})
    if video_output:
        _check_video(output, request.overwrite or _assembled_here(output, folder))
        check_distinct({"the output video": output, "the work folder": folder}, inputs)
    else:
        check_distinct({"the output folder": output}, inputs)
    _check_folder(folder, request.overwrite, video_output)


def _check_video(output: Path, overwrite: bool) -> None:
    suffix = output.suffix.lower()
    if suffix not in VIDEO_WRITE:
        known = " ".join(sorted(VIDEO_WRITE))
        raise ImageError(f"output video '{output}': cannot write '{output.suffix}' videos"
                         f" (expected one of {known}, or a folder for PNG frames)")  # fmt: skip
    check_writable(output, f"output video '{output}'", overwrite, ImageError)


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
    """The frames' folder: missing (its parent writable), or a folder this command wrote
    (it holds a manifest), or empty; any other folder only with --overwrite."""
    label = f"{'work' if work else 'output'} folder '{folder}'"
    check_name_length(folder, label, ImageError)
    if folder.exists() and not folder.is_dir():
        raise ImageError(f"{label}: exists and is not a folder")
    if not folder.exists():
        parent = folder.parent
        if not parent.is_dir():
            raise ImageError(f"{label}: folder '{parent}' does not exist")
        return
    if (folder / MANIFEST_NAME).is_file() or overwrite:
        return
    if any(folder.iterdir()):
        raise ImageError(f"{label}: is not empty and holds no stylize video manifest (pass"
                         " --overwrite to write frames into it anyway)")  # fmt: skip
