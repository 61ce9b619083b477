"""What every job needs before TensorFlow starts, prepared the same way for ``stylize run``
and ``stylize batch``: the weights, the content image at its output size, the start image.
Each function raises an InputError (exit code 2) naming the file or option at fault."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from stylize import images, masks
from stylize.config import Settings
from stylize.errors import ConfigError, ImageError
from stylize.weights import VggWeights, default_weights_path, load_vgg19


def load_weights(path: Path | None, settings: Settings) -> tuple[VggWeights, float]:
    """The validated layers the settings need from ``path`` (None: the default file) and
    the seconds the loading took."""
    began = time.perf_counter()
    weights = load_vgg19(path or default_weights_path(), settings.deepest_layer)
    return weights, time.perf_counter() - began


def fit_content(content: np.ndarray, path: Path, max_size: int) -> np.ndarray:
    """An (H, W, 3) uint8 or uint16 content image scaled down (never up) so that its longest side is
    at most ``max_size`` pixels: the output's size. ImageError when a side would end up under
    images.MIN_SIDE pixels."""
    height, width = content.shape[:2]
    size = images.fit_within(width, height, max_size)
    if min(size) < images.MIN_SIDE:
        raise ImageError(f"content image '{path}': {width}x{height} pixels at --max-size"
                         f" {max_size} gives a {size[0]}x{size[1]} output; expected at least"
                         f" {images.MIN_SIDE} pixels on each side")  # fmt: skip
    return images.resize(content, size)


def load_init_image(settings: Settings) -> np.ndarray | None:
    """The ``--init`` image when it names a file, (H, W, 3) uint8 (uint16 for a 16-bit file
    with ``Settings.bit_depth`` 16: a 16-bit print continued with --scales 1 starts exactly
    where it ended); None for noise, content or style."""
    if settings.init_file is None:
        return None
    return images.load_image(settings.init, role="--init image", bit_depth=settings.bit_depth)


def load_style_masks(paths, styles: int, size: tuple[int, int]) -> list[np.ndarray] | None:
    """One (H, W) mask 0-1 per style at the output ``size`` = (width, height), or None
    without --style-mask. ConfigError when the count differs from the styles', ImageError
    for an unreadable mask or one that is black all over (its style would apply nowhere)."""
    if not paths:
        return None
    if len(paths) != styles:
        raise ConfigError(f"--style-mask is given {len(paths)} time(s) for {styles} --style"
                          " image(s); give one mask per style, in the same order")  # fmt: skip
    found = []
    for index, path in enumerate(paths, start=1):
        mask = masks.load_mask(path, size, role="--style-mask")
        if not mask.any():
            raise ImageError(f"--style-mask '{path}': black all over, so style {index} would"
                             " apply nowhere; expected white where the style goes")  # fmt: skip
        found.append(mask)
    return found
