"""``stylize run``: one content image with one or more styles. The work is done by
``stylize.runner``, imported when the command runs."""

from __future__ import annotations

import json
import sys

import click

from stylize.cli.errors import reports_errors
from stylize.cli.options import (
    path,
    settings_from_options,
    warn_if_animated,
    warn_if_random,
    weights_path,
    with_options,
)
from stylize.cli.preview import preview_board

OWN_OPTIONS = {
    "content": click.option("--content", required=True, type=path(),
                            help="Photo whose layout is kept."),
    "style": click.option("--style", required=True, multiple=True, type=path(),
                          help="Painting whose textures are transferred; repeat to blend"
                               " several."),
    "output": click.option("--output", "-o", type=path(),
                           help="Result image; its extension picks the format."
                                "  [default: <content>_<style>.png in the current folder]"),
    "seed": click.option("--seed", type=int, default=None,
                         help="Seed for the start noise.  [default: random, reported by"
                              " --json]"),
    "save_every": click.option("--save-every", type=int, default=0, show_default=True,
                               help="Also write the image every N iterations, as"
                                    " <output>_<iteration>. One that cannot be written is a"
                                    " warning; the run goes on and exits 2 at the end."),
    "history": click.option("--history", type=path(),
                            help="Write every iteration's costs and seconds to this JSON-lines"
                                 " file."),
    "loss_plot": click.option("--loss-plot", type=path(),
                              help="Write a plot of J, J_content and J_style per iteration (log"
                                   " scale, scale changes marked): .png, .svg or .pdf."),
    "contact_sheet": click.option("--contact-sheet", type=path(),
                                  help="Write an image of content, styles, checkpoints and"
                                       " result side by side: PNG, JPEG, TIFF, WebP or BMP, as"
                                       " its extension says."),
    "overwrite": click.option("--overwrite", is_flag=True, help="Replace existing output files."),
    "style_mask": click.option("--style-mask", multiple=True, type=path(),
                               help="Grayscale image: where the --style of the same position"
                                    " applies (white) or not (black); once per --style."),
    "mask": click.option("--mask", type=path(),
                         help="Grayscale image: only where it is white may the image change;"
                              " where black the output keeps the content's pixels."),
}  # fmt: skip


@click.command("run")
@with_options(
    "content", "style", "output", "weights", "iterations", "optimizer", "learning_rate",
    "alpha", "beta", "content_ratio", "tv_weight", "content_layers", "style_layers",
    "style_weights", "style_mask", "mask",
    "style_scale", "init", "noise_ratio", "preserve_colors", "pooling", "max_size", "scales",
    "scale_ratio", "tile_size", "seed", "device", "precision", "bit_depth",
    "save_every", "history", "loss_plot",
    "contact_sheet",
    "overwrite", "preview", "preview_host", "quiet", "as_json", own=OWN_OPTIONS,
)  # fmt: skip
@reports_errors
def run_command(**options) -> None:
    """Stylize one content image with one or more style images.

    \b
    Examples:
      stylize run --content images/content.jpg --style images/style.jpg
      stylize run --content photo.jpg --style a.jpg --style b.jpg --style-weights 0.7,0.3
      stylize run --content photo.jpg --style a.jpg --optimizer lbfgs --iterations 100 \\
        --content-ratio 1e-3
      stylize run --content photo.jpg --style a.jpg --optimizer lbfgs --scales 2 \\
        --scale-ratio 4 --iterations 100 --content-ratio 1e-3

    Exit codes: 0 written, 1 failure while running, 2 bad usage or input,
    130 or 143 interrupted (the best image so far is written).
    """
    from stylize import runner

    request = run_request(options)
    with preview_board(options, "stylize run") as preview:
        inputs = runner.load_inputs(request)  # a user error is the one line: nothing before it
        preview.announce()
        warn_if_random(request.weights)
        warn_if_animated(request.styles, request.content, request.settings.init_file)
        outcome = runner.run_command(inputs, preview.board)
    try:
        click.echo(json.dumps(outcome.summary) if options["as_json"] else outcome.summary["output"])
    finally:  # a stdout that cannot be written (cli.group) does not hide what went wrong before
        if outcome.note:
            click.echo(f"{'Stopped' if outcome.signal else 'Error'}: {outcome.note}", err=True)
    if outcome.exit_code:
        sys.exit(outcome.exit_code)


def run_request(options: dict):
    """The parsed options as a ``runner.RunRequest`` (ConfigError for a bad setting)."""
    from stylize.runner import RunRequest, default_output

    settings = settings_from_options(options)
    styles = tuple(options["style"])
    return RunRequest(
        settings=settings,
        content=options["content"],
        styles=styles,
        output=options["output"] or default_output(options["content"], styles),
        weights=weights_path(options),
        history=options["history"],
        loss_plot=options["loss_plot"],
        contact_sheet=options["contact_sheet"],
        overwrite=options["overwrite"],
        quiet=options["quiet"],
        style_masks=tuple(options["style_mask"]),
        mask=options["mask"],
    )
