"""``stylize batch --executor ray``: the batch's workers as Ray actors.

Each actor holds one :class:`~stylize.batch.worker.BatchWorker` (weights loaded once, graphs
reused across jobs). The driver puts the weights in Ray's object store once, sends each actor
decoded images and gets the stylized image and its costs back, so the cluster's machines
need neither the weights file nor the images, only ``stylize[ray]`` installed. The driver
alone writes outputs and the manifest. Ray is imported only when this executor starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging

from stylize.batch.worker import (
    BatchWorker,
    Outcome,
    Task,
    WorkerSetup,
    available_cpus,
    start_worker,
)
from stylize.errors import InputError, RunError, WorkerStartError, one_line

RAY_HINT = "pip install 'stylize[ray]'"
START_TIMEOUT = 600.0  # seconds for every actor to be placed and to load TensorFlow
POLL = 0.5  # seconds between checks for Ctrl-C while waiting on Ray


def import_ray():
    """The ray module, or an InputError (exit 2) telling how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(f"--executor ray needs Ray, which is not installed: {RAY_HINT}") from None
    return ray


class BatchActor:
    """The body of one Ray actor (wrapped with ``ray.remote`` at run time)."""

    def __init__(self, setup: WorkerSetup):
        self.setup = setup
        self.worker: BatchWorker | None = None

    def start(self) -> tuple[str, int] | None:
        """Load TensorFlow and build the worker; an error comes back as (text, exit code)."""
        try:
            self.worker = start_worker(self.setup, "Ray worker")
        except WorkerStartError as error:
            return str(error), error.exit_code
        return None

    def run(self, task: Task) -> Outcome:
        return self.worker.run(task)


@dataclasses.dataclass(frozen=True)
class ActorPlan:
    """How many actors, and the Ray resources and TensorFlow threads of each."""

    count: int
    resources: dict
    threads: int


def plan_actors(cluster: dict, nodes: list[dict], jobs: int | None, device: str) -> ActorPlan:
    """One actor per GPU when the cluster has GPUs (unless ``--device cpu``), else one per
    node using its cores; ``--jobs`` sets the count, GPUs then being shared when fewer."""
    gpus = int(cluster.get("GPU", 0))
    if gpus and device != "cpu":
        count = jobs or gpus
        return ActorPlan(count, {"num_gpus": min(1.0, gpus / count)}, 0)
    if device == "gpu":
        raise InputError("--device gpu: the Ray cluster has no GPU")
    cpus = max(1, int(cluster.get("CPU", 1)))
    alive = [node for node in nodes if node.get("Alive", True)]
    count = min(jobs or max(1, len(alive)), cpus)
    largest = max((int(node.get("Resources", {}).get("CPU", 0)) for node in alive), default=cpus)
    per_actor = max(1, min(cpus // count, largest or cpus))
    return ActorPlan(count, {"num_cpus": per_actor}, per_actor)


class RayExecutor:
    """Executor over Ray actors: ``address`` None starts a local Ray instance (stopped at
    the end); an address (``auto``, ``HOST:6379``, ``ray://HOST:10001``) joins a cluster."""

    def __init__(self, setup: WorkerSetup, jobs: int | None = None, address: str | None = None):
        self.setup, self.jobs, self.address = setup, jobs, address
        self.ray = None
        self.actors: list = []
        self.plan: ActorPlan | None = None
        self.pending: dict = {}  # ObjectRef -> (slot, task)

    def start(self) -> int:
        self.ray = ray = import_ray()
        self._connect()
        self.plan = plan_actors(ray.cluster_resources(), ray.nodes(), self.jobs,
                                self.setup.settings.device)  # fmt: skip
        setup = dataclasses.replace(self.setup, threads=self.plan.threads, gpu=None)
        self._setup_ref = ray.put(setup)
        self._actor_class = ray.remote(**self.plan.resources)(BatchActor)
        self.actors = [self._actor_class.remote(self._setup_ref) for _ in range(self.plan.count)]
        self._await_started(self.actors)
        return self.plan.count

    def _connect(self) -> None:
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
        try:
            if self.address:
                self.ray.init(address=self.address, **quiet)
            else:
                self.ray.init(address="local", num_cpus=available_cpus(),
                              include_dashboard=False, **quiet)  # fmt: skip
        except (ConnectionError, ValueError, RuntimeError) as error:
            where = f"--address {self.address}" if self.address else "a local Ray instance"
            raise InputError(
                f"{where}: cannot start Ray ({one_line(error, with_type=True)})"
            ) from None

    def _await_started(self, actors: list) -> None:
        refs = [actor.start.remote() for actor in actors]
        ready, waiting = self.ray.wait(refs, num_returns=len(refs), timeout=START_TIMEOUT)
        if waiting:
            raise RunError(
                f"Ray placed only {len(ready)} of {len(refs)} workers in {START_TIMEOUT:.0f} s;"
                f" each needs {self.plan.resources} (lower --jobs)"
            )
        for result in self.ray.get(refs):
            if result is not None:
                raise WorkerStartError(*result)

    def submit(self, slot: int, task: Task) -> None:
        self.pending[self.actors[slot].run.remote(task)] = (slot, task)

    def wait(self) -> tuple[int, Outcome]:
        ready: list = []
        while not ready:
            ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=POLL)
        slot, task = self.pending.pop(ready[0])
        try:
            return slot, self.ray.get(ready[0])
        except self.ray.exceptions.RayActorError as error:
            self._replace(slot)
            return slot, Outcome(
                task.index, error=f"Ray worker died: {one_line(error, with_type=True)}"
            )
        except self.ray.exceptions.RayError as error:
            return slot, Outcome(task.index, error=one_line(error, with_type=True))

    def _replace(self, slot: int) -> None:
        with contextlib.suppress(Exception):
            self.ray.kill(self.actors[slot])
        self.actors[slot] = self._actor_class.remote(self._setup_ref)
        self._await_started([self.actors[slot]])

    def close(self, abort: bool = False) -> None:
        """End the actors and disconnect (a local instance started here is stopped)."""
        if self.ray is None:
            return
        for actor in self.actors:
            with contextlib.suppress(Exception):
                self.ray.kill(actor)
        self.actors = []
        with contextlib.suppress(Exception):
            self.ray.shutdown()
