import io

from stylize.progress import ProgressDisplay, format_duration


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


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
