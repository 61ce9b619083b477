"""Keeping the resident set small: fewer malloc arenas, trimmed after a graph is evicted,
and file-mapped arrays whose pages can be handed back.

glibc gives each thread that allocates concurrently its own malloc arena, up to 8 per core,
and memory freed into one arena serves only that arena's later requests. TensorFlow's
thread pools allocate and free every step's activations (tens of MB each) from many
threads, so each arena grows to its own high-water mark and the resident set keeps climbing
through the first iterations. ``limit_malloc_arenas``, called before TensorFlow starts its
threads, caps them at 2 (a run ended with 2 heaps instead of 8), at the same seconds per
iteration.

The conv weights (49 MB up to conv5_1) are needed only while a graph copies them into its
variables (TensorFlow copies a fed array, it never aliases it). Read from the weights cache
they are read-only views of a memory map of the cache file (see weights_cache.read), so
once a graph holds its copy, ``release_pages`` drops their pages from the process: the page
cache keeps them, and the next graph (another scale or size) faults them back in from
there. The arrays stay valid throughout: 49 MB less anonymous memory during the steps.

Together, on ``stylize run`` at 400x300 with the real-shaped VGG-19 file (L-BFGS, two scales,
2 cores), the peak RSS fell by about 30-60 MB; it varies by +-25 MB from run to run with how
TensorFlow's threads share the arenas.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import math
import mmap
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # _tf imports this module first thing: keep it light
    from stylize.config import Settings
    from stylize.weights import VggWeights

M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` for threads started from now on; returns
    whether the cap was set. Nothing happens (False) without glibc, or when the user set
    ``MALLOC_ARENA_MAX``, which glibc has then already applied."""
    if os.environ.get("MALLOC_ARENA_MAX") or not _is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_ARENA_MAX, arenas) == 1


def release_free_memory() -> bool:
    """Hand the free pages of every malloc arena back to the system (glibc's malloc_trim);
    returns whether that ran. Without glibc nothing happens.

    A closed graph's tensors go back to malloc's arenas, where they stay resident while the
    next, larger graph allocates afresh: trimming when the Stylizer evicts a graph lowered
    the peak RSS of a two-scale run by 4-20 MB.
    """
    if not _is_glibc():
        return False
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)
    return True


def _is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr (Windows) or no such name
        return False


def mapped_file(array: np.ndarray) -> mmap.mmap | None:
    """The memory map ``array``'s data lives in, or None for an array in ordinary memory."""
    base: object = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return base if isinstance(base, mmap.mmap) else None


def release_pages(arrays: Iterable[np.ndarray | None]) -> int:
    """Drop from the resident set the pages of the file maps behind ``arrays`` (others are
    left alone); returns how many maps were released. Reading the arrays afterwards is
    correct and faults the pages back in from the page cache.

    A no-op where ``madvise`` is missing (Windows, Python builds without it) or refused.
    """
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None or not hasattr(mmap.mmap, "madvise"):
        return 0
    found = (mapped_file(array) for array in arrays if array is not None)
    maps = {id(mapping): mapping for mapping in found if mapping is not None}
    released = 0
    for mapping in maps.values():
        try:
            mapping.madvise(advice)
        except (OSError, ValueError):  # a closed map, or an OS that refuses the advice
            continue
        released += 1
    return released


# --- the memory a size needs -------------------------------------------------------------


# Peak RSS of `stylize run` measured with wait4 at 320x240 ... 1600x1200 (3 iterations,
# real-shaped VGG-19, TensorFlow 2.21, 2 cores; benchmarks/README.md, "Memory") is a line in
# the number of float32 activation values, whose slope depends on the convolution kernels
# oneDNN picks for the CPU: 719 MiB + 3.6 bytes a value on an AMD EPYC with AVX-512
# (Adam; 742 MiB + 4.75 with L-BFGS), 1187 MiB + 5.45 bytes on an AMD EPYC with AVX2 only,
# whose kernels keep larger work buffers. Each model below rounds its line up: 5-23 %
# above every peak measured on its kind of CPU.


@dataclass(frozen=True)
class PeakModel:
    """Peak = ``runtime`` (TensorFlow, the weights, the graph) + ``copies`` x every layer's
    output + the optimizer's state."""

    runtime: int
    copies: float


AVX512_PEAKS = PeakModel(runtime=800 * 2**20, copies=1.1)
OTHER_PEAKS = PeakModel(runtime=1300 * 2**20, copies=1.5)  # AVX2, and CPUs not measured
ADAM_BYTES_PER_VALUE = 4 * 4  # the image, its gradient and Adam's two moments, float32
# stylize.lbfgsb keeps 2 x 10 correction vectors, the bounds, x, g, the step and its end
# in float32, and builds about 8 more while it computes the next point (Cauchy point,
# subspace step): 36 float32 vectors, counted (SciPy's float64 L-BFGS-B took 30 x 8).
LBFGS_BYTES_PER_VALUE = 36 * 4


# Frozen conv kernels (stylize.cpu.frozen_weights_on) are reordered copies cached per
# executor: +181 MiB of peak at 400x300 with Adam on an Intel Xeon with AMX (float32; the
# copies are of the kernels, so the same at any size). The models were fitted without them.
FROZEN_KERNELS_BYTES = 256 * 2**20


def peak_model(flags: frozenset[str] | None = None) -> PeakModel:
    """The PeakModel of this CPU (its /proc/cpuinfo flags unless ``flags`` are given)."""
    from stylize.cpu import frozen_weights_on

    flags = _this_cpu_flags() if flags is None else flags
    model = AVX512_PEAKS if flags and "avx512f" in flags else OTHER_PEAKS
    if frozen_weights_on(flags):
        return dataclasses.replace(model, runtime=model.runtime + FROZEN_KERNELS_BYTES)
    return model


@functools.lru_cache(maxsize=1)
def _this_cpu_flags() -> frozenset[str] | None:
    """/proc/cpuinfo's flags, read once: a plan asks for the model once per core size."""
    from stylize.cpu import cpu_flags

    return cpu_flags()


def activation_bytes(weights: VggWeights, settings: Settings, width: int, height: int) -> int:
    """Bytes of one copy of every layer's output up to the deepest layer used, at
    (width, height): 4 bytes a value in float32, 2 in bfloat16."""
    total, w, h, channels = 0, width, height, 3
    for layer in weights.layers:
        if layer.kind == "conv" and layer.kernel is not None and layer.name.startswith("conv"):
            channels = layer.kernel.shape[3]
        elif layer.kind == "pool":
            w, h = math.ceil(w / 2), math.ceil(h / 2)
        total += w * h * channels
        if layer.name == settings.deepest_layer:
            break
    return (2 if settings.precision == "bfloat16" else 4) * total


def step_bytes(weights: VggWeights, settings: Settings, width: int, height: int) -> int:
    """The peak memory of optimizing a (width, height) image, in bytes: the runtime, the
    activations and the optimizer's state, calibrated on measured peaks (see above)."""
    per_value = LBFGS_BYTES_PER_VALUE if settings.optimizer == "lbfgs" else ADAM_BYTES_PER_VALUE
    model = peak_model()
    activations = model.copies * activation_bytes(weights, settings, width, height)
    return int(model.runtime + activations + per_value * 3 * width * height)


def available_memory(root: str = "/") -> int | None:
    """Bytes this process can still allocate: the smaller of the machine's MemAvailable
    and the headroom of its memory cgroup (a container's limit), or None where neither is
    known. ``root`` is where /proc and /sys are looked for (tests point it elsewhere)."""
    known = [n for n in (_meminfo_available(root), cgroup_headroom(root)) if n is not None]
    return min(known) if known else None


def _meminfo_available(root: str) -> int | None:
    try:
        with open(os.path.join(root, "proc/meminfo")) as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cgroup_headroom(root: str = "/") -> int | None:
    """The limit minus the usage of the tightest memory cgroup this process is in (its own
    and every parent's: cgroup v2's memory.max and memory.current, v1's
    memory.limit_in_bytes and memory.usage_in_bytes), counting inactive file pages as free,
    since the kernel reclaims them before it kills; None without a limit."""
    room = [_headroom(folder, *files) for folder, files in _cgroup_folders(root)]
    room = [n for n in room if n is not None]
    return min(room) if room else None


_V2_FILES = ("memory.max", "memory.current", "inactive_file")
_V1_FILES = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
_UNLIMITED = 2**60  # v1 writes "no limit" as a number near 2**63


def _cgroup_folders(root: str):
    """(folder, file names) of each memory cgroup level to look at, innermost first."""
    mount = os.path.join(root, "sys/fs/cgroup")
    try:
        with open(os.path.join(root, "proc/self/cgroup")) as table:
            lines = [line.rstrip("\n").split(":", 2) for line in table]
    except OSError:
        return []
    found = []
    for fields in lines:
        if len(fields) != 3:
            continue
        _, controllers, path = fields
        if controllers == "" and os.path.isfile(os.path.join(mount, "cgroup.controllers")):
            found += [(folder, _V2_FILES) for folder in _levels(mount, path)]
        elif "memory" in controllers.split(","):
            v1_mount = os.path.join(mount, "memory")
            found += [(folder, _V1_FILES) for folder in _levels(v1_mount, path)]
    return found


def _levels(mount: str, path: str) -> list[str]:
    """The cgroup's folder and its parents' up to the mount (in a container the path named
    in /proc is often not visible, and the mount itself is the container's cgroup)."""
    parts = [part for part in path.split("/") if part]
    levels = [os.path.join(mount, *parts[:depth]) for depth in range(len(parts), -1, -1)]
    return [level for level in levels if os.path.isdir(level)]


def _headroom(folder: str, limit_name: str, usage_name: str, inactive_name: str) -> int | None:
    try:
        with open(os.path.join(folder, limit_name)) as stream:
            text = stream.read().strip()
        if text == "max" or int(text) >= _UNLIMITED:
            return None
        with open(os.path.join(folder, usage_name)) as stream:
            usage = int(stream.read())
    except (OSError, ValueError):
        return None
    return max(0, int(text) - usage + _stat_value(folder, inactive_name))


def _stat_value(folder: str, name: str) -> int:
    try:
        with open(os.path.join(folder, "memory.stat")) as stream:
            for line in stream:
                key, _, value = line.partition(" ")
                if key == name:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def resident_bytes() -> int:
    """This process's resident set in bytes (0 where /proc/self/statm is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
