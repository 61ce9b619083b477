"""Pictures of a run: the costs against iterations, and a contact sheet of the images.

Drawn with Pillow alone (no plotting library) and written atomically through
``stylize.images.save_image``, so the file's extension picks the format (PNG is the
intended one). Lines are drawn without anti-aliasing: each series' pixels have exactly its
colour in ``LINE_COLOURS``. This module never imports TensorFlow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stylize.images import save_image

PLOT_SIZE = (800, 500)  # (width, height) pixels
SHEET_HEIGHT = 256  # pixels of every contact-sheet panel
SHEET_MARGIN = 12  # pixels around and between panels
SERIES = ("J", "J_content", "J_style")
LINE_COLOURS = {"J": (31, 119, 180), "J_content": (214, 39, 40), "J_style": (44, 160, 44)}
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)
GRID = (228, 228, 228)
LINE_WIDTH = 2
_PLOT_MARGINS = (80, 70, 25, 55)  # left, top, right, bottom: room for labels, title, legend


# --- loss plot -------------------------------------------------------------------------------


def loss_plot(history: Sequence[Sequence[float]], path: str | os.PathLike) -> None:
    """Write a PNG of J, J_content and J_style against iterations, log-scale y, to ``path``.

    ``history`` holds (iteration, J, J_content, J_style) rows, iterations increasing.
    Non-positive and non-finite costs are skipped (a line breaks there). The picture is
    PLOT_SIZE pixels: title, legend, decade ticks (1e3, 1e4, ...) and iteration ticks.
    """
    save_image(path, np.asarray(draw_loss_plot(history)))


def draw_loss_plot(history: Sequence[Sequence[float]], size=PLOT_SIZE) -> Image.Image:
    """The loss plot of ``loss_plot`` as an RGB Pillow image of ``size`` (width, height)."""
    iterations, costs = _columns(history)
    drawable = np.concatenate([values[_valid(values)] for values in costs.values()])
    axes = _Axes.fit(size, iterations, drawable)
    picture = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(picture)
    _draw_frame(draw, axes, empty=drawable.size == 0)
    for name, values in costs.items():
        _draw_series(draw, axes, iterations, values, LINE_COLOURS[name])
    _draw_titles(draw, size)
    return picture


def _columns(history) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(n,) float iterations and {name: (n,) float costs} from the history rows."""
    rows = np.asarray(history, dtype=np.float64).reshape(-1, 1 + len(SERIES))
    return rows[:, 0], {name: rows[:, 1 + i] for i, name in enumerate(SERIES)}


def _valid(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > 0)


@dataclass(frozen=True)
class _Axes:
    """The plot box in pixels (left, top, right, bottom), the iteration range shown and the
    decades shown (10**low to 10**high)."""

    box: tuple[int, int, int, int]
    x_range: tuple[float, float]
    low: int
    high: int

    @classmethod
    def fit(cls, size, iterations: np.ndarray, values: np.ndarray) -> _Axes:
        left, top, right, bottom = _PLOT_MARGINS
        box = (left, top, size[0] - right, size[1] - bottom)
        finite = iterations[np.isfinite(iterations)]
        x0, x1 = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        low, high = (
            (math.floor(np.log10(values.min())), math.ceil(np.log10(values.max())))
            if values.size
            else (0, 1)
        )
        return cls(box, (x0, x1 if x1 > x0 else x0 + 1), low, max(high, low + 1))

    def px(self, iteration: float) -> float:
        x0, x1 = self.x_range
        return self.box[0] + (iteration - x0) / (x1 - x0) * (self.box[2] - self.box[0])

    def py(self, value: float) -> float:
        share = (math.log10(value) - self.low) / (self.high - self.low)
        return self.box[3] - share * (self.box[3] - self.box[1])


def _draw_frame(draw: ImageDraw.ImageDraw, axes: _Axes, empty: bool) -> None:
    """Grid lines, tick labels and the box; "no positive costs" when nothing is drawable."""
    left, top, right, bottom = axes.box
    font = _font(13)
    step = max(1, math.ceil((axes.high - axes.low) / 10))  # at most about ten labels
    for decade in range(axes.low, axes.high + 1):
        y = axes.py(10.0**decade)
        draw.line([(left, y), (right, y)], fill=GRID)
        if (decade - axes.low) % step == 0:
            draw.text((left - 8, y), f"1e{decade}", fill=INK, font=font, anchor="rm")
    for tick in _ticks(*axes.x_range):
        x = axes.px(tick)
        draw.line([(x, top), (x, bottom)], fill=GRID)
        draw.line([(x, bottom), (x, bottom + 5)], fill=INK)
        draw.text((x, bottom + 8), f"{tick:g}", fill=INK, font=font, anchor="mt")
    draw.rectangle(axes.box, outline=INK)
    if empty:
        draw.text(((left + right) / 2, (top + bottom) / 2), "no positive costs", fill=INK,
                  font=_font(16), anchor="mm")  # fmt: skip


def _ticks(x0: float, x1: float, target: int = 6) -> list[float]:
    """Round tick values from x0 to x1: 1, 2 or 5 times a power of ten apart, at least 1."""
    raw = (x1 - x0) / target
    power = 10.0 ** math.floor(math.log10(raw))
    step = max(1.0, next(m * power for m in (1, 2, 5, 10) if m * power >= raw))
    first = math.ceil(x0 / step - 1e-9) * step
    return [first + i * step for i in range(int((x1 - first) / step + 1e-9) + 1)]


def _draw_series(draw, axes: _Axes, iterations, values, colour) -> None:
    """One cost as a polyline through its drawable points, broken where a point is skipped."""
    valid = _valid(values) & np.isfinite(iterations)
    run: list[tuple[float, float]] = []
    for i in range(len(values) + 1):
        if i < len(values) and valid[i]:
            run.append((axes.px(iterations[i]), axes.py(values[i])))
            continue
        if len(run) == 1:
            (x, y), r = run[0], LINE_WIDTH
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        elif run:
            draw.line(run, fill=colour, width=LINE_WIDTH, joint="curve")
        run = []


def _draw_titles(draw, size) -> None:
    """Title, axis names and the legend (above the plot box, so it hides no line)."""
    left, top, right, bottom = _PLOT_MARGINS
    draw.text((size[0] / 2, 8), "Costs against iterations (log scale)", fill=INK,
              font=_font(18), anchor="mt")  # fmt: skip
    font = _font(14)
    draw.text((size[0] - right, size[1] - 6), "iteration", fill=INK, font=font, anchor="rb")
    draw.text((8, top - 20), "cost", fill=INK, font=font, anchor="lm")
    x = left + 60
    for name in SERIES:
        y = top - 20
        draw.line([(x, y), (x + 24, y)], fill=LINE_COLOURS[name], width=3)
        draw.text((x + 30, y), name, fill=INK, font=font, anchor="lm")
        x += 30 + draw.textlength(name, font=font) + 28


def _font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in scalable font at ``size`` pixels (needs Pillow >= 10.1)."""
    return ImageFont.load_default(size=size)


# --- contact sheet ---------------------------------------------------------------------------


def contact_sheet(
    panels: Sequence[tuple[str, np.ndarray]], path: str | os.PathLike, height: int = SHEET_HEIGHT
) -> None:
    """Write one image of labelled panels side by side to ``path`` (PNG intended).

    ``panels`` holds (label, (H, W, 3) uint8 RGB image) pairs, e.g. content, style,
    checkpoints and result. Each image is scaled (Lanczos) to ``height`` pixels, its width
    rounded to the nearest pixel; SHEET_MARGIN pixels of white go around and between them,
    and each label is centred under its panel (shortened with "..." if wider).
    """
    save_image(path, np.asarray(draw_contact_sheet(panels, height)))


def draw_contact_sheet(panels, height: int = SHEET_HEIGHT) -> Image.Image:
    """The contact sheet of ``contact_sheet`` as an RGB Pillow image."""
    if not panels:
        raise ValueError("a contact sheet needs at least one panel")
    font = _font(16)
    pictures = [_scaled(image, height) for _, image in panels]
    text_height = font.getbbox("Ag")[3]
    width = sum(p.width for p in pictures) + SHEET_MARGIN * (len(pictures) + 1)
    sheet = Image.new("RGB", (width, height + text_height + 3 * SHEET_MARGIN), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    x = SHEET_MARGIN
    for (label, _), picture in zip(panels, pictures, strict=True):
        sheet.paste(picture, (x, SHEET_MARGIN))
        text = _fit_text(draw, str(label), font, picture.width + SHEET_MARGIN)
        centre = x + picture.width / 2
        draw.text((centre, height + 2 * SHEET_MARGIN), text, fill=INK, font=font, anchor="mt")
        x += picture.width + SHEET_MARGIN
    return sheet


def _scaled(image: np.ndarray, height: int) -> Image.Image:
    """An (H, W, 3) image as a Pillow image ``height`` pixels high, aspect ratio kept."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W, 3) image, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.rint(np.clip(array, 0, 255)).astype(np.uint8)
    h, w = array.shape[:2]
    width = max(1, (2 * w * height + h) // (2 * h))  # round(w * height / h), halves up
    return Image.fromarray(array).resize((width, height), Image.Resampling.LANCZOS)


def _fit_text(draw, text: str, font, width: float) -> str:
    """``text``, or its longest prefix plus "..." that fits in ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."
