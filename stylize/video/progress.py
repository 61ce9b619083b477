"""The progress of ``stylize video``: a frame bar on stderr (frame i of n, the last frame's
J, rate, time left) and, for --preview, the current frame on the page."""

from __future__ import annotations

import math
import time

from stylize.progress import ProgressDisplay
from stylize.video.command import VideoReporter


class FrameProgress(VideoReporter):
    """The frame bar through a ProgressDisplay. Frames kept from an earlier run count as
    done at once; the rate and the time left count only the frames this run made, by
    their iterations (the first frame's differ), so a resumed run's time left is that of
    the frames still to make."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.display: ProgressDisplay | None = None
        self.done = self.kept = 0
        self.iterations = self.made_iterations = 0

    def started(self, total: int, iterations: int) -> None:
        self.display = ProgressDisplay(total, quiet=self.quiet, label="frame", unit="frame")
        self.iterations = iterations

    def frame_finished(self, record: dict, image) -> None:
        self.done += 1
        if record.get("resumed"):
            self.kept += 1
            detail = f"kept {record['output']} from the earlier run"
        else:
            self.made_iterations += record["settings"]["iterations"]
            error = record["temporal_error"]
            drift = f", warp error {error:.3g}" if error is not None else ""
            detail = f"J={record['J']:.4g}{drift} ({record['seconds']:.1f}s)"
        elapsed = time.perf_counter() - self.display.began
        self.display.update(self.done, detail, elapsed, *self._pace(elapsed))

    def _pace(self, elapsed: float) -> tuple[float, float]:
        """(seconds left, frames made a second): the frames left, each of ``iterations``
        (only the first frame differs, and it comes first), at the pace of the iterations
        made so far; the time left is unknown (math.inf) until a frame is made."""
        if not self.made_iterations or elapsed <= 0:
            return math.inf, 0.0
        left = (self.display.total - self.done) * self.iterations
        return left * elapsed / self.made_iterations, (self.done - self.kept) / elapsed

    def message(self, text: str) -> None:
        (self.display or ProgressDisplay(0, quiet=self.quiet)).message(text)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()


class BoardProgress(VideoReporter):
    """Keeps a ``stylize.preview.Board`` on the current frame, iteration by iteration."""

    def __init__(self, board):
        from stylize.preview.feed import ProgressFeed

        self.board, self.feed = board, ProgressFeed(board)
        self.total = self.done = 0

    def started(self, total: int, iterations: int) -> None:
        self.total = total
        self.board.jobs(0, 0, total, None)

    def frame_started(self, number: int, total: int, label: str) -> None:
        self.board.start_job(f"frame {label}", 0, {"index": number, "total": total})

    def iteration(self, progress, transfer) -> None:
        self.feed.step(progress, transfer)

    def frame_finished(self, record: dict, image) -> None:
        self.done += 1
        self.board.jobs(self.done, 0, self.total, None)
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
