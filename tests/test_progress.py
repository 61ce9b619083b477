import io

from stylize.progress import ProgressDisplay, format_duration, seconds_left


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_time_left_counts_the_cost_of_what_is_left():
    stages = ((2, 1), (2, 4))  # two coarse iterations of cost 1, then two of cost 4
    assert seconds_left(2, 4, 2.0) == 2.0  # by count: as quick as the first two
    assert seconds_left(2, 4, 2.0, stages) == 8.0  # by cost: 8 units at 1 unit a second
    assert seconds_left(1, 4, 1.0, stages) == 9.0
    assert seconds_left(3, 4, 6.0, stages) == 4.0
    assert seconds_left(4, 4, 10.0, stages) == 0.0
    assert seconds_left(0, 4, 0.0, stages) == 0.0


def test_time_left_needs_no_state_per_iteration():
    stages = ((10**8, 1000), (10**8, 4000))  # a quarter-size scale, then the full size
    assert seconds_left(10**8, 2 * 10**8, 100.0, stages) == 400.0


def test_the_display_shows_the_time_left_by_cost():
    stream = io.StringIO()
    display = ProgressDisplay(4, stream=stream, stages=((2, 1), (2, 4)))
    display.update(2, "J=1", elapsed=2.0)
    assert "1.00 it/s  8s left" in stream.getvalue()


def test_durations():
    assert format_duration(12.3) == "12s"
    assert format_duration(754) == "12m34s"
    assert format_duration(7300) == "2h01m"
    assert format_duration(-3) == "0s"


def test_plain_lines_about_twenty_times_a_run():
    stream = io.StringIO()
    display = ProgressDisplay(200, stream=stream)
    for done in range(1, 201):
        display.update(done, "J=1", elapsed=done * 0.5)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 20
    assert lines[0].startswith("iteration 10/200  J=1  2.00 it/s  1m35s left")
    assert lines[-1].startswith("iteration 200/200") and "\r" not in stream.getvalue()


def test_terminal_gets_a_bar_redrawn_in_place():
    stream = FakeTerminal()
    display = ProgressDisplay(4, stream=stream)
    for done in range(1, 5):
        display.update(done, "J=2", elapsed=float(done))
        display._drawn = 0.0  # let every update draw, as if time had passed
    display.close()
    text = stream.getvalue()
    assert text.count("\r[") == 4 and text.endswith("\n")
    assert "[########################] 4/4  J=2" in text
    assert "[######------------------] 1/4" in text


def test_quiet_writes_nothing():
    stream = FakeTerminal()
    display = ProgressDisplay(3, stream=stream, quiet=True)
    display.update(3, "J=1", elapsed=1.0)
    display.close()
    assert stream.getvalue() == ""


class Clock:
    """A settable time.perf_counter."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_inside_a_long_step_a_log_gets_a_line_every_30_seconds(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("stylize.progress.time.perf_counter", clock)
    stream = io.StringIO()
    display = ProgressDisplay(200, stream=stream)
    display.update(1, "J=1")
    clock.now += 1.0
    display.within("Gram pass, tile 1/12")  # the step is young: nothing
    clock.now += 29.5
    display.within("Gram pass, tile 5/12")  # 30.5 s into the step
    clock.now += 10.0
    display.within("gradient pass, tile 2/12")  # 10 s after the last such line: nothing
    clock.now += 25.0
    display.within("gradient pass, tile 9/12")
    assert stream.getvalue().splitlines() == [
        "iteration 2/200: Gram pass, tile 5/12",
        "iteration 2/200: gradient pass, tile 9/12",
    ]


def test_inside_a_long_step_a_terminal_redraws_with_the_pass(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("stylize.progress.time.perf_counter", clock)
    stream = FakeTerminal()
    display = ProgressDisplay(4, stream=stream)
    display.update(1, "J=2")
    clock.now += 3.0
    display.within("gradient pass, tile 3/12")
    last = stream.getvalue().split("\r")[-1]
    assert last.startswith("[######") and last.endswith("\x1b[K")
    assert "1/4  J=2  [iteration 2: gradient pass, tile 3/12]  " in last


def test_quiet_shows_nothing_inside_a_step(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("stylize.progress.time.perf_counter", clock)
    stream = io.StringIO()
    display = ProgressDisplay(4, stream=stream, quiet=True)
    clock.now += 100.0
    display.within("gradient pass, tile 3/12")
    assert stream.getvalue() == ""
