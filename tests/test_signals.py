"""SIGINT and SIGTERM turned into "stop here and keep what is done"."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from stylize.signals import (
    SIGNAL_EXIT_CODES,
    Stop,
    Terminated,
    command_signals,
    deferred,
    held,
    settle,
    signals_raise,
    stoppable,
)


def test_signals_raise_terminated_inside_the_block_and_the_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), signals_raise():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize(("send", "name"), [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")])
def test_stoppable_records_the_signal_and_the_code_after_the_block_runs(send, name):
    reached = []
    with stoppable() as stop:
        os.kill(os.getpid(), send)
        reached.append("after the signal")  # never: the signal ends the block here
    assert reached == [] and stop.signal == name
    assert stop.exit_code == SIGNAL_EXIT_CODES[name] == 128 + send


def test_a_block_without_a_signal_leaves_stop_empty_and_errors_pass_through():
    with stoppable() as stop:
        pass
    assert stop.signal is None
    with pytest.raises(ValueError), Stop().catching():
        raise ValueError("not a signal")


def test_a_signal_inside_held_waits_for_the_end_of_the_outermost_block():
    reached = []
    with pytest.raises(Terminated), signals_raise():
        with held():
            with held():
                os.kill(os.getpid(), signal.SIGTERM)
                reached.append("inner block finished")
            reached.append("outer block finished")
        reached.append("after the blocks")  # never: the signal is raised as held ends
    assert reached == ["inner block finished", "outer block finished"]


def test_the_first_of_two_held_signals_is_the_one_raised_and_nothing_waits_afterwards():
    with pytest.raises(KeyboardInterrupt), signals_raise(), held():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    with signals_raise(), held():
        pass  # the SIGTERM was not kept for a later block


def test_a_held_signal_wins_over_an_error_of_the_block():
    with pytest.raises(Terminated), signals_raise(), held():
        os.kill(os.getpid(), signal.SIGTERM)
        raise ValueError("an error while the signal waited")


def test_held_in_another_thread_does_not_delay_the_main_threads_signal():
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with held():
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(10)
    try:
        with pytest.raises(Terminated), signals_raise():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts the sleep
    finally:
        leave.set()
        worker.join()


class _SignalsInDel:
    """An object whose ``__del__`` sends a signal to this process: the handler runs inside
    ``__del__``, where Python drops its exception (as in a gc callback)."""

    def __init__(self, signum):
        self.signum = signum

    def __del__(self):
        os.kill(os.getpid(), self.signum)
        for _ in range(1000):  # the handler runs at one of these bytecode boundaries
            pass


def _drop_a_signal_in_del(signum=signal.SIGTERM) -> None:
    _SignalsInDel(signum)  # freed at once: __del__ runs here


def test_a_signal_dropped_in_del_is_raised_as_the_next_held_block_begins(capsys):
    reached = []
    with stoppable() as stop:
        _drop_a_signal_in_del()
        reached.append("after __del__")
        with held():
            reached.append("inside the held block")  # never: the signal comes first
    assert reached == ["after __del__"] and stop.signal == "SIGTERM"
    assert "Exception ignored" not in capsys.readouterr().err


def test_a_signal_dropped_after_the_last_held_block_is_raised_as_the_block_ends():
    reached = []
    with stoppable() as stop:
        with held():
            _drop_a_signal_in_del(signal.SIGINT)
            reached.append("held block finished")
        reached.append("after it")  # never: the dropped signal is raised as held ends
    assert reached == ["held block finished"] and stop.signal == "SIGINT"
    with stoppable() as stop:
        _drop_a_signal_in_del()
        reached.append("no held block after it")
    assert reached[-1] == "no held block after it" and stop.signal == "SIGTERM"


def test_other_dropped_exceptions_still_reach_the_previous_hook_which_comes_back():
    before = sys.unraisablehook
    seen = []

    class _FailsInDel:
        def __del__(self):
            raise ValueError("an error in __del__")

    sys.unraisablehook = hook = seen.append
    try:
        with signals_raise():
            _FailsInDel()
        assert [s.exc_type for s in seen] == [ValueError]
        assert sys.unraisablehook is hook
    finally:
        sys.unraisablehook = before


def _handlers() -> list:
    return [signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)]


def test_a_settled_command_ignores_both_signals_in_every_block_then_puts_the_handlers_back():
    before = _handlers()
    reached = []
    with command_signals(), stoppable() as stop, deferred() as late:
        settle()
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        with signals_raise(), held():  # blocks entered later keep them ignored too
            os.kill(os.getpid(), signal.SIGTERM)
        reached.append("after the signals")
    assert reached == ["after the signals"] and stop.signal is None and late.signal is None
    assert _handlers() == before


def test_before_settle_a_command_stops_as_stoppable_does():
    with command_signals(), stoppable() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
    assert stop.signal == "SIGTERM"
    with pytest.raises(KeyboardInterrupt), command_signals():
        os.kill(os.getpid(), signal.SIGINT)


def test_settle_outside_a_command_leaves_the_handlers_alone():
    before = _handlers()
    settle()
    assert _handlers() == before
    with stoppable() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
    assert stop.signal == "SIGTERM"


def test_until_exit_keeps_a_settled_commands_signals_ignored_after_the_block():
    before = _handlers()
    try:
        with command_signals(until_exit=True):
            pass
        assert _handlers() == before  # not settled: nothing to keep
        with command_signals(until_exit=True):
            settle()
        assert _handlers() == [signal.SIG_IGN, signal.SIG_IGN]
    finally:
        for number, handler in zip((signal.SIGINT, signal.SIGTERM), before, strict=True):
            signal.signal(number, handler)


def test_a_command_in_another_thread_leaves_the_handlers_alone():
    before, failures = _handlers(), []

    def command() -> None:
        try:
            with command_signals(until_exit=True):
                settle()
        except Exception as error:  # signal.signal raises ValueError outside the main thread
            failures.append(error)

    worker = threading.Thread(target=command)
    worker.start()
    worker.join()
    assert failures == [] and _handlers() == before


# SIGINT raised while code from a string runs (exec, as dataclasses does), then caught: run as
# ``python -m``, CPython ends the process through SIGINT, whatever its exit code, when that
# exception was a plain KeyboardInterrupt.
CAUGHT_IN_EXEC = """
import os, signal, sys
from stylize.signals import stoppable
with stoppable() as stop:
    exec("os.kill(os.getpid(), signal.SIGINT)\\nfor _ in range(10000): pass")
sys.exit(stop.exit_code)
"""


def test_a_sigint_caught_inside_code_run_from_a_string_keeps_the_exit_code(tmp_path):
    (tmp_path / "caught_in_exec.py").write_text(CAUGHT_IN_EXEC)
    environment = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "caught_in_exec"], env=environment,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 130, done.stderr
