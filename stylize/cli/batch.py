"""``stylize batch``: many content and style images in one process (or a pool, or a Ray
cluster), resumable, with a manifest. The work is done in ``stylize.batch``, imported when
the command runs; TensorFlow and Ray only once jobs are about to."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from stylize.cli.errors import reports_errors
from stylize.cli.options import (
    JOB_SETTINGS,
    path,
    settings_from_options,
    warn_if_random,
    weights_path,
    with_options,
)
from stylize.cli.preview import preview_board
from stylize.signals import SIGNAL_EXIT_CODES

DEFAULT_TEMPLATE = "{content}_{style}.png"

OWN_OPTIONS = {
    "content": click.option("--content", multiple=True, type=path(),
                            help="Content image or folder of images; repeat for more. '-' reads"
                                 " paths from stdin, one per line."),
    "style": click.option("--style", multiple=True, type=path(),
                          help="Style image or folder; repeat for more. Each style is its own"
                               " job (to blend styles, use stylize run)."),
    "pairs": click.option("--pairs", default="all", show_default=True,
                          help="'all': every content with every style; or a CSV file of rows"
                               " content,style[,output] (then no --content/--style)."),
    "out": click.option("--out", required=True, type=path(file_okay=False),
                        help="Output folder (created if missing); holds manifest.jsonl."),
    "template": click.option("--template", default=DEFAULT_TEMPLATE, show_default=True,
                             help="Output name inside --out: fields {content} {style} (file"
                                  " stems), {content_ext} {style_ext} (their extensions,"
                                  " without the dot), {content_dir} {style_dir} (folder"
                                  " names); the extension picks the format; may contain"
                                  " subfolders."),
    "mask_template": click.option("--mask-template", default=None,
                                  help="Each job's --mask (white: may change, black: kept as"
                                       " the content), a path with the --template fields,"
                                       " e.g. masks/{content}.png."),
    "force": click.option("--force", is_flag=True,
                          help="Redo jobs the manifest records as finished."),
    "seed": click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=None,
                         help="Start every job from this seed (each job's output is then what"
                              " stylize run --seed gives).  [default: random per job, in the"
                              " manifest]"),
    "executor": click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
                             show_default=True, help="local: this machine; ray: a Ray cluster."),
    "jobs": click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                         help="Workers. local: processes, one per GPU (N > 1 on CPUs splits the"
                              " cores); ray: actors.  [default: local 1; ray one per GPU, else"
                              " per node]"),
    "address": click.option("--address", default=None,
                            help="Ray cluster to join (auto, HOST:6379 or ray://HOST:10001)."
                                 "  [default: start a local Ray instance]"),
    "quiet": click.option("--quiet", "-q", is_flag=True,
                          help="No progress bar (the summary line stays)."),
}  # fmt: skip


@click.command("batch", short_help="Stylize many images: resumable, with a manifest.")
@with_options(
    "content", "style", "pairs", "out", "template", "mask_template", "force", *JOB_SETTINGS,
    "seed", "executor",
    "jobs", "address", "preview", "preview_host", "quiet", "as_json", own=OWN_OPTIONS,
)  # fmt: skip
@reports_errors
def batch_command(**options) -> None:
    """Stylize every content image with every style image (or the pairs of a CSV file)
    into one folder. Weights are loaded once per worker, its graph built once (a size
    computed in tiles has its own).
    A job is skipped when OUT/manifest.jsonl records it as finished with the same inputs and
    settings and its output exists, so running the same command again after a crash or
    Ctrl-C finishes the rest.

    \b
    Examples:
      stylize batch --content photos/ --style styles/ --out stylized/
      find shoot/ -name '*.jpg' | stylize batch --content - --style monet.jpg --out styled/
      stylize batch --pairs pairs.csv --out out/ --executor ray --address auto

    Exit codes: 0 every job done, 1 a job failed (see the manifest), 2 bad usage or input,
    130 or 143 interrupted (run the same command again to finish).
    """
    from stylize.batch.command import dumps, summary_line

    request = batch_request(options)
    with preview_board(options, "stylize batch") as preview:
        result = _run(request, options["quiet"], preview)
    stopped = result["signal"]
    prefix = f"Stopped by {stopped}: " if stopped else ""
    again = "; run the same command again to finish" if stopped else ""
    try:
        if options["as_json"]:
            click.echo(dumps(result))
    finally:  # a stdout that cannot be written (cli.group) keeps the summary on stderr
        click.echo(f"{prefix}{summary_line(result)}{again}", err=True)
    if stopped:
        sys.exit(SIGNAL_EXIT_CODES[stopped])
    sys.exit(1 if result["failed"] else 0)


def _run(request, quiet: bool, preview) -> dict:
    """The batch with its progress on stderr and, with a preview, on the page. The page's
    address and the warnings are said as the jobs are about to run, once the batch has
    checked its inputs, outputs and weights: a user error is its only line."""
    from stylize.batch.command import run_batch
    from stylize.batch.progress import BoardReporter, ProgressReporter, Reporters

    def say() -> None:
        preview.announce()
        warn_if_random(request.weights)

    progress = ProgressReporter(quiet=quiet)
    reporters = [progress, _at_start(say)]  # first: Reporters gives it the messages
    if preview.board is not None:
        reporters.append(BoardReporter(preview.board, live=_live(request)))
    try:
        result = run_batch(request, Reporters(*reporters))
    finally:
        progress.close()
    if preview.board is not None:
        preview.board.finish("interrupted" if result["signal"] else "finished")
    return result


def _at_start(say: Callable[[], None]):
    """A batch reporter that calls ``say`` when the jobs are about to run."""
    from stylize.batch.driver import Reporter

    class AtStart(Reporter):
        def started(self, jobs, counts) -> None:
            say()

    return AtStart()


def _live(request) -> bool:
    """Whether the one worker runs in this process, so a preview can follow iterations."""
    return request.executor == "local" and (request.jobs or 1) == 1


def batch_request(options: dict):
    """The parsed options as a ``stylize.batch.command.BatchRequest``."""
    from stylize.batch.command import BatchRequest

    return BatchRequest(
        settings=settings_from_options(options),
        weights=weights_path(options),
        out=options["out"],
        contents=tuple(options["content"]),
        styles=tuple(options["style"]),
        pairs=options["pairs"],
        template=options["template"],
        force=options["force"],
        executor=options["executor"],
        jobs=options["jobs"],
        address=options["address"],
        mask_template=options["mask_template"],
    )
