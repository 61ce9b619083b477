import os
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from stylize import weights as weights_module
from stylize import weights_cache
from stylize.errors import WeightsError
from stylize.layers import FEATURE_LAYERS
from stylize.synthetic import MEAN_PIXEL, TINY_CONV_WIDTHS, write_vgg19_mat
from stylize.weights import (
    VGG19_LAYERS,
    default_weights_path,
    load_class_names,
    load_vgg19,
    random_spec,
    weights_location,
    write_random_vgg19,
)


def test_vgg19_has_the_43_matconvnet_layers():
    assert len(VGG19_LAYERS) == 43
    assert VGG19_LAYERS[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert VGG19_LAYERS[-6:] == ("fc6", "relu6", "fc7", "relu7", "fc8", "prob")
    assert sum(name.startswith("conv") for name in VGG19_LAYERS) == 16


@pytest.mark.parametrize("layout", ["new", "old"])
def test_both_layouts_load_the_same_network(vgg_files, layout):
    weights = load_vgg19(vgg_files[layout])
    assert weights.layout == layout
    assert weights.layer_names == VGG19_LAYERS
    np.testing.assert_allclose(weights.mean_pixel, MEAN_PIXEL, rtol=1e-5)
    conv1 = weights.layers[0]
    assert conv1.kernel.shape == (3, 3, 3, TINY_CONV_WIDTHS[1])
    assert conv1.kernel.dtype == np.float32 and conv1.kernel.flags.c_contiguous
    assert conv1.bias.shape == (TINY_CONV_WIDTHS[1],)


def test_layouts_hold_identical_arrays_for_the_same_seed(tmp_path):
    new = load_vgg19(write_vgg19_mat(tmp_path / "n.mat", "new", seed=3))
    old = load_vgg19(write_vgg19_mat(tmp_path / "o.mat", "old", seed=3))
    for a, b in zip(new.layers, old.layers, strict=True):
        if a.kernel is not None:
            np.testing.assert_array_equal(a.kernel, b.kernel)
            np.testing.assert_array_equal(a.bias, b.bias)


def test_kernels_are_used_as_stored(tmp_path):
    path = write_vgg19_mat(tmp_path / "w.mat", "new", seed=5)
    raw = scipy.io.loadmat(str(path))["layers"][0][0][0][0]["weights"][0][0]
    np.testing.assert_array_equal(load_vgg19(path).layers[0].kernel, raw)


def test_deepest_drops_later_layers(vgg_file):
    weights = load_vgg19(vgg_file, "conv4_2")
    assert weights.layer_names[-1] == "conv4_2"
    assert "fc6" not in weights.layer_names


def test_class_names_come_from_the_file(vgg_files):
    for path in vgg_files.values():
        names = load_class_names(path)
        assert len(names) == 10 and names[3] == "synthetic class 3"


def test_default_path_prefers_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STYLIZE_WEIGHTS", str(tmp_path / "mine.mat"))
    assert default_weights_path() == tmp_path / "mine.mat"
    monkeypatch.delenv("STYLIZE_WEIGHTS")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "imagenet-vgg-verydeep-19.mat").write_bytes(b"x")
    assert default_weights_path().resolve() == (
        tmp_path / "weights" / "imagenet-vgg-verydeep-19.mat"
    )


# --- errors: each names the file and what was expected -------------------------------------


def _error(path, deepest=None) -> str:
    with pytest.raises(WeightsError) as info:
        load_vgg19(path, deepest)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def test_missing_file_says_how_to_get_it(tmp_path):
    assert "download_vgg19.sh" in _error(tmp_path / "absent.mat")


def test_directory_is_refused(tmp_path):
    assert "not a file" in _error(tmp_path)


def test_not_a_mat_file(tmp_path):
    path = tmp_path / "text.mat"
    path.write_text("hello, I am not MATLAB\n" * 20)
    assert "not a readable MATLAB file" in _error(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mat"
    path.write_bytes(b"")
    assert "not a readable MATLAB file" in _error(path)


@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_truncated_file(vgg_file, tmp_path, fraction):
    data = vgg_file.read_bytes()
    path = tmp_path / "cut.mat"
    path.write_bytes(data[: int(len(data) * fraction)])
    assert "truncated" in _error(path)


def _rewrite(source, target, edit):
    data = scipy.io.loadmat(str(source))
    data = {k: v for k, v in data.items() if not k.startswith("__")}
    edit(data)
    scipy.io.savemat(str(target), data)
    return target


def test_missing_layers_key(vgg_file, tmp_path):
    path = _rewrite(vgg_file, tmp_path / "w.mat", lambda d: d.pop("layers"))
    assert "no 'layers'" in _error(path)


@pytest.mark.parametrize("layout", ["new", "old"])
def test_missing_normalization_is_a_clear_error(vgg_files, tmp_path, layout):
    key = "meta" if layout == "new" else "normalization"
    path = _rewrite(vgg_files[layout], tmp_path / "w.mat", lambda d: d.pop(key))
    message = _error(path)
    assert "'meta'" in message and "'normalization'" in message


def test_meta_without_normalization(vgg_file, tmp_path):
    def edit(data):
        data["meta"] = {"classes": data["meta"][0, 0]["classes"]}

    assert "meta has no field 'normalization'" in _error(
        _rewrite(vgg_file, tmp_path / "w.mat", edit)
    )


def test_too_few_layers(vgg_file, tmp_path):
    path = _rewrite(vgg_file, tmp_path / "w.mat", lambda d: d.update(layers=d["layers"][:, :37]))
    assert "37 layers; expected the 43" in _error(path)


def test_wrongly_named_layer(vgg_file, tmp_path):
    def edit(data):
        data["layers"][0, 10][0, 0]["name"] = np.array(["conv3_9"])

    message = _error(_rewrite(vgg_file, tmp_path / "w.mat", edit))
    assert "layer 11" in message and "'conv3_9'" in message and "'conv3_1'" in message


def test_layer_without_weights_field(vgg_file, tmp_path):
    def edit(data):
        cell = data["layers"][0, 0][0, 0]
        names = [n for n in cell.dtype.names if n != "weights"]
        data["layers"][0, 0] = {n: cell[n] for n in names}

    assert "has no field 'weights'" in _error(_rewrite(vgg_file, tmp_path / "w.mat", edit))


def test_kernel_with_wrong_input_channels(vgg_file, tmp_path):
    def edit(data):
        weights = data["layers"][0, 5][0, 0]["weights"]  # conv2_1
        weights[0, 0] = np.zeros((3, 3, 7, TINY_CONV_WIDTHS[2]), np.float32)

    message = _error(_rewrite(vgg_file, tmp_path / "w.mat", edit))
    assert "'conv2_1'" in message and f"{TINY_CONV_WIDTHS[1]} input channels" in message


def test_bias_of_wrong_length(vgg_file, tmp_path):
    def edit(data):
        data["layers"][0, 0][0, 0]["weights"][0, 1] = np.zeros((2, 1), np.float32)

    assert "2 biases" in _error(_rewrite(vgg_file, tmp_path / "w.mat", edit))


def test_shapes_checked_even_beyond_the_kept_layers(vgg_file, tmp_path):
    def edit(data):
        data["layers"][0, 41][0, 0]["weights"][0, 0] = np.zeros((1, 1, 3, 10), np.float32)  # fc8

    message = _error(_rewrite(vgg_file, tmp_path / "w.mat", edit), deepest="conv4_2")
    assert "'fc8'" in message


# --- the cache of conv layers -------------------------------------------------------------


def _cache_files():
    return sorted(Path(os.environ["STYLIZE_CACHE_DIR"]).glob("vgg19-*.npz"))


def test_cache_serves_identical_layers_on_the_second_load(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    path = write_vgg19_mat(tmp_path / "w.mat", "old", seed=8)
    first = load_vgg19(path, "relu5_1")
    assert len(_cache_files()) == 1
    monkeypatch.setattr("stylize.weights._read_mat", lambda *a: pytest.fail("parsed again"))
    second = load_vgg19(path, "relu4_2")
    assert second.layer_names[-1] == "relu4_2" and second.layout == "old"
    np.testing.assert_array_equal(second.mean_pixel, first.mean_pixel)
    for a, b in zip(first.layers, second.layers, strict=False):
        assert a.name == b.name
        if a.kernel is not None:
            np.testing.assert_array_equal(a.kernel, b.kernel)
            np.testing.assert_array_equal(a.bias, b.bias)


def test_cache_misses_when_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    path = write_vgg19_mat(tmp_path / "w.mat", "new", seed=1)
    before = load_vgg19(path, "relu1_1").layers[0].kernel.copy()
    write_vgg19_mat(path, "new", seed=2)
    os.utime(path, ns=(1, 10**18))  # a new modification time, whatever the clock's resolution
    after = load_vgg19(path, "relu1_1").layers[0].kernel
    assert not np.array_equal(before, after)


def test_a_corrupt_cache_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    path = write_vgg19_mat(tmp_path / "w.mat", "new")
    expected = load_vgg19(path, "relu2_1").layers[5].kernel
    _cache_files()[0].write_bytes(b"garbage")
    np.testing.assert_array_equal(load_vgg19(path, "relu2_1").layers[5].kernel, expected)


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("STYLIZE_CACHE", "off")
    load_vgg19(write_vgg19_mat(tmp_path / "w.mat", "new"), "relu5_1")
    assert not (tmp_path / "cache").exists()


def test_errors_are_not_hidden_by_the_cache(vgg_file, tmp_path):
    data = vgg_file.read_bytes()
    cut = tmp_path / "cut.mat"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated"):
        load_vgg19(cut, "relu5_1")


# --- bad values and stale caches (hardening issue, F2-F5, F15) -----------------------------


def _conv1(data):
    return data["layers"][0, 0][0, 0]["weights"]


def _normalization(data):
    return data["meta"][0, 0]["normalization"][0, 0]


def test_a_matlab_v73_file_is_named_as_such(tmp_path):
    path = tmp_path / "v73.mat"
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116)
    path.write_bytes(header + b"\0" * 8 + struct.pack("<H", 0x0200) + b"IM" + b"\0" * 512)
    assert "v7.3 (HDF5)" in _error(path) and "v7.3 (HDF5)" in _error(path, "relu5_1")


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda d: _conv1(d).__setitem__((0, 1), np.array(["abcd"])), "'conv1_1' bias holds"),
        (lambda d: _normalization(d).__setitem__("averageImage", "abc"), "averageImage holds"),
        (lambda d: _normalization(d).__setitem__(
            "averageImage", np.array([np.nan, 1, 1], np.float32).reshape(1, 1, 3)),
         "averageImage contains NaN"),
        (lambda d: _conv1(d).__setitem__((0, 0), np.full_like(_conv1(d)[0, 0], np.nan)),
         "'conv1_1' kernel contains NaN"),
        (lambda d: _conv1(d)[0, 0].__setitem__((0, 0, 0, 0), np.inf), "'conv1_1' kernel contains"),
    ],
)  # fmt: skip
def test_text_and_non_finite_numbers_are_a_bad_weights_file(vgg_file, tmp_path, edit, needle):
    path = _rewrite(vgg_file, tmp_path / "bad.mat", edit)
    for deepest in (None, "relu5_1"):
        assert needle in _error(path, deepest)


def test_relu6_and_relu7_are_not_feature_layers():
    assert FEATURE_LAYERS[-1] == "relu5_4" and "relu6" not in FEATURE_LAYERS


def test_a_cache_whose_bytes_changed_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    # Members over zipfile's 4 KiB read-ahead: reading only the .npy header through zipfile
    # then never reaches the CRC check at the member's end.
    widths = dict.fromkeys(range(1, 6), 32)
    path = write_vgg19_mat(tmp_path / "w.mat", "new", conv_widths=widths, seed=4)
    expected = load_vgg19(path, "relu3_1").layers[10].kernel.copy()
    cache = _cache_files()[0]
    info = zipfile.ZipFile(cache).getinfo("conv3_1/kernel.npy")
    data = bytearray(cache.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length + 128  # past the .npy header
    assert info.file_size > 128 + 20_004
    data[start + 20_000 : start + 20_004] = struct.pack("<f", 5.0)  # one value, bit rot
    cache.write_bytes(bytes(data))
    assert weights_cache.read(path) is None
    np.testing.assert_array_equal(load_vgg19(path, "relu3_1").layers[10].kernel, expected)
    assert weights_cache.read(path) is not None  # rebuilt


def test_a_file_replaced_with_the_same_size_and_time_misses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    first = write_vgg19_mat(tmp_path / "a.mat", "new", seed=1, compress=False)
    second = write_vgg19_mat(tmp_path / "b.mat", "new", seed=2, compress=False)
    assert first.stat().st_size == second.stat().st_size
    path = tmp_path / "w.mat"
    shutil.copy2(first, path)
    before = load_vgg19(path, "relu1_1").layers[0].kernel.copy()
    shutil.copyfile(second, path)  # written in place: same inode
    shutil.copystat(first, path)  # the size and modification time of the first file
    assert path.stat().st_mtime_ns == first.stat().st_mtime_ns
    after = load_vgg19(path, "relu1_1").layers[0].kernel
    np.testing.assert_array_equal(after, load_vgg19(second, "relu1_1").layers[0].kernel)
    assert not np.array_equal(before, after)


# --- random networks (--weights random[:SEED], random-tiny[:SEED]) ----------------------------


def test_random_specs_and_file_paths():
    assert random_spec("random") == ("random", 0)
    assert random_spec("random-tiny:42") == ("random-tiny", 42)
    assert random_spec("./random") is None and random_spec("random.mat") is None
    with pytest.raises(WeightsError, match="random:SEED"):
        random_spec("random:x")


@pytest.mark.parametrize("name", ["random", "random-tiny"])
def test_a_random_network_is_the_file_the_same_seed_writes(name, tmp_path):
    in_memory = load_vgg19(f"{name}:3", "relu5_1")
    written = load_vgg19(write_random_vgg19(tmp_path / "r.mat", f"{name}:3", "old", False),
                         "relu5_1", cache=False)  # fmt: skip
    assert in_memory.path == Path(f"{name}:3") and in_memory.layout == "new"
    assert in_memory.layer_names == written.layer_names
    np.testing.assert_allclose(in_memory.mean_pixel, MEAN_PIXEL, rtol=1e-6)
    for a, b in zip(in_memory.layers, written.layers, strict=True):
        if a.kernel is not None:
            np.testing.assert_array_equal(a.kernel, b.kernel)
            np.testing.assert_array_equal(a.bias, b.bias)
    widths = [layer.kernel.shape[3] for layer in in_memory.layers if layer.kernel is not None]
    assert widths[0] == (64 if name == "random" else TINY_CONV_WIDTHS[1])


def test_a_random_network_is_deterministic_per_seed_and_he_initialised():
    first, again = load_vgg19("random-tiny:1", "relu2_1"), load_vgg19("random-tiny:1", "relu2_1")
    other = load_vgg19("random-tiny:2", "relu2_1")
    np.testing.assert_array_equal(first.layers[0].kernel, again.layers[0].kernel)
    assert not np.array_equal(first.layers[0].kernel, other.layers[0].kernel)
    kernel = load_vgg19("random", "relu3_1").layers[10].kernel  # conv3_1: fan-in 3*3*128
    assert np.std(kernel) == pytest.approx(np.sqrt(2 / (3 * 3 * 128)), rel=0.02)


def test_a_random_network_goes_through_the_file_validation(monkeypatch):
    seen = []
    real = weights_module._parse_variables
    monkeypatch.setattr(weights_module, "_parse_variables",
                        lambda *args: seen.append(args[0]) or real(*args))  # fmt: skip
    load_vgg19("random-tiny", "relu1_1")
    assert seen == [Path("random-tiny:0")]


def test_weights_location_keeps_what_was_typed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert weights_location("random-tiny:3") == Path("random-tiny:3")
    assert weights_location("random:abc") == Path("random:abc")  # its error comes at loading
    assert weights_location("./random-tiny") == tmp_path / "random-tiny"
    assert weights_location("./random:7") == tmp_path / "random:7"
    assert weights_location("./random:abc") == tmp_path / "random:abc"
    assert weights_location("./vgg.mat") == Path("vgg.mat")  # no name to mistake: as typed
    assert random_spec(weights_location("./random")) is None
