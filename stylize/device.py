"""Choosing where the graph runs, and the session options that go with it."""

from __future__ import annotations

import os
import subprocess

from stylize._tf import tf
from stylize.cpu import computes_bfloat16, cpu_flags, require_bfloat16
from stylize.errors import DeviceError

CPU = "/device:CPU:0"
GPU = "/device:GPU:0"


def visible_gpus() -> list[str]:
    """Names of the GPUs TensorFlow can use (empty on a CPU-only machine or build)."""
    return [gpu.name for gpu in tf.config.list_physical_devices("GPU")]


# cuDNN computes bfloat16 convolutions from compute capability 8.0 (Ampere) on.
BFLOAT16_GPU_CAPABILITY = (8, 0)


def resolve_device(requested: str, precision: str = "float32") -> str:
    """Map ``auto``, ``cpu`` or ``gpu`` to a TensorFlow device string that can compute in
    ``precision``.

    ``auto`` takes the first GPU when TensorFlow sees one; ``gpu`` without one is an error
    that says why (no GPU, or a TensorFlow build without CUDA). So is ``bfloat16`` on a
    device without native bfloat16 arithmetic (see ``check_precision``).
    """
    device = _device(requested)
    check_precision(precision, device)
    return device


def concrete_precision(precision: str, device: str) -> str:
    """``--precision auto`` made concrete for ``device``: bfloat16 where it computes that
    natively (a CPU with AVX512_BF16, AMX or Arm BF16; a GPU of compute capability 8.0 or
    newer), else float32. Other precisions are returned as they are."""
    if precision != "auto":
        return precision
    return "bfloat16" if native_bfloat16(device) else "float32"


def native_bfloat16(device: str, flags: frozenset[str] | None = None) -> bool:
    """Whether ``device`` computes bfloat16 natively; a CPU's ``flags`` are read from
    /proc/cpuinfo unless given, and a device that does not say counts as not."""
    if device == GPU:
        capability = gpu_compute_capability()
        return capability is not None and capability >= BFLOAT16_GPU_CAPABILITY
    return computes_bfloat16(cpu_flags() if flags is None else flags)


def _device(requested: str) -> str:
    if requested == "cpu":
        return CPU
    gpus = visible_gpus()
    if gpus:
        return GPU
    if requested == "gpu":
        cuda = "with" if tf.test.is_built_with_cuda() else "without"
        raise DeviceError(
            f"--device gpu: TensorFlow (built {cuda} CUDA) sees no GPU on this machine;"
            " use --device cpu or --device auto"
        )
    return CPU


def check_precision(precision: str, device: str, flags: frozenset[str] | None = None) -> None:
    """Refuse ``bfloat16`` where it would be emulated: on a CPU whose feature flags (read
    from /proc/cpuinfo unless given) show no native bfloat16, or a GPU below compute
    capability 8.0. Where the flags cannot be read (not Linux), the run goes ahead. ``auto``
    is never refused (see concrete_precision)."""
    if precision in ("float32", "auto"):
        return
    if device == GPU:
        capability = gpu_compute_capability()
        if capability is not None and capability < BFLOAT16_GPU_CAPABILITY:
            raise DeviceError(
                f"--precision bfloat16: this GPU (compute capability {capability[0]}."
                f"{capability[1]}) has no native bfloat16 convolutions, which need 8.0 or"
                " newer; use --precision float32"
            )
        return
    require_bfloat16(cpu_flags() if flags is None else flags)


def gpu_compute_capability() -> tuple[int, int] | None:
    """(major, minor) of the first visible GPU, or None when TensorFlow does not say."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    capability = details.get("compute_capability")
    return tuple(capability) if capability else None


def session_config(device: str, intra_threads: int = 0, inter_threads: int = 0):
    """A ConfigProto for ``device``: GPU memory grows on demand instead of being taken whole.

    Thread counts of 0 let TensorFlow use every core.
    """
    config = tf.ConfigProto(
        allow_soft_placement=False,
        intra_op_parallelism_threads=intra_threads,
        inter_op_parallelism_threads=inter_threads,
    )
    if device == GPU:
        config.gpu_options.allow_growth = True
    else:
        config.device_count["GPU"] = 0
    return config


def gpu_free_memory(run=subprocess.run) -> int | None:
    """Free bytes of the first GPU this process sees (the first of CUDA_VISIBLE_DEVICES),
    as nvidia-smi reports them; None where it cannot say (no nvidia-smi, an error, output
    it does not understand). ``run`` is subprocess.run (tests pass another)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    command = ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"]
    if visible.isdigit():
        command.append(f"--id={visible}")
    try:
        done = run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines() if done.returncode == 0 else []
    try:
        return int(lines[0].strip()) * 2**20  # MiB, without units
    except (IndexError, ValueError):
        return None
