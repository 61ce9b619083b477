"""Tests for stylize.image_formats: the largest image each output format holds, checked
against the encoders where a test can afford the pixels, and by arithmetic past 4 GiB."""

from __future__ import annotations

import numpy as np
import pytest

from stylize import image_formats, images
from stylize.errors import ImageError, InputError

GIB = 2**30


def refusal(name: str, size: tuple[int, int], bit_depth: int = 8) -> str | None:
    """check_output_size's message for an output named ``name``, or None if it passes."""
    try:
        image_formats.check_output_size(name, size, bit_depth)
    except ImageError as error:
        return str(error)
    return None


@pytest.mark.parametrize(("name", "longest"), [
    ("out.webp", 16383), ("out.WEBP", 16383), ("out.jpg", 65500), ("out.jpeg", 65500),
])  # fmt: skip
def test_webp_and_jpeg_sides(name, longest):
    assert refusal(name, (longest, 16)) is None
    assert refusal(name, (16, longest)) is None
    fmt = "WebP" if "webp" in name.lower() else "JPEG"
    assert refusal(name, (longest + 1, 16)) == (
        f"output image '{name}': {longest + 1}x16 pixels is more than {fmt} holds (at most"
        f" {longest:,} pixels a side); lower --max-size, or write PNG or TIFF"
    )
    assert refusal(name, (16, longest + 1)) is not None


@pytest.mark.parametrize(("name", "width"), [("edge.webp", 16383), ("edge.jpg", 65500)])
def test_the_sides_allowed_are_what_the_encoders_write(tmp_path, name, width):
    path = tmp_path / name
    images.save_image(path, np.zeros((16, width, 3), np.uint8))
    assert images.image_size(path) == (width, 16)
    with pytest.raises(ImageError, match="cannot encode it|cannot write"):
        images.save_image(tmp_path / f"over_{name}", np.zeros((16, width + 1, 3), np.uint8))


def test_a_16bit_png_side_stops_at_libpngs_limit(tmp_path):
    assert refusal("out.png", (16, 1_000_000), 16) is None
    assert refusal("out.png", (1_000_001, 16), 16) == (
        "output image 'out.png': 1000001x16 pixels is more than PNG holds (at most 1,000,000"
        " pixels a side); lower --max-size, or write TIFF"
    )
    assert refusal("out.png", (1_000_001, 16), 8) is None  # Pillow writes it
    assert refusal("out.png", (2**31, 16), 8) is not None  # PNG's own limit
    images.save_image(tmp_path / "tall.png", np.zeros((1_000_000, 1, 3), np.uint16))


def test_bmp_files_stay_under_4_gib():
    # rows are padded to 4 bytes: 21846 pixels of 3 bytes take 65540 bytes
    rows = (2**32 - 1 - 54) // 65540
    assert refusal("big.bmp", (21846, rows)) is None
    message = refusal("big.bmp", (21846, rows + 1))
    assert message == (
        f"output image 'big.bmp': 21846x{rows + 1} pixels at 8 bits per channel is 4.0 GiB,"
        " more than a BMP file holds (4 GiB); lower --max-size, or write PNG"
    )


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_tiff_files_stay_under_4_gib_uncompressed(bit_depth):
    per_pixel = 3 * bit_depth // 8
    side = 20000
    rows = (2**32 - 1 - (1 << 16)) // (per_pixel * side + 8)
    assert refusal("big.tif", (side, rows), bit_depth) is None
    message = refusal("big.tiff", (side, rows + 1), bit_depth)
    assert message.startswith(f"output image 'big.tiff': {side}x{rows + 1} pixels at"
                              f" {bit_depth} bits per channel is 4.0 GiB, more than a TIFF file"
                              " holds (4 GiB); lower --max-size")  # fmt: skip
    assert message.endswith(", or write PNG")
    assert refusal("big.png", (side, rows + 1), bit_depth) is None


def test_a_label_and_an_error_class_can_be_given():
    with pytest.raises(InputError) as caught:
        image_formats.check_output_size("job.webp", (20000, 20), label="job 3: output 'job.webp'",
                                        error=InputError)  # fmt: skip
    assert type(caught.value) is InputError
    assert str(caught.value).startswith("job 3: output 'job.webp': 20000x20 pixels is more")


def test_other_extensions_are_not_looked_at():
    assert refusal("out.gif", (10**6, 10**6)) is None
    assert refusal("out", (10**6, 10**6)) is None


def test_when_nothing_lossless_holds_it_only_max_size_is_said():
    message = refusal("huge.png", (1_000_001, 1000), 16)  # a TIFF of 6 GB
    assert message.endswith("(at most 1,000,000 pixels a side); lower --max-size")
