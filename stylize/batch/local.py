"""Running batch workers on this machine: in this process (the default), or in worker
processes for ``--jobs N``, each pinned to a GPU when there are some and given its share of
the CPU cores. The executors follow ``stylize.batch.worker.Executor``."""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing import connection

from stylize.batch.worker import (
    BatchWorker,
    Outcome,
    Task,
    WorkerSetup,
    available_cpus,
    start_worker,
)
from stylize.errors import RunError, WorkerStartError


class InProcessExecutor:
    """One worker in this process: the default, and the right choice on one CPU or GPU."""

    def __init__(self, setup: WorkerSetup, on_progress=None):
        self.setup, self.on_progress = setup, on_progress  # see BatchWorker.run
        self.worker: BatchWorker | None = None
        self._task: Task | None = None

    def start(self) -> int:
        self.worker = start_worker(self.setup, "batch worker")
        return 1

    def submit(self, slot: int, task: Task) -> None:
        self._task = task

    def wait(self) -> tuple[int, Outcome]:
        task, self._task = self._task, None
        return 0, self.worker.run(task, self.on_progress)

    def close(self, abort: bool = False) -> None:
        if self.worker is not None:
            self.worker.close()


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


def worker_main(conn, parent_pid: int) -> None:
    """A worker process: receive the setup, report ready, then run tasks until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _exit_with_parent(parent_pid)
    setup = conn.recv()
    try:
        worker = start_worker(setup, "batch worker")
    except WorkerStartError as error:
        conn.send(("error", str(error), error.exit_code))
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
