"""``stylize run`` from parsed options to written files: validation before TensorFlow is
imported, the optimization with progress, signals and checkpoints, then the outputs."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stylize import images
from stylize.config import INIT_CHOICES, Settings, parse_layer_weights
from stylize.errors import (
    ConfigError,
    DivergedError,
    ImageError,
    ResourceError,
    StylizeError,
)
from stylize.files import atomic_write_text
from stylize.progress import ProgressDisplay
from stylize.weights import default_weights_path, load_vgg19

SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


def settings_from_options(options: dict) -> Settings:
    """Build Settings from the CLI's option values (raises ConfigError naming the option)."""
    return Settings(
        iterations=options["iterations"],
        optimizer=options["optimizer"],
        learning_rate=options["learning_rate"],
        alpha=options["alpha"],
        beta=options["beta"],
        tv_weight=options["tv_weight"],
        init=options["init"],
        noise_ratio=options["noise_ratio"],
        pooling=options["pooling"],
        max_size=options["max_size"],
        scales=options["scales"],
        style_scale=options["style_scale"],
        style_weights=_parse_weights(options["style_weights"]),
        preserve_colors=options["preserve_colors"],
        seed=options["seed"],
        device=options["device"],
        precision=options["precision"],
        save_every=options["save_every"],
        content_layers=parse_layer_weights("content-layers", options["content_layers"]),
        style_layers=parse_layer_weights("style-layers", options["style_layers"]),
    )


def _parse_weights(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        message = f"--style-weights must be numbers separated by commas, got {text!r}"
        raise ConfigError(message) from None


@dataclass
class Inputs:
    """Everything a run reads, loaded and checked before TensorFlow is imported."""

    settings: Settings
    output: Path
    content: np.ndarray
    styles: list[np.ndarray]
    init_image: np.ndarray | None
    weights: object
    weights_seconds: float
    extra_outputs: dict[str, Path | None] = field(default_factory=dict)


def load_inputs(options: dict) -> Inputs:
    """Check every option, output path, image and the weights file; raise on the first bad."""
    settings = settings_from_options(options)
    settings.blend_weights(len(options["style"]))
    overwrite = options["overwrite"]
    output = images.check_output_path(options["output"] or _default_output(options), overwrite)
    extra = _check_extra_outputs(options, output, settings, overwrite)
    content = images.load_image(options["content"], role="content image")
    styles = [images.load_image(p, role="style image") for p in options["style"]]
    init_image = None
    if settings.init not in INIT_CHOICES:
        init_image = images.load_image(settings.init, role="--init image")
    began = time.perf_counter()
    weights = load_vgg19(options["weights"] or default_weights_path(), settings.deepest_layer)
    weights_seconds = time.perf_counter() - began
    size = images.fit_within(content.shape[1], content.shape[0], settings.max_size)
    if min(size) < images.MIN_SIDE:
        raise ConfigError(f"--max-size {settings.max_size} makes the output {size[0]}x{size[1]};"
                          f" expected at least {images.MIN_SIDE} pixels on each side")  # fmt: skip
    content = images.resize(content, size)
    return Inputs(settings, output, content, styles, init_image, weights, weights_seconds, extra)


def _default_output(options: dict) -> Path:
    styles = "+".join(Path(p).stem for p in options["style"])
    return Path(f"{Path(options['content']).stem}_{styles}.png")


def _check_extra_outputs(options, output, settings, overwrite) -> dict[str, Path | None]:
    extra = {
        name: images.check_output_path(options[name], overwrite) if options[name] else None
        for name in ("loss_plot", "contact_sheet")
    }
    history = options["history"]
    if history:
        _check_plain_output(Path(history), overwrite)
    extra["history"] = history
    if settings.save_every:
        for iteration in range(settings.save_every, settings.iterations + 1, settings.save_every):
            images.check_output_path(images.intermediate_path(output, iteration), overwrite)
    return extra


def _check_plain_output(path: Path, overwrite: bool) -> None:
    if not path.parent.is_dir():
        raise ImageError(f"--history '{path}': folder '{path.parent}' does not exist")
    if path.exists() and not overwrite:
        raise ImageError(f"--history '{path}': file already exists (pass --overwrite)")


class Interrupted(StylizeError):
    """A signal arrived before any image existed: nothing is written."""

    def __init__(self, signal_name: str):
        super().__init__(
            f"interrupted by {signal_name} before the first iteration; nothing written"
        )
        self.exit_code = SIGNAL_EXIT_CODES[signal_name]


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    def handler(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_command(options: dict) -> tuple[dict, int, str | None]:
    """Run ``stylize run``; return the JSON summary, the exit code and a note for stderr.

    A signal before the first iteration raises Interrupted (nothing is written); after it,
    the best image so far is written and the exit code is 130 (SIGINT) or 143 (SIGTERM).
    """
    with sigterm_raises():
        try:
            return _run(options)
        except KeyboardInterrupt:
            raise Interrupted("SIGINT") from None
        except Terminated:
            raise Interrupted("SIGTERM") from None


def _run(options: dict) -> tuple[dict, int, str | None]:
    inputs = load_inputs(options)
    from stylize.device import resolve_device  # TensorFlow is imported from here on
    from stylize.transfer import Stylizer, Transfer

    settings = inputs.settings
    seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
    device = resolve_device(settings.device, settings.precision)
    # One run never returns to an earlier size: keep only the current scale's graph.
    stylizer = Stylizer(inputs.weights, settings, device, max_graphs=1)
    transfer = Transfer(stylizer, inputs.content, inputs.styles, seed, inputs.init_image)
    recorder = Recorder(transfer, inputs, quiet=options["quiet"])
    stopped, error = recorder.optimize()
    if not transfer.has_image:
        raise error or Interrupted(stopped)
    result = transfer.finish()
    stylizer.close()
    recorder.write_outputs(result)
    summary = _summary(inputs, result, stylizer.device, recorder, stopped)
    if stopped:
        note = (f"interrupted by {stopped} at iteration {result.iterations}; the best image so"
                f" far was written to {inputs.output}")  # fmt: skip
        return summary, SIGNAL_EXIT_CODES[stopped], note
    if error:
        return summary, error.exit_code, f"{error} (written to {inputs.output})"
    return summary, 0, None


class Recorder:
    """Consumes a Transfer's progress: display, history, checkpoints and contact-sheet panels."""

    def __init__(self, transfer, inputs: Inputs, quiet: bool):
        self.transfer, self.inputs = transfer, inputs
        self.display = ProgressDisplay(transfer.total, quiet=quiet)
        self.history: list[dict] = []
        self.panels: list[tuple[str, np.ndarray]] = []

    def optimize(self) -> tuple[str | None, StylizeError | None]:
        """Run to the end; return (signal name or None, the error that stopped it or None)."""
        from stylize._tf import tf

        try:
            for progress in self.transfer.run():
                self._record(progress)
        except KeyboardInterrupt:
            return "SIGINT", None
        except Terminated:
            return "SIGTERM", None
        except DivergedError as error:
            return None, error
        except tf.errors.ResourceExhaustedError:
            height, width = self.inputs.content.shape[:2]
            return None, ResourceError(
                f"out of memory optimizing a {width}x{height} image; lower --max-size"
            )
        finally:
            self.display.close()
        return None, None

    def _record(self, progress) -> None:
        c = progress.costs
        scale = f" scale {progress.scale}/{progress.scales}" if progress.scales > 1 else ""
        detail = f"J={c.J:.4g} (content {c.J_content:.4g}, style {c.J_style:.4g}){scale}"
        self.display.update(progress.iteration, detail, progress.elapsed)
        self.history.append({"iteration": progress.iteration, "seconds": progress.elapsed,
                             "J": c.J, "J_content": c.J_content, "J_style": c.J_style,
                             "scale": progress.scale})  # fmt: skip
        save_every = self.inputs.settings.save_every
        if save_every and progress.iteration % save_every == 0:
            path = images.intermediate_path(self.inputs.output, progress.iteration)
            images.save_image(path, self.transfer.image_of(progress))
        if self._sheet_panel_due(progress.iteration):
            self.panels.append(
                (f"iteration {progress.iteration}", self.transfer.image_of(progress))
            )

    def _sheet_panel_due(self, iteration: int) -> bool:
        """Three snapshots for the contact sheet, at a quarter, half and three quarters."""
        if not self.inputs.extra_outputs.get("contact_sheet"):
            return False
        quarter = self.transfer.total / 4
        return any(iteration == max(1, round(quarter * k)) for k in (1, 2, 3))

    def write_outputs(self, result) -> None:
        """The image, then the optional history, loss plot and contact sheet."""
        images.save_image(self.inputs.output, result.image)
        extra = self.inputs.extra_outputs
        if extra.get("history"):
            lines = "".join(json.dumps(record) + "\n" for record in self.history)
            atomic_write_text(extra["history"], lines)
        if extra.get("loss_plot"):
            from stylize.report import loss_plot

            rows = [(r["iteration"], r["J"], r["J_content"], r["J_style"]) for r in self.history]
            loss_plot(rows, extra["loss_plot"])
        if extra.get("contact_sheet"):
            from stylize.report import contact_sheet

            panels = [("content", self.inputs.content)]
            panels += [(f"style {i + 1}", s) for i, s in enumerate(self.inputs.styles)]
            contact_sheet([*panels, *self.panels, ("result", result.image)], extra["contact_sheet"])


def _summary(inputs: Inputs, result, device: str, recorder: Recorder, stopped) -> dict:
    height, width, _ = result.image.shape
    settings = {**inputs.settings.as_dict(), "seed": result.seed}
    return {
        "output": str(inputs.output),
        "width": width,
        "height": height,
        "iterations": result.iterations,
        "seconds": round(result.seconds, 4),
        "setup_seconds": round(result.setup_seconds + inputs.weights_seconds, 4),
        "J": result.costs.J,
        "J_content": result.costs.J_content,
        "J_style": result.costs.J_style,
        "seed": result.seed,
        "device": device,
        "interrupted": bool(stopped),
        "signal": stopped,
        "settings": settings,
    }
