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
