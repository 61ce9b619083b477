"""When a clip's frames are shown (stylize.video.timing): timelines from durations and from
ffmpeg's showinfo lines, which clips count as steady, and how a variable-rate clip is laid
out on one output rate without losing its timing."""

from __future__ import annotations

import random

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from stylize.video import timing

HELD = (0.1, 0.1, 1.0, 0.2)  # a GIF that holds its third frame for a second


def _showinfo(starts, durations) -> str:
    """showinfo's lines as ffmpeg 7-9 writes them, with other log lines between."""
    lines = ["Input #0, gif, from 'held.gif':", "  Stream #0:0: Video: gif, bgra, 64x48"]
    for n, (start, length) in enumerate(zip(starts, durations, strict=True)):
        lines.append(f"[Parsed_showinfo_0 @ 0x55d1] n:{n:4d} pts:{round(start * 100):7d} "
                     f"pts_time:{start:<7g} duration:{round(length * 100):7d} "
                     f"duration_time:{length:<7g} fmt:bgra cl:unspecified s:64x48 i:P")  # fmt: skip
    return "\n".join([*lines, "frame=    4 fps=0.0 q=-0.0 Lsize=N/A time=00:00:01.40"])


def test_a_timeline_adds_up_the_durations():
    assert timing.timeline_from_durations(HELD) == pytest.approx((0, 0.1, 0.2, 1.2, 1.4))


@pytest.mark.parametrize("durations", [(), (0.1, 0.0, 0.1), (0.1, float("nan")), (0.1, -1.0)])
def test_durations_with_a_gap_give_no_timeline(durations):
    assert timing.timeline_from_durations(durations) is None


def test_showinfo_gives_each_frame_s_start_and_the_last_one_s_end():
    log = _showinfo((5.0, 5.1, 5.2, 6.2), (0.1, 0.1, 0.1, 0.2))  # a stream starting at 5 s
    assert timing.parse_showinfo(log) == pytest.approx((5, 5.1, 5.2, 6.2, 6.4))


def test_a_last_frame_without_a_duration_lasts_the_clip_s_typical_frame():
    log = _showinfo((0.0, 0.04, 0.08, 0.5), (0.04, 0.04, 0.04, 0.0))
    assert timing.parse_showinfo(log) == pytest.approx((0, 0.04, 0.08, 0.5, 0.54))


@pytest.mark.parametrize(
    "log",
    [
        "",
        "frame=    0 fps=0.0",
        _showinfo((0.0, 0.1, 0.1), (0.1, 0.1, 0.1)),  # two frames at one time
        _showinfo((0.0, 0.2, 0.1), (0.1, 0.1, 0.1)),  # times going back
        _showinfo((0.0, 0.1), (0.1, 0.1)).replace("pts_time:0.1 ", "pts_time:NOPTS "),
        _showinfo((0.0,), (0.0,)),  # one frame and no duration: no end
    ],
)
def test_showinfo_without_trustworthy_times_gives_no_timeline(log):
    assert timing.parse_showinfo(log) is None


def test_ffmpeg_counts_and_times_every_frame_of_a_variable_rate_gif(tmp_path):
    path = tmp_path / "held.gif"
    pictures = [Image.new("RGB", (32, 24), colour) for colour in ("red", "lime", "blue", "gray")]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], loop=0,
                     duration=[round(1000 * d) for d in HELD])  # fmt: skip
    count, timeline = timing.ffmpeg_timeline(imageio_ffmpeg.get_ffmpeg_exe(), str(path))
    assert count == 4 and timeline == pytest.approx((0, 0.1, 0.2, 1.2, 1.4))


def test_ffmpeg_failing_is_an_error_with_its_last_line(tmp_path):
    path = tmp_path / "text.mp4"
    path.write_text("not a video")
    with pytest.raises(OSError, match=r"\S"):
        timing.ffmpeg_timeline(imageio_ffmpeg.get_ffmpeg_exe(), str(path))


def test_steady_clips_are_those_within_a_quarter_frame_of_one_rate():
    ntsc = [round(i * 1001 / 30000, 6) for i in range(301)]  # showinfo's 6 decimals
    assert timing.is_steady(ntsc, 30000 / 1001)
    assert not timing.is_steady(ntsc, 30.0)  # 0.1 % apart: 10 s drift by a third of a frame
    rng = random.Random(1)
    jittery = [0.0] + [i / 30 + rng.uniform(-0.008, 0.008) for i in range(1, 300)]  # +-0.24
    assert timing.is_steady(jittery, 30.0)
    assert not timing.is_steady(timing.timeline_from_durations(HELD), 1 / 0.35)


def test_a_steady_clip_is_written_at_its_own_rate_each_frame_once():
    ntsc = [round(i * 1001 / 30000, 6) for i in range(101)]
    # the header's 29.97 is not the clip's rate: 30000/1001 is
    assert timing.layout(ntsc, 100, 29.97, fixed=False) == (30000 / 1001, [1] * 100)
    fast = [i / 240 for i in range(11)]  # steady clips are not held to MAX_RATE
    assert timing.layout(fast, 10, 240.0, fixed=False) == (240.0, [1] * 10)
    jittery = [0.0, 0.041, 0.085, 0.124, 0.166, 0.2085]  # 24 fps, +-0.1 frame: the mean,
    assert timing.layout(jittery, 5, 25.0, fixed=False) == (24000 / 1001, [1] * 5)  # 23.98
    jittery[-1] = 0.2083  # 24.004
    assert timing.layout(jittery, 5, 25.0, fixed=False) == (24.0, [1] * 5)


def test_a_clip_without_times_and_a_rate_asked_for_write_each_frame_once_at_that_rate():
    assert timing.layout(None, 3, 25.0, fixed=False) == (25.0, [1, 1, 1])
    held = timing.timeline_from_durations(HELD)
    assert timing.layout(held, 4, 12.0, fixed=True) == (12.0, [1, 1, 1, 1])


def test_a_held_frame_is_repeated_at_the_rate_of_the_shortest():
    held = timing.timeline_from_durations(HELD)
    assert timing.layout(held, 4, 1 / 0.35, fixed=False) == (10.0, [1, 1, 10, 2])
    # frames 3 and 4 alone: the shortest is 0.2 s, so 5 frames a second
    assert timing.layout(held[2:], 2, 1 / 0.35, fixed=False) == (5.0, [5, 1])


def test_variable_rates_keep_every_frame_and_the_length_to_half_an_output_frame():
    rng = random.Random(7)
    for _ in range(200):
        durations = [rng.choice((1, 2, 3, 5)) * rng.choice((0.02, 1001 / 30000, 0.05))
                     for _ in range(rng.randint(2, 40))]  # fmt: skip
        timeline = timing.timeline_from_durations(durations)
        rate, repeats = timing.layout(timeline, len(durations), 7.0, fixed=False)
        assert rate <= timing.MAX_RATE and min(repeats) >= 1
        assert abs(sum(repeats) / rate - timeline[-1]) <= 0.5 / rate + 1e-9
        starts = np.cumsum([0, *repeats[:-1]]) / rate  # where each frame lands
        assert np.abs(starts - np.array(timeline[:-1])).max() <= 0.5 / rate + 1e-9


def test_frames_shorter_than_the_highest_rate_may_be_left_out():
    timeline = timing.timeline_from_durations([0.001, 0.001, 0.1, 0.1])
    rate, repeats = timing.layout(timeline, 4, 10.0, fixed=False)
    assert rate == timing.MAX_RATE and sum(repeats) == round(0.202 * rate)
    assert repeats[:2] == [0, 0] and repeats[2:] == [12, 12]
    assert timing.layout((0.0, 0.001), 1, 10.0, fixed=False)[1] == [1]  # never nothing


@pytest.mark.parametrize(("found", "expected"), [
    (1 / 0.033367, 30000 / 1001), (1 / 0.041708, 24000 / 1001), (30.03, 30.0), (10.0, 10.0),
    (1 / 0.03, 33.333), (1 / 0.07, 14.286), (500.2, 500.0), (2.857, 2.857), (23.98, 24000 / 1001),
    (23.99, 24.0), (0.2, 0.2), (1 / 3600, 0.00027778), (1 / 0.003, 333.0),
])  # fmt: skip
def test_a_measured_rate_is_named_as_players_know_it(found, expected):
    assert timing.known_rate(found) == pytest.approx(expected, abs=1e-9)
