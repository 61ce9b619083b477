import os
import subprocess
import sys

from stylize.cpu import cpu_flags, frozen_weights_pay

# Run in a fresh interpreter: this test session has imported TensorFlow long ago.
PROBE = """
import sys

from stylize.cpu import cpu_flags, frozen_weights_pay
from stylize import memory
seen = []
memory.limit_malloc_arenas = lambda: seen.append("tensorflow" in sys.modules) or True
import stylize._tf
print(seen)
"""


def test_malloc_arenas_are_limited_before_tensorflow_starts_its_threads():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("MALLOC_ARENA_MAX", None)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "[False]"  # once, with TF not yet imported


FROZEN = "import os, stylize._tf; print(os.environ.get('TF_ONEDNN_ASSUME_FROZEN_WEIGHTS'))"


def _frozen_setting(env):
    done = subprocess.run([sys.executable, "-c", FROZEN], capture_output=True, text=True,
                          env=env, timeout=120, check=True)  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def test_onednn_is_told_the_weights_are_frozen_on_amx_cpus_unless_the_user_says_otherwise():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", None)
    expected = "1" if frozen_weights_pay(cpu_flags()) else "None"
    assert _frozen_setting(env) == expected
    assert _frozen_setting({**env, "TF_ONEDNN_ASSUME_FROZEN_WEIGHTS": "0"}) == "0"


def test_frozen_weights_are_chosen_by_the_cpu_flags():
    assert frozen_weights_pay(frozenset({"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}))
    assert not frozen_weights_pay(frozenset({"avx512f", "avx512_bf16"}))
    assert not frozen_weights_pay(frozenset({"avx2"}))
    assert not frozen_weights_pay(None)
