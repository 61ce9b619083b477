"""The batch's progress on stderr: an overall bar (jobs done of those to run, time left) and
one line per failed job, shown even with --quiet."""

from __future__ import annotations

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

    def job_finished(self, record: dict, counts: Counts) -> None:
        if record["status"] != "ok":
            self.message(f"failed: {record['content']} + {record['style']}: {record['error']}")
        detail = f"{counts.failed} failed" if counts.failed else "no failures"
        self.display.update(counts.done + counts.failed, f"{detail}  last: {record['output']}")

    def message(self, text: str) -> None:
        (self.display or ProgressDisplay(0, quiet=self.quiet)).message(text)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
