"""The full 16 bits of 16-bit colour PNG and TIFF files, for runs writing 16-bit outputs.

Pillow has no 16-bit RGB mode: it hands 16-bit colour PNG and TIFF files over with the low
byte of every sample dropped. OpenCV (opencv-python-headless, a dependency for optical flow)
decodes them whole. Everything else stays as stylize.images does it with Pillow: the EXIF
orientation is applied, transparent pixels are composited over white, and an embedded RGB
ICC profile converts the colours to sRGB (in floating point: stylize.icc). Files without
16-bit colour samples give None, and the caller reads them with Pillow; 16-bit colour files
this module cannot give whole raise EightBitsOnly, saying why, and the caller reads them at
8 bits. Images are (H, W, 3) uint16 RGB arrays. This module never imports TensorFlow.
"""

from __future__ import annotations

import functools
import struct
import zlib
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
_PROBE_ORIENTATION = 6  # a quarter turn: the probe's shape and values both tell


class EightBitsOnly(Exception):
    """A file of 16-bit colour samples this module cannot give whole; the message, one line
    starting in lower case, says why."""


def sixteen_bit_rgb(path: Path, colour_managed: bool = True) -> np.ndarray | None:
    """A 16-bit colour PNG or TIFF file as an upright (H, W, 3) uint16 sRGB array, or None for
    a file without 16-bit colour samples (8-bit ones, 16-bit gray, other formats), which
    Pillow reads. ``path`` must already have been read by Pillow without error
    (stylize.images.load_image does so first), which vouches for its data. Raises
    EightBitsOnly for a 16-bit TIFF that is not RGB without alpha, a profile made of lookup
    tables, and a file OpenCV does not decode whole, upright, at its header's size."""
    try:
        with Image.open(path, formats=("PNG", "TIFF")) as header:
            if not _holds_16bit_colour(header, path):
                return None
            file_format, stored = header.format, _stored_size(header)
            orientation = header.getexif().get(0x0112, 1)
            profile = header.info.get("icc_profile") if colour_managed else None
            colour_key = "transparency" in header.info
    except UnidentifiedImageError:  # another format
        return None
    try:
        source = icc.profile_source(profile)
    except icc.LeftToLittleCms:
        raise EightBitsOnly("its colour profile is made of lookup tables, which LittleCMS"
                            " applies at 8 bits only") from None  # fmt: skip
    pixels = _decoded(np.fromfile(path, np.uint8))
    if pixels is None:
        raise EightBitsOnly("OpenCV could not decode its 16 bits")
    if colour_key and pixels.shape[2] != 4:
        raise EightBitsOnly("OpenCV did not apply its colour-key transparency (tRNS)")
    upright = _upright(pixels, orientation, file_format)
    width, height = stored if orientation < 5 else stored[::-1]
    if upright.shape[:2] != (height, width):
        raise EightBitsOnly(f"OpenCV decoded it as {upright.shape[1]}x{upright.shape[0]}"
                            f" pixels, not {width}x{height}")  # fmt: skip
    rgb = np.ascontiguousarray(_over_white(upright))
    return rgb if source is None else icc.image_in_srgb(rgb, source)


def _holds_16bit_colour(header: Image.Image, path: Path) -> bool:
    """Whether an opened file is a PNG of 16-bit colour samples, or a TIFF of three 16-bit
    unsigned RGB samples a pixel. EightBitsOnly for another TIFF of 16-bit samples than one
    of gray (which Pillow reads whole): with alpha, whose TIFF meaning OpenCV does not
    report, or in another colour model."""
    if header.format == "PNG":
        with open(path, "rb") as file:
            ihdr = file.read(26)  # signature, chunk length and type, width, height, depth, type
        return len(ihdr) == 26 and ihdr[24] == 16 and ihdr[25] in _PNG_COLOUR_TYPES
    if header.format != "TIFF":
        return False
    tags = header.tag_v2
    bits = tuple(tags.get(258, ()))  # one value for every sample, or one each
    samples, model = tags.get(277, 1), tags.get(262)
    if not bits or max(bits) <= 8 or (model in (0, 1) and samples == 1):
        return False
    if (model == 2 and samples == 3 and all(depth == 16 for depth in bits)
            and all(kind == 1 for kind in tags.get(339, (1,)))):  # fmt: skip
        return True
    raise EightBitsOnly("a 16-bit TIFF is read whole as RGB without alpha only")


def _stored_size(header: Image.Image) -> tuple[int, int]:
    """(width, height) of an opened PNG or TIFF as stored, before any EXIF rotation (Pillow
    gives a TIFF turned by a quarter its upright size)."""
    if header.format == "TIFF":
        return header.tag_v2[256], header.tag_v2[257]
    return header.size


def _decoded(data: np.ndarray) -> np.ndarray | None:
    """An encoded file's samples as OpenCV decodes them, (H, W, C) uint16 RGB (C 3) or RGBA
    (C 4), or None if it did not give 16 bits of 3 or 4 channels."""
    import cv2

    try:  # IMREAD_UNCHANGED keeps alpha, and imread's own EXIF rotation is off with it
        pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:  # what Pillow decoded, OpenCV refuses
        return None
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 3:
        return None
    if pixels.shape[2] not in (3, 4):
        return None
    order = [2, 1, 0, 3] if pixels.shape[2] == 4 else [2, 1, 0]  # OpenCV's BGR(A)
    return pixels[:, :, order]


def _upright(pixels: np.ndarray, orientation: int, file_format: str) -> np.ndarray:
    """OpenCV's decoding of a file with EXIF ``orientation``, turned upright unless OpenCV
    did so itself; EightBitsOnly if it does something else with a probe of this format."""
    turn = _UPRIGHT.get(orientation)
    if turn is None:
        return pixels
    turns = opencv_turns(file_format)
    if turns is None:
        raise EightBitsOnly(f"this OpenCV handles a {file_format}'s orientation in a way"
                            " stylize does not know")  # fmt: skip
    return pixels if turns else turn(pixels)


@functools.cache
def opencv_turns(file_format: str) -> bool | None:
    """Whether OpenCV's ``imdecode`` with IMREAD_UNCHANGED turns a 16-bit RGB file of
    ``file_format`` ("PNG" or "TIFF") upright itself: found out once, from a 2x1 probe
    holding orientation 6, since that is the decoder's choice, not the flag's (its TIFF
    decoder applies the Orientation tag whatever the flags say, as of 4.7 and 5.x; its PNG
    decoder leaves eXIf alone). None when it gives neither the probe as stored nor upright."""
    stored = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint16) * 10000  # (1, 2, 3): 2 wide
    probe = _png_probe if file_format == "PNG" else _tiff_probe
    decoded = _decoded(np.frombuffer(probe(stored, _PROBE_ORIENTATION), np.uint8))
    if decoded is None:
        return None
    for answer, expected in ((False, stored), (True, _UPRIGHT[_PROBE_ORIENTATION](stored))):
        if decoded.shape == expected.shape and np.array_equal(decoded, expected):
            return answer
    return None


def _png_probe(rgb: np.ndarray, orientation: int) -> bytes:
    """A 16-bit RGB PNG of (H, W, 3) ``rgb`` with an eXIf chunk holding ``orientation``."""
    height, width, _ = rgb.shape
    rows = b"".join(b"\0" + rgb[row].astype(">u2").tobytes() for row in range(height))
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # SHORT, in the first half
    exif = b"MM\0*" + struct.pack(">IH", 8, 1) + entry + struct.pack(">I", 0)
    chunks = ((b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)),
              (b"eXIf", exif), (b"IDAT", zlib.compress(rows)), (b"IEND", b""))  # fmt: skip
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in chunks
    )


def _tiff_probe(rgb: np.ndarray, orientation: int) -> bytes:
    """An uncompressed little-endian 16-bit RGB TIFF of a small (H, W, 3) ``rgb`` (its
    tags all SHORTs) holding ``orientation`` in its Orientation tag."""
    height, width, _ = rgb.shape
    data = rgb.astype("<u2").tobytes()
    tags = ((256, width), (257, height), (258, 16), (259, 1), (262, 2), (273, 8),
            (274, orientation), (277, 3), (278, height), (279, len(data)))  # fmt: skip
    entries = b"".join(struct.pack("<HHIHH", tag, 3, 1, value, 0) for tag, value in tags)  # SHORTs
    ifd = struct.pack("<H", len(tags)) + entries + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8 + len(data)) + data + ifd


def _over_white(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB, or (H, W, 4) RGBA (straight alpha, as PNG's) composited over white."""
    if pixels.shape[2] == 3:
        return pixels
    alpha = pixels[:, :, 3:].astype(np.float64) / _TOP
    blended = pixels[:, :, :3] * alpha + _TOP * (1.0 - alpha)
    return np.rint(blended).astype(np.uint16)
