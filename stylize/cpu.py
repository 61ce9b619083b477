"""What the CPU can compute natively, read from /proc/cpuinfo without importing TensorFlow."""

from __future__ import annotations

import os

from stylize.errors import DeviceError

# Feature flags of CPUs that compute bfloat16 dot products natively: x86 (AVX512_BF16, AMX)
# in /proc/cpuinfo's "flags", Arm (BF16) in its "Features". Elsewhere oneDNN emulates
# bfloat16 and runs slower than float32.
BFLOAT16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str] | None:
    """The first CPU's feature flags, or None where /proc/cpuinfo cannot be read."""
    try:
        with open(path) as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        return None
    return None


def computes_bfloat16(flags: frozenset[str] | None) -> bool:
    """Whether CPU feature ``flags`` include native bfloat16 arithmetic."""
    return bool(flags and flags & BFLOAT16_CPU_FLAGS)


def require_bfloat16(flags: frozenset[str] | None) -> None:
    """Raise DeviceError for ``--precision bfloat16`` on a CPU whose ``flags`` lack native
    bfloat16; unknown flags (None: not Linux) let the run go ahead."""
    if flags is not None and not computes_bfloat16(flags):
        raise DeviceError(
            "--precision bfloat16: this CPU has no native bfloat16 arithmetic (AVX512_BF16,"
            " AMX or Arm BF16), so it would run slower than float32; use --precision float32"
        )


def frozen_weights_pay(flags: frozenset[str] | None) -> bool:
    """Whether telling oneDNN the conv kernels are frozen (stylize._tf) is worth its memory
    on a CPU with these flags: on an Intel Xeon with AMX, float32 steps ran ~20 % faster for
    ~180 MiB more; on an AMD EPYC with AVX512_BF16 they ran at the same speed for ~190 MiB
    more (benchmarks/README.md, "Step speed"), so only AMX CPUs get it."""
    return bool(flags and "amx_tile" in flags)


def frozen_weights_on(flags: frozenset[str] | None, environ=os.environ) -> bool:
    """Whether TensorFlow will treat the conv kernels as frozen: the user's
    TF_ONEDNN_ASSUME_FROZEN_WEIGHTS when set (TensorFlow reads 1/true and 0/false), else
    ``frozen_weights_pay(flags)``, as stylize._tf sets it."""
    setting = environ.get("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS")
    if setting is None:
        return frozen_weights_pay(flags)
    return setting.strip().lower() in ("1", "true")
