"""The options the commands share, keyed by their parameter names, and the one conversion
from parsed option values to :class:`~stylize.config.Settings` and resolved paths.

A command lists the options it takes by name (``with_options("iterations", ...)``), mixed
with options of its own, so ``stylize run`` and ``stylize batch`` show the same text, type
and default for every setting of a job. Only light modules are imported here, so that
``stylize --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path

import click

from stylize.config import (
    BOTH_CONTENT_WEIGHTS,
    DEVICE_CHOICES,
    MAX_STYLE_SIDE,
    OPTIMIZER_CHOICES,
    POOLING_CHOICES,
    PRECISION_CHOICES,
    PRESERVE_COLORS_CHOICES,
    Settings,
    parse_layer_weights,
)
from stylize.errors import ConfigError


def path(**kwargs) -> click.Path:
    """A click path parameter type that gives a ``pathlib.Path``."""
    return click.Path(path_type=Path, **kwargs)


def typed_weights(context, parameter, value: str | None) -> Path | None:
    """A click callback: --weights (or PATH) as typed, before pathlib drops the ``./`` that
    makes ``./random`` a file (stylize.weights.weights_location)."""
    from stylize.weights import weights_location

    return None if value is None else weights_location(value)


_D = Settings()
OPTIONS: dict[str, Callable] = {
    "weights": click.option("--weights", type=click.Path(), callback=typed_weights,
                            help="VGG-19 .mat file, or random[:SEED] (random weights, real"
                                 " conv shapes) or random-tiny[:SEED] (tiny widths): smoke"
                                 " tests without the download.  [default: $STYLIZE_WEIGHTS,"
                                 " else weights/imagenet-vgg-verydeep-19.mat]"),
    "iterations": click.option("--iterations", type=int, default=_D.iterations,
                               show_default=True,
                               help="Optimizer iterations (L-BFGS: cost evaluations), over all"
                                    " scales."),
    "optimizer": click.option("--optimizer", type=click.Choice(OPTIMIZER_CHOICES),
                              default=_D.optimizer, show_default=True,
                              help="adam (classic) or lbfgs (fewer iterations needed)."),
    "learning_rate": click.option("--learning-rate", type=float, default=_D.learning_rate,
                                  show_default=True,
                                  help="Adam step size, in pixel values (smaller at the later"
                                       " scales above 1024 px: README)."),
    "alpha": click.option("--alpha", type=float, default=_D.alpha, show_default=True,
                          help="Weight of the content cost in J."),
    "beta": click.option("--beta", type=float, default=_D.beta, show_default=True,
                         help="Weight of the style cost in J."),
    "content_ratio": click.option("--content-ratio", type=float, default=None, metavar="R",
                                  help="Weigh content as Gatys et al.'s alpha/beta = R instead"
                                       " of --alpha: the same balance at every size. 1e-3"
                                       " keeps the photo's layout with L-BFGS or long runs;"
                                       " 1e-4 paints more (README).  [default: --alpha]"),
    "tv_weight": click.option("--tv-weight", type=float, default=_D.tv_weight,
                              show_default=True,
                              help="Weight of the total-variation (smoothness) term in J."),
    "content_layers": click.option("--content-layers", default="conv4_2", show_default=True,
                                   help="Content layers, NAME[:WEIGHT],..."),
    "style_layers": click.option("--style-layers",
                                 default=",".join(f"{n}:{w:g}" for n, w in _D.style_layers),
                                 show_default=True, help="Style layers, NAME[:WEIGHT],..."),
    "style_weights": click.option("--style-weights", default=None,
                                  help="Blend weights of the --style images, e.g. 0.7,0.3."
                                       "  [default: equal]"),
    "style_scale": click.option("--style-scale", type=float, default=_D.style_scale,
                                show_default=True, metavar="F",
                                help="Size of the style image relative to the output before"
                                     " its Grams are taken; above 1, F x --max-size at"
                                     f" most {MAX_STYLE_SIDE} px."),
    "init": click.option("--init", default=_D.init, show_default=True,
                         help="Start image: noise, content, style or an image PATH."),
    "noise_ratio": click.option("--noise-ratio", type=float, default=None,
                                help="Share of uniform(-20, 20) noise in the start image, 0 to"
                                     " 1.  [default: 0.6 with --init noise, else 0]"),
    "preserve_colors": click.option("--preserve-colors",
                                    type=click.Choice(PRESERVE_COLORS_CHOICES),
                                    default=_D.preserve_colors, show_default=True,
                                    help="Keep the content's colours: luminance-only transfer,"
                                         " or the style recoloured to the content's colour"
                                         " histogram."),
    "pooling": click.option("--pooling", type=click.Choice(POOLING_CHOICES), default=_D.pooling,
                            show_default=True, help="Pooling between VGG blocks."),
    "max_size": click.option("--max-size", type=int, default=_D.max_size, show_default=True,
                             help="Longest side of the output in pixels (the content is scaled"
                                  " down)."),
    "scales": click.option("--scales", type=int, default=_D.scales, show_default=True,
                           help="Coarse-to-fine: optimize at 1/R^(N-1) of the size first"
                                " (R: --scale-ratio), growing R times. 0: one scale under"
                                " 1024 px, else from about 512 px."),
    "scale_ratio": click.option("--scale-ratio", type=float, default=_D.scale_ratio,
                                show_default=True, metavar="R",
                                help="Sides of each scale over the one before (--scales)."
                                     " With --scales 2, 4 starts 400x300 at 100x75: the"
                                     " fast mode."),
    "tile_size": click.option("--tile-size", type=int, default=_D.tile_size,
                              show_default=True, metavar="PX",
                              help="Compute J and its gradient in tiles with cores of at most"
                                   " PX pixels, exactly (same image as one pass). 0: only when"
                                   " one pass would not fit in memory."),
    "device": click.option("--device", type=click.Choice(DEVICE_CHOICES), default=_D.device,
                           show_default=True, help="auto takes a GPU when TensorFlow sees one."),
    "precision": click.option("--precision", type=click.Choice(PRECISION_CHOICES),
                              default=_D.precision, show_default=True,
                              help="Arithmetic of the VGG layers. bfloat16 is about 1.8x faster"
                                   " on CPUs with AVX512_BF16 or AMX (costs stay float32; J"
                                   " differs by ~0.3%); auto takes it where native, else"
                                   " float32."),
    "bit_depth": click.option("--bit-depth", type=click.Choice(("8", "16")),
                              default=str(_D.bit_depth), show_default=True,
                              help="Bits per channel of the images written. 16 keeps the"
                                   " optimizer's finer levels (smooth gradients for prints and"
                                   " editing); PNG or TIFF only. With 16, a 16-bit PNG or TIFF"
                                   " content or --init is read with all its bits."),
    "quiet": click.option("--quiet", "-q", is_flag=True, help="No progress on stderr."),
    "as_json": click.option("--json", "as_json", is_flag=True,
                            help="Print a JSON summary on stdout at the end."),
    "preview": click.option("--preview", type=click.IntRange(0, 65535), metavar="PORT",
                            help="Serve a live preview page (image, costs, curve) on this"
                                 " port while the run goes on; 0 picks a free port."),
    "preview_host": click.option("--preview-host", default="127.0.0.1", show_default=True,
                                 metavar="HOST",
                                 help="Address the --preview page listens on (0.0.0.0: every"
                                      " interface; anyone who can reach it sees the images)."),
}  # fmt: skip

# The settings of one job that every stylizing command takes, in --help order.
JOB_SETTINGS = ("weights", "iterations", "optimizer", "learning_rate", "alpha", "beta",
                "content_ratio", "tv_weight", "content_layers", "style_layers", "style_scale",
                "init", "noise_ratio", "preserve_colors", "pooling", "max_size", "scales",
                "scale_ratio", "tile_size", "device", "precision", "bit_depth")  # fmt: skip

_SETTINGS_FIELDS = tuple(field.name for field in fields(Settings))


def with_options(*names: str, own: Mapping[str, Callable] | None = None) -> Callable:
    """Apply the named options to a command, first one first in --help: each from the
    command's ``own`` options if it has one of that name, else from OPTIONS."""
    table = {**OPTIONS, **(own or {})}

    def decorate(function):
        for name in reversed(names):
            function = table[name](function)
        return function

    return decorate


def settings_from_options(options: Mapping[str, object]) -> Settings:
    """Settings from parsed option values; a setting the command has no option for keeps
    its default. Raises ConfigError naming the option."""
    values = {name: options[name] for name in _SETTINGS_FIELDS if name in options}
    if values.get("content_ratio") is not None and given("alpha"):
        raise ConfigError(BOTH_CONTENT_WEIGHTS)
    if "bit_depth" in values:
        values["bit_depth"] = int(values["bit_depth"])
    if "style_weights" in values:
        values["style_weights"] = _parse_weights(values["style_weights"])
    for name in ("content_layers", "style_layers"):
        if name in values:
            values[name] = parse_layer_weights(name.replace("_", "-"), values[name])
    return Settings(**values)


def given(name: str) -> bool:
    """Whether the running command's option ``name`` was given (not its default), for an
    option whose default value may also be given on purpose."""
    context = click.get_current_context(silent=True)
    source = context.get_parameter_source(name) if context else None
    return source not in (None, click.core.ParameterSource.DEFAULT)


def weights_path(options: Mapping[str, object]) -> Path:
    """``--weights``, else the default file (``$STYLIZE_WEIGHTS`` or weights/...)."""
    from stylize.weights import default_weights_path

    return options.get("weights") or default_weights_path()


def warn_if_random(weights: Path) -> None:
    """Say on stderr, whatever --quiet says, that a random network is no real VGG-19."""
    from stylize.weights import RANDOM_WARNING, random_spec

    if random_spec(weights) is not None:
        click.echo(RANDOM_WARNING, err=True)


def warn_if_animated(styles, content: Path | None = None, init: Path | None = None) -> None:
    """Say on stderr, whatever --quiet says, which of the images a command reads as pictures
    hold several frames or pages, of which only the first is read; for an animated content
    ``stylize video`` reads, that it does them all. Masks are weights, not pictures: they
    are not looked at."""
    from stylize.animation import VIDEO_FORMATS, frame_count

    named = {"content image": content}
    for number, style in enumerate(styles, start=1):  # numbered as --style-weights counts
        named[f"style image {number}" if len(styles) > 1 else "style image"] = style
    named["--init image"] = init
    for label, path in ((label, path) for label, path in named.items() if path is not None):
        count, kind = frame_count(path)
        if count > 1:
            what = "pages" if kind == "TIFF" else "frames"
            hint = " (stylize video stylizes each frame)" if (
                kind in VIDEO_FORMATS and label == "content image") else ""  # fmt: skip
            click.echo(f"warning: {label} '{path}' has {count} {what}; the first is"
                       f" used{hint}", err=True)  # fmt: skip


def _parse_weights(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        message = f"--style-weights must be numbers separated by commas, got {text!r}"
        raise ConfigError(message) from None
