"""The full 16 bits of 16-bit colour PNG and TIFF files, for runs writing 16-bit outputs.

Pillow has no 16-bit RGB mode: it hands 16-bit colour PNG and TIFF files over with the low
byte of every sample dropped. OpenCV (opencv-python-headless, a dependency for optical flow)
decodes them whole. Everything else stays as stylize.images does it with Pillow: the EXIF
orientation is applied, transparent pixels are composited over white, and an embedded RGB
ICC profile converts the colours to sRGB (in floating point: stylize.icc). Files this module
does not take (8-bit ones, 16-bit TIFFs with an alpha channel or in other colour models,
profiles with lookup tables) give None, and the caller reads them at 8 bits. Images are
(H, W, 3) uint16 RGB arrays. This module never imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from stylize import icc
from stylize.bit_depth import max_level

_PNG_COLOUR_TYPES = frozenset({2, 4, 6})  # RGB, gray with alpha, RGB with alpha
_TOP = max_level(np.uint16)
# EXIF orientation -> the NumPy transform that shows the picture upright (as
# PIL.ImageOps.exif_transpose does: 2 mirror, 3 half turn, 4 flip, 5 transpose, 6 a quarter
# turn clockwise, 7 transverse, 8 a quarter turn anticlockwise)
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def sixteen_bit_rgb(path: Path, colour_managed: bool = True) -> np.ndarray | None:
    """A 16-bit colour PNG or TIFF file as an upright (H, W, 3) uint16 sRGB array, or None for
    a file this module leaves to Pillow. ``path`` must already have been read by Pillow
    without error (stylize.images.load_image does so first), which vouches for its data."""
    try:
        with Image.open(path, formats=("PNG", "TIFF")) as header:
            if not _holds_16bit_colour(header, path):
                return None
            orientation = header.getexif().get(0x0112, 1)
            profile = header.info.get("icc_profile") if colour_managed else None
            colour_key = "transparency" in header.info
    except UnidentifiedImageError:  # another format
        return None
    try:
        source = icc.profile_source(profile)
    except icc.LeftToLittleCms:
        return None
    pixels = _decoded(path)
    if pixels is None or (colour_key and pixels.shape[2] != 4):
        return None
    upright = _UPRIGHT.get(orientation, lambda a: a)(_over_white(pixels))
    rgb = np.ascontiguousarray(upright)
    return rgb if source is None else icc.image_in_srgb(rgb, source)


def _holds_16bit_colour(header: Image.Image, path: Path) -> bool:
    """Whether an opened file is a PNG of 16-bit colour samples, or a TIFF of three 16-bit
    unsigned RGB samples a pixel (no alpha, whose TIFF meaning OpenCV does not report)."""
    if header.format == "PNG":
        with open(path, "rb") as file:
            ihdr = file.read(26)  # signature, chunk length and type, width, height, depth, type
        return len(ihdr) == 26 and ihdr[24] == 16 and ihdr[25] in _PNG_COLOUR_TYPES
    if header.format == "TIFF":
        tags = header.tag_v2
        bits = tuple(tags.get(258, ()))  # one value for every sample, or one each
        return (tags.get(262) == 2 and tags.get(277) == 3  # RGB, three samples a pixel
                and bool(bits) and all(depth == 16 for depth in bits)
                and all(kind == 1 for kind in tags.get(339, (1,))))  # fmt: skip
    return False


def _decoded(path: Path) -> np.ndarray | None:
    """The file's samples as OpenCV decodes them, (H, W, C) uint16 RGB (C 3) or RGBA (C 4),
    or None if it did not give 16 bits."""
    import cv2

    try:
        pixels = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:  # what Pillow decoded, OpenCV refuses: Pillow's 8 bits it is
        return None
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 3:
        return None
    if pixels.shape[2] not in (3, 4):
        return None
    order = [2, 1, 0, 3] if pixels.shape[2] == 4 else [2, 1, 0]  # OpenCV's BGR(A)
    return pixels[:, :, order]


def _over_white(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB, or (H, W, 4) RGBA (straight alpha, as PNG's) composited over white."""
    if pixels.shape[2] == 3:
        return pixels
    alpha = pixels[:, :, 3:].astype(np.float64) / _TOP
    blended = pixels[:, :, :3] * alpha + _TOP * (1.0 - alpha)
    return np.rint(blended).astype(np.uint16)
