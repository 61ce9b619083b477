"""stylize.icc: matrix/TRC profiles parsed and applied in floating point, checked against
LittleCMS (through Pillow's 8-bit transforms) and against the ICC formulas in NumPy."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from stylize import icc

GAMMA_22 = 563 / 256  # 2.2 as an ICC curve of one u8Fixed8 value stores it
ADOBE_RGB_COLORANTS = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))


def para(kind: int, *parameters: float) -> bytes:
    """A parametricCurveType tag."""
    values = b"".join(struct.pack(">i", round(p * 65536)) for p in parameters)
    return b"para\0\0\0\0" + struct.pack(">H2x", kind) + values


def table(entries: np.ndarray) -> bytes:
    """A curveType tag sampling 0..1 evenly, entries 0..1."""
    levels = np.rint(np.asarray(entries) * 65535).astype(">u2")
    return b"curv\0\0\0\0" + struct.pack(">I", len(levels)) + levels.tobytes()


def every_level() -> np.ndarray:
    """(4, 256, 3) uint8: each channel runs through all 256 levels, out of step."""
    level = np.arange(256, dtype=np.uint8)
    return np.tile(np.stack([level, np.roll(level, 85), np.roll(level, 170)], -1), (4, 1, 1))


def little_cms(image: np.ndarray, profile: bytes) -> np.ndarray:
    """The 8-bit image taken from ``profile`` to LittleCMS's sRGB, perceptual intent, as
    stylize.images converts 8-bit files."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    target = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    converted = ImageCms.profileToProfile(Image.fromarray(image), source, target, outputMode="RGB")
    return np.asarray(converted).astype(int)


def converted(image: np.ndarray, profile: bytes) -> np.ndarray:
    """The 8-bit image converted by stylize.icc, rounded to 8 bits."""
    source = icc.matrix_trc(profile)
    target = icc.matrix_trc(icc.srgb_profile())
    return np.rint(icc.convert(image / 255.0, source, target) * 255).astype(int)


# the five parametric functions with parameters that exercise their pieces, and a table
CURVES = {
    "curv gamma 1.8": None,
    "para 0": para(0, 1.8),
    "para 1": para(1, 2.0, 1.1, -0.1),
    "para 2": para(2, 2.2, 1.0, -0.05, 0.02),
    "para 3 (sRGB's)": para(3, 2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045),
    "para 4": para(4, 2.6, 0.95, 0.05, 0.1, 0.1, 0.005, 0.002),
    "curv table": table(np.linspace(0, 1, 1024) ** 1.7 * 0.9 + np.linspace(0, 0.1, 1024)),
}


@pytest.mark.parametrize("name", CURVES)
@pytest.mark.parametrize("colorants", ["sRGB", "Adobe RGB"])
def test_conversion_matches_little_cms(icc_profile, name, colorants):
    primaries = icc_profile.srgb_colorants if colorants == "sRGB" else ADOBE_RGB_COLORANTS
    profile = icc_profile(name, gamma=461 / 256, colorants=primaries, curve=CURVES[name])
    reference = little_cms(every_level(), profile)
    if (colorants, name) != ("sRGB", "para 3 (sRGB's)"):  # the one that is sRGB itself
        assert np.abs(reference - every_level()).max() > 5  # the profile changes the image
    difference = np.abs(converted(every_level(), profile) - reference)
    # LittleCMS computes 8-bit transforms in fixed point: a level off is its rounding. Where
    # black is not zero (para 2 and 4) black point compensation adds an offset, and at the
    # gamut's edges it is 2 levels off; its unoptimized 16-bit transform (cmsFLAGS_NOOPTIMIZE,
    # through imagecodecs' lcms2 2.18, measured once) agrees with stylize.icc within 0.05.
    assert difference.max() <= (2 if name in ("para 2", "para 4") else 1)
    assert difference.mean() < 0.1  # scattered roundings, not a systematic offset


@pytest.mark.parametrize("name", ["para 2", "para 4"])
def test_black_point_compensation_takes_black_to_black(icc_profile, name):
    profile = icc_profile(name, colorants=ADOBE_RGB_COLORANTS, curve=CURVES[name])
    black = np.zeros((1, 1, 3), np.uint8)
    assert icc.matrix_trc(profile).curves[0](np.zeros(1))[0] > 0.001  # its black is grey
    assert little_cms(black, profile).max() == 0
    assert converted(black, profile).max() == 0


def test_parametric_curves_follow_the_icc_formulas(icc_profile):
    x = np.linspace(0, 1, 1001)

    def stored(*values):  # as s15Fixed16Number
        return [round(v * 65536) / 65536 for v in values]

    g1, a1, b1 = stored(2.0, 1.1, -0.1)
    g2, b2, c2 = stored(2.2, -0.05, 0.02)
    g, a, b, c, d, e, f = stored(2.6, 0.95, 0.05, 0.1, 0.1, 0.005, 0.002)
    expected = {  # ICC.1:2010 Table 68
        "para 0": x ** stored(1.8)[0],
        "para 1": np.where(x >= -b1 / a1, np.maximum(a1 * x + b1, 0) ** g1, 0.0),
        "para 2": np.where(x >= -b2, np.maximum(x + b2, 0) ** g2 + c2, c2),
        "para 4": np.where(x >= d, (a * x + b) ** g + e, c * x + f),
    }
    for name, values in expected.items():
        curve = icc.matrix_trc(icc_profile(name, curve=CURVES[name])).curves[0]
        np.testing.assert_allclose(curve(x), np.clip(values, 0, 1), atol=1e-12)  # light 0..1


def test_table_curves_interpolate_linearly(icc_profile):
    curve = icc.matrix_trc(icc_profile("3 points", curve=table([0.0, 0.2, 1.0]))).curves[0]
    np.testing.assert_allclose(curve(np.array([0.0, 0.25, 0.5, 0.75, 1.0])),
                               [0.0, 0.1, 0.2, 0.6, 1.0], atol=1e-4)  # fmt: skip


def test_srgb_to_srgb_keeps_every_16bit_level():
    srgb = icc.matrix_trc(icc.srgb_profile())
    levels = np.arange(65536)
    image = np.stack([levels, levels[::-1], np.roll(levels, 1000)], -1)[np.newaxis]
    back = np.rint(icc.convert(image / 65535, srgb, srgb) * 65535)
    np.testing.assert_array_equal(back, image)


def test_conversion_clips_colours_outside_srgb(icc_profile):
    profile = icc_profile("Adobe RGB, linear", colorants=ADOBE_RGB_COLORANTS)
    green = np.array([[[0.0, 1.0, 0.0]]])
    out = icc.convert(green, icc.matrix_trc(profile), icc.matrix_trc(icc.srgb_profile()))
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(out[0, 0, [0, 2]], 0.0, atol=1e-9)  # red and blue clipped to 0


def test_the_matrix_columns_are_the_colorants(icc_profile):
    parsed = icc.matrix_trc(icc_profile("Adobe", colorants=ADOBE_RGB_COLORANTS))
    np.testing.assert_allclose(parsed.matrix.T, ADOBE_RGB_COLORANTS, atol=1e-4)


def test_profiles_it_does_not_take(icc_profile):
    rgb = icc_profile("RGB")
    assert icc.matrix_trc(rgb) is not None
    assert icc.matrix_trc(icc_profile("Gray", space=b"GRAY")) is None
    assert icc.matrix_trc(icc_profile("LUT", extra={b"A2B0": b"mft2" + bytes(60)})) is None
    assert icc.matrix_trc(rgb.replace(b"bTRC", b"xTRC", 1)) is None  # a curve missing
    assert icc.matrix_trc(rgb[:150]) is None  # cut short
    assert icc.matrix_trc(icc_profile("para 9", curve=para(9, 1.0))) is None
    assert icc.matrix_trc(icc_profile("a = 0", curve=para(1, 2.0, 0.0, 0.1))) is None
    assert icc.matrix_trc(icc_profile("odd curve", curve=b"mAB \0\0\0\0" + bytes(32))) is None


def test_descriptions():
    assert icc.description(icc.srgb_profile()).strip() == "sRGB built-in"
    assert icc.says_srgb(" sRGB IEC61966-2.1") and not icc.says_srgb("Adobe RGB (1998)")
    assert icc.description(b"not a profile") is None
    assert icc.is_rgb(icc.srgb_profile())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_levels_convert_as_their_values_do(icc_profile, dtype):
    source = icc.matrix_trc(icc_profile("Adobe", gamma=GAMMA_22, colorants=ADOBE_RGB_COLORANTS))
    top = np.iinfo(dtype).max
    levels = np.random.default_rng(0).integers(0, top + 1, (32, 48, 3)).astype(dtype)
    through_values = np.rint(icc.convert(levels / top, source, icc.srgb()) * top)
    converted = icc.convert_levels(levels, source, icc.srgb())
    assert converted.dtype == dtype
    np.testing.assert_array_equal(converted, through_values)


def test_conversion_in_pieces_equals_one_piece(icc_profile, monkeypatch):
    source = icc.matrix_trc(icc_profile("Adobe", gamma=GAMMA_22, colorants=ADOBE_RGB_COLORANTS))
    pixels = np.random.default_rng(1).integers(0, 65536, (40, 30, 3), dtype=np.uint16)
    whole = icc.image_in_srgb(pixels, source)
    monkeypatch.setattr(icc, "_PIECE_PIXELS", 100)  # 3 rows a piece
    np.testing.assert_array_equal(icc.image_in_srgb(pixels, source), whole)


def _nclx(primaries: int, transfer: int, xy) -> dict:
    names = ("red", "green", "blue", "white")
    described = {f"color_primary_{n}_{a}": v for n, p in zip(names, xy, strict=True)
                 for a, v in zip("xy", p, strict=True)}  # fmt: skip
    return {"color_primaries": primaries, "transfer_characteristics": transfer, **described}


def test_nclx_primaries_become_bradford_adapted_colorants():
    bt709 = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.3290))
    found = icc.nclx_matrix_trc(_nclx(12, 13, bt709))  # sRGB's primaries under another code
    # LittleCMS's sRGB profile holds the same colorants, rounded to s15Fixed16
    np.testing.assert_allclose(found.matrix, icc.srgb().matrix, atol=1e-5)
    np.testing.assert_allclose(found.curves[0](np.linspace(0, 1, 11)),
                               icc.srgb().curves[0](np.linspace(0, 1, 11)), atol=1e-4)  # fmt: skip
    assert icc.nclx_matrix_trc(_nclx(1, 13, bt709)) is None  # says BT.709: nothing to do
    assert icc.nclx_matrix_trc(_nclx(12, 1, bt709)) is None  # BT.709's camera curve
    assert icc.nclx_matrix_trc({"color_primaries": 12, "transfer_characteristics": 13}) is None
    flat = ((0.64, 0.0), (0.30, 0.60), (0.15, 0.06), (0.3127, 0.3290))  # a y of 0
    assert icc.nclx_matrix_trc(_nclx(12, 13, flat)) is None
    in_line = ((0.2, 0.2), (0.3, 0.3), (0.4, 0.4), (0.3127, 0.3290))  # no RGB space
    assert icc.nclx_matrix_trc(_nclx(12, 13, in_line)) is None
