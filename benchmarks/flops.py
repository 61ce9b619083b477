"""Counting the floating-point work of one optimization step, layer by layer.

Convention (the same for every row of the benchmark):

* a 3x3 convolution producing an H x W x C_out map from C_in channels costs
  2 * H * W * 3 * 3 * C_in * C_out FLOPs (a multiply and an add per kernel tap);
* its backward pass costs the same again: only the gradient with respect to its input is
  needed, since the weights are constants, not variables;
* every conv layer up to the deepest layer the costs read is counted, at its own resolution;
  2x2 pooling with stride 2 and SAME padding halves each side, rounding up;
* biases, ReLUs, pooling, the costs and the optimizer's update are not counted (they are a
  few percent at most); Gram matrices are counted separately (``gram_flops``), forward
  2 * n_C^2 * n_H n_W and backward the same again, for information only.

Achieved GFLOP/s is then ``conv_flops / seconds per step``, so for one image size it is
simply the inverse of the seconds per iteration on a common scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

# (name, kernel height, kernel width, in channels, out channels) for conv layers; pools as
# (name,). The VGG-19 feature stack is described by these tuples.
LayerShape = tuple


def feature_sizes(layers: Iterable[LayerShape], width: int, height: int):
    """Yield (layer, width, height) with the spatial size of each layer's output."""
    for layer in layers:
        if layer[0].startswith("pool"):
            width, height = math.ceil(width / 2), math.ceil(height / 2)
        yield layer, width, height


def conv_flops(layers: Sequence[LayerShape], width: int, height: int) -> dict[str, int]:
    """Forward FLOPs of each conv layer of ``layers`` on a ``width`` x ``height`` input."""
    counts = {}
    for layer, w, h in feature_sizes(layers, width, height):
        if len(layer) == 5:
            name, kh, kw, c_in, c_out = layer
            counts[name] = 2 * w * h * kh * kw * c_in * c_out
    return counts


def gram_flops(layers: Sequence[LayerShape], width: int, height: int,
               style_layers: Iterable[str]) -> int:  # fmt: skip
    """Forward plus backward FLOPs of the Gram matrices of the style layers."""
    wanted = {name.replace("relu", "conv") for name in style_layers}
    total = 0
    for layer, w, h in feature_sizes(layers, width, height):
        if len(layer) == 5 and layer[0] in wanted:
            total += 2 * (2 * layer[4] ** 2 * w * h)
    return total


def step_flops(layers: Sequence[LayerShape], width: int, height: int) -> int:
    """FLOPs of one forward plus backward pass through the conv layers (the convention)."""
    return 2 * sum(conv_flops(layers, width, height).values())
