"""Choosing where the graph runs, and the session options that go with it."""

from __future__ import annotations

from stylize._tf import tf
from stylize.errors import DeviceError

CPU = "/device:CPU:0"
GPU = "/device:GPU:0"


def visible_gpus() -> list[str]:
    """Names of the GPUs TensorFlow can use (empty on a CPU-only machine or build)."""
    return [gpu.name for gpu in tf.config.list_physical_devices("GPU")]


def resolve_device(requested: str) -> str:
    """Map ``auto``, ``cpu`` or ``gpu`` to a TensorFlow device string.

    ``auto`` takes the first GPU when TensorFlow sees one; ``gpu`` without one is an error
    that says why (no GPU, or a TensorFlow build without CUDA).
    """
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
