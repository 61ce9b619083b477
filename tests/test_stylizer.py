"""The Stylizer's choice between one pass and tiles, and whole jobs run in tiles: the same
images as in one pass, reproducible byte for byte, with every control."""

from __future__ import annotations

import numpy as np
import pytest

from stylize import memory, tile_plan
from stylize.config import Settings
from stylize.device import CPU
from stylize.optimize import TransferGraph, style_grams_at_size
from stylize.stylizer import Stylizer
from stylize.tiled import TiledGraph
from stylize.transfer import Transfer
from stylize.weights import load_vgg19

SHALLOW = {
    "content_layers": (("conv2_2", 1.0),),
    "style_layers": (("conv1_1", 0.5), ("conv2_1", 0.5)),
}


def _image(seed, height=40, width=56):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 6 % 256, y * 9 % 256, (x * y) % 256], axis=-1)
    return np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)


CONTENT, STYLE, OTHER = _image(0), _image(1, 30, 30), _image(2)[::-1]


@pytest.fixture(scope="module")
def weights(vgg_file):
    return load_vgg19(vgg_file, "relu5_1")


def _run(weights, tile_size=0, styles=(STYLE,), seed=3, notes=None, **changes):
    settings = Settings(**{"iterations": 5, "seed": seed, "tile_size": tile_size, **SHALLOW,
                           **changes})  # fmt: skip
    stylizer = Stylizer(weights, settings, CPU)
    stylizer.on_note = notes.append if notes is not None else None
    transfer = Transfer(stylizer, CONTENT, list(styles), seed)
    list(transfer.run())
    result = transfer.finish()
    stylizer.close()
    return transfer, result


def _levels(a, b):
    return float(np.abs(a.astype(np.int16) - b).mean())


def test_a_size_that_does_not_fit_in_one_pass_is_tiled(weights, monkeypatch):
    monkeypatch.setattr(memory, "resident_bytes", lambda: 0)
    settings = Settings(**SHALLOW)
    one_pass = memory.step_bytes(weights, settings, 56, 40)
    monkeypatch.setattr(memory, "available_memory", lambda: one_pass - 1)
    stylizer = Stylizer(weights, settings, CPU)
    notes = []
    stylizer.on_note = notes.append
    graph = stylizer.graph(56, 40)
    assert isinstance(graph, TiledGraph)
    assert tile_plan.tiled_bytes(weights, settings, 56, 40, graph.core) <= one_pass - 1
    core = max(span.core_stop - span.core_start
               for tile in graph.tiles for span in (tile.rows, tile.columns))  # fmt: skip
    assert core <= graph.core  # the planned core, rounded to the grid and balanced
    assert notes == [
        f"56x40: J and its gradient computed in {len(graph.tiles)} tiles of at most"
        f" {core} px (one pass would need about {one_pass / 2**30:.1f} GiB)"
    ]
    monkeypatch.setattr(memory, "available_memory", lambda: one_pass)
    assert isinstance(stylizer.graph(40, 56), TransferGraph)
    stylizer.close()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_tiled_job_makes_the_one_pass_image(weights, optimizer):
    notes = []
    tiled_transfer, tiled = _run(weights, tile_size=16, optimizer=optimizer, notes=notes)
    _, whole = _run(weights, optimizer=optimizer)
    # 56x40 on conv2_2's 2-px grid in cores of at most 16 px: 4 columns of 14, rows of 14,
    # 14 and 12 (tiles.spans balances them), so the largest core computed is 14 px.
    assert tiled_transfer.tiling == {"core": 14, "tiles": 12}
    assert notes and "--tile-size 16" in notes[0]
    assert _levels(tiled.image, whole.image) < 0.01
    assert tiled.costs.J == pytest.approx(whole.costs.J, rel=1e-4)


def test_the_tiling_reported_is_the_largest_core_computed(weights):
    """--tile-size is a bound: spans round it down to the stride and balance the tiles, and
    what stderr and --json report is the core actually used."""
    notes = []
    transfer, _ = _run(weights, tile_size=47, notes=notes)
    sides = {span.core_stop - span.core_start
             for tile in transfer.graph.tiles for span in (tile.rows, tile.columns)}  # fmt: skip
    # 56x40 on a 2-px grid in cores of at most 46 px: 2 columns of 28, 1 row of 40.
    assert sides == {28, 40}
    assert transfer.tiling == {"core": 40, "tiles": 2}
    assert notes == ["56x40: J and its gradient computed in 2 tiles of at most 40 px"
                     " (--tile-size 47)"]  # fmt: skip


def test_a_seeded_tiled_job_is_reproduced_byte_for_byte(weights):
    first, second = (_run(weights, tile_size=16)[1] for _ in range(2))
    assert first.image.tobytes() == second.image.tobytes()
    assert _run(weights, tile_size=16, seed=4)[1].image.tobytes() != first.image.tobytes()


@pytest.mark.parametrize(
    "changes",
    [
        {"scales": 2, "tv_weight": 2.0},
        {"style_scale": 0.6, "preserve_colors": "luminance"},
        {"init": "style", "preserve_colors": "histogram"},
        {"style_weights": (0.7, 0.3), "styles": (STYLE, OTHER)},
    ],
    ids=["scales-tv", "style-scale-luminance", "init-style-histogram", "two-styles"],
)
def test_every_control_works_in_tiles(weights, changes):
    changes = dict(changes)
    styles = changes.pop("styles", (STYLE,))
    _, tiled = _run(weights, tile_size=16, styles=styles, **changes)
    _, whole = _run(weights, styles=styles, **changes)
    assert _levels(tiled.image, whole.image) < 0.01


def test_style_targets_of_another_size_are_tiled_when_they_do_not_fit(weights, monkeypatch):
    settings = Settings(iterations=2, style_scale=2.0, **SHALLOW)
    stylizer = Stylizer(weights, settings, CPU)
    from stylize.images import preprocess

    style = preprocess(_image(5, 80, 112), weights.mean_pixel)
    whole = stylizer.grams_at_size(style)
    monkeypatch.setattr(tile_plan, "plan_size", lambda *a, **k: tile_plan.Plan(16, 0))
    passes = []
    stylizer.on_tile = lambda name, done, count: passes.append((name, count))
    tiled = stylizer.grams_at_size(style)
    assert passes and {name for name, _ in passes} == {"style targets"}
    for name in whole:
        np.testing.assert_allclose(tiled[name], whole[name], rtol=1e-5, atol=1e-5)
    stylizer.close()


def test_tiled_iterations_report_both_passes(weights):
    settings = Settings(iterations=2, tile_size=16, **SHALLOW)
    stylizer = Stylizer(weights, settings, CPU)
    seen = []
    stylizer.on_tile = lambda name, done, count: seen.append((name, done, count))
    transfer = Transfer(stylizer, CONTENT, [STYLE], 0)
    list(transfer.run())
    names = [name for name, _, _ in seen]
    assert names.count("Gram pass") == names.count("gradient pass") == 2 * 12
    assert ("content targets", 12, 12) in seen and ("gradient pass", 12, 12) in seen
    stylizer.close()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_regions_and_the_keep_mask_work_in_tiles(weights, optimizer):
    left = np.zeros(CONTENT.shape[:2], np.float32)
    left[:, :30] = 1.0
    keep = np.ones(CONTENT.shape[:2], np.float32)
    keep[5:15, 40:50] = 0.0
    images = []
    for tile_size in (0, 16):
        settings = Settings(iterations=4, tile_size=tile_size, optimizer=optimizer, **SHALLOW)
        stylizer = Stylizer(weights, settings, CPU, regions=2, keep_mask=True)
        transfer = Transfer(stylizer, CONTENT, [STYLE, OTHER], 1, style_masks=[left, 1 - left],
                            keep=keep)  # fmt: skip
        list(transfer.run())
        images.append(transfer.finish().image)
        stylizer.close()
    assert _levels(images[1], images[0]) < 0.01
    assert (images[1][5:15, 40:50] == CONTENT[5:15, 40:50]).all()


def test_a_tiled_job_stopped_early_keeps_its_best_image(weights):
    settings = Settings(iterations=10, tile_size=16, **SHALLOW)
    stylizer = Stylizer(weights, settings, CPU)
    transfer = Transfer(stylizer, CONTENT, [STYLE], 2)
    seen = []
    for progress in transfer.run():
        seen.append(progress.costs.J)
        if len(seen) == 3:
            break  # as an interruption does
    result = transfer.finish()
    assert result.iterations == 3 and result.image.shape == CONTENT.shape
    assert result.costs.J <= min(seen) * 1.01  # the lowest-cost image, rounded to 8 bits
    stylizer.close()


def test_one_graph_serves_every_size_computed_in_one_pass(weights):
    stylizer = Stylizer(weights, Settings(iterations=2), CPU)
    first = stylizer.graph(32, 24)
    assert isinstance(first, TransferGraph)
    assert stylizer.graph(24, 32) is first and stylizer.graph(32, 24) is first


def test_a_tiled_graph_is_kept_per_size(weights):
    stylizer = Stylizer(weights, Settings(iterations=2, tile_size=16), CPU)
    first = stylizer.graph(32, 24)
    assert isinstance(first, TiledGraph) and stylizer.graph(32, 24) is first
    assert stylizer.graph(24, 32) is not first


def test_a_size_is_planned_once_while_its_graph_is_kept(weights, monkeypatch):
    """The kept graph's own memory must not turn a size planned in one pass into tiles."""
    stylizer = Stylizer(weights, Settings(iterations=2), CPU)
    plans = []
    monkeypatch.setattr(stylizer, "plan", lambda w, h: plans.append((w, h)) or _plan(w, h))
    one_pass = stylizer.graph(32, 24)
    stylizer.graph(32, 24)
    assert plans == [(32, 24)]
    assert stylizer.graph(16, 12) is one_pass and plans == [(32, 24), (16, 12)]


def _plan(width, height):
    """One pass for 32x24 and 16x12, tiles of 16 px for any other size."""
    return tile_plan.Plan(None if (width, height) in ((32, 24), (16, 12)) else 16, 0)


def test_at_most_max_graphs_are_kept_least_recently_used_first(weights, monkeypatch):
    stylizer = Stylizer(weights, Settings(iterations=2), CPU, max_graphs=2)
    monkeypatch.setattr(stylizer, "plan", _plan)
    whole, tiled = stylizer.graph(32, 24), stylizer.graph(24, 32)
    assert stylizer.graph(16, 12) is whole  # now the most recently used
    stylizer.graph(20, 20)  # evicts the 24x32 tiles
    assert stylizer.graph(32, 24) is whole
    assert stylizer.graph(24, 32) is not tiled  # evicts the 20x20 tiles
    stylizer.graph(20, 20)  # evicts the one-pass graph
    assert whole.session._closed
    assert stylizer.graph(32, 24) is not whole


def test_evicting_a_graph_trims_the_c_heap(weights, monkeypatch):
    trims = []
    monkeypatch.setattr(memory, "release_free_memory", lambda: trims.append(1))
    stylizer = Stylizer(weights, Settings(iterations=2), CPU, max_graphs=1)
    monkeypatch.setattr(stylizer, "plan", _plan)
    stylizer.graph(32, 24)
    stylizer.graph(16, 12)
    assert trims == []
    stylizer.graph(24, 32)
    assert trims == [1]


def test_style_grams_of_another_size_use_the_kept_one_pass_graph(weights, monkeypatch):
    stylizer = Stylizer(weights, Settings(iterations=2), CPU, max_graphs=1)
    monkeypatch.setattr(stylizer, "plan", _plan)
    style = np.random.default_rng(3).uniform(-100, 100, (1, 12, 16, 3)).astype(np.float32)
    expected = style_grams_at_size(weights, style, stylizer.settings, CPU)
    whole = stylizer.graph(32, 24)
    monkeypatch.setattr("stylize.stylizer.style_grams_at_size", _no_graph_of_its_own)
    grams = stylizer.grams_at_size(style)
    assert stylizer.graph(32, 24) is whole
    for name, gram in expected.items():
        np.testing.assert_array_equal(grams[name], gram)


def _no_graph_of_its_own(*args):
    raise AssertionError("a graph was built for the style while the one-pass graph was kept")


def test_style_grams_in_one_pass_keep_a_tiled_graph(weights, monkeypatch):
    """A tiled output with a smaller style: the style's graph of its own must not drop the
    output's tiled graph (max_graphs=1 in ``stylize run``)."""
    stylizer = Stylizer(weights, Settings(iterations=2), CPU, max_graphs=1)
    monkeypatch.setattr(stylizer, "plan", _plan)
    tiled = stylizer.graph(24, 32)
    style = np.random.default_rng(3).uniform(-100, 100, (1, 12, 16, 3)).astype(np.float32)
    grams = stylizer.grams_at_size(style)
    assert stylizer.graph(24, 32) is tiled
    expected = style_grams_at_size(weights, style, stylizer.settings, CPU)
    for name, gram in expected.items():
        np.testing.assert_array_equal(grams[name], gram)
