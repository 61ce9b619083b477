"""How to bring a style mask to each layer: three ways, measured by how far each region's
style leaks across the boundary.

Gatys et al. (2017) discuss simple downsampling of the mask against propagating it through
the receptive fields or eroding it. stylize uses the network's own 2x2 average poolings
(``stylize.masks.layer_masks``). This script compares that with nearest-neighbour
downsampling and with an eroded mask (the pooled mask of every layer through a 3x3 minimum
filter, so that only positions whose neighbours are all inside the region count: a cheap
stand-in for the receptive field). Two styles go left and right; for each method
the strips of the output just left and right of the boundary are compared with both
styles by their Gram distance at a small graph: leakage = distance to the own style
divided by distance to the other style (lower is cleaner).

Usage::

    python benchmarks/mask_methods.py --size 200 --iterations 60 --weights random
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from stylize import masks
from stylize.config import Settings
from stylize.device import CPU
from stylize.images import fit_within, preprocess
from stylize.optimize import style_grams_at_size
from stylize.transfer import Stylizer, Transfer
from stylize.weights import load_vgg19

IMAGES = Path(__file__).resolve().parent.parent / "images"
POOLED = masks.layer_masks


def _nearest(mask, weights, names):
    pooled = POOLED(mask, weights, names)
    return {name: np.asarray(Image.fromarray(mask).resize(m.shape[::-1], Image.NEAREST))
            for name, m in pooled.items()}  # fmt: skip


def _eroded(mask, weights, names):
    pooled = POOLED(mask, weights, names)
    eroded = {}
    for name, layer_mask in pooled.items():
        padded = np.pad(layer_mask, 1, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3))
        eroded[name] = windows.min(axis=(2, 3)).astype(np.float32)
    return eroded


METHODS = {"pooled (stylize)": POOLED, "nearest": _nearest, "eroded": _eroded}


def _distance(weights, image, style, settings) -> float:
    mine = style_grams_at_size(weights, preprocess(image, weights.mean_pixel), settings, CPU)
    theirs = style_grams_at_size(weights, preprocess(style, weights.mean_pixel), settings, CPU)
    return sum(float(np.sum((mine[k] - theirs[k]) ** 2)) for k in mine)


def _stylize(weights, settings, content, styles, style_masks=None) -> np.ndarray:
    regions = len(styles) if style_masks else 0
    stylizer = Stylizer(weights, settings, CPU, regions=regions)
    transfer = Transfer(stylizer, content, styles, 1, style_masks=style_masks)
    for _ in transfer.run():
        pass
    return transfer.finish().image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--weights", default="random")
    args = parser.parse_args()
    settings = Settings(iterations=args.iterations, optimizer="lbfgs", seed=1)
    weights = load_vgg19(args.weights, settings.deepest_layer)
    # A grey content with faint noise: colours near the boundary come from the styles alone.
    width, height = fit_within(451, 300, args.size)
    rng = np.random.default_rng(0)
    content = np.clip(128 + rng.normal(0, 8, (height, width, 3)), 0, 255).astype(np.uint8)
    style = np.asarray(Image.open(IMAGES / "style.jpg").convert("RGB"))
    styles = [style, np.ascontiguousarray(style[:, :, ::-1])]
    alone = [_stylize(weights, settings, content, [s]) for s in styles]
    left = np.zeros((height, width), np.float32)
    left[:, : width // 2] = 1.0
    strip = max(16, width // 8)
    sides = {"left": slice(width // 2 - strip, width // 2),
             "right": slice(width // 2, width // 2 + strip)}  # fmt: skip
    small = Settings()
    for name, method in METHODS.items():
        masks.layer_masks = method
        try:
            image = _stylize(weights, settings, content, styles, [left, 1 - left])
        finally:
            masks.layer_masks = POOLED
        row = {"method": name, "width": width, "height": height, "strip": strip}
        for side, own in (("left", 0), ("right", 1)):
            cut = sides[side]
            mine = _distance(weights, image[:, cut], alone[own][:, cut], small)
            other = _distance(weights, image[:, cut], alone[1 - own][:, cut], small)
            row[f"leakage_{side}"] = round(mine / other, 4)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
