"""SIGINT and SIGTERM turned into "stop here and keep what is done"."""

import os
import signal

import pytest

from stylize.signals import SIGNAL_EXIT_CODES, Stop, Terminated, signals_raise, stoppable


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
