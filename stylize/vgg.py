"""Building the VGG-19 feature graph from loaded weights (TF1 graph mode)."""

from __future__ import annotations

from stylize._tf import tf
from stylize.weights import VggWeights


class WeightVariables:
    """The conv kernels and biases as non-trainable variables, filled once from placeholders.

    Constants would be copied into every executor TensorFlow builds for a distinct set of
    fetches (and into the GraphDef), costing hundreds of MB and seconds of graph optimization;
    variables are stored once per session. Run ``initializer`` with ``feed``.
    """

    def __init__(self, weights: VggWeights, deepest: str | None = None, dtype=None):
        self.dtype = dtype or tf.float32
        self.tensors: dict[str, tuple[object, object]] = {}
        self.feed: dict[object, object] = {}
        with tf.name_scope("vgg19_weights"):
            for layer in _feature_layers(weights, deepest):
                if layer.kind == "conv":
                    self.tensors[layer.name] = (
                        self._variable(layer.kernel, f"{layer.name}_kernel"),
                        self._variable(layer.bias, f"{layer.name}_bias"),
                    )
        self.initializer = tf.variables_initializer(self._variables)

    @property
    def _variables(self):
        return [v for pair in self.tensors.values() for v in pair]

    def _variable(self, array, name: str):
        feed = tf.placeholder(tf.float32, array.shape, name=f"{name}_feed")
        self.feed[feed] = array
        initial = feed if self.dtype == tf.float32 else tf.cast(feed, self.dtype)
        return tf.Variable(initial, trainable=False, name=name, use_resource=True)


def _feature_layers(weights: VggWeights, deepest: str | None):
    for layer in weights.layers:
        if layer.name.startswith("fc") or layer.kind == "softmax":
            return
        yield layer
        if layer.name == deepest:
            return


def build_vgg(weights: VggWeights, image, pooling: str = "avg", deepest: str | None = None,
              variables: WeightVariables | None = None):  # fmt: skip
    """Stack conv + bias + ReLU and pooling layers on ``image``; return every layer's tensor.

    ``image`` is a float32 tensor of shape (1, H, W, 3), RGB with the mean pixel subtracted.
    The network stops at ``deepest`` (default: pool5). Kernels are used as stored in the
    file, as the classic notebook does; pooling is 2x2 with stride 2, average (the Gatys
    default) or max. Kernels come from ``variables`` when given, else from constants.
    The layers compute in the variables' dtype (float32 for constants): a bfloat16 net
    casts ``image`` once on the way in. Returns a dict from MatConvNet layer name to
    tensor in that dtype, plus ``"input"`` (``image`` as given).
    """
    if pooling not in ("avg", "max"):
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    pool = tf.nn.avg_pool if pooling == "avg" else tf.nn.max_pool
    net = {"input": image}
    dtype = variables.dtype if variables is not None else tf.float32
    current = tf.cast(image, dtype)  # the image itself when it already has the dtype
    with tf.name_scope("vgg19"):
        for layer in _feature_layers(weights, deepest):
            if layer.kind == "conv":
                kernel, bias = _parameters(layer, variables)
                current = tf.nn.conv2d(current, kernel, strides=[1, 1, 1, 1], padding="SAME")
                current = tf.nn.bias_add(current, bias, name=layer.name)
            elif layer.kind == "relu":
                current = tf.nn.relu(current, name=layer.name)
            else:
                current = pool(current, [1, 2, 2, 1], [1, 2, 2, 1], "SAME", name=layer.name)
            net[layer.name] = current
    return net


def _parameters(layer, variables: WeightVariables | None):
    if variables is not None:
        return variables.tensors[layer.name]
    return (tf.constant(layer.kernel, name=f"{layer.name}_kernel"),
            tf.constant(layer.bias, name=f"{layer.name}_bias"))  # fmt: skip
