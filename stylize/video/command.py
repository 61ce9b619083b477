"""``stylize video`` from a request to written frames and video: the clip and every output
checked before TensorFlow starts, frames kept from an earlier run where they still stand,
each later frame started from the previous result warped by the optical flow and held to
it by the temporal term, every frame recorded as it is written, and the video assembled
once all frames exist. This module never imports TensorFlow at import time."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stylize import images, prepare
from stylize.config import Settings
from stylize.errors import ImageError
from stylize.files import file_digests
from stylize.manifest import MANIFEST_NAME, Manifest, clean_json
from stylize.signals import (
    deferred,
    held,
    interrupted_before_work,
    settle,
    stoppable,
)
from stylize.video import flow, frames, plan, timing
from stylize.video.outputs import check_gif_timing, check_outputs

DEFAULT_TEMPORAL_WEIGHT = 1000.0  # benchmarks/video.py: a fifth of independent frames' flicker


@dataclass(frozen=True)
class VideoRequest:
    """One ``stylize video``: ``settings.iterations`` is each later frame's budget,
    ``first_frame_iterations`` the first one's; ``frames`` is --frames' text (None: all)."""

    settings: Settings
    content: Path
    styles: tuple[Path, ...]
    output: Path
    weights: Path
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    first_frame_iterations: int = 200
    frames: str | None = None
    fps: float | None = None
    overwrite: bool = False


class VideoReporter:
    """Receives the command's events; the CLI shows them. This one ignores them."""

    def started(self, total: int, iterations: int) -> None:
        """``total`` frames asked for (those an earlier run finished are reported as kept
        by ``frame_finished``), each frame after the first run for ``iterations``."""

    def frame_started(self, number: int, total: int, label: str) -> None:
        """Frame ``number`` (1-based within the range) is being stylized."""

    def iteration(self, progress, transfer) -> None:
        """An iteration of the current frame ended."""

    def frame_finished(self, record: dict, image: np.ndarray | None) -> None:
        """A frame was written (or kept: ``record["resumed"]``)."""

    def message(self, text: str) -> None:
        """A note for the user."""


def run_video(request: VideoRequest, reporter: VideoReporter | None = None) -> dict:
    """Run ``stylize video``; return the summary. A signal once the work folder holds a
    frame or an earlier run's manifest ends the command cleanly, wherever it lands (within
    a frame, between two, while the video is assembled): summary with ``signal`` set,
    finished frames kept. One before raises Interrupted, and this run leaves nothing."""
    video = None
    with stoppable() as stop:
        video = _Video(request, reporter or VideoReporter())
        return video.run()
    if video is not None and video.began is not None and not video.forgotten:
        return video.summary(stop.signal)
    raise interrupted_before_work("video", stop.signal)


class _Video:
    def __init__(self, request: VideoRequest, reporter: VideoReporter):
        self.request, self.reporter, self.settings = request, reporter, request.settings
        plan.check_numbers(request)
        self.clip = frames.open_clip(request.content)
        if self.clip.decoding.note:
            self.reporter.message(self.clip.decoding.note)
        self.start, self.end = plan.parse_frames(request.frames, self.clip.count)
        self.video_output = frames.is_video_output(request.output)
        self.folder = plan.work_folder(request.output, self.video_output)
        check_outputs(request, self.video_output, self.folder)
        self.styles = [images.load_image(path, role="style image") for path in request.styles]
        self.style_keys = [file_digests(path, "sha256")[0] for path in request.styles]
        self.init_image = prepare.load_init_image(self.settings)
        init_file = self.settings.init_file
        self.init_key = file_digests(init_file, "sha256")[0] if init_file else None
        self.weights, self.weights_seconds = prepare.load_weights(request.weights, self.settings)
        self.fps, self.repeats = _layout(self.clip, self.start, self.end, request.fps)
        check_gif_timing(request.output, self.fps, self.repeats, self.start)
        self.seed = (
            self.settings.seed if self.settings.seed is not None else secrets.randbelow(2**31)
        )
        self.rows: list[dict] = []
        self.stylizer = None
        self.began: float | None = None
        # Whether this run created the work folder, and the manifest it opened; whether it
        # removed that manifest again, having made no frame.
        self.created = self.fresh = self.forgotten = False
        self.assembled = False

    def run(self) -> dict:
        path = self.folder / MANIFEST_NAME
        with contextlib.ExitStack() as opened:
            try:
                with held():  # what this run creates is known to it before a signal lands
                    self.began = time.perf_counter()
                    self.created = self._make_folder()
                    fresh = not path.exists()
                    manifest = opened.enter_context(Manifest(path))
                    self.fresh = fresh  # once open: one it could not open is not its own
                stopped = self._work(manifest)
                if stopped and self._forget_if_unused(path):
                    raise interrupted_before_work("video", stopped)
                settle()  # the frames and video are written: a signal now changes nothing
            except BaseException:  # an error or a signal: if nothing was made, no trace
                self._forget_if_unused(path)  # while the manifest is still locked
                raise
        return self.summary(stopped)

    def _work(self, manifest: Manifest) -> str | None:
        """Make the frames and assemble the video; the signal that stopped it, or None."""
        self.manifest, self.latest = manifest, manifest.latest()
        video = self.request.output if self.video_output else None
        for temporary in plan.stale_temporaries(self.folder, video):
            temporary.unlink(missing_ok=True)
        try:
            stopped = self._frames()
            if not stopped:
                self._remove_stale_frames()
            if not stopped and self.video_output:
                self._assemble()
            if not stopped:
                settle()  # everything is written: a signal from here on changes nothing
        finally:
            if self.stylizer is not None:
                self.stylizer.close()
        return stopped

    def _forget_if_unused(self, path: Path) -> bool:
        """If this run made no frame, remove the manifest it created and the work folder if
        it created it and nothing else is in it; whether it removed a manifest."""
        if self.forgotten or self.rows:
            return self.forgotten
        with held():
            if self.fresh:
                path.unlink(missing_ok=True)
            if self.created:
                with contextlib.suppress(OSError):
                    self.folder.rmdir()
            self.forgotten = self.fresh
        return self.forgotten

    def _make_folder(self) -> bool:
        """Create the work folder unless it exists; whether this run created it."""
        try:
            self.folder.mkdir()
        except FileExistsError:
            return False
        except OSError as error:
            kind = "work" if self.video_output else "output"
            raise ImageError(f"{kind} folder '{self.folder}': cannot create it"
                             f" ({error.strerror or error})") from None  # fmt: skip
        return True

    def _remove_stale_frames(self) -> None:
        """Remove the frames an earlier run made of a longer clip (see plan.stale_frames)."""
        stale = plan.stale_frames(self.latest, self.clip.count, self.folder)
        for path in stale:
            path.unlink(missing_ok=True)
        if stale:
            self.reporter.message(f"removed {len(stale)} frame(s) of an earlier, longer clip"
                                  f" from {self.folder}")  # fmt: skip

    def _frames(self) -> str | None:
        """Keep or make every frame in order; the signal that stopped it, or None."""
        # (content frame at the output size, a function returning its stylized frame): the
        # image just made stays in memory; a kept frame's file is read only if needed.
        previous = None
        redo = False
        self.reporter.started(self.end - self.start, self.settings.iterations)
        for index, raw in zip(range(self.start, self.end), self.clip.frames(self.start),
                              strict=False):  # fmt: skip
            frame = prepare.fit_content(raw, self.clip.path, self.settings.max_size)
            name = plan.frame_name(index, self.clip.count)
            wanted = self._frame_settings(first=previous is None)
            digest = frames.frame_digest(raw)
            if not redo and plan.kept(self.latest.get(name), digest, wanted, self.folder):
                self._keep(index, name)
                path = self.folder / name
                result = functools.partial(images.load_image, path, role="frame")
            else:
                redo = True
                stopped, image = self._make(index, name, frame, previous, digest, wanted)
                if stopped:
                    return stopped
                result = functools.partial(np.asarray, image)
            previous = (frame, result)
        return None

    def _frame_settings(self, first: bool) -> dict:
        request = self.request
        iterations = request.first_frame_iterations if first else self.settings.iterations
        inputs = {"styles_sha256": self.style_keys, "weights": str(self.weights.path)}
        if first and self.init_key:  # the start image's pixels shape the first frame
            inputs["init_sha256"] = self.init_key
        return plan.frame_settings(self.settings, first, iterations, request.temporal_weight,
                                   self.settings.seed is not None, inputs)  # fmt: skip

    def _keep(self, index: int, name: str) -> None:
        record = dict(self.latest[name], resumed=True)
        self.rows.append(record)
        self.reporter.frame_finished(record, None)

    def _make(self, index, name, frame, previous, digest, wanted):
        """Stylize and record one frame: (the signal that stopped it or None, its image)."""
        number = index - self.start + 1
        self.reporter.frame_started(number, self.end - self.start, name)
        with deferred() as late:
            with stoppable() as stop:
                made = self._stylize(frame, previous)
            if stop.signal:
                return stop.signal, None
            image, costs, temporal_error, seconds, flow_seconds = made
            images.save_image(self.folder / name, image)
            record = {"output": name, "index": index + 1, "status": "ok",
                      "input_sha256": digest,
                      "output_sha256": file_digests(self.folder / name, "sha256")[0],
                      "J": costs.J, "J_content": costs.J_content, "J_style": costs.J_style,
                      "J_temporal": costs.J_temporal, "temporal_error": temporal_error,
                      "seconds": round(seconds, 4), "flow_seconds": round(flow_seconds, 4),
                      "seed": self.seed, "precision": self.stylizer.settings.precision,
                      "settings": wanted}  # fmt: skip
            self.manifest.append(record)
            self.rows.append(dict(record, resumed=False))
            self.reporter.frame_finished(record, image)
        return late.signal, image

    def _stylize(self, frame: np.ndarray, previous):
        """(image, costs, temporal error or None, seconds, flow seconds) of one frame."""
        from stylize.transfer import Transfer

        began = time.perf_counter()
        stylizer = self._stylizer()
        keys = self.style_keys
        if previous is None:
            link = None
            first = self.request.first_frame_iterations
            transfer = Transfer(stylizer, frame, self.styles, self.seed, self.init_image,
                                style_keys=keys, iterations=first)  # fmt: skip
        else:
            link = _link(previous[0], frame, previous[1]())
            transfer = Transfer(stylizer, frame, self.styles, self.seed, style_keys=keys,
                                start=link.start, temporal=(link.warped, link.mask),
                                iterations=self.settings.iterations)  # fmt: skip
        for progress in transfer.run():
            self.reporter.iteration(progress, transfer)
        result = transfer.finish()
        error = None if link is None else link.error_of(result.image)
        flow_seconds = 0.0 if link is None else link.seconds
        return result.image, result.costs, error, time.perf_counter() - began, flow_seconds

    def _stylizer(self):
        if self.stylizer is None:
            from stylize.device import resolve_device
            from stylize.transfer import Stylizer

            device = resolve_device(self.settings.device, self.settings.precision)
            # One graph at a time: a first frame's coarse scales are not met again.
            self.stylizer = Stylizer(self.weights, self.settings, device, max_graphs=1,
                                     temporal_weight=self.request.temporal_weight)  # fmt: skip
        return self.stylizer

    def _assemble(self) -> None:
        """The output video from the frames on disk, with the input's audio where the
        container takes it: the part the frames written are shown in (see _sound)."""
        names = [plan.frame_name(i, self.clip.count) for i in range(self.start, self.end)]
        audio = _sound(self.clip, self.start, self.end)
        if self.request.output.suffix.lower() == ".gif":
            audio = None
        stream = _held_frames([self.folder / name for name in names], self.repeats)
        try:
            frames.write_video(self.request.output, stream, self.fps, audio)
            self.assembled = True
        except ImageError as error:
            raise ImageError(f"{error}; the frames stay in {self.folder}, run the same command"
                             " again to assemble them") from error  # fmt: skip
        self.manifest.append({"output": self.request.output.name, "status": "assembled",
                              "output_sha256": file_digests(self.request.output, "sha256")[0],
                              "frames": len(names), "audio": bool(audio)})  # fmt: skip

    def summary(self, stopped: str | None) -> dict:
        """What was done since ``run`` began; ``stopped``: the signal that ended it, if any."""
        seconds = time.perf_counter() - self.began
        width, height = images.fit_within(*self.clip.size, self.settings.max_size)
        rows = [{"index": r["index"], "J": r["J"], "J_content": r["J_content"],
                 "J_style": r["J_style"], "temporal_error": r["temporal_error"],
                 "seconds": r["seconds"], "precision": r.get("precision"),
                 "resumed": r["resumed"]} for r in self.rows]  # fmt: skip
        settings = {**self.settings.as_dict(), "seed": self.seed,
                    "temporal_weight": self.request.temporal_weight,
                    "first_frame_iterations": self.request.first_frame_iterations}  # fmt: skip
        # The arithmetic this run's frames used (--precision auto resolved); None when every
        # frame was made by an earlier run.
        precision = self.stylizer.settings.precision if self.stylizer else None
        # A video output stopped before it was assembled: no video, no frames in one.
        written = self.assembled or not self.video_output
        return {"output": str(self.request.output) if written else None,
                "work_folder": str(self.folder), "frames": rows,
                "frames_asked": self.end - self.start, "fps": self.fps,
                "output_frames": sum(self.repeats) if self.assembled else None,
                "width": width, "height": height, "seconds": round(seconds, 3),
                "weights": str(self.weights.path), "interrupted": bool(stopped),
                "signal": stopped, "settings": settings, "precision": precision}  # fmt: skip


def _layout(clip: frames.Clip, start: int, end: int,
            fps_asked: float | None) -> tuple[float, list[int]]:  # fmt: skip
    """(output frames per second, how many times each of frames ``start`` to ``end - 1``
    is written): timing.layout for the part of the clip asked for."""
    segment = clip.timeline[start : end + 1] if clip.timeline else None
    fps = fps_asked or clip.fps or frames.DEFAULT_FPS
    return timing.layout(segment, end - start, fps, fixed=fps_asked is not None)


def _sound(clip: frames.Clip, start: int, end: int) -> frames.Sound | None:
    """The clip's sound for its frames ``start`` to ``end - 1``: the part they are shown in,
    the output starting with the first of them, so a video stream that starts after the
    sound keeps in step with it. Without the clip's timing: all of it for the whole clip,
    None for a part."""
    if not clip.audio:
        return None
    if clip.timeline is None:
        return frames.Sound(clip.path) if (start, end) == (0, clip.count) else None
    begins = clip.timeline[start]
    return frames.Sound(clip.path, (begins, clip.timeline[end] - begins))


def _held_frames(paths: list[Path], repeats: list[int]):
    """The frames at ``paths``, read one at a time, each given ``repeats`` times over."""
    for path, times in zip(paths, repeats, strict=True):
        frame = images.load_image(path, role="frame")
        yield from itertools.repeat(frame, times)


@dataclass
class _Link:
    """Frame t-1 to frame t: the backward flow, its consistency mask, the previous result
    warped into frame t, the start image (warped where consistent, the frame itself where
    disoccluded) and the seconds the flow took."""

    backward: np.ndarray
    mask: np.ndarray
    warped: np.ndarray
    start: np.ndarray
    previous: np.ndarray
    seconds: float

    def error_of(self, image: np.ndarray) -> float:
        return flow.warping_error(image, self.previous, self.backward, self.mask)


def _link(previous_frame: np.ndarray, frame: np.ndarray, previous_result: np.ndarray) -> _Link:
    began = time.perf_counter()
    if previous_result.shape != frame.shape:  # a result from another --max-size: redone
        previous_result = images.resize(previous_result, (frame.shape[1], frame.shape[0]))
    backward, mask = flow.frame_link(previous_frame, frame)
    warped = flow.warp(previous_result, backward)
    start = mask[..., None] * warped + (1 - mask[..., None]) * frame
    return _Link(backward, mask, _as_uint8(warped), _as_uint8(start), previous_result,
                 time.perf_counter() - began)  # fmt: skip


def _as_uint8(image: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(image, 0, 255)).astype(np.uint8)


def dumps(summary: dict) -> str:
    """The ``--json`` object as strict JSON (NaN and infinities as null)."""
    return json.dumps(clean_json(summary), allow_nan=False)
