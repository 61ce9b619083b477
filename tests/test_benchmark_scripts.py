"""The smaller benchmark scripts (benchmarks/scale_change.py, step_ratio.py, floor_ratio.py,
bit_depth.py, read16.py and balance.py) end to end at tiny sizes, so that they cannot rot.

Only the shape and the arithmetic of the reports are checked, and orderings that hold by
construction or by a wide margin (L-BFGS-B's own work at 32x24 is a tenth of an evaluation);
no timing is held to a target. step_ratio's slowdown bound (at most one evaluation) failed
on a loaded machine: its arithmetic is checked on given numbers instead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import BENCHMARKS, positive, run_benchmark
from PIL import Image

from stylize.config import Settings
from stylize.synthetic import write_vgg19_mat
from stylize.weights import load_vgg19

pytestmark = pytest.mark.slow


def test_the_scale_change_benchmark_times_both_graphs_at_the_full_size(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    report = run_benchmark("scale_change.py", "--size", "32x24", "--coarse", "16x12",
                           "--coarse-steps", "2", "--rounds", "3", "--block", "2",
                           "--weights", weights)  # fmt: skip
    assert report["steps_each"] == 4 and len(report["round_ratios"]) == 2  # round 1 warms up
    for key in ("fresh_step_seconds", "after_coarse_step_seconds", "ratio",
                "round_ratio_median"):  # fmt: skip
        assert positive(report[key]), key
    assert report["ratio"] == pytest.approx(
        report["after_coarse_step_seconds"] / report["fresh_step_seconds"]
    )
    assert isinstance(report["frozen_kernels"], bool) and report["machine"]["cpu"]


def test_the_step_ratio_benchmark_alternates_both_optimizers(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    report = run_benchmark("step_ratio.py", "--size", "32x24", "--rounds", "3", "--block",
                           "2", "--memory", "3", "--weights", weights)  # fmt: skip
    assert report["steps_each"] == 4 and len(report["round_ratios"]) == 2  # round 1 warms up
    for key in ("adam_step_seconds", "lbfgs_evaluation_seconds", "lbfgs_tensorflow_seconds",
                "ratio", "round_ratio_median", "plain_evaluation_seconds",
                "lbfgs_last_J"):  # fmt: skip
        assert positive(report[key]), key
    assert report["ratio"] == pytest.approx(
        report["lbfgs_evaluation_seconds"] / report["adam_step_seconds"]
    )
    assert report["lbfgs_tensorflow_seconds"] < report["lbfgs_evaluation_seconds"]
    # the plain evaluation after each L-BFGS one is timed apart, not counted in its step
    plain = report["plain_evaluation_seconds"]
    assert report["lbfgs_evaluation_seconds"] < report["lbfgs_tensorflow_seconds"] + plain
    assert math.isfinite(report["lbfgs_slowdown_milliseconds"])  # its arithmetic: below
    assert report["memory"] == 3 and report["machine"]["cpu"]


def test_the_step_ratio_summary_pairs_each_evaluation_with_the_plain_one_after_it(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from step_ratio import Round, summary

    report = summary([
        Round(adam=[1.0, 1.2], lbfgs=[1.1, 1.5], tensorflow=[1.0, 1.3], plain=[0.9, 1.4]),
        Round(adam=[1.1, 0.9], lbfgs=[1.2, 1.0], tensorflow=[1.15, 0.95], plain=[1.0, 1.0]),
    ])  # fmt: skip
    assert report["adam_step_seconds"] == pytest.approx(1.05)
    assert report["lbfgs_evaluation_seconds"] == pytest.approx(1.15)
    assert report["ratio"] == pytest.approx(1.15 / 1.05)
    assert report["round_ratios"] == pytest.approx([1.3 / 1.1, 1.1 / 1.0])
    assert report["lbfgs_tensorflow_seconds"] == pytest.approx(1.075)
    assert report["lbfgs_own_milliseconds"] == pytest.approx(75)  # median of 100, 200, 50, 50
    assert report["plain_evaluation_seconds"] == pytest.approx(1.0)
    # pair by pair: 100, -100, 150, -50 ms, median 25; the medians' difference would be 75
    assert report["lbfgs_slowdown_milliseconds"] == pytest.approx(25)
    assert report["steps_each"] == 4


def test_the_floor_ratio_benchmark_alternates_both_floors_and_adam(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from floor import layer_shapes
    from flops import step_flops

    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    report = run_benchmark("floor_ratio.py", "--size", "32x24", "--rounds", "3", "--block",
                           "2", "--weights", weights)  # fmt: skip
    assert report["steps_each"] == 4 and len(report["round_ratios"]) == 2  # round 1 warms up
    for key in ("constant_floor_seconds", "variable_floor_seconds", "adam_seconds", "ratio",
                "round_ratio_median", "variable_floor_ratio"):  # fmt: skip
        assert positive(report[key]), key
    floor = report["constant_floor_seconds"]
    assert report["ratio"] == pytest.approx(report["adam_seconds"] / floor)
    assert report["variable_floor_ratio"] == pytest.approx(report["variable_floor_seconds"] / floor)
    shapes = layer_shapes(load_vgg19(weights, Settings().deepest_layer))
    assert report["step_flops"] == step_flops(shapes, 32, 24)
    assert report["constant_floor_gflops"] == pytest.approx(report["step_flops"] / floor / 1e9)
    assert isinstance(report["frozen_kernels"], bool) and report["machine"]["cpu"]


def test_the_floor_ratio_benchmark_refuses_a_warmup_of_every_round(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import floor_ratio

    with pytest.raises(SystemExit) as exited:
        floor_ratio._arguments(["--rounds", "2", "--warmup", "2"])
    assert exited.value.code == 2 and "--warmup" in capsys.readouterr().err


def test_the_bit_depth_benchmark_scores_each_rounding_of_one_iterate(tmp_path):
    weights = write_vgg19_mat(tmp_path / "tiny.mat", "new")
    report = run_benchmark("bit_depth.py", "--size", "48x32", "--iterations", "5",
                           "--weights", weights)  # fmt: skip
    found, excess = report["J"], report["J_excess_percent"]
    assert all(positive(found[key]) for key in ("float", "8", "16"))
    for depth in ("8", "16"):
        assert excess[depth] == pytest.approx(100 * (found[depth] / found["float"] - 1))
    assert abs(excess["16"]) < abs(excess["8"])  # 257 times finer rounding
    writing = report["writing"]
    assert sorted(writing) == ["16.png", "16.tif", "8.png", "8.tif"]
    assert all(positive(w["bytes"]) and positive(w["seconds"]) for w in writing.values())
    assert writing["16.png"]["bytes"] > writing["8.png"]["bytes"]
    assert report["scales"] == [[48, 32]] and report["machine"]["cpu"]


def test_the_read16_benchmark_times_both_depths_and_says_what_16_bits_keep():
    report = run_benchmark("read16.py", "--size", "64x48", "--repeats", "1")
    assert sorted(report["reading"]) == ["heif_10bit", "heif_10bit_pq", "png",
                                         "png_with_profile", "tiff"]  # fmt: skip
    for name, reads in report["reading"].items():
        assert (reads["8"]["dtype"], reads["16"]["dtype"]) == ("uint8", "uint16")
        depths = ("8", "16", "8_as_stored") if name.startswith("heif") else ("8", "16")
        assert set(reads) == set(depths)
        assert all(positive(reads[d]["seconds"]) and positive(reads[d]["peak_mib"])
                   for d in depths)  # fmt: skip
    assert all(positive(size) for size in report["bytes"].values())
    kept = report["levels_8bit"]
    assert 0 < kept["read_8bit_max"] < 1  # Pillow keeps each sample's high byte
    assert 0 < kept["chroma_from_8bit_mean"] <= kept["chroma_from_8bit_max"]
    assert report["machine"]["cpu"]


def test_the_step_ratio_benchmark_refuses_no_correction_pairs(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import step_ratio

    with pytest.raises(SystemExit) as stopped:
        step_ratio._arguments(["--memory", "0"])
    assert stopped.value.code == 2 and "--memory must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["step_ratio", "scale_change", "floor_ratio"])
def test_the_round_benchmarks_refuse_emulated_bfloat16(script, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import step_ratio

    module = __import__(script)
    monkeypatch.setattr(step_ratio, "cpu_flags", lambda: frozenset({"avx", "avx2"}))
    with pytest.raises(SystemExit) as stopped:
        module._arguments(["--precision", "bfloat16"])
    assert stopped.value.code == 2 and "no native bfloat16" in capsys.readouterr().err
    assert module._arguments([]).precision == "float32"  # float32 runs anywhere
    monkeypatch.setattr(step_ratio, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert module._arguments(["--precision", "bfloat16"]).precision == "bfloat16"


def test_paper_alpha_weighs_content_against_style_as_gatys_ratio_does(monkeypatch):
    """alpha * J_content / beta here equals ratio * sum((F - P)^2) / 2 (Gatys et al.'s
    content loss over their beta), on conv4_2 activations of two images at an odd size; the
    style losses of the two are the same formula."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from balance import paper_alpha

    from stylize import costs
    from stylize._tf import tf
    from stylize.vgg import build_vgg

    rng = np.random.default_rng(3)
    images = rng.uniform(-100, 100, (2, 1, 37, 53, 3)).astype(np.float32)
    weights = load_vgg19("random:2", "relu4_2")
    with tf.Graph().as_default():
        nets = [build_vgg(weights, tf.constant(x), "avg", "relu4_2")["conv4_2"] for x in images]
        with tf.Session() as session:
            notebook, (f, p) = session.run([costs.content_cost(*nets), nets])
    gatys = 0.5 * np.sum((f.astype(np.float64) - p) ** 2)
    for ratio in (1e-3, 1e-4):
        alpha = paper_alpha(37, 53, ratio, beta=40.0)
        assert alpha * notebook / 40.0 == pytest.approx(ratio * gatys, rel=1e-5)


def test_layout_kept_is_one_for_the_content_and_minus_one_for_its_negative(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from balance import layout_kept

    content = np.random.default_rng(4).uniform(0, 255, (30, 40))
    assert layout_kept(content, content, 2.0) == pytest.approx(1.0)
    assert layout_kept(255 - content, content, 2.0) == pytest.approx(-1.0)
    assert layout_kept(0.5 * content + 7, content, 2.0) == pytest.approx(1.0)  # any contrast
    unrelated = np.random.default_rng(5).uniform(0, 255, (30, 40))
    assert abs(layout_kept(unrelated, content, 2.0)) < 0.3


def test_the_balance_benchmark_scores_each_run_and_writes_the_sheet(tmp_path):
    sheet = tmp_path / "sheet.png"
    kept = "kept=--init content --iterations 1 --learning-rate 1e-3"
    paper = "paper=--optimizer lbfgs --iterations 2 --alpha {paper_1e-3}"
    report = run_benchmark("balance.py", "--size", "48", "--weights", "random-tiny",
                           "--run", kept, "--run", paper, "--sheet", sheet)  # fmt: skip
    assert report["size"] == "48x32"
    kept_run, paper_run = report["runs"]
    assert (kept_run["label"], paper_run["label"]) == ("kept", "paper")
    assert paper_run["options"].endswith(f"--alpha {report['paper_alpha']['paper_1e-3']}")
    for run in report["runs"]:
        assert all(positive(run[key]) for key in ("J", "J_style", "seconds"))
    assert kept_run["layout"] > 0.99  # one tiny step from the content itself
    assert abs(report["style_image_layout"]) < kept_run["layout"]
    with Image.open(sheet) as picture:
        assert picture.size == (3 * 48, 32)  # the content, then both outputs
