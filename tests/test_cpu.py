import subprocess
import sys

import pytest

from stylize import cpu
from stylize.errors import DeviceError


def test_flags_are_read_from_x86_and_arm_cpuinfo(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n\nflags\t: other\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
    assert cpu.cpu_flags(str(x86)) == frozenset({"fpu", "avx512f", "avx512_bf16"})
    assert "bf16" in cpu.cpu_flags(str(arm))


def test_unknown_flags_are_none(tmp_path):
    assert cpu.cpu_flags(str(tmp_path / "missing")) is None
    (tmp_path / "none").write_text("processor\t: 0\n")
    assert cpu.cpu_flags(str(tmp_path / "none")) is None


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        (frozenset({"avx512f", "avx512_bf16"}), True),
        (frozenset({"amx_bf16"}), True),
        (frozenset({"asimd", "bf16"}), True),
        (frozenset({"avx2", "avx512f"}), False),
        (frozenset(), False),
        (None, False),
    ],
)
def test_native_bfloat16(flags, native):
    assert cpu.computes_bfloat16(flags) is native


def test_require_bfloat16_names_the_option_and_lets_unknown_cpus_go():
    cpu.require_bfloat16(frozenset({"avx512_bf16"}))
    cpu.require_bfloat16(None)
    with pytest.raises(DeviceError, match="^--precision bfloat16: this CPU has no native"):
        cpu.require_bfloat16(frozenset({"avx2"}))


def test_reading_the_cpu_does_not_import_tensorflow():
    code = "import sys, stylize.cpu; print('tensorflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_frozen_weights_follow_the_users_setting_else_the_cpu():
    amx, other = frozenset({"amx_tile", "amx_bf16"}), frozenset({"avx512_bf16"})
    frozen_weights_on = cpu.frozen_weights_on
    assert frozen_weights_on(amx, {}) and not frozen_weights_on(other, {})
    assert not frozen_weights_on(amx, {"TF_ONEDNN_ASSUME_FROZEN_WEIGHTS": "0"})
    assert frozen_weights_on(other, {"TF_ONEDNN_ASSUME_FROZEN_WEIGHTS": "True"})
    assert not frozen_weights_on(other, {"TF_ONEDNN_ASSUME_FROZEN_WEIGHTS": "false"})
