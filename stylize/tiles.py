"""Where the tiles of a large image lie, so that each tile's core computes exactly what the
whole image would there.

A convolution with "SAME" padding reads zeros past the edge of whatever it is given, so
near a tile's inner edges its activations differ from the whole image's. How far that
reaches is counted layer by layer, in pixels of the layer's own grid: a k x k convolution
adds (k - 1) / 2; a 2 x 2 pooling of stride 2 halves the reach, rounding up, when the tile
starts on the pooling grid. For VGG-19 up to conv5_1 (relu5_1) the reach is 5 pixels of a
16-pixel grid: a halo of 80 input pixels. (Its receptive field is 156 pixels, 78 either
side of the centre, and its total stride 16; the halo rounds the half-field up to the grid.)

Tiles start on the grid of the deepest layer's total stride, so pooling windows line up
with the whole image's; a tile that reaches the image's edge pads there exactly as the
whole image does. Every position of every layer then belongs to exactly one tile's core,
and a core's activations (and their derivatives with respect to the pixels they read,
halo included) equal the whole image's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from stylize.layers import activation_layer


@dataclass(frozen=True)
class Reach:
    """What a network up to one layer needs of its input: ``stride``, the total stride of
    its deepest layer (input pixels per position); ``halo``, the input pixels a tile needs
    past its core on each side inside the image (a multiple of ``stride``); and
    ``receptive_field``, the input pixels one deepest-layer position sees, side to side."""

    stride: int
    halo: int
    receptive_field: int


def network_reach(layers: Iterable, deepest: str) -> Reach:
    """The Reach of VGG layers (``stylize.weights`` Layer objects in order) up to
    ``deepest`` (a feature name; ``convX_Y`` reads its ReLU's output)."""
    last = activation_layer(deepest)
    stride, reach, field = 1, 0, 1  # reach: corrupted positions, in the current grid
    for layer in layers:
        if layer.kind == "conv":
            size = layer.kernel.shape[0]
            reach += (size - 1) // 2
            field += (size - 1) * stride
        elif layer.kind == "pool":
            reach = math.ceil(reach / 2)
            field += stride
            stride *= 2
        if layer.name == last:
            return Reach(stride, reach * stride, field)
    raise ValueError(f"no layer {deepest!r} in the network")


def layer_strides(layers: Iterable) -> dict[str, int]:
    """Each layer's total stride (input pixels per position of its output), by name."""
    strides, stride = {}, 1
    for layer in layers:
        if layer.kind == "pool":
            stride *= 2
        strides[layer.name] = stride
    return strides


@dataclass(frozen=True)
class Span:
    """One tile along one axis, in input pixels of the whole image: the core
    [core_start, core_stop) it is responsible for and the window [start, stop) it reads."""

    start: int
    core_start: int
    core_stop: int
    stop: int


@dataclass(frozen=True)
class Tile:
    """A rectangle of the image: ``rows`` and ``columns`` Spans."""

    rows: Span
    columns: Span

    @property
    def window(self) -> tuple[slice, slice]:
        """(rows, columns) slices of the whole image that the tile reads."""
        return slice(self.rows.start, self.rows.stop), slice(self.columns.start, self.columns.stop)

    @property
    def window_pixels(self) -> int:
        return (self.rows.stop - self.rows.start) * (self.columns.stop - self.columns.start)

    def core_box(self, stride: int) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) of the core in positions of a layer of total
        ``stride``, relative to the window; the bottom and right round up (at the image's
        far edge, "SAME" pooling keeps a last, partial position)."""
        r, c = self.rows, self.columns
        top, bottom = r.core_start - r.start, r.core_stop - r.start
        left, right = c.core_start - c.start, c.core_stop - c.start
        return top // stride, _ceil_div(bottom, stride), left // stride, _ceil_div(right, stride)

    def core_slices(self, stride: int) -> tuple[slice, slice]:
        """(rows, columns) slices of the core in a whole-image array of a layer of total
        ``stride``."""
        r, c = self.rows, self.columns
        return (slice(r.core_start // stride, _ceil_div(r.core_stop, stride)),
                slice(c.core_start // stride, _ceil_div(c.core_stop, stride)))  # fmt: skip


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def spans(length: int, core: int, reach: Reach) -> list[Span]:
    """Tiles along an axis of ``length`` pixels with cores of at most ``core`` pixels: as
    few as that allows, their cores as equal as the stride grid allows, each reading
    ``reach.halo`` pixels past its core where the image goes on."""
    stride = reach.stride
    core = max(stride, core // stride * stride)
    count = _ceil_div(length, core)
    size = _ceil_div(_ceil_div(length, count), stride) * stride  # balanced, on the grid
    found, start = [], 0
    while start < length:
        stop = min(length, start + size)
        found.append(Span(max(0, start - reach.halo), start, stop, min(length, stop + reach.halo)))
        start = stop
    return found


def tile_grid(width: int, height: int, core: int, reach: Reach) -> list[Tile]:
    """Tiles covering a (width, height) image with cores of at most ``core`` x ``core``
    pixels, row by row."""
    return [Tile(rows, columns)
            for rows in spans(height, core, reach)
            for columns in spans(width, core, reach)]  # fmt: skip


def largest_window(width: int, height: int, core: int, reach: Reach) -> tuple[int, int]:
    """(width, height) of the largest window among the tiles of a (width, height) image."""
    longest = [max(s.stop - s.start for s in spans(n, core, reach)) for n in (width, height)]
    return longest[0], longest[1]
