"""From a run's Progress records to a Board: the costs every iteration, and the best image
so far as something the board renders only when a page asks for it."""

from __future__ import annotations

import functools

from stylize.preview.board import Board


class ProgressFeed:
    """Feeds one Board from the Progress records of ``stylize.transfer.Transfer`` runs."""

    def __init__(self, board: Board):
        self.board = board
        self._shown = None  # the Step whose image the board has

    def step(self, progress, transfer, left: float | None = None) -> None:
        """After an iteration: its costs, the seconds ``left`` when the caller knows them,
        and the transfer's best image if it changed (a Step's array is never changed
        afterwards, so the server's thread may read it)."""
        c, best = progress.costs, transfer.best
        image = None
        if best is not None and best is not self._shown:
            self._shown = best
            image = functools.partial(transfer.picture, best.image)
        self.board.update(progress.iteration, (c.J, c.J_content, c.J_style), progress.elapsed,
                          progress.scale, progress.scales, image,
                          iterations=progress.iterations, left=left)  # fmt: skip
