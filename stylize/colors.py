"""Colour preservation (Gatys, Bethge, Hertzmann, Shechtman 2016, "Preserving Color in Neural
Artistic Style Transfer"), on (H, W, 3) uint8 RGB arrays with NumPy (a result and the content
may also be uint16, read at 257 levels per 8-bit level)."""

from __future__ import annotations

import numpy as np

from stylize.bit_depth import levels_per_8bit, max_level

# Full-range BT.601 (the JPEG convention): Y in 0..255, Cb and Cr centred on 128.
_RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR)
_CHROMA_OFFSET = np.array([0.0, 128.0, 128.0])


def rgb_to_ycbcr(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB uint8 (or uint16) -> (H, W, 3) float64 YCbCr in 8-bit levels (Y 0..255,
    Cb and Cr around 128)."""
    rgb = image.astype(np.float64) / levels_per_8bit(image)
    return rgb @ _RGB_TO_YCBCR.T + _CHROMA_OFFSET


def ycbcr_to_rgb(ycbcr: np.ndarray, dtype: type = np.uint8) -> np.ndarray:
    """(H, W, 3) float YCbCr (8-bit levels) -> (H, W, 3) RGB of ``dtype`` (uint8, or uint16
    at 257 levels per 8-bit one), rounded and clipped."""
    top = max_level(dtype)
    rgb = (ycbcr - _CHROMA_OFFSET) @ _YCBCR_TO_RGB.T * (top // 255)
    return np.clip(np.rint(rgb), 0, top).astype(dtype)


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 (or uint16) -> (H, W) float64 luminance Y, 0..255."""
    return rgb_to_ycbcr(image)[..., 0]


def gray_rgb(lum: np.ndarray, dtype: type = np.uint8) -> np.ndarray:
    """(H, W) luminance in 8-bit levels -> (H, W, 3) gray image with that luminance, of
    ``dtype`` (uint8, or uint16 at 257 levels per 8-bit one), rounded and clipped."""
    top = max_level(dtype)
    levels = np.clip(np.rint(lum * (top // 255)), 0, top).astype(dtype)
    return np.repeat(levels[..., None], 3, axis=2)


def gray_image(image: np.ndarray) -> np.ndarray:
    """The (H, W, 3) gray image of an (H, W, 3) uint8 or uint16 image's luminance, of its
    type: what luminance transfer optimizes, and scores, in place of a colour image."""
    return gray_rgb(luminance(image), image.dtype)


def match_luminance(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The style's luminance shifted and scaled to the content's mean and standard deviation,
    as a gray (H_s, W_s, 3) uint8 image (the paper's luminance-only transfer, section 3)."""
    y_style, y_content = luminance(style), luminance(content)
    spread = y_style.std()
    scale = y_content.std() / spread if spread > 1e-6 else 1.0
    return gray_rgb((y_style - y_style.mean()) * scale + y_content.mean())


def restore_chroma(result: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The result's luminance with the content's Cb and Cr; both (H, W, 3) RGB, uint8 or
    uint16 (levels of 1/257); the returned image is of the result's type."""
    ycbcr = rgb_to_ycbcr(content)
    ycbcr[..., 0] = luminance(result)
    return ycbcr_to_rgb(ycbcr, result.dtype)


def match_color_histogram(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Recolour the style so its colours have the content's mean and covariance (the paper's
    colour histogram matching, section 2: x' = A (x - mu_S) + mu_C with
    A = Sigma_C^(1/2) Sigma_S^(-1/2)). The style is uint8, the content uint8 or uint16;
    returns an (H_s, W_s, 3) uint8 image."""
    pixels_s = style.reshape(-1, 3).astype(np.float64)
    pixels_c = content.reshape(-1, 3).astype(np.float64) / levels_per_8bit(content)
    mean_s, mean_c = pixels_s.mean(axis=0), pixels_c.mean(axis=0)
    transform = _sqrtm(np.cov(pixels_c.T)) @ _sqrtm(np.cov(pixels_s.T), inverse=True)
    matched = (pixels_s - mean_s) @ transform.T + mean_c
    return np.clip(np.rint(matched), 0, 255).astype(np.uint8).reshape(style.shape)


def _sqrtm(covariance: np.ndarray, inverse: bool = False) -> np.ndarray:
    """Symmetric square root (or inverse square root) of a 3x3 covariance matrix."""
    values, vectors = np.linalg.eigh(covariance + np.eye(3) * 1e-5)
    values = np.maximum(values, 1e-5)
    power = -0.5 if inverse else 0.5
    return (vectors * values**power) @ vectors.T
