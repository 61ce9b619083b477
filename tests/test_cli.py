"""The command line, through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import require_bfloat16_tensorflow
from PIL import Image

from stylize import __version__
from stylize.cli import main


@pytest.fixture
def runner():
    return CliRunner()


def _args(vgg_file, image_files, *extra):
    return [
        "run",
        "--content",
        str(image_files["content"]),
        "--style",
        str(image_files["style"]),
        "--weights",
        str(vgg_file),
        *extra,
    ]


def test_version_and_help(runner):
    assert runner.invoke(main, ["--version"]).output.strip().endswith(__version__)
    help_text = runner.invoke(main, ["run", "--help"]).output
    for option in ["--content", "--style", "--output", "--weights", "--iterations",
                   "--learning-rate", "--alpha", "--beta", "--content-ratio", "--noise-ratio",
                   "--pooling", "--max-size", "--seed", "--device", "--save-every", "--overwrite",
                   "--quiet", "--json", "--bit-depth"]:  # fmt: skip
        assert option in help_text


def test_contact_sheet_help_says_the_extension_picks_the_format(runner):
    help_text = " ".join(runner.invoke(main, ["run", "--help"]).output.split())
    assert "--contact-sheet PATH Write an image of content, styles" in help_text
    assert "PNG, JPEG, TIFF, WebP or BMP, as its extension says" in help_text


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["run", "--help"], ["video", "--help"], ["weights", "--help"]],
)
def test_help_and_version_do_not_import_tensorflow(args):
    code = (
        "import sys; from click.testing import CliRunner; from stylize.cli import main;"
        f"r = CliRunner().invoke(main, {args!r}); assert r.exit_code == 0, r.output;"
        "print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_run_writes_an_image_of_the_output_size_and_lowers_j(
    runner, vgg_file, image_files, tmp_path
):
    output = tmp_path / "out.png"
    args = _args(vgg_file, image_files, "-o", str(output), "--iterations", "25", "--seed", "1")
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert Image.open(output).size == (32, 24)
    assert (summary["width"], summary["height"], summary["iterations"]) == (32, 24, 25)
    assert summary["output"] == str(output)
    assert summary["seed"] == 1 and summary["seconds"] > 0 and summary["setup_seconds"] > 0
    assert summary["J"] == pytest.approx(
        10 * summary["J_content"] + 40 * summary["J_style"], rel=1e-4
    )
    start = _json_run(runner, vgg_file, image_files, tmp_path / "one.png", "--iterations", "1")
    assert summary["J"] < start["J"]


def _json_run(runner, vgg_file, image_files, output, *extra):
    result = runner.invoke(
        main, [*_args(vgg_file, image_files, "-o", str(output), "--seed", "1", *extra), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_bfloat16_runs_end_to_end_and_is_reported(runner, vgg_file, image_files, tmp_path,
                                                  monkeypatch):  # fmt: skip
    from stylize import device

    require_bfloat16_tensorflow()
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    exact = _json_run(runner, vgg_file, image_files, tmp_path / "f.png", "--iterations", "8")
    half = _json_run(runner, vgg_file, image_files, tmp_path / "b.png", "--iterations", "8",
                     "--precision", "bfloat16")  # fmt: skip
    assert exact["settings"]["precision"] == "float32"
    assert half["settings"]["precision"] == "bfloat16"
    assert half["J"] == pytest.approx(exact["J"], rel=0.05)
    assert half["J"] != exact["J"]


@pytest.mark.parametrize("flags, ran", [({"avx512_bf16"}, "bfloat16"), ({"avx2"}, "float32")])
def test_auto_precision_says_which_precision_ran(runner, vgg_file, image_files, tmp_path,
                                                 monkeypatch, flags, ran):  # fmt: skip
    from stylize import device

    if ran == "bfloat16":
        require_bfloat16_tensorflow()
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset(flags))
    auto = _json_run(runner, vgg_file, image_files, tmp_path / "a.png", "--iterations", "3",
                     "--precision", "auto")  # fmt: skip
    same = _json_run(runner, vgg_file, image_files, tmp_path / "s.png", "--iterations", "3",
                     "--precision", ran)  # fmt: skip
    assert auto["settings"]["precision"] == "auto" and auto["precision"] == ran
    assert same["precision"] == ran and auto["J"] == same["J"]


def test_a_content_ratio_runs_as_the_alpha_it_stands_for_at_the_output_size(
    runner, vgg_file, image_files, tmp_path
):
    from stylize.weights import load_vgg19

    layer = {x.name: x for x in load_vgg19(vgg_file, "relu4_2").layers}["conv4_2"]
    positions = 3 * 4  # conv4_2 of 24x32: three poolings, each halving the sides
    ratio = 2000.0
    alpha = ratio * 40 * 2 * positions * layer.kernel.shape[-1]
    paper = _json_run(runner, vgg_file, image_files, tmp_path / "p.png", "--iterations", "6",
                      "--content-ratio", str(ratio))  # fmt: skip
    same = _json_run(runner, vgg_file, image_files, tmp_path / "a.png", "--iterations", "6",
                     "--alpha", repr(alpha))  # fmt: skip
    assert paper["settings"]["content_ratio"] == ratio and same["settings"]["content_ratio"] is None
    assert paper["J"] == pytest.approx(same["J"], rel=1e-4)
    assert paper["J"] == pytest.approx(alpha * paper["J_content"] + 40 * paper["J_style"], rel=1e-4)
    assert alpha * paper["J_content"] > 0.2 * paper["J"]  # the content weighs
    a, b = (np.asarray(Image.open(tmp_path / n), np.int16) for n in ("p.png", "a.png"))
    assert np.abs(a - b).max() <= 1


def test_progress_goes_to_stderr_and_quiet_silences_it(runner, vgg_file, image_files, tmp_path):
    args = _args(vgg_file, image_files, "-o", str(tmp_path / "a.png"), "--iterations", "4")
    loud = runner.invoke(main, args)
    assert loud.exit_code == 0
    assert "iteration 4/4" in loud.stderr and "it/s" in loud.stderr
    assert loud.stdout.strip() == str(tmp_path / "a.png")
    quiet = runner.invoke(main, [*_args(vgg_file, image_files, "-o", str(tmp_path / "b.png"),
                                        "--iterations", "4"), "--quiet"])  # fmt: skip
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_max_size_scales_the_content_down(runner, vgg_file, image_files, tmp_path):
    summary = _json_run(runner, vgg_file, image_files, tmp_path / "s.jpg", "--iterations", "1",
                        "--max-size", "24")  # fmt: skip
    assert (summary["width"], summary["height"]) == (24, 18)
    assert Image.open(tmp_path / "s.jpg").format == "JPEG"


def test_default_output_name_in_the_current_folder(
    runner, vgg_file, image_files, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, [*_args(vgg_file, image_files, "--iterations", "1"), "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "content_style.png").is_file()


def test_existing_output_needs_overwrite(runner, vgg_file, image_files, tmp_path):
    output = tmp_path / "o.png"
    output.write_bytes(b"precious")
    args = _args(vgg_file, image_files, "-o", str(output), "--iterations", "1")
    refused = runner.invoke(main, args)
    assert refused.exit_code == 2 and "--overwrite" in refused.stderr
    assert output.read_bytes() == b"precious"
    assert runner.invoke(main, [*args, "--overwrite", "-q"]).exit_code == 0
    assert Image.open(output).size == (32, 24)


def test_save_every_writes_checkpoints(runner, vgg_file, image_files, tmp_path):
    output = tmp_path / "r.png"
    args = _args(vgg_file, image_files, "-o", str(output), "--iterations", "6", "--save-every", "3")
    assert runner.invoke(main, [*args, "-q"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png", "r_00003.png", "r_00006.png"]


def test_a_big_output_is_made_coarse_to_fine_unless_scales_says_otherwise(
    runner, vgg_file, image_files, tmp_path
):
    content = tmp_path / "big.png"
    Image.open(image_files["content"]).resize((1100, 825)).save(content)
    base = ["run", "--content", str(content), "--style", str(image_files["style"]), "--weights",
            str(vgg_file), "--max-size", "1100", "--iterations", "3", "--seed", "1",
            "--json"]  # fmt: skip
    found = {}
    for name, extra in (("auto", []), ("one", ["--scales", "1"])):
        result = runner.invoke(main, [*base, "-o", str(tmp_path / f"{name}.png"), *extra])
        assert result.exit_code == 0, result.output
        found[name] = json.loads(result.stdout)["schedule"]
    fine = 2.0 * (1024 / 1100) ** 2  # schedule.scale_learning_rates
    assert found["auto"] == [
        {"width": 550, "height": 412, "iterations": 2, "learning_rate": 2.0},
        {"width": 1100, "height": 825, "iterations": 1, "learning_rate": pytest.approx(fine)},
    ]
    assert found["one"] == [{"width": 1100, "height": 825, "iterations": 3, "learning_rate": 2.0}]


SHALLOW_LAYERS = ("--content-layers", "conv2_2", "--style-layers", "conv1_1,conv2_1")


def test_tile_size_computes_in_tiles_and_makes_the_one_pass_image(
    runner, vgg_file, image_files, tmp_path
):
    whole = _json_run(runner, vgg_file, image_files, tmp_path / "a.png", "--iterations", "4",
                      *SHALLOW_LAYERS)  # fmt: skip
    result = runner.invoke(main, [*_args(vgg_file, image_files, "-o", str(tmp_path / "b.png"),
                                         "--seed", "1", "--iterations", "4", *SHALLOW_LAYERS,
                                         "--tile-size", "16"), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    tiled = json.loads(result.stdout)
    assert whole["tiling"] is None and tiled["tiling"] == {"core": 16, "tiles": 4}
    assert tiled["settings"]["tile_size"] == 16
    assert "32x24: J and its gradient computed in 4 tiles of at most 16 px" in result.stderr
    a, b = (np.asarray(Image.open(tmp_path / n), np.int16) for n in ("a.png", "b.png"))
    assert np.abs(a - b).mean() < 0.01
    assert tiled["J"] == pytest.approx(whole["J"], rel=1e-4)


def test_a_tile_size_below_16_is_refused(runner, vgg_file, image_files, tmp_path):
    result = runner.invoke(main, _args(vgg_file, image_files, "-o", str(tmp_path / "r.png"),
                                       "--tile-size", "8"))  # fmt: skip
    assert result.exit_code == 2
    assert "--tile-size must be 0 (automatic) or at least 16, got 8" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_bit_depth_16_writes_16bit_images_and_checkpoints_with_the_costs_of_the_image(
    runner, vgg_file, image_files, tmp_path
):
    output, sheet = tmp_path / "r.tif", tmp_path / "sheet.png"
    summary = _json_run(runner, vgg_file, image_files, output, "--iterations", "4",
                        "--bit-depth", "16", "--save-every", "2", "--contact-sheet",
                        str(sheet))  # fmt: skip
    assert summary["settings"]["bit_depth"] == 16
    written = {name: cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED)
               for name in ("r.tif", "r_00002.tif", "r_00004.tif")}  # fmt: skip
    assert all(image.dtype == np.uint16 for image in written.values())
    image = written["r.tif"][:, :, ::-1]
    assert np.count_nonzero(image % 257) > image.size // 2  # levels between 8-bit ones
    with Image.open(sheet) as drawn:
        assert drawn.mode == "RGB"  # the contact sheet stays an 8-bit picture
    eight = _json_run(runner, vgg_file, image_files, tmp_path / "e.png", "--iterations", "4")
    assert np.abs(image / 257 - np.asarray(Image.open(tmp_path / "e.png"))).max() <= 1.0
    assert summary["J"] != eight["J"]  # each is the J of its own rounding


def test_bit_depth_16_reads_a_16bit_content_whole(runner, vgg_file, image_files, tmp_path):
    rng = np.random.default_rng(8)
    deep = rng.integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    content, mask = tmp_path / "deep.png", tmp_path / "mask.png"
    assert cv2.imwrite(str(content), deep[:, :, ::-1])
    black_left = np.full((24, 32), 255, np.uint8)
    black_left[:, :12] = 0
    Image.fromarray(black_left).save(mask)
    args = ["run", "--content", str(content), "--style", str(image_files["style"]),
            "--weights", str(vgg_file), "--iterations", "2", "--mask", str(mask),
            "--preserve-colors", "luminance"]  # fmt: skip
    result = runner.invoke(main, [*args, "--bit-depth", "16", "-o", str(tmp_path / "r.png")])
    assert result.exit_code == 0, result.output
    written = cv2.imread(str(tmp_path / "r.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    np.testing.assert_array_equal(written[:, :12], deep[:, :12])  # every bit of the content
    result = runner.invoke(main, [*args, "-o", str(tmp_path / "e.png")])
    assert result.exit_code == 0, result.output
    eight = np.asarray(Image.open(tmp_path / "e.png"))
    np.testing.assert_array_equal(eight[:, :12], deep[:, :12] >> 8)  # Pillow's 8-bit read


@pytest.mark.parametrize("name", ["r.jpg", "r.webp", "r.bmp"])
def test_bit_depth_16_refuses_an_8bit_format_before_any_work(
    runner, vgg_file, image_files, tmp_path, name
):
    args = _args(vgg_file, image_files, "-o", str(tmp_path / name), "--bit-depth", "16")
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"Error: output image '{tmp_path}")
    assert "--bit-depth 16 writes PNG or TIFF" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_seed_reproduces_the_file_byte_for_byte(runner, vgg_file, image_files, tmp_path):
    for name in ("a.png", "b.png"):
        _json_run(runner, vgg_file, image_files, tmp_path / name, "--iterations", "3")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    other = tmp_path / "c.png"
    runner.invoke(main, [*_args(vgg_file, image_files, "-o", str(other), "--iterations", "3",
                                "--seed", "2"), "-q"])  # fmt: skip
    assert not np.array_equal(
        np.asarray(Image.open(other)), np.asarray(Image.open(tmp_path / "a.png"))
    )


def test_without_seed_the_drawn_seed_is_reported(runner, vgg_file, image_files, tmp_path):
    args = _args(vgg_file, image_files, "-o", str(tmp_path / "r.png"), "--iterations", "1")
    summary = json.loads(runner.invoke(main, [*args, "--json"]).stdout)
    assert isinstance(summary["seed"], int) and summary["settings"]["seed"] == summary["seed"]


def test_missing_weights_says_how_to_download(runner, image_files, tmp_path):
    result = runner.invoke(main, _args(tmp_path / "none.mat", image_files, "-o",
                                       str(tmp_path / "x.png")))  # fmt: skip
    assert result.exit_code == 2
    assert "download_vgg19.sh" in result.stderr and "none.mat" in result.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--iterations", "-3"], "--iterations"),
        (["--learning-rate", "0"], "--learning-rate"),
        (["--noise-ratio", "1.5"], "--noise-ratio"),
        (["--iterations", "many"], "--iterations"),
        (["--pooling", "median"], "--pooling"),
        (["--max-size", "16"], "--max-size"),  # 32x24 -> 16x12, under 16 px
    ],
)
def test_bad_options_exit_2_naming_the_option(
    runner, vgg_file, image_files, tmp_path, extra, needle
):
    result = runner.invoke(
        main, _args(vgg_file, image_files, "-o", str(tmp_path / "x.png"), *extra)
    )
    assert result.exit_code == 2
    assert needle in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- as a real subprocess ------------------------------------------------------------------


def _stylize(*args, cwd=None):
    env = {**os.environ, "STYLIZE_WEIGHTS": ""}
    return subprocess.run(
        [sys.executable, "-m", "stylize", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_subprocess_run_and_json(vgg_file, image_files, tmp_path):
    output = tmp_path / "out.webp"
    done = _stylize(*_args(vgg_file, image_files, "-o", output, "--iterations", "3", "--json"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == str(output)
    assert Image.open(output).size == (32, 24)
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_subprocess_user_errors_are_one_line_without_traceback(vgg_file, image_files, tmp_path):
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("just text")
    cases = [
        (["--content", tmp_path / "missing.jpg"], "missing.jpg"),
        (["--content", not_an_image], "notes.jpg"),
        (["--weights", not_an_image], "notes.jpg"),
        (["-o", tmp_path / "nowhere" / "x.png"], "nowhere"),
        (["-o", tmp_path / "x.xyz"], "x.xyz"),
        (["--device", "gpu"], "--device"),
    ]
    base = {"--content": image_files["content"], "--style": image_files["style"],
            "--weights": vgg_file, "-o": tmp_path / "ok.png"}  # fmt: skip
    for override, needle in cases:
        options = {**base, **dict(zip(override[::2], override[1::2], strict=True))}
        args = ["run", "--iterations", "1", *[str(x) for kv in options.items() for x in kv]]
        done = _stylize(*args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, (override, done.stderr)
        assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0], lines
        assert not (tmp_path / "ok.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.jpg"]


def test_history_loss_plot_and_contact_sheet(runner, vgg_file, image_files, tmp_path):
    paths = {name: tmp_path / name for name in ("r.png", "h.jsonl", "loss.png", "sheet.png")}
    args = _args(vgg_file, image_files, "-o", str(paths["r.png"]), "--iterations", "8",
                 "--history", str(paths["h.jsonl"]), "--loss-plot", str(paths["loss.png"]),
                 "--contact-sheet", str(paths["sheet.png"]))  # fmt: skip
    result = runner.invoke(main, [*args, "-q"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in paths["h.jsonl"].read_text().splitlines()]
    assert [r["iteration"] for r in records] == list(range(1, 9))
    assert all(r["J"] > 0 and r["seconds"] > 0 for r in records)
    assert Image.open(paths["loss.png"]).size == (800, 500)
    sheet = Image.open(paths["sheet.png"])
    # content, style, three snapshots and the result, each scaled to 256 px high
    assert sheet.height > 256 and sheet.width > 6 * 256


# --- random weights: a smoke test without the download ----------------------------------------

WARNING = "warning: random VGG-19 weights: a smoke test, not the real network"


def test_random_weights_say_so_on_stderr_and_in_json(runner, image_files, tmp_path):
    args = ["run", "--content", str(image_files["content"]), "--style", str(image_files["style"]),
            "--weights", "random-tiny:4", "--iterations", "2", "-q", "--json",
            "-o", str(tmp_path / "r.png")]  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [WARNING]  # even with --quiet
    assert json.loads(result.stdout)["weights"] == "random-tiny:4"


def test_a_file_reports_its_path_as_weights(runner, vgg_file, image_files, tmp_path):
    result = runner.invoke(main, _args(vgg_file, image_files, "--iterations", "1", "--json",
                                       "-o", str(tmp_path / "r.png")))  # fmt: skip
    assert json.loads(result.stdout)["weights"] == str(vgg_file)
    assert WARNING not in result.stderr


def test_a_gif_content_is_read_and_an_animation_says_its_first_frame_is_used(
    runner, vgg_file, image_files, tmp_path
):
    content = Image.open(image_files["content"]).convert("RGB")
    moving = [content, content.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    animation = tmp_path / "moving.gif"
    moving[0].save(animation, save_all=True, append_images=moving[1:], duration=100)
    still = tmp_path / "still.gif"
    content.save(still)
    results = {}
    for gif in (animation, still):
        args = ["run", "--content", str(gif), "--style", str(image_files["style"]),
                "--weights", str(vgg_file), "--iterations", "1", "-q", "--seed", "1",
                "-o", str(tmp_path / f"{gif.stem}.png")]  # fmt: skip
        results[gif.stem] = result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    assert np.array_equal(np.array(Image.open(tmp_path / "moving.png")),
                          np.array(Image.open(tmp_path / "still.png")))  # fmt: skip
    assert results["moving"].stderr.splitlines() == [
        f"warning: content image '{animation}' has 2 frames; the first is used"
        " (stylize video stylizes each frame)"
    ]
    assert results["still"].stderr == ""


@pytest.mark.slow
def test_a_smoke_run_from_a_bare_checkout_through_the_console_script(tmp_path):
    """No weights folder, no cache, no STYLIZE_WEIGHTS: the README's CI smoke command."""
    images = Path(__file__).resolve().parent.parent / "images"
    for name in ("content.jpg", "style.jpg"):
        shutil.copy(images / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k != "STYLIZE_WEIGHTS"}
    env["STYLIZE_CACHE_DIR"] = str(tmp_path / "cache")
    console = Path(sys.executable).with_name("stylize")
    done = subprocess.run([str(console), "run", "--content", "content.jpg", "--style",
                           "style.jpg", "--weights", "random", "--max-size", "64",
                           "--iterations", "2", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["weights"] == "random:0" and summary["iterations"] == 2
    assert max(summary["width"], summary["height"]) == 64
    assert WARNING in done.stderr.splitlines()
    assert (tmp_path / summary["output"]).is_file() and not (tmp_path / "cache").exists()


# --- spatial control -------------------------------------------------------------------------


@pytest.fixture
def halves(tmp_path):
    left = np.zeros((24, 32), np.uint8)
    left[:, :16] = 255
    Image.fromarray(left).save(tmp_path / "left.png")
    Image.fromarray(255 - left).save(tmp_path / "right.png")
    return tmp_path / "left.png", tmp_path / "right.png"


def test_a_style_per_region_runs_and_is_reported(runner, vgg_file, image_files, tmp_path, halves):
    args = _args(vgg_file, image_files, "--style", str(image_files["content"]), "--style-mask",
                 str(halves[0]), "--style-mask", str(halves[1]), "--iterations", "3", "--json",
                 "-o", str(tmp_path / "r.png"))  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["style_masks"] == [str(halves[0]), str(halves[1])] and summary["mask"] is None
    assert Image.open(tmp_path / "r.png").size == (32, 24)


def test_style_masks_must_be_one_per_style(runner, vgg_file, image_files, tmp_path, halves):
    args = _args(vgg_file, image_files, "--style", str(image_files["content"]), "--style-mask",
                 str(halves[0]), "-o", str(tmp_path / "r.png"))  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert "--style-mask is given 1 time(s) for 2 --style image(s)" in result.stderr
    assert not (tmp_path / "r.png").exists()


@pytest.mark.parametrize("colors", ["none", "luminance"])
def test_the_mask_keeps_the_contents_pixels_where_black(
    runner, vgg_file, image_files, tmp_path, halves, colors
):
    args = _args(vgg_file, image_files, "--mask", str(halves[1]), "--iterations", "5",
                 "--preserve-colors", colors, "-o", str(tmp_path / "r.png"))  # fmt: skip
    assert runner.invoke(main, args).exit_code == 0
    out = np.asarray(Image.open(tmp_path / "r.png"))
    content = np.asarray(Image.open(image_files["content"]).convert("RGB"))
    np.testing.assert_array_equal(out[:, :15], content[:, :15])
    assert np.abs(out[:, 17:].astype(int) - content[:, 17:]).mean() > 1


def test_a_seeded_masked_run_is_reproduced_byte_for_byte(
    runner, vgg_file, image_files, tmp_path, halves
):
    outputs = [tmp_path / "a.png", tmp_path / "b.png"]
    for output in outputs:
        args = _args(vgg_file, image_files, "--style", str(image_files["content"]),
                     "--style-mask", str(halves[0]), "--style-mask", str(halves[1]),
                     "--mask", str(halves[1]), "--seed", "9", "--iterations", "4",
                     "-o", str(output))  # fmt: skip
        assert runner.invoke(main, args).exit_code == 0
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


def test_an_lbfgs_run_lists_no_adam_step_in_its_schedule(runner, vgg_file, image_files, tmp_path):
    content = tmp_path / "c.png"
    Image.open(image_files["content"]).resize((96, 72)).save(content)
    result = runner.invoke(main, ["run", "--content", str(content), "--style",
                                  str(image_files["style"]), "--weights", str(vgg_file), "-o",
                                  str(tmp_path / "l.png"), "--optimizer", "lbfgs", "--iterations",
                                  "10", "--scales", "2", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    schedule = json.loads(result.stdout)["schedule"]
    assert [stage["learning_rate"] for stage in schedule] == [None, None]
    assert [stage["width"] for stage in schedule] == [48, 96]


def test_scale_ratio_sets_the_coarse_size_and_keeps_the_shares(
    runner, vgg_file, image_files, tmp_path
):
    content = tmp_path / "c.png"
    Image.open(image_files["content"]).resize((128, 96)).save(content)
    result = runner.invoke(main, ["run", "--content", str(content), "--style",
                                  str(image_files["style"]), "--weights", str(vgg_file), "-o",
                                  str(tmp_path / "r.png"), "--optimizer", "lbfgs",
                                  "--iterations", "10", "--scales", "2", "--scale-ratio", "4",
                                  "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    schedule = [(s["width"], s["height"], s["iterations"]) for s in summary["schedule"]]
    assert schedule == [(32, 24, 2), (128, 96, 8)]
    assert summary["settings"]["scale_ratio"] == 4.0


@pytest.mark.parametrize("ratio", ["1", "20", "nan"])
def test_a_scale_ratio_out_of_range_is_refused_before_any_work(
    runner, vgg_file, image_files, tmp_path, ratio
):
    output = tmp_path / "r.png"
    result = runner.invoke(main, ["run", "--content", str(image_files["content"]), "--style",
                                  str(image_files["style"]), "--weights", str(vgg_file), "-o",
                                  str(output), "--scales", "2",
                                  "--scale-ratio", ratio])  # fmt: skip
    assert result.exit_code == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("Error: --scale-ratio must be between 1.25 and 16, got")
    assert "Traceback" not in result.output and not output.exists()


def test_a_run_stopped_before_its_last_scale_writes_the_scale_it_reached(
    runner, vgg_file, image_files, tmp_path, monkeypatch
):
    from stylize.optimize import TransferGraph

    real_features = TransferGraph.content_features

    def content_features(self, content):
        if content.shape[2] == 96:  # the full size: a Ctrl-C while its targets are computed
            raise KeyboardInterrupt
        return real_features(self, content)

    monkeypatch.setattr(TransferGraph, "content_features", content_features)
    content, output = tmp_path / "c.png", tmp_path / "out.png"
    Image.open(image_files["content"]).resize((96, 72)).save(content)
    result = runner.invoke(main, ["run", "--content", str(content), "--style",
                                  str(image_files["style"]), "--weights", str(vgg_file), "-o",
                                  str(output), "--iterations", "10", "--scales", "2",
                                  "--json"])  # fmt: skip
    assert result.exit_code == 130, result.output
    assert "at 48x36, the size of the scale it reached; the full size is 96x72" in result.stderr
    assert Image.open(output).size == (48, 36)
    summary = json.loads(result.stdout)
    assert (summary["width"], summary["height"], summary["iterations"]) == (48, 36, 2)
