"""8- and 16-bit images: the two pixel types an output can have, and 16-bit file encoding.

Images are (H, W, 3) RGB arrays of uint8 (levels 0..255) or uint16 (0..65535). A uint16
level is a uint8 level times 257 (65535 / 255), so 255 and 65535 are both white and a uint8
image widened to 16 bits is exact. Pillow cannot write 16-bit RGB, so 16-bit PNG and TIFF
are encoded by OpenCV (opencv-python-headless, already a dependency for optical flow),
imported only when such a file is written. This module never imports TensorFlow.
"""

from __future__ import annotations

import numpy as np

from stylize.config import BIT_DEPTH_CHOICES

SIXTEEN_BIT_EXTENSIONS = frozenset({".png", ".tif", ".tiff"})  # formats that hold 16 bits
_PER_LEVEL = 257  # uint16 levels per uint8 level
_PNG_LEVEL = 6  # zlib level: Pillow's default, which writes stylize's 8-bit PNGs
_TIFF_PPI = 72  # OpenCV writes 1 pixel per inch unless told; 72 is what readers assume


def dtype_of(bit_depth: int) -> type:
    """The NumPy pixel type of a bit depth: 8 -> uint8, 16 -> uint16."""
    if bit_depth not in BIT_DEPTH_CHOICES:
        raise ValueError(f"bit depth must be 8 or 16, got {bit_depth}")
    return np.uint16 if bit_depth == 16 else np.uint8


def levels_per_8bit(image: np.ndarray) -> int:
    """How many of the image's levels make one 8-bit level: 257 for uint16, else 1."""
    return _PER_LEVEL if np.asarray(image).dtype == np.uint16 else 1


def max_level(dtype: np.dtype | type) -> int:
    """The largest level of an integer pixel type: 255 for uint8, 65535 for uint16."""
    return int(np.iinfo(dtype).max)


def as_8bit(image: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 or uint16 image as uint8 (16-bit levels divided by 257 and
    rounded); a uint8 image is returned as it is."""
    array = np.asarray(image)
    if array.dtype != np.uint16:
        return array
    return np.rint(array / _PER_LEVEL).astype(np.uint8)


def widened(image: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """A uint8 image at the levels of ``dtype`` (uint8 or uint16), exactly."""
    if np.dtype(dtype) == np.uint16 and image.dtype == np.uint8:
        return image.astype(np.uint16) * _PER_LEVEL
    return image


def at_levels_of(image: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """A uint8 or uint16 image at the levels of ``dtype``: widened exactly, or taken to 8 bits
    with rounding (as_8bit), or returned as it is."""
    if np.dtype(dtype) == np.uint8:
        return as_8bit(image)
    return widened(image, dtype)


def encode_16bit(pixels: np.ndarray, suffix: str) -> bytes:
    """An (H, W, 3) uint16 RGB image as the bytes of a 16-bit-per-channel PNG (zlib level 6)
    or TIFF (LZW, 72 pixels per inch). Raises ValueError for another ``suffix``."""
    if suffix not in SIXTEEN_BIT_EXTENSIONS:
        raise ValueError(f"16-bit images are written as PNG or TIFF, not '{suffix}'")
    import cv2

    if suffix == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, _PNG_LEVEL]
    else:
        params = [cv2.IMWRITE_TIFF_RESUNIT, 2, cv2.IMWRITE_TIFF_XDPI, _TIFF_PPI,
                  cv2.IMWRITE_TIFF_YDPI, _TIFF_PPI]  # fmt: skip
    bgr = np.ascontiguousarray(pixels[:, :, ::-1])  # OpenCV's channel order
    done, encoded = cv2.imencode(".tif" if suffix == ".tiff" else suffix, bgr, params)
    if not done:
        raise ValueError(f"OpenCV could not encode a {pixels.shape} 16-bit '{suffix}' image")
    return encoded.tobytes()
