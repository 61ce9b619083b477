"""Reading and writing clips: folders of frames, mp4 (with and without audio), webm and
gif, and the bad inputs that must be one clear error."""

from __future__ import annotations

import logging
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from conftest import clip_with_sound, sound_rms
from PIL import Image

from stylize.errors import ImageError
from stylize.video import frames


def _frames(count=6, width=40, height=30):
    y, x = np.mgrid[0:height, 0:width]
    return [np.stack([(x * 6 + 20 * t) % 256, y * 8, np.full_like(x, 40 * t)], -1).astype(np.uint8)
            for t in range(count)]  # fmt: skip


def _folder(tmp_path, clip):
    folder = tmp_path / "in"
    folder.mkdir()
    for t, frame in enumerate(clip):
        Image.fromarray(frame).save(folder / f"f{t:03d}.png")
    return folder


def test_a_folder_is_its_image_files_in_name_order(tmp_path):
    clip = _frames()
    folder = _folder(tmp_path, clip)
    (folder / "notes.txt").write_text("not a frame")
    Image.fromarray(clip[0]).save(folder / ".hidden.png")
    opened = frames.open_clip(folder)
    assert (opened.count, opened.size, opened.fps, opened.audio) == (6, (40, 30), None, False)
    for got, want in zip(opened.frames(), clip, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(list(opened.frames(4))) == 2


@pytest.mark.parametrize("name", ["moving.png", "moving.webp"])
def test_an_animated_png_or_webp_is_a_clip_of_its_frames_at_its_rate(tmp_path, name):
    pictures = [Image.fromarray(frame) for frame in _frames(5)]
    path = tmp_path / name
    lossless = {"lossless": True} if name.endswith(".webp") else {}
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=125,
                     **lossless)  # fmt: skip
    clip = frames.open_clip(path)
    assert (clip.count, clip.size, clip.fps, clip.audio) == (5, (40, 30), 8.0, False)
    read = list(clip.frames(2))
    assert len(read) == 3
    for frame, expected in zip(read, _frames(5)[2:], strict=True):
        np.testing.assert_array_equal(frame, expected)


HELD_MS = [100, 100, 1000, 200]  # an animation that holds its third frame for a second


def _held_animation(path):
    """A 4-frame GIF, WebP or APNG of frames lasting HELD_MS; its frames."""
    clip = _frames(4)
    pictures = [Image.fromarray(frame) for frame in clip]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=HELD_MS,
                     loop=0, lossless=True)  # fmt: skip
    return clip


@pytest.mark.parametrize("name", ["held.gif", "held.webp", "held.png"])
def test_a_variable_rate_animation_is_each_of_its_frames_once_with_its_times(tmp_path, name):
    path = tmp_path / name
    clip = _held_animation(path)
    opened = frames.open_clip(path)
    assert opened.count == 4 and opened.timeline == pytest.approx((0, 0.1, 0.2, 1.2, 1.4))
    read = list(opened.frames())
    assert len(read) == 4  # ffmpeg's default would repeat the held frame to a 10 fps grid
    for got, want in zip(read, clip, strict=True):  # a GIF's palette rounds the colours
        assert np.abs(got.astype(int) - want).mean() < (8 if name.endswith(".gif") else 1e-9)
    assert len(list(opened.frames(3))) == 1


def test_a_variable_rate_mp4_is_each_of_its_frames_once_with_its_times(tmp_path):
    _held_animation(tmp_path / "held.gif")
    path = tmp_path / "held.mp4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", tmp_path / "held.gif",
               "-fps_mode", "passthrough", "-pix_fmt", "yuv420p", path]  # fmt: skip
    subprocess.run(command, check=True)
    opened = frames.open_clip(path)
    assert opened.count == 4 and opened.timeline[:4] == pytest.approx((0, 0.1, 0.2, 1.2))
    # The last frame ends after its own duration as ffmpeg reads it from the mp4: 0.2 s with
    # ffmpeg 9 (the wheels of imageio-ffmpeg 0.8), 0.1 s with ffmpeg 7 (0.6, the oldest).
    last = opened.timeline[4] - opened.timeline[3]
    assert min(abs(last - 0.2), abs(last - 0.1)) < 1e-6
    read = list(opened.frames())
    assert len(read) == 4 and not np.array_equal(read[2], read[3])


def test_a_steady_clip_s_timeline_is_its_rate(tmp_path):
    path = tmp_path / "clip.mp4"
    frames.write_video(path, iter(_frames(5)), 12.0)
    timeline = frames.open_clip(path).timeline
    assert timeline == pytest.approx([i / 12 for i in range(6)], abs=1e-3)


def test_a_still_image_is_not_a_clip(tmp_path):
    path = tmp_path / "still.png"
    Image.fromarray(_frames(1)[0]).save(path)
    with pytest.raises(ImageError, match="an animated WebP, PNG or AVIF, or a folder"):
        frames.open_clip(path)


def test_mp4_round_trip_keeps_rate_count_and_pictures(tmp_path):
    clip = _frames()
    path = tmp_path / "clip.mp4"
    frames.write_video(path, iter(clip), 12.0)
    opened = frames.open_clip(path)
    assert (opened.count, opened.size, opened.fps, opened.audio) == (6, (40, 30), 12.0, False)
    read = list(opened.frames())
    assert len(read) == 6
    for got, want in zip(read, clip, strict=True):  # H.264 at crf 18 is near lossless here
        assert np.abs(got.astype(int) - want).mean() < 6
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary left


def test_odd_sizes_are_padded_to_even_for_yuv420p(tmp_path):
    path = tmp_path / "odd.mp4"
    frames.write_video(path, iter(_frames(3, 41, 31)), 10.0)
    assert frames.open_clip(path).size == (42, 32)


def test_the_audio_track_is_carried_into_mp4_and_webm(tmp_path):
    source = clip_with_sound(tmp_path / "with_audio.mp4")
    opened = frames.open_clip(source)
    assert opened.audio and opened.count == 10
    for name in ("out.mp4", "out.webm"):
        written_sound = frames.Sound(source)
        frames.write_video(tmp_path / name, opened.frames(), opened.fps, audio_from=written_sound)
        written = frames.open_clip(tmp_path / name)
        assert written.audio and written.count == 10, name


def test_a_part_of_the_sound_goes_with_the_frames_of_that_part(tmp_path):
    source = clip_with_sound(tmp_path / "with_audio.mp4")
    opened = frames.open_clip(source)
    part = list(opened.frames(2))[:4]  # frames 3 to 6: 0.2 to 0.6 s
    begins = opened.timeline[2]
    sound = frames.Sound(source, (begins, opened.timeline[6] - begins))
    frames.write_video(tmp_path / "part.mp4", iter(part), 10.0, audio_from=sound)
    # t*sin: the square root of half the mean of t^2 over 0.2-0.6 s (0.163 for 0-0.4 s)
    expected = np.sqrt((0.6**3 - 0.2**3) / (3 * 0.4) / 2)
    assert sound_rms(tmp_path / "part.mp4") == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.gif"])
def test_a_written_video_gets_the_umasks_permissions(tmp_path, name):
    import os

    before = os.umask(0o022)
    try:
        frames.write_video(tmp_path / name, iter(_frames(3)), 10.0)
    finally:
        os.umask(before)
    assert (tmp_path / name).stat().st_mode & 0o777 == 0o644


def test_a_frame_rate_like_ntsc_s_is_kept_exactly(tmp_path):
    frames.write_video(tmp_path / "ntsc.mp4", iter(_frames(4)), 30000 / 1001)
    assert frames.open_clip(tmp_path / "ntsc.mp4").fps == pytest.approx(29.97, abs=0.005)


@pytest.mark.parametrize("count", [2, 60])  # ffmpeg fails after all frames, or while reading
def test_an_ffmpeg_failure_is_one_error_naming_the_video_and_its_reason(
    tmp_path, monkeypatch, count
):
    codec = ("libx264", ["-crf", "18", "-preset", "no-such-preset"], "aac")
    monkeypatch.setitem(frames.VIDEO_WRITE, ".mp4", codec)
    with pytest.raises(ImageError) as caught:
        frames.write_video(tmp_path / "clip.mp4", iter(_frames(count, 320, 240)), 10.0)
    message = str(caught.value)
    assert message.startswith(f"video '{tmp_path / 'clip.mp4'}': cannot write (")
    assert message.endswith("(x264: invalid preset 'no-such-preset')")
    assert list(tmp_path.iterdir()) == []  # no empty or partial video, no temporary


@pytest.mark.parametrize("name", ["clip.mp4", "clip.gif"])
def test_no_frames_is_an_error_not_an_empty_video(tmp_path, name):
    with pytest.raises(ImageError, match="no frames to write"):
        frames.write_video(tmp_path / name, iter([]), 10.0)
    assert list(tmp_path.iterdir()) == []


def test_a_held_frame_is_one_gif_picture_with_its_delays_added_up(tmp_path, monkeypatch):
    first, second = _frames(2)
    made = []
    original = Image.fromarray
    monkeypatch.setattr(Image, "fromarray", lambda *a, **k: made.append(1) or original(*a, **k))
    path = tmp_path / "held.gif"
    frames.write_video(path, iter([first, first, first, second]), 30000 / 1001)
    assert len(made) == 2  # not a picture for each repeat, all held until the GIF is written
    monkeypatch.undo()
    with Image.open(path) as picture:
        delays = []
        for index in range(picture.n_frames):
            picture.seek(index)
            delays.append(picture.info["duration"])
    assert delays == [30 + 40 + 30, 30]  # gif_delays(4, 29.97): 30, 40, 30, 30


def test_a_gif_frame_held_longer_than_a_gif_delay_is_an_error_naming_the_limit(tmp_path):
    first, second = _frames(2)
    path = tmp_path / "slow.gif"
    frames.write_video(path, iter([first, second]), frames.GIF_MIN_FPS)  # 625 s each
    with Image.open(path) as picture:
        assert picture.info["duration"] == 625000
    # Equal neighbours are merged by Pillow, their delays added: past 16-bit centiseconds.
    with pytest.raises(ImageError, match=r"cannot write \(a frame would be shown longer than a"
                                         r" GIF's 655.35 s\)"):  # fmt: skip
        frames.write_video(path, iter([first, first.copy(), second]), frames.GIF_MIN_FPS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.gif"]


def test_a_phone_videos_rotation_tag_is_read_upright_without_a_warning(tmp_path, caplog):
    plain, rotated = tmp_path / "plain.mp4", tmp_path / "rotated.mp4"
    frames.write_video(plain, iter(_frames(3)), 10.0)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-display_rotation",
                    "90", "-i", str(plain), "-c", "copy", str(rotated)], check=True)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="imageio_ffmpeg"):
        clip = frames.open_clip(rotated)
        first = next(iter(clip.frames()))
    assert clip.size == (30, 40) and first.shape == (40, 30, 3) and caplog.records == []
    upright = np.rot90(next(iter(frames.open_clip(plain).frames())))  # 90 degrees to the left
    np.testing.assert_array_equal(first, upright)


@pytest.mark.parametrize("sar, rotation, shown", [
    ("2/1", 0, (64, 32)),  # pixels twice as wide as high: widened
    ("1/2", 0, (32, 64)),  # twice as high: heightened, never narrowed
    ("2/1", 90, (64, 32)),  # widened along its rows, then turned upright: 32x64
])  # fmt: skip
def test_pixels_that_are_not_square_are_read_at_the_size_they_are_shown(
    tmp_path, sar, rotation, shown
):
    picture = _patches(*shown)  # what a player shows, before the rotation tag
    stored = tmp_path / "stored.mp4"  # 32x32 pixels stretched to ``shown`` by their SAR
    _ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{shown[0]}x{shown[1]}", "-i", "-",
            "-vf", f"scale=32:32,setsar={sar}", "-c:v", "libx264", "-qp", "0", "-pix_fmt",
            "yuv444p", str(stored), input=picture.tobytes() * 2)  # fmt: skip
    clip = tmp_path / "clip.mp4"
    _ffmpeg("-display_rotation", str(rotation), "-i", str(stored), "-c", "copy", str(clip))
    assert "32x32 [SAR" in _stream_line(clip)
    read = frames.open_clip(clip)
    first = next(read.frames())
    upright = np.rot90(picture) if rotation else picture  # 90 degrees to the left
    assert read.size == (upright.shape[1], upright.shape[0]) and first.shape == upright.shape
    unturned = np.rot90(first, -1) if rotation else first  # the patches side by side again
    assert np.abs(_centres(unturned).astype(int) - PATCHES).max() <= 4


def test_gif_output_has_every_frame(tmp_path):
    path = tmp_path / "out.gif"
    frames.write_video(path, iter(_frames(4)), 10.0)
    with Image.open(path) as picture:
        assert picture.n_frames == 4 and picture.info["duration"] == 100


@pytest.mark.parametrize(("fps", "delays"), [
    (10.0, [100] * 4), (25.0, [40] * 4), (8.0, [120, 130, 130, 120]),
    (30000 / 1001, [30, 40, 30, 30, 40, 30]), (60.0, [20, 20, 20]),  # 20 ms at the least
])  # fmt: skip
def test_gif_delays_are_centiseconds_that_keep_the_clip_s_length(fps, delays):
    assert frames.gif_delays(len(delays), fps) == delays


def test_a_gif_of_a_29_97_fps_clip_lasts_as_long_as_the_clip(tmp_path):
    path = tmp_path / "ntsc.gif"
    frames.write_video(path, iter(_frames(30)), 30000 / 1001)  # 1.001 s
    with Image.open(path) as picture:
        total = 0
        for index in range(picture.n_frames):
            picture.seek(index)
            total += picture.info["duration"]
    assert picture.n_frames == 30 and total == 1000  # 900 when every delay was 30 ms


def test_frame_digest_sees_every_pixel_and_the_shape():
    a = _frames(1)[0]
    b = a.copy()
    b[5, 5, 1] ^= 1
    assert frames.frame_digest(a) != frames.frame_digest(b)
    assert frames.frame_digest(a) != frames.frame_digest(a.reshape(40, 30, 3))
    assert frames.frame_digest(a) == frames.frame_digest(a.copy())


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.mp4", "no such file or folder"),
    (lambda p: (p / "junk.mp4").write_bytes(b"not a video") and p / "junk.mp4",
     "cannot read it as a video"),
    (lambda p: (p / "notes.txt").write_text("x") and p / "notes.txt", "not a video file"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no image files"),
])  # fmt: skip
def test_bad_clips_are_one_line_image_errors(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ImageError, match=message) as caught:
        frames.open_clip(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_a_sound_file_is_refused_as_having_no_video_stream(tmp_path):
    path = tmp_path / "sound.mp4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
               "sine=duration=0.5", path]  # fmt: skip
    subprocess.run(command, check=True)
    message = f"--content '{path}': cannot read it as a video (it has no video stream)"
    with pytest.raises(ImageError) as raised:
        frames.open_clip(path)
    assert str(raised.value) == message


def test_frames_of_different_sizes_are_refused(tmp_path):
    folder = _folder(tmp_path, _frames(3))
    Image.fromarray(_frames(1, 20, 20)[0]).save(folder / "f001.png")
    with pytest.raises(ImageError, match=r"f001\.png' is 20x20, but 'f000\.png' is 40x30"):
        frames.open_clip(folder)


# --- colours: BT.709 written and said, untagged clips decoded as players guess ------------

PATCHES = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [230, 200, 40],
                    [128, 128, 128], [40, 180, 200]], np.uint8)  # fmt: skip


def _patches(width, height):
    """(height, width, 3): the six PATCHES side by side, flat."""
    columns = np.arange(width) * len(PATCHES) // width
    return np.ascontiguousarray(np.broadcast_to(PATCHES[columns], (height, width, 3)))


def _centres(frame):
    """(6, 3) int: the middle pixel of each patch (4:2:0 chroma blurs only their edges)."""
    width = frame.shape[1]
    return np.array([frame[frame.shape[0] // 2, (2 * k + 1) * width // 12] for k in range(6)])


def _ffmpeg(*arguments, **kwargs):
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-v", "error", *arguments]
    return subprocess.run(command, check=True, capture_output=True, **kwargs)


def _decoded_with(path, matrix, size):
    """The first frame as ffmpeg decodes it with the YUV matrix ``matrix`` forced."""
    raw = _ffmpeg("-i", str(path), "-vf", f"scale=in_color_matrix={matrix}", "-frames:v", "1",
                  "-f", "rawvideo", "-pix_fmt", "rgb24", "-").stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3)


def _stream_line(path):
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                           capture_output=True, text=True)  # fmt: skip
    return next(line for line in probe.stderr.splitlines() if "Video:" in line)


@pytest.mark.parametrize("name", ["out.mp4", "out.webm"])
def test_a_written_video_has_bt709s_matrix_and_says_so(tmp_path, name):
    path = tmp_path / name
    frames.write_video(path, iter([_patches(96, 48)] * 2), 10.0)
    assert "yuv420p(tv, bt709," in _stream_line(path)  # matrix, primaries, transfer: 709
    as_709 = _centres(_decoded_with(path, "bt709", (96, 48))).astype(int)
    assert np.abs(as_709 - PATCHES).max() <= 4
    as_601 = _centres(_decoded_with(path, "bt601", (96, 48))).astype(int)
    assert np.abs(as_601 - PATCHES).max() > 15  # so the first check tells the two apart
    read = _centres(next(frames.open_clip(path).frames())).astype(int)
    assert np.abs(read - PATCHES).max() <= 4


@pytest.mark.parametrize(
    ("size", "matrix", "assumed"), [((1280, 720), "bt709", "bt709"), ((640, 360), "bt601", None)]
)
def test_an_untagged_clip_is_read_with_the_matrix_players_guess_for_its_size(
    tmp_path, size, matrix, assumed
):
    path = tmp_path / "untagged.mp4"
    encode = (f"scale=out_color_matrix={matrix}:out_range=tv,format=yuv420p,"
              "setparams=colorspace=unknown:range=unknown")  # fmt: skip
    _ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-i", "-",
            "-vf", encode, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path),
            input=_patches(*size).tobytes() * 2)  # fmt: skip
    assert "yuv420p(progressive)" in _stream_line(path)  # no matrix named
    clip = frames.open_clip(path)
    assert clip.decoding.scale == (f"in_color_matrix={assumed}" if assumed else None)
    read = _centres(next(clip.frames())).astype(int)
    assert np.abs(read - PATCHES).max() <= 4
    plain = next(frames.Clip(path, clip.count, clip.size, None, False).frames())
    decoded_as_ffmpeg_guesses = _centres(plain).astype(int)
    assert bool(np.abs(decoded_as_ffmpeg_guesses - PATCHES).max() > 15) is (assumed is not None)
