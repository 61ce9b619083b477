"""One pass or tiles, and how large the tiles, from the memory a size needs and the memory
this process may use.

The untiled peak is memory.step_bytes. A tiled run holds the runtime, one tile's window in
the network (the activations of its largest window, as memory.step_bytes counts them),
and the state that stays whole: the image, its gradient, the optimizer's state (Adam's two
moments, or L-BFGS's float32 history: 2 x 10 corrections of n floats and its work
vectors) and the content targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stylize import memory
from stylize.errors import ResourceError
from stylize.layers import activation_layer
from stylize.tiles import largest_window, network_reach

if TYPE_CHECKING:
    from stylize.config import Settings
    from stylize.weights import VggWeights

# The largest core chosen automatically: past it the halo's share of a tile is small
# (80 px of halo on a 1024 px core: windows 1.25x the core's area at 4000x3000) and a
# larger window only adds memory (benchmarks/README.md, "Tiling").
MAX_AUTO_CORE = 1024
# Whole-image float32 arrays of a tiled Adam run, per value: the image, its gradient (two
# while the next one is computed), the two moments, the image before the step (the Step
# record) and the best image kept. (TV and the temporal term add a few more for a moment.)
TILED_ADAM_BYTES_PER_VALUE = 7 * 4
# L-BFGS: stylize.lbfgsb's float32 history and work vectors (memory.LBFGS_BYTES_PER_VALUE)
# and the float32 image, gradient and the evaluated and best images, plus 16 bytes of
# margin. Counted: with SciPy's float64 L-BFGS-B the count (256) was 7.6 % under the peak
# measured at 4000x3000 and 320 was used; the float32 one is not measured at print size yet.
TILED_LBFGS_BYTES_PER_VALUE = memory.LBFGS_BYTES_PER_VALUE + 4 * 4 + 16


@dataclass(frozen=True)
class Plan:
    """How a (width, height) image is optimized: ``core`` None in one pass, else tiles
    with cores of at most ``core`` pixels; ``need``, the estimated peak in bytes."""

    core: int | None
    need: int


def content_target_bytes(weights: VggWeights, settings: Settings, width: int, height: int) -> int:
    """Bytes of the content layers' float32 activations at (width, height)."""
    wanted = {activation_layer(name) for name, _ in settings.content_layers}
    total, w, h, channels = 0, width, height, 3
    for layer in weights.layers:
        if layer.kind == "conv" and layer.kernel is not None:
            channels = layer.kernel.shape[3]
        elif layer.kind == "pool":
            w, h = math.ceil(w / 2), math.ceil(h / 2)
        if layer.name in wanted:
            total += 4 * w * h * channels
        if layer.name == activation_layer(settings.deepest_layer):
            break
    return total


def whole_image_bytes(weights: VggWeights, settings: Settings, width: int, height: int) -> int:
    """Bytes of what a tiled run keeps for the whole image (see the module's docstring)."""
    lbfgs = settings.optimizer == "lbfgs"
    per_value = TILED_LBFGS_BYTES_PER_VALUE if lbfgs else TILED_ADAM_BYTES_PER_VALUE
    content = content_target_bytes(weights, settings, width, height)
    return per_value * 3 * width * height + content


def tile_bytes(weights: VggWeights, settings: Settings, width: int, height: int,
               core: int) -> int:  # fmt: skip
    """Bytes of the network's activations for the largest window of ``core``-pixel tiles."""
    reach = network_reach(weights.layers, settings.deepest_layer)
    window = largest_window(width, height, core, reach)
    copies = memory.peak_model().copies
    return int(copies * memory.activation_bytes(weights, settings, *window))


def tiled_bytes(weights: VggWeights, settings: Settings, width: int, height: int,
                core: int) -> int:  # fmt: skip
    """The estimated peak of a tiled run, in bytes."""
    return (memory.peak_model().runtime + tile_bytes(weights, settings, width, height, core)
            + whole_image_bytes(weights, settings, width, height))  # fmt: skip


def needs(weights: VggWeights, settings: Settings, width: int, height: int,
          core: int | None) -> tuple[int, int]:  # fmt: skip
    """(the network's activations, everything else) in bytes, for one pass (``core`` None)
    or tiles: apart on a GPU, where the activations live; their sum is the host's peak."""
    model = memory.peak_model()
    if core is None:
        network = int(model.copies * memory.activation_bytes(weights, settings, width, height))
        total = memory.step_bytes(weights, settings, width, height)
    else:
        network = tile_bytes(weights, settings, width, height, core)
        total = tiled_bytes(weights, settings, width, height, core)
    return network, total - network


def plan_size(weights: VggWeights, settings: Settings, width: int, height: int,
              available: int | None = None, device_free: int | None = None) -> Plan:  # fmt: skip
    """The Plan for a (width, height) image under ``available`` bytes of host memory (None:
    unknown): ``settings.tile_size`` when it is set, else one pass when that fits, else the
    largest core up to MAX_AUTO_CORE that fits. With ``device_free`` (a GPU's free bytes)
    the activations must fit there and the rest in host memory. Raises ResourceError when
    nothing fits."""
    budget = _Budget(available, device_free)
    if settings.tile_size:
        core = settings.tile_size
    elif (
        available is None
        and device_free is None
        or budget.fits(*needs(weights, settings, width, height, None))
    ):
        return Plan(None, memory.step_bytes(weights, settings, width, height))
    else:
        stride = network_reach(weights.layers, settings.deepest_layer).stride
        largest = min(MAX_AUTO_CORE, max(width, height)) // stride * stride
        fitting = (c for c in range(largest, stride - 1, -stride)
                   if budget.fits(*needs(weights, settings, width, height, c)))  # fmt: skip
        core = next(fitting, stride)
    network, rest = needs(weights, settings, width, height, core)
    if not budget.fits(network, rest):
        raise _refusal(weights, settings, width, height, (network, rest), budget)
    return Plan(core, network + rest)


class _Budget:
    """The bytes that may still be allocated: in host memory (None: unknown) and on the
    GPU the network runs on (None: it runs on the CPU, in host memory)."""

    def __init__(self, host: int | None, device: int | None):
        self.host, self.device = host, device
        # The peak counts the runtime, most of which this process holds already; the
        # activations and the optimizer's state must be found afresh, whatever else it holds.
        self.held = min(memory.resident_bytes(), memory.peak_model().runtime)

    def fits(self, network: int, rest: int) -> bool:
        if self.device is not None:
            return network <= self.device and self.host_fits(rest)
        return self.host_fits(network + rest)

    def host_fits(self, need: int) -> bool:
        return self.host is None or need - self.held <= self.host


def _refusal(weights: VggWeights, settings: Settings, width: int, height: int,
             need: tuple[int, int], budget: _Budget) -> ResourceError:  # fmt: skip
    network, rest = need
    hint = ", or use --optimizer adam" if settings.optimizer == "lbfgs" else ""
    hint += ", or a smaller --tile-size" if settings.tile_size else ""
    tiles = f"in tiles of {settings.tile_size} px" if settings.tile_size else "even in tiles"
    start = f"a {width}x{height} image needs"
    if budget.device is not None and network > budget.device:
        return ResourceError(
            f"{start} about {network / 2**30:.1f} GiB of GPU memory {tiles}, but the GPU has"
            f" {budget.device / 2**30:.1f} GiB free; lower --max-size{hint}"
        )
    whole = whole_image_bytes(weights, settings, width, height)
    peak = rest if budget.device is not None else network + rest
    return ResourceError(
        f"{start} about {peak / 2**30:.1f} GiB at its peak {tiles}"
        f" ({whole / 2**30:.1f} GiB of it for the image, the {settings.optimizer} state and"
        f" the content targets, which stay whole), {(peak - budget.held) / 2**30:.1f} GiB"
        f" more than this process holds now, but {budget.host / 2**30:.1f} GiB is free (in"
        f" memory, or under this process's memory limit when that is less); lower"
        f" --max-size{hint}"
    )
