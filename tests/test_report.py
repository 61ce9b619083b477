"""Pictures of a run: the loss plot (files and the matplotlib figure behind them) and the
contact sheet, checked pixel by pixel."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from stylize.errors import ImageError
from stylize.report import (
    SHEET_HEIGHT,
    SHEET_MARGIN,
    check_plot_path,
    contact_sheet,
    loss_figure,
    loss_plot,
)

SERIES = ("J", "J_content", "J_style")


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


# --- loss plot files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "magic"),
    [("loss.png", (b"\x89PNG\r\n\x1a\n",)), ("loss.svg", (b"<?xml", b"<svg")),
     ("loss.pdf", (b"%PDF",)), ("LOSS.PNG", (b"\x89PNG\r\n\x1a\n",))],
)  # fmt: skip
def test_loss_plot_writes_the_format_its_extension_names(tmp_path, name, magic):
    path = tmp_path / name
    loss_plot(_falling_history(), path, scale_starts=(30,))
    assert path.read_bytes().startswith(magic)
    if name.lower().endswith(".svg"):
        assert b"<svg" in path.read_bytes()[:2000]
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_png_loss_plot_is_800_by_500_pixels(tmp_path):
    path = tmp_path / "loss.png"
    loss_plot(_falling_history(), path)
    with Image.open(path) as picture:
        assert (picture.format, picture.size) == ("PNG", (800, 500))
    assert not _is(_pixels(path), (255, 255, 255)).all()  # something was drawn


@pytest.mark.parametrize("name", ["loss.jpg", "loss.PNG.txt", "loss"])
def test_loss_plot_refuses_other_extensions_and_writes_nothing(tmp_path, name):
    with pytest.raises(ValueError, match="extension"):
        loss_plot(_falling_history(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_loss_plot_replaces_an_existing_file(tmp_path):
    path = tmp_path / "loss.pdf"
    path.write_bytes(b"old")
    loss_plot(_falling_history(), path)
    assert path.read_bytes().startswith(b"%PDF")


def test_a_failed_render_leaves_the_old_file_alone(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def fail(*args, **kwargs):
        raise RuntimeError("render failed")

    path = tmp_path / "loss.png"
    path.write_bytes(b"old")
    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(RuntimeError, match="render failed"):
        loss_plot(_falling_history(), path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]


# --- the figure ------------------------------------------------------------------------------


def _series(figure) -> dict:
    (ax,) = figure.axes
    return {line.get_label(): line for line in ax.get_lines() if line.get_label() in SERIES}


def test_figure_is_8_by_5_inches_with_a_log_cost_axis():
    figure = loss_figure(_falling_history())
    (ax,) = figure.axes
    np.testing.assert_allclose(figure.get_size_inches(), (8, 5))
    assert figure.dpi == 100
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("iteration", "cost")
    assert ax.get_title()


def test_figure_draws_each_cost_against_the_iterations():
    history = _falling_history()
    figure = loss_figure(history)
    lines = _series(figure)
    assert sorted(lines) == sorted(SERIES)
    assert len([line for line in figure.axes[0].get_lines() if line.get_label() in SERIES]) == 3
    columns = np.array(history, dtype=float)
    for index, name in enumerate(SERIES, start=1):
        np.testing.assert_array_equal(lines[name].get_xdata(), columns[:, 0])
        np.testing.assert_array_equal(lines[name].get_ydata(), columns[:, index])
    legend = figure.axes[0].get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == list(SERIES)


def test_non_positive_and_non_finite_costs_are_nan_in_the_drawn_data():
    history = [list(row) for row in _falling_history(8)]
    history[1][1], history[2][2], history[3][3] = 0.0, -5.0, float("inf")
    history[4][1:] = [float("nan"), float("-inf"), -0.0]
    lines = _series(loss_figure(history))
    columns = np.array(history, dtype=float)
    for index, name in enumerate(SERIES, start=1):
        expected = columns[:, index].copy()
        expected[~(np.isfinite(expected) & (expected > 0))] = np.nan
        drawn = np.asarray(lines[name].get_ydata(), dtype=float)
        np.testing.assert_array_equal(drawn, expected)  # NaNs compare equal here
        assert np.isnan(drawn).sum() == {"J": 2, "J_content": 2, "J_style": 2}[name]


def _vertical_lines(figure) -> list:
    (ax,) = figure.axes
    return [line for line in ax.get_lines() if line.get_label() not in SERIES]


def test_each_scale_start_gets_a_dashed_vertical_line_and_a_label():
    figure = loss_figure(_falling_history(), scale_starts=(20, 41))
    vertical = _vertical_lines(figure)
    assert len(vertical) == 2
    for line, start in zip(vertical, (20, 41), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), [start, start])
        assert line.get_linestyle() == "--"
    texts = [text.get_text().strip() for text in figure.axes[0].texts]
    assert texts == ["scale 2", "scale 3"]
    assert _vertical_lines(loss_figure(_falling_history())) == []


@pytest.mark.parametrize(
    "history", [[], [(0, 0.0, -1.0, float("nan"))], [(1, 0.0, 0.0, 0.0), (2, -1.0, 0.0, 0.0)]]
)
def test_nothing_drawable_says_so_and_still_renders(tmp_path, history):
    figure = loss_figure(history)
    assert "no positive costs" in [text.get_text() for text in figure.axes[0].texts]
    assert all(np.isnan(np.asarray(line.get_ydata(), float)).all()
               for line in _series(figure).values())  # fmt: skip
    path = tmp_path / "empty.png"
    loss_plot(history, path)
    with Image.open(path) as picture:
        assert picture.size == (800, 500)


def test_drawable_costs_do_not_say_there_are_none():
    texts = [text.get_text() for text in loss_figure(_falling_history()).axes[0].texts]
    assert "no positive costs" not in texts


def test_every_text_is_in_dejavu_sans_whatever_the_rc_font():
    import matplotlib
    from matplotlib.font_manager import findfont

    with matplotlib.rc_context({"font.family": "serif"}):  # as a user's matplotlibrc might
        figure = loss_figure(_falling_history(), scale_starts=(30,))
        figure.canvas.draw()  # tick labels exist only once drawn
        (ax,) = figure.axes
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        texts += [*ax.get_legend().get_texts(), *ax.get_xticklabels(), *ax.get_yticklabels()]
        fonts = {findfont(text.get_fontproperties()).rpartition("/")[2] for text in texts}
    assert len(texts) > 10
    assert fonts == {"DejaVuSans.ttf"}


# --- check_plot_path -------------------------------------------------------------------------


def test_check_plot_path_refuses_an_image_extension_it_cannot_plot(tmp_path):
    with pytest.raises(ImageError, match="--loss-plot") as caught:
        check_plot_path(tmp_path / "loss.jpg", overwrite=True)
    assert ".pdf" in str(caught.value)


def test_check_plot_path_refuses_an_existing_file_without_overwrite(tmp_path):
    path = tmp_path / "loss.svg"
    path.write_bytes(b"old")
    with pytest.raises(ImageError, match="--loss-plot.*already exists"):
        check_plot_path(path, overwrite=False)
    assert check_plot_path(path, overwrite=True) == path


def test_check_plot_path_accepts_any_case_and_returns_a_path(tmp_path):
    assert check_plot_path(str(tmp_path / "loss.PDF"), overwrite=False) == tmp_path / "loss.PDF"
    assert list(tmp_path.iterdir()) == []


def test_importing_the_module_does_not_import_matplotlib():
    code = "import sys, stylize.report; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_check_plot_path_does_not_import_matplotlib(tmp_path):
    code = (
        "import sys; from stylize.report import check_plot_path;"
        f"check_plot_path({str(tmp_path / 'loss.png')!r}, False);"
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


# --- contact sheet ---------------------------------------------------------------------------


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


def test_a_16bit_panel_is_drawn_as_its_8bit_picture(tmp_path):
    image = np.random.default_rng(3).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    contact_sheet([("result", image)], tmp_path / "eight.png")
    contact_sheet([("result", image.astype(np.uint16) * 257 + 100)], tmp_path / "wide.png")
    np.testing.assert_array_equal(_pixels(tmp_path / "wide.png"), _pixels(tmp_path / "eight.png"))


def test_a_long_label_is_shortened_to_its_panel(tmp_path):
    path = tmp_path / "sheet.png"
    contact_sheet([("a label far too long for a thin panel " * 3, _solid(256, 40, 0))], path)
    assert _pixels(path).shape[1] == 40 + 2 * SHEET_MARGIN


@pytest.mark.parametrize("panels", [[], [("bad", np.zeros((8, 8), np.uint8))]])
def test_contact_sheet_refuses_bad_panels(tmp_path, panels):
    with pytest.raises(ValueError):
        contact_sheet(panels, tmp_path / "sheet.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix, kind", [(".jpg", "JPEG"), (".webp", "WEBP"), (".tif", "TIFF"),
                                          (".bmp", "BMP")])  # fmt: skip
def test_the_contact_sheet_format_follows_the_extension(tmp_path, suffix, kind):
    path = tmp_path / f"sheet{suffix}"
    contact_sheet([("result", _solid(24, 32, (20, 160, 20)))], path)
    with Image.open(path) as picture:
        assert picture.format == kind and picture.mode == "RGB"
