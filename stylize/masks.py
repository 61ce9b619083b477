"""Masks for spatial control (Gatys, Ecker, Bethge, Hertzmann and Shechtman, "Controlling
Perceptual Factors in Neural Style Transfer", CVPR 2017): a grayscale image read as weights
0-1 per pixel, and the same mask at the resolution of every VGG layer.

A layer's mask is the pixel mask brought down through the network's own poolings (2x2,
stride 2, SAME padding, the padded cells left out of the average, as TensorFlow's average
pooling does), the paper's "simple downsampling" done the way the network shrinks its
feature maps, so that position (i, j) of layer l and its mask value stand for the same
patch of the image. This module never imports TensorFlow.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from stylize import images
from stylize.bit_depth import at_levels_of, max_level
from stylize.weights import VggWeights


def load_mask(path: str | os.PathLike, size: tuple[int, int], role: str = "mask") -> np.ndarray:
    """An image file as an (H, W) float32 mask in [0, 1] at ``size`` = (width, height):
    its gray levels 0-255 read as weights 0-1 (colour images by their channel mean; an ICC
    profile is not applied, the values being weights), resized as ``resize_mask`` does.
    ImageError naming ``role`` and the file when it cannot be read."""
    pixels = images.load_image(path, role=role, colour_managed=False)
    level = np.rint(pixels.astype(np.float32).mean(axis=2))
    return resize_mask(level / np.float32(255.0), size)


def halve(mask: np.ndarray) -> np.ndarray:
    """One 2x2 stride-2 SAME average pooling of an (H, W) mask: (ceil(H/2), ceil(W/2)),
    the padded bottom row and right column left out of their averages."""
    height, width = mask.shape
    padded = np.full((height + height % 2, width + width % 2), np.nan, np.float64)
    padded[:height, :width] = mask
    blocks = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2)
    return np.nanmean(blocks, axis=(1, 3)).astype(np.float32)


def layer_masks(mask: np.ndarray, weights: VggWeights, names) -> dict[str, np.ndarray]:
    """``mask`` (H, W) at the resolution of each layer in ``names`` (the network's layer
    names, conv or relu): a dict name -> (n_H, n_W) float32."""
    wanted, found, current = set(names), {}, mask.astype(np.float32)
    for layer in weights.layers:
        if layer.kind == "pool":
            current = halve(current)
        alias = "conv" + layer.name[4:] if layer.name.startswith("relu") else None
        for name in (layer.name, alias):
            if name in wanted:
                found[name] = current
        if len(found) == len(wanted):
            break
    return found


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An (H, W) mask at ``size`` = (width, height) by Pillow's box filter: shrinking, each
    output pixel averages the mask over its own span; growing, it takes the mask pixel under
    its centre. Either way an output pixel lying wholly on black or white is exactly 0 or 1
    (the images' Lanczos rang, giving black pixels near an edge up to 11/255, and a linear
    filter, growing, blended pixels next to an edge that lay wholly on black)."""
    if mask.shape[::-1] == tuple(size):
        return mask
    picture = Image.fromarray(mask.astype(np.float32), mode="F")
    return np.asarray(picture.resize(size, Image.Resampling.BOX), np.float32).clip(0, 1)


def composite(image: np.ndarray, content: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(H, W, 3) of ``image``'s type (uint8 or uint16): ``image`` where ``keep`` is 1,
    ``content`` (uint8 or uint16, taken to the image's levels) exactly where it is 0, a
    blend rounded to the image's levels in between."""
    content = at_levels_of(content, image.dtype)
    weight = keep[:, :, None].astype(np.float64)
    blend = weight * image + (1.0 - weight) * content
    return np.rint(blend).clip(0, max_level(image.dtype)).astype(image.dtype)
