"""ICC profiles: 8-bit images converted to sRGB by LittleCMS (through Pillow's ImageCms),
and matrix/TRC profiles evaluated in floating point, for 16-bit images and for the nclx
colour codes of HEIF images without a profile (nclx_matrix_trc).

Pillow's LittleCMS binding transforms 8-bit pixels only (it has no 16-bit RGB mode), so a
16-bit image with an RGB profile such as Adobe RGB, ProPhoto or Display P3 is converted here:
each channel through its tone curve (rTRC, gTRC, bTRC) to linear light, through the colorant
matrix (rXYZ, gXYZ, bXYZ) to the profile connection space's D50 XYZ, through black point
compensation and the inverse of sRGB's matrix, clipped to sRGB's gamut, and through the
inverse of sRGB's tone curve. That is what LittleCMS does for two matrix/TRC profiles with
the perceptual intent, which has no tables to use in them (the compensation changes nothing
where the source's black is zero, as in Adobe RGB, ProPhoto or Display P3). Tag layouts
follow ICC.1:2010 (sections 10.6 curveType, 10.18 parametricCurveType, 10.31 XYZType).
Profiles with lookup tables for the perceptual intent (A2B0), or of another colour space,
are not taken: ``matrix_trc`` returns None and the caller keeps LittleCMS. This module never
imports TensorFlow.
"""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

try:
    from PIL import ImageCms
except ImportError:  # a Pillow built without LittleCMS: profiles are ignored
    ImageCms = None

_HEADER = 128  # bytes before the tag count
_COLORANTS = (b"rXYZ", b"gXYZ", b"bXYZ")
_CURVES = (b"rTRC", b"gTRC", b"bTRC")
_D50 = np.array([0.9642, 1.0, 0.8249])  # the profile connection space's white, XYZ
_Y_OF_L50 = ((50 + 16) / 116) ** 3  # CIE L* 50 as luminance Y
_INVERSE_SAMPLES = 1 << 18  # points each inverse tone curve is interpolated between
# ITU-T H.273 codes: TransferCharacteristics 13 is sRGB's curve; ColourPrimaries 1 is
# BT.709's (sRGB's), 2 unspecified
_H273_SRGB_TRANSFER = 13
_H273_SRGB_PRIMARIES = frozenset({1, 2})
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367],
                      [0.0389, -0.0685, 1.0296]])  # fmt: skip
_PIECE_PIXELS = 1 << 18  # image_in_srgb converts pieces of about this many pixels
# parametricCurveType: how many s15Fixed16 parameters each function type has (Table 68)
_PARAMETERS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


@dataclass(frozen=True)
class MatrixTrc:
    """An RGB matrix/TRC profile: ``matrix`` (3, 3), linear RGB 0..1 to D50 XYZ (columns: the
    colorants), and one tone curve per channel, code value 0..1 to linear light 0..1."""

    matrix: np.ndarray
    curves: tuple

    def to_linear(self, rgb: np.ndarray) -> np.ndarray:
        """(..., 3) code values 0..1 -> (..., 3) linear light (float64)."""
        return np.stack([curve(rgb[..., k]) for k, curve in enumerate(self.curves)], -1)

    def black_point(self) -> np.ndarray:
        """The (3,) XYZ black point LittleCMS finds for such a profile (cmssamp.c,
        BlackPointAsDarkerColorant): the lightness of RGB (0, 0, 0), at most L* 50, made
        neutral (a* = b* = 0), so D50 white times the Y of that black."""
        black_y = float((self.matrix @ self.to_linear(np.zeros(3)))[1])
        return _D50 * min(max(black_y, 0.0), _Y_OF_L50)

    def from_linear(self, linear: np.ndarray) -> np.ndarray:
        """(..., 3) linear light 0..1 -> (..., 3) code values 0..1: each curve's inverse
        interpolated linearly between its values at _INVERSE_SAMPLES even steps of light
        (a table look-up: searching the curve for every pixel took 10 times as long)."""
        steps = _INVERSE_SAMPLES - 1
        channels = []
        for k, table in enumerate(self.inverse_tables):
            position = np.clip(linear[..., k], 0.0, 1.0) * steps
            index = np.minimum(position.astype(np.intp), steps - 1)
            position -= index  # now the fraction of the step
            low = np.take(table, index)
            channels.append(low + position * (np.take(table, index + 1) - low))
        return np.stack(channels, -1)

    def curves_at_levels(self, top: int) -> tuple[np.ndarray, ...]:
        """Per channel, the linear light of each level 0..``top`` (255 or 65535)."""
        if top not in self._level_tables:
            levels = np.arange(top + 1) / top
            self._level_tables[top] = tuple(curve(levels) for curve in self.curves)
        return self._level_tables[top]

    @functools.cached_property
    def _level_tables(self) -> dict[int, tuple[np.ndarray, ...]]:
        return {}

    @functools.cached_property
    def inverse_tables(self) -> tuple[np.ndarray, ...]:
        """Per channel, the code value 0..1 of each of _INVERSE_SAMPLES evenly spaced light
        levels 0..1: the curve sampled as finely and inverted (the curves rise)."""
        grid = np.linspace(0.0, 1.0, _INVERSE_SAMPLES)
        tables = []
        for curve in self.curves:
            light = np.maximum.accumulate(curve(grid))  # flat, never falling, where rounded
            tables.append(np.interp(grid, light, grid))
        return tuple(tables)


def nclx_matrix_trc(nclx: dict) -> MatrixTrc | None:
    """A HEIF image's nclx colour description (pillow-heif's ``info["nclx_profile"]``: ITU-T
    H.273 codes and the primaries' chromaticities) as a MatrixTrc whose colorants are
    adapted to D50 with Bradford, as LittleCMS builds its RGB profiles. None when it says
    sRGB's primaries (BT.709's) or none, when its transfer is not sRGB's (13; BT.709's
    camera curve, PQ and HLG are not converted), or when chromaticities are missing."""
    if nclx.get("transfer_characteristics") != _H273_SRGB_TRANSFER:
        return None
    if nclx.get("color_primaries") in _H273_SRGB_PRIMARIES:
        return None
    try:
        xy = [(float(nclx[f"color_primary_{c}_x"]), float(nclx[f"color_primary_{c}_y"]))
              for c in ("red", "green", "blue", "white")]  # fmt: skip
        matrix = _adapted_to_d50(_rgb_to_xyz(xy[:3], xy[3]), xy[3])
    except (KeyError, TypeError, ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None  # missing, or chromaticities no RGB space has (y = 0, primaries in line)
    if not np.all(np.isfinite(matrix)):
        return None
    curve = _parametric(3, [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045])  # IEC 61966-2-1
    return MatrixTrc(matrix, (curve,) * 3)


def _xyz_of(x: float, y: float) -> np.ndarray:
    """The XYZ of chromaticity (x, y) at luminance Y 1."""
    return np.array([x / y, 1.0, (1 - x - y) / y])


def _rgb_to_xyz(primaries, white) -> np.ndarray:
    """(3, 3) linear RGB to XYZ of three (x, y) primaries whose sum is the white (x, y)."""
    columns = np.array([_xyz_of(x, y) for x, y in primaries]).T
    return columns * np.linalg.solve(columns, _xyz_of(*white))


def _adapted_to_d50(matrix: np.ndarray, white) -> np.ndarray:
    """An RGB-to-XYZ ``matrix`` for the (x, y) ``white`` taken to D50 (Bradford)."""
    cone_ratio = (_BRADFORD @ _D50) / (_BRADFORD @ _xyz_of(*white))
    return np.linalg.inv(_BRADFORD) @ np.diag(cone_ratio) @ _BRADFORD @ matrix


def description(profile: bytes) -> str | None:
    """The profile's description as LittleCMS reads it, or None where it cannot read the
    profile (or Pillow was built without LittleCMS, so that profiles are ignored)."""
    parsed = _little_cms_profile(profile)
    return None if parsed is None else ImageCms.getProfileDescription(parsed)


def _little_cms_profile(profile: bytes):
    """The profile as LittleCMS reads it, or None (unreadable, or no LittleCMS)."""
    if ImageCms is None:
        return None
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(profile))
    except (OSError, ImageCms.PyCMSError):
        return None


def says_srgb(text: str) -> bool:
    """Whether a profile description names sRGB: such a profile needs no conversion."""
    return text.strip().lower().startswith("srgb")


def is_rgb(profile: bytes) -> bool:
    """Whether a profile's colour space (header bytes 16-20) is RGB."""
    return profile[16:20] == b"RGB "


def in_srgb(picture: Image.Image, profile: bytes | None) -> Image.Image:
    """An 8-bit Pillow ``picture`` (mode RGB, L or CMYK) taken from the colours of its ICC
    ``profile`` to sRGB by LittleCMS, perceptual intent, as mode RGB; unchanged without a
    profile, with one that says sRGB (a transform would only round), with one LittleCMS
    cannot read or that does not fit the picture's mode, and without LittleCMS."""
    source = _little_cms_profile(profile) if profile else None
    if source is None or says_srgb(ImageCms.getProfileDescription(source)):
        return picture
    try:
        return ImageCms.profileToProfile(picture, source, _littlecms_srgb(), outputMode="RGB")
    except (OSError, ImageCms.PyCMSError):  # not the picture's colour space
        return picture


@functools.cache
def _littlecms_srgb():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def srgb_profile() -> bytes:
    """LittleCMS's built-in sRGB profile, the one 8-bit images are converted to."""
    return _littlecms_srgb().tobytes()


class LeftToLittleCms(Exception):
    """A profile only LittleCMS can apply, and Pillow lets it do so at 8 bits only."""


def profile_source(profile: bytes | None) -> MatrixTrc | None:
    """The embedded profile a deep (16-bit) image is converted from, or None where
    stylize.images ignores it: no profile, one that says sRGB or cannot be read, or one that
    is not RGB (so does not fit the image). Raises LeftToLittleCms for an RGB profile with
    lookup tables: the caller reads the file at 8 bits then."""
    text = description(profile) if profile else None
    if text is None or says_srgb(text) or not is_rgb(profile):
        return None
    source = matrix_trc(profile)
    if source is None:
        raise LeftToLittleCms
    return source


def matrix_trc(profile: bytes) -> MatrixTrc | None:
    """The matrix and tone curves of an RGB ``profile`` (an ICC file's bytes), or None when it
    is not an RGB profile with XYZ colorants and curves, when it carries an A2B0 table (which
    LittleCMS would use instead), or when its tags cannot be read."""
    try:
        if not is_rgb(profile) or profile[20:24] != b"XYZ ":
            return None
        tags = _tag_table(profile)
        if b"A2B0" in tags or not all(name in tags for name in _COLORANTS + _CURVES):
            return None
        columns = [_xyz(tags[name]) for name in _COLORANTS]
        curves = tuple(_curve(tags[name]) for name in _CURVES)
    except (struct.error, ValueError, IndexError, ArithmeticError):  # ArithmeticError: a = 0
        return None
    return MatrixTrc(np.array(columns, np.float64).T, curves)


def convert(rgb: np.ndarray, source: MatrixTrc, target: MatrixTrc) -> np.ndarray:
    """(..., 3) code values 0..1 in ``source``'s colours -> (..., 3) code values 0..1 in
    ``target``'s, through D50 XYZ with black point compensation (below); colours outside
    the target's gamut are clipped."""
    return _from_source_light(source.to_linear(rgb), source, target)


def convert_levels(pixels: np.ndarray, source: MatrixTrc, target: MatrixTrc) -> np.ndarray:
    """``convert`` for (..., 3) uint8 or uint16 levels, returning levels of the same type
    (rounded); the tone curves are looked up at each level rather than computed, with the
    same values."""
    top = int(np.iinfo(pixels.dtype).max)
    tables = source.curves_at_levels(top)
    linear = np.stack([np.take(tables[k], pixels[..., k]) for k in range(3)], -1)
    out = _from_source_light(linear, source, target)
    return np.rint(out * top).astype(pixels.dtype)


def image_in_srgb(pixels: np.ndarray, source: MatrixTrc) -> np.ndarray:
    """An (H, W, 3) uint8 or uint16 image in ``source``'s colours taken to LittleCMS's sRGB
    (convert_levels), a piece of rows at a time: the float64 arrays of a print-size image
    would take gigabytes at once."""
    out = np.empty_like(pixels)
    rows = max(1, _PIECE_PIXELS // pixels.shape[1])
    for top in range(0, pixels.shape[0], rows):
        out[top : top + rows] = convert_levels(pixels[top : top + rows], source, srgb())
    return out


@functools.cache
def srgb() -> MatrixTrc:
    """LittleCMS's own sRGB profile, which 8-bit images are converted to, as a MatrixTrc."""
    return matrix_trc(srgb_profile())


def _from_source_light(linear: np.ndarray, source: MatrixTrc, target: MatrixTrc) -> np.ndarray:
    """(..., 3) linear light of ``source`` -> (..., 3) code values 0..1 of ``target``."""
    xyz = linear @ source.matrix.T
    scale, offset = _black_point_compensation(source.black_point(), target.black_point())
    light = (xyz * scale + offset) @ np.linalg.inv(target.matrix).T
    return target.from_linear(np.clip(light, 0.0, 1.0))


def _black_point_compensation(black_in: np.ndarray, black_out: np.ndarray):
    """Per XYZ component, the scale and offset taking ``black_in`` to ``black_out`` and
    keeping D50 white. LittleCMS applies it with the perceptual intent whenever the target
    profile is of version 4, as its sRGB is (cmscnvrt.c, ComputeBlackPointCompensation)."""
    scale = (black_out - _D50) / (black_in - _D50)
    return scale, -_D50 * (black_out - black_in) / (black_in - _D50)


def _tag_table(profile: bytes) -> dict[bytes, bytes]:
    """Each tag's signature and its data."""
    (count,) = struct.unpack_from(">I", profile, _HEADER)
    tags = {}
    for index in range(count):
        name, offset, size = struct.unpack_from(">4sII", profile, _HEADER + 4 + 12 * index)
        if offset + size > len(profile):
            raise ValueError(f"tag {name!r} runs past the end of the profile")
        tags[name] = profile[offset : offset + size]
    return tags


def _s15fixed16(data: bytes, offset: int, count: int) -> list[float]:
    return [v / 65536 for v in struct.unpack_from(f">{count}i", data, offset)]


def _xyz(data: bytes) -> list[float]:
    """An XYZType tag's first XYZ number."""
    if data[:4] != b"XYZ ":
        raise ValueError("a colorant tag is not of XYZType")
    return _s15fixed16(data, 8, 3)


def _curve(data: bytes):
    """A curveType or parametricCurveType tag as a function of an array of code values 0..1
    (clipped) returning linear light."""
    if data[:4] == b"curv":
        (count,) = struct.unpack_from(">I", data, 8)
        if count == 0:  # the identity
            return lambda x: np.clip(x, 0.0, 1.0)
        if count == 1:  # a power, stored as u8Fixed8Number
            (gamma,) = struct.unpack_from(">H", data, 12)
            return lambda x: np.clip(x, 0.0, 1.0) ** (gamma / 256)
        table = np.array(struct.unpack_from(f">{count}H", data, 12), np.float64) / 65535
        grid = np.linspace(0.0, 1.0, count)  # entries sample 0..1 evenly; linear between
        return lambda x: np.interp(x, grid, table)
    if data[:4] == b"para":
        (kind,) = struct.unpack_from(">H", data, 8)
        if kind not in _PARAMETERS:
            raise ValueError(f"unknown parametric curve type {kind}")
        return _parametric(kind, _s15fixed16(data, 12, _PARAMETERS[kind]))
    raise ValueError(f"a tone curve tag of type {data[:4]!r}")


def _parametric(kind: int, p: list[float]):
    """ICC.1:2010 Table 68's five functions: Y of X with parameters g, a, b, c, d, e, f."""
    g, a, b, c, d, e, f = (p + [0.0] * 7)[:7]
    if kind == 1:  # below -b/a it is 0
        c, d = 0.0, -b / a
    elif kind == 2:  # below -b/a it is c, and c is added above
        e, f, c, d = c, c, 0.0, -b / a
    elif kind == 3:  # the linear segment cX below d
        e = f = 0.0

    def curve(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        if kind == 0:
            return x**g
        above = np.power(np.maximum(a * x + b, 0.0), g) + e
        below = c * x + f
        return np.clip(np.where(x >= d, above, below), 0.0, 1.0)

    return curve
