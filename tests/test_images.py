"""Tests for stylize.images on small synthetic files written into tmp_path."""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import PIL
import pytest
from PIL import Image, ImageFile

from stylize import icc, images
from stylize.errors import ImageError, InputError

FORMATS = {
    ".png": "PNG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
}
LOSSLESS = (".png", ".bmp", ".tif", ".tiff")
LOSSY = (".jpg", ".jpeg", ".webp")


def gradient(width: int, height: int) -> np.ndarray:
    """A smooth (height, width, 3) uint8 image that lossy codecs reproduce closely."""
    y, x = np.mgrid[0:height, 0:width]
    red = x * 255 / max(width - 1, 1)
    green = y * 255 / max(height - 1, 1)
    blue = np.full_like(red, 90.0)
    return np.rint(np.stack([red, green, blue], axis=-1)).astype(np.uint8)


def encoded(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write_png16_rgb(path: Path, array: np.ndarray) -> None:
    """Write an (H, W, 3) uint16 array as a 16-bit-per-channel RGB PNG, chunk by chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    height, width, _ = array.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in array)
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def mode_of(path: Path) -> str:
    with Image.open(path) as picture:
        return picture.mode


def load_error(path, **kwargs) -> str:
    """Load ``path`` expecting ImageError; return its message after checking it is one line."""
    with pytest.raises(ImageError) as caught:
        images.load_image(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    assert Path(path).name in message
    return message


# --- constants ----------------------------------------------------------------------------


def test_extension_sets_are_lowercase_frozensets():
    expected = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
    assert isinstance(images.READ_EXTENSIONS, frozenset)
    assert isinstance(images.WRITE_EXTENSIONS, frozenset)
    assert images.READ_EXTENSIONS == expected | {".gif", ".heic", ".heif", ".avif"}  # read only
    assert images.WRITE_EXTENSIONS == expected
    assert images.MIN_SIDE == 16


def test_image_error_is_an_input_error_with_exit_code_2():
    assert issubclass(ImageError, InputError)
    assert ImageError.exit_code == 2


def test_module_does_not_import_tensorflow():
    source = Path(images.__file__).read_text()
    assert "tensorflow" not in source


# --- load_image: conversions --------------------------------------------------------------


@pytest.mark.parametrize("suffix", LOSSLESS)
def test_load_rgb_lossless_exactly(tmp_path, suffix):
    array = gradient(40, 24)
    path = tmp_path / f"picture{suffix}"
    Image.fromarray(array).save(path)
    loaded = images.load_image(path)
    assert loaded.dtype == np.uint8
    assert loaded.shape == (24, 40, 3)
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize("suffix", LOSSY)
def test_load_rgb_lossy_approximately(tmp_path, suffix):
    array = gradient(40, 24)
    path = tmp_path / f"picture{suffix}"
    Image.fromarray(array).save(path, quality=95)
    loaded = images.load_image(path)
    assert loaded.shape == (24, 40, 3)
    assert np.abs(loaded.astype(int) - array).mean() < 3


def test_load_returns_a_writable_array(tmp_path):
    path = tmp_path / "picture.png"
    Image.fromarray(gradient(20, 20)).save(path)
    loaded = images.load_image(path)
    assert loaded.flags.writeable
    loaded[0, 0] = 0  # must not raise


def test_load_accepts_a_string_path(tmp_path):
    path = tmp_path / "picture.png"
    Image.fromarray(gradient(20, 18)).save(path)
    assert images.load_image(str(path)).shape == (18, 20, 3)


def test_load_grayscale_repeats_the_channel(tmp_path):
    gray = gradient(30, 20)[:, :, 0]
    path = tmp_path / "gray.png"
    Image.fromarray(gray, mode="L").save(path)
    loaded = images.load_image(path)
    assert loaded.shape == (20, 30, 3)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[:, :, channel], gray)


def test_load_grayscale_with_alpha_composites_on_white(tmp_path):
    gray = np.full((20, 20), 0, dtype=np.uint8)
    alpha = np.zeros((20, 20), dtype=np.uint8)
    alpha[:, 10:] = 255
    path = tmp_path / "gray_alpha.png"
    Image.fromarray(np.stack([gray, alpha], axis=-1), mode="LA").save(path)
    loaded = images.load_image(path)
    np.testing.assert_array_equal(loaded[:, :10], 255)  # transparent black shows as white
    np.testing.assert_array_equal(loaded[:, 10:], 0)


def test_load_palette_uses_palette_colours(tmp_path):
    picture = Image.new("P", (20, 20), 0)
    picture.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    picture.paste(1, (10, 0, 20, 20))
    path = tmp_path / "palette.png"
    picture.save(path)
    loaded = images.load_image(path)
    np.testing.assert_array_equal(loaded[:, :10], np.broadcast_to([255, 0, 0], (20, 10, 3)))
    np.testing.assert_array_equal(loaded[:, 10:], np.broadcast_to([0, 0, 255], (20, 10, 3)))


def test_load_palette_transparency_composites_on_white(tmp_path):
    picture = Image.new("P", (20, 20), 0)
    picture.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    picture.paste(1, (10, 0, 20, 20))
    path = tmp_path / "palette_transparent.png"
    picture.save(path, transparency=0)
    loaded = images.load_image(path)
    np.testing.assert_array_equal(loaded[:, :10], 255)
    np.testing.assert_array_equal(loaded[:, 10:], np.broadcast_to([0, 0, 255], (20, 10, 3)))


def test_load_rgba_composites_on_white(tmp_path):
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red everywhere
    rgba[:, :10, 3] = 0  # left half fully transparent
    rgba[:, 10:15, 3] = 128  # a half-transparent band
    rgba[:, 15:, 3] = 255  # right quarter opaque
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    loaded = images.load_image(path).astype(int)
    np.testing.assert_array_equal(loaded[:, :10], 255)
    np.testing.assert_array_equal(loaded[:, 15:], np.broadcast_to([200, 0, 0], (20, 5, 3)))
    half = loaded[:, 10:15]
    assert np.all(np.abs(half[..., 0] - 228) <= 1)  # 200 * 0.5 + 255 * 0.5
    assert np.all(np.abs(half[..., 1] - 127) <= 1)  # 0 * 0.5 + 255 * 0.5


def test_load_cmyk_converts_to_rgb(tmp_path):
    cmyk = np.zeros((20, 20, 4), dtype=np.uint8)
    cmyk[:, 10:, 0] = 255  # full cyan on the right
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(cmyk, mode="CMYK").save(path, quality=95)
    loaded = images.load_image(path).astype(int)
    assert loaded.shape == (20, 20, 3)
    assert np.all(loaded[:, :8] > 240)  # no ink: white
    right = loaded[:, 12:]
    assert np.all(right[..., 0] < 15) and np.all(right[..., 1:] > 240)  # cyan: (0, 255, 255)


def test_load_16bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([0, 1000, 30000, 32896, 65535], dtype=np.uint16)
    gray = np.tile(np.repeat(values, 4), (16, 1))  # 16 x 20
    path = tmp_path / "gray16.png"
    Image.fromarray(gray).save(path)
    assert mode_of(path) in ("I;16", "I")  # really a 16-bit file
    loaded = images.load_image(path)
    expected = np.array([0, 4, 117, 128, 255], dtype=np.uint8)
    np.testing.assert_array_equal(loaded[0, ::4, 0], expected)
    np.testing.assert_array_equal(loaded[..., 1], loaded[..., 2])


def test_load_16bit_big_endian_tiff(tmp_path):
    gray = np.tile(np.linspace(0, 65535, 20).astype(np.uint16), (16, 1))
    picture = Image.frombytes("I;16B", (20, 16), gray.astype(">u2").tobytes())
    path = tmp_path / "gray16b.tif"
    picture.save(path)
    assert mode_of(path) == "I;16B"
    loaded = images.load_image(path)
    np.testing.assert_array_equal(loaded[..., 0], np.rint(gray / 257).astype(np.uint8))


def tiff_of_gray(gray: np.ndarray, sample_format: int) -> bytes:
    """An uncompressed little-endian one-sample TIFF of ``gray`` (its dtype's bits),
    SampleFormat ``sample_format`` (1 unsigned, 2 signed, 3 floating point)."""
    height, width = gray.shape
    data = gray.astype(gray.dtype.newbyteorder("<")).tobytes()
    tags = [(256, width), (257, height), (258, gray.dtype.itemsize * 8), (259, 1), (262, 1),
            (273, 8), (277, 1), (278, height), (279, len(data)), (339, sample_format)]  # fmt: skip
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHII", tag, 4, 1, value) for tag, value in tags
    )
    return b"II*\0" + struct.pack("<I", 8 + len(data)) + data + ifd + struct.pack("<I", 0)


@pytest.mark.parametrize(("dtype", "sample_format", "mode", "samples"), [
    (np.float32, 3, "F", "floating-point samples"),
    (np.int32, 2, "I", "32-bit signed integer samples"),
    (np.uint32, 1, "I", "32-bit integer samples"),
    (np.int16, 2, "I", "16-bit signed integer samples"),
])  # fmt: skip
def test_samples_of_no_defined_range_are_refused(tmp_path, dtype, sample_format, mode, samples):
    y, x = np.mgrid[0:16, 0:24]
    path = tmp_path / "ramp.tif"
    path.write_bytes(tiff_of_gray((x / 23 * (1 if mode == "F" else 30000)).astype(dtype),
                                  sample_format))  # fmt: skip
    assert mode_of(path) == mode
    for bit_depth in (8, 16):
        with pytest.raises(ImageError) as caught:
            images.load_image(path, role="content image", bit_depth=bit_depth)
        assert str(caught.value) == (
            f"content image '{path}': {samples} are not supported, their range of values"
            " being undefined (expected 8- or 16-bit unsigned integer samples)"
        )


def test_a_float_tiff_as_pillow_saves_it_is_refused(tmp_path):
    y, x = np.mgrid[0:32, 0:48]
    path = tmp_path / "ramp.tif"
    Image.fromarray((x / 47).astype(np.float32), "F").save(path)  # 0..1, read as black before
    with pytest.raises(ImageError, match="floating-point samples are not supported"):
        images.load_image(path)
    with Image.open(path) as picture, pytest.raises(ImageError, match="^frame: floating"):
        images.picture_to_rgb(picture, "frame", colour_managed=True)


def test_load_16bit_rgb_png(tmp_path):
    rng = np.random.default_rng(3)
    rgb16 = rng.integers(0, 65536, size=(16, 20, 3), dtype=np.uint16)
    rgb16[0, 0] = (0, 32896, 65535)
    path = tmp_path / "rgb16.png"
    write_png16_rgb(path, rgb16)
    loaded = images.load_image(path)
    assert loaded.shape == (16, 20, 3) and loaded.dtype == np.uint8
    assert np.abs(loaded.astype(int) - rgb16 / 257).max() <= 1
    np.testing.assert_array_equal(loaded[0, 0], [0, 128, 255])


def test_load_applies_exif_orientation(tmp_path):
    stored = np.zeros((20, 40, 3), dtype=np.uint8)  # 40 wide, 20 high as stored
    stored[:, :20] = (255, 0, 0)  # left half red
    stored[:, 20:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    loaded = images.load_image(path).astype(int)
    assert loaded.shape == (40, 20, 3)
    assert loaded[5, 10, 0] > 200 and loaded[5, 10, 2] < 50  # the left half is now on top
    assert loaded[35, 10, 2] > 200 and loaded[35, 10, 0] < 50


# --- HEIC (pillow-heif) and AVIF (Pillow where it can) -------------------------------------


def _can_write(suffix: str) -> None:
    """Register the HEIF plugin (stylize does so when it first reads an image); skip an AVIF
    test where this Pillow has no AVIF codec (the oldest Pillow stylize allows)."""
    formats = images.pillow_formats()
    if suffix == ".avif" and "AVIF" not in formats:
        pytest.skip(f"Pillow {PIL.__version__} has no AVIF codec")


def test_load_reads_a_lossless_heic_exactly(tmp_path):
    _can_write(".heic")
    picture = gradient(48, 32)
    path = tmp_path / "photo.HEIC"
    # 4:4:4 and matrix 0 (RGB itself): lossless HEVC returns every value
    Image.fromarray(picture).save(path, quality=-1, chroma=444, matrix_coefficients=0)
    np.testing.assert_array_equal(images.load_image(path), picture)
    assert images.image_size(path) == (48, 32)


# Display P3's primaries and D65 white (x, y), as an nclx box with ColourPrimaries 12 says
P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.3127, 0.3290))
BT709 = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.3290))


def _rgb_to_xyz(primaries_and_white) -> np.ndarray:
    *primaries, white = primaries_and_white
    xyz = np.array([[x / y, 1, (1 - x - y) / y] for x, y in [*primaries, white]]).T
    return xyz[:, :3] * np.linalg.solve(xyz[:, :3], xyz[:, 3])


def _heic_with_nclx(path, picture, primaries: int, transfer: int) -> None:
    nclx = {"color_primaries": primaries, "transfer_characteristics": transfer,
            "matrix_coefficients": 0, "full_range_flag": 1}  # fmt: skip
    Image.fromarray(picture).save(path, quality=-1, chroma=444, nclx_profile=nclx)


def test_load_converts_a_heics_nclx_display_p3_to_srgb(tmp_path):
    """A HEIC that gives its colours as nclx codes (ColourPrimaries 12, Display P3, and
    sRGB's curve) rather than an ICC profile, as some phones and encoders write them."""
    _can_write(".heic")
    path = tmp_path / "p3.heic"
    _heic_with_nclx(path, every_level(), primaries=12, transfer=13)
    stored = images.load_image(path, colour_managed=False)
    np.testing.assert_array_equal(stored, every_level())  # lossless: the codes as written
    # both whites are D65: P3's linear light -> XYZ -> sRGB's linear light, clipped
    to_srgb = np.linalg.inv(_rgb_to_xyz(BT709)) @ _rgb_to_xyz(P3)
    curve = stored / 255.0
    linear = np.where(curve <= 0.04045, curve / 12.92, ((curve + 0.055) / 1.055) ** 2.4)
    expected = srgb_encoded(np.clip(linear @ to_srgb.T, 0.0, 1.0))
    assert np.abs(expected - stored).max() > 20  # P3's greens and reds lie outside sRGB
    assert_within_one(images.load_image(path), expected)


@pytest.mark.parametrize(("primaries", "transfer"), [(1, 13), (2, 13), (12, 16)])
def test_load_keeps_a_heic_whose_nclx_says_srgb_or_is_not_converted(tmp_path, primaries,
                                                                    transfer):  # fmt: skip
    _can_write(".heic")
    path = tmp_path / "kept.heic"
    _heic_with_nclx(path, every_level(), primaries=primaries, transfer=transfer)
    np.testing.assert_array_equal(images.load_image(path), every_level())  # 16: PQ, HDR


def test_load_reads_avif(tmp_path):
    _can_write(".avif")
    picture = gradient(48, 32)
    Image.fromarray(picture).save(tmp_path / "photo.avif", quality=95)
    loaded = images.load_image(tmp_path / "photo.avif").astype(int)
    assert np.abs(loaded - picture).mean() < 2 and loaded.shape == (32, 48, 3)


def test_a_heics_rotation_is_applied_once(tmp_path):
    _can_write(".heic")
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:, :20] = (255, 0, 0)  # left half red
    stored[:, 20:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # as bytes, pillow-heif stores it as HEIF's rotation (irot) as well
    path = tmp_path / "rotated.heic"
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95)
    loaded = images.load_image(path).astype(int)
    assert loaded.shape == (40, 20, 3) and images.image_size(path) == (20, 40)
    assert loaded[5, 10, 0] > 200 and loaded[5, 10, 2] < 50  # the left half is now on top
    assert loaded[35, 10, 2] > 200 and loaded[35, 10, 0] < 50


@pytest.mark.parametrize(("brand", "missing", "message"), [
    (b"heic", "HEIF", r"a HEIC image, which needs pillow-heif \(pip install pillow-heif\)"),
    (b"mif1", "HEIF", "a HEIC image, which needs pillow-heif"),
    (b"avif", "AVIF", r"an AVIF image, which this Pillow \([0-9.]+\) cannot read; its wheels"
                      r" can from 11.3 \(pip install -U pillow\)"),
])  # fmt: skip
def test_a_heic_or_avif_that_cannot_be_read_here_says_so(tmp_path, monkeypatch, brand,
                                                          missing, message):  # fmt: skip
    formats = tuple(f for f in ("JPEG", "PNG", "BMP", "TIFF", "WEBP") if f != missing)
    monkeypatch.setattr(images, "pillow_formats", lambda: formats)
    path = tmp_path / "photo.bin"
    path.write_bytes(struct.pack(">I", 24) + b"ftyp" + brand + b"\0" * 12 + b"junk" * 8)
    with pytest.raises(ImageError, match=f"content image '{path}': {message} "):
        images.load_image(path, role="content image")
    path.write_bytes(b"\0\0\0\x18ftypqt  " + b"\0" * 40)  # another ISO BMFF file: no hint
    with pytest.raises(ImageError, match=r"not a readable image \(expected JPEG, PNG, BMP,"
                                         r" TIFF, WebP, GIF, HEIC or AVIF\)"):  # fmt: skip
        images.load_image(path, role="content image")


# --- colour profiles ------------------------------------------------------------------------

GAMMA_22 = 563 / 256  # 2.2 as an ICC curve of one u8Fixed8 value stores it


def srgb_encoded(linear) -> np.ndarray:
    """Linear light 0..1 -> sRGB's 8-bit code values (IEC 61966-2-1), rounded, as int."""
    linear = np.asarray(linear, np.float64)
    curve = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.rint(255 * curve).astype(int)


def every_level() -> np.ndarray:
    """(16, 256, 3) uint8: each channel runs through all 256 levels, out of step."""
    level = np.arange(256, dtype=np.uint8)
    return np.tile(np.stack([level, np.roll(level, 85), np.roll(level, 170)], -1), (16, 1, 1))


def assert_within_one(loaded: np.ndarray, expected: np.ndarray) -> None:
    # LittleCMS interpolates 8-bit transforms: a level off is its rounding, not an error
    assert np.abs(loaded.astype(int) - expected).max() <= 1


# Adobe RGB (1998)'s primaries adapted to D50, as its ICC profile states them
ADOBE_RGB_COLORANTS = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg", ".webp", ".heic", ".avif"])
def test_load_converts_an_embedded_profile_to_srgb(tmp_path, icc_profile, suffix):
    _can_write(suffix)
    path = tmp_path / f"adobe{suffix}"
    profile = icc_profile("Adobe RGB-like", gamma=GAMMA_22, colorants=ADOBE_RGB_COLORANTS)
    Image.fromarray(every_level()).save(path, icc_profile=profile, quality=95)
    stored = images.load_image(path, colour_managed=False)  # the values as decoded
    # code values -> linear light -> XYZ (D50) -> linear sRGB, out-of-gamut clipped -> sRGB
    to_srgb = np.linalg.inv(np.transpose(icc_profile.srgb_colorants)) @ np.transpose(
        ADOBE_RGB_COLORANTS
    )
    linear = np.clip(((stored / 255.0) ** GAMMA_22) @ to_srgb.T, 0.0, 1.0)
    expected = srgb_encoded(linear)
    assert np.abs(expected - stored).max() > 40  # Adobe RGB's greens lie far outside sRGB
    assert_within_one(images.load_image(path), expected)


def test_load_takes_the_primaries_from_the_profile(tmp_path, icc_profile):
    red, green, blue = icc_profile.srgb_colorants
    path = tmp_path / "swapped.png"
    swapped = icc_profile("red and green swapped", colorants=(green, red, blue))
    Image.fromarray(every_level()).save(path, icc_profile=swapped)
    loaded = images.load_image(path)
    # the file's red is sRGB's green and the curves are linear: sRGB's own curve applied
    assert_within_one(loaded[..., [1, 0, 2]], srgb_encoded(every_level() / 255.0))


def test_load_converts_a_grayscale_profile(tmp_path, icc_profile):
    level = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    path = tmp_path / "gray.png"
    profile = icc_profile("Gray, gamma 2.2", GAMMA_22, space=b"GRAY")
    Image.fromarray(level).save(path, icc_profile=profile)
    loaded = images.load_image(path)
    expected = srgb_encoded((level / 255.0) ** GAMMA_22)
    assert_within_one(loaded, np.repeat(expected[:, :, None], 3, axis=2))


def test_load_converts_palette_and_transparent_images(tmp_path, icc_profile):
    profile = icc_profile("RGB, gamma 2.2", gamma=GAMMA_22)
    colours = np.array([[[40, 90, 200], [250, 128, 10]]], dtype=np.uint8).repeat(16, 0)
    colours = colours.repeat(8, 1)  # 16 x 16: two colours, side by side
    expected = srgb_encoded((colours / 255.0) ** GAMMA_22)
    palette = tmp_path / "palette.png"
    Image.fromarray(colours).convert("P", palette=Image.Palette.ADAPTIVE, colors=2).save(
        palette, icc_profile=profile
    )
    assert mode_of(palette) == "P"
    assert_within_one(images.load_image(palette), expected)
    rgba = np.dstack([colours, np.full((16, 16), 255, np.uint8)])
    rgba[:, :4, 3] = 0  # a transparent stripe: white, which the conversion keeps white
    transparent = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(transparent, icc_profile=profile)
    loaded = images.load_image(transparent)
    np.testing.assert_array_equal(loaded[:, :4], np.full((16, 4, 3), 255))
    assert_within_one(loaded[:, 4:], expected[:, 4:])


def test_load_converts_gray_with_alpha_through_its_gray_profile(tmp_path, icc_profile):
    level = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (16, 1))  # 16 x 64
    alpha = np.full_like(level, 255)
    alpha[:, :8] = 0  # transparent: white
    path = tmp_path / "gray_alpha.png"
    profile = icc_profile("Gray, gamma 2.2", GAMMA_22, space=b"GRAY")
    Image.fromarray(np.dstack([level, alpha]), mode="LA").save(path, icc_profile=profile)
    assert mode_of(path) == "LA"
    loaded = images.load_image(path)
    np.testing.assert_array_equal(loaded[:, :8], np.full((16, 8, 3), 255))
    expected = srgb_encoded((level[:, 8:] / 255.0) ** GAMMA_22)
    assert_within_one(loaded[:, 8:], np.repeat(expected[:, :, None], 3, axis=2))


def test_load_keeps_the_profile_through_exif_rotation(tmp_path, icc_profile):
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees clockwise
    path = tmp_path / "rotated.jpg"
    profile = icc_profile("RGB, gamma 2.2", gamma=GAMMA_22)
    Image.fromarray(every_level()).save(path, exif=exif, quality=95, icc_profile=profile)
    stored = images.load_image(path, colour_managed=False)
    assert stored.shape == (256, 16, 3)
    assert_within_one(images.load_image(path), srgb_encoded((stored / 255.0) ** GAMMA_22))


def test_load_leaves_an_srgb_profile_alone(tmp_path, icc_profile):
    """A profile named sRGB is taken at its word, even this one, whose gamma 2.2 curve is
    not quite sRGB's: the same file under another name is converted."""
    pixels = every_level()
    for name, changed in (("sRGB IEC61966-2.1", False), ("Generic RGB", True)):
        path = tmp_path / f"{name}.png"
        Image.fromarray(pixels).save(path, icc_profile=icc_profile(name, gamma=GAMMA_22))
        assert np.array_equal(images.load_image(path), pixels) is not changed


@pytest.mark.parametrize("why", ["unreadable", "gray profile on RGB", "no LittleCMS"])
def test_load_ignores_a_profile_it_cannot_apply(tmp_path, icc_profile, monkeypatch, why):
    profile = icc_profile("RGB, gamma 2.2", gamma=GAMMA_22)
    if why == "unreadable":
        profile = b"not an ICC profile" * 8
    elif why == "gray profile on RGB":
        profile = icc_profile("Gray, gamma 2.2", GAMMA_22, space=b"GRAY")
    else:
        monkeypatch.setattr(icc, "ImageCms", None)
    path = tmp_path / "ignored.png"
    Image.fromarray(every_level()).save(path, icc_profile=profile)
    np.testing.assert_array_equal(images.load_image(path), every_level())


def test_load_accepts_exactly_min_side(tmp_path):
    path = tmp_path / "square.png"
    Image.fromarray(gradient(images.MIN_SIDE, images.MIN_SIDE)).save(path)
    assert images.load_image(path).shape == (16, 16, 3)


def test_load_reads_by_content_not_extension(tmp_path):
    array = gradient(20, 20)
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(encoded(array, "PNG"))
    np.testing.assert_array_equal(images.load_image(path), array)


# --- load_image: errors -------------------------------------------------------------------


def test_load_missing_file(tmp_path):
    message = load_error(tmp_path / "absent.jpg", role="content image")
    assert message.startswith("content image '")
    assert "not found" in message


def test_load_default_role_is_image(tmp_path):
    message = load_error(tmp_path / "absent.png")
    assert message.startswith("image '")


def test_load_directory(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()
    assert "directory" in load_error(folder, role="style image")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_load_named_pipe_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    assert "not a regular file" in load_error(pipe)


def test_load_empty_file(tmp_path):
    path = tmp_path / "zero.jpg"
    path.write_bytes(b"")
    assert "file is empty" in load_error(path)


def test_load_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n" * 20)
    message = load_error(path, role="content image")
    assert "content image" in message
    assert "not a readable image" in message
    assert "JPEG, PNG, BMP, TIFF, WebP, GIF, HEIC or AVIF" in message


def test_a_file_that_cannot_be_read_is_named_so_by_size_and_by_load(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    path.write_bytes(encoded(gradient(8, 8), "PNG"))

    def denied(*args, **kwargs):  # what open() raises for a mode-000 file when not root
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(images.Image, "open", denied)
    with pytest.raises(ImageError) as raised:
        images.image_size(path, "frame")
    assert str(raised.value) == f"frame '{path}': cannot read file (Permission denied)"
    assert load_error(path, role="frame") == str(raised.value)


def test_image_size_of_a_text_file_says_what_load_says(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n" * 20)
    with pytest.raises(ImageError) as raised:
        images.image_size(path, "frame")
    assert str(raised.value) == load_error(path, role="frame")
    assert "not a readable image" in str(raised.value)


@pytest.mark.parametrize("fmt", ["PPM", "ICO", "PCX"])
def test_load_refuses_other_formats(tmp_path, fmt):
    path = tmp_path / f"picture.{fmt.lower()}"
    path.write_bytes(encoded(gradient(20, 20), fmt))
    assert Image.open(path).format == fmt  # Pillow itself would read it
    assert "not a readable image" in load_error(path)


def test_load_gif_palette_and_transparency_over_white(tmp_path):
    palette = Image.fromarray(gradient(40, 30)).quantize(colors=64)
    indices = np.array(palette)
    clear = int(indices[0, 0])  # that colour's pixels are transparent
    path = tmp_path / "still.gif"
    palette.save(path, transparency=clear)
    loaded = images.load_image(path)
    expected = np.array(palette.convert("RGB"))
    expected[indices == clear] = 255
    assert (indices == clear).any() and (indices != clear).any()
    np.testing.assert_array_equal(loaded, expected)


def frames(count: int, width: int = 40, height: int = 30) -> list[Image.Image]:
    """``count`` different RGB frames, each a gradient rolled sideways."""
    return [Image.fromarray(np.roll(gradient(width, height), 7 * i, axis=1))
            for i in range(count)]  # fmt: skip


@pytest.mark.parametrize("name", ["moving.gif", "moving.png", "moving.webp", "pages.tif"])
def test_an_animation_or_a_multipage_file_gives_its_first_frame(tmp_path, name):
    path = tmp_path / name
    pictures = frames(4)
    lossless = {"lossless": True} if name.endswith(".webp") else {}
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=100,
                     **lossless)  # fmt: skip
    with Image.open(path) as opened:
        expected = np.array(opened.convert("RGB"))  # as the file stores the first frame
    np.testing.assert_array_equal(images.load_image(path), expected)
    if not name.endswith(".gif"):  # stored exactly: the first frame itself
        np.testing.assert_array_equal(expected, np.array(pictures[0]))


def test_load_truncated_jpeg(tmp_path):
    data = encoded(gradient(64, 64), "JPEG", quality=95)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in load_error(path)


def test_load_truncated_png_and_pillow_not_lenient(tmp_path):
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)  # poorly compressible
    data = encoded(noisy, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in load_error(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_load_decompression_bomb_error(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.fromarray(gradient(64, 64)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4096 pixels > 2 * 1000
    message = load_error(path)
    assert "too large" in message
    assert "4096" in message and "2000" in message


def test_load_decompression_bomb_warning_is_an_error(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.fromarray(gradient(64, 64)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # 3000 < 4096 <= 6000: a warning
    message = load_error(path)
    assert "too large" in message
    assert "4096" in message and "3000" in message


@pytest.mark.parametrize("size", [(15, 40), (40, 15), (1, 1)])
def test_load_too_small(tmp_path, size):
    path = tmp_path / "tiny.png"
    Image.fromarray(gradient(*size)).save(path)
    message = load_error(path, role="style image")
    assert f"{size[0]}x{size[1]}" in message
    assert "at least 16" in message


def test_load_too_small_is_judged_after_exif_rotation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated_small.jpg"
    Image.fromarray(gradient(40, 12)).save(path, exif=exif)
    assert "12x40" in load_error(path)


# --- fit_within ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "max_size", "expected"),
    [
        (4000, 3000, 512, (512, 384)),  # landscape
        (3000, 4000, 512, (384, 512)),  # portrait
        (1000, 1000, 256, (256, 256)),  # square
        (512, 300, 512, (512, 300)),  # already at the limit
        (100, 50, 512, (100, 50)),  # never scaled up
        (1001, 500, 100, (100, 50)),  # 49.95 rounds to 50
        (200, 5, 100, (100, 3)),  # 2.5 rounds half up
        (1000, 1, 10, (10, 1)),  # a side never drops below 1
        (1, 1000, 10, (1, 10)),
        (333, 333, 1, (1, 1)),
    ],
)
def test_fit_within(width, height, max_size, expected):
    assert images.fit_within(width, height, max_size) == expected


def test_fit_within_longest_side_is_exactly_max_size():
    for width in range(101, 3000, 37):
        result = images.fit_within(width, 97, 100)
        assert result[0] == 100
        assert abs(result[1] - 97 * 100 / width) <= 0.5


@pytest.mark.parametrize(("width", "height", "max_size"), [(0, 10, 10), (10, 0, 10), (10, 10, 0)])
def test_fit_within_rejects_non_positive_sizes(width, height, max_size):
    with pytest.raises(ValueError, match="positive"):
        images.fit_within(width, height, max_size)


# --- resize -------------------------------------------------------------------------------


def test_resize_takes_width_then_height():
    result = images.resize(gradient(40, 30), (20, 10))
    assert result.shape == (10, 20, 3)
    assert result.dtype == np.uint8


def test_resize_matches_pillow_lanczos():
    image = gradient(40, 30)
    expected = np.asarray(Image.fromarray(image).resize((17, 23), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(images.resize(image, (17, 23)), expected)


def test_resize_keeps_a_constant_image_constant():
    image = np.full((30, 40, 3), (10, 120, 250), dtype=np.uint8)
    result = images.resize(image, (80, 60))
    assert result.shape == (60, 80, 3)
    np.testing.assert_array_equal(result, np.broadcast_to([10, 120, 250], (60, 80, 3)))


def test_resize_to_the_same_size_returns_the_input():
    image = gradient(40, 30)
    assert images.resize(image, (40, 30)) is image


def test_resize_of_a_16bit_image_is_the_8bit_resize_at_finer_levels():
    image = np.minimum(gradient(40, 30), 254)
    wide = image.astype(np.uint16) * 257 + np.uint16(100)  # levels no 8-bit image has
    result = images.resize(wide, (17, 23))
    assert result.shape == (23, 17, 3) and result.dtype == np.uint16
    eight = images.resize(image, (17, 23)).astype(np.float64)
    assert np.abs((result.astype(np.float64) - 100) / 257 - eight).max() <= 0.51
    assert np.count_nonzero(result % 257) > result.size // 2  # not only 8-bit levels


def test_resize_rejects_non_positive_size():
    with pytest.raises(ValueError, match="positive"):
        images.resize(gradient(40, 30), (0, 30))


# --- check_output_path --------------------------------------------------------------------


def check_error(path, overwrite: bool = False) -> str:
    with pytest.raises(ImageError) as caught:
        images.check_output_path(path, overwrite)
    message = str(caught.value)
    assert "\n" not in message
    assert Path(path).name in message
    return message


@pytest.mark.parametrize("suffix", sorted(images.WRITE_EXTENSIONS) + [".PNG", ".Jpg"])
def test_check_output_path_accepts_known_extensions(tmp_path, suffix):
    path = tmp_path / f"result{suffix}"
    assert images.check_output_path(str(path), overwrite=False) == path


def test_check_output_path_relative_to_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert images.check_output_path("result.png", overwrite=False) == Path("result.png")


@pytest.mark.parametrize("name", ["result.gif", "result.txt", "result"])
def test_check_output_path_unknown_extension(tmp_path, name):
    message = check_error(tmp_path / name)
    assert "unknown image type" in message
    assert ".png" in message and ".webp" in message


def test_check_output_path_missing_folder(tmp_path):
    message = check_error(tmp_path / "missing" / "result.png")
    assert "does not exist" in message


def test_check_output_path_folder_is_a_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    message = check_error(tmp_path / "plain" / "result.png")
    assert "is not a directory" in message


def test_check_output_path_folder_not_writable(tmp_path, monkeypatch):
    seen = []

    def no_access(path, mode, **kwargs):
        seen.append((Path(path), mode))
        return False

    monkeypatch.setattr(os, "access", no_access)  # works even when tests run as root
    message = check_error(tmp_path / "result.png")
    assert "not writable" in message
    assert seen and seen[0][0] == tmp_path and seen[0][1] & os.W_OK


def test_check_output_path_is_a_directory(tmp_path):
    (tmp_path / "result.png").mkdir()
    assert "directory" in check_error(tmp_path / "result.png", overwrite=True)


def test_check_output_path_existing_file_needs_overwrite(tmp_path):
    path = tmp_path / "result.png"
    path.write_bytes(b"old")
    assert "--overwrite" in check_error(path, overwrite=False)
    assert images.check_output_path(path, overwrite=True) == path
    assert path.read_bytes() == b"old"  # checking never touches the file


@pytest.mark.parametrize("name", ["result.jpg", "result.JPEG", "result.webp", "result.bmp"])
def test_check_output_path_at_16_bits_takes_only_png_and_tiff(tmp_path, name):
    message = check_error_at_16_bits(tmp_path / name)
    assert "--bit-depth 16" in message and ".png" in message and ".tif" in message
    assert images.check_output_path(tmp_path / name, overwrite=False, bit_depth=8)


@pytest.mark.parametrize("name", ["result.png", "result.TIF", "result.tiff"])
def test_check_output_path_at_16_bits_accepts_png_and_tiff(tmp_path, name):
    path = tmp_path / name
    assert images.check_output_path(path, overwrite=False, bit_depth=16) == path


def check_error_at_16_bits(path) -> str:
    with pytest.raises(ImageError) as caught:
        images.check_output_path(path, False, bit_depth=16)
    message = str(caught.value)
    assert "\n" not in message and Path(path).name in message
    return message


# --- save_image ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", LOSSLESS)
def test_save_lossless_round_trip_is_exact(tmp_path, suffix):
    rng = np.random.default_rng(7)
    array = rng.integers(0, 256, size=(21, 34, 3), dtype=np.uint8)
    path = tmp_path / f"result{suffix}"
    images.save_image(path, array)
    with Image.open(path) as written:
        assert written.format == FORMATS[suffix]
    np.testing.assert_array_equal(images.load_image(path), array)


@pytest.mark.parametrize("suffix", LOSSY)
def test_save_lossy_round_trip_is_close(tmp_path, suffix):
    array = gradient(48, 32)
    path = tmp_path / f"result{suffix}"
    images.save_image(path, array)
    with Image.open(path) as written:
        assert written.format == FORMATS[suffix]
    loaded = images.load_image(path)
    assert loaded.shape == array.shape
    assert np.abs(loaded.astype(int) - array).mean() < 2


def test_save_uppercase_extension(tmp_path):
    path = tmp_path / "RESULT.PNG"
    images.save_image(path, gradient(20, 20))
    with Image.open(path) as written:
        assert written.format == "PNG"


def test_save_jpeg_uses_quality_95(tmp_path):
    array = gradient(32, 32)
    path = tmp_path / "result.jpg"
    images.save_image(path, array)
    with Image.open(io.BytesIO(encoded(array, "JPEG", quality=95))) as reference:
        expected = reference.quantization
    with Image.open(path) as written:
        assert written.quantization == expected


def test_save_float_image_is_clipped_and_rounded(tmp_path):
    array = np.zeros((16, 16, 3), dtype=np.float32)
    array[0, 0] = (-20.0, 127.6, 300.0)
    array[0, 1] = (0.4, 254.5001, 12.49)
    path = tmp_path / "result.png"
    images.save_image(path, array)
    loaded = images.load_image(path)
    np.testing.assert_array_equal(loaded[0, 0], [0, 128, 255])
    np.testing.assert_array_equal(loaded[0, 1], [0, 255, 12])


@pytest.mark.parametrize(
    "bad",
    [np.zeros((16, 16), np.uint8), np.zeros((16, 16, 4), np.uint8), np.zeros((0, 16, 3))],
)
def test_save_rejects_bad_shapes(tmp_path, bad):
    with pytest.raises(ValueError, match="shape"):
        images.save_image(tmp_path / "result.png", bad)
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_nan(tmp_path):
    array = np.zeros((16, 16, 3), dtype=np.float32)
    array[3, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        images.save_image(tmp_path / "result.png", array)
    assert list(tmp_path.iterdir()) == []


def test_save_leaves_no_temporary_file(tmp_path):
    images.save_image(tmp_path / "result.png", gradient(20, 20))
    assert [p.name for p in tmp_path.iterdir()] == ["result.png"]


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "result.png"
    path.write_bytes(b"old")
    images.save_image(path, gradient(20, 20))
    np.testing.assert_array_equal(images.load_image(path), gradient(20, 20))
    assert [p.name for p in tmp_path.iterdir()] == ["result.png"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_save_gives_the_file_umask_permissions(tmp_path):
    previous = os.umask(0o027)
    try:
        images.save_image(tmp_path / "result.png", gradient(20, 20))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "result.png").stat().st_mode) == 0o640


def test_save_bad_extension_writes_nothing(tmp_path):
    with pytest.raises(ImageError) as caught:
        images.save_image(tmp_path / "result.gif", gradient(20, 20))
    assert "result.gif" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_save_missing_folder(tmp_path):
    with pytest.raises(ImageError) as caught:
        images.save_image(tmp_path / "missing" / "result.png", gradient(20, 20))
    assert "result.png" in str(caught.value)
    assert "cannot write" in str(caught.value)


def failing_writer(error: BaseException):
    """An imwrite stand-in that writes some bytes, then fails with ``error``."""

    def write(target, image, **kwargs):
        target.write(b"partial data")
        raise error

    return write


@pytest.mark.parametrize(("name", "width"), [("wide.webp", 16384), ("wide.bmp", None)])
def test_an_encoder_refusing_the_image_is_an_image_error(tmp_path, monkeypatch, name, width):
    path = tmp_path / name
    if width is None:  # a BMP past 4 GiB: Pillow packs its size into 32 bits

        def oversized(target, image, **kwargs):
            struct.pack("<I", 2**32)

        monkeypatch.setattr(images.iio, "imwrite", oversized)
    with pytest.raises(ImageError) as caught:
        images.save_image(path, np.zeros((16, width or 16, 3), np.uint8))
    message = str(caught.value)
    assert message.startswith(f"output image '{path}': cannot encode it (") and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_16bit_image_opencv_cannot_encode_is_an_image_error(tmp_path):
    path = tmp_path / "tall.png"
    with pytest.raises(ImageError, match=f"^output image '{path}': cannot encode it \\(OpenCV"):
        images.save_image(path, np.zeros((1_000_001, 1, 3), np.uint16))  # past libpng's limit
    assert list(tmp_path.iterdir()) == []


def test_save_os_error_becomes_image_error_and_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setattr(images.iio, "imwrite", failing_writer(OSError(28, "No space left")))
    with pytest.raises(ImageError) as caught:
        images.save_image(tmp_path / "result.png", gradient(20, 20))
    assert "result.png" in str(caught.value)
    assert "No space left" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [RuntimeError("encoder bug"), KeyboardInterrupt()])
def test_save_other_errors_propagate_and_clean_up(tmp_path, monkeypatch, error):
    monkeypatch.setattr(images.iio, "imwrite", failing_writer(error))
    with pytest.raises(type(error)):
        images.save_image(tmp_path / "result.png", gradient(20, 20))
    assert list(tmp_path.iterdir()) == []


def test_save_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "result.png"
    images.save_image(path, gradient(20, 20))
    before = path.read_bytes()
    monkeypatch.setattr(images.iio, "imwrite", failing_writer(OSError(5, "I/O error")))
    with pytest.raises(ImageError):
        images.save_image(path, np.zeros((20, 20, 3), np.uint8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["result.png"]


def test_save_temporary_file_is_hidden_and_in_the_same_folder(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(source, destination):
        seen.append(Path(source))
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", spy)
    images.save_image(tmp_path / "result.png", gradient(20, 20))
    (temporary,) = seen
    assert temporary.parent == tmp_path
    assert temporary.name.startswith(".result.png.") and temporary.name.endswith(".tmp")


@pytest.mark.parametrize("suffix", [".png", ".tif", ".TIFF"])
def test_save_a_16bit_image_keeps_every_level(tmp_path, suffix):
    array = np.random.default_rng(8).integers(0, 65536, (19, 23, 3), dtype=np.uint16)
    path = tmp_path / f"result{suffix}"
    images.save_image(path, array)
    written = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16
    np.testing.assert_array_equal(written[:, :, ::-1], array)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    loaded = images.load_image(path)  # inputs are read at 8 bits (Pillow: the high byte)
    assert loaded.dtype == np.uint8 and np.abs(loaded - array / 257).max() < 1


def test_save_a_16bit_image_as_jpeg_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(ImageError, match="--bit-depth 16 writes PNG or TIFF"):
        images.save_image(tmp_path / "result.jpg", np.zeros((20, 20, 3), np.uint16))
    assert list(tmp_path.iterdir()) == []


def test_save_a_16bit_image_on_a_full_disk_is_an_image_error_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "result.png"
    images.save_image(path, gradient(20, 20))
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(images.os, "fsync", full)
    with pytest.raises(ImageError, match="No space left"):
        images.save_image(path, np.zeros((20, 20, 3), np.uint16))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]


# --- intermediate_path --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "iteration", "expected"),
    [
        ("out/result.png", 7, "out/result_00007.png"),
        ("result.JPG", 100, "result_00100.JPG"),
        ("a.b/my.photo.webp", 0, "a.b/my.photo_00000.webp"),
        ("result.png", 123456, "result_123456.png"),
    ],
)
def test_intermediate_path(output, iteration, expected):
    assert images.intermediate_path(output, iteration) == Path(expected)


def test_intermediate_path_rejects_negative_iteration():
    with pytest.raises(ValueError, match="non-negative"):
        images.intermediate_path("result.png", -1)


def test_scale_sizes_double_up_to_full_size():
    assert images.scale_sizes(400, 300, 1) == [(400, 300)]
    assert images.scale_sizes(400, 300, 3) == [(100, 75), (200, 150), (400, 300)]


def test_scale_sizes_leave_out_scales_under_16_pixels():
    assert images.scale_sizes(40, 30, 3) == [(40, 30)]
    assert images.scale_sizes(64, 40, 3) == [(32, 20), (64, 40)]


def test_scale_sizes_take_any_ratio_of_sides():
    assert images.scale_sizes(400, 300, 2, 4.0) == [(100, 75), (400, 300)]
    assert images.scale_sizes(400, 300, 3, 1.5) == [(178, 133), (267, 200), (400, 300)]
    assert images.scale_sizes(400, 300, 3, 2.0) == images.scale_sizes(400, 300, 3)
    assert images.scale_sizes(64, 48, 2, 4.0) == [(64, 48)]  # 16x12 is too small


# --- network input ---------------------------------------------------------------------------

_MEAN = np.array([123.68, 116.779, 103.939], np.float32)


def test_pre_and_postprocess_round_trip():
    image = np.random.default_rng(2).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    pre = images.preprocess(image, _MEAN)
    assert pre.shape == (1, 5, 4, 3) and pre.dtype == np.float32
    np.testing.assert_allclose(pre[0].mean(axis=(0, 1)) + _MEAN, image.mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_array_equal(images.postprocess(pre, _MEAN), image)


def test_16bit_postprocess_rounds_to_257ths_of_a_level_and_preprocess_reads_them():
    generated = np.random.default_rng(4).uniform(-140, 160, (1, 6, 5, 3)).astype(np.float32)
    sixteen = images.postprocess(generated, _MEAN, bit_depth=16)
    assert sixteen.dtype == np.uint16
    levels = np.clip((generated[0] + _MEAN).astype(np.float64), 0, 255)
    assert np.abs(sixteen / 257 - levels).max() <= 0.5 / 257 + 1e-9
    assert sixteen.max() == 65535 and sixteen.min() == 0  # clipped at black and white
    again = images.preprocess(sixteen, _MEAN)
    assert again.dtype == np.float32
    np.testing.assert_allclose(again[0] + _MEAN, sixteen / 257, atol=1e-4)
    np.testing.assert_array_equal(images.postprocess(again, _MEAN, bit_depth=16), sixteen)
    eight = images.postprocess(generated, _MEAN)
    np.testing.assert_array_equal(eight, images.postprocess(generated, _MEAN, bit_depth=8))
    assert np.abs(eight.astype(int) - sixteen / 257).max() <= 0.5 + 0.5 / 257


def test_postprocess_clips_to_8_bits():
    assert images.postprocess(np.full((1, 2, 2, 3), 500.0, np.float32), _MEAN).max() == 255
    assert images.postprocess(np.full((1, 2, 2, 3), -500.0, np.float32), _MEAN).min() == 0
