"""Pictures of a run: the costs against iterations, and a contact sheet of the images.

The loss plot is drawn by matplotlib (anti-aliased lines, real log-scale ticks, PNG, SVG or
PDF by the file's extension). matplotlib is imported only inside the functions that draw,
so importing this module stays cheap, and the figure is built without pyplot: no global
state, no GUI backend, no change to rcParams. The contact sheet is drawn with Pillow. Both
are written atomically. This module never imports TensorFlow.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stylize.bit_depth import as_8bit
from stylize.errors import ImageError
from stylize.files import atomic_writer, check_writable
from stylize.images import save_image

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
PLOT_INCHES = (8.0, 5.0)  # (width, height) of the loss plot
PLOT_DPI = 100  # so a PNG loss plot is 800 x 500 pixels
PLOT_FONT = "DejaVu Sans"  # shipped with matplotlib, so every machine draws the same text
SHEET_HEIGHT = 256  # pixels of every contact-sheet panel
SHEET_MARGIN = 12  # pixels around and between panels
SERIES = ("J", "J_content", "J_style")
_SERIES_COLOURS = {"J": "tab:blue", "J_content": "tab:red", "J_style": "tab:green"}
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)


# --- loss plot -------------------------------------------------------------------------------


def check_plot_path(path: str | os.PathLike, overwrite: bool) -> Path:
    """Check, before any work, that ``loss_plot`` can write ``path``: an extension in
    PLOT_SUFFIXES (any case), a writable folder, a name that fits the file system, and no
    existing file unless ``overwrite``. Returns the path as a Path; raises ImageError."""
    output = Path(path)
    check_writable(output, f"--loss-plot '{output}'", overwrite, ImageError, PLOT_SUFFIXES)
    return output


def loss_plot(
    history: Sequence[Sequence[float]],
    path: str | os.PathLike,
    scale_starts: Sequence[float] = (),
) -> None:
    """Write the ``loss_figure`` of ``history`` to ``path`` atomically.

    The extension (any case) picks the format: .png (800 x 500 pixels), .svg or .pdf
    (8 x 5 inches). Any other extension raises ValueError before anything is drawn or
    written; operating-system errors are raised as OSError.
    """
    output = Path(path)
    suffix = output.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ValueError(f"loss plot '{output}': unknown extension '{output.suffix}'"
                         f" (expected one of {', '.join(PLOT_SUFFIXES)})")  # fmt: skip
    buffer = io.BytesIO()
    loss_figure(history, scale_starts).savefig(buffer, format=suffix[1:], dpi=PLOT_DPI)
    with atomic_writer(output) as stream:
        stream.write(buffer.getvalue())


def loss_figure(history: Sequence[Sequence[float]], scale_starts: Sequence[float] = ()) -> Figure:
    """J, J_content and J_style against iterations, log-scale y, as a matplotlib Figure.

    ``history`` holds (iteration, J, J_content, J_style) rows, iterations increasing; costs
    are in the units the run reports them. ``scale_starts`` holds the first iteration of
    scale 2, 3, ... of a coarse-to-fine run; each gets a dashed vertical line. Non-positive
    and non-finite costs are drawn as NaN, so a line breaks there; when no cost is drawable
    (or the history is empty) the plot says "no positive costs". The figure is PLOT_INCHES
    at PLOT_DPI, with an Agg canvas attached, so ``figure.canvas.draw()`` works.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=PLOT_INCHES, dpi=PLOT_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.set_yscale("log")
    iterations, costs = _columns(history)
    drawable = False
    for name, values in costs.items():
        valid = _valid(values)
        drawable = drawable or bool(valid.any())
        ax.plot(iterations, np.where(valid, values, np.nan), label=name, linewidth=1.5,
                color=_SERIES_COLOURS[name])  # fmt: skip
    if not iterations.size:
        ax.set_xlim(0.0, 1.0)  # rather than matplotlib's -0.05 .. 0.05 around nothing
    if not drawable:
        ax.set_ylim(1.0, 10.0)  # a log axis with no data would warn and pick limits itself
        ax.text(0.5, 0.5, "no positive costs", transform=ax.transAxes, ha="center",
                va="center", fontsize=14, fontfamily=PLOT_FONT)  # fmt: skip
    _mark_scale_starts(ax, scale_starts)
    _decorate(ax)
    return figure


def _columns(history) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(n,) float iterations and {name: (n,) float costs} from the history rows."""
    rows = np.asarray(history, dtype=np.float64).reshape(-1, 1 + len(SERIES))
    return rows[:, 0], {name: rows[:, 1 + i] for i, name in enumerate(SERIES)}


def _valid(values: np.ndarray) -> np.ndarray:
    """Where ``values`` can be drawn on a log axis: finite and above zero."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > 0)


def _mark_scale_starts(ax: Axes, scale_starts: Sequence[float]) -> None:
    """A dashed vertical line and a "scale N" label at the top for each start."""
    for number, start in enumerate(scale_starts, start=2):
        ax.axvline(start, color="0.45", linestyle="--", linewidth=1.0, label=f"_scale {number}")
        # x in data units, y as a fraction of the axes: the label stays at the top.
        ax.text(start, 0.98, f" scale {number}", transform=ax.get_xaxis_transform(),
                ha="left", va="top", fontsize=9, color="0.3", fontfamily=PLOT_FONT)  # fmt: skip


def _decorate(ax: Axes) -> None:
    """Title, axis labels, grid and the legend, all in PLOT_FONT."""
    from matplotlib.ticker import MaxNLocator

    ax.set_title("Costs against iterations (log scale)", fontsize=13, fontfamily=PLOT_FONT)
    ax.set_xlabel("iteration", fontfamily=PLOT_FONT)
    ax.set_ylabel("cost", fontfamily=PLOT_FONT)
    ax.tick_params(which="both", labelfontfamily=PLOT_FONT)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # whole, round
    ax.grid(True, which="major", color="0.88", linewidth=0.8)
    ax.grid(True, which="minor", axis="y", color="0.95", linewidth=0.5)
    # Outside the plot box, to the right: it can hide no line, and "best" would be slow
    # on long histories.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              prop={"family": PLOT_FONT})  # fmt: skip


def _font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in scalable font at ``size`` pixels (needs Pillow >= 10.1)."""
    return ImageFont.load_default(size=size)


# --- contact sheet ---------------------------------------------------------------------------


def contact_sheet(
    panels: Sequence[tuple[str, np.ndarray]], path: str | os.PathLike, height: int = SHEET_HEIGHT
) -> None:
    """Write one image of labelled panels side by side to ``path``, in the format its
    extension names (``images.save_image``: PNG, JPEG, TIFF, WebP or BMP), at 8 bits.

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
    """An (H, W, 3) image as a Pillow image ``height`` pixels high, aspect ratio kept; a
    uint16 one at 8 bits."""
    array = as_8bit(np.asarray(image))
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
