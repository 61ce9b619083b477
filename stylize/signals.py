"""SIGINT and SIGTERM as "finish and keep what is done", the same way in every command.

Python raises KeyboardInterrupt in the main thread on SIGINT; inside ``sigterm_raises`` SIGTERM
raises :class:`Terminated` there too, so both unwind the work in progress through its
``finally`` blocks. A :class:`Stop` catches either around the part of a command that may be
cut short and records which signal it was, so the command can keep what was done and exit
with the shell's code for that signal (128 + its number).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT (a
    BaseException, so that ``except Exception`` in a job does not swallow it)."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated; the previous handler comes back after."""

    def handler(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Stop:
    """Which signal, if any, ended a block run under :meth:`catching`."""

    def __init__(self) -> None:
        self.signal: str | None = None

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM (only once a signal was caught)."""
        return SIGNAL_EXIT_CODES[self.signal]

    @contextlib.contextmanager
    def catching(self) -> Iterator[Stop]:
        """Run the block; a SIGINT or SIGTERM ends it quietly and is recorded in ``signal``.
        The code after the ``with`` statement then runs, so it can keep what was done."""
        try:
            yield self
        except KeyboardInterrupt:
            self.signal = "SIGINT"
        except Terminated:
            self.signal = "SIGTERM"


@contextlib.contextmanager
def stoppable() -> Iterator[Stop]:
    """A Stop catching both signals around the block, SIGTERM raising inside it: the one
    way a command turns a signal into "stop here", whatever it was doing."""
    stop = Stop()
    with stop.catching(), sigterm_raises():
        yield stop
