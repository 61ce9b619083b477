"""The feed from Progress records to a board: costs every iteration, the best image only
when it changed, and that image exactly as the Transfer would write it."""

from __future__ import annotations

import numpy as np

from stylize.optimize import Costs, Step
from stylize.preview.board import Board
from stylize.preview.feed import ProgressFeed
from stylize.transfer import Progress


class FakeTransfer:
    def __init__(self):
        self.best, self.pictured = None, []

    def picture(self, generated):
        self.pictured.append(generated)
        return np.full((4, 5, 3), int(generated.ravel()[0]), np.uint8)


def test_the_board_gets_every_iteration_and_a_new_image_only_when_the_best_changes():
    board, transfer = Board("stylize run"), FakeTransfer()
    feed = ProgressFeed(board)
    board.start_job("job", 0)
    transfer.best = Step(Costs(1.0, 1.0, 1.0), np.full((1, 4, 5, 3), 9.0))
    feed.step(Progress(1, 3, Costs(5.0, 2.0, 1.0), 0.5), transfer)
    feed.step(Progress(2, 3, Costs(6.0, 2.0, 1.0), 1.0), transfer)  # worse: best unchanged
    state = board.snapshot()
    assert (state["iteration"], state["iterations"], state["J"]) == (2, 3, 6.0)
    assert state["image"] == 1 and [row[0] for row in state["history"]] == [1, 2]
    transfer.best = Step(Costs(1.0, 1.0, 1.0), np.full((1, 4, 5, 3), 3.0))
    feed.step(Progress(3, 3, Costs(4.0, 2.0, 1.0), 1.5, scale=2, scales=2), transfer)
    assert board.snapshot()["image"] == 2 and board.snapshot()["scale"] == 2
    assert transfer.pictured == []  # nothing rendered until a page asks
    version, _ = board.image_png()
    assert version == 2 and len(transfer.pictured) == 1
    assert transfer.pictured[0] is transfer.best.image


def test_the_callers_time_left_reaches_the_board():
    board, transfer = Board("stylize run"), FakeTransfer()
    board.start_job("job", 0)
    ProgressFeed(board).step(Progress(1, 3, Costs(5.0, 2.0, 1.0), 0.5), transfer, left=42.0)
    assert board.snapshot()["left"] == 42.0
