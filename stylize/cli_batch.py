"""``stylize batch``: many content and style images in one process (or a pool, or a Ray
cluster), resumable, with a manifest. Registered on the ``stylize`` group in ``stylize.cli``
(import this module through ``stylize.cli``, which it imports for the shared options).
The work is done in ``stylize.batch_runner``, imported when the command runs; TensorFlow
and Ray only once jobs are about to.
"""

from __future__ import annotations

import sys

import click

from stylize.cli import RUN_OPTIONS, ReportedError, _path, run, with_options
from stylize.errors import StylizeError

DEFAULT_TEMPLATE = "{content}_{style}.png"

# Options of ``stylize run`` that name one job's files or shape its output: batch has its
# own (--content, --style, --out, --template, --force, --seed, --quiet, --json) or none.
NOT_SHARED = frozenset(
    [
        "content",
        "style",
        "output",
        "style_weights",
        "save_every",
        "history",
        "loss_plot",
        "contact_sheet",
        "overwrite",
        "seed",
        "quiet",
        "as_json",
    ]
)


def _option_name(decorator) -> str:
    def probe():
        pass

    decorator(probe)
    return probe.__click_params__[0].name


BATCH_OPTIONS = [
    click.option("--content", multiple=True, type=_path(),
                 help="Content image or folder of images; repeat for more. '-' reads paths"
                      " from stdin, one per line."),
    click.option("--style", multiple=True, type=_path(),
                 help="Style image or folder; repeat for more. Each style is its own job"
                      " (to blend styles, use stylize run)."),
    click.option("--pairs", default="all", show_default=True,
                 help="'all': every content with every style; or a CSV file of rows"
                      " content,style[,output] (then no --content/--style)."),
    click.option("--out", required=True, type=_path(file_okay=False),
                 help="Output folder (created if missing); holds manifest.jsonl."),
    click.option("--template", default=DEFAULT_TEMPLATE, show_default=True,
                 help="Output name inside --out: fields {content} {style} (file stems),"
                      " {content_dir} {style_dir} (folder names); the extension picks the"
                      " format; may contain subfolders."),
    click.option("--force", is_flag=True, help="Redo jobs the manifest records as finished."),
    *[option for option in RUN_OPTIONS if _option_name(option) not in NOT_SHARED],
    click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=None,
                 help="Start every job from this seed (each job's output is then what"
                      " stylize run --seed gives).  [default: random per job, in the manifest]"),
    click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
                 show_default=True, help="local: this machine; ray: a Ray cluster."),
    click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                 help="Workers. local: processes, one per GPU (N > 1 on CPUs splits the cores);"
                      " ray: actors.  [default: local 1; ray one per GPU, else per node]"),
    click.option("--address", default=None,
                 help="Ray cluster to join (auto, HOST:6379 or ray://HOST:10001)."
                      "  [default: start a local Ray instance]"),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar (the summary line stays)."),
    click.option("--json", "as_json", is_flag=True,
                 help="Print a JSON summary on stdout at the end."),
]  # fmt: skip


@click.command("batch", short_help="Stylize many images: resumable, with a manifest.")
@with_options(BATCH_OPTIONS)
def batch_command(**options) -> None:
    """Stylize every content image with every style image (or the pairs of a CSV file)
    into one folder. Weights are loaded once per worker, graphs built once per output size.
    A job is skipped when OUT/manifest.jsonl records it as finished with the same inputs and
    settings and its output exists, so running the same command again after a crash or
    Ctrl-C finishes the rest.

    \b
    Examples:
      stylize batch --content photos/ --style styles/ --out stylized/
      ls frames/*.png | stylize batch --content - --style monet.jpg --out video/ --seed 1
      stylize batch --pairs pairs.csv --out out/ --executor ray --address auto

    Exit codes: 0 every job done, 1 a job failed (see the manifest), 2 bad usage or input,
    130 or 143 interrupted (run the same command again to finish).
    """
    from stylize.batch import dumps, summary_line
    from stylize.batch_runner import SIGNAL_EXIT_CODES, ProgressReporter, run_batch

    options = {**{param.name: param.default for param in run.params}, **options}
    reporter = ProgressReporter(quiet=options["quiet"])
    try:
        result = run_batch(options, reporter)
    except StylizeError as error:
        raise ReportedError(error) from None
    finally:
        reporter.close()
    if options["as_json"]:
        click.echo(dumps(result))
    stopped = result["signal"]
    prefix = f"Stopped by {stopped}: " if stopped else ""
    again = "; run the same command again to finish" if stopped else ""
    click.echo(f"{prefix}{summary_line(result)}{again}", err=True)
    if stopped:
        sys.exit(SIGNAL_EXIT_CODES[stopped])
    sys.exit(1 if result["failed"] else 0)
