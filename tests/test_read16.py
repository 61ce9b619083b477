"""stylize.read16, through stylize.images.load_image(bit_depth=16): 16-bit colour PNG and TIFF
files read whole, upright, over white and in sRGB, and everything else left to Pillow."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from stylize import icc, images, read16
from stylize.bit_depth import widened

ADOBE_RGB_COLORANTS = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
GAMMA_22 = 563 / 256  # 2.2 as an ICC curve of one u8Fixed8 value stores it


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png16(path, rgb: np.ndarray, *chunks: bytes) -> None:
    """A 16-bit PNG (RGB or RGBA, (H, W, C) uint16) with ``chunks`` right after IHDR."""
    order = [2, 1, 0, 3][: rgb.shape[2]]
    done, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, order]))
    assert done
    data = encoded.tobytes()
    path.write_bytes(data[:33] + b"".join(chunks) + data[33:])  # signature 8 + IHDR 25


def icc_chunk(profile: bytes) -> bytes:
    return chunk(b"iCCP", b"icc\0\0" + zlib.compress(profile))


def exif_chunk(orientation: int) -> bytes:
    """An eXIf chunk: a big-endian TIFF header and one IFD holding Orientation (0x0112)."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    return chunk(b"eXIf", b"MM\0*" + struct.pack(">IH", 8, 1) + entry + struct.pack(">I", 0))


def random16(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_colour_files_are_read_whole(tmp_path, suffix):
    pixels = random16((24, 20, 3))
    path = tmp_path / f"deep{suffix}"
    assert cv2.imwrite(str(path), pixels[:, :, ::-1])
    np.testing.assert_array_equal(images.load_image(path, bit_depth=16), pixels)
    assert images.load_image(path).dtype == np.uint8  # the default is 8 bits


def test_files_of_8_bits_stay_8_bits(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    for name in ("eight.png", "eight.jpg", "eight.tif"):
        Image.fromarray(pixels).save(tmp_path / name)
        deep = images.load_image(tmp_path / name, bit_depth=16)
        assert deep.dtype == np.uint8
        np.testing.assert_array_equal(deep, images.load_image(tmp_path / name))


def test_16bit_grayscale_keeps_its_levels(tmp_path):
    gray = random16((20, 30))
    path = tmp_path / "gray.png"
    Image.fromarray(gray).save(path)  # mode I;16
    np.testing.assert_array_equal(images.load_image(path, bit_depth=16), np.dstack([gray] * 3))
    np.testing.assert_array_equal(images.load_image(path), np.rint(np.dstack([gray] * 3) / 257))


def test_alpha_is_composited_over_white(tmp_path):
    rgba = random16((16, 16, 4), seed=2)
    rgba[0, :, 3], rgba[1, :, 3] = 0, 65535  # fully transparent, fully opaque rows
    path = tmp_path / "rgba.png"
    write_png16(path, rgba)
    alpha = rgba[:, :, 3:] / 65535
    expected = np.rint(rgba[:, :, :3] * alpha + 65535 * (1 - alpha))
    loaded = images.load_image(path, bit_depth=16)
    np.testing.assert_array_equal(loaded, expected)
    assert (loaded[0] == 65535).all()
    np.testing.assert_array_equal(loaded[1], rgba[1, :, :3])


def test_gray_with_alpha(tmp_path):
    height, width = 16, 18
    gray_alpha = random16((height, width, 2), seed=3).astype(">u2")
    rows = b"".join(b"\0" + gray_alpha[row].tobytes() for row in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 4, 0, 0, 0)  # 16 bits, gray + alpha
    path = tmp_path / "gray_alpha.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))  # fmt: skip
    alpha = gray_alpha[:, :, 1] / 65535
    expected = np.rint(gray_alpha[:, :, 0] * alpha + 65535 * (1 - alpha))
    np.testing.assert_array_equal(images.load_image(path, bit_depth=16), np.dstack([expected] * 3))


def test_a_colour_key_is_white(tmp_path):
    pixels = np.full((16, 16, 3), 1000, np.uint16)
    pixels[:4] = (100, 200, 300)
    path = tmp_path / "key.png"
    write_png16(path, pixels, chunk(b"tRNS", struct.pack(">3H", 100, 200, 300)))
    loaded = images.load_image(path, bit_depth=16)
    assert (loaded[:4] == 65535).all()
    assert (loaded[4:] == 1000).all()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_as_pillow_applies_it(tmp_path, orientation):
    eight = np.random.default_rng(orientation).integers(0, 256, (18, 24, 3), dtype=np.uint8)
    path = tmp_path / "turned.png"
    write_png16(path, widened(eight, np.uint16), exif_chunk(orientation))
    upright = images.load_image(path)  # Pillow reads each sample's high byte: exactly eight
    assert upright.shape[:2] == ((24, 18) if orientation >= 5 else (18, 24))
    np.testing.assert_array_equal(images.load_image(path, bit_depth=16),
                                  widened(upright, np.uint16))  # fmt: skip


def srgb_from_adobe(stored: np.ndarray) -> np.ndarray:
    """Code values 0..1 of the Adobe RGB-like profile -> sRGB code values 0..1 by the ICC
    formulas: linear light, D50 XYZ, linear sRGB clipped (sRGB's colorants as LittleCMS's
    profile states them, read by Pillow), then IEC 61966-2-1's curve."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).profile
    colorants = [c[0] for c in (srgb.red_colorant, srgb.green_colorant, srgb.blue_colorant)]
    to_srgb = np.linalg.inv(np.transpose(colorants)) @ np.transpose(ADOBE_RGB_COLORANTS)
    linear = np.clip((stored**GAMMA_22) @ to_srgb.T, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def test_an_rgb_profile_converts_to_srgb_at_16_bits(tmp_path, icc_profile):
    profile = icc_profile("Adobe RGB-like", gamma=GAMMA_22, colorants=ADOBE_RGB_COLORANTS)
    levels = np.arange(0, 65536, 16, dtype=np.uint16)  # 4096 levels, out of step per channel
    pixels = np.stack([levels, np.roll(levels, 1365), np.roll(levels, 2730)], -1)
    pixels = pixels.reshape(64, 64, 3)
    path = tmp_path / "adobe.png"
    write_png16(path, pixels, icc_chunk(profile))
    loaded = images.load_image(path, bit_depth=16)
    expected = srgb_from_adobe(pixels / 65535) * 65535
    # LittleCMS's sRGB stores its curve's parameters as s15Fixed16 numbers: a few levels
    assert np.abs(loaded - expected).max() <= 8
    assert np.abs(loaded.astype(int) - pixels).max() > 10000  # the profile was applied
    stored = images.load_image(path, bit_depth=16, colour_managed=False)
    np.testing.assert_array_equal(stored, pixels)


def test_a_16bit_tiffs_embedded_profile_converts_too(tmp_path, icc_profile):
    profile = icc_profile("Adobe RGB-like", gamma=GAMMA_22, colorants=ADOBE_RGB_COLORANTS)
    levels = np.arange(0, 65536, 16, dtype=np.uint16)
    pixels = np.stack([levels, np.roll(levels, 1365), np.roll(levels, 2730)], -1)
    pixels = pixels.reshape(64, 64, 3)
    path = tmp_path / "adobe.tif"
    path.write_bytes(tiff_of_single_values(pixels, sample_format=1, profile=profile))
    loaded = images.load_image(path, bit_depth=16)
    assert np.abs(loaded - srgb_from_adobe(pixels / 65535) * 65535).max() <= 8
    assert np.abs(loaded.astype(int) - pixels).max() > 10000  # the profile was applied


def test_16_and_8_bit_reads_of_a_profiled_file_agree(tmp_path, icc_profile):
    profile = icc_profile("Adobe RGB-like", gamma=GAMMA_22, colorants=ADOBE_RGB_COLORANTS)
    level = np.arange(256, dtype=np.uint8)
    eight = np.tile(np.stack([level, np.roll(level, 85), np.roll(level, 170)], -1), (16, 1, 1))
    path = tmp_path / "adobe.png"
    write_png16(path, widened(eight, np.uint16), icc_chunk(profile))
    through_little_cms = images.load_image(path).astype(int)  # Pillow reads exactly ``eight``
    deep = images.load_image(path, bit_depth=16)
    assert np.abs(np.rint(deep / 257) - through_little_cms).max() <= 1


def test_profiles_read16_ignores_or_leaves(tmp_path, icc_profile):
    pixels = random16((16, 16, 3), seed=4)
    ignored = {  # as stylize.images ignores them: the values as stored, all 16 bits
        "srgb": icc_profile("sRGB IEC61966-2.1", gamma=GAMMA_22),
        "gray": icc_profile("Gray", gamma=GAMMA_22, space=b"GRAY"),
        "unreadable": b"not an ICC profile at all" * 8,
    }
    for name, profile in ignored.items():
        path = tmp_path / f"{name}.png"
        write_png16(path, pixels, icc_chunk(profile))
        np.testing.assert_array_equal(images.load_image(path, bit_depth=16), pixels)
    lut = icc_profile("with tables", extra={b"A2B0": b"mft2" + bytes(60)})
    path = tmp_path / "lut.png"
    write_png16(path, pixels, icc_chunk(lut))
    with pytest.raises(read16.EightBitsOnly, match="lookup tables"):
        read16.sixteen_bit_rgb(path)  # LittleCMS applies it, at 8 bits
    with pytest.warns(images.EightBitRead, match=f"^image '{path}': read at 8 bits: its colour"):
        assert images.load_image(path, bit_depth=16).dtype == np.uint8


def test_a_16bit_tiff_with_alpha_is_read_at_8_bits(tmp_path):
    path = tmp_path / "alpha.tif"
    assert cv2.imwrite(str(path), random16((16, 16, 4), seed=5))
    with pytest.raises(read16.EightBitsOnly, match="RGB without alpha"):
        read16.sixteen_bit_rgb(path)  # OpenCV does not say how alpha is stored
    with pytest.warns(images.EightBitRead, match="a 16-bit TIFF is read whole as RGB without"):
        assert images.load_image(path, bit_depth=16).dtype == np.uint8


def test_other_formats_are_not_taken(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path)
    assert read16.sixteen_bit_rgb(path) is None


def test_without_little_cms_profiles_are_ignored_as_at_8_bits(tmp_path, icc_profile, monkeypatch):
    profile = icc_profile("Adobe RGB-like", gamma=GAMMA_22, colorants=ADOBE_RGB_COLORANTS)
    pixels = random16((16, 16, 3), seed=7)
    path = tmp_path / "adobe.png"
    write_png16(path, pixels, icc_chunk(profile))
    assert np.abs(images.load_image(path, bit_depth=16).astype(int) - pixels).max() > 1000
    monkeypatch.setattr(icc, "ImageCms", None)  # a Pillow built without LittleCMS
    np.testing.assert_array_equal(images.load_image(path, bit_depth=16), pixels)


def tiff_of_single_values(pixels: np.ndarray, sample_format: int, profile: bytes = b"") -> bytes:
    """An uncompressed little-endian 16-bit RGB TIFF whose BitsPerSample and SampleFormat
    hold one value for all three samples, as some writers store them; ``profile`` goes in
    the ICC tag (34675), as Lightroom and Photoshop embed theirs."""
    height, width, _ = pixels.shape
    data = pixels.astype("<u2").tobytes() + profile + bytes(len(profile) % 2)
    tags = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 4, 1, 16),
        (259, 4, 1, 1),
        (262, 4, 1, 2),
        (273, 4, 1, 8),
        (277, 4, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, pixels.size * 2),
        (339, 4, 1, sample_format),
    ]  # LONG, one value
    if profile:
        tags.append((34675, 7, len(profile), 8 + pixels.size * 2))  # UNDEFINED bytes
    ifd = struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    return b"II*\0" + struct.pack("<I", 8 + len(data)) + data + ifd + struct.pack("<I", 0)


def test_a_tiff_giving_one_bit_depth_for_all_samples(tmp_path):
    pixels = random16((20, 24, 3), seed=8)
    path = tmp_path / "single.tif"
    path.write_bytes(tiff_of_single_values(pixels, sample_format=1))
    np.testing.assert_array_equal(images.load_image(path, bit_depth=16), pixels)
    signed = tmp_path / "signed.tif"
    signed.write_bytes(tiff_of_single_values(pixels, sample_format=2))  # signed integers
    assert read16.sixteen_bit_rgb(signed) is None


def test_a_file_opencv_refuses_is_read_by_pillow_at_8_bits(tmp_path, monkeypatch):
    path = tmp_path / "deep.png"
    write_png16(path, random16((16, 16, 3), seed=9))

    def refuse(*args):
        raise cv2.error("simulated")

    monkeypatch.setattr(cv2, "imdecode", refuse)
    with pytest.raises(read16.EightBitsOnly, match="OpenCV could not decode"):
        read16.sixteen_bit_rgb(path)
    with pytest.warns(images.EightBitRead, match="read at 8 bits: OpenCV could not decode"):
        assert images.load_image(path, bit_depth=16).dtype == np.uint8


def test_16bit_gray_reads_give_no_warning(tmp_path, recwarn):
    path = tmp_path / "gray.tif"
    Image.fromarray(random16((16, 16), seed=10)).save(path)  # I;16: Pillow keeps its levels
    assert images.load_image(path, bit_depth=16).dtype == np.uint16
    assert [w for w in recwarn if issubclass(w.category, images.EightBitRead)] == []


def tiff_turned(pixels: np.ndarray, orientation: int) -> bytes:
    """An uncompressed little-endian 16-bit RGB TIFF of ``pixels`` as stored, its
    Orientation tag (274) saying how to show them: what a camera or scanner writes."""
    height, width, _ = pixels.shape
    data = pixels.astype("<u2").tobytes()
    tags = [(256, width), (257, height), (258, 16), (259, 1), (262, 2), (273, 8),
            (274, orientation), (277, 3), (278, height), (279, len(data))]  # fmt: skip
    ifd = struct.pack("<H", len(tags))
    for tag, value in tags:
        ifd += struct.pack("<HHII", tag, 4, 1, value)  # LONG, one value
    return b"II*\0" + struct.pack("<I", 8 + len(data)) + data + ifd + struct.pack("<I", 0)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_16bit_tiffs_orientation_as_pillow_applies_it(tmp_path, orientation):
    pixels = random16((18, 24, 3), seed=orientation)
    path = tmp_path / "scan.tif"
    path.write_bytes(tiff_turned(pixels, orientation))
    upright = images.load_image(path)  # Pillow reads each sample's high byte
    assert upright.shape[:2] == ((24, 18) if orientation >= 5 else (18, 24))
    deep = images.load_image(path, bit_depth=16)
    assert deep.dtype == np.uint16
    np.testing.assert_array_equal(deep >> 8, upright)
    assert sorted(deep.ravel().tolist()) == sorted(pixels.ravel().tolist())  # all 16 bits


def test_opencv_s_handling_of_orientation_is_known_here():
    """Else every turned 16-bit file is read at 8 bits (with a warning)."""
    assert read16.opencv_turns("PNG") is not None
    assert read16.opencv_turns("TIFF") is not None


def test_an_orientation_opencv_handles_otherwise_is_read_at_8_bits(tmp_path, monkeypatch):
    path = tmp_path / "scan.tif"
    path.write_bytes(tiff_turned(random16((18, 24, 3), seed=11), 3))
    monkeypatch.setattr(read16, "opencv_turns", lambda file_format: None)
    with pytest.warns(images.EightBitRead, match="handles a TIFF's orientation in a way"):
        loaded = images.load_image(path, bit_depth=16)
    np.testing.assert_array_equal(loaded, images.load_image(path))
    path.write_bytes(tiff_turned(random16((18, 24, 3), seed=11), 1))  # upright: no question
    assert images.load_image(path, bit_depth=16).dtype == np.uint16


def gray_png_with_colour_key(path, gray: np.ndarray, key: int) -> None:
    """A 16-bit grayscale PNG whose pixels of level ``key`` are transparent (tRNS)."""
    height, width = gray.shape
    rows = b"".join(b"\0" + gray[row].astype(">u2").tobytes() for row in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)  # 16 bits, gray
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"tRNS", struct.pack(">H", key))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))  # fmt: skip


def test_a_16bit_gray_colour_key_is_white(tmp_path):
    gray = random16((16, 20), seed=12)
    gray[gray == 7] = 8
    gray[:, 12:] = 7  # the key: transparent
    path = tmp_path / "key.png"
    gray_png_with_colour_key(path, gray, 7)
    deep = images.load_image(path, bit_depth=16)
    assert (deep[:, 12:] == 65535).all()
    np.testing.assert_array_equal(deep[:, :12], np.dstack([gray[:, :12]] * 3))
    eight = images.load_image(path)
    assert (eight[:, 12:] == 255).all()
    np.testing.assert_array_equal(eight[:, :12], np.rint(deep[:, :12] / 257))
