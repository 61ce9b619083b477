"""Content and style images of any size for the benchmark.

The repository's examples (images/content.jpg, a photo, and images/style.jpg, a painted
texture) are cropped to the requested aspect ratio and resized. If they are missing, a
photo-like picture and a texture are drawn instead: the cost of a step does not depend on
the pixels, but the cost curve, and so the time to reach a given J, does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

EXAMPLES = Path(__file__).resolve().parent.parent / "images"


def example_image(role: str, size: tuple[int, int]) -> Image.Image:
    """The ``role`` ("content" or "style") image at exactly ``size`` = (width, height), RGB."""
    path = EXAMPLES / f"{role}.jpg"
    if path.exists():
        with Image.open(path) as picture:
            return ImageOps.fit(picture.convert("RGB"), size, Image.Resampling.LANCZOS)
    return drawn_content(size) if role == "content" else drawn_style(size)


def drawn_content(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """A landscape-like picture: sky and ground gradients, a sun, hills, a house, noise."""
    width, height = size
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = (1 - rows) * np.array([90, 140, 220]) + rows * np.array([200, 220, 240])
    ground = (1 - rows) * np.array([70, 130, 60]) + rows * np.array([40, 80, 30])
    pixels = np.where(rows < 0.6, sky, ground) * np.ones((1, width, 1))
    picture = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    unit = min(width, height)
    draw.ellipse([width * 0.75, height * 0.1, width * 0.75 + unit * 0.15,
                  height * 0.1 + unit * 0.15], fill=(250, 220, 90))  # fmt: skip
    draw.ellipse([-width * 0.2, height * 0.45, width * 0.6, height * 1.2], fill=(60, 110, 50))
    draw.rectangle([width * 0.4, height * 0.45, width * 0.6, height * 0.7], fill=(170, 60, 50))
    draw.polygon([(width * 0.37, height * 0.45), (width * 0.5, height * 0.3),
                  (width * 0.63, height * 0.45)], fill=(90, 50, 40))  # fmt: skip
    noisy = np.asarray(picture.filter(ImageFilter.GaussianBlur(1)), np.float64)
    noisy += rng.normal(0, 6, noisy.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def drawn_style(size: tuple[int, int], seed: int = 2) -> Image.Image:
    """A brush-stroke-like texture: wavy coloured bands crossed by random strokes."""
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    phase = np.sin(12 * x + 4 * np.sin(9 * y)) + np.cos(10 * y + 3 * np.sin(7 * x))
    palette = np.array([[20, 30, 90], [40, 90, 170], [230, 200, 80], [200, 80, 40]], float)
    index = np.clip(((phase + 2) / 4 * len(palette)).astype(int), 0, len(palette) - 1)
    picture = Image.fromarray(palette[index].astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for _ in range(width * height // 400 + 1):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        dx, dy = rng.normal(0, max(width, height) / 20, 2)
        colour = tuple(int(c) for c in palette[rng.integers(len(palette))])
        draw.line([(x0, y0), (x0 + dx, y0 + dy)], fill=colour, width=int(rng.integers(1, 4)))
    return picture.filter(ImageFilter.GaussianBlur(0.7))
