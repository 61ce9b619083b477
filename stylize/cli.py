"""The ``stylize`` command line. Heavy modules (TensorFlow) are imported only inside commands."""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

import click

from stylize import __version__
from stylize.config import DEVICE_CHOICES, POOLING_CHOICES, Settings
from stylize.errors import StylizeError


class _ReportedError(click.ClickException):
    """A StylizeError shown as one ``Error: ...`` line with the error's exit code."""

    def __init__(self, error: StylizeError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stylize")
def main() -> None:
    """Neural style transfer (Gatys et al.) on MatConvNet's VGG-19, in TensorFlow."""


@main.command()
@click.option(
    "--content", required=True, type=click.Path(path_type=Path), help="Photo whose layout is kept."
)
@click.option(
    "--style",
    required=True,
    type=click.Path(path_type=Path),
    help="Painting whose textures and colours are transferred.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Result image; its extension picks the format."
    "  [default: <content>_<style>.png in the current folder]",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    help="VGG-19 .mat file.  [default: $STYLIZE_WEIGHTS, else"
    " weights/imagenet-vgg-verydeep-19.mat]",
)
@click.option(
    "--iterations",
    type=int,
    default=Settings.iterations,
    show_default=True,
    help="Optimizer iterations.",
)
@click.option(
    "--learning-rate",
    type=float,
    default=Settings.learning_rate,
    show_default=True,
    help="Adam step size, in pixel values.",
)
@click.option(
    "--alpha",
    type=float,
    default=Settings.alpha,
    show_default=True,
    help="Weight of the content cost in J.",
)
@click.option(
    "--beta",
    type=float,
    default=Settings.beta,
    show_default=True,
    help="Weight of the style cost in J.",
)
@click.option(
    "--noise-ratio",
    type=float,
    default=Settings.noise_ratio,
    show_default=True,
    help="Share of uniform(-20, 20) noise in the start image, 0 to 1.",
)
@click.option(
    "--pooling",
    type=click.Choice(POOLING_CHOICES),
    default=Settings.pooling,
    show_default=True,
    help="Pooling between VGG blocks.",
)
@click.option(
    "--max-size",
    type=int,
    default=Settings.max_size,
    show_default=True,
    help="Longest side of the output in pixels (the content is scaled down).",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed for the start noise.  [default: random, reported by --json]",
)
@click.option(
    "--device",
    type=click.Choice(DEVICE_CHOICES),
    default=Settings.device,
    show_default=True,
    help="auto takes a GPU when TensorFlow sees one.",
)
@click.option(
    "--save-every",
    type=int,
    default=0,
    show_default=True,
    help="Also write the image every N iterations, as <output>_<iteration>.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout at the end.")
def run(**options) -> None:
    """Stylize one content image with one style image.

    \b
    Example:
      stylize run --content images/content.jpg --style images/style.jpg
    """
    try:
        summary = _run(options)
    except StylizeError as error:
        raise _ReportedError(error) from None
    if options["as_json"]:
        click.echo(json.dumps(summary))
    else:
        click.echo(summary["output"])


def _settings(options: dict) -> Settings:
    return Settings(
        iterations=options["iterations"],
        learning_rate=options["learning_rate"],
        alpha=options["alpha"],
        beta=options["beta"],
        noise_ratio=options["noise_ratio"],
        pooling=options["pooling"],
        max_size=options["max_size"],
        seed=options["seed"],
        device=options["device"],
        save_every=options["save_every"],
    )


def _default_output(content: Path, style: Path) -> Path:
    return Path(f"{content.stem}_{style.stem}.png")


def _run(options: dict) -> dict:
    """Validate every input before importing TensorFlow, then optimize and write."""
    from stylize import images, weights

    settings = _settings(options)
    output = options["output"] or _default_output(options["content"], options["style"])
    output = images.check_output_path(output, options["overwrite"])
    content = images.load_image(options["content"], role="content image")
    style = images.load_image(options["style"], role="style image")
    weights_path = options["weights"] or weights.default_weights_path()
    deepest = max(settings.layers_used, key=weights.VGG19_LAYERS.index)
    began = time.perf_counter()
    vgg = weights.load_vgg19(weights_path, deepest)
    load_seconds = time.perf_counter() - began
    width, height = images.fit_within(content.shape[1], content.shape[0], settings.max_size)
    content = images.resize(content, (width, height))
    style = images.resize(style, (width, height))
    result = _optimize(content, style, vgg, settings, output, options["quiet"])
    images.save_image(output, result.image)
    return _summary(output, result, settings, load_seconds)


def _optimize(content, style, vgg, settings: Settings, output: Path, quiet: bool):
    from stylize import images
    from stylize.device import resolve_device
    from stylize.optimize import Transfer

    seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
    transfer = Transfer(content, style, vgg, settings, resolve_device(settings.device), seed)
    report = ProgressReport(settings.iterations, quiet=quiet)
    for progress in transfer.run():
        report(progress)
        if settings.save_every and progress.iteration % settings.save_every == 0:
            images.save_image(
                images.intermediate_path(output, progress.iteration), transfer.image()
            )
    return transfer.finish()


def _summary(output: Path, result, settings: Settings, load_seconds: float) -> dict:
    height, width, _ = result.image.shape
    return {
        "output": str(output),
        "width": width,
        "height": height,
        "iterations": result.iterations,
        "seconds": round(result.seconds, 4),
        "setup_seconds": round(result.setup_seconds + load_seconds, 4),
        "J": result.costs.J,
        "J_content": result.costs.J_content,
        "J_style": result.costs.J_style,
        "seed": result.seed,
        "device": result.device,
        "settings": {**settings.as_dict(), "seed": result.seed},
    }


class ProgressReport:
    """Writes a progress line to stderr about twenty times per run, and on the last iteration."""

    def __init__(self, total: int, quiet: bool = False, stream=None):
        self.total, self.quiet = total, quiet
        self.stream = stream or sys.stderr
        self.every = max(1, total // 20)

    def __call__(self, progress) -> None:
        if self.quiet or (progress.iteration % self.every and progress.iteration != self.total):
            return
        rate = progress.iteration / progress.elapsed if progress.elapsed > 0 else 0.0
        left = (self.total - progress.iteration) / rate if rate else 0.0
        c = progress.costs
        self.stream.write(
            f"iteration {progress.iteration}/{self.total}  J={c.J:.4g}"
            f" (content {c.J_content:.4g}, style {c.J_style:.4g})"
            f"  {rate:.2f} it/s  {_duration(left)} left\n"
        )
        self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
