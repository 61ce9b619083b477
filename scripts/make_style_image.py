"""Paint the example style image, images/style.jpg, from nothing but a seed.

Brush strokes follow a flow field made of a few whirlpools on a wavy drift, in three passes
from broad to fine, coloured from a night-sky palette (deep blues, teal, and yellow light
near the whirlpools' eyes). The result has what the style cost picks up: strong, oriented
strokes at several scales and a few dominant colours. The same seed gives the same image
(byte for byte with the same numpy and Pillow versions).

    python scripts/make_style_image.py                # writes images/style.jpg
    python scripts/make_style_image.py -o x.png --seed 3 --size 384
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent

# Night-sky palette, dark to light (RGB); a scalar field in [0, 1] indexes into it.
PALETTE = np.array(
    [
        (12, 24, 66),
        (24, 56, 120),
        (38, 96, 160),
        (64, 140, 170),
        (150, 190, 170),
        (236, 210, 110),
        (250, 236, 170),
    ],
    dtype=np.float64,
)

# Passes from broad to fine: (strokes per 512x512 image, width in px, steps, step length px).
PASSES = ((900, 14, 10, 4.0), (2600, 7, 12, 3.0), (5200, 3, 9, 2.5))


def whirlpools(size: int, rng: np.random.Generator) -> list[tuple[float, float, float, float]]:
    """(x, y, strength, radius) of a few vortices, spread over the canvas."""
    count = 5
    xs = (np.arange(count) + rng.uniform(0.2, 0.8, count)) / count * size
    ys = rng.uniform(0.15, 0.85, count) * size
    strengths = rng.choice([-1.0, 1.0], count) * rng.uniform(1.5, 3.0, count)
    radii = rng.uniform(0.08, 0.16, count) * size
    return list(zip(xs, ys, strengths, radii, strict=True))


def flow_field(size: int, vortices) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction (dx, dy) at every pixel, and each pixel's closeness to a vortex eye."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    # A drift to the right that wobbles up and down.
    vx = np.ones_like(x)
    vy = 0.6 * np.sin(2 * np.pi * x / (0.45 * size)) + 0.3 * np.cos(2 * np.pi * y / (0.3 * size))
    glow = np.zeros_like(x)
    for cx, cy, strength, radius in vortices:
        ox, oy = x - cx, y - cy
        falloff = np.exp(-(ox**2 + oy**2) / (2 * radius**2))
        # Rotation around (cx, cy): perpendicular to the radius, fading with distance.
        vx += strength * -oy / radius * falloff
        vy += strength * ox / radius * falloff
        glow = np.maximum(glow, falloff)
    norm = np.hypot(vx, vy) + 1e-9
    return np.stack([vx / norm, vy / norm]), glow


def colour_field(size: int, glow: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A value in [0, 1] per pixel: dark sky with soft bands, bright near vortex eyes."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    phase = rng.uniform(0, 2 * np.pi, 3)
    bands = (
        0.5
        + 0.25 * np.sin(2 * np.pi * (1.3 * x + 0.7 * y) + phase[0])
        + 0.15 * np.sin(2 * np.pi * (2.9 * y - 0.4 * x) + phase[1])
        + 0.10 * np.sin(2 * np.pi * 5.1 * (x + y) + phase[2])
    )
    value = 0.55 * bands * (1 - y * 0.35) + 0.75 * glow**1.5
    return np.clip(value, 0.0, 1.0)


def palette_colour(value: np.ndarray) -> np.ndarray:
    """Linear interpolation in PALETTE for values in [0, 1]."""
    position = np.clip(value, 0.0, 1.0) * (len(PALETTE) - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(PALETTE) - 1)
    t = (position - low)[..., None]
    return PALETTE[low] * (1 - t) + PALETTE[high] * t


def paint(size: int = 512, seed: int = 2015) -> Image.Image:
    rng = np.random.default_rng(seed)
    direction, glow = flow_field(size, whirlpools(size, rng))
    value = colour_field(size, glow, rng)
    scale = (size / 512) ** 2

    canvas = Image.new("RGB", (size, size), tuple(int(c) for c in PALETTE[1]))
    draw = ImageDraw.Draw(canvas)
    for count, width, steps, step in PASSES:
        n = max(1, int(count * scale))
        points = np.empty((steps + 1, n, 2))
        points[0] = rng.uniform(0, size, (n, 2))
        # Trace every stroke at once, each step along the local flow direction.
        for i in range(steps):
            ix = np.clip(points[i, :, 0].astype(int), 0, size - 1)
            iy = np.clip(points[i, :, 1].astype(int), 0, size - 1)
            points[i + 1] = points[i] + step * direction[:, iy, ix].T
        sx = points[0, :, 0].astype(int).clip(0, size - 1)
        sy = points[0, :, 1].astype(int).clip(0, size - 1)
        jitter = rng.normal(0, 0.06, n)
        colours = palette_colour(value[sy, sx] + jitter) * rng.uniform(0.85, 1.1, (n, 1))
        colours = np.clip(colours, 0, 255).astype(np.uint8)
        for k in range(n):
            line = [tuple(p) for p in points[:, k, :]]
            draw.line(line, fill=tuple(int(c) for c in colours[k]), width=width, joint="curve")
    # A touch of softening, as paint blends where strokes meet.
    return canvas.filter(ImageFilter.SMOOTH_MORE)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "images" / "style.jpg")
    parser.add_argument("--size", type=int, default=512, help="side of the square image, px")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality")
    args = parser.parse_args(argv)
    image = paint(args.size, args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    options = {"quality": args.quality} if args.output.suffix.lower() in {".jpg", ".jpeg"} else {}
    image.save(args.output, **options)
    print(args.output)


if __name__ == "__main__":
    main()
