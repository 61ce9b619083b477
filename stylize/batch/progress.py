"""The batch's progress: on stderr, an overall bar (jobs done of those to run, time left)
and one line per failed job, shown even with --quiet; on a preview page, the running job
(or, with several workers, the latest finished one) and the batch's counts."""

from __future__ import annotations

import time

from stylize.batch.driver import Counts, Reporter
from stylize.progress import ProgressDisplay


class ProgressReporter(Reporter):
    """Shows the driver's events through a ProgressDisplay."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.display: ProgressDisplay | None = None

    def started(self, pending: int, counts: Counts) -> None:
        if counts.skipped and not self.quiet:
            self.message(f"{counts.skipped} of {counts.total} jobs already done; {pending} to run")
        self.display = ProgressDisplay(pending, quiet=self.quiet, label="job", unit="job")

    def job_finished(self, record: dict, counts: Counts, image=None) -> None:
        if record["status"] != "ok":
            self.message(f"failed: {record['content']} + {record['style']}: {record['error']}")
        detail = f"{counts.failed} failed" if counts.failed else "no failures"
        self.display.update(counts.done + counts.failed, f"{detail}  last: {record['output']}")

    def message(self, text: str) -> None:
        (self.display or ProgressDisplay(0, quiet=self.quiet)).message(text)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()


class BoardReporter(Reporter):
    """Keeps a ``stylize.preview.Board`` up to date. With one worker in this process
    (``live``) the page follows the running job iteration by iteration; otherwise it shows
    each finished job's result as it lands."""

    def __init__(self, board, live: bool, clock=time.monotonic):
        from stylize.preview.feed import ProgressFeed

        self.board, self.live, self.clock = board, live, clock
        self.feed = ProgressFeed(board)
        self.pending, self.began = 0, clock()

    def started(self, pending: int, counts: Counts) -> None:
        self.pending, self.began = pending, self.clock()
        self.board.jobs(0, 0, pending, None)
        if not pending:
            self.board.start_job(f"all {counts.total} jobs were done already", 0)

    def job_started(self, job, number: int, pending: int) -> None:
        if self.live:
            label = f"{job.content.name} + {job.style.name} -> {job.output}"
            self.board.start_job(label, 0, {"index": number, "total": pending})

    def iteration(self, progress, transfer) -> None:
        self.feed.step(progress, transfer)

    def job_finished(self, record: dict, counts: Counts, image=None) -> None:
        ran = counts.done + counts.failed
        rate = ran / max(self.clock() - self.began, 1e-9)
        self.board.jobs(counts.done, counts.failed, self.pending, (self.pending - ran) / rate)
        if not self.live:
            label = (
                f"latest finished: {record['content']} + {record['style']} -> {record['output']}"
            )
            self.board.start_job(label, record["iterations"], {"index": ran, "total": self.pending})
        if image is not None:
            self.board.show(lambda: image)


class Reporters(Reporter):
    """Hands every event to each of ``reporters`` in turn."""

    def __init__(self, *reporters: Reporter):
        self.reporters = reporters

    def started(self, pending: int, counts: Counts) -> None:
        for reporter in self.reporters:
            reporter.started(pending, counts)

    def job_started(self, job, number: int, pending: int) -> None:
        for reporter in self.reporters:
            reporter.job_started(job, number, pending)

    def iteration(self, progress, transfer) -> None:
        for reporter in self.reporters:
            reporter.iteration(progress, transfer)

    def job_finished(self, record: dict, counts: Counts, image=None) -> None:
        for reporter in self.reporters:
            reporter.job_finished(record, counts, image)

    def message(self, text: str) -> None:
        self.reporters[0].message(text)
