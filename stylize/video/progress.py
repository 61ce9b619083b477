"""The progress of ``stylize video``: a frame bar on stderr (frame i of n, the last frame's
J, rate, time left) and, for --preview, the current frame on the page."""

from __future__ import annotations

import math
import time

from stylize.progress import ProgressDisplay
from stylize.video.command import VideoReporter


class FramePace:
    """The pace of a run over ``total`` frames, each after the first of ``iterations``.
    Frames kept from an earlier run count as done but take none of the time: the rate and
    the time left count only the frames this run made, by their iterations (the first
    frame's differ, and it comes first), so a resumed run's time left is that of the frames
    still to make."""

    def __init__(self, total: int, iterations: int):
        self.total, self.iterations = total, iterations
        self.done = self.kept = self.made_iterations = 0

    def finished(self, record: dict) -> None:
        """A frame was written (its record has its settings' iterations) or kept."""
        self.done += 1
        if record.get("resumed"):
            self.kept += 1
        else:
            self.made_iterations += record["settings"]["iterations"]

    def seconds_left(self, elapsed: float) -> float | None:
        """Seconds to the last frame at the pace of the ``elapsed`` seconds so far; None
        until a frame has been made."""
        if not self.made_iterations or elapsed <= 0:
            return None
        return (self.total - self.done) * self.iterations * elapsed / self.made_iterations

    def rate(self, elapsed: float) -> float:
        """Frames made a second."""
        return (self.done - self.kept) / elapsed if elapsed > 0 else 0.0


class FrameProgress(VideoReporter):
    """The frame bar through a ProgressDisplay, with FramePace's rate and time left."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.display: ProgressDisplay | None = None
        self.pace = FramePace(0, 0)

    def started(self, total: int, iterations: int) -> None:
        self.display = ProgressDisplay(total, quiet=self.quiet, label="frame", unit="frame")
        self.pace = FramePace(total, iterations)

    def frame_finished(self, record: dict, image) -> None:
        self.pace.finished(record)
        if record.get("resumed"):
            detail = f"kept {record['output']} from the earlier run"
        else:
            error = record["temporal_error"]
            drift = f", warp error {error:.3g}" if error is not None else ""
            detail = f"J={record['J']:.4g}{drift} ({record['seconds']:.1f}s)"
        elapsed = time.perf_counter() - self.display.began
        left = self.pace.seconds_left(elapsed)
        left = math.inf if left is None else left  # the display's "time left unknown"
        self.display.update(self.pace.done, detail, elapsed, left, self.pace.rate(elapsed))

    def message(self, text: str) -> None:
        (self.display or ProgressDisplay(0, quiet=self.quiet)).message(text)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()


class BoardProgress(VideoReporter):
    """Keeps a ``stylize.preview.Board`` on the current frame, iteration by iteration, and
    on the clip's frames done and time left (FramePace)."""

    def __init__(self, board, clock=time.monotonic):
        from stylize.preview.feed import ProgressFeed

        self.board, self.feed, self.clock = board, ProgressFeed(board), clock
        self.pace, self.began = FramePace(0, 0), clock()

    def started(self, total: int, iterations: int) -> None:
        self.pace, self.began = FramePace(total, iterations), self.clock()
        self.board.jobs(0, 0, total, None)

    def frame_started(self, number: int, total: int, label: str) -> None:
        self.board.start_job(f"frame {label}", 0, {"index": number, "total": total})

    def iteration(self, progress, transfer) -> None:
        self.feed.step(progress, transfer)

    def frame_finished(self, record: dict, image) -> None:
        self.pace.finished(record)
        left = self.pace.seconds_left(self.clock() - self.began)
        self.board.jobs(self.pace.done, 0, self.pace.total, left)
        if image is not None:
            self.board.show(lambda: image)


class Reporters(VideoReporter):
    """Hands every event to each of ``reporters``."""

    def __init__(self, *reporters: VideoReporter):
        self.reporters = reporters

    def started(self, total: int, iterations: int) -> None:
        for reporter in self.reporters:
            reporter.started(total, iterations)

    def frame_started(self, number: int, total: int, label: str) -> None:
        for reporter in self.reporters:
            reporter.frame_started(number, total, label)

    def iteration(self, progress, transfer) -> None:
        for reporter in self.reporters:
            reporter.iteration(progress, transfer)

    def frame_finished(self, record: dict, image) -> None:
        for reporter in self.reporters:
            reporter.frame_finished(record, image)

    def message(self, text: str) -> None:
        self.reporters[0].message(text)
