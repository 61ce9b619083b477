"""HDR and wide-gamut video frames to 8-bit SDR BT.709, by the standards' formulas (HEIF
stills go through the same steps 2 to 4 in stylize.read_heif, encoded with sRGB's curve).

A frame arrives as ffmpeg's 16-bit 4:4:4 Y'CbCr (any source depth shifted to 16 bits, so
BT.2100's integer formulas with n = 16 hold) and leaves as (H, W, 3) uint8 RGB:

1. Y'CbCr to non-linear R'G'B' with the stream's matrix and range (BT.2100's integer
   coding: limited range puts black at 16 * 2^(n-8)).
2. To display light relative to SDR white: PQ (SMPTE ST 2084) and HLG (BT.2100, with its
   OOTF for a 1000 cd/m2 display) in cd/m2 over 203, HDR's reference white (BT.2408); SDR
   transfers by BT.1886 (gamma 2.4) or the sRGB curve (IEC 61966-2-1).
3. To BT.709 primaries (a 3x3 matrix from the primaries' CIE xy, same D65 white);
   colours outside BT.709 are clipped.
4. HDR only: BT.2390's EETF (a Hermite knee in the PQ domain) leaves light up to a knee
   as it is and rolls off what is brighter, the source's peak reaching 203 (for 1000 cd/m2,
   HLG's and the usual PQ grade, the knee is about 88 cd/m2; a PQ stream's mastering
   metadata can name another peak); applied to max(R, G, B), with the pixel scaled by the
   same factor, so hue and saturation stay.
5. Encoded for SDR: HDR by BT.1886's inverse, which is how BT.709 video (what stylize
   writes) is shown; SDR wide gamut by its own transfer again, so only its gamut changes.

This module never imports TensorFlow.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

SDR_WHITE_NITS = 203.0  # BT.2408: HDR reference white, which SDR shows as its 100 %
HDR_PEAK_NITS = 1000.0  # HLG's nominal display peak (BT.2100); assumed for PQ masters too

# CIE 1931 xy of red, green and blue (white D65 for all: 0.3127, 0.3290)
PRIMARIES_XY = {
    "bt709": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
    "smpte432": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),  # Display P3
}
_D65_XY = (0.3127, 0.3290)
# Kr and Kb of the Y'CbCr matrices of the form Y' = Kr R' + (1 - Kr - Kb) G' + Kb B'
# (BT.2020 non-constant luminance, BT.709, BT.601 twice, FCC, SMPTE 240M)
LUMA_WEIGHTS = {"bt2020nc": (0.2627, 0.0593), "bt709": (0.2126, 0.0722),
                "smpte170m": (0.299, 0.114), "bt470bg": (0.299, 0.114), "fcc": (0.30, 0.11),
                "smpte240m": (0.212, 0.087)}  # fmt: skip


@dataclass(frozen=True)
class Mapping:
    """How one stream's frames become SDR BT.709: its ``matrix`` (a LUMA_WEIGHTS key),
    ``full_range`` or limited, ``transfer`` ("pq", "hlg", "bt1886" or "srgb"),
    ``primaries`` (a PRIMARIES_XY key) and, for HDR, ``source_peak``: the brightest light
    in cd/m2 the roll-off brings to SDR's peak (a PQ master's, from its metadata)."""

    matrix: str
    full_range: bool
    transfer: str
    primaries: str
    source_peak: float = HDR_PEAK_NITS

    @property
    def hdr(self) -> bool:
        return self.transfer in ("pq", "hlg")


def to_sdr(planes: np.ndarray, mapping: Mapping) -> np.ndarray:
    """(3, H, W) uint16 Y', Cb, Cr planes (16-bit codes) -> (H, W, 3) uint8 SDR BT.709."""
    encoded = ycbcr_to_rgb(planes, mapping.matrix, mapping.full_range)
    light = to_light(encoded, mapping.transfer)
    if mapping.primaries != "bt709":
        light = np.maximum(light @ primaries_to_bt709(mapping.primaries).T, 0)
    if mapping.hdr:
        light = bt2390_roll_off(light, mapping.source_peak)
    out = from_light(light, "bt1886" if mapping.hdr else mapping.transfer)
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)


def ycbcr_to_rgb(planes: np.ndarray, matrix: str, full_range: bool) -> np.ndarray:
    """(3, H, W) 16-bit Y'CbCr codes -> (H, W, 3) float32 R'G'B', about 0..1."""
    if full_range:
        offset, span = np.array([0, 32768, 32768]), np.array([65535, 65535, 65535])
    else:  # BT.2100 with n = 16: black 16 * 2^8, luma span 219 * 2^8, chroma span 224 * 2^8
        offset, span = np.array([4096, 32768, 32768]), np.array([56064, 57344, 57344])
    kr, kb = LUMA_WEIGHTS[matrix]
    kg = 1 - kr - kb
    to_rgb = np.array([[1, 0, 2 * (1 - kr)],  # R' = Y' + 2 (1 - Kr) Cr
                       [1, -2 * (1 - kb) * kb / kg, -2 * (1 - kr) * kr / kg],
                       [1, 2 * (1 - kb), 0]])  # fmt: skip
    scaled = to_rgb / span  # codes less their offsets, times this, are R'G'B'
    height, width = planes.shape[1:]
    codes = planes.reshape(3, -1).T.astype(np.float32)
    rgb = codes @ scaled.T.astype(np.float32) - (scaled @ offset).astype(np.float32)
    return rgb.reshape(height, width, 3)


def to_light(encoded: np.ndarray, transfer: str) -> np.ndarray:
    """Non-linear R'G'B' (..., 3) -> float32 display light, 1.0 being SDR white (203 cd/m2
    for HDR). The transfer is looked up in a table of 65,536 steps (about 64 per 10-bit
    code), which costs a fifth of computing it."""
    steps = np.rint(np.clip(encoded, 0, 1) * 65535).astype(np.uint16)
    light = _light_table(transfer)[steps]
    if transfer == "hlg":
        light = hlg_ootf(light) / SDR_WHITE_NITS
    return light


@functools.cache
def _light_table(transfer: str) -> np.ndarray:
    """(65536,) float32: each 16-bit code value's light by the transfer's own formula
    (HLG: scene light, before the OOTF, which mixes the channels)."""
    codes = np.arange(65536) / 65535
    if transfer == "pq":
        light = pq_nits(codes) / SDR_WHITE_NITS
    elif transfer == "hlg":
        light = hlg_scene(codes)
    elif transfer == "srgb":
        light = np.where(codes <= 0.04045, codes / 12.92, ((codes + 0.055) / 1.055) ** 2.4)
    else:
        light = codes**2.4  # BT.1886 with a black level of 0
    return light.astype(np.float32)


def from_light(light: np.ndarray, transfer: str) -> np.ndarray:
    """Display light relative to SDR white -> SDR code values (``transfer``: bt1886 or
    srgb)."""
    light = np.clip(light, 0, 1)
    if transfer == "srgb":
        return np.where(light <= 0.0031308, light * 12.92, 1.055 * light ** (1 / 2.4) - 0.055)
    return light ** (1 / 2.4)


# SMPTE ST 2084 constants
_M1, _M2 = 2610 / 16384, 2523 / 4096 * 128
_C1, _C2, _C3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32


def pq_nits(encoded: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 EOTF: PQ code values in [0, 1] -> cd/m2 (0 to 10,000)."""
    power = _floats(encoded) ** (1 / _M2)
    return 10000 * (np.maximum(power - _C1, 0) / (_C2 - _C3 * power)) ** (1 / _M1)


def pq_code(nits: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 inverse EOTF: cd/m2 -> PQ code values in [0, 1]."""
    power = np.clip(_floats(nits) / 10000, 0, 1) ** _M1
    return ((_C1 + _C2 * power) / (1 + _C3 * power)) ** _M2


def _floats(values) -> np.ndarray:
    """An array of float32 or float64 as given; float64 for anything else."""
    values = np.asarray(values)
    return values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)


_HLG_A = 0.17883277
_HLG_B, _HLG_C = 1 - 4 * _HLG_A, 0.5 - _HLG_A * math.log(4 * _HLG_A)


def hlg_nits(encoded: np.ndarray) -> np.ndarray:
    """BT.2100 HLG EOTF for a 1000 cd/m2 display (black 0): (..., 3) BT.2020 R'G'B' -> cd/m2."""
    return hlg_ootf(hlg_scene(encoded))


def hlg_scene(encoded: np.ndarray) -> np.ndarray:
    """BT.2100 HLG inverse OETF: code values in [0, 1] -> scene light in [0, 1]."""
    return np.where(encoded <= 0.5, encoded**2 / 3,
                    (np.exp((encoded - _HLG_C) / _HLG_A) + _HLG_B) / 12)  # fmt: skip


def hlg_ootf(scene: np.ndarray) -> np.ndarray:
    """BT.2100 HLG OOTF for a 1000 cd/m2 display: (..., 3) BT.2020 scene light -> cd/m2,
    each pixel raised by its luminance to the system gamma 1.2."""
    kr, kb = LUMA_WEIGHTS["bt2020nc"]
    luminance = scene @ np.array([kr, 1 - kr - kb, kb], scene.dtype)
    return HDR_PEAK_NITS * scene * (np.maximum(luminance, 1e-12) ** 0.2)[..., None]


def rgb_to_xyz(primaries: str) -> np.ndarray:
    """(3, 3): linear RGB with ``primaries`` to CIE XYZ, white (1, 1, 1) to D65 at Y = 1
    (SMPTE RP 177)."""
    columns = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in PRIMARIES_XY[primaries]]).T
    x, y = _D65_XY
    return columns * np.linalg.solve(columns, np.array([x / y, 1.0, (1 - x - y) / y]))


@functools.cache
def primaries_to_bt709(primaries: str) -> np.ndarray:
    """(3, 3) read-only: linear RGB with ``primaries`` to linear BT.709 RGB (for BT.2020,
    BT.2087's). Computed once per primaries, as every frame of a clip uses it."""
    matrix = np.linalg.solve(rgb_to_xyz("bt709"), rgb_to_xyz(primaries)).astype(np.float32)
    matrix.setflags(write=False)
    return matrix


def bt2390_eetf(nits: np.ndarray, source_peak: float = HDR_PEAK_NITS,
                target_peak: float = SDR_WHITE_NITS) -> np.ndarray:  # fmt: skip
    """ITU-R BT.2390's EETF (section 5.4.1, black levels 0): cd/m2 mastered up to
    ``source_peak`` -> cd/m2 up to ``target_peak``. Unchanged below the knee (eetf_knee); a
    Hermite spline in the PQ domain above it, meeting the source peak at the target's with
    slope 0."""
    source, top, knee = _eetf_points(source_peak, target_peak)
    relative = np.minimum(pq_code(nits) / source, 1.0)
    t = np.maximum((relative - knee) / (1 - knee), 0)
    spline = ((2 * t**3 - 3 * t**2 + 1) * knee + (t**3 - 2 * t**2 + t) * (1 - knee)
              + (-2 * t**3 + 3 * t**2) * top)  # fmt: skip
    return pq_nits(np.where(relative < knee, relative, spline) * source)


@functools.cache
def eetf_knee(source_peak: float = HDR_PEAK_NITS, target_peak: float = SDR_WHITE_NITS) -> float:
    """The cd/m2 below which bt2390_eetf changes nothing (about 88 for 1000 -> 203)."""
    source, _, knee = _eetf_points(source_peak, target_peak)
    return float(pq_nits(knee * source))


def _eetf_points(source_peak: float, target_peak: float) -> tuple[float, float, float]:
    """The source peak's PQ code, and the target peak's and the knee's relative to it (the
    knee: 1.5 * target - 0.5)."""
    source = float(pq_code(source_peak))
    top = float(pq_code(target_peak)) / source
    return source, top, 1.5 * top - 0.5


def bt2390_roll_off(light: np.ndarray, source_peak: float = HDR_PEAK_NITS) -> np.ndarray:
    """(..., 3) light relative to SDR white -> a float32 copy with max(R, G, B) through
    bt2390_eetf (from ``source_peak`` cd/m2) and the other two scaled alike (hue and
    saturation kept), at most 1. A source no brighter than SDR white is left as it is."""
    light = np.array(light, np.float32)
    if source_peak <= SDR_WHITE_NITS:  # nothing to roll off: the encoding clips at white
        return light
    peak = light.max(axis=-1)
    above = peak > eetf_knee(source_peak) / SDR_WHITE_NITS  # the rest is left as it is
    mapped = bt2390_eetf(peak[above] * SDR_WHITE_NITS, source_peak) / SDR_WHITE_NITS
    light[above] *= (mapped / peak[above])[:, None]
    return light
