"""Local executors: GPU pinning, core sharing, and a worker process that dies."""

from __future__ import annotations

import os

import pytest

from stylize.batch.local import ProcessExecutor, gpu_ids, worker_setups
from stylize.batch.worker import Task, WorkerSetup
from stylize.config import Settings
from stylize.weights import load_vgg19


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
    monkeypatch.setattr("stylize.batch.local.available_cpus", lambda: 8)
    base = WorkerSetup(weights=None, settings=Settings())
    setups = worker_setups(base, 3, ["4", "7"])
    assert [(s.gpu, s.threads) for s in setups] == [("4", 2), ("7", 2), ("4", 2)]
    assert [s.gpu for s in worker_setups(base, 2, [])] == [None, None]


class _DiesWhenUnpickled:
    """Unpickling this in a worker process ends that process at once, with exit code 3."""

    def __reduce__(self):
        return os._exit, (3,)


@pytest.mark.slow
def test_a_worker_process_that_dies_fails_its_job_and_is_replaced(vgg_file, gradient):
    settings = Settings(iterations=2, device="cpu")
    setup = WorkerSetup(load_vgg19(vgg_file, settings.deepest_layer), settings)
    executor = ProcessExecutor(worker_setups(setup, 1, []))
    try:
        assert executor.start() == 1
        style = gradient(20, 20, 1)
        executor.submit(0, Task(0, _DiesWhenUnpickled(), style, seed=1))
        slot, outcome = executor.wait()
        assert (slot, outcome.index, outcome.image) == (0, 0, None)
        assert outcome.error == "batch worker process died (exit code 3)"
        executor.submit(0, Task(1, gradient(24, 16, 2), style, seed=1))
        _, outcome = executor.wait()
        assert outcome.error is None and outcome.image.shape == (16, 24, 3)
    finally:
        executor.close()
