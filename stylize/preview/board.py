"""What the preview page shows: written by the run's thread after each iteration, read by
the server's threads when a page asks. The image is rendered only then, at most once per
IMAGE_INTERVAL seconds, so a run that nobody watches pays for a few assignments per
iteration and nothing more. This module never imports TensorFlow."""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

IMAGE_INTERVAL = 1.0  # seconds between two renders of the preview image
PREVIEW_SIDE = 1024  # pixels: the preview image's longest side at most (a print is smaller)
MAX_POINTS = 600  # cost-curve points sent to the page (the curve is thinned beyond that)
STATUSES = ("starting", "running", "finished", "interrupted", "failed")

ImageSource = Callable[[], np.ndarray]  # returns the (H, W, 3) uint8 image to show


class Board:
    """The state of one command's run, safe to write from one thread and read from others.

    ``command`` names it on the page ("stylize run", ...). A run reports ``start_job``
    (one per batch job), ``update`` after every iteration and ``finish`` at the end; a
    batch also reports ``jobs`` as they end.
    """

    def __init__(self, command: str, clock: Callable[[], float] = time.monotonic):
        self.command, self._clock = command, clock
        self._lock = threading.Lock()
        self._state = {"status": "starting", "label": "", "iteration": 0, "iterations": 0,
                       "J": None, "J_content": None, "J_style": None, "scale": 1, "scales": 1,
                       "elapsed": 0.0, "left": None, "job": None, "batch": None}  # fmt: skip
        self._history: list[tuple[int, float, float, float, int]] = []
        self._source: ImageSource | None = None
        self._version = 0  # of the image ``_source`` gives; 0: none yet
        self._rendered: tuple[int, bytes] | None = None
        self._rendered_at = -math.inf

    def start_job(self, label: str, iterations: int, job: dict | None = None) -> None:
        """A job of ``iterations`` begins (``job``: its place in a batch, e.g. {"index": 3,
        "total": 12}); the cost curve starts afresh, the last image stays until a new one."""
        with self._lock:
            self._state.update(status="running", label=label, iteration=0, iterations=iterations,
                               J=None, J_content=None, J_style=None, scale=1, scales=1,
                               elapsed=0.0, left=None, job=job)  # fmt: skip
            self._history = []

    def update(self, iteration: int, costs: tuple[float, float, float], elapsed: float,
               scale: int = 1, scales: int = 1, image: ImageSource | None = None,
               iterations: int | None = None, left: float | None = None) -> None:  # fmt: skip
        """Iteration ``iteration`` (1-based) of ``iterations`` (default: the job's) ended
        with costs (J, J_content, J_style) after ``elapsed`` seconds of the job; ``image``
        (if given) returns the image to show from now on. ``left``: the seconds to the
        end when the caller knows better than the pace of iterations (a coarse-to-fine
        run's later scales cost more)."""
        J, J_content, J_style = (float(c) for c in costs)
        with self._lock:
            if iterations is not None:
                self._state["iterations"] = iterations
            total = self._state["iterations"]
            if left is None and iteration > 0:
                left = (total - iteration) * elapsed / iteration
            self._state.update(iteration=iteration, J=J, J_content=J_content, J_style=J_style,
                               scale=scale, scales=scales, elapsed=elapsed, left=left)  # fmt: skip
            self._history.append((iteration, J, J_content, J_style, scale))
            if image is not None:
                self._source, self._version = image, self._version + 1

    def show(self, image: ImageSource) -> None:
        """Show the image ``image()`` returns (a batch job's result, say)."""
        with self._lock:
            self._source, self._version = image, self._version + 1

    def jobs(self, done: int, failed: int, total: int, left: float | None) -> None:
        """A batch's jobs: ``done`` and ``failed`` of ``total`` to run, seconds left."""
        with self._lock:
            self._state["batch"] = {"done": done, "failed": failed, "total": total,
                                    "left": left}  # fmt: skip

    def finish(self, status: str) -> None:
        """The run ended: "finished", "interrupted" or "failed"."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        with self._lock:
            self._state["status"] = status
            self._state["left"] = 0.0 if status == "finished" else self._state["left"]

    def snapshot(self) -> dict:
        """The page's data: the state, ``image`` (the version of the image to fetch, 0 for
        none) and ``history``, rows [iteration, J, J_content, J_style, scale], thinned to at
        most MAX_POINTS rows (the first and the last always kept)."""
        with self._lock:
            state = dict(self._state, command=self.command, image=self._version)
            history = list(self._history)
        state["history"] = [list(row) for row in _thinned(history, MAX_POINTS)]
        return _finite(state)

    def image_png(self) -> tuple[int, bytes] | None:
        """(version, PNG bytes) of the image to show, at most PREVIEW_SIDE pixels on its
        longest side; None before there is one. Rendered again only when the image changed
        and IMAGE_INTERVAL seconds have passed since the last render."""
        with self._lock:
            source, version = self._source, self._version
            rendered, fresh = self._rendered, self._clock() - self._rendered_at < IMAGE_INTERVAL
        if source is None:
            return None
        if rendered is not None and (rendered[0] == version or fresh):
            return rendered
        png = encode_png(source())
        with self._lock:
            self._rendered, self._rendered_at = (version, png), self._clock()
        return version, png


def encode_png(image: np.ndarray, side: int = PREVIEW_SIDE) -> bytes:
    """An (H, W, 3) uint8 or uint16 image (a --bit-depth 16 run's, shown at 8 bits) as PNG
    bytes, scaled down (Lanczos) to fit ``side`` pixels; fast compression, since the page
    fetches it about once a second."""
    array = np.asarray(image)
    if array.dtype == np.uint16:  # 257 16-bit levels per 8-bit level (stylize.bit_depth)
        array = np.rint(array / 257)
    picture = Image.fromarray(np.asarray(array, dtype=np.uint8))
    if max(picture.size) > side:
        picture.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _thinned(rows: list, limit: int) -> list:
    """At most ``limit`` rows, evenly spaced, the first and the last included."""
    if len(rows) <= limit:
        return rows
    step = (len(rows) - 1) / (limit - 1)
    return [rows[round(i * step)] for i in range(limit)]


def _finite(value):
    """``value`` with every non-finite float as None, so the page gets strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
