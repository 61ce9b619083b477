"""The batch driver: the job queue, and which jobs count as finished already."""

from __future__ import annotations

import os
from pathlib import Path

from stylize.batch.driver import Batch, JobQueue, comparable, settings_record, sha256_of
from stylize.batch.plan import Job, all_pairs, collect_images, plan_jobs
from stylize.config import Settings
from stylize.manifest import Manifest


def test_queue_prefers_the_size_a_worker_ran_last():
    jobs = [Job(i, Path("c"), Path("s"), f"{i}.png", size) for i, size in
            enumerate([(10, 10), (10, 10), (20, 20), (20, 20), None])]  # fmt: skip
    queue = JobQueue(jobs)
    assert queue.take().index == 0
    assert queue.take((20, 20)).index == 2
    assert queue.take((30, 30)).index == 1
    assert [queue.take((10, 10)).index, queue.take(None).index] == [3, 4]
    assert not queue


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


def _two_written_jobs(batch_folder: Path) -> tuple[Job, Job, Path]:
    """Two jobs whose output files exist in ``out``, and that folder."""
    out = batch_folder / "out"
    pairs = all_pairs(
        collect_images([batch_folder / "c"], "content"), [batch_folder / "s" / "x.png"]
    )
    first, second = plan_jobs(pairs, "{content}_{style}.png", out, 512)
    out.mkdir()
    (out / first.output).write_bytes(b"done")
    (out / second.output).write_bytes(b"done")
    return first, second, out


def test_pending_skips_only_jobs_finished_with_the_same_inputs_and_settings(batch_folder):
    settings = Settings(iterations=3)
    first, second, out = _two_written_jobs(batch_folder)
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


def test_a_record_from_before_a_setting_existed_counts_as_its_default(batch_folder):
    first, second, out = _two_written_jobs(batch_folder)
    old, changed = _finished_record(first, Settings()), _finished_record(second, Settings())
    del old["settings"]["scale_ratio"]  # as an older stylize wrote it
    changed["settings"]["scale_ratio"] = 4.0
    with Manifest(out / "manifest.jsonl") as manifest:
        manifest.append(old)
        manifest.append(changed)
        assert Batch([first, second], out, Settings(), manifest).pending() == [second]
        quarter = Settings(scale_ratio=4.0)
        assert Batch([first, second], out, quarter, manifest).pending() == [first]


def test_the_checksum_of_a_fifo_or_a_device_is_none_without_reading(tmp_path):
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    assert sha256_of(fifo) is None and sha256_of(Path("/dev/zero")) is None
    assert sha256_of(tmp_path / "absent.png") is None


def test_a_record_made_with_other_weights_is_not_finished(batch_folder, vgg_file):
    settings = Settings(iterations=3)
    first, second, out = _two_written_jobs(batch_folder)
    with Manifest(out / "manifest.jsonl") as manifest:
        manifest.append(_finished_record(first, settings, weights="random-tiny:0"))
        manifest.append(_finished_record(second, settings, weights=str(vgg_file)))
        jobs = [first, second]
        assert Batch(jobs, out, settings, manifest, weights="random-tiny:0").pending() == [second]
        assert Batch(jobs, out, settings, manifest, weights="random-tiny:5").pending() == jobs
        assert Batch(jobs, out, settings, manifest, weights=str(vgg_file)).pending() == [first]
        elsewhere = str(vgg_file.parent / "other.mat")
        assert Batch(jobs, out, settings, manifest, weights=elsewhere).pending() == jobs


def test_a_record_without_weights_stands_for_a_weights_file_not_a_random_network(
    batch_folder, vgg_file
):
    settings = Settings(iterations=3)
    first, _, out = _two_written_jobs(batch_folder)
    record = _finished_record(first, settings)
    assert "weights" not in record  # as a batch before random networks wrote it
    with Manifest(out / "manifest.jsonl") as manifest:
        manifest.append(record)
        assert Batch([first], out, settings, manifest, weights=str(vgg_file)).pending() == []
        for random in ("random:0", "random-tiny:0"):
            assert Batch([first], out, settings, manifest, weights=random).pending() == [first]


def test_a_changed_init_image_redoes_the_job_as_does_an_older_line_without_its_checksum(
    batch_folder, gradient
):
    from PIL import Image

    init = batch_folder / "init.png"
    Image.fromarray(gradient(32, 24, 7)).save(init)
    settings = Settings(iterations=3, init=str(init))
    first, second, out = _two_written_jobs(batch_folder)
    with Manifest(out / "manifest.jsonl") as manifest:
        manifest.append(_finished_record(first, settings, init_sha256=sha256_of(init)))
        manifest.append(_finished_record(second, settings))  # before init_sha256 was written
        assert Batch([first, second], out, settings, manifest).pending() == [second]
        Image.fromarray(gradient(32, 24, 8)).save(init)
        assert Batch([first, second], out, settings, manifest).pending() == [first, second]
        noise = Settings(iterations=3)  # no start image file: an older line stands
        manifest.append(_finished_record(first, noise))
        assert Batch([first], out, noise, manifest).pending() == []
