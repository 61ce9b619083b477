"""Workers that run batch jobs, and the local executors that drive them.

A worker holds the loaded weights and one :class:`~stylize.transfer.Stylizer`, so graphs
(one per output size) and content targets are built once and reused from job to job. The
driver hands it :class:`Task` objects (decoded images, a seed) and gets :class:`Outcome`
objects back (the image and its costs, or an error message); only the driver touches the
output folder and the manifest.

Executors share one small interface: ``start()`` returns the number of worker slots,
``submit(slot, task)`` gives an idle slot a task, ``wait()`` returns ``(slot, outcome)`` for
the next task to end, ``close(abort)`` stops the workers. This module never imports
TensorFlow at import time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing import connection

import numpy as np

from stylize.config import Settings
from stylize.errors import RunError, StylizeError
from stylize.weights import VggWeights

MAX_GRAPH_SIZES = 4  # output sizes whose graphs a worker keeps before starting afresh


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs once: weights, settings, the ``--init`` image if any, the
    TensorFlow thread count (0: TensorFlow's default) and the GPU to pin (None: leave)."""

    weights: VggWeights
    settings: Settings
    init_image: np.ndarray | None = None
    threads: int = 0
    gpu: str | None = None


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


def describe(error: BaseException) -> str:
    """One line for a failure: a StylizeError's own message, else (an unexpected exception)
    its type and the first line of its message."""
    if isinstance(error, StylizeError):
        return str(error)
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class BatchWorker:
    """Runs tasks one after another on one Stylizer (TensorFlow is imported here)."""

    def __init__(self, setup: WorkerSetup):
        from stylize.device import resolve_device
        from stylize.transfer import Stylizer

        self.setup = setup
        # Jobs come grouped by size; graphs of sizes met long ago (each holding a copy of the
        # weights) are dropped.
        self.stylizer = Stylizer(setup.weights, setup.settings,
                                 resolve_device(setup.settings.device,
                                                setup.settings.precision),
                                 max_graphs=MAX_GRAPH_SIZES)  # fmt: skip
        self.device = self.stylizer.device

    def run(self, task: Task) -> Outcome:
        """Stylize one task. Errors become a failed Outcome; signals propagate."""
        from stylize.transfer import Transfer

        began = time.perf_counter()
        try:
            transfer = Transfer(self.stylizer, task.content, [task.style], task.seed,
                                self.setup.init_image, content_key=task.content_key,
                                style_keys=[task.style_key])  # fmt: skip
            for _ in transfer.run():
                pass
            result = transfer.finish()
        except Exception as error:  # a job's failure must not end the batch
            return self._failed(task, describe(error), began)
        costs = (result.costs.J, result.costs.J_content, result.costs.J_style)
        return Outcome(task.index, result.image, costs, result.iterations, result.seconds,
                       result.setup_seconds, self.device)  # fmt: skip

    def _failed(self, task: Task, message: str, began: float) -> Outcome:
        seconds = time.perf_counter() - began
        return Outcome(task.index, seconds=seconds, device=self.device, error=message)

    def close(self) -> None:
        self.stylizer.close()


class InProcessExecutor:
    """One worker in this process: the default, and the right choice on one CPU or GPU."""

    def __init__(self, setup: WorkerSetup):
        self.setup = setup
        self.worker: BatchWorker | None = None
        self._task: Task | None = None

    def start(self) -> int:
        self.worker = BatchWorker(self.setup)
        return 1

    def submit(self, slot: int, task: Task) -> None:
        self._task = task

    def wait(self) -> tuple[int, Outcome]:
        task, self._task = self._task, None
        return 0, self.worker.run(task)

    def close(self, abort: bool = False) -> None:
        if self.worker is not None:
            self.worker.close()


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


def worker_setups(setup: WorkerSetup, count: int, gpus: list[str]) -> list[WorkerSetup]:
    """One setup per worker process: GPUs shared round-robin (one each when there are
    enough), CPU threads split evenly so the workers do not fight over the cores."""
    threads = max(1, available_cpus() // count)
    return [
        dataclasses.replace(setup, threads=threads, gpu=gpus[slot % len(gpus)] if gpus else None)
        for slot in range(count)
    ]


def gpu_ids(device: str, proc: str = "/proc/driver/nvidia/gpus") -> list[str]:
    """The GPUs worker processes can be pinned to, as CUDA_VISIBLE_DEVICES values: those
    CUDA_VISIBLE_DEVICES lists if it is set, else one per GPU the NVIDIA driver shows in
    ``proc``; none with ``--device cpu``. TensorFlow is not imported for this."""
    if device == "cpu":
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = [part.strip() for part in listed.split(",") if part.strip()]
        return [] if ids[:1] == ["-1"] else ids
    try:
        return [str(i) for i in range(len(os.listdir(proc)))]
    except OSError:
        return []


class ProcessExecutor:
    """``--jobs N``: N worker processes (spawned, since TensorFlow is not fork-safe), each
    loading TensorFlow once, receiving the weights once and pinned to its GPU if any. A
    worker that dies fails its task and is replaced."""

    def __init__(self, setups: list[WorkerSetup]):
        self.setups = setups
        self.context = multiprocessing.get_context("spawn")
        self.processes: list = [None] * len(setups)
        self.connections: list = [None] * len(setups)
        self.running: dict[int, Task] = {}

    def start(self) -> int:
        for slot in range(len(self.setups)):
            self._spawn(slot)
        for slot in range(len(self.setups)):
            self._await_ready(slot)
        return len(self.setups)

    def _spawn(self, slot: int) -> None:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=worker_main, args=(child, os.getpid()),
                                       name=f"stylize-worker-{slot}", daemon=True)  # fmt: skip
        process.start()
        child.close()
        parent.send(self.setups[slot])
        self.processes[slot], self.connections[slot] = process, parent

    def _await_ready(self, slot: int) -> None:
        try:
            message = self.connections[slot].recv()
        except (EOFError, OSError):
            code = self._reap(slot)
            message = f"batch worker {slot} exited while starting (exit code {code})"
            raise RunError(message) from None
        if message[0] == "error":
            raise WorkerStartError(message[1], message[2])

    def submit(self, slot: int, task: Task) -> None:
        self.running[slot] = task
        self.connections[slot].send(task)

    def wait(self) -> tuple[int, Outcome]:
        slots = list(self.running)
        waitables = [self.connections[s] for s in slots] + [self.processes[s].sentinel
                                                            for s in slots]  # fmt: skip
        ready = connection.wait(waitables)
        for slot in slots:
            if self.connections[slot] in ready or self.processes[slot].sentinel in ready:
                return slot, self._receive(slot)
        raise RuntimeError("connection.wait returned nothing known")  # pragma: no cover

    def _receive(self, slot: int) -> Outcome:
        task = self.running.pop(slot)
        try:
            if self.connections[slot].poll():
                return self.connections[slot].recv()
        except (EOFError, OSError):
            pass
        code = self._reap(slot)
        self._spawn(slot)
        self._await_ready(slot)
        return Outcome(task.index, error=f"batch worker process died (exit code {code})")

    def _reap(self, slot: int) -> int | None:
        process = self.processes[slot]
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        self.connections[slot].close()
        return process.exitcode

    def close(self, abort: bool = False) -> None:
        """Ask idle workers to stop; on ``abort`` (a signal), end them at once."""
        for slot, process in enumerate(self.processes):
            if process is None:
                continue
            if not abort:
                with contextlib.suppress(OSError, ValueError):
                    self.connections[slot].send(None)
                process.join(timeout=10)
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()


class WorkerStartError(StylizeError):
    """A worker's start-up failure (a device error, say), with the worker's exit code."""

    def __init__(self, exit_code: int, message: str):
        super().__init__(message)
        self.exit_code = exit_code


def worker_main(conn, parent_pid: int) -> None:
    """A worker process: receive the setup, report ready, then run tasks until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _exit_with_parent(parent_pid)
    setup = conn.recv()
    apply_environment(setup)
    try:
        worker = BatchWorker(setup)
    except StylizeError as error:
        conn.send(("error", error.exit_code, str(error)))
        return
    except Exception as error:
        conn.send(("error", 1, f"batch worker failed to start: {describe(error)}"))
        return
    conn.send(("ready", worker.device))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            conn.close()
            os._exit(0)  # skip TensorFlow's slow teardown; the driver writes every file
        conn.send(worker.run(task))


def _exit_with_parent(parent_pid: int) -> None:
    """End this process soon after the driver is gone (killed with SIGKILL, say)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
