"""Writing VGG-19 weight files in MatConvNet's layouts, with random weights.

The real imagenet-vgg-verydeep-19.mat (535 MB) is not always at hand: tests, benchmarks and CI
smoke runs use files made here, which go through exactly the same loader as the real one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.io

from stylize.files import atomic_writer
from stylize.layers import VGG19_LAYERS, layer_kind

REAL_CONV_WIDTHS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
REAL_FC_WIDTHS = (4096, 4096, 1000)
TINY_CONV_WIDTHS = {1: 4, 2: 6, 3: 8, 4: 8, 5: 8}
TINY_FC_WIDTHS = (16, 16, 10)
MEAN_PIXEL = (123.68, 116.779, 103.939)

# Field order differs between the layouts; the loader must not depend on it.
_NEW_FIELDS = ("name", "type", "weights", "size", "pad", "stride", "precious")
_OLD_FIELDS = ("weights", "pad", "type", "name", "stride")


def write_vgg19_mat(
    path: str | os.PathLike,
    layout: str = "new",
    conv_widths: dict[int, int] | None = None,
    fc_widths: tuple[int, int, int] = TINY_FC_WIDTHS,
    seed: int = 0,
    compress: bool = True,
) -> Path:
    """Write a VGG-19 .mat file with He-initialised random weights; return its path.

    ``conv_widths`` maps block number (1-5) to output channels (default: a few per layer;
    ``REAL_CONV_WIDTHS`` for the real shapes); ``fc_widths`` gives fc6, fc7 and fc8 outputs.
    Variables are zlib-compressed like the published file's (534.9 MB for 575 MB of floats);
    ``compress=False`` writes faster. The file is written atomically.
    """
    variables = vgg19_variables(layout, conv_widths, fc_widths, seed)
    with atomic_writer(path) as stream:
        scipy.io.savemat(stream, variables, do_compression=compress)
    return Path(path)


def vgg19_variables(
    layout: str = "new",
    conv_widths: dict[int, int] | None = None,
    fc_widths: tuple[int, int, int] = TINY_FC_WIDTHS,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """The top-level variables of such a file, as scipy.io.savemat takes them."""
    rng = np.random.default_rng(seed)
    widths = conv_widths or TINY_CONV_WIDTHS
    cells = np.empty((1, len(VGG19_LAYERS)), dtype=object)
    in_channels = 3
    for index, name in enumerate(VGG19_LAYERS):
        weights = None
        if layer_kind(name) == "conv":
            shape, in_channels = _kernel_shape(name, in_channels, widths, fc_widths)
            weights = _conv_weights(rng, shape, layout)
        cells[0, index] = _struct(_layer_fields(name, weights, layout))
    class_names = [f"n{i:08d}" for i in range(fc_widths[2])]
    classes = _struct(
        {"name": _cell(class_names), "description": _cell(_descriptions(fc_widths[2]))}
    )
    variables = {"layers": cells}
    if layout == "new":
        norm = _struct({"averageImage": np.array(MEAN_PIXEL, np.float32).reshape(1, 1, 3)})
        variables["meta"] = _struct({"normalization": norm, "classes": classes})
    elif layout == "old":
        variables["normalization"] = _struct({"averageImage": _old_mean_image(rng)})
        variables["classes"] = classes
    else:
        raise ValueError(f"layout must be 'new' or 'old', got {layout!r}")
    return variables


def _kernel_shape(name, in_channels, widths, fc_widths) -> tuple[tuple[int, ...], int]:
    if name.startswith("conv"):
        out = widths[int(name[4])]
        return (3, 3, in_channels, out), out
    out = fc_widths[int(name[2]) - 6]
    size = 7 if name == "fc6" else 1
    return (size, size, in_channels, out), out


def _conv_weights(rng, shape, layout) -> np.ndarray:
    fan_in = shape[0] * shape[1] * shape[2]
    # float64 draws: the synthetic files of every earlier version hold these same values
    kernel = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    bias = (rng.standard_normal(shape[3]) * 0.01).astype(np.float32)
    # The new files store biases as a column (out x 1), the old ones as a row.
    bias = bias.reshape(-1, 1) if layout == "new" else bias.reshape(1, -1)
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = kernel, bias
    return cell


def _layer_fields(name: str, weights, layout: str) -> dict:
    kind = layer_kind(name)
    values = {
        "name": name,
        "type": kind,
        "weights": weights if weights is not None else np.empty((0, 0), dtype=object),
        "size": np.array(weights[0, 0].shape, float) if weights is not None else np.zeros((0, 0)),
        "pad": np.array([[1, 1, 1, 1]], float) if kind == "conv" else np.zeros((1, 4)),
        "stride": np.array([[2, 2]], float) if kind == "pool" else np.array([[1, 1]], float),
        "precious": np.array([[0]], np.uint8),
    }
    order = _NEW_FIELDS if layout == "new" else _OLD_FIELDS
    return {key: values[key] for key in order}


def _struct(fields: dict) -> np.ndarray:
    record = np.empty((1, 1), dtype=[(key, object) for key in fields])
    for key, value in fields.items():
        record[0, 0][key] = value
    return record


def _cell(strings: list[str]) -> np.ndarray:
    cell = np.empty((1, len(strings)), dtype=object)
    for i, text in enumerate(strings):
        cell[0, i] = text
    return cell


def _descriptions(count: int) -> list[str]:
    return [f"synthetic class {i}" for i in range(count)]


def _old_mean_image(rng) -> np.ndarray:
    # A 224x224 image whose spatial mean is exactly the mean pixel, as in the old files.
    pattern = rng.standard_normal((224, 224, 3)).astype(np.float64)
    pattern -= pattern.mean(axis=(0, 1))
    return (pattern * 5 + np.array(MEAN_PIXEL)).astype(np.float32)
