"""HEIF stills of 10 and 12 bits through stylize.images.load_image: HDR mapped to SDR sRGB
(checked against the standards' formulas written out here), SDR kept whole at 16 bits."""

from __future__ import annotations

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from stylize import hdr, images, read_heif
from stylize.errors import ImageError

# BT.2087's BT.709-to-BT.2020 matrix (linear light), published to 4 decimals
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114],
                            [0.0164, 0.0880, 0.8956]])  # fmt: skip
PQ, HLG, SRGB_CURVE = 16, 18, 13  # ITU-T H.273 TransferCharacteristics
BT709, BT2020, P3 = 1, 9, 12  # ColourPrimaries


@pytest.fixture(autouse=True)
def heif_opener():
    images.pillow_formats()  # registers pillow-heif's opener, as stylize does on first read


def _write(path, codes: np.ndarray, transfer: int, primaries: int = BT2020, bits: int = 10,
           **options) -> None:  # fmt: skip
    """A lossless 4:4:4 HEIF of ``codes`` ((H, W, 3 or 4) integers below 2**bits) with
    nclx full-range RGB codes (matrix 0), so that what is decoded is what was written."""
    channels = codes.shape[2]
    mode = "RGB;16" if channels == 3 else "RGBA;16"
    data = (codes.astype(np.uint16) << (16 - bits)).tobytes()
    picture = pillow_heif.from_bytes(mode=mode, size=codes.shape[1::-1], data=data)
    nclx = {"color_primaries": primaries, "transfer_characteristics": transfer,
            "matrix_coefficients": 0, "full_range_flag": 1}  # fmt: skip
    if bits == 12:
        pillow_heif.options.SAVE_HDR_TO_12_BIT = True
    try:
        picture.save(path, quality=-1, chroma=444, nclx_profile=nclx, **options)
    finally:
        pillow_heif.options.SAVE_HDR_TO_12_BIT = False
    written = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)  # kept: see read_heif
    stored = np.array(written) >> (16 - bits)
    np.testing.assert_array_equal(stored, codes)  # lossless


def _pq_code(nits):
    """SMPTE ST 2084's inverse EOTF, written out: cd/m2 -> code value 0..1."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    y = (np.asarray(nits, np.float64) / 10000) ** m1
    return ((c1 + c2 * y) / (1 + c3 * y)) ** m2


def _srgb_encoded(light):
    light = np.clip(light, 0, 1)
    return np.where(light <= 0.0031308, 12.92 * light, 1.055 * light ** (1 / 2.4) - 0.055)


def _hlg_display_nits(code):
    """BT.2100 HLG for a grey: inverse OETF, then the OOTF of a 1000 cd/m2 display (gamma
    1.2, Lw 1000; for R = G = B the luminance is the scene light itself)."""
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    code = np.asarray(code, np.float64)
    scene = np.where(code <= 0.5, code**2 / 3, (np.exp((code - c) / a) + b) / 12)
    return 1000 * scene**1.2


def test_a_pq_grey_below_the_knee_is_its_light_relative_to_sdr_white(tmp_path):
    nits = np.array([0.0, 1.0, 10.0, 50.0, 80.0])  # the knee is about 88 cd/m2 (BT.2390)
    codes = np.rint(_pq_code(nits) * 1023).astype(int)
    pixels = np.repeat(np.tile(codes, (16, 4))[:, :, None], 3, axis=2)  # (16, 20, 3) greys
    _write(tmp_path / "pq.heic", pixels, PQ)
    light = (10000 * _decoded_pq(codes / 1023)) / 203  # the codes as stored, in SDR white
    for bit_depth, top in ((8, 255), (16, 65535)):
        loaded = images.load_image(tmp_path / "pq.heic", bit_depth=bit_depth)
        assert loaded.dtype == (np.uint8 if bit_depth == 8 else np.uint16)
        expected = np.rint(_srgb_encoded(light) * top)
        assert np.abs(loaded[0, :5, 1] - expected).max() <= top / 255 * 0.5 + 1
        assert (loaded[..., 0] == loaded[..., 2]).all()  # BT.2020's grey stays grey


def _decoded_pq(code):
    """ST 2084's EOTF / 10000, written out."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    power = np.asarray(code, np.float64) ** (1 / m2)
    return (np.maximum(power - c1, 0) / (c2 - c3 * power)) ** (1 / m1)


def test_an_hlg_grey_below_the_knee_is_shown_as_a_1000_nit_display_shows_it(tmp_path):
    codes = np.array([0, 100, 250, 400, 500])  # up to about 59 cd/m2: below the knee
    assert _hlg_display_nits(500 / 1023) < 88
    pixels = np.repeat(np.tile(codes, (16, 4))[:, :, None], 3, axis=2)
    _write(tmp_path / "hlg.heic", pixels, HLG)
    loaded = images.load_image(tmp_path / "hlg.heic", bit_depth=16)
    expected = np.rint(_srgb_encoded(_hlg_display_nits(codes / 1023) / 203) * 65535)
    assert np.abs(loaded[0, :5, 1].astype(int) - expected).max() <= 2


def test_bt2020_colours_go_to_bt709_primaries_and_highlights_roll_off(tmp_path):
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 1024, (16, 24, 3))
    _write(tmp_path / "colours.heic", codes, PQ)
    loaded = images.load_image(tmp_path / "colours.heic", bit_depth=16) / 65535
    light = 10000 * _decoded_pq(codes / 1023) / 203
    in_bt709 = np.maximum(light @ np.linalg.inv(BT709_TO_BT2020).T, 0)
    dim = in_bt709.max(axis=-1) < 80 / 203  # below the knee: only the primaries change
    assert dim.sum() > 20
    np.testing.assert_allclose(loaded[dim], _srgb_encoded(in_bt709[dim]), atol=2e-3)
    # brighter: max(R, G, B) through BT.2390's EETF (stylize.hdr, tested against the
    # standard in test_hdr), the other two channels scaled alike
    expected = _srgb_encoded(hdr.bt2390_roll_off(in_bt709.astype(np.float32)))
    np.testing.assert_allclose(loaded, expected, atol=2e-3)
    assert loaded.max() <= 1.0 and (loaded[~dim].max(axis=-1) > 0.5).all()


def test_an_sdr_heif_of_10_or_12_bits_keeps_every_level_at_16_bits(tmp_path):
    for bits in (10, 12):
        top = 2**bits - 1
        codes = np.stack(np.meshgrid(np.arange(64), np.arange(32)), -1).sum(-1) * top // 94
        pixels = np.stack([codes, top - codes, codes // 2], axis=-1)
        path = tmp_path / f"sdr{bits}.heic"
        _write(path, pixels, SRGB_CURVE, primaries=BT709, bits=bits)
        loaded = images.load_image(path, bit_depth=16)
        assert loaded.dtype == np.uint16
        np.testing.assert_array_equal(loaded, np.rint(pixels * 65535 / top))
        eight = images.load_image(path)
        assert eight.dtype == np.uint8 and np.abs(eight - pixels * 255 / top).max() <= 1


def _rgb_to_xyz(xy) -> np.ndarray:
    """Linear RGB with primaries ``xy`` (red, green, blue) to XYZ, white D65 at Y = 1."""
    columns = np.array([[x / y, 1, (1 - x - y) / y] for x, y in xy]).T
    white = np.array([0.3127 / 0.3290, 1, (1 - 0.3127 - 0.3290) / 0.3290])
    return columns * np.linalg.solve(columns, white)


def test_an_sdr_display_p3_heif_is_converted_at_16_bits(tmp_path):
    codes = np.random.default_rng(5).integers(0, 1024, (16, 16, 3))
    _write(tmp_path / "p3.heic", codes, SRGB_CURVE, primaries=P3)
    loaded = images.load_image(tmp_path / "p3.heic", bit_depth=16) / 65535
    p3 = _rgb_to_xyz(((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)))
    srgb = _rgb_to_xyz(((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)))
    curve = codes / 1023
    linear = np.where(curve <= 0.04045, curve / 12.92, ((curve + 0.055) / 1.055) ** 2.4)
    expected = _srgb_encoded(linear @ np.linalg.solve(srgb, p3).T)
    assert np.abs(loaded - expected).max() < 1 / 255  # as LittleCMS's sRGB differs, within a level
    assert np.abs(loaded - curve).max() > 10 / 255  # converted, not as stored


def test_transparent_pixels_are_white_and_colour_management_off_reads_the_codes(tmp_path):
    codes = np.full((16, 16, 4), 400)
    codes[..., 3] = 1023
    codes[:8, :, 3] = 0  # the top half transparent
    _write(tmp_path / "alpha.heic", codes, PQ)
    loaded = images.load_image(tmp_path / "alpha.heic", bit_depth=16)
    assert (loaded[:8] == 65535).all() and (loaded[8:] < 40000).all()
    stored = images.load_image(tmp_path / "alpha.heic", colour_managed=False)
    assert stored.dtype == np.uint8 and (stored[8:] == 100).all()  # 400 >> 2, as stored


def test_hdr_with_primaries_it_does_not_know_is_read_as_stored(tmp_path):
    codes = np.full((16, 16, 3), 400)
    _write(tmp_path / "dci.heic", codes, PQ, primaries=11)  # DCI-P3: not D65 white
    assert (images.load_image(tmp_path / "dci.heic") == 100).all()


def test_a_rotated_hdr_heif_is_upright_as_the_8_bit_read_is(tmp_path):
    codes = np.zeros((20, 40, 3), int)
    codes[:, :20] = (700, 0, 0)  # left half red
    codes[:, 20:] = (0, 0, 700)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # a quarter turn clockwise; pillow-heif stores it as HEIF's irot
    path = tmp_path / "rotated.heic"
    picture = pillow_heif.from_bytes(mode="RGB;16", size=(40, 20),
                                     data=(codes.astype(np.uint16) << 6).tobytes())  # fmt: skip
    picture.save(path, quality=-1, chroma=444, exif=exif.tobytes(),
                 nclx_profile={"color_primaries": BT2020, "transfer_characteristics": PQ,
                               "matrix_coefficients": 0, "full_range_flag": 1})  # fmt: skip
    stored = images.load_image(path, colour_managed=False)
    loaded = images.load_image(path, bit_depth=16)
    assert stored.shape == loaded.shape == (40, 20, 3) and images.image_size(path) == (20, 40)
    assert loaded.dtype == np.uint16  # decoded again at full depth, and mapped
    assert loaded[5, 10, 0] > loaded[5, 10, 2] and loaded[35, 10, 2] > loaded[35, 10, 0]


def test_files_it_does_not_take_are_left_to_pillow(tmp_path):
    Image.fromarray(np.full((8, 8, 3), 9, np.uint8)).save(tmp_path / "eight.heic", quality=-1)
    with Image.open(tmp_path / "eight.heic") as picture:
        info, size = dict(picture.info), picture.size
    assert info["bit_depth"] == 8
    assert read_heif.deep_heif(tmp_path / "eight.heic", info, size, True, 16) is None
    assert read_heif.deep_heif(tmp_path / "eight.heic", {**info, "bit_depth": 10}, (9, 8),
                               True, 16) is None  # fmt: skip  # not the size Pillow decoded


def test_a_gray_heif_of_10_bits_keeps_every_level_in_all_three_channels(tmp_path):
    codes = np.tile(np.arange(32) * 33, (16, 1))
    picture = pillow_heif.from_bytes(mode="L;16", size=(32, 16),
                                     data=(codes.astype(np.uint16) << 6).tobytes())  # fmt: skip
    picture.save(tmp_path / "gray.heic", quality=-1)
    loaded = images.load_image(tmp_path / "gray.heic", bit_depth=16)
    expected = np.rint(codes * 65535 / 1023)
    assert loaded.dtype == np.uint16
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], expected)


def test_a_truncated_heif_of_10_bits_is_refused_with_pillows_one_line(tmp_path):
    codes = np.random.default_rng(7).integers(0, 1024, (32, 32, 3))
    _write(tmp_path / "whole.heic", codes, PQ)
    data = (tmp_path / "whole.heic").read_bytes()
    (tmp_path / "cut.heic").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt image data"):
        images.load_image(tmp_path / "cut.heic", role="content image")
