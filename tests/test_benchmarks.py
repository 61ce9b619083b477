"""benchmarks/bench.py end to end at a tiny size, so that the benchmark cannot rot.

Only the shape of the report is checked; timings are never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stylize.synthetic import write_vgg19_mat

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"
OPTIMIZER_KEYS = ("iterations", "loop_seconds", "seconds_per_iteration",
                  "median_seconds_per_iteration", "gflops", "setup_seconds", "peak_rss_mib",
                  "wall_seconds", "J")  # fmt: skip
FLOOR_KEYS = ("forward_seconds", "step_seconds", "j_gradient_seconds", "gflops",
              "j_gradient_gflops", "peak_rss_mib", "wall_seconds")  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[dict, str]:
    """One tiny benchmark run: 48x32 images, 3 reference and 4 stylize iterations, a tiny
    random weights file."""
    folder = tmp_path_factory.mktemp("bench")
    weights = write_vgg19_mat(folder / "tiny.mat", "new")
    command = [sys.executable, str(BENCH), "--size", "48x32", "--iterations", "3",
               "--stylize-iterations", "4", "--weights", str(weights), "--workdir", str(folder),
               "--floor-repeats", "2", "--import-runs", "1", "--help-runs", "1"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((folder / "bench-48x32.json").read_text())
    return data, (folder / "bench-48x32.md").read_text()


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and value > 0


def test_every_mode_is_measured(report):
    data, _ = report
    assert set(data["modes"]) == {"floor", "reference", "adam", "lbfgs", "lbfgs-scales2"}
    for key in FLOOR_KEYS:
        assert _positive(data["modes"]["floor"][key]), key
    for mode in ("reference", "adam", "lbfgs", "lbfgs-scales2"):
        run = data["modes"][mode]
        assert run["returncode"] == 0
        for key in OPTIMIZER_KEYS:
            assert _positive(run[key]), (mode, key)
        assert run["iterations"] == (3 if mode == "reference" else 4)
        assert set(run["to_reference_J"]) == {"reached", "iteration", "loop_seconds", "seconds"}


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
    assert markdown.startswith("# stylize benchmark: 48x32, 3 iterations (stylize: 4)")
    assert (
        "| run | s/iter | median s/iter | best s/iter | GFLOP/s | start-up s | peak RSS MiB |"
        in markdown
    )
    for label in ("floor: forward + backward", "reference (notebook", "stylize adam",
                  "stylize lbfgs |", "stylize lbfgs --scales 2"):  # fmt: skip
        assert label in markdown
    assert "failed" not in markdown
