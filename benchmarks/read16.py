"""What reading a 16-bit content image whole costs, and what it keeps.

    python benchmarks/read16.py --size 6000x4000

A 16-bit image of ``--size`` (the example content enlarged from a quarter of the size by
stylize's 16-bit Lanczos resize, so that its levels fall between 8-bit ones) is written as
PNG and TIFF, as a PNG with an RGB matrix/TRC profile (LittleCMS's own sRGB profile renamed,
so that it is converted like Adobe RGB would be instead of skipped), and its top 10 bits as
two HEIFs, one SDR and one that says PQ over BT.2020 (a camera's HDR HEIF). Each file is
read by stylize.images.load_image at 8 bits (Pillow; a HDR HEIF by stylize.read_heif) and at
16 bits (stylize.read16, stylize.read_heif), a HEIF also as stored: the median seconds of
``--repeats`` reads, and the peak of the memory NumPy and Pillow allocate (tracemalloc).
Then what the 16 bits keep, in 8-bit levels over the whole image: how far the 8-bit read is
from the image, and how far the colour --preserve-colors luminance puts back (Cb and Cr) is
from the image's own when it comes from the 8-bit read. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402
from sample_images import example_image  # noqa: E402
from step_ratio import print_report, shape_of  # noqa: E402

from stylize import colors, icc, images  # noqa: E402
from stylize.bit_depth import encode_16bit, widened  # noqa: E402


def _arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="6000x4000", help="WIDTHxHEIGHT of the image")
    parser.add_argument("--repeats", type=int, default=3, help="reads of each file and depth")
    args = parser.parse_args(argv)
    args.shape = shape_of(args.size)
    return args


def deep_image(shape: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint16: the example content at a quarter of the size, enlarged at 16 bits."""
    height, width = shape
    small = np.asarray(example_image("content", (max(16, width // 4), max(16, height // 4))))
    return images.resize(widened(small, np.uint16), (width, height))


def renamed_srgb() -> bytes:
    """LittleCMS's sRGB profile with its description's 's' made 'x': stylize converts from it
    (a matrix/TRC profile like Adobe RGB's) instead of skipping it as sRGB."""
    profile = icc.srgb_profile()
    return profile.replace("sRGB".encode("utf-16-be"), "xRGB".encode("utf-16-be"), 1)


def _with_profile(png: bytes, profile: bytes) -> bytes:
    """The PNG with an iCCP chunk after its IHDR (signature 8 bytes, IHDR 25)."""
    data = b"icc\0\0" + zlib.compress(profile)
    crc = zlib.crc32(b"iCCP" + data).to_bytes(4, "big")
    return png[:33] + len(data).to_bytes(4, "big") + b"iCCP" + data + crc + png[33:]


def _write_heif(image: np.ndarray, path: Path, transfer: int, primaries: int) -> None:
    """The image's top 10 bits as a HEIF (quality 90, 4:2:0, as cameras write them) whose
    nclx box names ``transfer`` and ``primaries`` (ITU-T H.273 codes)."""
    import pillow_heif

    codes = (image >> 6) << 6  # pillow-heif takes 10-bit samples at the top of 16 bits
    picture = pillow_heif.from_bytes(mode="RGB;16", size=image.shape[1::-1], data=codes.tobytes())
    nclx = {"color_primaries": primaries, "transfer_characteristics": transfer,
            "matrix_coefficients": 9, "full_range_flag": 0}  # fmt: skip
    picture.save(path, quality=90, nclx_profile=nclx)


def write_files(image: np.ndarray, folder: Path) -> dict[str, Path]:
    files = {"png": folder / "deep.png", "tiff": folder / "deep.tif",
             "png_with_profile": folder / "profiled.png", "heif_10bit": folder / "sdr.heic",
             "heif_10bit_pq": folder / "pq.heic"}  # fmt: skip
    png = encode_16bit(image, ".png")
    files["png"].write_bytes(png)
    files["tiff"].write_bytes(encode_16bit(image, ".tif"))
    files["png_with_profile"].write_bytes(_with_profile(png, renamed_srgb()))
    _write_heif(image, files["heif_10bit"], transfer=13, primaries=1)  # sRGB's
    _write_heif(image, files["heif_10bit_pq"], transfer=16, primaries=9)  # PQ, BT.2020
    return files


def reading_costs(path: Path, repeats: int) -> dict:
    """Median seconds and peak traced MiB of load_image at 8 and at 16 bits, and for a HEIF
    also as stored (8 bits, no colour management: what reading it cost before its full
    depth was read)."""
    found = {}
    reads = {"8": (8, True), "16": (16, True)}
    if path.suffix == ".heic":
        reads["8_as_stored"] = (8, False)
    for name, (depth, managed) in reads.items():
        seconds, peak = [], 0
        for _ in range(repeats):
            tracemalloc.start()
            began = time.perf_counter()
            image = images.load_image(path, bit_depth=depth, colour_managed=managed)
            seconds.append(time.perf_counter() - began)
            peak = max(peak, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        found[name] = {"seconds": statistics.median(seconds), "peak_mib": peak / 2**20,
                       "dtype": str(image.dtype)}  # fmt: skip
    return found


def what_16_bits_keep(path: Path, image: np.ndarray) -> dict:
    """Errors in 8-bit levels of the 8-bit read and of the chroma restored from it."""
    eight = images.load_image(path).astype(np.float64)
    deep = images.load_image(path, bit_depth=16)
    assert np.array_equal(deep, image)  # the 16-bit read is the image itself
    read_error = eight - image / 257
    true_chroma = colors.rgb_to_ycbcr(image)[..., 1:]
    restored = colors.restore_chroma(image, eight.astype(np.uint8))
    chroma_error = np.abs(colors.rgb_to_ycbcr(restored)[..., 1:] - true_chroma)
    return {"read_8bit_max": float(np.abs(read_error).max()),
            "read_8bit_mean": float(read_error.mean()),
            "chroma_from_8bit_max": float(chroma_error.max()),
            "chroma_from_8bit_mean": float(chroma_error.mean())}  # fmt: skip


def main(argv=None) -> int:
    args = _arguments(argv)
    info = machine_info()
    image = deep_image(args.shape)
    with tempfile.TemporaryDirectory() as folder:
        files = write_files(image, Path(folder))
        result = {"reading": {name: reading_costs(path, args.repeats)
                              for name, path in files.items()},
                  "bytes": {name: path.stat().st_size for name, path in files.items()},
                  "levels_8bit": what_16_bits_keep(files["png"], image)}  # fmt: skip
    return print_report({"size": args.size, "repeats": args.repeats}, result, info)


if __name__ == "__main__":
    sys.exit(main())
