"""Sharing a pass over n variables between the caller's thread and a helper."""

import threading

import numpy as np
import pytest

from stylize.lbfgsb_lanes import SPLIT_FROM, Lanes


def test_small_problems_stay_on_one_thread_and_large_ones_split_in_halves():
    assert Lanes(SPLIT_FROM - 1).parts == (slice(0, SPLIT_FROM - 1),)
    assert Lanes(11, split_from=2).parts == (slice(0, 5), slice(5, 11))
    assert Lanes(1, split_from=0).parts == (slice(0, 1),)  # one variable cannot be split


def test_run_returns_the_parts_results_in_order_and_uses_a_second_thread():
    values = np.arange(1001.0)
    threads = []

    def work(part):
        threads.append(threading.get_ident())
        return float(values[part].sum())

    lanes = Lanes(values.size, split_from=2)
    assert lanes.run(work) == [float(values[:500].sum()), float(values[500:].sum())]
    assert len(set(threads)) == 2
    assert threading.get_ident() in threads


def test_an_error_in_either_part_is_raised_after_both_parts_ended():
    lanes, ended = Lanes(10, split_from=2), []

    def failing_first(part):
        if part.start == 0:
            raise ValueError("first half")
        ended.append(part)

    with pytest.raises(ValueError, match="first half"):
        lanes.run(failing_first)
    assert ended == [slice(5, 10)]

    def failing_last(part):
        if part.start:
            raise ValueError("second half")
        threading.Event().wait(0.05)  # still running when the caller's part fails
        ended.append(part)

    with pytest.raises(ValueError, match="second half"):
        lanes.run(failing_last)
    assert ended[-1] == slice(0, 5)
