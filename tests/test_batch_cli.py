"""``stylize batch`` end to end on tiny images: pairings, stdin, the manifest, failures,
resuming, exit codes, and a real process killed with SIGTERM and SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import require_bfloat16_tensorflow
from PIL import Image

from stylize.batch.driver import sha256_of
from stylize.cli import main

ITERATIONS = "3"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, gradient) -> Path:
    """c/: three 32x24 contents; s/: two styles; bad/: a corrupt and a too-small image."""
    root = tmp_path_factory.mktemp("batch_inputs")
    for name in ("c", "s", "bad"):
        (root / name).mkdir()
    for i in range(3):
        Image.fromarray(gradient(32, 24, i)).save(root / "c" / f"c{i}.png")
    for i in range(2):
        Image.fromarray(gradient(40, 40, 10 + i)[:, ::-1]).save(root / "s" / f"s{i}.png")
    data = (root / "c" / "c0.png").read_bytes()
    (root / "bad" / "cut.png").write_bytes(data[: len(data) // 3])
    Image.fromarray(gradient(12, 10, 5)).save(root / "bad" / "tiny.png")
    return root


def _batch(vgg_file, *args, input=None, iterations=ITERATIONS):
    """Invoke ``stylize batch`` in this process; return click's Result."""
    argv = ["batch", "--weights", str(vgg_file), "--iterations", iterations, *map(str, args)]
    return CliRunner().invoke(main, argv, input=input)


def _manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_all_pairs_write_every_output_and_one_manifest_line_each(vgg_file, inputs, tmp_path):
    out = tmp_path / "out"
    result = _batch(vgg_file, "--content", inputs / "c", "--style", inputs / "s", "--out", out,
                    "--seed", "4", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["jobs"], summary["done"], summary["skipped"], summary["failed"]) == (6, 6, 0, 0)
    expected = {f"c{i}_s{j}.png" for i in range(3) for j in range(2)}
    assert {p.name for p in out.glob("*.png")} == expected
    assert all(Image.open(out / name).size == (32, 24) for name in expected)
    records = _manifest(out)
    assert {r["output"] for r in records} == expected and len(records) == 6
    for record in records:
        assert record["status"] == "ok" and record["error"] is None
        assert record["content_sha256"] == sha256_of(Path(record["content"]))
        assert record["style_sha256"] == sha256_of(Path(record["style"]))
        assert record["J"] == pytest.approx(10 * record["J_content"] + 40 * record["J_style"],
                                            rel=1e-4)  # fmt: skip
        assert record["seed"] == 4 and record["settings"]["seed"] == 4
        assert record["weights"] == str(vgg_file)
        assert record["settings"]["iterations"] == 3 and record["iterations"] == 3
        assert record["seconds"] > 0 and (record["width"], record["height"]) == (32, 24)
    assert "job 6/6" in result.stderr
    assert "batch: 6 jobs: 6 done, 0 skipped, 0 failed" in result.stderr


def test_a_signal_while_an_output_is_written_keeps_that_job_written_and_recorded(
    vgg_file, inputs, tmp_path, sigterm_while_writing
):
    sigterm_while_writing()
    out = tmp_path / "out"
    result = _batch(vgg_file, "--content", inputs / "c" / "c0.png", "--style", inputs / "s",
                    "--out", out, "--jobs", "1")  # fmt: skip
    assert result.exit_code == 143, result.output
    (record,) = _manifest(out)
    assert record["status"] == "ok" and record["iterations"] == int(ITERATIONS)
    assert {p.name for p in out.iterdir()} == {record["output"], "manifest.jsonl"}
    with Image.open(out / record["output"]) as image:
        image.load()


def test_a_rerun_skips_finished_jobs_and_force_redoes_them(vgg_file, inputs, tmp_path):
    out = tmp_path / "out"
    args = ["--content", inputs / "c" / "c0.png", "--style", inputs / "s", "--out", out]
    assert _batch(vgg_file, *args).exit_code == 0
    first = (out / "c0_s0.png").stat().st_mtime_ns
    again = _batch(vgg_file, *args)
    assert again.exit_code == 0 and "0 done, 2 skipped, 0 failed" in again.stderr
    assert len(_manifest(out)) == 2 and (out / "c0_s0.png").stat().st_mtime_ns == first
    forced = _batch(vgg_file, *args, "--force")
    assert forced.exit_code == 0 and "2 done, 0 skipped" in forced.stderr
    assert len(_manifest(out)) == 4
    changed = _batch(vgg_file, *args, iterations="4")  # other settings: not finished
    assert "2 done, 0 skipped" in changed.stderr
    assert [r["iterations"] for r in _manifest(out)][-2:] == [4, 4]


def test_inputs_of_several_frames_are_named_in_one_line_for_the_jobs_that_run(
    vgg_file, inputs, tmp_path, gradient
):
    folder = tmp_path / "c"
    folder.mkdir()
    frames = [Image.fromarray(gradient(32, 24, i)) for i in range(3)]
    for name in ("a.gif", "b.webp", "c.tif", "d.png"):
        frames[0].save(folder / name, save_all=True, append_images=frames[1:], duration=100)
    frames[0].save(folder / "still.gif")
    out = tmp_path / "out"
    args = ("--content", folder, "--style", inputs / "s" / "s0.png", "--out", out, "-q")
    result = _batch(vgg_file, *args, iterations="1")
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.png"))) == 5  # the still GIF too
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert warnings == [f"warning: '{folder / 'a.gif'}', '{folder / 'b.webp'}',"
                        f" '{folder / 'c.tif'}' and 1 more hold several frames or pages;"
                        " the first is used"]  # fmt: skip
    (out / "a_s0.png").unlink()  # that job alone is run again
    again = _batch(vgg_file, *args, iterations="1")
    assert again.exit_code == 0, again.output
    assert f"warning: '{folder / 'a.gif'}' holds several frames or pages; the first is used" in (
        again.stderr.splitlines())  # fmt: skip
    done = _batch(vgg_file, *args, iterations="1")
    assert "warning" not in done.stderr  # nothing left to run
    started = _batch(vgg_file, "--content", folder / "still.gif", "--style",
                     inputs / "s" / "s0.png", "--out", tmp_path / "init", "--init",
                     folder / "d.png", iterations="1")  # fmt: skip
    assert started.exit_code == 0, started.output
    assert (f"warning: '{folder / 'd.png'}' holds several frames or pages; the first is used"
            in started.stderr.splitlines())  # fmt: skip


def test_a_bad_image_fails_its_jobs_only(vgg_file, inputs, tmp_path):
    out = tmp_path / "out"
    args = ["--content", inputs / "c" / "c1.png", "--content", inputs / "bad" / "cut.png",
            "--content", inputs / "bad" / "tiny.png", "--style", inputs / "s" / "s0.png",
            "--out", out, "--json"]  # fmt: skip
    result = _batch(vgg_file, *args)
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["failed"] == 2
    assert "batch: 3 jobs: 1 done, 0 skipped, 2 failed" in result.stderr
    by_output = {r["output"]: r for r in _manifest(out)}
    assert by_output["c1_s0.png"]["status"] == "ok"
    assert by_output["cut_s0.png"]["status"] == "failed"
    assert "cut.png" in by_output["cut_s0.png"]["error"]
    assert "too small" in by_output["tiny_s0.png"]["error"]
    assert by_output["cut_s0.png"]["J"] is None
    assert sorted(p.name for p in out.glob("*.png")) == ["c1_s0.png"]
    rerun = _batch(vgg_file, *args)  # failed jobs are tried again, finished ones skipped
    assert rerun.exit_code == 1 and "0 done, 1 skipped, 2 failed" in rerun.stderr


def test_csv_pairs_with_and_without_the_output_column(vgg_file, inputs, tmp_path):
    csv_file = tmp_path / "pairs.csv"
    c, s = inputs / "c", inputs / "s"
    csv_file.write_text(f"content,style,output\n{c / 'c0.png'},{s / 's1.png'}\n"
                        f"{c / 'c2.png'},{s / 's0.png'},styled/two.jpg\n")  # fmt: skip
    out = tmp_path / "out"
    result = _batch(vgg_file, "--pairs", csv_file, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "c0_s1.png").is_file() and (out / "styled" / "two.jpg").is_file()
    assert {r["output"] for r in _manifest(out)} == {"c0_s1.png", "styled/two.jpg"}
    mixed = _batch(vgg_file, "--pairs", csv_file, "--content", c, "--out", out)
    assert mixed.exit_code == 2 and "--pairs" in mixed.stderr


def test_content_paths_from_stdin_and_a_template(vgg_file, inputs, tmp_path):
    out = tmp_path / "out"
    lines = f"{inputs / 'c' / 'c2.png'}\n\n{inputs / 'c' / 'c0.png'}\n"
    result = _batch(vgg_file, "--content", "-", "--style", inputs / "s" / "s1.png", "--out", out,
                    "--template", "{style}/{content}.jpg", input=lines)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "s1").iterdir()) == ["c0.jpg", "c2.jpg"]


def test_a_seeded_job_matches_stylize_run(vgg_file, inputs, tmp_path):
    content, style = inputs / "c" / "c1.png", inputs / "s" / "s1.png"
    out = tmp_path / "out"
    assert _batch(vgg_file, "--content", content, "--style", style, "--out", out,
                  "--seed", "9").exit_code == 0  # fmt: skip
    single = tmp_path / "single.png"
    run = CliRunner().invoke(main, ["run", "--content", str(content), "--style", str(style),
                                    "--weights", str(vgg_file), "--iterations", ITERATIONS,
                                    "--seed", "9", "-o", str(single), "-q"])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert (out / "c1_s1.png").read_bytes() == single.read_bytes()


def test_16bit_jobs_match_stylize_run_and_an_8bit_record_is_not_taken_for_them(
    vgg_file, inputs, tmp_path
):
    content, style = inputs / "c" / "c1.png", inputs / "s" / "s1.png"
    out = tmp_path / "out"
    args = ["--content", content, "--style", style, "--out", out, "--seed", "9",
            "--template", "{content}.tif"]  # fmt: skip
    assert _batch(vgg_file, *args).exit_code == 0
    result = _batch(vgg_file, *args, "--bit-depth", "16")
    assert result.exit_code == 0 and "1 done, 0 skipped" in result.stderr, result.stderr
    single = tmp_path / "single.tif"
    run = CliRunner().invoke(main, ["run", "--content", str(content), "--style", str(style),
                                    "--weights", str(vgg_file), "--iterations", ITERATIONS,
                                    "--seed", "9", "--bit-depth", "16",
                                    "-o", str(single)])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert (out / "c1.tif").read_bytes() == single.read_bytes()
    assert _manifest(out)[-1]["settings"]["bit_depth"] == 16


def test_16bit_jobs_keep_a_16bit_contents_every_bit(vgg_file, inputs, tmp_path):
    folder, masks = tmp_path / "deep", tmp_path / "masks"
    folder.mkdir(), masks.mkdir()
    deep = np.random.default_rng(9).integers(0, 65536, (24, 32, 3), dtype=np.uint16)
    assert cv2.imwrite(str(folder / "d.tif"), deep[:, :, ::-1])
    black_left = np.full((24, 32), 255, np.uint8)
    black_left[:, :12] = 0
    Image.fromarray(black_left).save(masks / "d.png")
    out = tmp_path / "out"
    result = _batch(vgg_file, "--content", folder, "--style", inputs / "s" / "s0.png", "--out",
                    out, "--mask-template", f"{masks}/{{content}}.png", "--bit-depth", "16",
                    "--template", "{content}.png")  # fmt: skip
    assert result.exit_code == 0, result.output
    written = cv2.imread(str(out / "d.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    np.testing.assert_array_equal(written[:, :12], deep[:, :12])


def test_a_torn_manifest_line_and_a_stale_temporary_are_cleaned_up(vgg_file, inputs, tmp_path):
    out = tmp_path / "out"
    args = ["--content", inputs / "c" / "c0.png", "--style", inputs / "s", "--out", out]
    assert _batch(vgg_file, *args).exit_code == 0
    with open(out / "manifest.jsonl", "a") as manifest:
        manifest.write('{"content": "c/c0.png", "sty')
    (out / ".c0_s0.png.k3j2h1.tmp").write_bytes(b"half an image")
    result = _batch(vgg_file, *args)
    assert result.exit_code == 0 and "incomplete last line" in result.stderr
    assert "0 done, 2 skipped" in result.stderr
    assert not list(out.glob(".*.tmp"))
    assert len(_manifest(out)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--content", "{c}", "--style", "{s}"], "Missing option '--out'"),
        (["--content", "{c}/absent.png", "--style", "{s}", "--out", "{o}"], "absent.png"),
        (["--content", "{c}", "--out", "{o}"], "no style images"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--address", "auto"],
         "--address is for --executor ray"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--template", "{{x}}.png"],
         "unknown field {x}"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--template", "same.png"],
         "two jobs write"),
        (["--content", "{c}", "--style", "{s}", "--out", "{c}"], "also an input folder"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--iterations", "0"],
         "--iterations"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--init", "{o}/absent.png"],
         "--init image"),
        # the hardening issue: F1b, F10, F11, F12, F18
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--style-layers", "relu7"],
         "unknown layer 'relu7'"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--template",
          "{{content:>300}}.png"], "bytes long"),
        (["--content", "/dev/zero", "--style", "{s}", "--out", "{o}"], "not a regular file"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--template", "{{content:d}}.png"],
         "--template"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--weights", "{o}.mat"],
         "does not exist"),
        (["--content", "{c}", "--style", "{s}", "--out", "{o}", "--bit-depth", "16",
          "--template", "{{content}}_{{style}}.jpg"], "--bit-depth 16 writes PNG or TIFF"),
    ],
)  # fmt: skip
def test_bad_usage_exits_2_with_one_line(vgg_file, inputs, tmp_path, args, message):
    values = {"c": inputs / "c", "s": inputs / "s", "o": tmp_path / "out"}
    argv = ["batch", "--weights", str(vgg_file), *[a.format(**values) for a in args]]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing created before the refusal


@pytest.mark.parametrize("flags, refused", [({"avx2"}, True), ({"avx2", "avx512_bf16"}, False)])
def test_bfloat16_on_a_cpu_without_it_is_refused_before_the_out_folder(
    vgg_file, inputs, tmp_path, monkeypatch, flags, refused
):
    from stylize import cpu, device

    # the batch command reads stylize.cpu's, the worker's device check stylize.device's
    if not refused:
        require_bfloat16_tensorflow()
    monkeypatch.setattr(cpu, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset(flags))
    out = tmp_path / "out"
    result = _batch(vgg_file, "--content", inputs / "c" / "c0.png", "--style", inputs / "s",
                    "--out", out, "--device", "cpu", "--precision", "bfloat16")  # fmt: skip
    if refused:
        assert result.exit_code == 2
        assert result.stderr.strip().splitlines() == [
            "Error: --precision bfloat16: this CPU has no native bfloat16 arithmetic (AVX512_BF16,"
            " AMX or Arm BF16), so it would run slower than float32; use --precision float32"
        ]
        assert not out.exists()
    else:
        assert result.exit_code == 0, result.output
        assert [job["settings"]["precision"] for job in _manifest(out)] == ["bfloat16"] * 2
        assert [job["precision"] for job in _manifest(out)] == ["bfloat16"] * 2


@pytest.mark.parametrize("flags, ran", [({"avx512_bf16"}, "bfloat16"), ({"avx2"}, "float32")])
def test_each_job_records_the_precision_auto_ran(vgg_file, inputs, tmp_path, monkeypatch,
                                                 flags, ran):  # fmt: skip
    from stylize import device

    if ran == "bfloat16":
        require_bfloat16_tensorflow()
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset(flags))
    out = tmp_path / "out"
    result = _batch(vgg_file, "--content", inputs / "c" / "c0.png", "--style", inputs / "s",
                    "--out", out, "--device", "cpu", "--precision", "auto")  # fmt: skip
    assert result.exit_code == 0, result.output
    jobs = _manifest(out)
    assert [job["settings"]["precision"] for job in jobs] == ["auto"] * 2
    assert [job["precision"] for job in jobs] == [ran] * 2


def test_a_bad_weights_file_stops_before_any_job(inputs, tmp_path):
    weights = tmp_path / "broken.mat"
    weights.write_bytes(b"MATLAB 5.0 MAT-file, but cut short")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["batch", "--weights", str(weights), "--content",
                                       str(inputs / "c"), "--style", str(inputs / "s"),
                                       "--out", str(out)])  # fmt: skip
    assert result.exit_code == 2 and "broken.mat" in result.stderr
    assert not out.exists()  # validated before the folder and its manifest are made


@pytest.mark.slow
def test_two_worker_processes_give_the_same_images(vgg_file, inputs, tmp_path):
    args = ["--content", inputs / "c", "--style", inputs / "s" / "s0.png", "--seed", "2"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert _batch(vgg_file, *args, "--out", one).exit_code == 0
    result = _batch(vgg_file, *args, "--out", two, "--jobs", "2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["workers"] == 2
    for image in one.glob("*.png"):
        assert (two / image.name).read_bytes() == image.read_bytes()


def _start(vgg_file, inputs, out: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "stylize", "batch", "--weights", str(vgg_file),
            "--content", str(inputs / "c"), "--content", str(inputs / "s"),
            "--style", str(inputs / "s"), "--out", str(out), "--iterations", "150",
            "--seed", "1", "--device", "cpu"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_lines(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    manifest = out / "manifest.jsonl"
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.exists() and len(manifest.read_bytes().splitlines()) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"no {count} manifest lines; exit {process.poll()}")


@pytest.mark.slow
def test_killed_runs_resume_to_a_complete_folder(vgg_file, inputs, tmp_path):
    out = tmp_path / "out"
    process = _start(vgg_file, inputs, out)  # 5 contents x 2 styles = 10 jobs
    _wait_for_lines(out, 1, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Stopped by SIGTERM" in stderr and "run the same command again" in stderr
    stopped_at = len(_manifest(out))
    process = _start(vgg_file, inputs, out)
    _wait_for_lines(out, stopped_at + 1, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    killed_at = (out / "manifest.jsonl").read_bytes().count(b"\n")  # complete lines
    process = _start(vgg_file, inputs, out)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert f"{killed_at} skipped" in stderr and "0 failed" in stderr
    records = _manifest(out)
    expected = {f"{c}_{s}.png" for c in ("c0", "c1", "c2", "s0", "s1") for s in ("s0", "s1")}
    assert {r["output"] for r in records} == expected
    assert all(r["status"] == "ok" for r in records)
    assert len(records) == len(expected)  # each job recorded once
    assert {p.name for p in out.iterdir()} == expected | {"manifest.jsonl"}
    for name in expected:
        with Image.open(out / name) as image:
            image.load()  # complete, not truncated


def test_many_output_sizes_in_one_worker(vgg_file, tmp_path, gradient):
    """More sizes than a worker keeps graphs for: it drops them and goes on."""
    folder = tmp_path / "sizes"
    folder.mkdir()
    for width in range(20, 40, 4):
        Image.fromarray(gradient(width, 18, width)).save(folder / f"w{width}.png")
    style = tmp_path / "style.png"
    Image.fromarray(gradient(30, 30, 1)).save(style)
    result = _batch(vgg_file, "--content", folder, "--style", style, "--out", tmp_path / "out",
                    "--json", iterations="2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 5
    sizes = {(r["width"], r["height"]) for r in _manifest(tmp_path / "out")}
    assert sizes == {(width, 18) for width in range(20, 40, 4)}


def test_a_mask_per_content_keeps_its_black_pixels_and_counts_for_resuming(
    vgg_file, inputs, tmp_path
):
    masks = tmp_path / "masks"
    masks.mkdir()
    black_left = np.full((24, 32), 255, np.uint8)
    black_left[:, :12] = 0
    for name in ("c0", "c1"):
        Image.fromarray(black_left).save(masks / f"{name}.png")
    out = tmp_path / "out"
    args = ["--content", inputs / "c", "--style", inputs / "s" / "s0.png", "--out", out,
            "--mask-template", f"{masks}/{{content}}.png", "--seed", "1"]  # fmt: skip
    result = _batch(vgg_file, *args)
    assert result.exit_code == 1  # c2 has no mask: its job fails, the others run
    records = {r["output"]: r for r in _manifest(out)}
    assert records["c2_s0.png"]["status"] == "failed" and "--mask" in records["c2_s0.png"]["error"]
    for name in ("c0", "c1"):
        written = np.asarray(Image.open(out / f"{name}_s0.png"))
        content = np.asarray(Image.open(inputs / "c" / f"{name}.png").convert("RGB"))
        np.testing.assert_array_equal(written[:, :11], content[:, :11])
        assert records[f"{name}_s0.png"]["mask_sha256"] == sha256_of(masks / f"{name}.png")
    Image.fromarray(255 - black_left).save(masks / "c0.png")  # c0's mask changes
    summary = json.loads(_batch(vgg_file, *args, "--json").stdout)
    assert (summary["done"], summary["skipped"], summary["failed"]) == (1, 1, 1)


def test_a_mask_template_with_an_unknown_field_is_refused(vgg_file, inputs, tmp_path):
    result = _batch(vgg_file, "--content", inputs / "c", "--style", inputs / "s", "--out",
                    tmp_path / "out", "--mask-template", "m/{name}.png")  # fmt: skip
    assert result.exit_code == 2 and "--mask-template 'm/{name}.png': unknown field" in (
        result.stderr
    )
    assert not (tmp_path / "out").exists()


def test_tiled_jobs_make_the_one_pass_images_and_a_tile_size_redoes_nothing(
    vgg_file, inputs, tmp_path
):
    content, style = inputs / "c" / "c1.png", inputs / "s" / "s1.png"
    layers = ["--content-layers", "conv2_2", "--style-layers", "conv1_1,conv2_1"]
    whole, tiled = tmp_path / "whole", tmp_path / "tiled"
    for out, extra in ((whole, []), (tiled, ["--tile-size", "16"])):
        result = _batch(vgg_file, "--content", content, "--style", style, "--out", out,
                        "--seed", "9", *layers, *extra)  # fmt: skip
        assert result.exit_code == 0, result.output
    a, b = (np.asarray(Image.open(folder / "c1_s1.png"), np.int16) for folder in (whole, tiled))
    assert np.abs(a - b).mean() < 0.01
    again = _batch(vgg_file, "--content", content, "--style", style, "--out", whole,
                   "--seed", "9", *layers, "--tile-size", "16")  # fmt: skip
    assert again.exit_code == 0 and "0 done, 1 skipped" in again.stderr


# --- QA: late usage errors, unwritable outputs -------------------------------------------


@pytest.mark.parametrize("existing", ["none", "empty", "finished"])
def test_a_device_error_found_by_the_worker_leaves_nothing_behind(
    vgg_file, inputs, tmp_path, monkeypatch, existing
):
    from stylize import device

    monkeypatch.setattr(device, "visible_gpus", lambda: [])  # no GPU, whatever the machine
    out = tmp_path / "new" / "out"
    args = ["--content", inputs / "c" / "c0.png", "--style", inputs / "s" / "s0.png"]
    if existing == "empty":
        out.mkdir(parents=True)
    if existing == "finished":
        assert _batch(vgg_file, *args, "--out", out, "--device", "cpu").exit_code == 0
        before = (out / "manifest.jsonl").read_bytes()
    args += ["--content", inputs / "c" / "c1.png"]
    result = _batch(vgg_file, *args, "--out", out, "--device", "gpu")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1].startswith("Error: --device gpu:")
    if existing == "none":
        assert not (tmp_path / "new").exists()
    elif existing == "empty":
        assert list(out.iterdir()) == []
    else:  # a manifest that was there stays as it was, with the output it records
        assert (out / "manifest.jsonl").read_bytes() == before
        assert {p.name for p in out.iterdir()} == {"manifest.jsonl", "c0_s0.png"}


@pytest.mark.parametrize(
    ("make", "template", "message"),
    [
        (lambda out: (out / "c0_s0.png").mkdir(), "{content}_{style}.png",
         "output '{out}/c0_s0.png': is a directory"),
        (lambda out: (out / "c0").write_text("x"), "{content}/{style}.png",
         "output '{out}/c0/s0.png': '{out}/c0' is a file where a folder of the output must be"),
        (lambda out: os.mkfifo(out / "c0_s0.png"), "{content}_{style}.png",
         "output '{out}/c0_s0.png': is a device, pipe or socket"),
    ],
)  # fmt: skip
def test_an_output_path_that_cannot_be_written_is_refused_before_any_job(
    vgg_file, inputs, tmp_path, make, template, message
):
    out = tmp_path / "out"
    out.mkdir()
    make(out)
    before = sorted(out.iterdir())
    result = _batch(vgg_file, "--content", inputs / "c", "--style", inputs / "s" / "s0.png",
                    "--out", out, "--template", template)  # fmt: skip
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {message.format(out=out)}")
    assert sorted(out.iterdir()) == before  # no manifest, no job ran


def test_an_existing_file_at_an_output_name_is_replaced(vgg_file, inputs, tmp_path):
    out = tmp_path / "out"
    (out / "s0").mkdir(parents=True)
    (out / "s0" / "c0.png").write_text("an old output")
    result = _batch(vgg_file, "--content", inputs / "c" / "c0.png", "--style",
                    inputs / "s" / "s0.png", "--out", out, "--template",
                    "{style}/{content}.png")  # fmt: skip
    assert result.exit_code == 0, result.output
    with Image.open(out / "s0" / "c0.png") as image:
        assert image.size == (32, 24)


def test_a_template_with_a_wrong_extension_is_named_in_the_error(vgg_file, inputs, tmp_path):
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text(f"{inputs / 'c' / 'c0.png'},{inputs / 's' / 's0.png'}\n")
    for args in (["--content", inputs / "c", "--style", inputs / "s"], ["--pairs", csv_file]):
        result = _batch(vgg_file, *args, "--out", tmp_path / "out", "--template", "{content}.txt")
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("Error: --template '{content}.txt': expected the name to end in"
                               " an image extension, one of .bmp")  # fmt: skip
        assert line.endswith("got '.txt'")
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "make, message",
    [
        (os.mkfifo, "exists and is not a folder (a named pipe)"),
        (lambda out: out.symlink_to("missing"), "is a symbolic link to a missing target 'missing'"),
    ],
)  # fmt: skip
def test_an_out_that_is_a_pipe_or_a_dangling_link_is_refused_before_the_weights_load(
    vgg_file, inputs, tmp_path, monkeypatch, make, message
):
    from stylize import prepare

    def refuse(*args, **kwargs):
        raise AssertionError("the weights were loaded")

    monkeypatch.setattr(prepare, "load_weights", refuse)
    out = tmp_path / "out"
    make(out)
    result = _batch(vgg_file, "--content", inputs / "c" / "c0.png", "--style",
                    inputs / "s" / "s0.png", "--out", out)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [f"Error: --out '{out}': {message}"]
    assert sorted(tmp_path.iterdir()) == [out] and os.path.lexists(out)


# --- QA: other weights, a changed --init image, a template into an input folder -----------


def test_other_weights_redo_a_finished_job_as_stylize_run_makes_it(inputs, tmp_path):
    content, style = inputs / "c" / "c1.png", inputs / "s" / "s1.png"
    out, single = tmp_path / "out", tmp_path / "single.png"
    common = ["--content", str(content), "--style", str(style), "--iterations", ITERATIONS,
              "--seed", "7"]  # fmt: skip
    for weights in ("random-tiny:0", "random-tiny:5"):
        result = CliRunner().invoke(main, ["batch", *common, "--out", str(out), "--weights",
                                           weights])  # fmt: skip
        assert result.exit_code == 0 and "1 done, 0 skipped" in result.stderr, result.output
    assert [record["weights"] for record in _manifest(out)] == ["random-tiny:0", "random-tiny:5"]
    run = CliRunner().invoke(main, ["run", *common, "--weights", "random-tiny:5", "-o",
                                    str(single), "-q"])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert (out / "c1_s1.png").read_bytes() == single.read_bytes()


def test_a_changed_init_image_redoes_its_jobs(vgg_file, inputs, tmp_path, gradient):
    init = tmp_path / "init.png"
    Image.fromarray(gradient(32, 24, 20)).save(init)
    out = tmp_path / "out"
    args = ["--content", inputs / "c" / "c0.png", "--style", inputs / "s" / "s0.png", "--out",
            out, "--init", init, "--seed", "3"]  # fmt: skip
    assert _batch(vgg_file, *args).exit_code == 0
    again = _batch(vgg_file, *args)
    assert again.exit_code == 0 and "0 done, 1 skipped" in again.stderr, again.output
    Image.fromarray(gradient(32, 24, 21)).save(init)
    changed = _batch(vgg_file, *args)
    assert changed.exit_code == 0 and "1 done, 0 skipped" in changed.stderr, changed.output
    assert _manifest(out)[-1]["init_sha256"] == sha256_of(init)


def test_a_template_that_writes_into_an_input_folder_is_refused_before_anything_runs(
    vgg_file, inputs, tmp_path
):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("c0.png", "c1.png"):
        (photos / name).write_bytes((inputs / "c" / name).read_bytes())
    before = sorted(tmp_path.rglob("*"))
    template = "photos/{content}_styled.png"
    result = _batch(vgg_file, "--content", photos, "--style", inputs / "s" / "s0.png", "--out",
                    tmp_path, "--template", template)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"Error: --template {template!r} puts output '{photos / 'c0_styled.png'}' in the input"
        f" folder '{photos}', where the next run would read it as an input; choose another"
        " --out or --template"
    ]
    assert sorted(tmp_path.rglob("*")) == before  # no manifest, no image


def test_a_signal_once_every_job_is_recorded_changes_nothing(vgg_file, inputs, tmp_path,
                                                             monkeypatch):  # fmt: skip
    from stylize.batch import command

    real = command.summary

    def signal_first(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # as the manifest closes and the summary is made
        return real(*args, **kwargs)

    monkeypatch.setattr(command, "summary", signal_first)
    out = tmp_path / "out"
    result = _batch(vgg_file, "--content", inputs / "c" / "c0.png", "--style", inputs / "s",
                    "--out", out, "--json", "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["done"], summary["signal"]) == (2, None)


def test_a_signal_while_the_workers_stop_after_the_last_job_changes_nothing(
    vgg_file, inputs, tmp_path, monkeypatch
):
    from stylize.batch import local

    real = local.InProcessExecutor.close

    def signal_first(self, abort=False):
        os.kill(os.getpid(), signal.SIGINT)  # every job is recorded by now
        return real(self, abort)

    monkeypatch.setattr(local.InProcessExecutor, "close", signal_first)
    result = _batch(vgg_file, "--content", inputs / "c" / "c0.png", "--style", inputs / "s",
                    "--out", tmp_path / "out", "--json", "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["done"], json.loads(result.stdout)["signal"]) == (2, None)
