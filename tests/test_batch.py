"""Batch planning, the manifest and the local executors' pieces: inputs, pairs, names,
order, skips, GPU pinning, and a worker process that dies."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylize.batch import (
    Batch,
    Job,
    JobQueue,
    all_pairs,
    collect_images,
    comparable,
    output_name,
    plan_jobs,
    prepare_out_dir,
    probe_size,
    read_pairs,
    settings_record,
    sha256_of,
)
from stylize.batch_manifest import Manifest, clean_json, parse_lines
from stylize.batch_workers import ProcessExecutor, Task, WorkerSetup, gpu_ids, worker_setups
from stylize.config import Settings
from stylize.errors import InputError
from stylize.weights import load_vgg19


def _pattern(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth gradient with noise, (height, width, 3) uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x * y) % 97 * 2.5], axis=-1)
    return np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path) -> Path:
    """c/ with two PNGs (32x24 and 20x40), a text file and a hidden PNG; s/ with one PNG."""
    (tmp_path / "c").mkdir()
    (tmp_path / "s").mkdir()
    Image.fromarray(_pattern(32, 24, 1)).save(tmp_path / "c" / "b.png")
    Image.fromarray(_pattern(20, 40, 2)).save(tmp_path / "c" / "a.PNG")
    Image.fromarray(_pattern(20, 20, 3)).save(tmp_path / "c" / ".hidden.png")
    (tmp_path / "c" / "notes.txt").write_text("not an image")
    Image.fromarray(_pattern(40, 40, 4)).save(tmp_path / "s" / "x.png")
    return tmp_path


def test_folders_give_their_image_files_sorted_and_files_themselves(folder):
    found = collect_images([folder / "c", folder / "s" / "x.png"], "content")
    assert [p.name for p in found] == ["a.PNG", "b.png", "x.png"]


def test_a_missing_path_on_the_command_line_is_an_input_error(folder):
    with pytest.raises(InputError, match="absent.png"):
        collect_images([folder / "absent.png"], "style")


def test_dash_reads_paths_from_stdin_and_only_for_content(folder):
    lines = io.StringIO(f"{folder / 'c' / 'b.png'}\n\n{folder / 'gone.png'}\r\n{folder / 's'}\n")
    found = collect_images(["-"], "content", lambda: lines)
    assert [p.name for p in found] == ["b.png", "gone.png", "x.png"]
    with pytest.raises(InputError, match="stdin"):
        collect_images(["-"], "style")


def test_all_pairs_needs_both_sides(folder):
    assert len(all_pairs([Path("a"), Path("b")], [Path("x"), Path("y"), Path("z")])) == 6
    with pytest.raises(InputError, match="no style images"):
        all_pairs([Path("a")], [])


def test_csv_pairs_with_header_comments_and_optional_output(tmp_path):
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text("content,style,output\n# a comment\na.png,x.png\n\nb.png, y.png ,o/b.jpg\n")
    assert read_pairs(csv_file) == [
        (Path("a.png"), Path("x.png"), None),
        (Path("b.png"), Path("y.png"), "o/b.jpg"),
    ]
    csv_file.write_text("a.png\n")
    with pytest.raises(InputError, match="line 1"):
        read_pairs(csv_file)


def test_output_names_from_the_template_stay_inside_out(tmp_path):
    content, style = tmp_path / "photos" / "cat.jpg", Path("styles/monet.png")
    assert output_name("{content}_{style}.png", content, style) == "cat_monet.png"
    assert output_name("{style}/{content_dir}-{content}.jpg", content, style) == (
        "monet/photos-cat.jpg"
    )
    for bad in ("../{content}.png", "/tmp/{content}.png", "{content}.gif"):
        with pytest.raises(InputError):
            output_name(bad, content, style)


def test_plan_orders_by_output_size_and_refuses_two_pairs_on_one_output(folder):
    contents = collect_images([folder / "c"], "content")
    styles = [folder / "s" / "x.png"]
    pairs = all_pairs(contents, styles) + [(folder / "missing.png", styles[0], None)]
    jobs = plan_jobs(pairs, "{content}_{style}.png", folder / "out", max_size=30)
    assert [(j.output, j.size) for j in jobs] == [
        ("a_x.png", (15, 30)),
        ("b_x.png", (30, 23)),
        ("missing_x.png", None),
    ]
    assert [j.index for j in jobs] == [0, 1, 2]
    duplicate = pairs + [(contents[0], styles[0], None)]  # the same job twice: kept once
    assert len(plan_jobs(duplicate, "{content}_{style}.png", folder, 30)) == 3
    with pytest.raises(InputError, match="two jobs write 'same.png'"):
        plan_jobs(pairs, "same.png", folder / "out", 30)
    with pytest.raises(InputError, match="unknown field"):
        plan_jobs(pairs, "{name}.png", folder / "out", 30)


def test_an_output_may_not_replace_an_input(folder):
    pairs = [(folder / "c" / "b.png", folder / "s" / "x.png", None)]
    with pytest.raises(InputError, match="also an input"):
        plan_jobs(pairs, "{content}.png", folder / "c", 512)


def test_probe_size_reads_the_header_with_exif_rotation(tmp_path):
    picture = Image.fromarray(_pattern(40, 20, 5))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: shown as 20x40
    picture.save(tmp_path / "turned.jpg", exif=exif)
    assert probe_size(tmp_path / "turned.jpg", 512) == (20, 40)
    assert probe_size(tmp_path / "turned.jpg", 20) == (10, 20)
    (tmp_path / "bad.png").write_text("x")
    assert probe_size(tmp_path / "bad.png", 512) is None


def test_out_folder_is_created_and_may_not_be_an_input_folder(folder):
    assert prepare_out_dir(folder / "new" / "out", []).is_dir()
    with pytest.raises(InputError, match="also an input folder"):
        prepare_out_dir(folder / "c", [folder / "c"])


def test_queue_prefers_the_size_a_worker_ran_last():
    jobs = [Job(i, Path("c"), Path("s"), f"{i}.png", size) for i, size in
            enumerate([(10, 10), (10, 10), (20, 20), (20, 20), None])]  # fmt: skip
    queue = JobQueue(jobs)
    assert queue.take().index == 0
    assert queue.take((20, 20)).index == 2
    assert queue.take((30, 30)).index == 1
    assert [queue.take((10, 10)).index, queue.take(None).index] == [3, 4]
    assert not queue


def test_manifest_drops_a_torn_last_line_and_skips_bad_ones(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(b'{"output": "a.png", "status": "ok"}\nnot json\n[1]\n{"output": "b.pn')
    with Manifest(path) as manifest:
        assert manifest.dropped_tail and manifest.bad_lines == 2
        assert [r["output"] for r in manifest.records] == ["a.png"]
        manifest.append({"output": "b.png", "status": "ok", "J": float("nan")})
        manifest.append({"output": "a.png", "status": "failed", "values": (1, 2)})
        assert manifest.latest()["a.png"]["status"] == "failed"
    lines = path.read_text().splitlines()
    assert lines[-2:] == [
        '{"output": "b.png", "status": "ok", "J": null}',
        '{"output": "a.png", "status": "failed", "values": [1, 2]}',
    ]
    assert all(json.loads(line) for line in lines if line not in ("not json",))


def test_manifest_is_locked_while_a_batch_writes_it(tmp_path):
    with Manifest(tmp_path / "manifest.jsonl"), pytest.raises(InputError, match="locked"):
        Manifest(tmp_path / "manifest.jsonl").open()


def test_parse_lines_and_clean_json():
    assert parse_lines(b'{"a": 1}\n\n  \n{"b": 2}') == ([{"a": 1}, {"b": 2}], 0)
    assert clean_json({"x": [float("inf"), 1.5], 2: (None,)}) == {"x": [None, 1.5], "2": [None]}


def test_seed_counts_in_the_comparison_only_when_given():
    one = settings_record(Settings(iterations=3), 5)
    two = settings_record(Settings(iterations=3, device="cpu"), 9)
    assert comparable(one, seed_given=False) == comparable(two, seed_given=False)
    assert comparable(one, seed_given=True) != comparable(two, seed_given=True)
    other = settings_record(Settings(iterations=4), 5)
    assert comparable(one, seed_given=False) != comparable(other, seed_given=False)


def _finished_record(job: Job, settings: Settings, **changes) -> dict:
    record = {
        "output": job.output,
        "status": "ok",
        "content_sha256": sha256_of(job.content),
        "style_sha256": sha256_of(job.style),
        "settings": settings_record(settings, 1),
    }
    return {**record, **changes}


def test_pending_skips_only_jobs_finished_with_the_same_inputs_and_settings(folder):
    settings = Settings(iterations=3)
    out = folder / "out"
    pairs = all_pairs(collect_images([folder / "c"], "content"), [folder / "s" / "x.png"])
    first, second = plan_jobs(pairs, "{content}_{style}.png", out, 512)
    out.mkdir()
    (out / first.output).write_bytes(b"done")
    (out / second.output).write_bytes(b"done")
    with Manifest(out / "manifest.jsonl") as manifest:
        manifest.append(_finished_record(first, settings))
        manifest.append(_finished_record(second, settings, style_sha256="0" * 64))
        assert Batch([first, second], out, settings, manifest).pending() == [second]
        assert Batch([first, second], out, settings, manifest, force=True).pending() == [
            first,
            second,
        ]
        longer = Settings(iterations=4)
        assert len(Batch([first, second], out, longer, manifest).pending()) == 2
        (out / first.output).unlink()
        assert len(Batch([first, second], out, settings, manifest).pending()) == 2


def test_gpu_ids_follow_cuda_visible_devices_or_the_driver(monkeypatch, tmp_path):
    (tmp_path / "gpus").mkdir()
    for address in ("0000:01:00.0", "0000:02:00.0"):
        (tmp_path / "gpus" / address).mkdir()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_ids("auto", str(tmp_path / "gpus")) == ["0", "1"]
    assert gpu_ids("auto", str(tmp_path / "none")) == []
    assert gpu_ids("cpu", str(tmp_path / "gpus")) == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3, 5")
    assert gpu_ids("gpu", str(tmp_path / "gpus")) == ["3", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert gpu_ids("auto", str(tmp_path / "gpus")) == []


def test_worker_setups_share_gpus_and_split_the_cores(monkeypatch):
    monkeypatch.setattr("stylize.batch_workers.available_cpus", lambda: 8)
    base = WorkerSetup(weights=None, settings=Settings())
    setups = worker_setups(base, 3, ["4", "7"])
    assert [(s.gpu, s.threads) for s in setups] == [("4", 2), ("7", 2), ("4", 2)]
    assert [s.gpu for s in worker_setups(base, 2, [])] == [None, None]


class _DiesWhenUnpickled:
    """Unpickling this in a worker process ends that process at once, with exit code 3."""

    def __reduce__(self):
        return os._exit, (3,)


@pytest.mark.slow
def test_a_worker_process_that_dies_fails_its_job_and_is_replaced(vgg_file):
    settings = Settings(iterations=2, device="cpu")
    setup = WorkerSetup(load_vgg19(vgg_file, settings.deepest_layer), settings)
    executor = ProcessExecutor(worker_setups(setup, 1, []))
    try:
        assert executor.start() == 1
        style = _pattern(20, 20, 1)
        executor.submit(0, Task(0, _DiesWhenUnpickled(), style, seed=1))
        slot, outcome = executor.wait()
        assert (slot, outcome.index, outcome.image) == (0, 0, None)
        assert outcome.error == "batch worker process died (exit code 3)"
        executor.submit(0, Task(1, _pattern(24, 16, 2), style, seed=1))
        _, outcome = executor.wait()
        assert outcome.error is None and outcome.image.shape == (16, 24, 3)
    finally:
        executor.close()
