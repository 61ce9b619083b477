"""HEIF stills of 10 and 12 bits: HDR ones (PQ or HLG) mapped to SDR sRGB, SDR ones read
whole for 16-bit outputs.

pillow-heif hands such files to Pillow as 8 bits a sample, the low bits dropped, and with the
codes as stored: a camera's HDR HEIF (HLG or PQ over BT.2020, as Canon's and Sony's write
them) then looked dim and grey, its curve taken for sRGB's. Here, from the header Pillow
opens, the file is decoded once at its full depth (pillow-heif's ``convert_hdr_to_8bit=False``:
each sample's bits at the top of 16), and its nclx codes say what the numbers mean:

- HDR (ITU-T H.273 TransferCharacteristics 16, PQ, or 18, HLG) becomes display light
  relative to SDR white (203 cd/m2), is converted to BT.709 primaries (sRGB's), rolled off
  above a knee by BT.2390's EETF from a 1,000 cd/m2 peak, as stylize.hdr does for video,
  and is encoded with the sRGB curve, at the levels asked for (8 or 16 bits).
- SDR, when 16-bit levels are asked for, keeps every level (code x 65535 / (2^bits - 1)),
  and its colours go to sRGB as the 8-bit read takes them: an embedded matrix/TRC profile,
  or nclx codes with sRGB's curve and other primaries (stylize.icc, in floating point).

Transparent pixels are composited over white at the end. Files this module does not take
(8 bits, a profile with lookup tables, HDR without colour management or with primaries it
does not know) give None, and the caller reads them as before. Images are (H, W, 3) uint8
or uint16 RGB. This module never imports TensorFlow.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from stylize import hdr, icc

# ITU-T H.273 codes: TransferCharacteristics of HDR; ColourPrimaries as stylize.hdr names them
_HDR_TRANSFERS = {16: "pq", 18: "hlg"}
_PRIMARIES = {1: "bt709", 9: "bt2020", 12: "smpte432"}
_PIECE_PIXELS = 1 << 18  # pixels are converted a piece of rows of about this many at a time


def from_header(path: Path, colour_managed: bool, bit_depth: int,
                min_side: int) -> np.ndarray | None:  # fmt: skip
    """``deep_heif`` from the file's header as Pillow (pillow-heif's plugin, registered by
    the caller) opens it, before anything is decoded: libheif would otherwise decode the
    file twice. None for any other file, one smaller than ``min_side`` on a side, one whose
    header Pillow refuses (decompression-bomb size included): stylize.images then decodes
    it and says what is wrong."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=("HEIF",)) as header:
                info, size = dict(header.info), header.size
    except Exception:  # not a HEIF, or one stylize.images refuses with its own message
        return None
    if min(size) < min_side:
        return None
    return deep_heif(path, info, size, colour_managed, bit_depth)


def deep_heif(path: Path, info: dict, size: tuple[int, int], colour_managed: bool,
              bit_depth: int) -> np.ndarray | None:  # fmt: skip
    """A HEIF of more than 8 bits a sample as an (H, W, 3) sRGB image of ``bit_depth`` (8:
    uint8, 16: uint16), or None for a file left to Pillow. ``info`` is the Pillow image's
    (pillow-heif's ``bit_depth``, ``nclx_profile``, ``icc_profile``), ``size`` its (width,
    height); a file that cannot be decoded gives None too."""
    depth = info.get("bit_depth", 8)
    if not isinstance(depth, int) or not 8 < depth <= 16:
        return None
    mapping = _hdr_mapping(info) if colour_managed else None
    if mapping is None and bit_depth != 16:
        return None
    try:
        source = None if mapping else _sdr_source(info, colour_managed)
    except icc.LeftToLittleCms:
        return None
    pixels = _decoded(path, size)
    if pixels is None:
        return None
    top = 65535 if bit_depth == 16 else 255
    out = np.empty((*pixels.shape[:2], 3), np.uint16 if bit_depth == 16 else np.uint8)
    # a piece of rows at a time: the float arrays of a print-size photo take gigabytes
    rows = max(1, _PIECE_PIXELS // pixels.shape[1])
    for first in range(0, pixels.shape[0], rows):
        piece = pixels[first : first + rows]
        out[first : first + rows] = _in_srgb(piece, depth, mapping, source, top)
    return out


def _in_srgb(pixels: np.ndarray, depth: int, mapping: tuple[str, str] | None,
             source: icc.MatrixTrc | None, top: int) -> np.ndarray:  # fmt: skip
    """(h, W, 3 or 4) uint16 samples of ``depth`` bits at the top of 16 -> (h, W, 3) sRGB
    levels 0..``top`` (float64, rounded): HDR through ``mapping``, SDR (``top`` 65535 only)
    from ``source``'s colours; alpha over white."""
    codes = (pixels >> (16 - depth)).astype(np.float32) / (2**depth - 1)
    rgb, alpha = codes[:, :, :3], codes[:, :, 3:]
    if mapping:
        out = _hdr_to_srgb(rgb, *mapping)
    else:
        levels = np.rint(rgb * top).astype(np.uint16)
        converted = levels if source is None else icc.convert_levels(levels, source, icc.srgb())
        out = converted / top
    if alpha.shape[2]:
        out = out * alpha + (1.0 - alpha)
    return np.rint(np.clip(out, 0.0, 1.0) * top)


def _hdr_mapping(info: dict) -> tuple[str, str] | None:
    """(transfer, primaries) of an HDR HEIF described by nclx codes alone, else None."""
    nclx = info.get("nclx_profile")
    if not isinstance(nclx, dict) or info.get("icc_profile"):
        return None
    transfer = _HDR_TRANSFERS.get(nclx.get("transfer_characteristics"))
    primaries = _PRIMARIES.get(nclx.get("color_primaries"))
    return (transfer, primaries) if transfer and primaries else None


def _sdr_source(info: dict, colour_managed: bool) -> icc.MatrixTrc | None:
    """The colours an SDR HEIF is converted from, as the 8-bit read takes them."""
    if not colour_managed:
        return None
    profile = info.get("icc_profile")
    if profile:
        return icc.profile_source(profile)
    nclx = info.get("nclx_profile")
    return icc.nclx_matrix_trc(nclx) if isinstance(nclx, dict) else None


def _decoded(path: Path, size: tuple[int, int]) -> np.ndarray | None:
    """The primary image at full depth, (H, W, 3 or 4) uint16 with each sample's bits at the
    top, upright as libheif applies the file's rotation and mirroring; None if it is not
    that, or not of Pillow's ``size``."""
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)
        # copied while ``heif`` lives: before pillow_heif#453 (2026-07), an array view of a
        # HeifFile dropped at once read memory already freed (garbage in the first pixels)
        pixels = np.array(heif)
    except Exception:  # corrupt data: Pillow's decoding, which follows, says so
        return None
    if pixels.dtype != np.uint16 or pixels.shape[:2] != (size[1], size[0]):
        return None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.shape[2] in (1, 2):  # gray, gray and alpha
        pixels = pixels[:, :, [0, 0, 0, *range(1, pixels.shape[2])]]
    return pixels if pixels.shape[2] in (3, 4) else None


def _hdr_to_srgb(rgb: np.ndarray, transfer: str, primaries: str) -> np.ndarray:
    """(..., 3) HDR code values 0..1 -> (..., 3) sRGB code values 0..1 (stylize.hdr's
    chain for video, with the sRGB curve at the end: stills are sRGB, not BT.709)."""
    light = hdr.to_light(rgb, transfer)
    if primaries != "bt709":
        light = np.maximum(light @ hdr.primaries_to_bt709(primaries).T, 0)
    return hdr.from_light(hdr.bt2390_roll_off(light), "srgb")
