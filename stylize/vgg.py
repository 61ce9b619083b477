"""Building the VGG-19 feature graph from loaded weights (TF1 graph mode)."""

from __future__ import annotations

from stylize._tf import tf
from stylize.weights import VggWeights


def build_vgg(weights: VggWeights, image, pooling: str = "avg", deepest: str | None = None):
    """Stack conv + bias + ReLU and pooling layers on ``image``; return every layer's tensor.

    ``image`` is a float32 tensor of shape (1, H, W, 3), RGB with the mean pixel subtracted.
    The network stops at ``deepest`` (default: the last layer loaded). Kernels are used as
    stored in the file, as the classic notebook does; pooling is 2x2 with stride 2, average
    (the Gatys default) or max. Returns a dict from layer name to tensor, plus ``"input"``.
    """
    if pooling not in ("avg", "max"):
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    pool = tf.nn.avg_pool if pooling == "avg" else tf.nn.max_pool
    net = {"input": image}
    current = image
    with tf.name_scope("vgg19"):
        for layer in weights.layers:
            if layer.kind == "conv" and layer.name.startswith("conv"):
                kernel = tf.constant(layer.kernel, name=f"{layer.name}_kernel")
                bias = tf.constant(layer.bias, name=f"{layer.name}_bias")
                current = tf.nn.conv2d(current, kernel, strides=[1, 1, 1, 1], padding="SAME")
                current = tf.nn.bias_add(current, bias, name=layer.name)
            elif layer.kind == "relu" and layer.name.startswith("relu"):
                current = tf.nn.relu(current, name=layer.name)
            elif layer.kind == "pool":
                current = pool(current, [1, 2, 2, 1], [1, 2, 2, 1], "SAME", name=layer.name)
            else:
                break  # fc6 onwards: not part of the feature network
            net[layer.name] = current
            if layer.name == deepest:
                break
    return net
