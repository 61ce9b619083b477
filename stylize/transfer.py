"""One style transfer from images to image: colours, sizes and scales, start image, the
optimizer loop, the best image kept, and the final evaluation. Graphs come from the
Stylizer, which reuses them across scales and jobs."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from stylize import colors, images, masks
from stylize.config import Settings
from stylize.errors import DivergedError, ResourceError
from stylize.images import postprocess, preprocess
from stylize.optimize import Costs, Step, TransferGraph, noise_image
from stylize.schedule import plan_scales, scale_learning_rates
from stylize.stylizer import Stylizer, largest_core
from stylize.tiled import TiledGraph


@dataclass(frozen=True)
class Progress:
    """One finished iteration (1-based, counted over all scales) with the costs of the image
    it evaluated, seconds of optimization so far, and the scale it ran at (1-based)."""

    iteration: int
    iterations: int
    costs: Costs
    elapsed: float
    scale: int = 1
    scales: int = 1
    image: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Result:
    """The image to write, (H, W, 3) uint8 (uint16 with ``Settings.bit_depth`` 16), and the
    costs of exactly that image."""

    image: np.ndarray
    costs: Costs
    iterations: int
    seconds: float
    setup_seconds: float
    seed: int


class Transfer:
    """A job: ``content`` (H, W, 3) uint8 (or uint16) at the output size, ``styles`` (any
    sizes), their blend weights from the settings, a seed and an optional start image.
    Iterate ``run()``, then call ``finish()``; ``finish`` also works after an interruption
    or a divergence. ``content_key`` and ``style_keys`` (checksums, say) let the Stylizer
    reuse targets across jobs; style targets are not reused with colour preservation,
    which recolours each style after its content."""

    def __init__(self, stylizer: Stylizer, content: np.ndarray, styles: Sequence[np.ndarray],
                 seed: int, init_image: np.ndarray | None = None,
                 content_key: object = None,
                 style_keys: Sequence[object] | None = None,
                 style_masks: Sequence[np.ndarray] | None = None,
                 keep: np.ndarray | None = None,
                 start: np.ndarray | None = None,
                 temporal: tuple[np.ndarray, np.ndarray] | None = None,
                 iterations: int | None = None,
                 plan: Sequence[tuple[tuple[int, int], int]] | None = None,
                 rates: Sequence[float] | None = None):  # fmt: skip
        # A video frame after the first: ``start`` (H, W, 3) uint8 is the start image as it
        # is (no noise, one scale, ``iterations`` of them), and ``temporal`` is the warped
        # previous stylized frame, (H, W, 3) uint8, with its (H, W) consistency in [0, 1].
        # ``plan``, ((width, height), iterations) per scale ending at the content's size,
        # replaces the schedule the settings would choose (benchmarks compare schedules);
        # ``rates``, Adam's step per scale of it, replaces schedule.scale_learning_rates.
        if stylizer.settings.preserve_colors == "luminance":  # optimized as luminance
            start, init_image = _gray(start), _gray(init_image)
            if temporal is not None:
                temporal = (_gray(temporal[0]), temporal[1])
        self.start_image, self.temporal = start, temporal
        # Spatial control: one (H, W) mask 0-1 per style at the output size (the Stylizer
        # built with regions=len(styles)), and where the image may change (keep_mask=True).
        if keep is None and stylizer.keep_mask:  # a graph with a keep mask, a job without one
            keep = np.ones(content.shape[:2], np.float32)
        self.style_masks, self.keep = style_masks, keep
        self.content_key = content_key
        recoloured = stylizer.settings.preserve_colors != "none"  # styles depend on the content
        self.style_keys = [None] * len(styles) if recoloured or not style_keys else style_keys
        self.stylizer, self.settings, self.seed = stylizer, stylizer.settings, seed
        self.mean = stylizer.weights.mean_pixel
        self.original_content = content
        self.content, self.styles = self._recolour(content, list(styles))
        self.blend = self.settings.blend_weights(len(self.styles))
        self.init_image = init_image
        self._schedule(plan, iterations, rates)
        self.setup_seconds = self.seconds = 0.0
        self.done = 0
        self.graph: TransferGraph | None = None
        self.start: np.ndarray | None = None
        self.best: Step | None = None
        self.previous: np.ndarray | None = None
        self._reached: tuple[np.ndarray, Costs] | None = None  # see _prepare_scale
        self._iterator: Iterator[Progress] | None = None

    def _schedule(self, plan, iterations: int | None, rates) -> None:
        """``sizes``, ``iterations`` and ``rates`` per scale (the scales given iterations)
        and their ``total``, from the plan given or the settings' schedule."""
        height, width, _ = self.original_content.shape
        if plan is None:
            budget = iterations if iterations is not None else self.settings.iterations
            scales = 1 if self.start_image is not None else self.settings.scales
            plan = plan_scales(budget, width, height, scales, self.settings.scale_ratio)
        if not plan or plan[-1][0] != (width, height):
            raise ValueError(f"a plan must end at the content's size {width}x{height}")
        sizes = [size for size, _ in plan]
        rates = rates or scale_learning_rates(self.settings.learning_rate, sizes)
        if len(rates) != len(plan):
            raise ValueError(f"{len(rates)} learning rates for a plan of {len(plan)} scales")
        kept = [k for k, (_, share) in enumerate(plan) if share]  # none of them run empty
        self.sizes, self.iterations = [sizes[k] for k in kept], [plan[k][1] for k in kept]
        adam = self.settings.optimizer == "adam"
        self.rates = [rates[k] if adam else None for k in kept]  # Adam's step; L-BFGS has none
        self.total = sum(self.iterations)

    def _recolour(self, content, styles):
        mode = self.settings.preserve_colors
        if mode == "luminance":
            styles = [colors.match_luminance(style, content) for style in styles]
            return colors.gray_image(content), styles
        if mode == "histogram":
            return content, [colors.match_color_histogram(style, content) for style in styles]
        return content, styles

    def run(self) -> Iterator[Progress]:
        """Optimize scale by scale, yielding one Progress per iteration.

        Raises DivergedError when J stops being finite; ``finish`` then returns the best
        finite image.
        """
        self._iterator = self._run()
        return self._iterator

    def _run(self) -> Iterator[Progress]:
        if len(self.sizes) > 1:  # a full size that cannot fit is refused before coarse work
            self.stylizer.plan(*self.sizes[-1])
        for index, (size, iterations) in enumerate(zip(self.sizes, self.iterations, strict=True)):
            self._prepare_scale(index, size)
            began = time.perf_counter()
            steps = self._steps(iterations, self.rates[index])
            try:
                for step in steps:
                    self._keep_best(step)
                    self.done += 1
                    elapsed = self.seconds + time.perf_counter() - began
                    yield Progress(self.done, self.total, step.costs, elapsed, index + 1,
                                   len(self.sizes), step.image)  # fmt: skip
            finally:
                steps.close()  # ends the optimizer's loop before anything else uses the graph
                self.seconds += time.perf_counter() - began

    def _steps(self, iterations: int, rate: float | None) -> Iterator[Step]:
        if self.settings.optimizer == "lbfgs":
            return self.graph.lbfgs(self.start, iterations)
        return self.graph.adam(self.start, iterations, rate)

    def _keep_best(self, step: Step) -> None:
        if not math.isfinite(step.costs.J) and not self.done:
            raise DivergedError(
                f"J is {step.costs.J} from the first iteration, so there is no image to keep;"
                f" nothing written. The weighted costs overflow float32: {self._overflow_hint()}"
            )
        if not math.isfinite(step.costs.J):
            raise DivergedError(
                f"J became {step.costs.J} at iteration {self.done + 1}; the last finite image is"
                " kept. Try a lower --learning-rate (or --optimizer lbfgs)"
            )
        if self.best is None or step.costs.J < self.best.costs.J:
            self.best = step

    def _overflow_hint(self) -> str:
        """What to lower when J overflows: the cost weights this run gives, and the weights
        file, whose kernels scale every activation (defaults cannot overflow alone)."""
        s, default = self.settings, Settings()
        given = [option for option, value, usual in (
            ("--alpha", s.alpha, default.alpha), ("--content-ratio", s.content_ratio, None),
            ("--beta", s.beta, default.beta), ("--tv-weight", s.tv_weight, 0.0),
            ("--content-layers", s.content_layers, default.content_layers),
            ("--style-layers", s.style_layers, default.style_layers),
        ) if value != usual]  # fmt: skip
        if self.temporal is not None and self.stylizer.temporal_weight:
            given.append("--temporal-weight")
        if not given:
            return "the cost weights are the defaults, so check the weights file (stylize weights)"
        return f"lower {', '.join(given)}, or check the weights file (stylize weights)"

    def _prepare_scale(self, index: int, size: tuple[int, int]) -> None:
        began = time.perf_counter()
        if index:
            self.previous, costs = self._settled()
            # What finish() returns if a signal stops the run before this scale's first
            # step: by then the previous graph may be closed and this one half built.
            self._reached = self._finished(self.previous, costs)
        self.best = None
        self.graph = self.stylizer.graph(*size)
        content = preprocess(images.resize(self.content, size), self.mean)
        features = self.stylizer.content_features(self.graph, content, self.content_key)
        keep = None if self.keep is None else masks.resize_mask(self.keep, size)[None, :, :, None]
        self.graph.set_targets(features, *self._style_targets(size), keep=keep,
                               temporal=self._temporal_targets(size))  # fmt: skip
        if self.start_image is not None:
            self.start = preprocess(images.resize(self.start_image, size), self.mean)
        elif self.previous is None:
            self.start = self._initial(content, size)
        else:
            self.start = preprocess(images.resize(self.previous, size), self.mean)
        if keep is not None:  # kept pixels start as the content; grey is blended by finish()
            self.start = np.where(keep > 0, self.start, content)
        self.setup_seconds += time.perf_counter() - began

    def _temporal_targets(self, size: tuple[int, int]):
        """(warped previous frame, preprocessed (1, H, W, 3); consistency (1, H, W, 1)) at
        this size, or None without a previous frame."""
        if self.temporal is None:
            return None
        warped, consistency = self.temporal
        consistency = masks.resize_mask(consistency, size)[None, :, :, None]
        return preprocess(images.resize(warped, size), self.mean), consistency

    def _style_targets(self, size: tuple[int, int]) -> tuple[dict, list]:
        """(blended Grams, []) for a classic run; ({}, [(Grams, layer masks) per style])
        with style masks."""
        grams = self._style_grams(size)
        if self.style_masks is None:
            return self._blend(grams), []
        names = [name for name, _ in self.settings.style_layers]
        weights = self.stylizer.weights
        regions = [(style_grams, masks.layer_masks(masks.resize_mask(mask, size), weights, names))
                   for style_grams, mask in zip(grams, self.style_masks, strict=True)]  # fmt: skip
        return {}, regions

    def _style_grams(self, size: tuple[int, int]) -> list[dict[str, np.ndarray] | None]:
        """Each style's own Grams at this output size (None for a style of weight 0)."""
        factor = self.settings.style_scale
        style_size = (max(1, round(size[0] * factor)), max(1, round(size[1] * factor)))
        found: list[dict[str, np.ndarray] | None] = []
        for style, weight, key in zip(self.styles, self.blend, self.style_keys, strict=True):
            if weight == 0 and self.style_masks is None:  # a region's targets are always set
                found.append(None)
                continue
            found.append(self.stylizer.style_grams(
                key, style_size, lambda im=style: self._grams(im, style_size, size)
            ))  # fmt: skip
        return found

    def _blend(self, grams: list[dict[str, np.ndarray] | None]) -> dict[str, np.ndarray]:
        blended: dict[str, np.ndarray] = {}
        for style_grams, weight in zip(grams, self.blend, strict=True):
            for name, gram in (style_grams or {}).items():
                blended[name] = blended.get(name, 0) + weight * gram
        return blended

    def _grams(self, style: np.ndarray, style_size: tuple[int, int],
               size: tuple[int, int]) -> dict[str, np.ndarray]:  # fmt: skip
        if style_size == size:
            return self.graph.style_grams(preprocess(images.resize(style, size), self.mean))
        try:  # before the resize: a style too large for memory is refused, not allocated
            plan = self.stylizer.plan(*style_size)
        except ResourceError as error:
            raise ResourceError(
                f"--style-scale {self.settings.style_scale:g} scales the style image to"
                f" {style_size[0]}x{style_size[1]} px for its Grams, which does not fit in"
                f" memory (lower --style-scale): {error}"
            ) from None
        image = preprocess(images.resize(style, style_size), self.mean)
        return self.stylizer.grams_at_size(image, plan)

    def _initial(self, content: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        init = self.settings.init
        if self.init_image is not None:
            base = preprocess(images.resize(self.init_image, size), self.mean)
        elif init == "style":
            base = preprocess(images.resize(self.styles[0], size), self.mean)
        else:
            base = content
        rng = np.random.default_rng(self.seed)
        return noise_image(base, self.settings.start_noise_ratio, rng)

    def _settled(self) -> tuple[np.ndarray, Costs]:
        """The lowest-cost image of the current scale at the output's bit depth, (H, W, 3)
        uint8 or uint16: the best evaluated iterate or the latest one (whose costs the loop
        has not seen yet), with the costs of that rounded image (see _scored). Each distinct
        candidate is evaluated once: at print size a forward pass takes minutes, and after
        L-BFGS the latest iterate usually is the best one."""
        candidates: list[tuple[np.ndarray, np.ndarray]] = []  # (image, what is scored)
        for candidate in (self.graph.current(), self.best.image):
            if np.all(np.isfinite(candidate)):
                image = postprocess(candidate, self.mean, self.settings.bit_depth)
                judged = self._scored(image)
                if not any(np.array_equal(judged, seen) for _, seen in candidates):
                    candidates.append((image, judged))
        scored = []
        for image, judged in candidates:
            costs = self.graph.evaluate(preprocess(judged, self.mean))
            scored.append((costs.J if math.isfinite(costs.J) else math.inf, image, costs))
        if not scored:  # the best iterate had a finite J, so its pixels are finite
            raise DivergedError("the image became NaN or infinite; nothing written")
        _, image, costs = min(scored, key=lambda entry: entry[0])
        return image, costs

    def _scored(self, image: np.ndarray) -> np.ndarray:
        """What a settled image's costs are of: itself, or with luminance transfer the gray
        luminance of the image written from it (the iterate itself is coloured by its RGB
        start noise and per-channel gradient, and its colours are not written)."""
        if self.settings.preserve_colors != "luminance":
            return image
        return colors.gray_image(self._written(image))

    def image_of(self, progress: Progress) -> np.ndarray:
        """The image a Progress record evaluated, as ``picture`` makes it."""
        return self.picture(progress.image)

    def picture(self, generated: np.ndarray) -> np.ndarray:
        """A preprocessed (1, H, W, 3) iterate (a Step's image) as the (H, W, 3) image it
        stands for at the output's bit depth (uint8 or uint16), made as finish() makes the
        output: colours restored, the content's pixels kept where a keep mask is black."""
        return self._written(postprocess(generated, self.mean, self.settings.bit_depth))

    def _written(self, image: np.ndarray) -> np.ndarray:
        """A settled or snapshot image at the output's bit depth as the image written."""
        return self._kept(self._restore(image), self.original_content)

    def _restore(self, image: np.ndarray) -> np.ndarray:
        if self.settings.preserve_colors != "luminance":
            return image
        content = images.resize(self.original_content, (image.shape[1], image.shape[0]))
        return colors.restore_chroma(image, content)

    @property
    def tiling(self) -> dict | None:
        """{"core": px, "tiles": count} of the current scale's graph when it computes in
        tiles (px: the longest side of a core computed, see largest_core), else None."""
        if not isinstance(self.graph, TiledGraph):
            return None
        return {"core": largest_core(self.graph), "tiles": len(self.graph.tiles)}

    @property
    def plan(self) -> list[tuple[tuple[int, int], int]]:
        """((width, height), iterations) of each scale, coarsest first, as planned."""
        return list(zip(self.sizes, self.iterations, strict=True))

    @property
    def stages(self) -> tuple[tuple[int, int], ...]:
        """(iterations, pixels of one) per scale, coarsest first: each iteration's cost, as
        progress.seconds_left takes it."""
        return tuple((count, width * height) for (width, height), count in self.plan)

    @property
    def has_image(self) -> bool:
        """Whether an iteration has finished, so that ``finish`` has an image to return."""
        return self.done > 0

    def finish(self) -> Result:
        """The lowest-cost image at the last scale reached, rounded to the output's bit depth
        (``Settings.bit_depth``), with the costs of exactly that image (for luminance
        transfer: of its luminance)."""
        if self._iterator is not None:
            self._iterator.close()
        if not self.has_image:
            raise RuntimeError("finish() needs at least one finished iteration")
        if self.best is None:  # stopped before this scale's first step: the previous one's
            image, final = self._reached
        else:
            image, final = self._finished(*self._settled())
        return Result(self._written(image), final, self.done, self.seconds, self.setup_seconds,
                      self.seed)  # fmt: skip

    def _finished(self, image: np.ndarray, costs: Costs) -> tuple[np.ndarray, Costs]:
        """A settled image of the current scale and the costs finish() reports for it: with a
        keep mask, those of its composite with the content, the image written (with luminance
        transfer _settled scored that composite's luminance already). The image is returned
        unblended: finish() blends it once, in the output's colours (blending twice would
        weigh a grey mask's image by the square of its level)."""
        if self.keep is None or self.settings.preserve_colors == "luminance":
            return image, costs
        composite = self._kept(image, self.content)
        return image, self.graph.evaluate(preprocess(composite, self.mean))

    def _kept(self, image: np.ndarray, source: np.ndarray) -> np.ndarray:
        """With a keep mask, ``source`` (resized to ``image``) exactly where it is black."""
        if self.keep is None:
            return image
        size = (image.shape[1], image.shape[0])
        return masks.composite(
            image, images.resize(source, size), masks.resize_mask(self.keep, size)
        )


def _gray(image: np.ndarray | None) -> np.ndarray | None:
    """The gray image of an image's luminance, of its type (None for None)."""
    return None if image is None else colors.gray_image(image)
