"""The batch driver: decide which planned jobs are finished already, feed the executor's
workers, write each returned image atomically and then append the job's manifest line.

The driver decodes each job's images just before handing them to a worker, so a batch of
bad inputs never starts TensorFlow. A job is recorded only once its output is complete, and
a crash at any moment loses at most the jobs in flight. This module never imports
TensorFlow.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from stylize import images, masks, prepare
from stylize.batch.plan import Job
from stylize.batch.worker import Executor, Outcome, Task
from stylize.config import Settings
from stylize.errors import StylizeError, one_line
from stylize.files import file_digests, is_regular_file
from stylize.manifest import Manifest, clean_json, with_setting_defaults
from stylize.signals import held
from stylize.weights import random_spec

UNMATCHED_SETTINGS = ("seed", "device", "tile_size")  # may differ without redoing a job


def sha256_of(path: Path) -> str | None:
    """SHA-256 of a regular file, None if it cannot be read (or is a FIFO or a device,
    which would block or never end)."""
    if not is_regular_file(path):
        return None
    try:
        return file_digests(path, "sha256")[0]
    except OSError:
        return None


def settings_record(settings: Settings, seed: int) -> dict:
    """The settings as the manifest stores them (strict JSON, the job's seed filled in)."""
    return clean_json({**settings.as_dict(), "seed": seed})


def comparable(settings: dict, seed_given: bool) -> dict:
    """Settings as compared to decide if a finished job can be kept: the seed counts only
    when --seed is given, the device and the tile size never."""
    skip = set(UNMATCHED_SETTINGS) - ({"seed"} if seed_given else set())
    return {key: value for key, value in settings.items() if key not in skip}


@dataclass
class Counts:
    """Jobs of this run: planned, already finished (skipped), done now, failed now."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    failures: list[dict] = field(default_factory=list)


class Reporter:
    """Receives the batch's events; the CLI shows them on stderr. This one ignores them."""

    def started(self, jobs: Sequence[Job], counts: Counts) -> None:
        """``jobs`` are about to run (in no promised order)."""

    def job_started(self, job: Job, number: int, pending: int) -> None:
        """Job ``number`` (1-based) of the ``pending`` ones was handed to a worker."""

    def iteration(self, progress, transfer) -> None:
        """An iteration of the running job ended (a ``stylize.transfer.Progress`` and its
        Transfer). Only a worker in this process reports these."""

    def job_finished(self, record: dict, counts: Counts, image: np.ndarray | None = None) -> None:
        """A job ended and its manifest line was written; ``image`` is its written result
        ((H, W, 3) uint8), None if it failed."""

    def message(self, text: str) -> None:
        """A note for the user."""


class JobQueue:
    """Pending jobs grouped by output size, in planned order; a worker takes a job of the
    size it ran last while there is one, so it goes on reusing that size's graph."""

    def __init__(self, jobs: Iterable[Job]):
        self.groups: OrderedDict[tuple | None, deque[Job]] = OrderedDict()
        for job in jobs:
            self.groups.setdefault(job.size, deque()).append(job)

    def __bool__(self) -> bool:
        return bool(self.groups)

    def take(self, size: tuple | None = None) -> Job:
        key = size if size is not None and size in self.groups else next(iter(self.groups))
        group = self.groups[key]
        job = group.popleft()
        if not group:
            del self.groups[key]
        return job


class ImageCache:
    """Decoded images of the last few files, for a content meeting several
    styles (and the styles, which come back for every content); contents are kept already
    fitted to their output size, so that each is resized once."""

    def __init__(self, capacity: int = 8):
        self.capacity = capacity
        self.items: OrderedDict[tuple[Path, str], np.ndarray] = OrderedDict()

    def load(self, path: Path, role: str, fit: Callable | None = None,
             bit_depth: int = 8) -> np.ndarray:  # fmt: skip
        """The decoded image (load_image's ``bit_depth``), passed through ``fit`` when given
        (ImageError as load_image or ``fit`` raise it)."""
        key = (path, role)
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        loaded = images.load_image(path, role=role, bit_depth=bit_depth)
        if fit is not None:
            loaded = fit(loaded)
        self.items[key] = loaded
        if len(self.items) > self.capacity:
            self.items.popitem(last=False)
        return loaded


@dataclass
class _Running:
    job: Job
    seed: int
    began: float


class Batch:
    """The driver: decides which jobs are finished already, feeds the executor's workers,
    writes each returned image atomically and then its manifest line."""

    def __init__(self, jobs: list[Job], out_dir: Path, settings: Settings, manifest: Manifest,
                 force: bool = False, reporter: Reporter | None = None,
                 weights: str | None = None):  # fmt: skip
        self.jobs, self.out_dir, self.settings = jobs, out_dir, settings
        self.weights = weights  # the weights file (or random:SEED) the manifest names
        self.manifest, self.force = manifest, force
        self.reporter = reporter or Reporter()
        self.counts = Counts(total=len(jobs))
        self.images = ImageCache()
        self.running: dict[int, _Running] = {}
        self.executor: Executor | None = None
        self.slots = 0  # workers, once the executor has started
        self._idle: list[int] = []  # worker slots without a task
        self._last_size: dict[int, tuple | None] = {}  # the output size each slot ran last
        self._hashes: dict[Path, str | None] = {}
        self._pending = self._started = 0  # jobs to run now, and handed out so far

    def pending(self) -> list[Job]:
        """The jobs to run, counting the others as skipped: with --force every job, else
        those without an ``ok`` record for the same output, inputs (SHA-256 of the content,
        style, mask and --init image), weights and settings, or whose output file is gone."""
        latest = self.manifest.latest()
        seed_given = self.settings.seed is not None
        wanted = comparable(settings_record(self.settings, self.settings.seed or 0), seed_given)
        todo = []
        for job in self.jobs:
            if not self.force and self._finished(job, latest.get(job.output), wanted):
                self.counts.skipped += 1
            else:
                todo.append(job)
        return todo

    def _finished(self, job: Job, record: dict | None, wanted: dict) -> bool:
        if (
            not record
            or record.get("status") != "ok"
            or not isinstance(record.get("settings"), dict)
        ):
            return False
        if not (self.out_dir / job.output).is_file():
            return False
        stored = with_setting_defaults(record["settings"], wanted)
        if comparable(stored, self.settings.seed is not None) != wanted:
            return False
        # A line without init_sha256 (written before it was) matches only a run whose --init
        # is no file: which start image it was made from is not known.
        return (record.get("content_sha256") == self.sha(job.content)
                and record.get("style_sha256") == self.sha(job.style)
                and record.get("mask_sha256") == self._mask_sha(job)
                and record.get("init_sha256") == self._init_sha()
                and self._same_weights(record.get("weights")))  # fmt: skip

    def _same_weights(self, stored: str | None) -> bool:
        """Whether a record's ``weights`` names this run's: the same random network, or the
        same file path as given (as stylize video compares them). A line without the field
        was written before random networks existed (2026-12-01), so with a weights file: it
        is kept for a file, as it was then, and redone for a random network."""
        if stored is None and self.weights is not None:
            return random_spec(self.weights) is None
        return stored == self.weights

    def _mask_sha(self, job: Job) -> str | None:
        return None if job.mask is None else self.sha(job.mask)

    def _init_sha(self) -> str | None:
        """SHA-256 of the --init image when --init names a file, else None."""
        init = self.settings.init_file
        return None if init is None else self.sha(init)

    def sha(self, path: Path) -> str | None:
        if path not in self._hashes:
            self._hashes[path] = sha256_of(path)
        return self._hashes[path]

    def run(self, make_executor: Callable[[], Executor], jobs: list[Job]) -> None:
        """Run ``jobs`` until each is recorded. The executor is made and started when the
        first job's images have loaded (so a batch of bad inputs never loads TensorFlow);
        it is left in ``self.executor`` for the caller to close."""
        queue = JobQueue(jobs)
        self._pending, self._started = len(jobs), 0
        self.reporter.started(jobs, self.counts)
        while queue or self.running:
            self._dispatch(queue, make_executor)
            if self.running:
                slot, outcome = self.executor.wait()
                self._idle.append(slot)
                with held():  # a finished job's image and its record, both or neither
                    self._finish(outcome)

    def _dispatch(self, queue: JobQueue, make_executor: Callable[[], Executor]) -> None:
        """Give every idle worker a job, preferring the size it ran last."""
        while queue and (self._idle or self.executor is None):
            job = queue.take(self._last_size.get(self._idle[-1]) if self._idle else None)
            task = self._prepare(job)
            if task is None:
                continue
            if self.executor is None:
                self.executor = make_executor()
                self.slots = self.executor.start()
                self._idle = list(range(self.slots - 1, -1, -1))
                self.running[job.index].began = time.perf_counter()  # start-up is not the job's
            slot = self._idle.pop()
            self._started += 1
            self.reporter.job_started(job, self._started, self._pending)
            self.executor.submit(slot, task)
            self._last_size[slot] = job.size

    def _prepare(self, job: Job) -> Task | None:
        """Decode the job's images for a worker, or record the job failed and return None."""
        began = time.perf_counter()
        try:
            max_size = self.settings.max_size
            content = self.images.load(
                job.content,
                "content image",
                lambda image: prepare.fit_content(image, job.content, max_size),
                bit_depth=self.settings.bit_depth,
            )
            style = self.images.load(job.style, "style image")
            size = (content.shape[1], content.shape[0])
            keep = None if job.mask is None else masks.load_mask(job.mask, size, "--mask")
        except Exception as error:  # an odd file must not end the batch
            self._record(_Running(job, self.settings.seed, began), Outcome(job.index),
                         one_line(error, with_type=True))  # fmt: skip
            return None
        seed = self.settings.seed if self.settings.seed is not None else secrets.randbelow(2**31)
        self.running[job.index] = _Running(job, seed, began)
        return Task(job.index, content, style, seed, self.sha(job.content), self.sha(job.style),
                    keep)  # fmt: skip

    def _finish(self, outcome: Outcome) -> None:
        running = self.running.pop(outcome.index)
        error = outcome.error
        if error is None:
            error = self._write(running.job, outcome.image)
        self._record(running, outcome, error, outcome.image if error is None else None)

    def _write(self, job: Job, image: np.ndarray) -> str | None:
        path = self.out_dir / job.output
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            images.save_image(path, image)
        except (StylizeError, OSError, ValueError) as error:
            return str(error)
        return None

    def _record(self, running: _Running, outcome: Outcome, error: str | None,
                image: np.ndarray | None = None) -> None:  # fmt: skip
        """Append the job's manifest line, then count and report it."""
        record = self.record(running, outcome, error)
        self.manifest.append(record)
        if error is None:
            self.counts.done += 1
        else:
            self.counts.failed += 1
            self.counts.failures.append({k: record[k] for k in ("content", "style", "output",
                                                               "error")})  # fmt: skip
        self.reporter.job_finished(record, self.counts, image)

    def record(self, running: _Running, outcome: Outcome, error: str | None) -> dict:
        """The manifest line of a job."""
        job = running.job
        costs = outcome.costs if error is None and outcome.costs else (None, None, None)
        size = outcome.image.shape[1::-1] if outcome.image is not None else job.size
        return {
            "content": str(job.content), "content_sha256": self.sha(job.content),
            "style": str(job.style), "style_sha256": self.sha(job.style),
            "output": job.output, "status": "ok" if error is None else "failed",
            "error": error, "J": costs[0], "J_content": costs[1], "J_style": costs[2],
            "width": size[0] if size else None, "height": size[1] if size else None,
            "iterations": outcome.iterations,
            "seconds": round(time.perf_counter() - running.began, 4),
            "optimize_seconds": round(outcome.seconds, 4),
            "setup_seconds": round(outcome.setup_seconds, 4),
            "seed": running.seed, "device": outcome.device, "precision": outcome.precision,
            "weights": self.weights,
            "mask": str(job.mask) if job.mask else None, "mask_sha256": self._mask_sha(job),
            "init_sha256": self._init_sha(),
            "settings": settings_record(self.settings, running.seed),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }  # fmt: skip
