"""Where a video's frames go and which finished frames a rerun keeps.

Stylized frames are PNGs named by their 1-based index in the clip (``00001.png``), written
into the output folder, or for a video output into the work folder ``<output>.frames``
beside it, with ``manifest.jsonl`` (one line per frame). Frame t starts from frame t-1's
result, so a rerun keeps the frames of an unbroken run from the first one asked for, each
with an ``ok`` record for the same input pixels and the same settings as they apply to it,
and a file whose checksum matches; from the first frame that fails this, all are redone.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from stylize.config import Settings
from stylize.errors import ConfigError, InputError
from stylize.files import file_digests, is_regular_file
from stylize.manifest import clean_json, with_setting_defaults
from stylize.video import frames

# Later frames start from the previous one, so these shape the first frame only.
FIRST_FRAME_ONLY = ("scales", "scale_ratio", "init", "noise_ratio")
NOT_COMPARED = ("device", "tile_size")  # may differ without redoing a frame (same image)


def frame_name(index: int, count: int) -> str:
    """The file of frame ``index`` (0-based) of a clip of ``count``: '00001.png', wider
    for clips of 100000 frames or more."""
    return f"{index + 1:0{max(5, len(str(count)))}d}.png"


def work_folder(output: Path, video_output: bool) -> Path:
    """The folder frames and the manifest are written to."""
    return output.with_name(output.name + ".frames") if video_output else output


# tempfile.mkstemp's names end in 8 of these characters.
_RANDOM = "[a-z0-9_]{8}"
# files.atomic_writer writes frame 00001.png as .00001.png.RANDOM.tmp beside it.
_FRAME_TEMPORARY = re.compile(rf"\.[0-9]{{5,}}\.png\.{_RANDOM}\.tmp")


def stale_temporaries(folder: Path, video: Path | None) -> list[Path]:
    """The temporary files a killed run left: frames being written in the work folder
    ``folder``, and for a video output ``video`` the video being assembled beside it
    (frames.write_video's ``.STEM.RANDOM.ext``). Only safe to remove while holding the
    work folder's manifest lock, which keeps any other run out."""
    found = [p for p in _listing(folder) if _FRAME_TEMPORARY.fullmatch(p.name)]
    if video is not None:
        name = re.escape(video.stem) + r"\." + _RANDOM + re.escape(video.suffix.lower())
        found += [p for p in _listing(video.parent) if re.fullmatch(r"\." + name, p.name)]
    return found


# A frame's file as frame_name writes it.
_FRAME = re.compile(r"([0-9]{5,})\.png")


def stale_frames(latest: dict[str, dict], count: int, folder: Path) -> list[Path]:
    """The frames in ``folder`` that an earlier run made and a clip of ``count`` frames has
    no place for (one that was longer, or named its frames wider): files named like a
    frame, with an ``ok`` record in the manifest's ``latest`` records and still the file
    that record describes. Nothing else is ever listed: not a file the user put there or
    changed, nor a frame of this clip outside --frames."""
    found = []
    for name, record in sorted(latest.items()):
        match = _FRAME.fullmatch(name)
        if not match or record.get("status") != "ok":
            continue
        index = int(match.group(1))
        if 1 <= index <= count and frame_name(index - 1, count) == name:
            continue
        path = folder / name
        if is_regular_file(path) and file_digests(path, "sha256")[0] == record.get("output_sha256"):
            found.append(path)
    return found


def _listing(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []


def frame_settings(settings: Settings, first: bool, iterations: int, temporal_weight: float,
                   seed_given: bool, inputs: dict) -> dict:  # fmt: skip
    """The settings that decide frame t's result, as the manifest stores and compares them
    (strict JSON):
    for the first frame of a run its iterations, scales and start image (the seed only when
    --seed was given); for later ones their iterations and the temporal weight. ``inputs``
    (style checksums, weights) is included as it is."""
    record = {k: v for k, v in settings.as_dict().items() if k not in NOT_COMPARED}
    record["iterations"] = iterations
    if first:
        if not seed_given:
            record.pop("seed", None)
    else:
        for key in (*FIRST_FRAME_ONLY, "seed"):
            record.pop(key, None)
        record["temporal_weight"] = temporal_weight
    return clean_json({**record, **inputs, "first": first})


def kept(record: dict | None, digest: str, wanted: dict, folder: Path) -> bool:
    """Whether a finished frame's ``record`` still stands for input pixels ``digest`` and
    settings ``wanted``, its file unchanged."""
    if not record or record.get("status") != "ok" or record.get("input_sha256") != digest:
        return False
    stored = record.get("settings")
    if not isinstance(stored, dict) or with_setting_defaults(stored, wanted) != wanted:
        return False
    path = folder / str(record.get("output"))
    if not is_regular_file(path):
        return False
    return file_digests(path, "sha256")[0] == record.get("output_sha256")


def parse_frames(text: str | None, count: int) -> tuple[int, int]:
    """``--frames A:B`` (1-based, inclusive, either side may be left out; ``N``: frame N
    alone) as a 0-based half-open range within a clip of ``count`` frames; InputError if
    it is empty or reaches beyond the clip."""
    if not text:
        return 0, count
    first, sep, last = text.partition(":")
    try:
        start = int(first) if first.strip() else 1
        end = int(last) if last.strip() else count
        if not sep:
            end = start
    except ValueError:
        raise InputError(f"--frames '{text}': expected A:B, 1-based frame numbers") from None
    if start >= 1 and max(start, end) > count:
        raise InputError(f"--frames '{text}': the clip has {count} frames (expected frame"
                         f" numbers from 1 to {count})")  # fmt: skip
    if not 1 <= start <= end:
        raise InputError(f"--frames '{text}': expected 1 <= A <= B")
    return start - 1, end


def check_numbers(request) -> None:
    """ConfigError for a VideoRequest number out of range: --temporal-weight,
    --first-frame-iterations, and --fps (0.0001 to 1000 fps, from 0.0016 for a GIF, whose
    frame delay is 16-bit centiseconds)."""
    weight = request.temporal_weight
    if not (math.isfinite(weight) and 0 <= weight <= 1e30):
        raise ConfigError(f"--temporal-weight {weight}: expected a finite number >= 0")
    if request.first_frame_iterations < 1:
        raise ConfigError("--first-frame-iterations: expected at least 1")
    fps = request.fps
    if fps is not None and not (math.isfinite(fps) and frames.MIN_FPS <= fps <= frames.MAX_FPS):
        raise ConfigError(f"--fps {fps}: expected a rate from {frames.MIN_FPS:g} to"
                          f" {frames.MAX_FPS:g} frames per second")  # fmt: skip
    if fps is not None and fps < frames.GIF_MIN_FPS and request.output.suffix.lower() == ".gif":
        raise ConfigError(f"--fps {fps}: a GIF shows a frame for at most"
                          f" {frames.GIF_LONGEST_MS / 1000:g} s; expected at least"
                          f" {frames.GIF_MIN_FPS:g} for a .gif output")  # fmt: skip
