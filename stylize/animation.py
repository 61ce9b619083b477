"""Images of several frames: how many frames or pages a file holds (the commands warn that
only the first is read), and the frames of an animated WebP, PNG (APNG) or AVIF one by one,
which ``stylize video`` stylizes as a clip. GIFs go through ffmpeg with the other clips.

Frames come out as stylize.images reads a still: (H, W, 3) uint8 sRGB, transparent parts
over white, each the whole canvas as Pillow composes it. This module never imports
TensorFlow.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from stylize import images
from stylize.errors import ImageError, one_line

# Pillow's formats whose animations stylize video reads here, frame by frame
ANIMATION_FORMATS = frozenset({"WEBP", "PNG", "AVIF"})
# Those and GIF, which stylize video reads through ffmpeg
VIDEO_FORMATS = ANIMATION_FORMATS | {"GIF"}


def frame_count(path: str | os.PathLike) -> tuple[int, str | None]:
    """(frames, Pillow's format name) of an image file, from its headers: the frames of an
    animated GIF, WebP, PNG or AVIF, the pages of a TIFF, 1 for a still and for a HEIF
    (whose primary image is the picture, whatever else it holds). images.load_image reads
    the first. (1, None) when the file cannot be opened, or is no regular file (a FIFO
    would block the open): load_image says why."""
    if not Path(path).is_file():
        return 1, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path, formats=images.pillow_formats()) as picture:
                if picture.format == "HEIF":
                    return 1, picture.format
                return max(1, int(getattr(picture, "n_frames", 1))), picture.format
    except Exception:  # Pillow raises many types for a bad header; load_image reports it
        return 1, None


def is_animation(path: Path) -> bool:
    """Whether ``path`` is an animated WebP, PNG or AVIF (more than one frame)."""
    count, kind = frame_count(path)
    return count > 1 and kind in ANIMATION_FORMATS


def animation_clip(path: Path, label: str) -> tuple[int, tuple[int, int], tuple[float, ...]]:
    """(frames, (width, height), each frame's duration in seconds, 0.0 where a frame gives
    none) of an animation; every frame is decoded once, as WebP gives a frame's duration
    only then. ImageError naming ``label`` if the file cannot be read, or if its canvas is
    over Pillow's decompression-bomb limit (as images.load_image refuses a still)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=images.pillow_formats()) as picture:
                count, size, durations = int(picture.n_frames), picture.size, []
                for index in range(count):
                    picture.seek(index)
                    picture.load()
                    durations.append(float(picture.info.get("duration") or 0) / 1000)
    except Exception as exc:  # Pillow raises many types for bad data
        raise ImageError(f"{label}: cannot read it as an animation ({one_line(exc)})") from None
    return count, size, tuple(durations)


def animation_frames(path: Path, start: int = 0) -> Iterator[np.ndarray]:
    """The frames of an animation from index ``start`` (0-based) to its last, in order, each
    (H, W, 3) uint8 sRGB; ImageError naming the frame if one cannot be decoded."""
    try:
        picture = Image.open(path, formats=images.pillow_formats())
    except Exception as exc:  # the file changed since animation_clip read it, say
        raise ImageError(f"'{path}': cannot read it as an animation ({one_line(exc)})") from None
    with picture:
        for index in range(start, picture.n_frames):
            label = f"frame {index + 1} of '{path}'"
            try:
                picture.seek(index)
                picture.load()
            except Exception as exc:  # Pillow's decoders raise many types on corrupt data
                raise ImageError(f"{label}: truncated or corrupt image data"
                                 f" ({one_line(exc)})") from None  # fmt: skip
            yield images.picture_to_rgb(picture, label, colour_managed=True)
