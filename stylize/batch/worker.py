"""What a batch worker is: its setup, the tasks it gets, the outcomes it returns, the worker
itself, its one start-up path, and the Executor protocol that every way of running workers
(in this process, in processes, on Ray) follows.

A worker holds the loaded weights and one :class:`~stylize.transfer.Stylizer`, so graphs
(one for every size computed in one pass, one per size computed in tiles) and content
targets are built once and reused from job to job. The driver hands it :class:`Task`
objects (decoded images, a seed) and gets :class:`Outcome` objects back (the image and its
costs, or an error message); only the driver touches the output folder and the manifest.
This module never imports TensorFlow at import time.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from stylize.config import Settings
from stylize.errors import StylizeError, WorkerStartError, one_line
from stylize.weights import VggWeights

MAX_GRAPH_SIZES = 4  # graphs a worker keeps: the one-pass graph (any size) and tiled sizes'


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs once: weights, settings, the ``--init`` image if any, the
    TensorFlow thread count (0: TensorFlow's default) and the GPU to pin (None: leave)."""

    weights: VggWeights
    settings: Settings
    init_image: np.ndarray | None = None
    threads: int = 0
    gpu: str | None = None
    keep_mask: bool = False  # graphs with a keep mask (--mask-template)


@dataclass(frozen=True)
class Task:
    """One job as a worker sees it: the content at the output size, the style, the seed and
    the content's checksum (the key under which its targets are reused)."""

    index: int
    content: np.ndarray
    style: np.ndarray
    seed: int
    content_key: str | None = None
    style_key: str | None = None
    keep: np.ndarray | None = None  # the job's --mask-template mask at the output size


@dataclass(frozen=True)
class Outcome:
    """The end of one task: the image (uint8) with J, J_content, J_style, or an error."""

    index: int
    image: np.ndarray | None = None
    costs: tuple[float, float, float] | None = None
    iterations: int = 0
    seconds: float = 0.0
    setup_seconds: float = 0.0
    device: str | None = None
    error: str | None = None
    precision: str | None = None  # the arithmetic that ran (``--precision auto`` resolved)


class Executor(Protocol):
    """Runs tasks on worker slots; the driver uses nothing else."""

    def start(self) -> int:
        """Start the workers; return how many slots there are (numbered from 0)."""

    def submit(self, slot: int, task: Task) -> None:
        """Give an idle slot a task."""

    def wait(self) -> tuple[int, Outcome]:
        """Block until a submitted task ends; return its slot and outcome."""

    def close(self, abort: bool = False) -> None:
        """Stop the workers; ``abort`` (after a signal) ends them without waiting."""


class BatchWorker:
    """Runs tasks one after another on one Stylizer (TensorFlow is imported here)."""

    def __init__(self, setup: WorkerSetup):
        from stylize.device import resolve_device
        from stylize.transfer import Stylizer

        self.setup = setup
        settings = setup.settings
        device = resolve_device(settings.device, settings.precision)
        # Jobs come grouped by size; the graphs of tiled sizes met long ago (each holding a
        # copy of the weights) are dropped.
        self.stylizer = Stylizer(setup.weights, settings, device, max_graphs=MAX_GRAPH_SIZES,
                                 keep_mask=setup.keep_mask)  # fmt: skip
        self.device = self.stylizer.device

    def run(self, task: Task, on_progress=None) -> Outcome:
        """Stylize one task. Errors become a failed Outcome; signals propagate.
        ``on_progress(progress, transfer)`` is called after every iteration if given."""
        from stylize.transfer import Transfer

        began = time.perf_counter()
        try:
            transfer = Transfer(self.stylizer, task.content, [task.style], task.seed,
                                self.setup.init_image, content_key=task.content_key,
                                style_keys=[task.style_key], keep=task.keep)  # fmt: skip
            for progress in transfer.run():
                if on_progress is not None:
                    on_progress(progress, transfer)
            result = transfer.finish()
        except Exception as error:  # a job's failure must not end the batch
            seconds = time.perf_counter() - began
            message = one_line(error, with_type=True)
            return Outcome(task.index, seconds=seconds, device=self.device, error=message,
                           precision=self.stylizer.settings.precision)  # fmt: skip
        costs = (result.costs.J, result.costs.J_content, result.costs.J_style)
        return Outcome(task.index, result.image, costs, result.iterations, result.seconds,
                       result.setup_seconds, self.device,
                       precision=self.stylizer.settings.precision)  # fmt: skip

    def close(self) -> None:
        self.stylizer.close()


def start_worker(setup: WorkerSetup, who: str) -> BatchWorker:
    """A worker in this process, after the setup's thread count and GPU are put where
    TensorFlow reads them. Any failure raises WorkerStartError with the exit code the
    command should end with (``who`` names the worker in an unexpected error)."""
    apply_environment(setup)
    try:
        return BatchWorker(setup)
    except StylizeError as error:
        raise WorkerStartError(str(error), error.exit_code) from None
    except Exception as error:
        message = f"{who} failed to start: {one_line(error, with_type=True)}"
        raise WorkerStartError(message, 1) from None


def apply_environment(setup: WorkerSetup) -> None:
    """Thread count and GPU pinning, through the environment TensorFlow reads at import."""
    if setup.threads:
        for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            os.environ[name] = str(setup.threads)
    if setup.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = setup.gpu


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
