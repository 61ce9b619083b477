"""The generalized Cauchy point against a dense, segment-by-segment reference."""

import numpy as np
import pytest

from stylize import lbfgsb_cauchy
from stylize.lbfgsb_cauchy import _clamped_cumsum, cauchy_point
from stylize.lbfgsb_lanes import Lanes
from stylize.lbfgsb_memory import Memory


def _memory(n, count, seed, split_from=10**9):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    hessian = a @ a.T / n + 0.5 * np.eye(n)
    memory = Memory(n, 5, np.float64, Lanes(n, split_from=split_from))
    for _ in range(count):
        s = rng.normal(size=n)
        y = hessian @ s
        assert memory.add(s, y, float(s @ y), float(y @ y), float(s @ s)) is not None
    return memory


def _dense_b(memory, n):
    if not memory.col:
        return np.eye(n)
    w = np.stack([memory.project(e) for e in np.eye(n)])
    return memory.theta * np.eye(n) - w @ memory.middle @ w.T


def _reference(x, g, lower, upper, b):
    """First local minimizer of g.s + s.B s / 2 along P(x - t g), walking the sorted
    breakpoints one segment at a time with dense B."""
    fixed = ((x <= lower) & (g >= 0)) | ((x >= upper) & (g <= 0) & (x > lower))
    with np.errstate(divide="ignore"):
        breaks = np.where(g > 0, (x - lower) / g, np.where(g < 0, (x - upper) / g, np.inf))
    breaks[fixed] = 0.0
    t_start = 0.0
    for t_end in [*np.unique(breaks[np.isfinite(breaks) & (breaks > 0)]), np.inf]:
        point = np.clip(x - t_start * g, lower, upper)
        direction = np.where(breaks > t_start, -g, 0.0)
        slope = g @ direction + direction @ b @ (point - x)
        curvature = direction @ b @ direction
        if slope >= 0 or curvature <= 0 and not np.isfinite(t_end):
            return point
        step = -slope / curvature
        if step < t_end - t_start:
            return point + step * direction
        t_start = t_end
    return np.clip(x - t_start * g, lower, upper)


def _problem(n, seed, spread=3.0):
    rng = np.random.default_rng(seed)
    lower, upper = -np.ones(n), np.ones(n)
    x = np.clip(rng.uniform(-1.2, 1.2, n), lower, upper)  # some start at a bound
    g = spread * rng.normal(size=n)
    return x, g, lower, upper


@pytest.mark.parametrize("split_from", [10**9, 2], ids=["one lane", "two lanes"])
@pytest.mark.parametrize("count", [0, 1, 4, 7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cauchy_point_matches_the_dense_reference(count, seed, split_from):
    n = 40
    x, g, lower, upper = _problem(n, seed)
    memory = _memory(n, count, seed, split_from)
    gcp = cauchy_point(x, g, lower, upper, memory)
    expected = _reference(x, g, lower, upper, _dense_b(memory, n))
    np.testing.assert_allclose(gcp.point, expected, rtol=1e-10, atol=1e-12)
    if memory.col:
        w = np.stack([memory.project(e) for e in np.eye(n)])
        np.testing.assert_allclose(gcp.c, w.T @ (gcp.point - x), rtol=1e-9, atol=1e-9)
    at_bound = (gcp.point == lower) | (gcp.point == upper)
    assert not np.any(gcp.free & at_bound & (g != 0) & (gcp.point != x))
    np.testing.assert_array_equal(np.sort(gcp.fixed), np.flatnonzero(~gcp.free))


def test_many_breakpoints_are_passed_in_growing_chunks(monkeypatch):
    """A steep gradient pushes most variables to their bounds before the GCP: the walk
    crosses several chunks (about 64, then 512, ... with the first chunk made small here)
    and still matches the reference."""
    n = 700
    x, g, lower, upper = _problem(n, 5, spread=50.0)
    memory = _memory(n, 3, 5)
    chunks = []
    advance = lbfgsb_cauchy._advance

    def counting(path, indices, *args):
        chunks.append(indices.size)
        return advance(path, indices, *args)

    monkeypatch.setattr(lbfgsb_cauchy, "_advance", counting)
    monkeypatch.setattr(lbfgsb_cauchy, "_FIRST_CHUNK", 64)
    gcp = cauchy_point(x, g, lower, upper, memory)
    assert len(chunks) >= 2 and chunks[0] <= 4 * 64 < chunks[1]
    assert gcp.segments > chunks[0]
    expected = _reference(x, g, lower, upper, _dense_b(memory, n))
    np.testing.assert_allclose(gcp.point, expected, rtol=1e-9, atol=1e-11)


def test_all_variables_at_bounds_pushing_outward_leave_the_point_unchanged():
    x = np.array([-1.0, 1.0, -1.0])
    g = np.array([2.0, -1.0, 0.5])
    memory = Memory(3, 4, np.float64)
    gcp = cauchy_point(x, g, -np.ones(3), np.ones(3), memory)
    np.testing.assert_array_equal(gcp.point, x)
    assert not gcp.free.any()


def test_float32_input_stays_float32():
    x, g, lower, upper = (a.astype(np.float32) for a in _problem(30, 3))
    gcp = cauchy_point(x, g, lower, upper, Memory(30, 3, np.float32))
    assert gcp.point.dtype == np.float32


def test_clamped_cumsum_matches_a_sequential_loop():
    rng = np.random.default_rng(4)
    steps = rng.normal(size=200)
    floor, value, expected = -1.5, 0.5, []
    for step in steps:
        value = max(floor, value + step)
        expected.append(value)
    np.testing.assert_allclose(_clamped_cumsum(0.5, steps, floor), expected, rtol=1e-12)


@pytest.mark.parametrize("size", [64, 1024])
def test_smallest_breakpoints_are_a_sorted_prefix(size):
    rng = np.random.default_rng(6)
    breaks = rng.exponential(size=20000)
    breaks[rng.random(20000) < 0.3] = np.inf  # variables that do not move
    breaks[:50] = breaks[50]  # ties
    chosen = lbfgsb_cauchy._smallest(breaks, size)
    order = np.argsort(breaks, kind="stable")
    assert size // 4 <= chosen.size <= 4 * size
    np.testing.assert_array_equal(breaks[chosen], breaks[order[: chosen.size]])
    assert np.all(np.diff(breaks[chosen]) >= 0)
