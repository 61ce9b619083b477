"""The n-variable passes of L-BFGS-B on two cores: one half of the variables on the caller's
thread, the other on a helper thread.

While L-BFGS-B works between two evaluations, TensorFlow is idle, so the second core is free.
NumPy releases the GIL inside its loops and BLAS calls, and a pass over 180,000 float32 values
lasts 50-400 us, far longer than handing it over. Measured on an Intel Xeon with AMX (2 cores),
with the caches flushed as a TensorFlow evaluation flushes them: the Cauchy point's first pass
over 360,000 variables 1.61 -> 1.02 ms, W a 1.78 -> 1.03 ms. The helper waits on a queue (a
futex, not a spin) between passes, so it takes nothing from TensorFlow's threads.

The split depends only on n, so results are the same from run to run; a dot product summed
over the two halves rounds differently from one over the whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

SPLIT_FROM = 1 << 16  # below this many variables a pass costs less than the hand-over

T = TypeVar("T")

_helper: ThreadPoolExecutor | None = None
_helper_lock = threading.Lock()


def _shared_helper() -> ThreadPoolExecutor:
    global _helper
    with _helper_lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stylize-lbfgsb")
        return _helper


class Lanes:
    """The parts, as slices, that the passes over n variables are split into: two halves
    from ``split_from`` variables on, else one part (no thread)."""

    def __init__(self, n: int, split_from: int = SPLIT_FROM):
        half = n // 2
        self.parts = (slice(0, half), slice(half, n)) if n >= max(split_from, 2) else (slice(0, n),)

    def run(self, work: Callable[[slice], T]) -> list[T]:
        """``work(part)`` for every part, the last on this thread and the others on the
        helper; the results in part order. An exception from any part is raised here."""
        if len(self.parts) == 1:
            return [work(self.parts[0])]
        pending = [_shared_helper().submit(work, part) for part in self.parts[:-1]]
        try:
            last = work(self.parts[-1])
        finally:
            done = [future.result() for future in pending]  # never leave a part running
        return [*done, last]
