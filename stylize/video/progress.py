"""The progress of ``stylize video``: a frame bar on stderr (frame i of n, the last frame's
J, rate, time left) and, for --preview, the current frame on the page."""

from __future__ import annotations

from stylize.progress import ProgressDisplay
from stylize.video.command import VideoReporter


class FrameProgress(VideoReporter):
    """The frame bar through a ProgressDisplay; frames kept from an earlier run count as
    done at once (they are not in the rate's time)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.display: ProgressDisplay | None = None
        self.done = self.kept = 0

    def started(self, total: int) -> None:
        self.display = ProgressDisplay(total, quiet=self.quiet, label="frame", unit="frame")

    def frame_finished(self, record: dict, image) -> None:
        self.done += 1
        if record.get("resumed"):
            self.kept += 1
            detail = f"kept {record['output']} from the earlier run"
        else:
            error = record["temporal_error"]
            drift = f", warp error {error:.3g}" if error is not None else ""
            detail = f"J={record['J']:.4g}{drift} ({record['seconds']:.1f}s)"
        self.display.update(self.done, detail)

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

    def started(self, total: int) -> None:
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

    def started(self, total: int) -> None:
        for reporter in self.reporters:
            reporter.started(total)

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
