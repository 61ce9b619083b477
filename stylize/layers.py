"""VGG-19 layer names in MatConvNet's order. Light: no NumPy or SciPy, so the CLI can
validate layer options without slowing ``stylize --help``."""

_BLOCKS = ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))  # (block, number of conv layers)


def _vgg19_layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for block, convs in _BLOCKS:
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return (*names, "fc6", "relu6", "fc7", "relu7", "fc8", "prob")


VGG19_LAYERS: tuple[str, ...] = _vgg19_layer_names()
# The conv and ReLU layers of the five blocks: what the costs can read. relu6 and relu7 follow
# the fully connected layers, which the style graph never builds (they see a 224x224 crop).
FEATURE_LAYERS: tuple[str, ...] = tuple(
    n for n in VGG19_LAYERS[: VGG19_LAYERS.index("pool5")] if n[:4] in ("conv", "relu")
)


def layer_kind(name: str) -> str:
    """MatConvNet's ``type`` for a VGG-19 layer name: conv, relu, pool or softmax."""
    if name.startswith(("conv", "fc")):
        return "conv"
    if name.startswith("relu"):
        return "relu"
    if name.startswith("pool"):
        return "pool"
    return "softmax"


def activation_layer(name: str) -> str:
    """The layer whose output a feature name reads: ``convX_Y`` means the activation after
    its ReLU, as in the classic notebook (whose graph['conv4_2'] is relu(conv + b)), so it is
    the same tensor as ``reluX_Y``."""
    return "relu" + name[4:] if name.startswith("conv") else name


__all__ = ["FEATURE_LAYERS", "VGG19_LAYERS", "activation_layer", "layer_kind"]
