"""The batch's progress: on stderr, an overall bar (jobs done of those to run, time left)
and one line per failed job, shown even with --quiet; on a preview page, the running job
(or, with several workers, the latest finished one) and the batch's counts and time left."""

from __future__ import annotations

import time
from collections.abc import Sequence

from stylize.batch.driver import Counts, Reporter
from stylize.batch.plan import Job
from stylize.progress import ProgressDisplay

# What a job costs beyond its pixels, in pixels: the same iterations of a smaller image are
# dearer per pixel. 40x30 against 160x120, 30 iterations, random weights: 0.95 and 6.65 s,
# about 1,800 pixels more each; 400x300 with the real shapes in bfloat16 (0.47 s an
# iteration, 0.14 s at 200x150, 0.05 s at 100x75): about 6,000 (AMD EPYC).
JOB_PIXELS = 4096


class Workload:
    """The work of the jobs to run, each counted by its output's pixels plus JOB_PIXELS (an
    iteration's work grows with them, and every job runs the same iterations), so that the
    time left of a batch of mixed sizes is the work left at the pace of the jobs finished. A
    job whose size is unknown counts as none: its header could not be read, so it fails as
    it loads. The pace is timed by ``clock`` from the first job handed to a worker, once the
    workers have started (TensorFlow, the weights), which no job after it pays again."""

    def __init__(self, jobs: Sequence[Job], clock=time.perf_counter):
        self.work = {job.output: _work(job) for job in jobs}  # the jobs not finished yet
        self.left, self.finished, self.jobs = sum(self.work.values()), 0, len(jobs)
        self.clock, self.began, self.running = clock, clock(), False

    def job_started(self) -> None:
        """A job was handed to a worker; the first one starts the clock afresh."""
        if not self.running:
            self.began, self.running = self.clock(), True

    def elapsed(self) -> float:
        """Seconds of the pace: since the first job started (since this was made before)."""
        return self.clock() - self.began

    def job_finished(self, record: dict) -> None:
        """A job ended, written or failed (its manifest ``record``). One that failed before
        its first iteration (its images did not load, say) took next to no time: its work
        leaves the batch without counting in the pace."""
        work = self.work.pop(record["output"], 0)
        ran = work if record.get("iterations") else 0
        self.left, self.finished = self.left - work, self.finished + ran

    def seconds_left(self) -> float:
        """Seconds to the end at the pace so far; by jobs while no work has finished (only
        failures so far)."""
        elapsed = self.elapsed()
        if self.finished:
            return self.left * elapsed / self.finished
        jobs_finished = self.jobs - len(self.work)
        return len(self.work) * elapsed / jobs_finished if jobs_finished else 0.0


def _work(job: Job) -> int:
    return job.size[0] * job.size[1] + JOB_PIXELS if job.size else 0


class ProgressReporter(Reporter):
    """Shows the driver's events through a ProgressDisplay."""

    def __init__(self, quiet: bool, clock=time.perf_counter):
        self.quiet, self.clock = quiet, clock
        self.display: ProgressDisplay | None = None
        self.workload = Workload((), clock)

    def started(self, jobs: Sequence[Job], counts: Counts) -> None:
        if counts.skipped and not self.quiet:
            self.message(
                f"{counts.skipped} of {counts.total} jobs already done; {len(jobs)} to run"
            )
        self.display = ProgressDisplay(len(jobs), quiet=self.quiet, label="job", unit="job")
        self.workload = Workload(jobs, self.clock)

    def job_started(self, job, number: int, pending: int) -> None:
        self.workload.job_started()

    def job_finished(self, record: dict, counts: Counts, image=None) -> None:
        if record["status"] != "ok":
            self.message(f"failed: {record['content']} + {record['style']}: {record['error']}")
        self.workload.job_finished(record)
        detail = f"{counts.failed} failed" if counts.failed else "no failures"
        self.display.update(counts.done + counts.failed, f"{detail}  last: {record['output']}",
                            self.workload.elapsed(), self.workload.seconds_left())  # fmt: skip

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
        self.pending, self.workload = 0, Workload((), clock)

    def started(self, jobs: Sequence[Job], counts: Counts) -> None:
        self.pending, self.workload = len(jobs), Workload(jobs, self.clock)
        self.board.jobs(0, 0, self.pending, None)
        if not jobs:
            self.board.start_job(f"all {counts.total} jobs were done already", 0)

    def job_started(self, job, number: int, pending: int) -> None:
        self.workload.job_started()
        if self.live:
            label = f"{job.content.name} + {job.style.name} -> {job.output}"
            self.board.start_job(label, 0, {"index": number, "total": pending})

    def iteration(self, progress, transfer) -> None:
        self.feed.step(progress, transfer)

    def job_finished(self, record: dict, counts: Counts, image=None) -> None:
        ran = counts.done + counts.failed
        self.workload.job_finished(record)
        self.board.jobs(counts.done, counts.failed, self.pending, self.workload.seconds_left())
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

    def started(self, jobs: Sequence[Job], counts: Counts) -> None:
        for reporter in self.reporters:
            reporter.started(jobs, counts)

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
