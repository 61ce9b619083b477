"""The one place that imports TensorFlow, in TF1 (graph and session) mode.

Importing this module is slow (about 3 s); only modules that build or run graphs import it,
and the CLI imports those lazily so that ``stylize --help`` stays fast.
"""

import contextlib
import os

from stylize.cpu import cpu_flags, frozen_weights_pay
from stylize.memory import limit_malloc_arenas
from stylize.signals import held

# TensorFlow's C++ start-up chatter (oneDNN notices, CUDA probes on CPU-only machines) is
# noise on a CLI's stderr; a user can still set these variables to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# stylize never changes a conv kernel once its session has it. Told so, oneDNN's conv op
# keeps each kernel reordered into the blocked layout its fastest float32 primitive wants
# (as it does for a constant), one copy per executor. On AMX CPUs its primitive for
# variable kernels otherwise reads the plain layout, ~20 % slower; elsewhere measured no
# faster, so left alone (stylize.cpu.frozen_weights_pay). Read once, when TensorFlow first
# runs a convolution; a user's own setting wins.
if frozen_weights_pay(cpu_flags()):
    os.environ.setdefault("TF_ONEDNN_ASSUME_FROZEN_WEIGHTS", "1")


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null: absl writes some lines there before its logging
    is initialised, ignoring TF_CPP_MIN_LOG_LEVEL. Python exceptions still propagate."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "3":
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# Before TensorFlow starts its thread pools: fewer malloc arenas, a lower peak RSS (memory).
limit_malloc_arenas()

with _stderr_silenced():
    import tensorflow.compat.v1 as tf

    tf.logging.set_verbosity(tf.logging.ERROR)
    tf.disable_v2_behavior()
    tf.config.list_physical_devices("GPU")  # the CUDA probe logs once, here


class Session(tf.Session):
    """tf.Session whose ``run`` is never cut short by a SIGINT or SIGTERM: the signal waits
    for its end (stylize.signals.held explains the lock it would otherwise leave taken)."""

    def run(self, *args, **kwargs):
        with held():
            return super().run(*args, **kwargs)


__all__ = ["Session", "tf"]
