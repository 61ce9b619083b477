"""Colour preservation's conversions, checked against the BT.601 full-range formulas and
for the 16-bit results of --bit-depth 16."""

from __future__ import annotations

import numpy as np

from stylize import colors


def _rgb(seed: int, shape=(9, 11, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _muted(seed: int, shape=(9, 11, 3)) -> np.ndarray:
    """Colours near mid-gray: any luminance of 60..190 with their chroma stays in gamut."""
    rng = np.random.default_rng(seed)
    gray = rng.integers(60, 191, shape[:2] + (1,))
    return (gray + rng.integers(-12, 13, shape)).astype(np.uint8)


def test_luminance_is_bt601_full_range():
    image = _rgb(0).astype(np.float64)
    expected = 0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2]
    np.testing.assert_allclose(colors.luminance(_rgb(0)), expected, atol=1e-9)


def test_restore_chroma_keeps_the_contents_colour_and_the_results_luminance():
    content, result = _muted(1), _muted(2)  # away from the gamut's edge, where RGB clips
    restored = colors.restore_chroma(result, content)
    assert restored.dtype == np.uint8
    out, source = colors.rgb_to_ycbcr(restored), colors.rgb_to_ycbcr(content)
    luminance_error = np.abs(out[..., 0] - colors.luminance(result))
    chroma_error = np.abs(out[..., 1:] - source[..., 1:])
    assert luminance_error.max() <= 1.0 and chroma_error.max() <= 1.5


def test_a_16bit_result_keeps_its_finer_luminance():
    content = _muted(3)
    result = _muted(4).astype(np.uint16) * 257 + 128  # between 8-bit levels
    restored = colors.restore_chroma(result, content)
    assert restored.dtype == np.uint16
    out = colors.rgb_to_ycbcr(restored / 257)
    luminance_error = np.abs(out[..., 0] - colors.luminance(result / 257))
    assert luminance_error.max() <= 1.5 / 257  # rounding to 16-bit levels, not to 8
    chroma_error = np.abs(out[..., 1:] - colors.rgb_to_ycbcr(content)[..., 1:])
    assert chroma_error.max() <= 1e-2
    eight = colors.restore_chroma(np.rint(result / 257).astype(np.uint8), content)
    assert np.abs(restored / 257 - eight).max() <= 1.5  # the same picture


def test_a_16bit_content_is_read_at_its_levels():
    content = _rgb(5)
    wide = content.astype(np.uint16) * 257  # the same picture at 16 bits
    np.testing.assert_array_equal(colors.rgb_to_ycbcr(wide), colors.rgb_to_ycbcr(content))
    style = _rgb(6, (7, 5, 3))
    np.testing.assert_array_equal(colors.match_luminance(style, wide),
                                  colors.match_luminance(style, content))  # fmt: skip
    np.testing.assert_array_equal(colors.match_color_histogram(style, wide),
                                  colors.match_color_histogram(style, content))  # fmt: skip


def test_a_16bit_content_gives_its_own_chroma_not_its_8bit_rounding():
    rng = np.random.default_rng(7)
    content = _muted(8).astype(np.int64) * 257 + rng.integers(-128, 129, (9, 11, 3))
    content = content.astype(np.uint16)
    result = _muted(9).astype(np.uint16) * 257 + 100
    source = colors.rgb_to_ycbcr(content)[..., 1:]
    restored = colors.restore_chroma(result, content)
    assert np.abs(colors.rgb_to_ycbcr(restored)[..., 1:] - source).max() <= 1e-2
    rounded = np.rint(content / 257).astype(np.uint8)  # what an 8-bit read would give
    from_rounded = colors.restore_chroma(result, rounded)
    assert np.abs(colors.rgb_to_ycbcr(from_rounded)[..., 1:] - source).max() > 0.2


def test_the_gray_image_of_a_16bit_image_keeps_its_finer_luminance():
    """Luminance transfer optimizes a 16-bit --init image (and content) as the gray image
    of its luminance at 16 bits, so a 16-bit print continued starts where it ended."""
    rng = np.random.default_rng(10)
    deep = _rgb(11).astype(np.int64) * 257 + rng.integers(-128, 129, (9, 11, 3))
    deep = deep.clip(0, 65535).astype(np.uint16)
    gray = colors.gray_image(deep)
    assert gray.dtype == np.uint16 and gray.shape == deep.shape
    assert (gray == gray[..., :1]).all()
    weighted = deep.astype(np.float64) @ np.array([0.299, 0.587, 0.114])  # 16-bit levels
    assert np.abs(gray[..., 0] - weighted).max() <= 0.5 + 1e-6
    eight = colors.gray_image(_rgb(11))  # an 8-bit image keeps 8 bits
    assert eight.dtype == np.uint8
    weighted = _rgb(11).astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(eight[..., 0] - weighted).max() <= 0.5 + 1e-6
