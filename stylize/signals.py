"""SIGINT and SIGTERM as "finish and keep what is done", the same way in every command.

Python raises KeyboardInterrupt in the main thread on SIGINT; inside ``signals_raise`` SIGINT
raises :class:`Interrupt` (a KeyboardInterrupt) and SIGTERM :class:`Terminated` there, so
both unwind the work in progress through its ``finally`` blocks. A :class:`Stop` catches
either around the part of a command that may be cut short and records which signal it was,
so the command can keep what was done and exit with the shell's code for that signal (128 +
its number).

Code that must not be cut in the middle runs under :class:`held`: there a signal that would
raise waits until the block ends. TensorFlow's Python wrappers need it: Session.run takes
its graph's group lock in Python (``tensorflow/python/util/lock_util.py``), and an exception
raised between the lock's acquire and its release leaves it taken, so the next session call,
the one that evaluates the best image, would wait for ever. That explains a CI run in which
a SIGTERM test's process wrote nothing for 60 s after the signal.

A handler's exception raised while a ``__del__`` method or a garbage-collector callback runs
is printed and dropped by Python ("Exception ignored in ..."), which lost a SIGTERM under
TensorFlow 2.12, whose JAX import adds a gc callback: the run went on and exited with 0.
Inside ``signals_raise`` such a signal is kept instead and raised at the next ``held``
boundary or at the block's end.

A command runs whole inside :func:`command_signals`, from the start of ``main`` on, so that a
signal before its work begins is the same clean stop as one during it. Once its outcome is
decided and its outputs written, :func:`settle` makes both signals ignored: "once it is
written, a signal changes nothing", also while a preview server stops, while the result is
printed and while the interpreter and TensorFlow tear down (a second or more, after Python
has already put back the default handlers in place of its own).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

from stylize.errors import Interrupted

SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}

# What a signal before a command's work means, in each command's words.
_BEFORE_WORK = {
    "run": "interrupted by {} before the first iteration; nothing written",
    "batch": "interrupted by {}; finished jobs stay recorded in the manifest, run the same"
             " command again to finish",
    "video": "interrupted by {} before the first frame; nothing written",
    "weights": "interrupted by {} before the check finished",
}  # fmt: skip


def interrupted_before_work(command: str | None, signal_name: str) -> Interrupted:
    """The one-line error, exit code 130 or 143, for ``signal_name`` ("SIGINT" or
    "SIGTERM") stopping ``command`` (a stylize subcommand's name, or None) before its work
    has anything to keep."""
    message = _BEFORE_WORK.get(command, "interrupted by {}").format(signal_name)
    return Interrupted(message, SIGNAL_EXIT_CODES[signal_name])


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT (a
    BaseException, so that ``except Exception`` in a job does not swallow it)."""


class Interrupt(KeyboardInterrupt):
    """SIGINT, as raised inside ``signals_raise``: a KeyboardInterrupt, but not that class
    itself. CPython run as ``python -m`` exits through SIGINT, whatever exit code the
    command chose, once a plain KeyboardInterrupt has ended code evaluated from a string (the
    ``exec`` with which ``dataclasses`` makes methods, say), even one caught afterwards."""


_RAISED = {signal.SIGINT: Interrupt, signal.SIGTERM: Terminated}


class _Command:
    """Whether a ``command_signals`` block is running, and whether its command has settled."""

    active = False
    settled = False


def _install(handler) -> dict:
    """Set ``handler`` for SIGINT and SIGTERM, unless the command has settled (they stay
    ignored then); the handlers it replaced."""
    if _Command.settled:
        return {}
    return {number: signal.signal(number, handler) for number in _RAISED}


def _restore(previous: dict) -> None:
    """Put back the handlers a block replaced, unless the command settled meanwhile."""
    if _Command.settled:
        return
    for number, handler in previous.items():
        signal.signal(number, handler)


class _Hold:
    """How deep the main thread is in ``held`` blocks, and the signal waiting for their end
    (or, at depth 0, one whose exception was dropped, waiting for the next boundary)."""

    depth = 0
    waiting: int | None = None


def _raise_waiting() -> None:
    if _Hold.waiting is not None:
        waiting, _Hold.waiting = _Hold.waiting, None
        raise _RAISED[waiting]  # the user's stop wins over an error of the block


class held:
    """Within the block, a SIGINT or SIGTERM that would raise (inside ``signals_raise``) is
    kept and raised when the outermost ``held`` block ends; blocks nest. Signal handlers
    run in the main thread only, so in other threads the block changes nothing."""

    __slots__ = ("_counted",)

    def __enter__(self) -> None:
        self._counted = threading.current_thread() is threading.main_thread()
        if self._counted:
            if _Hold.depth == 0:
                _raise_waiting()
            _Hold.depth += 1

    def __exit__(self, kind, value, traceback) -> None:
        if not self._counted:
            return
        _Hold.depth -= 1
        if _Hold.depth == 0:
            _raise_waiting()


def _raise_or_hold(signum, frame) -> None:
    if _Hold.depth:
        _Hold.waiting = _Hold.waiting or signum
        return
    raise _RAISED[signum]


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGINT raises Interrupt and SIGTERM raises Terminated
    (outside ``held`` blocks), whatever handlers were set outside; those come back after
    it. One whose exception Python dropped (raised in a ``__del__`` method or a gc callback)
    is raised as the next ``held`` block begins or ends, or as this block ends."""
    previous = _install(_raise_or_hold)
    previous_hook = sys.unraisablehook

    def keep_dropped_signal(unraisable) -> None:
        for signum, kind in _RAISED.items():
            if unraisable.exc_type is kind:
                _Hold.waiting = _Hold.waiting or signum
                return
        previous_hook(unraisable)

    sys.unraisablehook = keep_dropped_signal
    try:
        yield
        _raise_waiting()  # dropped after the last held block
    finally:
        _Hold.waiting = None
        sys.unraisablehook = previous_hook
        _restore(previous)


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

    previous = _install(record)
    try:
        yield stop
    finally:
        _restore(previous)


@contextlib.contextmanager
def command_signals(until_exit: bool = False) -> Iterator[None]:
    """Run a whole command: within the block SIGINT raises Interrupt and SIGTERM raises
    Terminated (as in ``signals_raise``; the command's own blocks nest inside), until
    ``settle`` makes both ignored. The handlers from before come back after the block, except
    that with ``until_exit`` (the process's own command, whose exit follows) a settled
    command's signals stay ignored until the process has ended. In a thread other than the
    main one, where Python runs no handler, it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {number: signal.getsignal(number) for number in _RAISED}
    _Command.active, _Command.settled = True, False
    try:
        with signals_raise():
            yield
    finally:
        settled = _Command.settled
        _Command.active = _Command.settled = False
        if not (settled and until_exit):
            for number, handler in before.items():
                if handler is not None:  # None: set outside Python, nothing to put back
                    signal.signal(number, handler)


def settle() -> None:
    """The command's outcome is decided and its outputs are written: from now on SIGINT and
    SIGTERM are ignored, whatever the blocks of this module that are still open would do,
    until the ``command_signals`` block ends. Outside one it does nothing, so that a library
    caller keeps its own handlers; in another thread than the main one, too."""
    if not _Command.active or _Command.settled:
        return
    if threading.current_thread() is not threading.main_thread():
        return
    _Command.settled = True
    _Hold.waiting = None
    for number in _RAISED:
        signal.signal(number, signal.SIG_IGN)
