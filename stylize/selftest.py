"""Checking a VGG-19 weights file: its size, layout and checksum against the published files,
and a self-test that classifies a bundled photo of a cat with the whole network.

The self-test runs what the style graph never does: fc6, fc7 and fc8 (stored by MatConvNet as
convolutions) and the softmax. Kernels are used exactly as stored, as ``stylize.vgg`` does, so
a genuine file that is read correctly puts a cat at the top, while a damaged file, a wrong
mean pixel or channel order, or kernels oriented inconsistently between layers give nonsense.
(Transposing every kernel alike would amount to classifying the transposed photo, which may
still look like a cat.) Importing this module does not import TensorFlow; the functions that
build the graph do.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from stylize import files
from stylize.errors import WeightsError
from stylize.images import preprocess, resize
from stylize.weights import VggWeights, default_weights_path, load_class_names, load_vgg19

INPUT_SIZE = 224  # pixels; VGG-19 was trained on 224x224 crops, so pool5 is 7x7
TOP = 5
PHOTO_NAME = "cat.jpg"
FC_LAYERS = ("fc6", "fc7", "fc8")


@dataclass(frozen=True)
class KnownFile:
    """A published imagenet-vgg-verydeep-19.mat, identified by its digests (hex strings)."""

    layout: str
    md5: str
    sha256: str | None = None
    bytes: int | None = None


KNOWN_FILES: tuple[KnownFile, ...] = (
    KnownFile(  # vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat
        layout="new",
        md5="106118b7cf60435e6d8e04f6a6dc3657",
        sha256="abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695",
        bytes=534_904_783,
    ),
    KnownFile(layout="old", md5="8ee3263992981a1d26e73b3ca028a123"),
)


# --- the file: size, layout, checksums -------------------------------------------------------


def file_report(path: str | os.PathLike) -> dict:
    """Describe a weights file without validating its layers.

    Returns a JSON-ready dict: ``path`` (str), ``bytes`` (int), ``layout`` ("new", "old" or
    None when the top-level variables fit neither), ``md5`` and ``sha256`` (hex), and
    ``known``: the layout of the published file whose digest matches, or None. Raises
    WeightsError when the path is missing, not a file or unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise WeightsError(
            f"weights file '{path}' does not exist; run scripts/download_vgg19.sh to download"
            " it, or name the file: stylize weights PATH"
        )
    if not path.is_file():
        raise WeightsError(f"weights file '{path}' is not a file")
    md5, sha256 = file_digests(path)
    return {
        "path": str(path),
        "bytes": path.stat().st_size,
        "layout": detect_layout(path),
        "md5": md5,
        "sha256": sha256,
        "known": known_layout(md5, sha256),
    }


def file_digests(path: Path) -> tuple[str, str]:
    """MD5 and SHA-256 of a file as hex strings (WeightsError when it cannot be read)."""
    try:
        md5, sha256 = files.file_digests(path, "md5", "sha256")
    except OSError as exc:
        raise WeightsError(f"weights file '{path}': cannot read ({exc.strerror or exc})") from None
    return md5, sha256


def detect_layout(path: Path) -> str | None:
    """The layout named by the top-level variables: "new" (``layers`` and ``meta``), "old"
    (``layers`` and ``normalization``) or None.

    Only the variable headers are read; an unreadable file gives None (the loader reports
    what is wrong with it).
    """
    try:
        names = {name for name, _, _ in scipy.io.whosmat(str(path))}
    except Exception:  # scipy raises many types on damaged files; the loader explains them
        return None
    if "layers" in names and "meta" in names:
        return "new"
    return "old" if {"layers", "normalization"} <= names else None


def known_layout(md5: str, sha256: str) -> str | None:
    """The layout of the published file with this MD5 or SHA-256, or None if neither is known."""
    for known in KNOWN_FILES:
        if md5.lower() == known.md5 or (known.sha256 and sha256.lower() == known.sha256):
            return known.layout
    return None


def checksum_verdict(known: str | None) -> str:
    """One phrase about a file_report's ``known`` value."""
    if known:
        return f"matches the known {known}-layout file"
    return "unknown checksum (not the published file; may still work)"


# --- the whole check, as ``stylize weights`` runs it ----------------------------------------


def check_weights(path: Path | None, self_test: bool = True) -> dict:
    """The report of ``file_report`` after a full load of the file, plus
    ``checksum`` (a phrase) and ``self_test`` (see ``_self_test``; None when skipped).

    Every layer is validated either way; without the self-test the fully connected weights
    are not kept and TensorFlow is not imported. Raises WeightsError for a bad file.
    """
    path = path if path is not None else default_weights_path()
    report = file_report(path)
    vgg = load_vgg19(path, deepest=None if self_test else "conv1_1", cache=False)
    report["layout"] = vgg.layout
    report["checksum"] = checksum_verdict(report["known"])
    report["self_test"] = _self_test(vgg) if self_test else None
    return report


def _self_test(vgg) -> dict:
    """Classify the bundled photo: ``photo``, ``classes`` (how many the file names),
    ``top5`` (label, probability; most probable first) and ``cat_in_top5``."""
    names = load_class_names(vgg.path)
    top = classify(vgg, names, bundled_photo())
    return {
        "photo": PHOTO_NAME,
        "classes": len(names),
        "top5": [{"label": label, "probability": p} for label, p in top],
        "cat_in_top5": names_a_cat(top),
    }


# --- the self-test: classifying the bundled photo --------------------------------------------


def bundled_photo() -> np.ndarray:
    """The photo of a cat shipped in ``stylize/data``, as an (H, W, 3) uint8 RGB array."""
    data = (resources.files("stylize") / "data" / PHOTO_NAME).read_bytes()
    with Image.open(io.BytesIO(data)) as picture:
        return np.array(picture.convert("RGB"), dtype=np.uint8)


def centre_square(image: np.ndarray, side: int = INPUT_SIZE) -> np.ndarray:
    """Scale an (H, W, 3) uint8 image so its shorter side is ``side`` pixels (Lanczos), then
    crop the centre: a (side, side, 3) uint8 array."""
    height, width = image.shape[:2]
    scale = side / min(height, width)
    width, height = max(side, round(width * scale)), max(side, round(height * scale))
    scaled = resize(image, (width, height))
    top, left = (height - side) // 2, (width - side) // 2
    return scaled[top : top + side, left : left + side]


def classifier_input(image: np.ndarray, mean_pixel: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (1, 224, 224, 3) float32 centre crop minus the mean pixel."""
    return preprocess(centre_square(image), mean_pixel)


def classify(
    weights: VggWeights, class_names, image_uint8: np.ndarray, top: int = TOP
) -> list[tuple[str, float]]:
    """The ``top`` most probable classes of an (H, W, 3) uint8 photo, most probable first.

    ``weights`` must hold every layer (``load_vgg19(path)`` without ``deepest``);
    ``class_names`` is the file's class list, one name per fc8 output. Returns
    ``[(label, probability), ...]`` with probabilities as Python floats.
    """
    probabilities = predict(weights, image_uint8)
    if len(class_names) != probabilities.size:
        raise WeightsError(
            f"weights file '{weights.path}': its class list has {len(class_names)} names but"
            f" fc8 has {probabilities.size} outputs; expected one name per output"
        )
    order = np.argsort(-probabilities, kind="stable")[:top]
    return [(str(class_names[i]), float(probabilities[i])) for i in order]


def predict(weights: VggWeights, image_uint8: np.ndarray) -> np.ndarray:
    """Class probabilities (n_classes,) float64 summing to 1 for an (H, W, 3) uint8 photo.

    The network is VGG-19 as trained: max pooling, a 224x224 centre crop minus the file's
    mean pixel, fc6-fc8 and softmax. It runs once on the CPU, in a graph of its own, with
    Grappler's graph rewriting off (it only slows a single run down).
    """
    from stylize._tf import Session, tf
    from stylize.device import CPU, session_config

    batch = classifier_input(image_uint8, weights.mean_pixel)
    with tf.Graph().as_default() as graph, tf.device(CPU):
        image = tf.placeholder(tf.float32, batch.shape, name="photo")
        probabilities, feeds = classifier_graph(weights, image)
    config = session_config(CPU)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    with Session(graph=graph, config=config) as session:
        result = session.run(probabilities, {**feeds, image: batch})
    result = result.reshape(-1).astype(np.float64)
    return result / result.sum()  # softmax in float32 sums to 1 within ~1e-6; make it exact


def classifier_graph(weights: VggWeights, image):
    """Softmax probabilities (n_classes,) for a (1, 224, 224, 3) preprocessed image tensor.

    The conv layers come from ``build_vgg`` with max pooling (pool5: 1x7x7xC); fc6 is a 7x7
    VALID convolution to 1x1, fc7 and fc8 are 1x1 convolutions, ReLU after fc6 and fc7.
    Returns the tensor and the feed dict {placeholder: kernel} that ``session.run`` needs:
    the fc kernels are fed rather than built in as constants, because constants that large
    (fc6 alone is 411 MB in the real file) take TF1 a minute and gigabytes to set up.
    """
    from stylize._tf import tf
    from stylize.vgg import build_vgg

    by_name = {layer.name: layer for layer in weights.layers}
    missing = [name for name in FC_LAYERS if name not in by_name]
    if missing:
        raise ValueError(f"weights lack {missing}; load them with load_vgg19(path) (all layers)")
    _check_fc6(weights, by_name["fc6"])
    current, feeds = build_vgg(weights, image, pooling="max")["pool5"], {}
    with tf.name_scope("classifier"):
        for name in FC_LAYERS:
            layer = by_name[name]
            kernel = tf.placeholder(tf.float32, layer.kernel.shape, name=f"{name}_kernel")
            feeds[kernel] = layer.kernel
            current = tf.nn.conv2d(current, kernel, strides=[1, 1, 1, 1], padding="VALID")
            current = tf.nn.bias_add(current, tf.constant(layer.bias), name=name)
            if name != "fc8":
                current = tf.nn.relu(current)
        return tf.nn.softmax(tf.reshape(current, [-1]), name="prob"), feeds


def _check_fc6(weights: VggWeights, fc6) -> None:
    side = INPUT_SIZE // 32  # five 2x2 poolings
    if fc6.kernel.shape[:2] != (side, side):
        raise WeightsError(
            f"weights file '{weights.path}': layer 'fc6' kernel has shape {fc6.kernel.shape};"
            f" expected {side}x{side} to cover pool5 of a {INPUT_SIZE}x{INPUT_SIZE} input"
        )


def names_a_cat(predictions: list[tuple[str, float]]) -> bool:
    """Whether any label is a cat ("tabby, tabby cat", "Egyptian cat", ...)."""
    return any(re.search(r"\bcat\b", label, re.IGNORECASE) for label, _ in predictions)
