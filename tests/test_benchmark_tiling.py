"""benchmarks/tiling.py and benchmarks/schedule.py (print sizes: tiles, and the scales that
lead to them) end to end at tiny sizes, so that the benchmarks cannot rot.

Only the shape of the reports is checked; timings are never asserted.
"""

from __future__ import annotations

import pytest
from conftest import BENCHMARKS, positive, run_benchmark
from PIL import Image

from stylize.synthetic import write_vgg19_mat

pytestmark = pytest.mark.slow


def _tiling(tmp_path, *args) -> dict:
    weights = tmp_path / "tiny.mat"
    if not weights.exists():
        write_vgg19_mat(weights, "new")
    return run_benchmark("tiling.py", *args, "--weights", weights, "--work", tmp_path / "work")


def test_the_tiling_benchmark_measures_exactness_and_cost(tmp_path):
    exact = _tiling(tmp_path, "exactness", "--size", "96", "--tile-size", "32")
    assert exact["tiles"] == 9 and exact["size"] == "96x72"
    assert 0 <= exact["gradient_relative"] < 1e-4 and exact["max_pixel_difference"] <= 1
    cost = _tiling(tmp_path, "cost", "--size", "96", "--reference", "64", "--tile-size", "32",
                   "--iterations", "2")  # fmt: skip
    assert cost["tiled"]["tiling"] == {"core": 32, "tiles": 9}
    assert set(cost["tiled"]["pass_seconds_per_iteration"]) == {"Gram pass", "gradient pass"}
    assert positive(cost["ratio"]) and len(cost["untiled"]["seconds_per_iteration"]) == 8


def test_the_tiling_benchmark_runs_children_for_peaks_and_regressions(tmp_path):
    scale = _tiling(tmp_path, "scale", "--size", "64", "--style-size", "48", "--tile-size",
                    "16", "--iterations", "2", "--optimizers", "adam")  # fmt: skip
    assert scale["adam"]["tiling"] == {"core": 16, "tiles": 12}
    assert positive(scale["adam"]["peak_bytes"])
    assert len(scale["adam"]["seconds_per_iteration"]) == 2
    regression = _tiling(tmp_path, "regression", "--size", "48", "--iterations", "5",
                         "--rounds", "1", "--baseline", BENCHMARKS.parent)  # fmt: skip
    assert len(regression["medians"]["this"]) == len(regression["medians"]["baseline"]) == 1
    assert positive(regression["this"]) and positive(regression["baseline"])


def test_the_schedule_benchmark_compares_full_size_costs_of_each_plan(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    report = run_benchmark("schedule.py", "--size", "64", "--style-size", "32", "--plan",
                           "64:3", "--plan", "32:4@2,64:2@0.25", "--weights", weights,
                           "--work", tmp_path, "--images", tmp_path / "images")  # fmt: skip
    pictures = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert pictures == ["adam-32x4-lr2_64x2-lr0.25.png", "adam-64x3.png"]
    assert Image.open(tmp_path / "images" / "adam-64x3.png").size == (64, 48)
    single, coarse = report["runs"]
    assert coarse["learning_rates"] == [2.0, 0.25]
    assert single["learning_rates"] == [2.0]  # stylize's own step for a single scale
    assert [r["scale"] for r in single["records"]] == [1, 1, 1]
    assert [r["scale"] for r in coarse["records"]] == [1, 1, 1, 1, 2, 2]
    seconds = [r["seconds"] for r in coarse["records"]]
    assert seconds == sorted(seconds) and seconds[0] > 0
    for row, run in zip(report["summary"], report["runs"], strict=True):
        last = len(run["plan"].split(","))
        best = min(r["J"] for r in run["records"] if r["scale"] == last)
        assert row["target_J"] == best
        reached = next(
            r["seconds"] for r in run["records"] if r["scale"] == last and r["J"] <= best
        )
        assert row["seconds"][run["plan"]] == reached
