"""The batch's reporters: the stderr bar and, for --preview, the board (following the
running job with one worker in this process, else showing finished jobs)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from stylize.batch.driver import Counts, Reporter
from stylize.batch.plan import Job
from stylize.batch.progress import (
    JOB_PIXELS,
    BoardReporter,
    ProgressReporter,
    Reporters,
    Workload,
)
from stylize.optimize import Costs, Step
from stylize.preview.board import Board
from stylize.progress import format_duration
from stylize.transfer import Progress


class FakeTransfer:
    best = None

    def picture(self, generated):
        return np.zeros((4, 5, 3), np.uint8)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _job(index: int, size: tuple[int, int] | None = (32, 24)) -> Job:
    return Job(index, Path(f"c/{index}.png"), Path("s/x.png"), f"{index}_x.png", size)


def _record(index: int, status: str = "ok", iterations: int = 7) -> dict:
    error = None if status == "ok" else "boom"
    return {"content": f"c/{index}.png", "style": "s/x.png", "output": f"{index}_x.png",
            "status": status, "error": error, "iterations": iterations}  # fmt: skip


def test_a_live_board_follows_each_job_and_counts_the_batch():
    board, clock = Board("stylize batch"), Clock()
    reporter = BoardReporter(board, live=True, clock=clock)
    counts = Counts(total=3, skipped=1)
    reporter.started([_job(0), _job(1)], counts)
    reporter.job_started(_job(0), 1, 2)
    transfer = FakeTransfer()
    transfer.best = Step(Costs(1.0, 1.0, 1.0), np.full((1, 4, 5, 3), 5.0))
    reporter.iteration(Progress(1, 7, Costs(3.0, 2.0, 1.0), 0.1), transfer)
    state = board.snapshot()
    assert state["label"] == "0.png + x.png -> 0_x.png" and state["job"] == {"index": 1, "total": 2}
    assert (state["iteration"], state["iterations"], state["J"]) == (1, 7, 3.0)
    clock.now = 10.0
    counts.done = 1
    result = np.full((24, 32, 3), 9, np.uint8)
    reporter.job_finished(_record(0), counts, result)
    state = board.snapshot()
    assert state["batch"] == {"done": 1, "failed": 0, "total": 2, "left": 10.0}
    assert state["label"] == "0.png + x.png -> 0_x.png"  # still the job until the next starts
    assert board.image_png()[0] == state["image"] == 2


def test_with_several_workers_the_board_shows_finished_jobs():
    board = Board("stylize batch")
    reporter = BoardReporter(board, live=False, clock=Clock())
    counts = Counts(total=2)
    reporter.started([_job(0), _job(1)], counts)
    reporter.job_started(_job(0), 1, 2)
    reporter.job_started(_job(1), 2, 2)
    assert board.snapshot()["label"] == ""  # no single running job to follow
    counts.failed = 1
    reporter.job_finished(_record(1, "failed"), counts, None)
    state = board.snapshot()
    assert state["label"] == "latest finished: c/1.png + s/x.png -> 1_x.png"
    assert state["iterations"] == 7 and state["image"] == 0
    assert state["batch"]["failed"] == 1


def test_nothing_to_run_says_so():
    board = Board("stylize batch")
    BoardReporter(board, live=True).started([], Counts(total=4, skipped=4))
    assert board.snapshot()["label"] == "all 4 jobs were done already"


def test_reporters_hand_every_event_to_each():
    seen = []

    class Spy(Reporter):
        def __init__(self, name):
            self.name = name

        def started(self, jobs, counts):
            seen.append((self.name, "started", len(jobs)))

        def job_started(self, job, number, pending):
            seen.append((self.name, "job_started", number))

        def iteration(self, progress, transfer):
            seen.append((self.name, "iteration", progress))

        def job_finished(self, record, counts, image=None):
            seen.append((self.name, "job_finished", image))

        def message(self, text):
            seen.append((self.name, "message", text))

    both = Reporters(Spy("a"), Spy("b"))
    both.started([_job(0), _job(1)], Counts())
    both.job_started(_job(0), 1, 2)
    both.iteration("p", None)
    both.job_finished(_record(0), Counts(), "img")
    both.message("hello")
    assert seen == [("a", "started", 2), ("b", "started", 2), ("a", "job_started", 1),
                    ("b", "job_started", 1), ("a", "iteration", "p"), ("b", "iteration", "p"),
                    ("a", "job_finished", "img"), ("b", "job_finished", "img"),
                    ("a", "message", "hello")]  # fmt: skip


def test_the_stderr_reporter_takes_the_image_argument_and_reports_failures():
    reporter = ProgressReporter(quiet=True)
    reporter.started([_job(0)], Counts(total=1))
    stream = io.StringIO()
    reporter.display.stream = stream
    reporter.job_finished(_record(0, "failed"), Counts(total=1, failed=1), None)
    assert "failed: c/0.png + s/x.png: boom" in stream.getvalue()


# --- time left, counted in output pixels -----------------------------------------------------


def test_time_left_counts_the_pixels_of_the_jobs_left():
    small, big = 10_000 + JOB_PIXELS, 1_000_000 + JOB_PIXELS
    clock = Clock()
    work = Workload([_job(0, (100, 100)), _job(1, (1000, 1000)), _job(2, (100, 100))], clock)
    work.job_started()
    clock.now = 10.0
    work.job_finished(_record(0))  # one small job in 10 s: a big and a small one left
    assert work.seconds_left() == pytest.approx(10.0 * (big + small) / small)
    clock.now = 110.0
    work.job_finished(_record(1, "failed"))  # failed after it ran: its work counts
    assert work.seconds_left() == pytest.approx(110.0 * small / (small + big))


def test_jobs_that_never_ran_are_left_out_of_the_pace():
    clock = Clock()
    work = Workload([_job(0, None), _job(1), _job(2), _job(3)], clock)
    clock.now = 5.0
    assert work.seconds_left() == 0.0  # nothing finished: no pace yet
    work.job_finished(_record(0, "failed", iterations=0))  # no header: no work at all
    assert work.seconds_left() == pytest.approx(15.0)  # no work done yet: by jobs, 3 left
    work.job_finished(_record(1, "failed", iterations=0))  # its images did not load
    work.job_started()
    clock.now = 8.0
    work.job_finished(_record(2))  # one job's work in 3 s, one job left
    assert work.seconds_left() == pytest.approx(3.0)


def test_the_pace_starts_with_the_first_job_not_the_workers_start_up():
    clock = Clock()
    work = Workload([_job(0), _job(1), _job(2)], clock)
    clock.now = 6.0  # TensorFlow and the weights loading in the workers
    work.job_started()
    clock.now = 8.0
    work.job_started()  # the second job, on the same worker: the clock goes on
    clock.now = 10.0
    work.job_finished(_record(0))
    assert work.elapsed() == 4.0 and work.seconds_left() == pytest.approx(8.0)


def _big_after_small() -> tuple[list[Job], float]:
    """A 100x100 and a 1000x1000 job, and the seconds left after 10 s for the first."""
    small, big = 10_000 + JOB_PIXELS, 1_000_000 + JOB_PIXELS
    return [_job(0, (100, 100)), _job(1, (1000, 1000))], 10.0 * big / small


def test_the_stderr_bar_says_the_time_the_big_job_still_needs():
    jobs, left = _big_after_small()
    clock = Clock()
    reporter = ProgressReporter(quiet=False, clock=clock)
    reporter.started(jobs, Counts(total=2))
    stream = io.StringIO()
    reporter.display.stream, reporter.display.every = stream, 1
    clock.now = 3.0  # start-up
    reporter.job_started(jobs[0], 1, 2)
    clock.now = 13.0
    reporter.job_finished(_record(0), Counts(total=2, done=1), None)
    line = stream.getvalue().splitlines()[-1]
    assert line.startswith("job 1/2") and line.endswith(f"0.10 job/s  {format_duration(left)} left")
    assert left > 600  # ten minutes, where counting jobs says ten seconds


def test_the_board_says_the_time_the_big_job_still_needs():
    jobs, left = _big_after_small()
    board, clock = Board("stylize batch"), Clock()
    reporter = BoardReporter(board, live=False, clock=clock)
    reporter.started(jobs, Counts(total=2))
    clock.now = 3.0
    reporter.job_started(jobs[0], 1, 2)
    clock.now = 13.0
    reporter.job_finished(_record(0), Counts(total=2, done=1), None)
    assert board.snapshot()["batch"]["left"] == pytest.approx(left)
