"""Run settings: one frozen dataclass holding every option and its default."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from stylize.errors import ConfigError
from stylize.layers import FEATURE_LAYERS, activation_layer

LayerWeights = tuple[tuple[str, float], ...]

DEFAULT_CONTENT_LAYERS: LayerWeights = (("conv4_2", 1.0),)
DEFAULT_STYLE_LAYERS: LayerWeights = (
    ("conv1_1", 0.2),
    ("conv2_1", 0.2),
    ("conv3_1", 0.2),
    ("conv4_1", 0.2),
    ("conv5_1", 0.2),
)

POOLING_CHOICES = ("avg", "max")
DEVICE_CHOICES = ("auto", "cpu", "gpu")
OPTIMIZER_CHOICES = ("adam", "lbfgs")
INIT_CHOICES = ("noise", "content", "style")  # or the path of an image
PRESERVE_COLORS_CHOICES = ("none", "luminance", "histogram")
PRECISION_CHOICES = ("float32", "bfloat16", "auto")  # auto: stylize.device.concrete_precision
BIT_DEPTH_CHOICES = (8, 16)  # bits per channel of the image written (stylize.bit_depth)
DEFAULT_NOISE_RATIO = 0.6
MAX_SCALES = 6
# Sides of consecutive scales: under 1.25 two scales would be nearly one size; over 16 the
# coarse image has too few pixels to say anything of the full-size one.
MIN_SCALE_RATIO, MAX_SCALE_RATIO = 1.25, 16.0
FLOAT32_MAX = 3.4028234663852886e38
# The smallest positive float32 (a subnormal): a positive weight below it is 0 in the graph.
FLOAT32_TINY = 1.401298464324817e-45
# The longest side a style image scaled larger than the output (--style-scale above 1) may
# reach, --max-size x --style-scale: 4x a 4000 px print. Past it a style's Grams would take
# hours, and Pillow's sizes overflow. A style at most the output's size is never refused.
MAX_STYLE_SIDE = 16384
BOTH_CONTENT_WEIGHTS = "--alpha and --content-ratio both set the content's weight; give one of them"


@dataclass(frozen=True)
class Settings:
    """Everything that shapes one style-transfer run.

    Defaults reproduce the classic Gatys notebook: content layer conv4_2, five style layers
    at 0.2, J = 10 * J_content + 40 * J_style, Adam with learning rate 2.0 for 200 iterations,
    a start image of 60 % uniform noise in [-20, 20] blended with the content image.
    ``noise_ratio`` None means 0.6 for ``init="noise"`` and 0 for any other start image.
    ``tile_size`` 0 computes in tiles only when one pass would not fit in memory; a size in
    pixels always does, with cores of at most that size. ``scales`` 0 chooses the scales
    from the output size (stylize.schedule: one scale under 1024 px); ``scale_ratio`` is
    the ratio of the sides of consecutive scales (2: each scale half the next).
    ``bit_depth`` is the bits per channel of the images written (16: PNG or TIFF only).
    ``content_ratio`` None weighs the content cost by ``alpha``; a number R instead weighs
    it as Gatys et al. (2016) do, alpha/beta = R with their content cost sum/2, which is
    ``alpha`` = R * beta * 2 N for the notebook's cost (N = n_H n_W n_C of the content
    layer): the same balance at every size, scale and tile.
    """

    iterations: int = 200
    optimizer: str = "adam"
    learning_rate: float = 2.0
    alpha: float = 10.0
    beta: float = 40.0
    content_ratio: float | None = None
    tv_weight: float = 0.0
    init: str = "noise"
    noise_ratio: float | None = None
    pooling: str = "avg"
    max_size: int = 512
    scales: int = 0
    scale_ratio: float = 2.0
    tile_size: int = 0
    style_scale: float = 1.0
    style_weights: tuple[float, ...] | None = None
    preserve_colors: str = "none"
    seed: int | None = None
    device: str = "auto"
    precision: str = "float32"
    save_every: int = 0
    bit_depth: int = 8
    content_layers: LayerWeights = field(default=DEFAULT_CONTENT_LAYERS)
    style_layers: LayerWeights = field(default=DEFAULT_STYLE_LAYERS)

    def __post_init__(self) -> None:
        _check_int("iterations", self.iterations, low=1)
        _check_choice("optimizer", self.optimizer, OPTIMIZER_CHOICES)
        _check_positive("learning-rate", self.learning_rate)
        _check_float32("learning-rate", self.learning_rate)
        for name in ("alpha", "beta", "tv-weight"):
            _check_non_negative(name, getattr(self, name.replace("-", "_")))
            _check_float32(name, getattr(self, name.replace("-", "_")))
        self._check_content_ratio()
        if self.noise_ratio is not None and not 0.0 <= self.noise_ratio <= 1.0:
            raise ConfigError(f"--noise-ratio must be between 0 and 1, got {self.noise_ratio}")
        if not self.init:
            raise ConfigError("--init must be noise, content, style or an image path")
        _check_choice("pooling", self.pooling, POOLING_CHOICES)
        _check_choice("device", self.device, DEVICE_CHOICES)
        _check_choice("precision", self.precision, PRECISION_CHOICES)
        _check_choice("preserve-colors", self.preserve_colors, PRESERVE_COLORS_CHOICES)
        _check_int("max-size", self.max_size, low=16)
        _check_int("scales", self.scales, low=0, high=MAX_SCALES)
        if not MIN_SCALE_RATIO <= self.scale_ratio <= MAX_SCALE_RATIO:
            raise ConfigError(f"--scale-ratio must be between {MIN_SCALE_RATIO:g} and"
                              f" {MAX_SCALE_RATIO:g}, got {self.scale_ratio}")  # fmt: skip
        _check_int("tile-size", self.tile_size, low=0)
        if self.tile_size and self.tile_size < 16:
            raise ConfigError(
                f"--tile-size must be 0 (automatic) or at least 16, got {self.tile_size}"
            )
        self._check_style_scale()
        _check_int("save-every", self.save_every, low=0)
        _check_int("bit-depth", self.bit_depth, low=8, high=16)
        if self.bit_depth not in BIT_DEPTH_CHOICES:
            raise ConfigError(f"--bit-depth must be 8 or 16, got {self.bit_depth}")
        if self.seed is not None:
            _check_int("seed", self.seed, low=0, high=2**31 - 1)
        _check_layers("content-layers", self.content_layers)
        _check_layers("style-layers", self.style_layers)
        self._check_layer_products()
        if self.style_weights is not None:
            _check_style_weights(self.style_weights)

    def _check_content_ratio(self) -> None:
        if self.content_ratio is None:
            return
        _check_positive("content-ratio", self.content_ratio)
        _check_float32("content-ratio", self.content_ratio)
        if self.alpha != Settings.alpha:
            raise ConfigError(BOTH_CONTENT_WEIGHTS)
        if not self.beta > 0:
            raise ConfigError("--content-ratio is alpha/beta: it needs --beta above 0")

    def _check_style_scale(self) -> None:
        _check_positive("style-scale", self.style_scale)
        if self.style_scale > 1 and self.max_size * self.style_scale > MAX_STYLE_SIDE:
            raise ConfigError(
                f"--style-scale {self.style_scale:g} at --max-size {self.max_size} scales the"
                f" style image up to {self.max_size * self.style_scale:.6g} px on its longest"
                f" side; expected --max-size x --style-scale at most {MAX_STYLE_SIDE}"
            )

    def _check_layer_products(self) -> None:
        """A layer's weight in J is a product of options (alpha w, or R beta w with a
        content ratio; beta w), which the graphs hold in float32."""
        if self.content_ratio is None:
            content_option, content_factor = "--alpha", self.alpha
        else:
            content_option = "--content-ratio x --beta"
            content_factor = self.content_ratio * self.beta
            _check_product(content_option, content_factor)
        for name, weight in self.content_layers:
            _check_product(f"{content_option} x the --content-layers weight of {name}",
                           content_factor * weight)  # fmt: skip
        for name, weight in self.style_layers:
            _check_product(f"--beta x the --style-layers weight of {name}", self.beta * weight)

    @property
    def init_file(self) -> Path | None:
        """The ``--init`` image's path, or None when --init names a start (INIT_CHOICES)."""
        return None if self.init in INIT_CHOICES else Path(self.init)

    @property
    def start_noise_ratio(self) -> float:
        """The share of noise in the start image, with the default resolved."""
        if self.noise_ratio is not None:
            return self.noise_ratio
        return DEFAULT_NOISE_RATIO if self.init == "noise" else 0.0

    @property
    def layers_used(self) -> tuple[str, ...]:
        """Names of every VGG layer the costs read, content layers first."""
        names = [name for name, _ in self.content_layers + self.style_layers]
        return tuple(dict.fromkeys(names))

    @property
    def deepest_layer(self) -> str:
        """The deepest VGG layer the costs read (a conv name reads its ReLU's output); the
        network is built up to it."""
        return max((activation_layer(n) for n in self.layers_used), key=FEATURE_LAYERS.index)

    def blend_weights(self, count: int) -> tuple[float, ...]:
        """Weights of ``count`` style images, normalized to sum to 1 (equal by default)."""
        weights = self.style_weights or (1.0,) * count
        if len(weights) != count:
            raise ConfigError(
                f"--style-weights has {len(weights)} values for {count} --style images;"
                " give one weight per style"
            )
        total = sum(weights)
        return tuple(w / total for w in weights)

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-friendly mapping of every setting."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_layer_weights(option: str, text: str) -> LayerWeights:
    """Parse ``conv1_1:0.2,conv2_1`` into ((name, weight), ...).

    Layers given without a weight share equally what the weighted ones leave of 1 (all of it
    when none has a weight), so ``conv1_1,conv2_1`` means 0.5 each.
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"--{option} needs at least one layer name")
    parsed: list[tuple[str, float | None]] = []
    for item in items:
        name, _, weight = item.partition(":")
        parsed.append((name.strip(), _parse_float(option, weight) if weight else None))
    given = sum(w for _, w in parsed if w is not None)
    missing = sum(w is None for _, w in parsed)
    share = max(0.0, 1.0 - given) / missing if missing else 0.0
    result = tuple((name, share if w is None else w) for name, w in parsed)
    _check_layers(option, result)
    return result


def _parse_float(option: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--{option}: {text!r} is not a number") from None


def _check_layers(option: str, layers: LayerWeights) -> None:
    if not layers:
        raise ConfigError(f"--{option} needs at least one layer")
    for name, weight in layers:
        if name not in FEATURE_LAYERS:
            raise ConfigError(
                f"--{option}: unknown layer {name!r}; valid layers are {', '.join(FEATURE_LAYERS)}"
            )
        _check_non_negative(option, weight)
        if problem := _outside_float32(weight):
            raise ConfigError(f"--{option}: the weight of {name}, {weight:g}, is {problem}")
    if len({name for name, _ in layers}) != len(layers):
        raise ConfigError(f"--{option}: a layer is named twice")
    if not sum(weight for _, weight in layers) > 0:
        raise ConfigError(f"--{option}: the layer weights must not all be zero")


def _check_style_weights(weights: tuple[float, ...]) -> None:
    for weight in weights:
        _check_non_negative("style-weights", weight)
        _check_float32("style-weights", weight)
    if not sum(weights) > 0:
        raise ConfigError("--style-weights must not all be zero")
    _check_product("the sum of --style-weights", sum(weights), "lower them")


def _check_int(name: str, value: int, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"--{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"--{name} must be {bound}, got {value}")


def _check_positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"--{name} must be a positive number, got {value}")


def _check_non_negative(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"--{name} must be zero or a positive number, got {value}")


def _check_float32(name: str, value: float) -> None:
    if problem := _outside_float32(value):
        raise ConfigError(f"--{name} {value:g} is {problem}")


def _check_product(what: str, value: float, hint: str = "lower one of them") -> None:
    """A number the graph computes with, formed from options."""
    if problem := _outside_float32(value):
        hint = hint if value > 1 else "raise one of them"
        raise ConfigError(f"{what} is {value:g}, {problem}; {hint}")


def _outside_float32(value: float) -> str | None:
    """Why the graph, which computes in float32, cannot hold ``value``: a larger number
    would be infinite there, a positive one below its smallest 0 (a weight that silently
    weighs nothing); None when it can."""
    if value > FLOAT32_MAX:
        return f"beyond the largest float32 ({FLOAT32_MAX:.4g})"
    if 0 < value < FLOAT32_TINY:
        return f"below the smallest float32 ({FLOAT32_TINY:.4g}), where it would be 0"
    return None


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"--{name} must be one of {', '.join(choices)}, got {value!r}")
