"""8- and 16-bit pixel types and 16-bit PNG and TIFF encoding, read back by OpenCV and
Pillow, which write and read independently of each other here."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from stylize import bit_depth


def _rgb16(seed: int = 0, height: int = 13, width: int = 17) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, (height, width, 3), dtype=np.uint16)


def test_pixel_types_and_their_levels():
    assert bit_depth.dtype_of(8) is np.uint8 and bit_depth.dtype_of(16) is np.uint16
    assert bit_depth.max_level(np.uint8) == 255 and bit_depth.max_level(np.uint16) == 65535
    assert bit_depth.levels_per_8bit(np.zeros((1, 1, 3), np.uint16)) == 257
    assert bit_depth.levels_per_8bit(np.zeros((1, 1, 3), np.uint8)) == 1
    with pytest.raises(ValueError, match="8 or 16"):
        bit_depth.dtype_of(12)


def test_widening_is_exact_and_as_8bit_undoes_it():
    every = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    wide = bit_depth.widened(every, np.uint16)
    assert wide.dtype == np.uint16 and wide.max() == 65535
    np.testing.assert_array_equal(wide, every.astype(np.int64) * 257)
    np.testing.assert_array_equal(bit_depth.as_8bit(wide), every)
    assert bit_depth.widened(every, np.uint8) is every
    assert bit_depth.as_8bit(every) is every


def test_at_levels_of_widens_narrows_or_keeps():
    every = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    exact = every.astype(np.uint16) * 257
    wide = (exact + np.where(every < 255, 100, -100)).astype(np.uint16)  # under half a level
    np.testing.assert_array_equal(bit_depth.at_levels_of(every, np.uint16), exact)
    np.testing.assert_array_equal(bit_depth.at_levels_of(wide, np.uint8), every)  # rounded
    assert bit_depth.at_levels_of(wide, np.uint16) is wide
    assert bit_depth.at_levels_of(every, np.uint8) is every


def test_as_8bit_rounds_to_the_nearest_level():
    levels = np.array([[[0, 128, 129], [256, 257, 385], [386, 65406, 65535]]], np.uint16)
    expected = np.rint(levels / 257).astype(np.uint8)  # 128/257 is under half a level
    np.testing.assert_array_equal(bit_depth.as_8bit(levels), expected)
    np.testing.assert_array_equal(expected[0], [[0, 0, 1], [1, 1, 1], [2, 254, 255]])


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff"])
def test_16bit_files_read_back_exactly(suffix):
    image = _rgb16()
    data = bit_depth.encode_16bit(image, suffix)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded[:, :, ::-1], image)  # OpenCV reads BGR


def test_a_16bit_tiff_is_rgb_lzw_at_72_pixels_per_inch():
    image = _rgb16(1)
    with Image.open(io.BytesIO(bit_depth.encode_16bit(image, ".tif"))) as tiff:
        tags = tiff.tag_v2
        assert tags[258] == (16, 16, 16) and tags[262] == 2  # bits per sample, RGB
        assert tiff.info["compression"] == "tiff_lzw"
        assert tiff.info["dpi"] == (72, 72)


def test_a_16bit_png_says_so_in_its_header():
    data = bit_depth.encode_16bit(_rgb16(2), ".png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert data[24:26] == bytes([16, 2])  # bit depth 16, colour type 2 (RGB)


def test_other_formats_are_refused():
    with pytest.raises(ValueError, match="PNG or TIFF"):
        bit_depth.encode_16bit(_rgb16(), ".jpg")
