"""Run settings: one frozen dataclass holding every option and its default."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from stylize.errors import ConfigError

DEFAULT_STYLE_LAYERS: tuple[tuple[str, float], ...] = (
    ("conv1_1", 0.2),
    ("conv2_1", 0.2),
    ("conv3_1", 0.2),
    ("conv4_1", 0.2),
    ("conv5_1", 0.2),
)

POOLING_CHOICES = ("avg", "max")
DEVICE_CHOICES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class Settings:
    """Everything that shapes one style-transfer run.

    Defaults reproduce the classic Gatys notebook: content layer conv4_2, five style layers
    at 0.2, J = 10 * J_content + 40 * J_style, Adam with learning rate 2.0 for 200 iterations,
    a start image of 60 % uniform noise in [-20, 20] blended with the content image.
    """

    iterations: int = 200
    learning_rate: float = 2.0
    alpha: float = 10.0
    beta: float = 40.0
    noise_ratio: float = 0.6
    pooling: str = "avg"
    max_size: int = 512
    seed: int | None = None
    device: str = "auto"
    save_every: int = 0
    content_layer: str = "conv4_2"
    style_layers: tuple[tuple[str, float], ...] = field(default=DEFAULT_STYLE_LAYERS)

    def __post_init__(self) -> None:
        _check_range("iterations", self.iterations, low=1)
        _check_positive("learning-rate", self.learning_rate)
        _check_non_negative("alpha", self.alpha)
        _check_non_negative("beta", self.beta)
        if not 0.0 <= self.noise_ratio <= 1.0:
            raise ConfigError(f"--noise-ratio must be between 0 and 1, got {self.noise_ratio}")
        _check_choice("pooling", self.pooling, POOLING_CHOICES)
        _check_choice("device", self.device, DEVICE_CHOICES)
        _check_range("max-size", self.max_size, low=16)
        _check_range("save-every", self.save_every, low=0)
        if self.seed is not None:
            _check_range("seed", self.seed, low=0, high=2**31 - 1)

    @property
    def layers_used(self) -> tuple[str, ...]:
        """Names of every VGG layer the costs read, content layer first."""
        names = [self.content_layer] + [name for name, _ in self.style_layers]
        return tuple(dict.fromkeys(names))

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-friendly mapping of every setting."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _option(name: str) -> str:
    return f"--{name}"


def _check_range(name: str, value: int, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{_option(name)} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{_option(name)} must be {bound}, got {value}")


def _check_positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{_option(name)} must be a positive number, got {value}")


def _check_non_negative(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{_option(name)} must be zero or a positive number, got {value}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{_option(name)} must be one of {', '.join(choices)}, got {value!r}")
