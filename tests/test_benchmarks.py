"""benchmarks/bench.py end to end at a tiny size, so that the benchmark cannot rot.

Only the shape of the report is checked; timings are never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import BENCHMARKS, positive

from stylize.cpu import computes_bfloat16, cpu_flags
from stylize.synthetic import write_vgg19_mat

pytestmark = pytest.mark.slow

BENCH = BENCHMARKS / "bench.py"
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
            assert positive(data["modes"][floor][key]), (floor, key)
    for mode in ("reference", *FLOAT32_MODES, *BFLOAT16_MODES):
        run = data["modes"][mode]
        assert run["returncode"] == 0
        for key in OPTIMIZER_KEYS:
            assert positive(run[key]), (mode, key)
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
    assert positive(data["reference_J"])
    assert data["modes"]["reference"]["to_reference_J"]["reached"] is True
    assert positive(data["flops"]["step_flops"]) and positive(data["flops"]["gram_flops"])
    assert positive(data["startup"]["tensorflow_import_seconds"])
    assert positive(data["startup"]["help_seconds"])
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
