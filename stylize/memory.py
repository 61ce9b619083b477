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
import math
import mmap
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from stylize.errors import ResourceError

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


def activation_bytes(weights: VggWeights, settings: Settings, width: int, height: int) -> int:
    """Rough peak memory of one optimization step at (width, height), in bytes.

    Every layer's output up to the deepest used one is kept for the backward pass, and the
    backward pass holds gradients of about the same size: 3 values per activation, of
    4 bytes (float32) or 2 (bfloat16).
    """
    total, w, h, channels = 0, width, height, 3
    for layer in weights.layers:
        if layer.kind == "conv" and layer.kernel is not None and layer.name.startswith("conv"):
            channels = layer.kernel.shape[3]
        elif layer.kind == "pool":
            w, h = math.ceil(w / 2), math.ceil(h / 2)
        total += w * h * channels
        if layer.name == settings.deepest_layer:
            break
    return 3 * (2 if settings.precision == "bfloat16" else 4) * total


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo in bytes, or None where that is unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_memory(weights: VggWeights, settings: Settings, width: int, height: int) -> None:
    """Refuse up front a size whose activations would not fit in the memory available."""
    need = activation_bytes(weights, settings, width, height)
    have = available_memory()
    if have is not None and need > 0.8 * have:
        raise ResourceError(
            f"a {width}x{height} image needs about {need / 2**30:.1f} GiB for the network's"
            f" activations but {have / 2**30:.1f} GiB is available; lower --max-size"
            " or use --scales"
        )
