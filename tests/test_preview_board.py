"""The preview board: state written by the run, read as the page's JSON, and the image
rendered lazily and at most once per IMAGE_INTERVAL."""

from __future__ import annotations

import io
import json
import math
import threading

import numpy as np
import pytest
from PIL import Image

from stylize.preview.board import IMAGE_INTERVAL, MAX_POINTS, PREVIEW_SIDE, Board, encode_png


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """An image source that counts how often it was asked for its image."""

    def __init__(self, value: int, shape=(30, 40, 3)):
        self.calls, self.image = 0, np.full(shape, value, np.uint8)

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return self.image


def _decoded(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB"))


def test_snapshot_reports_the_job_its_costs_and_time_left():
    board = Board("stylize run")
    board.start_job("a.jpg + b.jpg -> out.png", 200)
    board.update(50, (10.0, 2.0, 0.2), 25.0, scale=1, scales=2)
    state = board.snapshot()
    assert state["command"] == "stylize run" and state["status"] == "running"
    assert (state["label"], state["iteration"], state["iterations"]) == (
        "a.jpg + b.jpg -> out.png", 50, 200)  # fmt: skip
    assert (state["J"], state["J_content"], state["J_style"]) == (10.0, 2.0, 0.2)
    assert state["left"] == pytest.approx(150 * 25.0 / 50)
    assert (state["scale"], state["scales"], state["image"]) == (1, 2, 0)
    assert state["history"] == [[50, 10.0, 2.0, 0.2, 1]]
    json.dumps(state, allow_nan=False)


def test_time_left_is_the_callers_when_it_gives_one():
    board = Board("stylize run")
    board.start_job("job", 4)
    board.update(2, (10.0, 2.0, 0.2), 2.0, scale=1, scales=2, left=8.0)  # big scales ahead
    assert board.snapshot()["left"] == pytest.approx(8.0)
    board.update(3, (10.0, 2.0, 0.2), 3.0)  # without it, the pace of iterations
    assert board.snapshot()["left"] == pytest.approx(1.0)


def test_non_finite_costs_become_null_so_the_json_is_strict():
    board = Board("stylize run")
    board.start_job("job", 10)
    board.update(1, (math.inf, math.nan, 1.0), 1.0)
    state = board.snapshot()
    assert (state["J"], state["J_content"], state["J_style"]) == (None, None, 1.0)
    assert state["history"] == [[1, None, None, 1.0, 1]]
    json.dumps(state, allow_nan=False)


def test_a_new_job_starts_a_new_curve_and_the_iterations_can_come_from_the_update():
    board = Board("stylize batch")
    board.start_job("first", 0, {"index": 1, "total": 2})
    board.update(1, (3.0, 2.0, 1.0), 0.5, iterations=4)
    assert board.snapshot()["iterations"] == 4
    board.start_job("second", 0, {"index": 2, "total": 2})
    state = board.snapshot()
    assert state["history"] == [] and state["job"] == {"index": 2, "total": 2}
    assert state["J"] is None and state["label"] == "second"


def test_long_histories_are_thinned_keeping_the_first_and_last_rows():
    board = Board("stylize run")
    board.start_job("long", 5000)
    for i in range(1, 5001):
        board.update(i, (1000.0 / i, 1.0, 1.0), i * 0.1)
    rows = board.snapshot()["history"]
    assert len(rows) == MAX_POINTS
    assert rows[0][0] == 1 and rows[-1][0] == 5000
    assert all(a[0] < b[0] for a, b in zip(rows, rows[1:], strict=False))


def test_the_image_is_rendered_only_when_asked_for():
    board, source = Board("stylize run"), Source(7)
    board.start_job("job", 10)
    for i in range(1, 11):
        board.update(i, (1.0, 1.0, 1.0), i, image=source)
    assert source.calls == 0
    assert board.snapshot()["image"] == 10
    version, png = board.image_png()
    assert version == 10 and source.calls == 1
    np.testing.assert_array_equal(_decoded(png), source.image)


def test_renders_are_at_most_once_per_interval_and_not_repeated_for_the_same_image():
    clock = Clock()
    board = Board("stylize run", clock=clock)
    first, second = Source(1), Source(2)
    assert board.image_png() is None  # nothing to show yet
    board.show(first)
    assert board.image_png()[0] == 1
    board.show(second)
    clock.now += IMAGE_INTERVAL / 2
    version, png = board.image_png()  # too soon: the previous render
    assert version == 1 and second.calls == 0
    np.testing.assert_array_equal(_decoded(png), first.image)
    clock.now += IMAGE_INTERVAL
    assert board.image_png()[0] == 2 and second.calls == 1
    clock.now += 10 * IMAGE_INTERVAL
    assert board.image_png()[0] == 2 and second.calls == 1  # unchanged: not rendered again


def test_big_images_are_scaled_down_for_the_page():
    png = encode_png(np.zeros((3000, 4000, 3), np.uint8))
    assert _decoded(png).shape == (PREVIEW_SIDE * 3 // 4, PREVIEW_SIDE, 3)
    assert _decoded(encode_png(np.zeros((20, 10, 3), np.uint8))).shape == (20, 10, 3)


def test_a_16bit_image_is_shown_at_8_bits():
    image = np.random.default_rng(6).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    wide = image.astype(np.uint16) * 257 + 100  # within half an 8-bit level of ``image``
    np.testing.assert_array_equal(_decoded(encode_png(wide)), image)


def test_batch_counts_and_the_end_of_a_run():
    board = Board("stylize batch")
    board.jobs(2, 1, 5, 30.0)
    assert board.snapshot()["batch"] == {"done": 2, "failed": 1, "total": 5, "left": 30.0}
    board.finish("finished")
    assert board.snapshot()["status"] == "finished" and board.snapshot()["left"] == 0.0
    with pytest.raises(ValueError, match="status"):
        board.finish("exploded")


def test_updates_and_reads_from_several_threads_stay_consistent():
    board = Board("stylize run")
    board.start_job("job", 2000)
    errors = []

    def read():
        for _ in range(300):
            state = board.snapshot()
            rows = state["history"]
            if rows and rows[-1][0] > state["iteration"]:
                errors.append(state)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    for i in range(1, 2001):
        board.update(i, (1.0, 1.0, 1.0), i * 0.01, image=Source(i % 255))
    for thread in readers:
        thread.join()
    assert errors == []
    assert board.snapshot()["iteration"] == 2000
