"""The frame bar on stderr and the preview board of ``stylize video``."""

from __future__ import annotations

import io

import numpy as np

from stylize.preview.board import Board
from stylize.video.progress import BoardProgress, FrameProgress, Reporters


def _record(name, resumed=False, error=1.5):
    return {"output": name, "J": 1234.5, "temporal_error": error, "seconds": 2.0,
            "resumed": resumed}  # fmt: skip


def test_the_frame_bar_counts_kept_and_made_frames():
    progress = FrameProgress(quiet=False)
    progress.started(3)
    progress.display.stream, progress.display.interactive = io.StringIO(), False
    progress.display.every = 1
    progress.frame_finished(_record("00001.png", resumed=True), None)
    progress.frame_finished(_record("00002.png"), None)
    progress.frame_finished(_record("00003.png", error=None), None)
    lines = progress.display.stream.getvalue().splitlines()
    assert lines[0].startswith("frame 1/3  kept 00001.png from the earlier run")
    assert lines[1].startswith("frame 2/3  J=1234, warp error 1.5 (2.0s)")
    assert lines[2].startswith("frame 3/3  J=1234 (2.0s)")
    assert progress.kept == 1


def test_the_board_follows_the_current_frame():
    board = Board("stylize video")
    both = Reporters(FrameProgress(quiet=True), BoardProgress(board))
    both.started(4)
    both.frame_started(2, 4, "00002.png")
    state = board.snapshot()
    assert state["label"] == "frame 00002.png" and state["job"] == {"index": 2, "total": 4}
    both.frame_finished(_record("00002.png"), np.zeros((3, 4, 3), np.uint8))
    state = board.snapshot()
    assert state["batch"]["done"] == 1 and state["image"] == 1
