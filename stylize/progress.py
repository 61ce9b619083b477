"""Progress display for the CLI: a bar redrawn in place on a terminal, plain periodic lines
elsewhere (CI logs, pipes). Writes to stderr only."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence


def seconds_left(done: int, total: int, elapsed: float,
                 stages: Sequence[tuple[int, int]] | None = None) -> float:  # fmt: skip
    """Seconds to the end of ``total`` iterations at the pace of the first ``done`` (which
    took ``elapsed`` seconds). ``stages``, when given, is (iterations, cost of one) per stage
    in order (a coarse-to-fine run's scales and their pixel counts): what is left is then
    counted by its cost, so the full-size scale still ahead is not taken for as quick as
    the coarse ones done."""
    if done <= 0 or elapsed <= 0:
        return 0.0
    if not stages:
        return (total - done) * elapsed / done
    finished = left = 0
    for count, cost in stages:
        ran = min(max(done, 0), count)
        finished, left, done = finished + ran * cost, left + (count - ran) * cost, done - count
    return left * elapsed / finished


def format_duration(seconds: float) -> str:
    """12.3 -> '12s', 754 -> '12m34s', 7300 -> '2h01m'."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


LONG_STEP = 2.0  # seconds of one step before ``within`` shows what it is doing
INSIDE_EVERY = 30.0  # seconds between such lines in a log


class ProgressDisplay:
    """Shows (done, total, detail) updates. On a terminal: one line redrawn in place, at
    most ten times a second. Elsewhere: about twenty lines per run, plus the last one."""

    def __init__(self, total: int, stream=None, quiet: bool = False, label: str = "iteration",
                 unit: str = "it", stages: Sequence[tuple[int, int]] | None = None):  # fmt: skip
        self.total, self.quiet, self.label, self.unit = total, quiet, label, unit
        self.stages = stages  # (iterations, cost of one) per stage, for seconds_left
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = max(1, total // 20)
        self.began = time.perf_counter()
        self._drawn = 0.0
        self._last = (0, "", "", self.began)  # done, detail, stats, when: the latest update
        self._inside = self.began  # when the latest line about the step's inside was written

    def update(self, done: int, detail: str = "", elapsed: float | None = None,
               left: float | None = None, rate: float | None = None) -> None:  # fmt: skip
        """Report ``done`` of ``total``. ``elapsed`` seconds default to the time since start,
        ``rate`` (units a second) and ``left`` (seconds) to the pace of the ``done`` so far
        (seconds_left); a caller that counts them itself passes them, ``left`` math.inf
        while it cannot tell."""
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.began if elapsed is None else elapsed
        if rate is None:
            rate = done / elapsed if elapsed > 0 else 0.0
        if left is None:
            left = seconds_left(done, self.total, elapsed, self.stages)
        known = f"{format_duration(left)} left" if math.isfinite(left) else "time left unknown"
        stats = f"{rate:.2f} {self.unit}/s  {known}"
        self._last = (done, detail, stats, time.perf_counter())
        if self.interactive:
            self._draw(done, detail, stats)
        elif done % self.every == 0 or done == self.total:
            self.stream.write(f"{self.label} {done}/{self.total}  {detail}  {stats}\n")
            self.stream.flush()

    def within(self, text: str) -> None:
        """Where the step under way has got to (a tile pass of a 12-megapixel iteration,
        say), shown once the step has lasted LONG_STEP seconds: on a terminal the line is
        redrawn with it, at most once a second; elsewhere a line every INSIDE_EVERY seconds."""
        done, detail, stats, when = self._last
        now = time.perf_counter()
        if self.quiet or now - when < LONG_STEP:
            return
        if self.interactive:
            if now - self._drawn >= 1.0:
                self._draw(done, f"{detail}  [{self.label} {done + 1}: {text}]", stats, force=True)
        elif now - max(self._inside, when) >= INSIDE_EVERY:
            self._inside = now
            self.stream.write(f"{self.label} {done + 1}/{self.total}: {text}\n")
            self.stream.flush()

    def _draw(self, done: int, detail: str, stats: str, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and done != self.total and now - self._drawn < 0.1:
            return
        self._drawn = now
        filled = int(24 * done / self.total) if self.total else 24
        bar = "#" * filled + "-" * (24 - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total}  {detail}  {stats}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """End the in-place line on a terminal."""
        if self.interactive and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """A line of its own (warnings, notes), shown even between bar redraws."""
        if self.interactive and not self.quiet:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()
