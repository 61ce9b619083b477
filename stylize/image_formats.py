"""What the image formats stylize reads and writes can hold, for stylize.images: why an
input cannot be read (not a regular file, a format this installation has no reader for,
corrupt data, samples that are not colours), and whether an output's format holds its bit
depth and its size.

Sizes are (width, height) in pixels. Every refusal is an ImageError (or the ``error`` class
given) whose message is one line naming the file or the option. This module never imports
TensorFlow.
"""

from __future__ import annotations

import stat
from pathlib import Path

import PIL
from PIL import Image, UnidentifiedImageError

from stylize.bit_depth import SIXTEEN_BIT_EXTENSIONS
from stylize.errors import ImageError, one_line

_EXPECTED = "expected JPEG, PNG, BMP, TIFF, WebP, GIF, HEIC or AVIF"
# ISO BMFF brands (bytes 8-12 of a file starting with an ftyp box) of HEIF and AVIF images
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1",
                          b"msf1"})  # fmt: skip
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# Format names and the most pixels a side holds, by extension: libwebp's 16383, libjpeg's
# 65500; PNG's 2^31 - 1 (its specification) at 8 bits, written by Pillow, and libpng's
# default limit of 1,000,000 at 16, written by OpenCV, whose libpng keeps it.
_FORMATS = {".webp": "WebP", ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP",
            ".tif": "TIFF", ".tiff": "TIFF"}  # fmt: skip
_MAX_SIDE = {"WebP": 16383, "JPEG": 65500, "PNG": 2**31 - 1}
_MAX_SIDE_16_BITS = {"PNG": 1_000_000}
# BMP files and classic TIFFs (what Pillow and OpenCV write, not BigTIFF) give offsets and
# sizes in 32 bits: the file must stay under 4 GiB.
_MAX_FILE_BYTES = 2**32 - 1
_TIFF_HEADERS = 1 << 16  # bytes, a bound on a TIFF's header and tags but its strip tables


def check_output_size(path: str | Path, size: tuple[int, int], bit_depth: int = 8,
                      label: str | None = None, error: type = ImageError) -> None:  # fmt: skip
    """Raise ``error`` naming ``label`` (default: output image 'PATH') when an image of
    ``size`` = (width, height) pixels and ``bit_depth`` bits per channel cannot be written
    in the format ``path``'s extension names, so that a run finds out before its work, not
    at the end: WebP holds at most 16383 pixels a side, JPEG 65500, PNG 2^31 - 1 (1,000,000
    at 16 bits); BMP and TIFF files at most 4 GiB, a TIFF counted uncompressed (a 16-bit
    TIFF is LZW-compressed, mostly smaller). The message says to lower --max-size, and
    which of PNG and TIFF would hold the image. Other extensions are not looked at
    (check_output_path refuses them)."""
    suffix = Path(path).suffix.lower()
    too_big = _too_big(suffix, size, bit_depth)
    if too_big is None:
        return
    lossless = (("PNG", ".png"), ("TIFF", ".tif"))
    holding = [
        name
        for name, other in lossless
        if name != _FORMATS[suffix] and _too_big(other, size, bit_depth) is None
    ]
    instead = f", or write {' or '.join(holding)}" if holding else ""
    width, height = size
    label = label or f"output image '{path}'"
    raise error(f"{label}: {width}x{height} pixels {too_big}; lower --max-size{instead}")


def _too_big(suffix: str, size: tuple[int, int], bit_depth: int) -> str | None:
    """Why a format cannot hold an image of ``size`` at ``bit_depth``, or None if it can."""
    name = _FORMATS.get(suffix)
    if name is None:
        return None
    width, height = size
    longest = _MAX_SIDE.get(name)
    if bit_depth == 16:
        longest = _MAX_SIDE_16_BITS.get(name, longest)
    if longest is not None and max(width, height) > longest:
        return f"is more than {name} holds (at most {longest:,} pixels a side)"
    if name == "BMP":  # rows of 3 bytes a pixel padded to 4 bytes, after a 54-byte header
        needed = 54 + (3 * width + 3) // 4 * 4 * height
    elif name == "TIFF":  # at most one strip of a row, 8 bytes in the strip tables
        needed = 3 * bit_depth // 8 * width * height + 8 * height + _TIFF_HEADERS
    else:
        return None
    if needed > _MAX_FILE_BYTES:
        return (f"at {bit_depth} bits per channel is {needed / 2**30:.1f} GiB, more than a"
                f" {name} file holds (4 GiB)")  # fmt: skip
    return None


def check_depth_extension(path: Path, bit_depth: int, label: str, error: type = ImageError):
    """Raise ``error`` naming ``label`` when ``path``'s format cannot hold ``bit_depth`` bits
    per channel (16: only PNG and TIFF can)."""
    suffix = path.suffix.lower()
    if bit_depth == 16 and suffix not in SIXTEEN_BIT_EXTENSIONS:
        raise error(f"{label}: --bit-depth 16 writes PNG or TIFF (.png, .tif, .tiff);"
                    f" '{suffix}' holds 8 bits per channel")  # fmt: skip


def check_input_file(path: Path, label: str) -> None:
    """Refuse, with a specific message, anything that is not a non-empty regular file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImageError(f"{label}: file not found ({_EXPECTED} file)") from None
    except OSError as exc:
        raise ImageError(f"{label}: cannot access file ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(f"{label}: is a directory ({_EXPECTED} file)")
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(f"{label}: not a regular file ({_EXPECTED} file)")
    if info.st_size == 0:
        raise ImageError(f"{label}: file is empty ({_EXPECTED} file)")


def read_failure(label: str, exc: Exception, path: Path, formats: tuple[str, ...]) -> ImageError:
    """The one-line error for an exception raised while Pillow opened or decoded a file as
    one of ``formats`` (Pillow's names)."""
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageError(f"{label}: too large to decode safely: {one_line(exc)}")
    if isinstance(exc, UnidentifiedImageError):
        return ImageError(f"{label}: {_missing_reader(path, formats) or 'not a readable image'}"
                          f" ({_EXPECTED})")  # fmt: skip
    if isinstance(exc, OSError) and exc.errno is not None:  # not a decoder's complaint
        return ImageError(f"{label}: cannot read file ({exc.strerror or exc})")
    return ImageError(f"{label}: truncated or corrupt image data ({one_line(exc)}; {_EXPECTED})")


def _missing_reader(path: Path, formats: tuple[str, ...]) -> str | None:
    """Why a HEIC or AVIF file (by its ftyp box) cannot be read as one of ``formats``, if
    that is so."""
    try:
        with open(path, "rb") as file:
            head = file.read(12)
    except OSError:
        return None
    if head[4:8] != b"ftyp":
        return None
    if head[8:12] in _HEIF_BRANDS and "HEIF" not in formats:
        return "a HEIC image, which needs pillow-heif (pip install pillow-heif)"
    if head[8:12] in _AVIF_BRANDS and "AVIF" not in formats:
        return (f"an AVIF image, which this Pillow ({PIL.__version__}) cannot read; its wheels"
                " can from 11.3 (pip install -U pillow)")  # fmt: skip
    return None


def unsupported_samples(picture: Image.Image) -> str | None:
    """Why an opened image's samples cannot be read as colours, one line, else None:
    floating-point ones (Pillow's mode "F") and a TIFF's 32-bit or signed integers (mode
    "I") have no range of values a standard fixes (0..1? 0..255? linear light?). A PNG an
    older Pillow gives as "I" holds 16-bit gray, which is read."""
    if picture.mode == "F":
        samples = "floating-point samples"
    elif picture.mode == "I" and picture.format == "TIFF":
        bits = max(picture.tag_v2.get(258, (32,)))
        signed = 2 in picture.tag_v2.get(339, ())  # SampleFormat 2: two's complement
        samples = f"{bits}-bit {'signed ' if signed else ''}integer samples"
    else:
        return None
    return (f"{samples} are not supported, their range of values being undefined (expected"
            " 8- or 16-bit unsigned integer samples)")  # fmt: skip
