import mmap
import sys
import types

import numpy as np
import pytest

from stylize import memory, weights_cache
from stylize.config import Settings
from stylize.weights import load_vgg19

ARRAYS = {
    "layout": np.array("new"),
    "mean_pixel": np.array([123.68, 116.779, 103.939], np.float32),
    "conv1_1/kernel": np.arange(3 * 3 * 3 * 64, dtype=np.float32).reshape(3, 3, 3, 64),
    "conv1_1/bias": np.linspace(-1, 1, 64, dtype=np.float32),
    "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "big": np.ones(4 * 2**20, np.float32),  # 16 MB, to see its pages come and go
}


@pytest.fixture
def cached(tmp_path, monkeypatch):
    """ARRAYS written to and read back from the weights cache of a dummy weights file."""
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    weights_file = tmp_path / "weights.mat"
    weights_file.write_bytes(b"not parsed here")
    weights_cache.write(weights_file, ARRAYS)
    return weights_cache.read(weights_file)


def test_the_cache_reads_identical_read_only_arrays_mapped_from_its_file(cached):
    assert cached.keys() == ARRAYS.keys()
    for name, array in ARRAYS.items():
        assert cached[name].dtype == array.dtype and cached[name].shape == array.shape, name
        np.testing.assert_array_equal(cached[name], array, err_msg=name)
        assert not cached[name].flags.writeable
        assert memory.mapped_file(cached[name]) is not None
    assert str(cached["layout"]) == "new"


def test_a_compressed_or_truncated_cache_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path / "cache"))
    weights_file = tmp_path / "weights.mat"
    weights_file.write_bytes(b"x")
    target = weights_cache.cache_path(weights_file)
    target.parent.mkdir()
    np.savez_compressed(target, a=np.zeros(10))
    assert weights_cache.read(weights_file) is None
    np.savez(target, a=np.zeros(1000))
    target.write_bytes(target.read_bytes()[:2000] + target.read_bytes()[-200:])
    assert weights_cache.read(weights_file) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_release_pages_drops_the_resident_pages_and_the_arrays_stay_valid(
    cached, tmp_path, resident_kb
):
    (path,) = (tmp_path / "cache").iterdir()
    assert cached["big"].sum() == 4 * 2**20  # reads every page
    assert resident_kb(path) >= 16 * 1024
    assert memory.release_pages(cached.values()) == 1  # one map behind all the arrays
    assert resident_kb(path) < 1024
    assert cached["big"].sum() == 4 * 2**20
    np.testing.assert_array_equal(cached["conv1_1/kernel"], ARRAYS["conv1_1/kernel"])


def test_release_pages_leaves_ordinary_arrays_alone():
    assert memory.mapped_file(np.zeros(3)) is None
    assert memory.mapped_file(np.frombuffer(bytearray(16), np.float32)) is None
    assert memory.release_pages([np.zeros(3), None]) == 0


def test_release_pages_is_a_no_op_without_madvise(cached, monkeypatch):
    monkeypatch.delattr(mmap, "MADV_DONTNEED", raising=False)
    assert memory.release_pages(cached.values()) == 0
    np.testing.assert_array_equal(cached["conv1_1/bias"], ARRAYS["conv1_1/bias"])


class _FakeLibc:
    """A C library whose ``mallopt`` records its calls (a plain object, as ctypes functions
    take ``argtypes``)."""

    def __init__(self, result=1):
        self.calls = []
        self.mallopt = _Recorder(self.calls, result)


class _Recorder:
    def __init__(self, calls, result):
        self.calls, self.result = calls, result

    def __call__(self, *arguments):
        self.calls.append(arguments)
        return self.result


def test_limit_malloc_arenas_sets_glibcs_arena_max(monkeypatch):
    libc = _FakeLibc()
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(memory, "_is_glibc", lambda: True)
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda name: libc)
    assert memory.limit_malloc_arenas() is True
    assert libc.calls == [(-8, 2)]  # M_ARENA_MAX in malloc.h


def test_limit_malloc_arenas_leaves_a_users_setting_alone(monkeypatch):
    libc = _FakeLibc()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    monkeypatch.setattr(memory, "_is_glibc", lambda: True)
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda name: libc)
    assert memory.limit_malloc_arenas() is False and libc.calls == []


@pytest.mark.parametrize("failure", ["not glibc", "no libc", "no mallopt", "refused"])
def test_limit_malloc_arenas_is_a_silent_no_op_elsewhere(monkeypatch, failure):
    def cdll(name):
        if failure == "no libc":
            raise OSError("no such library")
        return object() if failure == "no mallopt" else _FakeLibc(result=0)

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(memory, "_is_glibc", lambda: failure != "not glibc")
    monkeypatch.setattr(memory.ctypes, "CDLL", cdll)
    assert memory.limit_malloc_arenas() is False


def test_is_glibc_is_false_without_confstr_names(monkeypatch):
    def confstr(name):
        raise ValueError("unrecognized configuration name")

    monkeypatch.setattr(memory.os, "confstr", confstr, raising=False)
    assert memory._is_glibc() is False


def test_release_free_memory_trims_with_glibc_and_is_a_no_op_without(monkeypatch):
    calls = []
    libc = types.SimpleNamespace(malloc_trim=_Recorder(calls, 1))
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda name: libc)
    monkeypatch.setattr(memory, "_is_glibc", lambda: True)
    assert memory.release_free_memory() is True and calls == [(0,)]
    monkeypatch.setattr(memory, "_is_glibc", lambda: False)
    assert memory.release_free_memory() is False and calls == [(0,)]


# --- the memory a size needs -------------------------------------------------------------


@pytest.fixture(scope="module")
def weights(vgg_file):
    return load_vgg19(vgg_file, "relu5_1")


def test_activation_estimate_grows_with_the_pixels(weights):
    small = memory.activation_bytes(weights, Settings(), 100, 100)
    assert memory.activation_bytes(weights, Settings(), 200, 200) == pytest.approx(
        4 * small, rel=0.05
    )


def test_bfloat16_activations_take_half_the_bytes(weights):
    full = memory.activation_bytes(weights, Settings(), 100, 100)
    assert memory.activation_bytes(weights, Settings(precision="bfloat16"), 100, 100) * 2 == full


@pytest.mark.parametrize(
    ("flags", "model"),
    [({"avx2", "avx512f"}, memory.AVX512_PEAKS), ({"avx2"}, memory.OTHER_PEAKS),
     ({"neon", "bf16"}, memory.OTHER_PEAKS), (set(), memory.OTHER_PEAKS)],
)  # fmt: skip
def test_the_peak_model_follows_the_cpus_kernels(flags, model, monkeypatch):
    monkeypatch.delenv("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", raising=False)  # set on AMX CPUs
    assert memory.peak_model(frozenset(flags)) == model


def test_frozen_kernels_add_their_copies_to_the_peak_model(monkeypatch):
    amx = frozenset({"avx2", "avx512f", "amx_bf16", "amx_tile"})
    monkeypatch.delenv("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", raising=False)
    frozen = memory.peak_model(amx)
    assert frozen.runtime == memory.AVX512_PEAKS.runtime + memory.FROZEN_KERNELS_BYTES
    assert frozen.copies == memory.AVX512_PEAKS.copies
    monkeypatch.setenv("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", "0")
    assert memory.peak_model(amx) == memory.AVX512_PEAKS
    monkeypatch.setenv("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", "true")
    assert memory.peak_model(frozenset({"avx2"})).runtime > memory.OTHER_PEAKS.runtime


def test_the_step_estimate_is_calibrated_on_measured_peaks(weights, monkeypatch):
    # tiny weights here; the constants were fitted on the real shapes (see memory.py)
    for model in (memory.AVX512_PEAKS, memory.OTHER_PEAKS):
        monkeypatch.setattr(memory, "peak_model", lambda model=model: model)
        adam = memory.step_bytes(weights, Settings(), 400, 300)
        lbfgs = memory.step_bytes(weights, Settings(optimizer="lbfgs"), 400, 300)
        activations = memory.activation_bytes(weights, Settings(), 400, 300)
        assert adam == int(model.runtime + model.copies * activations + 16 * 3 * 400 * 300)
        assert lbfgs - adam == (144 - 16) * 3 * 400 * 300


def _tree(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


MEMINFO = "MemTotal: 25000000 kB\nMemAvailable:   20000000 kB\n"


def test_a_cgroup_v2_limit_below_free_memory_wins(tmp_path):
    root = _tree(tmp_path, {
        "proc/meminfo": MEMINFO,
        "proc/self/cgroup": "0::/docker/abc\n",
        "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
        "sys/fs/cgroup/docker/abc/memory.max": f"{700 * 2**20}\n",
        "sys/fs/cgroup/docker/abc/memory.current": f"{200 * 2**20}\n",
        "sys/fs/cgroup/docker/abc/memory.stat": f"anon 1\ninactive_file {50 * 2**20}\n",
        "sys/fs/cgroup/docker/memory.max": "max\n",
    })  # fmt: skip
    assert memory.cgroup_headroom(root) == 550 * 2**20
    assert memory.available_memory(root) == 550 * 2**20


def test_a_cgroup_v1_limit_seen_from_inside_a_container(tmp_path):
    # /proc names the host's path, which the container's mount does not show
    root = _tree(tmp_path, {
        "proc/meminfo": MEMINFO,
        "proc/self/cgroup": "5:memory:/kubepods/pod1\n3:cpu:/kubepods/pod1\n",
        "sys/fs/cgroup/memory/memory.limit_in_bytes": f"{2**30}\n",
        "sys/fs/cgroup/memory/memory.usage_in_bytes": f"{2**28}\n",
    })  # fmt: skip
    assert memory.available_memory(root) == 3 * 2**28


def test_no_limit_leaves_memavailable(tmp_path):
    root = _tree(tmp_path, {
        "proc/meminfo": MEMINFO,
        "proc/self/cgroup": "4:memory:/\n",
        "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
        "sys/fs/cgroup/memory/memory.usage_in_bytes": "1000\n",
    })  # fmt: skip
    assert memory.available_memory(root) == 20000000 * 1024
    assert memory.available_memory(str(tmp_path / "nothing")) is None
