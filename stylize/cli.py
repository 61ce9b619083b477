"""The ``stylize`` command line. Heavy modules (TensorFlow) are imported only inside commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from stylize import __version__
from stylize.config import (
    DEVICE_CHOICES,
    OPTIMIZER_CHOICES,
    POOLING_CHOICES,
    PRECISION_CHOICES,
    PRESERVE_COLORS_CHOICES,
    Settings,
)
from stylize.errors import StylizeError


class ReportedError(click.ClickException):
    """A StylizeError shown as one ``Error: ...`` line with the error's exit code."""

    def __init__(self, error: StylizeError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class OneLineErrors(click.Group):
    """Reports every click error (bad option value, unknown option, missing argument) as a
    single ``Error: ...`` line on stderr, with click's exit code, instead of usage text."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except NO_ARGS_IS_HELP as error:  # plain ``stylize``: the help text, as click shows it
            click.echo(error.format_message(), err=True)
            sys.exit(error.exit_code)
        except click.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            click.echo(f"Error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(
    cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="stylize")
def main() -> None:
    """Neural style transfer (Gatys et al.) on MatConvNet's VGG-19, in TensorFlow."""


def _path(**kwargs):
    return click.Path(path_type=Path, **kwargs)


_D = Settings()
RUN_OPTIONS = [
    click.option("--content", required=True, type=_path(), help="Photo whose layout is kept."),
    click.option("--style", required=True, multiple=True, type=_path(),
                 help="Painting whose textures are transferred; repeat to blend several."),
    click.option("--output", "-o", type=_path(),
                 help="Result image; its extension picks the format."
                      "  [default: <content>_<style>.png in the current folder]"),
    click.option("--weights", type=_path(),
                 help="VGG-19 .mat file.  [default: $STYLIZE_WEIGHTS, else"
                      " weights/imagenet-vgg-verydeep-19.mat]"),
    click.option("--iterations", type=int, default=_D.iterations, show_default=True,
                 help="Optimizer iterations (L-BFGS: cost evaluations), over all scales."),
    click.option("--optimizer", type=click.Choice(OPTIMIZER_CHOICES), default=_D.optimizer,
                 show_default=True, help="adam (classic) or lbfgs (fewer iterations needed)."),
    click.option("--learning-rate", type=float, default=_D.learning_rate, show_default=True,
                 help="Adam step size, in pixel values."),
    click.option("--alpha", type=float, default=_D.alpha, show_default=True,
                 help="Weight of the content cost in J."),
    click.option("--beta", type=float, default=_D.beta, show_default=True,
                 help="Weight of the style cost in J."),
    click.option("--tv-weight", type=float, default=_D.tv_weight, show_default=True,
                 help="Weight of the total-variation (smoothness) term in J."),
    click.option("--content-layers", default="conv4_2", show_default=True,
                 help="Content layers, NAME[:WEIGHT],..."),
    click.option("--style-layers", default=",".join(f"{n}:{w:g}" for n, w in _D.style_layers),
                 show_default=True, help="Style layers, NAME[:WEIGHT],..."),
    click.option("--style-weights", default=None,
                 help="Blend weights of the --style images, e.g. 0.7,0.3.  [default: equal]"),
    click.option("--style-scale", type=float, default=_D.style_scale, show_default=True,
                 help="Size of the style image relative to the output before its Grams are taken."),
    click.option("--init", default=_D.init, show_default=True,
                 help="Start image: noise, content, style or an image PATH."),
    click.option("--noise-ratio", type=float, default=None,
                 help="Share of uniform(-20, 20) noise in the start image, 0 to 1."
                      "  [default: 0.6 with --init noise, else 0]"),
    click.option("--preserve-colors", type=click.Choice(PRESERVE_COLORS_CHOICES),
                 default=_D.preserve_colors, show_default=True,
                 help="Keep the content's colours: luminance-only transfer, or the style"
                      " recoloured to the content's colour histogram."),
    click.option("--pooling", type=click.Choice(POOLING_CHOICES), default=_D.pooling,
                 show_default=True, help="Pooling between VGG blocks."),
    click.option("--max-size", type=int, default=_D.max_size, show_default=True,
                 help="Longest side of the output in pixels (the content is scaled down)."),
    click.option("--scales", type=int, default=_D.scales, show_default=True,
                 help="Coarse-to-fine: optimize at 1/2^(N-1) of the size first, doubling up."),
    click.option("--seed", type=int, default=None,
                 help="Seed for the start noise.  [default: random, reported by --json]"),
    click.option("--device", type=click.Choice(DEVICE_CHOICES), default=_D.device,
                 show_default=True, help="auto takes a GPU when TensorFlow sees one."),
    click.option("--precision", type=click.Choice(PRECISION_CHOICES), default=_D.precision,
                 show_default=True,
                 help="Arithmetic of the VGG layers. bfloat16 is about 1.8x faster on CPUs"
                      " with AVX512_BF16 or AMX (costs stay float32; J differs by ~0.3%)."),
    click.option("--save-every", type=int, default=0, show_default=True,
                 help="Also write the image every N iterations, as <output>_<iteration>."),
    click.option("--history", type=_path(),
                 help="Write every iteration's costs and seconds to this JSON-lines file."),
    click.option("--loss-plot", type=_path(),
                 help="Write a PNG of J, J_content and J_style per iteration (log scale)."),
    click.option("--contact-sheet", type=_path(),
                 help="Write a PNG of content, styles, checkpoints and result side by side."),
    click.option("--overwrite", is_flag=True, help="Replace existing output files."),
    click.option("--quiet", "-q", is_flag=True, help="No progress on stderr."),
    click.option("--json", "as_json", is_flag=True,
                 help="Print a JSON summary on stdout at the end."),
]  # fmt: skip


def with_options(options):
    """Apply a list of click options to a command, first option first in --help."""

    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@main.command()
@with_options(RUN_OPTIONS)
def run(**options) -> None:
    """Stylize one content image with one or more style images.

    \b
    Examples:
      stylize run --content images/content.jpg --style images/style.jpg
      stylize run --content photo.jpg --style a.jpg --style b.jpg --style-weights 0.7,0.3
      stylize run --content photo.jpg --style a.jpg --optimizer lbfgs --iterations 100

    Exit codes: 0 written, 1 failure while running, 2 bad usage or input,
    130 or 143 interrupted (the best image so far is written).
    """
    from stylize.runner import run_command

    try:
        summary, exit_code, note = run_command(options)
    except StylizeError as error:
        raise ReportedError(error) from None
    click.echo(json.dumps(summary) if options["as_json"] else summary["output"])
    if note:
        click.echo(f"{'Stopped' if exit_code in (130, 143) else 'Error'}: {note}", err=True)
    if exit_code:
        sys.exit(exit_code)


from stylize.cli_weights import weights_command  # noqa: E402

main.add_command(weights_command, "weights")

from stylize.cli_batch import batch_command  # noqa: E402

main.add_command(batch_command, "batch")
