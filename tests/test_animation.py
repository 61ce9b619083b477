"""Tests for stylize.animation: frames counted from headers, and animations read frame by
frame as stylize.images reads a still."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PIL import Image

from stylize import animation, images
from stylize.errors import ImageError


def gradient(width: int, height: int, shift: int = 0) -> np.ndarray:
    """A (height, width, 3) uint8 gradient, rolled ``shift`` pixels sideways."""
    y, x = np.mgrid[0:height, 0:width]
    picture = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                        np.full_like(x, 90)], axis=-1).astype(np.uint8)  # fmt: skip
    return np.roll(picture, shift, axis=1)


def frames(count: int, width: int = 40, height: int = 30) -> list[Image.Image]:
    """``count`` different RGB frames."""
    return [Image.fromarray(gradient(width, height, 7 * i)) for i in range(count)]


def save_animation(path, pictures, duration: int = 100) -> None:
    lossless = {"lossless": True} if path.suffix == ".webp" else {}
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=duration,
                     **lossless)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kind"),
    [("moving.gif", "GIF"), ("moving.png", "PNG"), ("moving.webp", "WEBP"), ("pages.tif", "TIFF")],
)
def test_frames_and_pages_are_counted_from_the_headers(tmp_path, name, kind):  # fmt: skip
    path = tmp_path / name
    save_animation(path, frames(4))
    assert animation.frame_count(path) == (4, kind)
    assert animation.is_animation(path) == (kind in ("PNG", "WEBP"))


def test_frame_count_of_stills_and_of_files_it_cannot_open(tmp_path):
    still = tmp_path / "still.gif"
    Image.fromarray(gradient(20, 20)).save(still)
    jpeg = tmp_path / "photo.jpg"
    Image.fromarray(gradient(20, 20)).save(jpeg)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    assert animation.frame_count(still) == (1, "GIF")
    assert animation.frame_count(jpeg) == (1, "JPEG")
    assert animation.frame_count(text) == (1, None)
    assert animation.frame_count(tmp_path / "missing.png") == (1, None)
    assert animation.frame_count(tmp_path) == (1, None)
    assert not animation.is_animation(still) and not animation.is_animation(text)
    fifo = tmp_path / "pipe.gif"
    os.mkfifo(fifo)  # opening it to read waits for a writer
    counted = []
    reader = threading.Thread(target=lambda: counted.append(animation.frame_count(fifo)),
                              daemon=True)  # fmt: skip
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # blocked in open(): let it go, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert counted == [(1, None)]


def test_frame_count_of_a_heif_of_two_images_is_one(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    first, second = frames(2, 64, 48)
    path = tmp_path / "two.heic"
    images.pillow_formats()  # registers the opener
    first.save(path, format="HEIF", save_all=True, append_images=[second], quality=-1)
    assert len(pillow_heif.open_heif(path)) == 2
    assert animation.frame_count(path) == (1, "HEIF")


@pytest.mark.parametrize("name", ["moving.png", "moving.webp"])
def test_an_animation_gives_every_frame_from_any_start(tmp_path, name):
    path = tmp_path / name
    pictures = frames(5)
    save_animation(path, pictures, duration=40)
    assert animation.animation_clip(path, "clip") == (5, (40, 30), (0.04,) * 5)
    read = list(animation.animation_frames(path))
    assert len(read) == 5
    for frame, picture in zip(read, pictures, strict=True):  # both formats lossless here
        assert frame.dtype == np.uint8 and frame.shape == (30, 40, 3)
        np.testing.assert_array_equal(frame, np.array(picture))
    later = list(animation.animation_frames(path, start=3))
    assert len(later) == 2
    np.testing.assert_array_equal(later[0], read[3])
    np.testing.assert_array_equal(later[1], read[4])


def test_transparent_frames_are_over_white(tmp_path):
    path = tmp_path / "fading.png"
    pictures = []
    for alpha in (255, 0):
        rgba = np.dstack([gradient(40, 30), np.full((30, 40), alpha, np.uint8)])
        pictures.append(Image.fromarray(rgba, "RGBA"))
    pictures[0].save(
        path, save_all=True, append_images=pictures[1:], duration=100, disposal=1
    )  # fmt: skip (disposal 1: each frame on a cleared canvas)
    first, second = animation.animation_frames(path)
    np.testing.assert_array_equal(first, gradient(40, 30))
    assert (second == 255).all()


def test_an_animation_without_durations_gives_zero_seconds(tmp_path):
    path = tmp_path / "moving.png"
    pictures = frames(2)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=0)
    assert animation.animation_clip(path, "clip")[2] == (0.0, 0.0)


@pytest.mark.parametrize("name", ["held.png", "held.webp"])
def test_each_frame_of_an_animation_keeps_its_own_duration(tmp_path, name):
    path = tmp_path / name
    pictures = frames(4)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], lossless=True,
                     duration=[100, 100, 1000, 200])  # fmt: skip
    assert animation.animation_clip(path, "clip") == (4, (40, 30), (0.1, 0.1, 1.0, 0.2))


@pytest.mark.parametrize(("name", "message"), [
    ("cut.png", r"frame [0-9] of '{path}': truncated or corrupt image data \("),
    ("cut.webp", r"'{path}': cannot read it as an animation \("),  # its decoder reads it all
])  # fmt: skip
def test_a_truncated_animation_is_one_error_naming_the_file(tmp_path, name, message):
    path = tmp_path / name
    save_animation(path, frames(4, 64, 48))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    with pytest.raises(ImageError, match=message.format(path=path)) as raised:
        list(animation.animation_frames(path))
    assert "\n" not in str(raised.value)


def test_a_canvas_over_the_decompression_bomb_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "moving.png"
    save_animation(path, frames(2))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40 * 30 - 1)  # 40x30 is over it
    with pytest.raises(ImageError, match="clip: cannot read it as an animation"):
        animation.animation_clip(path, "clip")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40 * 30)
    assert animation.animation_clip(path, "clip")[0] == 2
