"""Reading a clip (a video file ffmpeg reads, an animated WebP, PNG or AVIF that Pillow
reads, or a folder of frames) and writing the stylized one (a video file by its extension,
or a folder of numbered PNGs).

Video is read through imageio-ffmpeg and written by the ffmpeg binary its wheels ship, so
nothing is installed by hand; GIFs are written with Pillow (one adaptive palette per frame).
Frames are (H, W, 3) uint8 RGB arrays. This module never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import re
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from stylize import animation, hdr, images
from stylize.errors import ImageError, one_line
from stylize.files import publish
from stylize.video import VIDEO_WRITE, colours, timing

VIDEO_READ = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif", ".mpg",
                        ".mpeg", ".wmv", ".flv", ".ts"})  # fmt: skip
DEFAULT_FPS = 25.0  # a folder of frames has no rate of its own
# --fps: at slowest a frame per 10000 s (MP4 and MOV muxers fail below 1/65536 fps).
MIN_FPS = 0.0001
MAX_FPS = 1000.0
GIF_LONGEST_MS = 655350  # a GIF frame's delay is 16-bit, in centiseconds
GIF_MIN_FPS = 0.0016  # 625 s a frame: within GIF_LONGEST_MS once delays are rounded
_SIDE_DATA_SECONDS = 120  # decoding one frame: seconds even for an 8K HEVC frame
# Written videos: RGB to YUV with BT.709's matrix in limited range, and the stream says so
# (without a tag, players guess by size and ffmpeg would have used BT.601's matrix).
_BT709_OUTPUT = (
    "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
)


class _RotationNotice(logging.Filter):
    """Drops imageio-ffmpeg's warning that the frames read differ in size from the stream:
    that is what a phone video's rotation tag does (ffmpeg turns the frames upright, and the
    size stylize reads is theirs), so on stderr it would only alarm."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("The frame size for reading")


logging.getLogger("imageio_ffmpeg").addFilter(_RotationNotice())


@dataclass(frozen=True)
class Clip:
    """An input clip: ``count`` frames of ``size`` (width, height) at ``fps`` frames per
    second (None for a folder), with an audio track or not; ``files`` for a folder;
    ``decoding``: how a video's frames are decoded (colours.decoding: the YUV matrix
    players guess for a stream that names none, HDR or wide gamut mapped to SDR BT.709);
    ``timeline``: when each frame is shown (stylize.video.timing), None if not known."""

    path: Path
    count: int
    size: tuple[int, int]
    fps: float | None
    audio: bool
    files: tuple[Path, ...] | None = None
    decoding: colours.Decoding = colours.Decoding()
    animated: bool = False  # an animated WebP, PNG or AVIF, read by Pillow
    timeline: tuple[float, ...] | None = None

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        """The frames from index ``start`` (0-based) to the end, in order."""
        if self.files is not None:
            for path in self.files[start:]:
                yield _folder_frame(path, self.size)
            return
        if self.animated:
            yield from animation.animation_frames(self.path, start)
            return
        yield from _video_frames(self.path, self.size, start, self.decoding)


def frame_digest(frame: np.ndarray) -> str:
    """SHA-256 of a frame's pixels and shape: what the manifest compares on a rerun."""
    digest = hashlib.sha256(repr(frame.shape).encode())
    digest.update(np.ascontiguousarray(frame).tobytes())
    return digest.hexdigest()


def open_clip(path: Path) -> Clip:
    """A clip from a folder of images (sorted by name, all of one size), a video file or an
    animated WebP, PNG or AVIF; ImageError (one line naming the file) for anything else."""
    if path.is_dir():
        return _open_folder(path)
    if not path.exists():
        raise ImageError(f"--content '{path}': no such file or folder")
    if not path.is_file():
        raise ImageError(f"--content '{path}': not a regular file or a folder")
    if path.suffix.lower() not in VIDEO_READ:
        if animation.is_animation(path):
            count, size, durations = animation.animation_clip(path, f"--content '{path}'")
            fps = 1 / durations[0] if durations[0] > 0 else None
            timeline = timing.timeline_from_durations(durations)
            return Clip(path, count, size, fps, False, animated=True, timeline=timeline)
        known = " ".join(sorted(VIDEO_READ))
        raise ImageError(f"--content '{path}': not a video file by its extension (expected"
                         f" one of {known}), an animated WebP, PNG or AVIF, or a folder of"
                         " frames")  # fmt: skip
    return _open_video(path)


def _open_folder(folder: Path) -> Clip:
    files = tuple(sorted(p for p in folder.iterdir() if _is_frame_file(p)))
    if not files:
        known = " ".join(sorted(images.READ_EXTENSIONS))
        raise ImageError(f"--content '{folder}': no image files ({known}) in the folder")
    size = images.image_size(files[0], "frame")
    for path in files[1:]:
        other = images.image_size(path, "frame")
        if other != size:
            first = f"'{files[0].name}' is {size[0]}x{size[1]}"
            raise ImageError(f"frame '{path}' is {other[0]}x{other[1]}, but {first}: every"
                             " frame of a clip must have one size")  # fmt: skip
    return Clip(folder, len(files), size, None, False, files)


def _is_frame_file(path: Path) -> bool:
    suffix_ok = path.suffix.lower() in images.READ_EXTENSIONS
    return suffix_ok and not path.name.startswith(".") and path.is_file()


def _folder_frame(path: Path, size: tuple[int, int]) -> np.ndarray:
    frame = images.load_image(path, role="frame")
    if (frame.shape[1], frame.shape[0]) != size:
        raise ImageError(f"frame '{path}' changed size while the clip was read")
    return frame


def _open_video(path: Path) -> Clip:
    import imageio_ffmpeg

    try:  # the size of the frames read: upright and with square pixels (_square_pixels)
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24",
                                            output_params=_square_pixels())  # fmt: skip
        meta = next(reader)
        reader.close()
        count, timeline = timing.ffmpeg_timeline(imageio_ffmpeg.get_ffmpeg_exe(), str(path))
    except (OSError, RuntimeError, StopIteration, ValueError) as error:
        reason = _ffmpeg_reason(error)
        raise ImageError(f"--content '{path}': cannot read it as a video ({reason})") from None
    if not count:
        raise ImageError(f"--content '{path}': the video has no frames")
    fps = float(meta.get("fps") or 0) or None
    audio = bool(meta.get("audio_codec"))
    peak = colours.pq_source_peak(_first_frame_side_data(path)) if colours.is_pq(meta) else None
    decoding = colours.decoding(meta, path.name, peak)
    return Clip(path, count, tuple(meta["size"]), fps, audio, decoding=decoding, timeline=timeline)


def _first_frame_side_data(path: Path) -> str:
    """ffmpeg's showinfo text of the video's first frame, where HDR10's mastering display
    and content light level metadata show whether the container or the stream's SEI
    carries them; "" if ffmpeg fails (the usual peak is then assumed)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path),
               "-map", "0:v:0", "-vf", "showinfo", "-frames:v", "1", "-f", "null", "-"]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=_SIDE_DATA_SECONDS)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stderr if done.returncode == 0 else ""


def _ffmpeg_reason(error: BaseException) -> str:
    """The line of an imageio-ffmpeg error that says what went wrong (its last one), or
    that the file has no video stream (a sound file: ffmpeg's last line then says only
    "Invalid argument")."""
    text = str(error)
    if "does not contain any stream" in text or "matches no streams" in text:
        return "it has no video stream"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:160]


def _video_frames(path: Path, size: tuple[int, int], start: int,
                  decoding: colours.Decoding) -> Iterator[np.ndarray]:  # fmt: skip
    import imageio_ffmpeg

    width, height = size
    mapping = decoding.mapping
    # Every decoded frame once, as timing.ffmpeg_timeline counted them: by default ffmpeg
    # would repeat and drop frames to put a variable-rate clip on one rate's grid.
    passthrough = ["-fps_mode", "passthrough"]
    if mapping is not None:  # 16-bit 4:4:4 Y'CbCr, mapped here
        options = [*_square_pixels(), *passthrough]
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="yuv444p16le", bits_per_pixel=48,
                                            output_params=options)  # fmt: skip

        def frame(data):
            return hdr.to_sdr(np.frombuffer(data, "<u2").reshape(3, height, width), mapping)
    else:
        options = [*_square_pixels(decoding.scale), *passthrough]
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24",
                                            output_params=options)  # fmt: skip

        def frame(data):
            return np.frombuffer(data, np.uint8).reshape(height, width, 3)

    try:
        next(reader)  # the metadata
        for data in itertools.islice(reader, start, None):
            yield frame(data)
    finally:
        reader.close()


def _square_pixels(colour_options: str | None = None) -> list[str]:
    """ffmpeg's output options that read a stream's frames at the size they are shown: one
    whose pixels are not square (a sample aspect ratio other than 1:1, as DV and anamorphic
    DVD or broadcast video have) is stretched to its display aspect along the side its
    pixels are long in, as mpv shows it, so no detail is lost, the optimizer sees undistorted
    shapes, and the output's square pixels show them so. ffmpeg turns a rotated stream
    upright before this filter (its ratio inverted with its sides). Square pixels, or a
    ratio the stream does not give, pass through pixel for pixel. ``colour_options``: the
    scale filter's colour options (Decoding.scale)."""
    size = ["w='round(iw*max(sar,1))'", "h='round(ih/min(sar,1))'"]
    options = [*size, *([colour_options] if colour_options else [])]
    return ["-vf", f"scale={':'.join(options)},setsar=1"]


# --- output ------------------------------------------------------------------------------


def is_video_output(path: Path) -> bool:
    """Whether ``path`` names a video file (by a known extension) rather than a folder."""
    return path.suffix.lower() in VIDEO_WRITE or path.suffix.lower() in VIDEO_READ


@dataclass(frozen=True)
class Sound:
    """The first audio track of ``path``, to be copied into a written video: all of it, or
    with ``span`` = (start, length) in seconds that part of it, on the time ffmpeg gives
    the file's frames (Clip.timeline's)."""

    path: Path
    span: tuple[float, float] | None = None


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float,
                audio_from: Sound | None = None) -> None:  # fmt: skip
    """Write ``frames`` as the video ``path`` (format by extension, see VIDEO_WRITE),
    atomically: a temporary file beside it, renamed when complete, with the permissions the
    umask gives. H.264 and VP9 in yuv420p need an even width and height: an odd last column
    or row is repeated. ``audio_from``: the sound copied in (re-encoded for the
    container). Raises ImageError when it cannot be written (a full disk, ffmpeg failing),
    naming ffmpeg's reason."""
    suffix = path.suffix.lower()
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                             suffix=suffix)  # fmt: skip
        os.close(handle)
    except OSError as error:
        raise ImageError(f"video '{path}': cannot write ({error.strerror or error})") from error
    try:
        if suffix == ".gif":
            _write_gif(Path(temporary), frames, fps)
        else:
            _write_ffmpeg(Path(temporary), frames, fps, VIDEO_WRITE[suffix], audio_from)
        publish(Path(temporary), path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        if isinstance(error, OSError):
            reason = error.strerror or one_line(error)
            raise ImageError(f"video '{path}': cannot write ({reason})") from error
        raise


def _ffmpeg_command(path: Path, size: tuple[int, int], fps: float, codec: tuple,
                    audio_from: Sound | None) -> list[str]:  # fmt: skip
    """ffmpeg reading raw RGB frames of ``size`` = (width, height) from stdin."""
    import imageio_ffmpeg

    name, options, audio_codec = codec
    rate = str(Fraction(fps).limit_denominator())  # 30000/1001 stays exact
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f",
               "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", rate,
               "-i", "-"]  # fmt: skip
    if audio_from and audio_from.span:  # seeks decode up to the start: exact to a sample
        start, length = audio_from.span
        command += ["-ss", f"{start:.6f}", "-t", f"{length:.6f}"]
    command += ["-i", str(audio_from.path)] if audio_from else ["-an"]
    command += ["-vf", _BT709_OUTPUT, "-c:v", name, "-pix_fmt", "yuv420p", *options]
    if audio_from:
        command += ["-c:a", audio_codec, "-map", "0:v:0", "-map", "1:a:0"]
    return [*command, str(path)]


def _write_ffmpeg(path: Path, frames: Iterable[np.ndarray], fps: float, codec: tuple,
                  audio_from: Sound | None) -> None:  # fmt: skip
    """Pipe ``frames`` into ffmpeg. Run here rather than through imageio-ffmpeg's
    write_frames, which never reads ffmpeg's exit status: a file that failed to be written
    (a full disk at the header, say) was left empty and reported as done. Raises OSError
    with ffmpeg's first error line."""
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise OSError("no frames to write")
    first = _even(first)
    command = _ffmpeg_command(path, (first.shape[1], first.shape[0]), fps, codec, audio_from)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=log, start_new_session=True)  # fmt: skip
        try:
            for frame in itertools.chain([first], map(_even, frames)):
                process.stdin.write(np.ascontiguousarray(frame).data)
            process.stdin.close()
            process.wait()
        except BaseException as error:
            process.kill()
            process.wait()
            with contextlib.suppress(OSError):
                process.stdin.close()
            if not isinstance(error, BrokenPipeError):  # ffmpeg ended early: its log says why
                raise
            if process.returncode == 0:
                raise OSError("ffmpeg stopped reading frames") from error
        if process.returncode != 0:
            raise OSError(_first_error(log) or f"ffmpeg ended with code {process.returncode}")


def _first_error(log) -> str:
    """ffmpeg's first message, without its "[muxer @ 0x...]" prefix or "[error]" tags."""
    log.seek(0)
    for line in log.read().decode("utf-8", "replace").splitlines():
        text = re.sub(r"^(\[[^\]]*\]\s*)+", "", line)
        text = re.sub(r"\s*\[(error|fatal)\]", "", text).strip()
        if text:
            return text[:200]
    return ""


def _even(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def _write_gif(path: Path, frames: Iterable[np.ndarray], fps: float) -> None:
    from PIL import Image

    pictures, runs, previous = [], [], None
    for frame in frames:  # a held frame comes as the same array again: one picture
        if frame is previous:
            runs[-1] += 1
            continue
        pictures.append(Image.fromarray(frame))
        runs.append(1)
        previous = frame
    if not pictures:
        raise OSError("no frames to write")
    durations = gif_durations(runs, fps)
    # Pillow also merges a frame equal to the one before into it, adding up their delays.
    try:
        pictures[0].save(path, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=durations, loop=0)  # fmt: skip
    except (OverflowError, struct.error):  # two equal frames merged past the longest delay
        # (Pillow 10.1 packs the delay with struct and raises struct.error; 13, OverflowError)
        raise OSError(f"a frame would be shown longer than a GIF's {GIF_LONGEST_MS / 1000}"
                      " s") from None  # fmt: skip


def gif_durations(runs: list[int], fps: float) -> list[int]:
    """Milliseconds each picture of a GIF at ``fps`` is shown, picture i standing for
    ``runs[i]`` output frames (a held frame): the sum of their gif_delays."""
    delays = iter(gif_delays(sum(runs), fps))
    return [sum(itertools.islice(delays, run)) for run in runs]


def gif_delays(count: int, fps: float) -> list[int]:
    """Milliseconds each of ``count`` frames at ``fps`` is shown in a GIF, whose delays are
    whole centiseconds: each frame ends at its true end rounded to one, so the delays of a
    29.97 fps clip go 30, 40, 30, ... and the GIF keeps the clip's length; at least 20 ms,
    as browsers show a shorter delay for 100 ms."""
    ends = [round(100 * (index + 1) / fps) for index in range(count)]
    return [10 * max(2, end - start) for start, end in itertools.pairwise([0, *ends])]
