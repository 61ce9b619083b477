import os
import signal
import subprocess
import sys

import pytest

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


def test_a_signal_during_session_run_is_raised_after_it_and_leaves_no_lock_taken():
    import traceback

    import numpy as np

    from stylize._tf import Session, tf
    from stylize.signals import Terminated, signals_raise

    def kill():  # runs in one of TensorFlow's threads while the main thread waits in run()
        os.kill(os.getpid(), signal.SIGTERM)
        return np.float32(1.0)

    with tf.Graph().as_default() as graph:
        signalled = tf.py_func(kill, [], tf.float32)
        two = tf.constant(2.0)
    with Session(graph=graph) as session:
        with pytest.raises(Terminated) as raised, signals_raise():
            session.run(signalled)
        # Raised where the held block ends, not by the handler inside TensorFlow's code.
        where = traceback.extract_tb(raised.value.__traceback__)[-2:]
        assert [(frame.name, os.path.basename(frame.filename)) for frame in where] == [
            ("__exit__", "signals.py"), ("_raise_waiting", "signals.py")]  # fmt: skip
        assert graph._group_lock._group_member_counts == [0, 0]
        assert session.run(two) == 2.0
