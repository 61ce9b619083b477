"""benchmarks/bench.py end to end at a tiny size, so that the benchmark cannot rot.

Only the shape of the report is checked; timings are never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from stylize.cpu import computes_bfloat16, cpu_flags
from stylize.synthetic import write_vgg19_mat

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"
OPTIMIZER_KEYS = ("iterations", "loop_seconds", "seconds_per_iteration",
                  "median_seconds_per_iteration", "gflops", "setup_seconds", "peak_rss_mib",
                  "wall_seconds", "J")  # fmt: skip
FLOOR_KEYS = ("forward_seconds", "step_seconds", "j_gradient_seconds", "gflops",
              "j_gradient_gflops", "constant_step_seconds", "constant_step_gflops",
              "peak_rss_mib", "wall_seconds")  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[dict, str]:
    """One tiny benchmark run: 64x64 images (so that the fast mode's quarter size, 16x16,
    is not too small to keep), 3 reference and 4 stylize iterations, a tiny random weights
    file."""
    folder = tmp_path_factory.mktemp("bench")
    weights = write_vgg19_mat(folder / "tiny.mat", "new")
    command = [sys.executable, str(BENCH), "--size", "64x64", "--iterations", "3",
               "--stylize-iterations", "4", "--weights", str(weights), "--workdir", str(folder),
               "--floor-repeats", "2", "--import-runs", "1", "--help-runs", "1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((folder / "bench-64x64.json").read_text())
    return data, (folder / "bench-64x64.md").read_text()


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and value > 0


FLOAT32_MODES = ("adam", "lbfgs", "lbfgs-scales2", "fast")
# The bfloat16 modes run by default only where the CPU computes bfloat16 natively.
BFLOAT16_MODES = (
    ("adam-bf16", "lbfgs-bf16", "lbfgs-scales2-bf16", "fast-bf16")
    if computes_bfloat16(cpu_flags())
    else ()
)
# The fast mode runs half the stylize budget, on two scales.
ITERATIONS = {"reference": 3, "fast": 2, "fast-bf16": 2}
FLOORS = ("floor", "floor-bf16") if BFLOAT16_MODES else ("floor",)


def test_every_mode_is_measured(report):
    data, _ = report
    assert set(data["modes"]) == {*FLOORS, "reference", *FLOAT32_MODES, *BFLOAT16_MODES}
    for floor in FLOORS:
        for key in FLOOR_KEYS:
            assert _positive(data["modes"][floor][key]), (floor, key)
    for mode in ("reference", *FLOAT32_MODES, *BFLOAT16_MODES):
        run = data["modes"][mode]
        assert run["returncode"] == 0
        for key in OPTIMIZER_KEYS:
            assert _positive(run[key]), (mode, key)
        assert run["iterations"] == ITERATIONS.get(mode, 4)
        assert set(run["to_reference_J"]) == {"reached", "iteration", "loop_seconds", "seconds"}


# The README's fast mode starts at a quarter of the side, the other --scales 2 runs at half.
SCALE_SIZES = {"lbfgs-scales2": [[32, 32], [64, 64]], "fast": [[16, 16], [64, 64]]}


def test_each_run_reports_the_sizes_it_optimized_at(report):
    data, _ = report
    for mode in ("reference", *FLOAT32_MODES, *BFLOAT16_MODES):
        expected = SCALE_SIZES.get(mode.removesuffix("-bf16"), [[64, 64]])
        assert data["modes"][mode]["scale_sizes"] == expected, mode


def test_outputs_are_rescored_in_float32(report):
    data, _ = report
    assert data["rescore"]["returncode"] == 0
    assert "J_float32" not in data["modes"]["reference"]
    for mode in FLOAT32_MODES:  # the same graph in another process: the same J
        run = data["modes"][mode]
        assert run["J_float32"] == pytest.approx(run["J"], rel=1e-5), mode
    for mode in BFLOAT16_MODES:
        run = data["modes"][mode]
        assert run["J_float32"] == pytest.approx(run["J"], rel=0.05), mode
        assert run["J_float32"] != run["J"]


def test_reference_target_and_context(report):
    data, _ = report
    assert _positive(data["reference_J"])
    assert data["modes"]["reference"]["to_reference_J"]["reached"] is True
    assert _positive(data["flops"]["step_flops"]) and _positive(data["flops"]["gram_flops"])
    assert _positive(data["startup"]["tensorflow_import_seconds"])
    assert _positive(data["startup"]["help_seconds"])
    assert data["machine"]["cores"] >= 1 and data["machine"]["tensorflow"]


def test_markdown_table(report):
    _, markdown = report
    assert markdown.startswith("# stylize benchmark: 64x64, 3 iterations (stylize: 4)")
    assert (
        "| run | s/iter | median s/iter | best s/iter | GFLOP/s | start-up s | peak RSS MiB |"
        " final J | final J in float32 |" in markdown
    )
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert {row.count("|") for row in rows} == {13}
    for label in ("floor: forward + backward", "floor: plain TF, kernels as constants",
                  "reference (notebook", "stylize adam",
                  "stylize lbfgs |", "stylize lbfgs --scales 2",
                  "stylize fast mode: lbfgs --scales 2 --scale-ratio 4, half the"
                  " iterations"):  # fmt: skip
        assert label in markdown
    assert "failed" not in markdown


VIDEO = BENCH.parent / "video.py"


def test_the_video_benchmark_reports_every_clip_and_mode(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    command = [sys.executable, str(VIDEO), "--size", "48", "--frames", "3", "--weights",
               str(weights), "--temporal", "0,100", "--first", "6", "--later", "3"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout)
    for clip in ("pan", "made"):
        modes = data[clip]
        assert set(modes) == {"independent", "temporal 0", "temporal 100"}
        assert modes["independent"]["warping_error_vs_independent"] == 1.0
        for mode in ("temporal 0", "temporal 100"):
            assert len(modes[mode]["J"]) == 3 and _positive(modes[mode]["J_ratio_max"])
            assert _positive(modes[mode]["later_frame_seconds"])
    assert data["resume"]["kept_frames_unchanged"] and data["resume"]["video_frames"] == 3
    assert _positive(data["flow"]["frame_link_seconds"])


TILING = BENCH.parent / "tiling.py"


def _tiling(tmp_path, *args) -> dict:
    weights = tmp_path / "tiny.mat"
    if not weights.exists():
        write_vgg19_mat(weights, "new")
    command = [sys.executable, str(TILING), *args, "--weights", str(weights), "--work",
               str(tmp_path / "work")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_the_tiling_benchmark_measures_exactness_and_cost(tmp_path):
    exact = _tiling(tmp_path, "exactness", "--size", "96", "--tile-size", "32")
    assert exact["tiles"] == 9 and exact["size"] == "96x72"
    assert 0 <= exact["gradient_relative"] < 1e-4 and exact["max_pixel_difference"] <= 1
    cost = _tiling(tmp_path, "cost", "--size", "96", "--reference", "64", "--tile-size", "32",
                   "--iterations", "2")  # fmt: skip
    assert cost["tiled"]["tiling"] == {"core": 32, "tiles": 9}
    assert set(cost["tiled"]["pass_seconds_per_iteration"]) == {"Gram pass", "gradient pass"}
    assert _positive(cost["ratio"]) and len(cost["untiled"]["seconds_per_iteration"]) == 8


def test_the_tiling_benchmark_runs_children_for_peaks_and_regressions(tmp_path):
    scale = _tiling(tmp_path, "scale", "--size", "64", "--style-size", "48", "--tile-size",
                    "16", "--iterations", "2", "--optimizers", "adam")  # fmt: skip
    assert scale["adam"]["tiling"] == {"core": 16, "tiles": 12}
    assert (
        _positive(scale["adam"]["peak_bytes"]) and len(scale["adam"]["seconds_per_iteration"]) == 2
    )
    root = BENCH.parent.parent
    regression = _tiling(tmp_path, "regression", "--size", "48", "--iterations", "5",
                         "--rounds", "1", "--baseline", str(root))  # fmt: skip
    assert len(regression["medians"]["this"]) == len(regression["medians"]["baseline"]) == 1
    assert _positive(regression["this"]) and _positive(regression["baseline"])


def test_the_schedule_benchmark_compares_full_size_costs_of_each_plan(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    command = [sys.executable, str(BENCH.parent / "schedule.py"), "--size", "64",
               "--style-size", "32", "--plan", "64:3", "--plan", "32:4@2,64:2@0.25",
               "--weights", str(weights), "--work", str(tmp_path),
               "--images", str(tmp_path / "images")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
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


def test_the_scale_change_benchmark_times_both_graphs_at_the_full_size(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    command = [sys.executable, str(BENCH.parent / "scale_change.py"), "--size", "32x24",
               "--coarse", "16x12", "--coarse-steps", "2", "--rounds", "3", "--block", "2",
               "--weights", str(weights)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["steps_each"] == 4 and len(report["round_ratios"]) == 2  # round 1 warms up
    for key in ("fresh_step_seconds", "after_coarse_step_seconds", "ratio",
                "round_ratio_median"):  # fmt: skip
        assert _positive(report[key]), key
    assert report["ratio"] == pytest.approx(
        report["after_coarse_step_seconds"] / report["fresh_step_seconds"]
    )
    assert isinstance(report["frozen_kernels"], bool) and report["machine"]["cpu"]


def test_the_step_ratio_benchmark_alternates_both_optimizers(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    command = [sys.executable, str(BENCH.parent / "step_ratio.py"), "--size", "32x24",
               "--rounds", "3", "--block", "2", "--memory", "3",
               "--weights", str(weights)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["steps_each"] == 4 and len(report["round_ratios"]) == 2  # round 1 warms up
    for key in ("adam_step_seconds", "lbfgs_evaluation_seconds", "lbfgs_tensorflow_seconds",
                "ratio", "round_ratio_median", "plain_evaluation_seconds",
                "lbfgs_last_J"):  # fmt: skip
        assert _positive(report[key]), key
    assert report["ratio"] == pytest.approx(
        report["lbfgs_evaluation_seconds"] / report["adam_step_seconds"]
    )
    assert report["lbfgs_tensorflow_seconds"] < report["lbfgs_evaluation_seconds"]
    # the plain evaluation after each L-BFGS one is timed apart, not counted in its step
    plain = report["plain_evaluation_seconds"]
    assert report["lbfgs_evaluation_seconds"] < report["lbfgs_tensorflow_seconds"] + plain
    assert abs(report["lbfgs_slowdown_milliseconds"]) < 1000 * plain
    assert report["memory"] == 3 and report["machine"]["cpu"]


def test_the_bit_depth_benchmark_scores_each_rounding_of_one_iterate(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    command = [sys.executable, str(BENCH.parent / "bit_depth.py"), "--size", "48x32",
               "--iterations", "5", "--weights", str(weights)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    found, excess = report["J"], report["J_excess_percent"]
    assert all(_positive(found[key]) for key in ("float", "8", "16"))
    for depth in ("8", "16"):
        assert excess[depth] == pytest.approx(100 * (found[depth] / found["float"] - 1))
    assert abs(excess["16"]) < abs(excess["8"])  # 257 times finer rounding
    writing = report["writing"]
    assert sorted(writing) == ["16.png", "16.tif", "8.png", "8.tif"]
    assert all(_positive(w["bytes"]) and _positive(w["seconds"]) for w in writing.values())
    assert writing["16.png"]["bytes"] > writing["8.png"]["bytes"]
    assert report["scales"] == [[48, 32]] and report["machine"]["cpu"]


def test_the_read16_benchmark_times_both_depths_and_says_what_16_bits_keep():
    command = [sys.executable, str(BENCH.parent / "read16.py"), "--size", "64x48",
               "--repeats", "1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert sorted(report["reading"]) == ["heif_10bit", "heif_10bit_pq", "png",
                                         "png_with_profile", "tiff"]  # fmt: skip
    for name, reads in report["reading"].items():
        assert (reads["8"]["dtype"], reads["16"]["dtype"]) == ("uint8", "uint16")
        depths = ("8", "16", "8_as_stored") if name.startswith("heif") else ("8", "16")
        assert set(reads) == set(depths)
        assert all(_positive(reads[d]["seconds"]) and _positive(reads[d]["peak_mib"])
                   for d in depths)  # fmt: skip
    assert all(_positive(size) for size in report["bytes"].values())
    kept = report["levels_8bit"]
    assert 0 < kept["read_8bit_max"] < 1  # Pillow keeps each sample's high byte
    assert 0 < kept["chroma_from_8bit_mean"] <= kept["chroma_from_8bit_max"]
    assert report["machine"]["cpu"]


def test_the_step_ratio_benchmark_refuses_no_correction_pairs(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCH.parent))
    import step_ratio

    with pytest.raises(SystemExit) as stopped:
        step_ratio._arguments(["--memory", "0"])
    assert stopped.value.code == 2 and "--memory must be at least 1" in capsys.readouterr().err
