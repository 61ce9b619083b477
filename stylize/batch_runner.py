"""``stylize batch`` from parsed options to a finished folder: plan the jobs, open the
manifest, skip what is finished, run the rest and sum up. The command line is in
``stylize.cli_batch``; this module is imported only when the command runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from stylize.batch import (
    Batch,
    Counts,
    Reporter,
    all_pairs,
    collect_images,
    plan_jobs,
    prepare_out_dir,
    read_pairs,
    remove_stale_temporaries,
    summary,
)
from stylize.batch_manifest import MANIFEST_NAME, Manifest
from stylize.config import INIT_CHOICES, Settings
from stylize.errors import InputError, StylizeError
from stylize.progress import ProgressDisplay
from stylize.runner import SIGNAL_EXIT_CODES


class BatchInterrupted(StylizeError):
    """A signal while the batch was starting or stopping, outside the jobs' loop."""

    def __init__(self, name: str):
        super().__init__(f"interrupted by {name}; finished jobs stay recorded in the manifest,"
                         " run the same command again to finish")  # fmt: skip
        self.exit_code = SIGNAL_EXIT_CODES[name]


def run_batch(options: dict, reporter: Reporter) -> dict:
    """Plan, skip what is finished, run the rest; return the summary. A signal while jobs
    run ends the batch cleanly (summary with ``signal`` set); one before raises."""
    from stylize.runner import Terminated, sigterm_raises

    with sigterm_raises():
        try:
            return _run_batch(options, reporter)
        except KeyboardInterrupt:
            raise BatchInterrupted("SIGINT") from None
        except Terminated:
            raise BatchInterrupted("SIGTERM") from None


def _run_batch(options: dict, reporter: Reporter) -> dict:
    from stylize.runner import Terminated

    settings = _settings(options)
    init_image = _early_checks(options, settings)
    jobs = plan_jobs(_pairs(options), options["template"], options["out"], settings.max_size)
    out_dir = prepare_out_dir(options["out"], [*options["content"], *options["style"]])
    with Manifest(out_dir / MANIFEST_NAME) as manifest:
        _report_manifest_repairs(manifest, reporter)
        remove_stale_temporaries(out_dir, jobs)
        batch = Batch(jobs, out_dir, settings, manifest, options["force"], reporter)
        pending = batch.pending()
        began, stopped = time.perf_counter(), None
        if pending:
            try:
                batch.run(lambda: _executor(options, settings, init_image), pending)
            except KeyboardInterrupt:
                stopped = "SIGINT"
            except Terminated:
                stopped = "SIGTERM"
            finally:
                if batch.executor is not None:
                    batch.executor.close(abort=stopped is not None)
        else:
            reporter.started(0, batch.counts)
    seconds = time.perf_counter() - began
    return summary(batch.counts, out_dir, seconds, options["executor"], batch.slots, stopped)


def _settings(options: dict) -> Settings:
    """Settings from the options (which carry ``stylize run``'s defaults for the options
    batch does not have); one style per job, no snapshots."""
    from stylize.runner import settings_from_options

    return settings_from_options({**options, "style_weights": None, "save_every": 0})


def _early_checks(options: dict, settings: Settings):
    """Refuse what would fail only once jobs start; return the --init image (or None)."""
    if options["address"] and options["executor"] != "ray":
        raise InputError("--address is for --executor ray")
    if options["executor"] == "ray":
        from stylize.ray_executor import import_ray

        import_ray()
    elif settings.precision == "bfloat16":
        _check_local_bfloat16(settings)
    if settings.init in INIT_CHOICES:
        return None
    from stylize import images

    return images.load_image(settings.init, role="--init image")


def _check_local_bfloat16(settings: Settings) -> None:
    """Refuse bfloat16 on this machine's CPU before the output folder is touched. Workers
    that will have a GPU check theirs with TensorFlow; Ray's run on other machines."""
    from stylize.batch_workers import gpu_ids
    from stylize.cpu import cpu_flags, require_bfloat16

    if settings.device == "gpu" or (settings.device == "auto" and gpu_ids("auto")):
        return
    require_bfloat16(cpu_flags())


def _pairs(options: dict):
    """The (content, style, output) triples the options name."""
    if options["pairs"] != "all":
        if options["content"] or options["style"]:
            raise InputError("--pairs FILE.csv names the images itself: drop --content/--style")
        return read_pairs(Path(options["pairs"]))
    contents = collect_images(options["content"], "content", lambda: sys.stdin)
    styles = collect_images(options["style"], "style")
    return all_pairs(contents, styles)


def _report_manifest_repairs(manifest: Manifest, reporter: Reporter) -> None:
    if manifest.dropped_tail:
        reporter.message(f"note: {manifest.path}: dropped an incomplete last line (a job that"
                         " was being recorded when the batch stopped; it runs again)")  # fmt: skip
    if manifest.bad_lines:
        reporter.message(f"warning: {manifest.path}: skipped {manifest.bad_lines} line(s) that"
                         " are not JSON objects")  # fmt: skip


def _executor(options: dict, settings: Settings, init_image):
    """The executor the options ask for, with the weights loaded."""
    from stylize.batch_workers import (
        InProcessExecutor,
        ProcessExecutor,
        WorkerSetup,
        gpu_ids,
        worker_setups,
    )
    from stylize.weights import default_weights_path, load_vgg19

    weights = load_vgg19(options["weights"] or default_weights_path(), settings.deepest_layer)
    setup = WorkerSetup(weights, settings, init_image)
    if options["executor"] == "ray":
        from stylize.ray_executor import RayExecutor

        return RayExecutor(setup, options["jobs"], options["address"])
    jobs = options["jobs"] or 1
    if jobs == 1:
        return InProcessExecutor(setup)
    return ProcessExecutor(worker_setups(setup, jobs, gpu_ids(settings.device)))


class ProgressReporter(Reporter):
    """An overall bar on stderr (jobs done of those to run, time left), and one line per
    failed job even with --quiet."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.display: ProgressDisplay | None = None

    def started(self, pending: int, counts: Counts) -> None:
        if counts.skipped and not self.quiet:
            self.message(f"{counts.skipped} of {counts.total} jobs already done; {pending} to run")
        self.display = ProgressDisplay(pending, quiet=self.quiet, label="job", unit="job")

    def job_finished(self, record: dict, counts: Counts) -> None:
        if record["status"] != "ok":
            self.message(f"failed: {record['content']} + {record['style']}: {record['error']}")
        detail = f"{counts.failed} failed" if counts.failed else "no failures"
        self.display.update(counts.done + counts.failed, f"{detail}  last: {record['output']}")

    def message(self, text: str) -> None:
        (self.display or ProgressDisplay(0, quiet=self.quiet)).message(text)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
