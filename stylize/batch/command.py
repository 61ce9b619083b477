"""``stylize batch`` from a request to a finished folder: plan the jobs, open the manifest,
skip what is finished, run the rest on the executor asked for, and sum up. TensorFlow and
Ray are imported only once jobs are about to run."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stylize import animation, prepare
from stylize.batch.driver import Batch, Counts, Reporter
from stylize.batch.outputs import (
    check_out_dir,
    check_outputs,
    prepare_out_dir,
    refuse_outputs_in_input_folders,
    refuse_outputs_over_masks,
    remove_stale_temporaries,
)
from stylize.batch.plan import (
    Job,
    Pair,
    all_pairs,
    check_bit_depth,
    collect_images,
    plan_jobs,
    read_pairs,
    with_masks,
)
from stylize.batch.worker import Executor, WorkerSetup
from stylize.config import Settings
from stylize.errors import InputError, StylizeError
from stylize.manifest import MANIFEST_NAME, Manifest, clean_json
from stylize.signals import Stop, interrupted_before_work, settle, stoppable


@dataclass(frozen=True)
class BatchRequest:
    """One ``stylize batch``: settings for every job (one style each, no snapshots), the
    ``--content``/``--style`` values as given (files, folders, ``-``), ``pairs`` ("all" or
    a CSV path), the output folder and names, and how to run the jobs."""

    settings: Settings
    weights: Path
    out: Path
    template: str
    contents: tuple[Path, ...] = ()
    styles: tuple[Path, ...] = ()
    pairs: str = "all"
    force: bool = False
    executor: str = "local"
    jobs: int | None = None
    address: str | None = None
    mask_template: str | None = None


def run_batch(request: BatchRequest, reporter: Reporter) -> dict:
    """Plan, skip what is finished, run the rest; return the summary. A signal while jobs
    run ends the batch cleanly (summary with ``signal`` set); one before raises."""
    with stoppable() as stop:
        return _run_batch(request, reporter)
    raise interrupted_before_work("batch", stop.signal)


def _run_batch(request: BatchRequest, reporter: Reporter) -> dict:
    init_image = _early_checks(request)
    out = request.out
    check_out_dir(out)
    pairs, folders = _pairs(request)
    jobs = plan_jobs(pairs, request.template, out, request.settings.max_size)
    check_bit_depth(jobs, request.settings.bit_depth)
    check_outputs(jobs, out)
    refuse_outputs_in_input_folders(jobs, out, folders, request.template)
    jobs = with_masks(jobs, request.mask_template)
    refuse_outputs_over_masks(jobs, out)
    # Before anything is created: a bad weights file must leave no folder or manifest behind.
    weights, _ = prepare.load_weights(request.weights, request.settings)
    setup = WorkerSetup(weights, request.settings, init_image,
                        keep_mask=request.mask_template is not None)  # fmt: skip
    created = Created(out)
    with created.folders_removed_on_usage_error():
        out_dir = prepare_out_dir(out)
        with Manifest(out_dir / MANIFEST_NAME) as manifest:
            batch = Batch(jobs, out_dir, request.settings, manifest, request.force, reporter,
                          weights=str(weights.path))  # fmt: skip
            with created.manifest_removed_on_usage_error(manifest, batch.counts):
                began, stop = _run_pending(batch, request, setup, reporter)
                settle()  # every job is recorded: a signal now changes nothing
    seconds = time.perf_counter() - began
    return summary(batch.counts, out_dir, seconds, request.executor, batch.slots, stop.signal)


def _run_pending(batch: Batch, request: BatchRequest, setup: WorkerSetup,
                 reporter: Reporter) -> tuple[float, Stop]:  # fmt: skip
    """Run the jobs the manifest does not record as finished; return when they began and
    the Stop that tells whether a signal ended them."""
    _report_manifest_repairs(batch.manifest, reporter)
    remove_stale_temporaries(batch.out_dir, batch.jobs)
    pending = batch.pending()
    _report_animated(pending, reporter, request.settings.init_file)
    began, stop = time.perf_counter(), Stop()
    if pending:
        _run_jobs(batch, pending, lambda: make_executor(request, setup, reporter), stop)
    else:
        reporter.started([], batch.counts)
    return began, stop


class Created:
    """What a batch is about to create in ``out``: the folders missing from --out's path
    and the manifest. A usage error (exit code 2) that stops the batch before any job is
    done removes them, so it leaves nothing behind however late it is found (a worker finds
    that --device gpu has no GPU only once it starts TensorFlow)."""

    def __init__(self, out: Path):
        out = out.absolute()
        self.folders = [f for f in (out, *out.parents) if not os.path.lexists(f)]  # deepest 1st
        self.manifest = not os.path.lexists(out / MANIFEST_NAME)

    @contextmanager
    def folders_removed_on_usage_error(self) -> Iterator[None]:
        """Remove the created folders that are empty when a usage error leaves the block."""
        try:
            yield
        except StylizeError as error:
            if error.exit_code == 2:
                for folder in self.folders:
                    with contextlib.suppress(OSError):
                        folder.rmdir()
            raise

    @contextmanager
    def manifest_removed_on_usage_error(self, manifest: Manifest, counts: Counts) -> Iterator[None]:
        """Remove a created ``manifest`` when a usage error leaves the block before any job
        is done (while its lock is held, so no other batch has opened it)."""
        try:
            yield
        except StylizeError as error:
            if error.exit_code == 2 and self.manifest and counts.done == 0:
                with contextlib.suppress(OSError):
                    manifest.path.unlink()
            raise


def _run_jobs(batch: Batch, pending: list[Job], make: Callable[[], Executor], stop: Stop) -> None:
    """Run the jobs until done or a signal (recorded in ``stop``); the executor is closed
    whatever happens, at once after a signal."""
    try:
        with stop.catching():
            batch.run(make, pending)
            settle()  # every job is recorded: a signal while the workers stop changes nothing
    finally:
        if batch.executor is not None:
            batch.executor.close(abort=stop.signal is not None)


def _early_checks(request: BatchRequest) -> np.ndarray | None:
    """Refuse what would fail only once jobs start; return the --init image (or None)."""
    if request.address and request.executor != "ray":
        raise InputError("--address is for --executor ray")
    if request.executor == "ray":
        from stylize.batch.ray_actors import import_ray

        import_ray()
    elif request.settings.precision == "bfloat16":
        _check_local_bfloat16(request.settings)
    return prepare.load_init_image(request.settings)


def _check_local_bfloat16(settings: Settings) -> None:
    """Refuse bfloat16 on this machine's CPU before the output folder is touched. Workers
    that will have a GPU check theirs with TensorFlow; Ray's run on other machines."""
    from stylize.batch.local import gpu_ids
    from stylize.cpu import cpu_flags, require_bfloat16

    if settings.device == "gpu" or (settings.device == "auto" and gpu_ids("auto")):
        return
    require_bfloat16(cpu_flags())


def _pairs(request: BatchRequest) -> tuple[list[Pair], list[Path]]:
    """The (content, style, output) triples the request names, and the input folders
    scanned for them."""
    if request.pairs != "all":
        if request.contents or request.styles:
            raise InputError("--pairs FILE.csv names the images itself: drop --content/--style")
        return read_pairs(Path(request.pairs)), []
    folders: list[Path] = []
    contents = collect_images(request.contents, "content", lambda: sys.stdin, folders)
    styles = collect_images(request.styles, "style", folders=folders)
    return all_pairs(contents, styles), folders


def _report_animated(jobs: list[Job], reporter: Reporter, init: Path | None,
                     shown: int = 3) -> None:  # fmt: skip
    """One line naming the inputs of the ``jobs`` to run (and the --init image, if ``init``
    is not None and jobs run) that hold several frames or pages (an animated GIF, a TIFF
    of pages...), of which each job reads the first: the first ``shown`` of them and how
    many more."""
    inputs = dict.fromkeys(path for job in jobs for path in (job.content, job.style))
    if jobs and init is not None:
        inputs[init] = None
    several = [path for path in inputs if animation.frame_count(path)[0] > 1]
    if not several:
        return
    names = ", ".join(f"'{path}'" for path in several[:shown])
    more = f" and {len(several) - shown} more" if len(several) > shown else ""
    reporter.message(f"warning: {names}{more} {'holds' if len(several) == 1 else 'hold'}"
                     " several frames or pages; the first is used")  # fmt: skip


def _report_manifest_repairs(manifest: Manifest, reporter: Reporter) -> None:
    if manifest.dropped_tail:
        reporter.message(f"note: {manifest.path}: dropped an incomplete last line (a job that"
                         " was being recorded when the batch stopped; it runs again)")  # fmt: skip
    if manifest.bad_lines:
        reporter.message(f"warning: {manifest.path}: skipped {manifest.bad_lines} line(s) that"
                         " are not JSON objects")  # fmt: skip


def make_executor(request: BatchRequest, setup: WorkerSetup,
                  reporter: Reporter | None = None) -> Executor:  # fmt: skip
    """The executor the request asks for, its workers set up with ``setup``; a worker in
    this process reports every iteration to ``reporter``."""
    from stylize.batch.local import InProcessExecutor, ProcessExecutor, gpu_ids, worker_setups

    if request.executor == "ray":
        from stylize.batch.ray_actors import RayExecutor

        return RayExecutor(setup, request.jobs, request.address)
    jobs = request.jobs or 1
    if jobs == 1:
        return InProcessExecutor(setup, reporter.iteration if reporter else None)
    return ProcessExecutor(worker_setups(setup, jobs, gpu_ids(request.settings.device)))


def summary(counts: Counts, out_dir: Path, seconds: float, executor: str, workers: int,
            stopped: str | None = None) -> dict:  # fmt: skip
    """The ``--json`` object of a batch."""
    ran = counts.done + counts.failed
    return {
        "out": str(out_dir),
        "manifest": str(out_dir / MANIFEST_NAME),
        "jobs": counts.total,
        "done": counts.done,
        "skipped": counts.skipped,
        "failed": counts.failed,
        "remaining": counts.total - counts.skipped - ran,
        "seconds": round(seconds, 3),
        "seconds_per_job": round(seconds / ran, 3) if ran else None,
        "executor": executor,
        "workers": workers,
        "interrupted": bool(stopped),
        "signal": stopped,
        "failures": counts.failures,
    }


def summary_line(result: dict) -> str:
    """The one line on stderr at the end of a batch."""
    line = (f"{result['jobs']} jobs: {result['done']} done, {result['skipped']} skipped,"
            f" {result['failed']} failed")  # fmt: skip
    if result["remaining"]:
        line += f", {result['remaining']} not run"
    return f"batch: {line} (manifest: {result['manifest']})"


def dumps(result: dict) -> str:
    return json.dumps(clean_json(result))
