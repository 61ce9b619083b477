"""Reading MatConvNet's imagenet-vgg-verydeep-19.mat into NumPy arrays.

The file circulates in two layouts that scipy.io.loadmat reads as nested struct arrays:

* "new" (MatConvNet beta16 and later): top-level ``layers`` and ``meta``; the mean pixel is
  ``meta.normalization.averageImage`` (1x1x3).
* "old": top-level ``layers``, ``normalization`` and ``classes``; ``normalization.averageImage``
  is a 224x224x3 mean image whose spatial average is the mean pixel.

Both store ``layers`` as a 1x43 cell array of 1x1 structs whose fields come in a different
order, so every field is read by name. This module never imports TensorFlow.
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from stylize import synthetic, weights_cache
from stylize.errors import ConfigError, WeightsError, one_line
from stylize.files import check_writable
from stylize.layers import FEATURE_LAYERS, VGG19_LAYERS, layer_kind
from stylize.synthetic import REAL_CONV_WIDTHS, TINY_CONV_WIDTHS, TINY_FC_WIDTHS

WEIGHTS_FILENAME = "imagenet-vgg-verydeep-19.mat"
DOWNLOAD_HINT = "run scripts/download_vgg19.sh to download it, or pass --weights PATH"


@dataclass(frozen=True)
class Layer:
    """One VGG-19 layer; ``kernel`` (kh, kw, in, out) float32 and ``bias`` (out,) for conv."""

    name: str
    kind: str
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None


@dataclass(frozen=True)
class VggWeights:
    """The layers kept from the file, in network order, and its mean pixel (RGB, 0-255)."""

    path: Path
    layout: str
    mean_pixel: np.ndarray
    layers: tuple[Layer, ...]

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)


def default_weights_path() -> Path:
    """``$STYLIZE_WEIGHTS``, else ``weights/<file>`` in the current folder, else in the checkout.

    The last candidate serves an editable install run from another folder.
    """
    env = os.environ.get("STYLIZE_WEIGHTS")
    if env:
        return weights_location(env)
    local = Path("weights") / WEIGHTS_FILENAME
    checkout = Path(__file__).resolve().parent.parent / "weights" / WEIGHTS_FILENAME
    return checkout if not local.exists() and checkout.exists() else local


def load_vgg19(
    path: str | os.PathLike, deepest: str | None = None, cache: bool = True
) -> VggWeights:
    """Read and validate the weights file, keeping layers up to ``deepest`` (all if None).

    Every layer's name and type is checked against VGG-19, and every conv layer's kernel and
    bias shapes against its neighbours; any problem raises WeightsError naming the file, the
    layer and what was expected. Layers after ``deepest`` are dropped so that the fully
    connected weights (about 480 MB in the real file) are not kept in memory. When
    ``deepest`` is a feature layer, the validated conv layers are cached (weights_cache);
    ``cache=False`` reads the file itself, as a check of the file must.
    """
    spec = random_spec(path)
    if spec is not None:
        return _random_vgg19(*spec, deepest)
    path = Path(path)
    if not cache or deepest is None or deepest not in FEATURE_LAYERS:
        return _parse(path, deepest)
    _check_exists(path)
    cached = weights_cache.read(path)
    if cached is None:
        full = _parse(path, "pool5")
        weights_cache.write(path, _to_arrays(full))
        return _prefix(full, deepest)
    return _prefix(_from_arrays(path, cached), deepest)


def _parse(path: Path, deepest: str | None) -> VggWeights:
    return _parse_variables(path, _read_mat(path), deepest)


def _parse_variables(path: Path, data: dict, deepest: str | None) -> VggWeights:
    stop = _layer_index(deepest) + 1 if deepest else len(VGG19_LAYERS)
    layout = _detect_layout(path, data)
    mean_pixel = _mean_pixel(path, data, layout)
    cells = _layer_cells(path, data)
    layers = []
    in_channels = 3
    for index, expected in enumerate(VGG19_LAYERS):
        layer = _parse_layer(path, cells[index], index, expected, keep=index < stop)
        if layer.kind == "conv":
            in_channels = _check_conv(path, layer, in_channels, cells[index], index)
        if index < stop:
            layers.append(layer)
    return VggWeights(path=path, layout=layout, mean_pixel=mean_pixel, layers=tuple(layers))


def _prefix(weights: VggWeights, deepest: str) -> VggWeights:
    stop = _layer_index(deepest) + 1
    return VggWeights(weights.path, weights.layout, weights.mean_pixel, weights.layers[:stop])


def _to_arrays(weights: VggWeights) -> dict[str, np.ndarray]:
    arrays = {"layout": np.array(weights.layout), "mean_pixel": weights.mean_pixel}
    for layer in weights.layers:
        if layer.kernel is not None:
            arrays[f"{layer.name}/kernel"], arrays[f"{layer.name}/bias"] = layer.kernel, layer.bias
    return arrays


def _from_arrays(path: Path, arrays: dict[str, np.ndarray]) -> VggWeights:
    layers = []
    for name in VGG19_LAYERS[: VGG19_LAYERS.index("pool5") + 1]:
        kind = layer_kind(name)
        if kind == "conv":
            layers.append(Layer(name, kind, arrays[f"{name}/kernel"], arrays[f"{name}/bias"]))
        else:
            layers.append(Layer(name, kind))
    mean = np.asarray(arrays["mean_pixel"], np.float32)
    return VggWeights(path, str(arrays["layout"]), mean, tuple(layers))


# --- random networks: ``--weights random[:SEED]`` and ``random-tiny[:SEED]`` ----------------

RANDOM_NETWORKS = {"random": REAL_CONV_WIDTHS, "random-tiny": TINY_CONV_WIDTHS}
RANDOM_WARNING = "warning: random VGG-19 weights: a smoke test, not the real network"


def random_spec(value: str | os.PathLike) -> tuple[str, int] | None:
    """(network, seed) when ``value`` names a random network (``random``, ``random:7``,
    ``random-tiny``, ``random-tiny:3``; seed 0 by default), else None: a file path. A file
    of such a name is reached as ``./random`` (see weights_location). WeightsError for a
    seed that is no number."""
    name, _, seed = str(value).partition(":")
    if name not in RANDOM_NETWORKS or os.sep in str(value):
        return None
    if seed and not (seed.isdigit() and int(seed) < 2**32):
        raise WeightsError(f"--weights {value}: expected {name}:SEED with SEED a whole number"
                           " from 0 to 4294967295")  # fmt: skip
    return name, int(seed or 0)


def weights_location(value: str) -> Path:
    """``--weights`` (or ``$STYLIZE_WEIGHTS``) as typed, as a Path: a random network's name
    as it is; a file path made absolute when pathlib would shorten it to such a name
    (``./random-tiny`` becomes ``random-tiny``), so that a file of that name stays a file."""
    location = Path(value)
    try:
        typed_random = random_spec(value) is not None
    except WeightsError:  # random:abc: reported where the weights are loaded
        return location
    return location.absolute() if not typed_random and _names_random(location) else location


def _names_random(location: Path) -> bool:
    try:
        return random_spec(location) is not None
    except WeightsError:  # random:abc, which as typed was a path
        return True


def random_label(name: str, seed: int) -> str:
    """How a random network is named in --json, manifests and messages: ``random:0``."""
    return f"{name}:{seed}"


def write_random_vgg19(path: Path, network: str, layout: str, overwrite: bool) -> Path:
    """Write the random network ``network`` names (``random:7``, say) to ``path`` in either
    layout: the same conv arrays a ``--weights random:7`` run uses. InputError when the
    name is not a random network or the path cannot be written."""
    try:
        spec = random_spec(network)
    except WeightsError:  # its message would name --weights
        spec = None
    if spec is None:
        raise ConfigError(f"--network {network!r}: expected random[:SEED] or random-tiny[:SEED],"
                          " SEED a whole number from 0 to 4294967295")  # fmt: skip
    check_writable(Path(path), f"--write-random '{path}'", overwrite)
    name, seed = spec
    return synthetic.write_vgg19_mat(path, layout, RANDOM_NETWORKS[name], TINY_FC_WIDTHS, seed)


def _random_vgg19(name: str, seed: int, deepest: str | None) -> VggWeights:
    """The random network, built in memory and read back through the .mat parser, so it
    passes exactly the validation a file does. Conv layers have the real widths (or tiny
    ones); fc6-fc8 are always small, since style transfer never uses them."""
    variables = synthetic.vgg19_variables("new", RANDOM_NETWORKS[name], TINY_FC_WIDTHS, seed)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, do_compression=False)
    data = scipy.io.loadmat(io.BytesIO(buffer.getvalue()), variable_names=["layers", "meta"])
    return _parse_variables(Path(random_label(name, seed)), data, deepest)


def load_class_names(path: str | os.PathLike) -> tuple[str, ...]:
    """The ImageNet class descriptions stored in the file (1000 strings in the real one)."""
    path = Path(path)
    data = _read_mat(path, ("meta", "classes"))
    holder = (
        data["classes"] if "classes" in data else _field(path, data.get("meta"), "classes", "meta")
    )
    descriptions = _field(path, holder, "description", "classes")
    return tuple(str(np.asarray(d).squeeze()) for d in np.asarray(descriptions).ravel())


def _layer_index(name: str) -> int:
    if name not in VGG19_LAYERS:
        raise WeightsError(f"unknown VGG-19 layer {name!r}")
    return VGG19_LAYERS.index(name)


def _read_mat(path: Path, variables: tuple[str, ...] = ("layers", "meta", "normalization")) -> dict:
    _check_exists(path)
    try:
        return scipy.io.loadmat(str(path), variable_names=list(variables))
    except NotImplementedError:  # SciPy's answer to a v7.3 file, which is HDF5 inside
        raise WeightsError(
            f"weights file '{path}' is a MATLAB v7.3 (HDF5) file; expected MatConvNet's"
            f" {WEIGHTS_FILENAME}, which is a MATLAB v5 file (re-save it in MATLAB with"
            " save(..., '-v7'))"
        ) from None
    except (MatReadError, ValueError, TypeError, OSError, EOFError, zlib.error, IndexError) as exc:
        raise WeightsError(
            f"weights file '{path}' is not a readable MATLAB file (truncated or another format):"
            f" {one_line(exc)}; expected MatConvNet's {WEIGHTS_FILENAME}"
        ) from None


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise WeightsError(f"weights file '{path}' does not exist; {DOWNLOAD_HINT}")
    if not path.is_file():
        raise WeightsError(f"weights file '{path}' is not a file; expected {WEIGHTS_FILENAME}")


def _detect_layout(path: Path, data: dict) -> str:
    if "layers" not in data:
        raise WeightsError(
            f"weights file '{path}' has no 'layers' variable; not a MatConvNet model"
        )
    if "meta" in data:
        return "new"
    if "normalization" in data:
        return "old"
    raise WeightsError(
        f"weights file '{path}' has neither 'meta' (new MatConvNet layout) nor 'normalization'"
        " (old layout), so its mean pixel is unknown"
    )


def _mean_pixel(path: Path, data: dict, layout: str) -> np.ndarray:
    if layout == "new":
        normalization = _field(path, data["meta"], "normalization", "meta")
        where = "meta.normalization"
    else:
        normalization, where = data["normalization"], "normalization"
    average = _numbers(path, _field(path, normalization, "averageImage", where),
                       f"{where}.averageImage")  # fmt: skip
    if average.ndim == 0 or average.shape[-1] != 3 or average.size % 3:
        raise WeightsError(
            f"weights file '{path}': {where}.averageImage has shape {average.shape};"
            " expected 1x1x3 or HxWx3"
        )
    return average.reshape(-1, 3).astype(np.float64).mean(axis=0).astype(np.float32)


def _numbers(path: Path, value, what: str) -> np.ndarray:
    """``value`` as a real-number array whose every entry is finite: text, booleans, NaN or
    infinities make a bad weights file, never a NaN that silently empties the costs."""
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise WeightsError(f"weights file '{path}': {what} holds {array.dtype} data; expected"
                           " real numbers")  # fmt: skip
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise WeightsError(f"weights file '{path}': {what} contains NaN or infinite values;"
                           " expected finite numbers (the file is damaged)")  # fmt: skip
    return array


def _unwrap(value):
    """Strip MATLAB's 1x1 wrappers around a struct, string or cell."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.flat[0]
    if isinstance(value, np.ndarray) and value.dtype.names and value.size == 1:
        value = value.flat[0]
    return value


def _field(path: Path, struct, name: str, where: str):
    record = _unwrap(struct)
    names = getattr(getattr(record, "dtype", None), "names", None) or ()
    if name not in names:
        raise WeightsError(f"weights file '{path}': {where} has no field '{name}'")
    return record[name]


def _layer_cells(path: Path, data: dict) -> list:
    cells = np.asarray(data["layers"]).ravel()
    if cells.size != len(VGG19_LAYERS):
        raise WeightsError(
            f"weights file '{path}' has {cells.size} layers; expected the {len(VGG19_LAYERS)}"
            " layers of VGG-19 (imagenet-vgg-verydeep-19)"
        )
    return list(cells)


def _text(value) -> str:
    value = np.asarray(_unwrap(value))
    return str(value.squeeze()) if value.size else ""


def _parse_layer(path: Path, cell, index: int, expected: str, keep: bool) -> Layer:
    where = f"layer {index + 1}"
    name = _text(_field(path, cell, "name", where))
    if name != expected:
        raise WeightsError(
            f"weights file '{path}': {where} is named {name!r}; expected {expected!r} (VGG-19)"
        )
    kind = _text(_field(path, cell, "type", f"{where} ({name})"))
    if kind != layer_kind(name):
        raise WeightsError(
            f"weights file '{path}': layer {name!r} has type {kind!r};"
            f" expected {layer_kind(name)!r}"
        )
    if kind != "conv" or not keep:
        return Layer(name=name, kind=kind)
    kernel, bias = _conv_arrays(path, cell, name)
    return Layer(name, kind, np.ascontiguousarray(kernel, np.float32), bias.astype(np.float32))


def _conv_arrays(path: Path, cell, name: str) -> tuple[np.ndarray, np.ndarray]:
    weights = np.asarray(_field(path, cell, "weights", f"layer {name!r}")).ravel()
    if weights.size != 2:
        raise WeightsError(
            f"weights file '{path}': layer {name!r} holds {weights.size} weight arrays;"
            " expected 2 (kernel, bias)"
        )
    kernel, bias = np.asarray(weights[0]), np.asarray(weights[1])
    if kernel.ndim != 4 or not np.issubdtype(kernel.dtype, np.floating):
        raise WeightsError(
            f"weights file '{path}': layer {name!r} kernel has shape {kernel.shape} and type"
            f" {kernel.dtype}; expected a 4-D float array (height, width, in, out)"
        )
    kernel = _numbers(path, kernel, f"layer {name!r} kernel")
    return kernel, _numbers(path, bias, f"layer {name!r} bias").reshape(-1)


def _check_conv(path: Path, layer: Layer, in_channels: int, cell, index: int) -> int:
    """Check a conv layer's shapes against the previous layer; return its output channels."""
    kernel, bias = (
        (layer.kernel, layer.bias)
        if layer.kernel is not None
        else _conv_arrays(path, cell, layer.name)
    )
    spatial = _expected_spatial(layer.name)
    if kernel.shape[2] != in_channels or (spatial and kernel.shape[:2] != spatial):
        want = f"{spatial[0]}x{spatial[1]}" if spatial else "any size"
        raise WeightsError(
            f"weights file '{path}': layer {layer.name!r} kernel has shape {kernel.shape};"
            f" expected {want} with {in_channels} input channels"
        )
    if bias.size != kernel.shape[3]:
        raise WeightsError(
            f"weights file '{path}': layer {layer.name!r} has {bias.size} biases;"
            f" expected {kernel.shape[3]} (one per output channel)"
        )
    return int(kernel.shape[3])


def _expected_spatial(name: str) -> tuple[int, int] | None:
    if name.startswith("conv"):
        return (3, 3)
    return (1, 1) if name in ("fc7", "fc8") else None
