"""The frame bar on stderr and the preview board of ``stylize video``."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from stylize.preview.board import Board
from stylize.video.progress import BoardProgress, FramePace, FrameProgress, Reporters


def _record(name, resumed=False, error=1.5, iterations=100):
    return {"output": name, "J": 1234.5, "temporal_error": error, "seconds": 2.0,
            "resumed": resumed, "settings": {"iterations": iterations}}  # fmt: skip


def _lines(progress: FrameProgress) -> list[str]:
    return progress.display.stream.getvalue().splitlines()


def _frame_bar(total: int, iterations: int = 100) -> FrameProgress:
    progress = FrameProgress(quiet=False)
    progress.started(total, iterations)
    progress.display.stream, progress.display.interactive = io.StringIO(), False
    progress.display.every = 1
    return progress


def test_the_frame_bar_counts_kept_and_made_frames():
    progress = _frame_bar(3)
    progress.frame_finished(_record("00001.png", resumed=True), None)
    progress.frame_finished(_record("00002.png"), None)
    progress.frame_finished(_record("00003.png", error=None), None)
    lines = _lines(progress)
    assert lines[0].startswith("frame 1/3  kept 00001.png from the earlier run")
    assert lines[1].startswith("frame 2/3  J=1234, warp error 1.5 (2.0s)")
    assert lines[2].startswith("frame 3/3  J=1234 (2.0s)")
    assert progress.pace.kept == 1


def test_the_board_follows_the_current_frame():
    board = Board("stylize video")
    both = Reporters(FrameProgress(quiet=True), BoardProgress(board))
    both.started(4, 100)
    both.frame_started(2, 4, "00002.png")
    state = board.snapshot()
    assert state["label"] == "frame 00002.png" and state["job"] == {"index": 2, "total": 4}
    both.frame_finished(_record("00002.png"), np.zeros((3, 4, 3), np.uint8))
    state = board.snapshot()
    assert state["batch"]["done"] == 1 and state["image"] == 1


def test_a_resumed_run_counts_its_time_left_by_the_frames_it_made():
    progress = _frame_bar(10)
    for k in range(5):
        progress.frame_finished(_record(f"{k:05d}.png", resumed=True), None)
    assert _lines(progress)[-1].endswith("0.00 frame/s  time left unknown")
    progress.display.began = time.perf_counter() - 10.0  # the sixth frame took 10 s
    progress.frame_finished(_record("00006.png"), None)
    # 4 frames left at 10 s each; counting the kept frames as made would say 7 s
    assert _lines(progress)[-1].endswith("0.10 frame/s  40s left"), _lines(progress)[-1]


def test_the_first_frame_counts_by_its_own_iterations():
    progress = _frame_bar(5, iterations=100)
    progress.display.began = time.perf_counter() - 20.0
    progress.frame_finished(_record("00001.png", error=None, iterations=200), None)
    # 200 iterations in 20 s: the 4 frames left of 100 take 40 s, not 80
    assert _lines(progress)[-1].endswith("40s left"), _lines(progress)[-1]


def test_the_pace_counts_made_iterations_and_leaves_out_kept_frames():
    pace = FramePace(6, 100)
    pace.finished(_record("00001.png", resumed=True))
    assert pace.seconds_left(3.0) is None and pace.rate(3.0) == 0.0
    pace.finished(_record("00002.png", iterations=100))
    pace.finished(_record("00003.png", iterations=100))
    assert pace.seconds_left(20.0) == pytest.approx(3 * 100 * 20.0 / 200)  # 3 frames left
    assert pace.rate(20.0) == pytest.approx(0.1)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_board_says_the_time_left_of_the_clip():
    board, clock = Board("stylize video"), Clock()
    progress = BoardProgress(board, clock=clock)
    progress.started(5, 100)
    progress.frame_finished(_record("00001.png", resumed=True), None)
    assert board.snapshot()["batch"]["left"] is None  # nothing made yet: no pace
    clock.now = 30.0
    progress.frame_finished(_record("00002.png", iterations=200), None)
    assert board.snapshot()["batch"] == {"done": 2, "failed": 0, "total": 5, "left": 45.0}
