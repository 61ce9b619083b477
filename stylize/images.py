"""Reading, resizing and writing the images the CLI works on, as (H, W, 3) uint8 RGB arrays
(outputs may be uint16: stylize.bit_depth).

Reading goes through Pillow, writing through imageio (its Pillow plugin; 16-bit outputs
through stylize.bit_depth). What a format holds, and why a file cannot be read, is decided
by stylize.image_formats. Every problem with a file the user named is reported as an
:class:`~stylize.errors.ImageError` whose message is one line naming the path. This module
never imports TensorFlow.
"""

from __future__ import annotations

import functools
import os
import struct
import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageOps, features

from stylize import icc, read16, read_heif
from stylize.bit_depth import (
    as_8bit,
    dtype_of,
    encode_16bit,
    levels_per_8bit,
    max_level,
)
from stylize.errors import ImageError, StylizeWarning, one_line
from stylize.files import atomic_writer, check_writable
from stylize.image_formats import (
    check_depth_extension,
    check_input_file,
    read_failure,
    unsupported_samples,
)

WRITE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
READ_EXTENSIONS = WRITE_EXTENSIONS | {".gif", ".heic", ".heif", ".avif"}
MIN_SIDE = 16  # pixels; the network's pooling layers need at least this much on each side

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WRITE_OPTIONS = {".jpg": {"quality": 95}, ".jpeg": {"quality": 95}, ".webp": {"quality": 95}}


class EightBitRead(StylizeWarning):
    """load_image read a file of 16-bit colour samples at 8 bits though ``bit_depth`` 16 asked
    for all of them; the message is one line naming the file and saying why."""


def load_image(path: str | os.PathLike, *, role: str = "image", colour_managed: bool = True,
               bit_depth: int = 8) -> np.ndarray:  # fmt: skip
    """Read an image file as an (H, W, 3) uint8 sRGB array, upright as a viewer shows it; with
    ``bit_depth`` 16, a file holding 16 bits a sample gives them all, as uint16.

    The file's content decides its format (JPEG, PNG, BMP, TIFF, WebP, GIF, HEIC/HEIF, and
    AVIF where this Pillow reads it: pillow_formats; the extension is not checked). A file
    of several frames or pages gives its first (HEIF: its primary image; stylize.animation
    counts them). The EXIF orientation is applied. Grayscale, palette, CMYK and other modes
    are converted to RGB; transparent pixels (alpha channel, or a palette or colour-key
    transparency) are composited over white. 16-bit samples are rounded to 8 bits (Pillow
    truncates colour ones), unless ``bit_depth`` is 16: then 16-bit grayscale keeps its
    levels and 16-bit colour PNGs and TIFFs are decoded whole by stylize.read16 (as uint16;
    those it cannot, such as those with a lookup-table profile, are read at 8 bits with an
    EightBitRead warning saying why). An
    embedded ICC profile (Display P3, Adobe RGB, a gray or CMYK profile...) converts the
    colours to sRGB, the space outputs are written in, with LittleCMS's perceptual intent,
    as a colour-managed viewer shows them. Ignored: profiles that say sRGB, that cannot be
    read or do not fit the image's mode, those of 16-bit grayscale, and all of them when
    ``colour_managed`` is false (masks are weights, not colours). A HEIF's nclx codes stand
    in for a missing profile (icc.nclx_matrix_trc). A HEIF of 10 or 12 bits is decoded whole
    by stylize.read_heif: HDR (PQ, HLG) is mapped to SDR sRGB, and SDR keeps its levels when
    ``bit_depth`` is 16.

    ``role`` starts every error message, e.g. "content image". Raises ImageError when the file
    is missing, not a regular file, empty, not a decodable image, truncated, larger than
    Pillow's decompression-bomb limit, smaller than MIN_SIDE pixels on a side, or made of
    floating-point, 32-bit or signed integer samples (image_formats.unsupported_samples).
    """
    label = f"{role} '{path}'"
    check_input_file(Path(path), label)
    if "HEIF" in pillow_formats():  # one of 10 or 12 bits is decoded once, whole, by libheif
        deep = read_heif.from_header(Path(path), colour_managed, bit_depth, MIN_SIDE)
        if deep is not None:
            return deep
    picture = _decode(Path(path), label)
    width, height = picture.size
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"{label}: {width}x{height} pixels is too small "
            f"(expected at least {MIN_SIDE} pixels on each side)"
        )
    if bit_depth == 16:
        deep = _sixteen_bits(Path(path), label, colour_managed)
        if deep is not None:
            return deep
    return picture_to_rgb(picture, label, colour_managed, bit_depth)


def _sixteen_bits(path: Path, label: str, colour_managed: bool) -> np.ndarray | None:
    """stylize.read16's (H, W, 3) uint16 reading of a 16-bit colour file, or None for the
    caller to read the file with Pillow, with an EightBitRead warning if it has 16 bits."""
    try:
        return read16.sixteen_bit_rgb(path, colour_managed)
    except read16.EightBitsOnly as reason:
        warnings.warn(f"{label}: read at 8 bits: {reason}", EightBitRead, stacklevel=3)
    return None


def image_size(path: str | os.PathLike, role: str = "image") -> tuple[int, int]:
    """(width, height) of an image file as ``load_image`` would give it (EXIF rotation
    included), from its header alone; ImageError naming the file if it cannot be read."""
    path = Path(path)
    label = f"{role} '{path}'"
    check_input_file(path, label)
    try:
        with Image.open(path, formats=pillow_formats()) as picture:
            width, height = picture.size
            if picture.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated by 90 degrees
                width, height = height, width
    except Exception as exc:  # Pillow raises many types for a bad header
        raise read_failure(label, exc, path, pillow_formats()) from None
    return width, height


@functools.cache
def pillow_formats() -> tuple[str, ...]:
    """The formats images are opened as: Pillow's JPEG, PNG, BMP, TIFF, WebP and GIF; HEIF
    (HEIC, phones' photos) through pillow-heif's plugin, registered here once; AVIF where
    this Pillow reads it (its wheels do from 11.3)."""
    formats = ["JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF"]
    try:
        import pillow_heif
    except ImportError:  # a dependency, but stylize still reads the rest without it
        pass
    else:
        pillow_heif.register_heif_opener()  # it applies HEIF's rotation and resets EXIF's
        formats.append("HEIF")
    with warnings.catch_warnings():  # a Pillow older than its AVIF plugin warns of the name
        warnings.simplefilter("ignore")
        if features.check("avif"):
            formats.append("AVIF")
    return tuple(formats)


def _decode(path: Path, label: str) -> Image.Image:
    """Open and fully decode the file, then apply its EXIF orientation; ImageError for
    samples that cannot be read as colours, before decoding them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=pillow_formats()) as picture:
                samples = unsupported_samples(picture)
                if samples is None:
                    picture.load()
                    return ImageOps.exif_transpose(picture)
    except Exception as exc:  # Pillow's decoders raise many unrelated types on corrupt data
        raise read_failure(label, exc, path, pillow_formats()) from exc
    raise ImageError(f"{label}: {samples}")


def picture_to_rgb(picture: Image.Image, label: str, colour_managed: bool,
                   bit_depth: int = 8) -> np.ndarray:  # fmt: skip
    """Convert a decoded Pillow image (or the frame it is at) of any supported mode to a
    writable (H, W, 3) uint8 sRGB array (uint16 for 16-bit grayscale with ``bit_depth`` 16),
    as load_image does after decoding; ImageError naming ``label`` for a mode it cannot."""
    samples = unsupported_samples(picture)
    if samples is not None:
        raise ImageError(f"{label}: {samples}")
    if picture.mode in _SIXTEEN_BIT_MODES:
        values = np.clip(np.asarray(picture), 0, max_level(np.uint16)).astype(np.uint16)
        key = picture.info.get("transparency")
        if isinstance(key, int):  # a PNG's colour key: those pixels are transparent
            values[values == key] = max_level(np.uint16)
        gray = values if bit_depth == 16 else as_8bit(values)
        return np.repeat(gray[:, :, np.newaxis], 3, axis=2)
    profile = picture.info.get("icc_profile") if colour_managed else None
    nclx = picture.info.get("nclx_profile") if colour_managed and not profile else None
    if picture.mode in _ALPHA_MODES or "transparency" in picture.info:
        gray = picture.mode in ("L", "LA", "La")
        rgba = picture.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, rgba)
        if gray:  # still gray over white, and kept so for a gray profile; exact for R=G=B
            picture = picture.convert("L")
    try:
        if picture.mode not in ("RGB", "L", "CMYK"):  # the modes LittleCMS transforms
            picture = picture.convert("RGB")
        rgb = np.array(icc.in_srgb(picture, profile).convert("RGB"), dtype=np.uint8)
    except ValueError as exc:
        raise ImageError(
            f"{label}: unsupported colour mode {picture.mode} (expected an RGB, grayscale, "
            "palette or CMYK image)"
        ) from exc
    source = icc.nclx_matrix_trc(nclx) if nclx else None  # a HEIF's colours without a profile
    return rgb if source is None else icc.image_in_srgb(rgb, source)


def scale_sizes(width: int, height: int, scales: int,
                ratio: float = 2.0) -> list[tuple[int, int]]:  # fmt: skip
    """Sizes for coarse-to-fine optimization, each ``ratio`` times the one before (sides,
    rounded to the pixel), ending at full size: 400x300 in 2 scales is 200x150, 400x300,
    and at ratio 4 100x75, 400x300.

    Scales whose shorter side would fall under MIN_SIDE pixels are left out.
    """
    ladder = scale_ladder(width, height, scales, ratio)
    return [size for size in ladder[:-1] if min(size) >= MIN_SIDE] + ladder[-1:]


def scale_ladder(width: int, height: int, count: int,
                 ratio: float = 2.0) -> list[tuple[int, int]]:  # fmt: skip
    """``count`` sizes, each ``ratio`` times the one before (sides rounded to the pixel),
    ending at ``width`` x ``height``, however small the coarse ones get."""
    levels = range(count - 1, -1, -1)
    return [(round(width * ratio**-level), round(height * ratio**-level)) for level in levels]


def fit_within(width: int, height: int, max_size: int) -> tuple[int, int]:
    """Return (width, height) scaled down so the longest side is at most ``max_size`` pixels.

    The aspect ratio is kept, each side is rounded to the nearest pixel (halves up) and is at
    least 1. Sizes already within the limit are returned unchanged: this never scales up.
    """
    if width < 1 or height < 1 or max_size < 1:
        raise ValueError(f"sizes must be positive, got {width}x{height} and {max_size}")
    longest = max(width, height)
    if longest <= max_size:
        return width, height

    def scaled(side: int) -> int:  # round(side * max_size / longest), halves up, in integers
        return max(1, (2 * side * max_size + longest) // (2 * longest))

    return scaled(width), scaled(height)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample an (H, W, 3) uint8 or uint16 image to ``size`` = (width, height) pixels with
    Lanczos.

    Returns a new (height, width, 3) array of the same type, or ``image`` itself if it
    already has that size.
    """
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {width}x{height}")
    if image.shape[1] == width and image.shape[0] == height:
        return image
    if image.dtype == np.uint16:  # Pillow has no 16-bit RGB: each channel as 32-bit float
        channels = [_resized_float(image[:, :, k], size) for k in range(3)]
        return np.clip(np.rint(np.dstack(channels)), 0, max_level(np.uint16)).astype(np.uint16)
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8))
    return np.array(picture.resize((width, height), Image.Resampling.LANCZOS), dtype=np.uint8)


def _resized_float(channel: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An (H, W) array resampled with Lanczos to ``size`` as Pillow's 32-bit float mode."""
    picture = Image.fromarray(channel.astype(np.float32), mode="F")
    return np.asarray(picture.resize(size, Image.Resampling.LANCZOS))


def preprocess(image: np.ndarray, mean_pixel: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB (or uint16, read as levels / 257) -> (1, H, W, 3) float32 network
    input in 8-bit levels, the mean pixel subtracted."""
    values = image.astype(np.float32)
    if image.dtype == np.uint16:
        values /= np.float32(levels_per_8bit(image))
    return (values - mean_pixel)[np.newaxis]


def postprocess(generated: np.ndarray, mean_pixel: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """(1, H, W, 3) float32 network input -> (H, W, 3) RGB, clipped and rounded to uint8, or
    with ``bit_depth`` 16 to uint16 (levels times 257)."""
    dtype = dtype_of(bit_depth)
    top = max_level(dtype)
    if bit_depth == 8:
        return np.clip(np.rint(generated[0] + mean_pixel), 0, top).astype(dtype)
    levels = (generated[0].astype(np.float64) + mean_pixel) * (top / 255)
    return np.clip(np.rint(levels), 0, top).astype(dtype)


def check_output_path(path: str | os.PathLike, overwrite: bool, bit_depth: int = 8,
                      label: str | None = None) -> Path:  # fmt: skip
    """Check that an image can be written at ``path`` before any long work starts.

    The extension must be one of WRITE_EXTENSIONS (any case; with ``bit_depth`` 16 one of
    PNG's or TIFF's), the path must not be a directory, its folder must exist and be
    writable, its name must fit the file system, and the file must not exist yet unless
    ``overwrite`` is true. Returns the path as a Path; raises ImageError otherwise, its
    message starting with ``label`` (default: output image 'PATH').
    """
    output = Path(path)
    label = label or f"output image '{output}'"
    check_writable(output, label, overwrite, ImageError, WRITE_EXTENSIONS)
    check_depth_extension(output, bit_depth, label)
    return output


def save_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an (H, W, 3) RGB image to ``path`` atomically, in the format its extension names.

    ``image`` is uint8, uint16 (written with 16 bits per channel: PNG and TIFF only), or
    another float or integer array that is clipped to 0..255 and rounded to uint8. JPEG and
    WebP are written at quality 95; PNG, BMP and TIFF are lossless. The data goes to a
    hidden temporary file in the same folder, is flushed to disk, then renamed over ``path``,
    so ``path`` is either untouched or complete; the temporary file never outlives a failure.
    The new file gets the usual permissions for the current umask. Raises ImageError for an
    unknown extension, an operating-system error or an encoder refusing the image (one too
    large for its format: image_formats.check_output_size says so before any work),
    ValueError for a malformed array.
    """
    output = Path(path)
    suffix = output.suffix.lower()
    if suffix not in WRITE_EXTENSIONS:
        known = ", ".join(sorted(WRITE_EXTENSIONS))
        raise ImageError(f"output image '{output}': unknown image type (expected one of {known})")
    if np.asarray(image).dtype == np.uint16:
        check_depth_extension(output, 16, f"output image '{output}'")
        deep = _checked(image)
        _write(output, lambda stream: stream.write(_encoded_16bit(deep, suffix)))
        return
    pixels = _as_uint8(image)
    options = _WRITE_OPTIONS.get(suffix, {})
    _write(output, lambda stream: iio.imwrite(stream, pixels, plugin="pillow",
                                              extension=suffix, **options))  # fmt: skip


def _write(output: Path, write) -> None:
    """Call ``write(stream)`` on a temporary file renamed to ``output`` when it returns."""
    try:
        with atomic_writer(output) as stream:
            write(stream)
    except OSError as exc:
        raise ImageError(f"output image '{output}': cannot write ({exc.strerror or exc})") from exc
    except (ValueError, struct.error) as exc:  # an encoder refusing the size (or the data)
        raise ImageError(f"output image '{output}': cannot encode it ({one_line(exc)})") from exc


def _encoded_16bit(image: np.ndarray, suffix: str) -> bytes:
    """encode_16bit's bytes; ValueError if OpenCV fails, which it reports by raising up to
    4.7 (a PNG side over libpng's 1,000,000 pixels, say) and by returning False after."""
    import cv2

    try:
        return encode_16bit(image, suffix)
    except cv2.error as exc:
        raise ValueError(f"OpenCV could not encode it: {one_line(exc)}") from exc


def _checked(image: np.ndarray) -> np.ndarray:
    """The array, after checking that it is (H, W, 3) and not empty (ValueError if not)."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) image, got shape {array.shape}")
    return array


def _as_uint8(image: np.ndarray) -> np.ndarray:
    """Validate an (H, W, 3) array and convert it to uint8, clipping and rounding if needed."""
    array = _checked(image)
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"expected a numeric image, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError("image contains NaN or infinite values")
    return np.rint(np.clip(array, 0, 255)).astype(np.uint8)


def intermediate_path(output: str | os.PathLike, iteration: int) -> Path:
    """Return the checkpoint path ``<stem>_<iteration:05d><suffix>`` next to ``output``."""
    if iteration < 0:
        raise ValueError(f"iteration must be non-negative, got {iteration}")
    output = Path(output)
    return output.with_name(f"{output.stem}_{iteration:05d}{output.suffix}")
