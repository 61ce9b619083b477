"""``stylize run`` from a request to written files: every input checked before TensorFlow is
imported, the optimization with progress, signals and checkpoints, then the outputs."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stylize import images, masks, outputs, prepare
from stylize.config import Settings
from stylize.errors import (
    DivergedError,
    ImageError,
    InputError,
    ResourceError,
    StylizeError,
)
from stylize.files import atomic_write_text, check_writable
from stylize.image_formats import check_output_size
from stylize.progress import ProgressDisplay, seconds_left
from stylize.signals import (
    SIGNAL_EXIT_CODES,
    deferred,
    held,
    interrupted_before_work,
    settle,
    stoppable,
)
from stylize.weights import VggWeights


@dataclass(frozen=True)
class RunRequest:
    """One ``stylize run``: the settings, the files it reads and the files it writes (None:
    not asked for). ``overwrite`` lets outputs replace files; ``quiet`` hides progress."""

    settings: Settings
    content: Path
    styles: tuple[Path, ...]
    output: Path
    weights: Path
    history: Path | None = None
    loss_plot: Path | None = None
    contact_sheet: Path | None = None
    overwrite: bool = False
    quiet: bool = False
    style_masks: tuple[Path, ...] = ()  # one per style, in the same order, or none
    mask: Path | None = None  # where the image may change (white) or must not (black)


@dataclass(frozen=True)
class RunOutcome:
    """What the command reports: the ``--json`` summary, the exit code, a line for stderr
    (None when all went well) and the signal that stopped the run, if one did."""

    summary: dict
    exit_code: int
    note: str | None = None
    signal: str | None = None


def default_output(content: Path, styles: tuple[Path, ...]) -> Path:
    """``<content-stem>_<style-stem>[+<style-stem>...].png`` in the current folder."""
    return Path(f"{content.stem}_{'+'.join(style.stem for style in styles)}.png")


@dataclass
class Inputs:
    """Everything a run reads, loaded and checked before TensorFlow is imported."""

    request: RunRequest
    content: np.ndarray
    styles: list[np.ndarray]
    init_image: np.ndarray | None
    weights: VggWeights
    weights_seconds: float
    style_masks: list[np.ndarray] | None = None  # (H, W) 0-1 at the output size
    keep: np.ndarray | None = None

    @property
    def settings(self) -> Settings:
        return self.request.settings


def load_inputs(request: RunRequest) -> Inputs:
    """Check every output path, image and the weights file; raise on the first bad one."""
    settings = request.settings
    settings.blend_weights(len(request.styles))
    check_outputs(request)
    content = images.load_image(request.content, role="content image",
                                bit_depth=settings.bit_depth)  # fmt: skip
    content = prepare.fit_content(content, request.content, settings.max_size)
    size = (content.shape[1], content.shape[0])
    check_output_size(request.output, size, settings.bit_depth)  # and the checkpoints'
    styles = [images.load_image(path, role="style image") for path in request.styles]
    init_image = prepare.load_init_image(settings)
    weights, seconds = prepare.load_weights(request.weights, settings)
    style_masks = prepare.load_style_masks(request.style_masks, len(styles), size)
    keep = None if request.mask is None else masks.load_mask(request.mask, size, "--mask")
    return Inputs(request, content, styles, init_image, weights, seconds, style_masks, keep)


def check_outputs(request: RunRequest) -> None:
    """Refuse, before any work, an output that could not be written or would replace a file
    without ``overwrite``, two outputs that are one file, an output that is an input, and a
    checkpoint that exists already."""
    overwrite = request.overwrite
    images.check_output_path(request.output, overwrite, request.settings.bit_depth)
    if request.loss_plot:
        from stylize.report import check_plot_path  # matplotlib is imported only to draw

        check_plot_path(request.loss_plot, overwrite)
    if request.contact_sheet:
        sheet = request.contact_sheet
        images.check_output_path(sheet, overwrite, label=f"--contact-sheet '{sheet}'")
    if request.history:
        check_writable(request.history, f"--history '{request.history}'", overwrite, ImageError)
    extra = {"--history": request.history, "--loss-plot": request.loss_plot,
             "--contact-sheet": request.contact_sheet}  # fmt: skip
    extra = {label: path for label, path in extra.items() if path}
    outputs.check_distinct({"the output image": request.output, **extra}, _inputs(request))
    settings = request.settings
    if settings.save_every:
        outputs.check_checkpoints(request.output, settings.save_every, settings.iterations,
                                  overwrite, extra, _inputs(request))  # fmt: skip


def _inputs(request: RunRequest) -> dict[str, Path]:
    named = {"content image": request.content, "weights file": request.weights}
    named.update({f"style image {i + 1}": path for i, path in enumerate(request.styles)})
    named.update({f"style mask {i + 1}": path for i, path in enumerate(request.style_masks)})
    if request.mask:
        named["--mask image"] = request.mask
    if request.settings.init_file is not None:
        named["--init image"] = request.settings.init_file
    return named


def run_command(inputs: Inputs, board=None) -> RunOutcome:
    """Run ``stylize run`` on what ``load_inputs`` checked and loaded (the command checks
    them first, so that a user error is its only line). A signal before the first iteration
    raises Interrupted (nothing is written); after it, the best image so far is written and
    the exit code is 130 (SIGINT) or 143 (SIGTERM); once the outputs are written, one changes
    nothing (``signals.settle``). ``board`` (a ``stylize.preview.Board``) is kept up to date
    for a preview page."""
    with stoppable() as stop:
        return _run(inputs, board)
    raise interrupted_before_work("run", stop.signal)


def _run(inputs: Inputs, board) -> RunOutcome:
    from stylize.device import resolve_device  # TensorFlow is imported from here on
    from stylize.transfer import Stylizer, Transfer

    settings = inputs.settings
    seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
    device = resolve_device(settings.device, settings.precision)
    # One run never returns to an earlier size: keep only the current scale's graph.
    regions = len(inputs.styles) if inputs.style_masks else 0
    stylizer = Stylizer(inputs.weights, settings, device, max_graphs=1, regions=regions,
                        keep_mask=inputs.keep is not None)  # fmt: skip
    transfer = Transfer(stylizer, inputs.content, inputs.styles, seed, inputs.init_image,
                        style_masks=inputs.style_masks, keep=inputs.keep)  # fmt: skip
    recorder = Recorder(transfer, inputs, board)
    # Signals stop the loop; once it has ended they are only recorded, so that a second
    # Ctrl-C or kill cannot discard the result while it is evaluated and written. One that
    # comes after the outputs are written changes nothing: the run is over.
    with deferred() as late:
        stopped, error = recorder.optimize()
        if not transfer.has_image:
            raise error or interrupted_before_work("run", stopped)
        result = transfer.finish()
        stylizer.close()
        try:
            recorder.write_outputs(result)
            stopped = stopped or late.signal
        finally:  # written, or failed with the error the run ends with: the outcome is decided
            settle()
        error = error or recorder.snapshot_error()
        if board is not None:
            board.show(lambda: result.image)
            board.finish("interrupted" if stopped else "failed" if error else "finished")
        unsaved = [path for path, _ in recorder.unsaved]
        return _outcome(inputs, result, stopped, error, transfer, unsaved)


def _outcome(inputs: Inputs, result, stopped: str | None, error: StylizeError | None,
             transfer, unsaved: list[Path]) -> RunOutcome:  # fmt: skip
    """The summary, exit code and closing note of a run whose outputs are written."""
    summary = _summary(inputs, result, transfer.stylizer.device, stopped, transfer)
    summary["snapshots_not_written"] = [str(path) for path in unsaved]
    written = f"{inputs.request.output}{_coarse(result, inputs)}"
    if stopped:
        note = (f"interrupted by {stopped} at iteration {result.iterations}; the best image so"
                f" far was written to {written}")  # fmt: skip
        return RunOutcome(summary, SIGNAL_EXIT_CODES[stopped], note, stopped)
    if error:
        return RunOutcome(summary, error.exit_code, f"{error} (written to {written})")
    return RunOutcome(summary, 0)


def _coarse(result, inputs: Inputs) -> str:
    """A note when an interrupted or failed --scales run stopped before full size: what was
    written is the coarser scale's image (its width and height are in --json too)."""
    (height, width), (full_height, full_width) = result.image.shape[:2], inputs.content.shape[:2]
    if (width, height) == (full_width, full_height):
        return ""
    return (f" at {width}x{height}, the size of the scale it reached; the full size is"
            f" {full_width}x{full_height}")  # fmt: skip


class Recorder:
    """Consumes a Transfer's progress: display, history, checkpoints and contact-sheet panels."""

    def __init__(self, transfer, inputs: Inputs, board=None):
        self.transfer, self.inputs, self.request = transfer, inputs, inputs.request
        self.display = ProgressDisplay(transfer.total, quiet=self.request.quiet,
                                       stages=transfer.stages)  # fmt: skip
        self.history: list[dict] = []
        self.panels: list[tuple[str, np.ndarray]] = []
        self.unsaved: list[tuple[Path, ImageError]] = []  # --save-every snapshots not written
        self.feed = None
        transfer.stylizer.on_tile = self._tile_done
        if not self.request.quiet:
            transfer.stylizer.on_note = self.display.message
        if board is not None:
            from stylize.preview.feed import ProgressFeed

            self.feed = ProgressFeed(board)
            board.start_job(job_label(self.request.content, self.request.styles,
                                      self.request.output), transfer.total)  # fmt: skip

    def optimize(self) -> tuple[str | None, StylizeError | None]:
        """Run to the end; return (signal name or None, the error that stopped it or None)."""
        from stylize._tf import tf

        try:
            with stoppable() as stop:
                for progress in self.transfer.run():
                    self._record(progress)
        except DivergedError as error:
            return None, error
        except tf.errors.ResourceExhaustedError:
            height, width = self.inputs.content.shape[:2]
            return None, ResourceError(
                f"out of memory optimizing a {width}x{height} image; lower --max-size"
            )
        finally:
            self.display.close()
        return stop.signal, None

    def _tile_done(self, name: str, done: int, count: int) -> None:
        self.display.within(f"{name}, tile {done}/{count}")

    def _record(self, progress) -> None:
        c = progress.costs
        scale = f" scale {progress.scale}/{progress.scales}" if progress.scales > 1 else ""
        detail = f"J={c.J:.4g} (content {c.J_content:.4g}, style {c.J_style:.4g}){scale}"
        self.display.update(progress.iteration, detail, progress.elapsed)
        self.history.append({"iteration": progress.iteration, "seconds": progress.elapsed,
                             "J": c.J, "J_content": c.J_content, "J_style": c.J_style,
                             "scale": progress.scale})  # fmt: skip
        if self.feed is not None:
            left = seconds_left(progress.iteration, progress.iterations, progress.elapsed,
                                self.transfer.stages)  # fmt: skip
            self.feed.step(progress, self.transfer, left)
        save_every = self.inputs.settings.save_every
        if save_every and progress.iteration % save_every == 0:
            self._snapshot(progress)
        if self._sheet_panel_due(progress.iteration):
            self.panels.append(
                (f"iteration {progress.iteration}", self.transfer.image_of(progress))
            )

    def _snapshot(self, progress) -> None:
        """Write a --save-every snapshot. One that cannot be written (a full disk, a folder
        gone) is a warning and the run goes on: hours of work are worth more than one
        snapshot, and the output may still be written (snapshot_error reports it then). A
        signal during the write waits for its end: raised inside a library's writer, it left
        the snapshot unwritten and made imageio print an ignored AttributeError."""
        path = images.intermediate_path(self.request.output, progress.iteration)
        try:
            with held():
                images.save_image(path, self.transfer.image_of(progress))
        except ImageError as error:
            self.unsaved.append((path, error))
            self.display.message(f"warning: --save-every: {error}; the run goes on")

    def snapshot_error(self) -> ImageError | None:
        """The error a run ends with when snapshots could not be written (exit code 2, as
        for the other outputs), once the output is written; None when all were."""
        if not self.unsaved:
            return None
        return ImageError(f"--save-every: {len(self.unsaved)} snapshot(s) not written, the"
                          f" first because {self.unsaved[0][1]}")  # fmt: skip

    def _sheet_panel_due(self, iteration: int) -> bool:
        """Three snapshots for the contact sheet, at a quarter, half and three quarters."""
        if not self.request.contact_sheet:
            return False
        quarter = self.transfer.total / 4
        return any(iteration == max(1, round(quarter * k)) for k in (1, 2, 3))

    def write_outputs(self, result) -> None:
        """The image, then the optional history, loss plot and contact sheet. A file that
        cannot be written (a full disk) raises InputError naming it; those before it stay."""
        request = self.request
        images.save_image(request.output, result.image)
        if request.history:
            lines = "".join(json.dumps(record) + "\n" for record in self.history)
            with _writing("--history", request.history, request.output):
                atomic_write_text(request.history, lines)
        if request.loss_plot:
            from stylize.report import loss_plot

            rows = [(r["iteration"], r["J"], r["J_content"], r["J_style"]) for r in self.history]
            with _writing("--loss-plot", request.loss_plot, request.output):
                loss_plot(rows, request.loss_plot, scale_starts(self.history))
        if request.contact_sheet:
            from stylize.report import contact_sheet

            panels = [("content", self.inputs.content)]
            panels += [(f"style {i + 1}", s) for i, s in enumerate(self.inputs.styles)]
            with _writing("--contact-sheet", request.contact_sheet, request.output):
                contact_sheet([*panels, *self.panels, ("result", result.image)],
                              request.contact_sheet)  # fmt: skip


@contextlib.contextmanager
def _writing(option: str, path: Path, image: Path) -> Iterator[None]:
    """Turn a failure to write ``path``, the report of ``option``, into one line naming it
    and saying that the image ``image`` was written all the same."""
    try:
        yield
    except ImageError as error:  # save_image's own line already names the file
        raise ImageError(f"{error}; the image was written to {image}") from error
    except OSError as error:
        raise InputError(f"{option} '{path}': cannot write ({error.strerror or error}); the"
                         f" image was written to {image}") from error  # fmt: skip


def scale_starts(history: list[dict]) -> list[int]:
    """The iterations at which scale 2, 3, ... of a --scales run began."""
    return [
        now["iteration"]
        for before, now in zip(history, history[1:], strict=False)
        if now["scale"] != before["scale"]
    ]


def job_label(content: Path, styles: tuple[Path, ...], output: Path) -> str:
    """'content.jpg + style.jpg -> output.png': one job, for a preview page."""
    return f"{content.name} + {' + '.join(style.name for style in styles)} -> {output}"


def _summary(inputs: Inputs, result, device: str, stopped: str | None, transfer) -> dict:
    height, width, _ = result.image.shape
    settings = {**inputs.settings.as_dict(), "seed": result.seed}
    return {
        "output": str(inputs.request.output),
        "width": width,
        "height": height,
        "iterations": result.iterations,
        "seconds": round(result.seconds, 4),
        "setup_seconds": round(result.setup_seconds + inputs.weights_seconds, 4),
        "J": result.costs.J,
        "J_content": result.costs.J_content,
        "J_style": result.costs.J_style,
        "seed": result.seed,
        "weights": str(inputs.weights.path),
        "style_masks": [str(path) for path in inputs.request.style_masks],
        "mask": str(inputs.request.mask) if inputs.request.mask else None,
        "device": device,
        "precision": transfer.settings.precision,
        "tiling": transfer.tiling,
        "schedule": [
            {"width": size[0], "height": size[1], "iterations": count, "learning_rate": rate}
            for (size, count), rate in zip(transfer.plan, transfer.rates, strict=True)
        ],
        "interrupted": bool(stopped),
        "signal": stopped,
        "settings": settings,
    }
