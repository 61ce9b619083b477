"""How a clip's frames are decoded to sRGB-like 8-bit RGB: the YUV matrix players guess for
a stream that names none, and HDR or wide-gamut streams mapped to SDR BT.709 by
stylize.hdr, as an ordinary screen shows them.

Everything here reads ffmpeg's text: the stream line as imageio-ffmpeg reports it
(``meta["pix_fmt"]``, e.g. ``yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive)``)
and, for a PQ stream, the side data of its first frame as ffmpeg's showinfo filter prints
it. This module never imports TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stylize import hdr

# The matrices a stream can name, as ffmpeg's stream line spells them ("yuv420p(tv, bt709)")
NAMED_MATRICES = frozenset({"bt709", "fcc", "bt470bg", "smpte170m", "smpte240m", "ycgco",
                            "bt2020nc", "bt2020c", "smpte2085", "chroma-derived-nc",
                            "chroma-derived-c", "ictcp", "gbr"})  # fmt: skip
# Stream transfers by the curve hdr.Mapping decodes them with: PQ (HDR10, Dolby
# Vision's base layer), HLG (phones' HDR video), sRGB's curve, and BT.1886 for SDR video.
_TRANSFERS = {"smpte2084": "pq", "arib-std-b67": "hlg", "iec61966-2-1": "srgb"}
_HDR_NAMES = {"pq": "PQ", "hlg": "HLG"}
# Primaries wider than BT.709's that frames are mapped from
_WIDE_PRIMARIES = {"bt2020": "BT.2020", "smpte432": "Display P3"}
# HDR10's static metadata in showinfo's lines (ffmpeg 7 and 9 spell them alike):
# "... Mastering display metadata: ... max_luminance=4000.000000" (SMPTE ST 2086) and
# "... Content light level ...: MaxCLL=3500, MaxFALL=400" (CTA-861.3)
_MASTERING_PEAK = re.compile(r"max_luminance=([0-9]+(?:\.[0-9]+)?)")
_MAX_CLL = re.compile(r"MaxCLL=([0-9]+)")
MAX_PQ_NITS = 10000.0  # PQ's range (SMPTE ST 2084)


@dataclass(frozen=True)
class StreamColours:
    """The colour tags of a stream line; None where it names none (or "unknown")."""

    matrix: str | None = None
    primaries: str | None = None
    transfer: str | None = None


def stream_colours(pixel_format_text: str) -> StreamColours:
    """The tags in ffmpeg's pixel-format text: "matrix/primaries/transfer" when they
    differ, one name when all three are the same ("bt709")."""
    _, _, details = pixel_format_text.partition("(")
    for part in (piece.strip() for piece in details.rstrip(")").split(",")):
        names = [None if name in ("", "unknown") else name for name in part.split("/")]
        if len(names) == 3:
            return StreamColours(*names)
        if part in NAMED_MATRICES:
            return StreamColours(part, part, part)
    return StreamColours()


def assumed_matrix(meta: dict) -> str | None:
    """The name "bt709" for a YUV stream of HD size (1280 wide or more, or over 576 high)
    that does not name its matrix, else None. Players guess BT.709's matrix there (mpv's
    mp_csp_guess_colorspace, for one), while ffmpeg decodes every unnamed stream with
    BT.601's: read so, such a clip's frames would not be the colours its viewers see.
    ``meta``: imageio-ffmpeg's, whose ``pix_fmt`` is ffmpeg's stream text."""
    text = str(meta.get("pix_fmt", ""))
    if not text.strip().startswith(("yuv", "nv")):
        return None
    width, height = meta.get("source_size") or meta["size"]
    hd = width >= 1280 or height > 576
    return "bt709" if hd and stream_colours(text).matrix is None else None


def is_pq(meta: dict) -> bool:
    """Whether a stream's imageio-ffmpeg metadata names PQ (SMPTE ST 2084) as its transfer:
    the streams whose mastering metadata sets the roll-off (pq_source_peak)."""
    return _TRANSFERS.get(stream_colours(str(meta.get("pix_fmt", ""))).transfer or "") == "pq"


def pq_source_peak(side_data: str) -> float | None:
    """The brightest light in cd/m2 of a PQ stream, from ffmpeg's showinfo text of a frame:
    MaxCLL (the content's brightest pixel: rolling off to a brighter display's peak would
    dim highlights the content never has) where it is given and no brighter than the
    mastering display's peak, else that peak; None when neither is given (or is 0), as
    in most files without HDR10 metadata. At most PQ's 10,000 cd/m2. Only showinfo's side
    data lines count (a title tag could hold any text)."""
    lines = "\n".join(line for line in side_data.splitlines()
                      if "showinfo" in line and "side data" in line)  # fmt: skip
    peaks = [float(found) for found in _MASTERING_PEAK.findall(lines) if float(found) > 0]
    lights = [float(found) for found in _MAX_CLL.findall(lines) if int(found) > 0]
    mastering = peaks[0] if peaks else None
    content = lights[0] if lights else None
    if content is not None and (mastering is None or content <= mastering):
        return min(content, MAX_PQ_NITS)
    return None if mastering is None else min(mastering, MAX_PQ_NITS)


def needed_mapping(colours: StreamColours) -> str | None:
    """What makes a stream need mapping to SDR BT.709 ("HDR (HLG) in BT.2020", say), or
    None for an SDR stream with BT.709-like primaries, decoded as it is."""
    transfer = _HDR_NAMES.get(_TRANSFERS.get(colours.transfer or "", ""))
    gamut = _WIDE_PRIMARIES.get(colours.primaries or "")
    if transfer:
        return f"HDR ({transfer})" + (f" in {gamut}" if gamut else "")
    return f"wide-gamut ({gamut})" if gamut else None


@dataclass(frozen=True)
class Decoding:
    """How a video's frames are decoded: ``scale``, the scale filter's options for 8-bit
    RGB (None: as ffmpeg decodes it); or ``mapping``, 16-bit Y'CbCr mapped to SDR by
    hdr.to_sdr; ``note``, a line for the user when a stream needs a mapping that stylize
    cannot make (it is then decoded as stored)."""

    scale: str | None = None
    mapping: hdr.Mapping | None = None
    note: str | None = None


def decoding(meta: dict, name: str, source_peak: float | None = None) -> Decoding:
    """The Decoding of a video whose imageio-ffmpeg metadata is ``meta``; ``name`` is the
    file's, for the note; ``source_peak``, a PQ stream's brightest light in cd/m2 from its
    metadata (pq_source_peak; None: hdr.HDR_PEAK_NITS, the usual grade)."""
    text = str(meta.get("pix_fmt", ""))
    colours, guess = stream_colours(text), assumed_matrix(meta)
    needed = needed_mapping(colours)
    if needed is None:
        return Decoding(f"in_color_matrix={guess}" if guess else None)
    matrix = colours.matrix or ("bt2020nc" if colours.primaries == "bt2020" else guess)
    matrix = matrix or "smpte170m"  # players' guess below HD size, as assumed_matrix says
    yuv = text.startswith(("yuv", "nv"))
    if not yuv or matrix not in hdr.LUMA_WEIGHTS:
        what = f"the {matrix} matrix" if yuv else "RGB"
        return Decoding(note=f"warning: '{name}' is {needed} in {what}, which stylize cannot"
                        " map to SDR BT.709: its frames are read as stored and may look flat"
                        " and dull")  # fmt: skip
    primaries = colours.primaries if colours.primaries in _WIDE_PRIMARIES else "bt709"
    transfer = _TRANSFERS.get(colours.transfer or "", "bt1886")
    full_range = "(pc" in text or text.startswith("yuvj")
    peak = source_peak if transfer == "pq" and source_peak else hdr.HDR_PEAK_NITS
    return Decoding(mapping=hdr.Mapping(matrix, full_range, transfer, primaries, peak))
