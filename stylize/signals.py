"""SIGINT and SIGTERM as "finish and keep what is done", the same way in every command.

Python raises KeyboardInterrupt in the main thread on SIGINT; inside ``signals_raise`` SIGTERM
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
def signals_raise() -> Iterator[None]:
    """Within the block, SIGINT raises KeyboardInterrupt (Python's own handler) and SIGTERM
    raises Terminated, whatever handlers were set outside; those come back after it."""

    def terminated(signum, frame):
        raise Terminated

    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
                signal.SIGTERM: signal.signal(signal.SIGTERM, terminated)}  # fmt: skip
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


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
    """A Stop catching both signals around the block, both raising inside it: the one way a
    command turns a signal into "stop here", whatever it was doing. Nested in ``deferred``,
    it lets the signals stop the work and then only be recorded while results are written."""
    stop = Stop()
    with stop.catching(), signals_raise():
        yield stop


@contextlib.contextmanager
def deferred() -> Iterator[Stop]:
    """Within the block, SIGINT and SIGTERM are only recorded (in the yielded Stop), so that
    writing what was done cannot be cut short by a second Ctrl-C or kill; the handlers come
    back after it. Use it once the work is over and only its results are being written."""
    stop = Stop()
    names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

    def record(signum, frame):
        stop.signal = stop.signal or names[signum]

    previous = {number: signal.signal(number, record) for number in names}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
