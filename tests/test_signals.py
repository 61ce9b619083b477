"""SIGINT and SIGTERM turned into "stop here and keep what is done"."""

import os
import signal
import threading
import time

import pytest

from stylize.signals import (
    SIGNAL_EXIT_CODES,
    Stop,
    Terminated,
    held,
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
