"""Pictures of a run: the loss plot and the contact sheet, checked pixel by pixel."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylize.report import (
    GRID,
    LINE_COLOURS,
    PLOT_SIZE,
    SHEET_HEIGHT,
    SHEET_MARGIN,
    contact_sheet,
    loss_plot,
)


def _pixels(path) -> np.ndarray:
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB"))


def _is(pixels: np.ndarray, colour) -> np.ndarray:
    return np.all(pixels == np.array(colour, np.uint8), axis=-1)


def _falling_history(count: int = 60) -> list[tuple[int, float, float, float]]:
    rows = []
    for i in range(1, count + 1):
        content, style = 1e6 * np.exp(-i / 15) + 500.0, 3e4 * np.exp(-i / 25) + 40.0
        rows.append((i, 10 * content + 40 * style, content, style))
    return rows


def _plot(history, tmp_path, name="loss.png") -> np.ndarray:
    path = tmp_path / name
    loss_plot(history, path)
    return _pixels(path)


def test_loss_plot_is_a_png_of_the_plot_size(tmp_path):
    path = tmp_path / "loss.png"
    loss_plot(_falling_history(), path)
    with Image.open(path) as picture:
        assert (picture.format, picture.size) == ("PNG", PLOT_SIZE)
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # no temporary file left


def test_every_cost_is_drawn_in_its_colour(tmp_path):
    pixels = _plot(_falling_history(), tmp_path)
    for name, colour in LINE_COLOURS.items():
        # The legend swatch alone is under 100 pixels; a line across the plot is ~1000.
        assert _is(pixels, colour).sum() > 400, name


def test_non_positive_and_non_finite_costs_are_skipped(tmp_path):
    history = [(i, j, c, 0.0 if i % 2 else -1.0) for i, j, c, _ in _falling_history()]
    history[10] = (11, float("nan"), float("inf"), 0.0)
    pixels = _plot(history, tmp_path)
    assert _is(pixels, LINE_COLOURS["J_style"]).sum() < 100  # its legend swatch only
    assert _is(pixels, LINE_COLOURS["J"]).sum() > 400


def test_empty_or_unplottable_history_still_gives_a_picture(tmp_path):
    for index, history in enumerate([[], [(0, 0.0, -1.0, float("nan"))]]):
        pixels = _plot(history, tmp_path, f"empty{index}.png")
        assert pixels.shape == (PLOT_SIZE[1], PLOT_SIZE[0], 3)


def _line_centres(history, tmp_path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Columns and mean rows of the pixels that the series ``name`` alone adds."""
    without = [(i, *(np.nan if n == name else v for n, v in zip(LINE_COLOURS, row, strict=True)))
               for i, *row in history]  # fmt: skip
    pixels = _plot(history, tmp_path, "with.png")
    changed = np.any(pixels != _plot(without, tmp_path, "without.png"), axis=-1)
    line = changed & _is(pixels, LINE_COLOURS[name])
    columns = np.flatnonzero(line.any(axis=0))
    return columns, np.array([np.flatnonzero(line[:, c]).mean() for c in columns])


def test_tenfold_growth_is_a_straight_line_on_the_log_axis(tmp_path):
    # J grows 10x per step; the other two span the same decades, so the axes do not change
    # when J is left out.
    history = [(10 * i, 10.0 ** (i + 1), 10.0 ** (6 - i), 1e3) for i in range(6)]
    columns, rows = _line_centres(history, tmp_path, "J")
    assert columns.max() - columns.min() > 0.8 * PLOT_SIZE[0]
    slope, offset = np.polyfit(columns, rows, 1)
    assert slope < 0  # growing costs go up
    assert np.abs(rows - (slope * columns + offset)).max() < 2.0
    # equal steps: the rows at the six iterations' columns are evenly spaced
    at_points = np.interp(np.linspace(columns.min(), columns.max(), 6), columns, rows)
    np.testing.assert_allclose(np.diff(at_points), np.diff(at_points).mean(), atol=2.0)


def test_decade_grid_lines_are_evenly_spaced(tmp_path):
    history = [(i, 10.0 ** (i + 1), 10.0 ** (6 - i), 3e3) for i in range(6)]  # 1e1 .. 1e6
    grid_rows = np.flatnonzero(_is(_plot(history, tmp_path), GRID).sum(axis=1) > 300)
    assert len(grid_rows) >= 4  # inner decades 1e2 .. 1e5 (the outer ones are the frame)
    gaps = np.diff(grid_rows)
    assert gaps.max() - gaps.min() <= 1


def _solid(height: int, width: int, colour) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[...] = colour
    return image


def test_contact_sheet_places_scaled_panels_side_by_side(tmp_path):
    panels = [
        ("content", _solid(300, 200, (200, 20, 20))),
        ("style", _solid(40, 90, (20, 20, 200))),
        ("result", _solid(24, 32, (20, 160, 20))),
    ]
    path = tmp_path / "sheet.png"
    contact_sheet(panels, path)
    pixels = _pixels(path)
    widths = [171, 576, 341]  # 200*256/300, 90*256/40, 32*256/24, rounded
    assert pixels.shape[1] == sum(widths) + SHEET_MARGIN * (len(panels) + 1)
    assert pixels.shape[0] > SHEET_HEIGHT + 2 * SHEET_MARGIN  # room for the labels
    left = SHEET_MARGIN
    for (_, image), width in zip(panels, widths, strict=True):
        block = pixels[SHEET_MARGIN : SHEET_MARGIN + SHEET_HEIGHT, left : left + width]
        assert _is(block, image[0, 0]).all()
        label_area = pixels[SHEET_MARGIN + SHEET_HEIGHT :, left : left + width]
        assert label_area.min() < 100  # dark text under the panel
        left += width + SHEET_MARGIN
    assert _is(pixels[:SHEET_MARGIN], (255, 255, 255)).all()  # white background


def test_a_long_label_is_shortened_to_its_panel(tmp_path):
    path = tmp_path / "sheet.png"
    contact_sheet([("a label far too long for a thin panel " * 3, _solid(256, 40, 0))], path)
    assert _pixels(path).shape[1] == 40 + 2 * SHEET_MARGIN


@pytest.mark.parametrize("panels", [[], [("bad", np.zeros((8, 8), np.uint8))]])
def test_contact_sheet_refuses_bad_panels(tmp_path, panels):
    with pytest.raises(ValueError):
        contact_sheet(panels, tmp_path / "sheet.png")
    assert list(tmp_path.iterdir()) == []
