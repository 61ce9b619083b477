"""When each frame of a clip is shown, and how the stylized frames are laid out in time in
the output video.

A clip's timeline is ``count + 1`` times in seconds: frame i is shown from ``timeline[i]``
to ``timeline[i + 1]``, on the time ffmpeg gives the file (an animation's starts at 0).
Most clips have one rate, and each frame is written once at it. A clip whose frames do not
come at one rate (a GIF that holds a frame for a second, a phone video that slowed down in
the dark) is written at the rate of its shortest frame, each frame repeated for as many of
those frame times as it lasts, so the output keeps the input's timing (and its sound)
without stylizing any frame twice.

This module never imports TensorFlow.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Sequence
from itertools import pairwise

# A frame within a quarter of a frame time of where one rate puts it counts as on time.
_ON_TIME = 0.25
# The highest rate a variable-rate clip is laid out at; frames shorter than this may be
# left out of the output (they are still stylized).
MAX_RATE = 120.0
_STANDARD_RATES = (24000 / 1001, 30000 / 1001, 60000 / 1001)
# One line per decoded frame: "n: 0 pts: 0 pts_time:0 duration: 10 duration_time:0.1 ..."
_SHOWINFO = re.compile(r"\bn:\s*\d+\s+pts:\s*\S+\s+pts_time:(\S+)\s+duration:\s*\S+"
                       r"\s+duration_time:(\S+)")  # fmt: skip


def timeline_from_durations(durations: Sequence[float]) -> tuple[float, ...] | None:
    """The timeline of frames lasting ``durations`` seconds each, in order; None if any is
    missing or not above 0 (an animation that gives no timing)."""
    if not durations or any(not d or not d > 0 or not math.isfinite(d) for d in durations):
        return None
    times, now = [0.0], 0.0
    for duration in durations:
        now += duration
        times.append(now)
    return tuple(times)


def parse_showinfo(log: str) -> tuple[float, ...] | None:
    """The timeline in ffmpeg's showinfo lines (one per decoded frame, in the order shown):
    each frame from its presentation time; the last one's end from its own duration, or the
    clip's typical frame time if it has none. None if there is no frame, if a frame has no
    time, or if the times do not increase (a stream whose timing cannot be trusted)."""
    return _timeline_of(_SHOWINFO.findall(log))


def _timeline_of(found: list[tuple[str, str]]) -> tuple[float, ...] | None:
    """parse_showinfo's timeline from the (pts_time, duration_time) texts of its lines."""
    if not found or not all(_finite(start) for start, _ in found):
        return None
    starts = [float(start) for start, _ in found]
    if any(later <= earlier for earlier, later in pairwise(starts)):
        return None
    last = float(found[-1][1]) if _finite(found[-1][1]) else 0.0
    if not last > 0:
        gaps = sorted(b - a for a, b in pairwise(starts))
        last = gaps[len(gaps) // 2] if gaps else 0.0
    return (*starts, starts[-1] + last) if last > 0 else None


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def ffmpeg_timeline(ffmpeg: str, path: str) -> tuple[int, tuple[float, ...] | None]:
    """(frames, timeline) of the first video stream of ``path``, from one decoding pass of
    ffmpeg with every frame passed through as decoded (what stylize reads). Raises
    OSError if ffmpeg fails, with its last line."""
    command = [ffmpeg, "-hide_banner", "-nostdin", "-i", path, "-map", "0:v:0", "-vf",
               "showinfo", "-fps_mode", "passthrough", "-f", "null", "-"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        raise OSError(lines[-1] if lines else f"ffmpeg ended with code {done.returncode}")
    found = _SHOWINFO.findall(done.stderr)  # one pass over a log of a line per frame
    return len(found), _timeline_of(found)


def is_steady(timeline: Sequence[float], fps: float) -> bool:
    """Whether every frame of ``timeline`` starts, and the last ends, within a quarter of a
    frame time of where a constant ``fps`` puts it."""
    first = timeline[0]
    return all(abs((t - first) * fps - i) <= _ON_TIME for i, t in enumerate(timeline))


def layout(timeline: Sequence[float] | None, count: int, fps: float,
           fixed: bool) -> tuple[float, list[int]]:  # fmt: skip
    """(output frames per second, how many times each of ``count`` frames is written).
    ``timeline``: theirs (``count + 1`` times) or None; ``fps``: the rate asked for, or
    the clip's own as its header gives it. With ``fixed`` (--fps given) or no timeline:
    each frame once at ``fps``. When the frames come steadily at their mean rate: each
    frame once at that rate (as known_rate names it). Otherwise at the rate of the shortest
    frame (as known_rate names it, at most MAX_RATE), each frame from the output frame
    nearest its start to the one nearest the next frame's: a frame shorter than an output
    frame may be written 0 times."""
    if fixed or timeline is None:
        return fps, [1] * count
    mean = count / (timeline[-1] - timeline[0])
    if is_steady(timeline, mean):
        return known_rate(mean), [1] * count
    rate = min(MAX_RATE, known_rate(1 / min(b - a for a, b in pairwise(timeline))))
    slots = [math.floor((t - timeline[0]) * rate + 0.5) for t in timeline]
    repeats = [max(0, b - a) for a, b in pairwise(slots)]
    if not any(repeats):
        repeats[-1] = 1
    return rate, repeats


def known_rate(rate: float) -> float:
    """``rate`` (frames per second, measured from frame times) as a rate players know: a
    standard or whole rate within 0.2 % of it (the nearest), else rounded to 5 significant
    digits (so a frame shown for an hour still has a rate above 0)."""
    candidates = [known for known in (*_STANDARD_RATES, float(round(rate))) if known > 0]
    nearest = min(candidates, key=lambda known: abs(rate / known - 1), default=None)
    return nearest if nearest and abs(rate / nearest - 1) <= 0.002 else float(f"{rate:.5g}")
