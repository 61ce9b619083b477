"""The weights self-test: file report and checksums, and the full-network classifier."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from importlib import resources

import numpy as np
import pytest
import scipy.io

from stylize import selftest, weights_cache
from stylize.errors import WeightsError
from stylize.selftest import KnownFile
from stylize.synthetic import write_vgg19_mat
from stylize.weights import VGG19_LAYERS, load_class_names, load_vgg19


@pytest.fixture(scope="module")
def weights(vgg_file):
    return load_vgg19(vgg_file)


@pytest.fixture(scope="module")
def photo():
    return selftest.bundled_photo()


# --- file report -----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["new", "old"])
def test_file_report_describes_the_file(vgg_files, layout):
    path = vgg_files[layout]
    data = path.read_bytes()
    assert selftest.file_report(path) == {
        "path": str(path),
        "bytes": len(data),
        "layout": layout,
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "known": None,
    }


def test_an_unreadable_file_is_a_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="cannot read"):
        selftest.file_digests(tmp_path)  # a folder: open() fails


def test_the_published_checksums_are_known():
    assert selftest.known_layout("106118b7cf60435e6d8e04f6a6dc3657", "0") == "new"
    sha = "abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695"
    assert selftest.known_layout("0", sha.upper()) == "new"
    assert selftest.known_layout("8ee3263992981a1d26e73b3ca028a123", "0") == "old"
    assert selftest.known_layout("0", "0") is None


def test_a_file_matching_the_known_table_is_recognised(vgg_file, monkeypatch):
    md5, sha256 = selftest.file_digests(vgg_file)
    table = (KnownFile("old", md5="0"), KnownFile("new", md5=md5, sha256=sha256))
    monkeypatch.setattr(selftest, "KNOWN_FILES", table)
    assert selftest.file_report(vgg_file)["known"] == "new"
    monkeypatch.setattr(selftest, "KNOWN_FILES", (KnownFile("new", md5="0", sha256=sha256),))
    assert selftest.file_report(vgg_file)["known"] == "new"
    assert selftest.checksum_verdict("new") == "matches the known new-layout file"
    assert selftest.checksum_verdict(None).startswith("unknown checksum")


def test_missing_path_or_folder_is_a_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="nothing.mat' does not exist"):
        selftest.file_report(tmp_path / "nothing.mat")
    with pytest.raises(WeightsError, match="is not a file"):
        selftest.file_report(tmp_path)


def test_layout_of_a_damaged_file_is_unknown(vgg_file, tmp_path):
    truncated = tmp_path / "truncated.mat"
    truncated.write_bytes(vgg_file.read_bytes()[:5000])
    text = tmp_path / "notes.mat"
    text.write_text("not a MATLAB file")
    assert selftest.detect_layout(truncated) is None
    assert selftest.detect_layout(text) is None


# --- the photo and its preprocessing ---------------------------------------------------------


def test_bundled_photo_is_shipped_and_small(photo):
    assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
    assert min(photo.shape[:2]) >= selftest.INPUT_SIZE
    data = (resources.files("stylize") / "data" / selftest.PHOTO_NAME).read_bytes()
    assert len(data) < 40_000


@pytest.mark.parametrize("shape", [(100, 300), (300, 100)])
def test_centre_square_keeps_the_middle_third(shape):
    image = np.zeros((*shape, 3), np.uint8)
    thirds = np.array_split(np.arange(max(shape)), 3)
    for channel, index in enumerate(thirds):
        if shape[0] < shape[1]:
            image[:, index, channel] = 255
        else:
            image[index, :, channel] = 255
    square = selftest.centre_square(image)
    assert square.shape == (224, 224, 3)
    inner = square[8:-8, 8:-8].reshape(-1, 3)  # away from resampling ringing at the edges
    assert (inner[:, 1] >= 250).all() and (inner[:, [0, 2]] <= 5).all()


def test_classifier_input_subtracts_the_mean_pixel():
    mean = np.array([120.0, 110.0, 100.0], np.float32)
    batch = selftest.classifier_input(np.full((256, 300, 3), 128, np.uint8), mean)
    assert batch.shape == (1, 224, 224, 3) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0, 100, 100], [8.0, 18.0, 28.0])


# --- classification --------------------------------------------------------------------------


def test_probabilities_sum_to_one_and_top5_is_sorted(weights, vgg_file, photo):
    names = load_class_names(vgg_file)
    probabilities = selftest.predict(weights, photo)
    assert probabilities.shape == (len(names),) and (probabilities >= 0).all()
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-9)
    top = selftest.classify(weights, names, photo)
    assert len(top) == 5
    values = [p for _, p in top]
    assert values == sorted(values, reverse=True)
    assert all(isinstance(p, float) for p in values)
    assert values == pytest.approx(sorted(probabilities)[::-1][:5])
    order = np.argsort(-probabilities, kind="stable")[:5]  # ties (saturated zeros) keep order
    assert [label for label, _ in top] == [names[i] for i in order]


def test_labels_come_from_the_file(tmp_path, photo):
    path = write_vgg19_mat(tmp_path / "five.mat", fc_widths=(16, 16, 5), seed=3)
    top = selftest.classify(load_vgg19(path), load_class_names(path), photo)
    assert {label for label, _ in top} == {f"synthetic class {i}" for i in range(5)}
    assert sum(p for _, p in top) == pytest.approx(1.0, abs=1e-9)  # all five classes


def _scaled_fc8(weights, factor: float):
    """The weights with fc8 scaled, so that the softmax is not saturated (logits span ~1)."""
    layers = tuple(
        dataclasses.replace(layer, kernel=layer.kernel * factor, bias=layer.bias * factor)
        if layer.name == "fc8"
        else layer
        for layer in weights.layers
    )
    return dataclasses.replace(weights, layers=layers)


def test_fc_layers_match_a_numpy_forward_pass(weights, photo):
    from stylize._tf import tf
    from stylize.vgg import build_vgg

    weights = _scaled_fc8(weights, 0.02)
    batch = selftest.classifier_input(photo, weights.mean_pixel)
    with tf.Graph().as_default() as graph:
        pool5 = build_vgg(weights, tf.constant(batch), pooling="max")["pool5"]
    with tf.Session(graph=graph) as session:
        features = session.run(pool5)[0]  # (7, 7, C)
    layers = {layer.name: layer for layer in weights.layers}
    fc6 = np.einsum("hwc,hwco->o", features, layers["fc6"].kernel) + layers["fc6"].bias
    fc7 = np.maximum(fc6, 0) @ layers["fc7"].kernel[0, 0] + layers["fc7"].bias
    logits = (np.maximum(fc7, 0) @ layers["fc8"].kernel[0, 0] + layers["fc8"].bias).astype(float)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert expected.max() < 0.9  # a comparison that can fail
    np.testing.assert_allclose(selftest.predict(weights, photo), expected, rtol=1e-3, atol=1e-6)


def _with_fc8_bias(source, target, class_index: int, value: float):
    data = {k: v for k, v in scipy.io.loadmat(str(source)).items() if not k.startswith("__")}
    fc8 = data["layers"][0, VGG19_LAYERS.index("fc8")][0, 0]
    fc8["weights"][0, 1][class_index] += value
    scipy.io.savemat(str(target), data)
    return target


def test_the_classifier_follows_the_fc8_bias(vgg_file, tmp_path, photo):
    path = _with_fc8_bias(vgg_file, tmp_path / "biased.mat", class_index=3, value=1000.0)
    top = selftest.classify(load_vgg19(path), load_class_names(path), photo)
    assert top[0][0] == "synthetic class 3"
    assert top[0][1] == pytest.approx(1.0)


def test_class_list_must_match_fc8(weights, photo):
    with pytest.raises(WeightsError, match="class list has 3 names but fc8 has 10 outputs"):
        selftest.classify(weights, ["a", "b", "c"], photo)


def test_weights_without_fc_layers_are_refused(vgg_file, photo):
    with pytest.raises(ValueError, match="fc6"):
        selftest.classify(load_vgg19(vgg_file, "pool5"), [], photo)


def test_fc6_must_cover_pool5(weights, photo):
    layers = tuple(
        dataclasses.replace(layer, kernel=layer.kernel[:1, :1]) if layer.name == "fc6" else layer
        for layer in weights.layers
    )
    with pytest.raises(WeightsError, match="'fc6' kernel has shape .* expected 7x7"):
        selftest.classify(dataclasses.replace(weights, layers=layers), [], photo)


def test_names_a_cat():
    assert selftest.names_a_cat([("dog", 0.5), ("tabby, tabby cat", 0.2)])
    assert selftest.names_a_cat([("Egyptian cat", 0.9)])
    assert not selftest.names_a_cat([("lynx, catamount", 0.9), ("synthetic class 1", 0.1)])


def test_the_structural_check_reads_the_file_not_the_cache(vgg_file, tmp_path, monkeypatch):
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "w.mat"
    shutil.copyfile(vgg_file, path)
    load_vgg19(path, "relu5_1")  # now cached
    cached = next((tmp_path / "cache").glob("*.npz"))
    monkeypatch.setattr(weights_cache, "cache_path", lambda weights_file: cached)  # a hit
    data = bytearray(path.read_bytes())
    data[3000:6000] = bytes(3000)  # damaged in place
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="w.mat"):
        selftest.check_weights(path, self_test=False)
