"""The generalized Cauchy point of L-BFGS-B: the first minimizer of the quadratic model
Q(x + s) = g^T s + s^T B s / 2 along the projected steepest-descent path P(x - t g).

Byrd, Lu, Nocedal and Zhu, "A limited memory algorithm for bound constrained optimization",
SIAM J. Sci. Comput. 16 (1995), section 4. The path is piecewise linear: variable i stops at
its bound at the breakpoint t_i, and on each segment Q is a parabola whose slope f1 and
curvature f2 change at the breakpoint by terms in the variable's row w_b of W. The reference
code takes breakpoints one by one from a heap; here they are taken in sorted chunks (those
below a threshold read off a sample, about 1024 and growing eightfold) and a chunk's recursion
    c_j = c_{j-1} + dt_j p_{j-1},   p_j = p_{j-1} - d_b w_b,
    f1_j = f1_{j-1} + dt_j f2_{j-1} + d_b^2 - theta d_b z_b + d_b w_b^T M c_j,
    f2_j = max(eps * f2_0, f2_{j-1} - theta d_b^2 + 2 d_b w_b^T M p_{j-1} - d_b^2 w_b^T M w_b)
is evaluated with cumulative sums, so that a path crossing 100,000 breakpoints costs a few
NumPy calls rather than a Python loop. (d is the path direction -g, z_b the distance from
x_b to the bound it reaches, M the compact middle matrix.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stylize.lbfgsb_memory import Memory

_EPS = float(np.finfo(np.float64).eps)
_FIRST_CHUNK = 1024
_SAMPLE_STRIDE = 64


@dataclass
class CauchyPoint:
    """The GCP ``point`` (n,), the ``free`` mask of variables not at a bound there and
    the indices of the others (``fixed``, unordered), c = W^T (point - x) and p = W^T d of
    the path's direction beyond the GCP (W-space vectors), the path parameter ``t`` of the
    GCP and the segments explored."""

    point: np.ndarray
    free: np.ndarray
    fixed: np.ndarray
    c: np.ndarray
    p: np.ndarray
    t: float
    segments: int


@dataclass
class _Path:
    """The recursion's state after the breakpoints passed so far."""

    f1: float
    f2: float
    floor: float
    p: np.ndarray
    c: np.ndarray
    t: float = 0.0
    segments: int = 1


def cauchy_point(x, g, lower, upper, memory: Memory, w_g=None) -> CauchyPoint:
    """The GCP for point x (n,), gradient g (n,) and bounds lower < upper (n,) of the
    quadratic model with the matrix B held by ``memory``. ``w_g``, W^T g if the caller
    has it, saves a pass over the memory. ``fixed`` of the result lists the variables
    not free at the GCP."""
    breaks, movable, d = np.empty_like(x), np.empty(x.shape, bool), np.empty_like(x)
    found = memory.lanes.run(lambda part: _breakpoints(part, x, g, lower, upper, breaks,
                                                       movable, d))  # fmt: skip
    f1 = -float(sum(dd for dd, _ in found))
    still = np.concatenate([indices for _, indices in found])
    p = _path_direction(memory, d, g, still, w_g)
    f2 = -memory.theta * f1
    path = _Path(f1=f1, f2=f2, floor=_EPS * f2, p=p, c=np.zeros_like(p))
    if memory.col:
        path.f2 -= float(p @ memory.middle @ p)
    passed, step = _walk(path, breaks, x, g, d, lower, upper, memory)
    point, t = np.empty_like(x), x.dtype.type(path.t + step)
    memory.lanes.run(lambda part: np.add(x[part], t * d[part], out=point[part]))
    point[passed] = np.where(g[passed] > 0, lower[passed], upper[passed])
    path.c = path.c + step * path.p
    movable[passed] = False
    fixed = np.concatenate([still, passed])
    return CauchyPoint(point, movable, fixed, path.c, path.p, path.t + step, path.segments)


def _breakpoints(part, x, g, lower, upper, breaks, movable, d):
    """On ``part``: the path parameter at which each variable reaches a bound (+inf for
    those that do not move) into ``breaks``, whether it can move into ``movable``, the
    path direction (-g, 0 where it does not move) into ``d``. Returns d.d over the part and
    the indices of the variables that cannot move."""
    xs, gs, b = x[part], g[part], breaks[part]
    with np.errstate(divide="ignore", invalid="ignore"):
        # Variable i reaches a bound at t = (x - lower) / g for g > 0 and (x - upper) / g
        # for g < 0: the larger of the two. It is 0 where x sits on the bound g pushes
        # against (fixed), NaN where x is on a bound and g = 0 (fixed), +inf for g = 0 inside.
        np.subtract(xs, lower[part], out=b)
        b /= gs
        other = np.subtract(xs, upper[part])
        other /= gs
        np.maximum(b, other, out=b)
    can_move = np.greater(b, 0, out=movable[part])  # only these can be free
    moving = np.less(b, np.inf)
    moving &= can_move
    ds = np.multiply(gs, moving, out=d[part])
    np.negative(ds, out=ds)
    np.logical_not(moving, out=moving)
    b[moving] = np.inf
    still = np.flatnonzero(~can_move)
    return float(np.dot(ds, ds)), still + (part.start or 0)


def _path_direction(memory, d, g, still, w_g) -> np.ndarray:
    """p = W^T d. With W^T g known, from it and the few variables that do not move
    (``still``): d = -g except there."""
    if not memory.col:
        return np.zeros(0)
    if w_g is None or 16 * still.size > d.size:  # gathering would cost more than one pass
        return memory.project(d)
    return -w_g + memory.to_w_space(memory.sparse_products(still, g[still]))


def _walk(path, breaks, x, g, d, lower, upper, memory):
    """Passes breakpoints in increasing order while the parabola's minimizer lies beyond
    the next one. ``breaks`` (n,) is +inf for variables that do not move; the passed ones
    are set to +inf too. Returns the indices of the variables passed (now at their bounds)
    and the step past the last breakpoint; updates ``path`` (d of passed variables -> 0)."""
    passed: list[np.ndarray] = []
    size = _FIRST_CHUNK
    while (nearest := float(breaks.min())) < np.inf:
        step = float(-path.f1 / path.f2)
        if step < nearest - path.t:
            return _concat(passed), max(step, 0.0)
        chosen = _smallest(breaks, size)
        times = breaks[chosen].astype(np.float64)
        bound = np.where(g[chosen] > 0, lower[chosen], upper[chosen])
        count, step = _advance(path, chosen, times, x, d, bound, memory)
        passed.append(chosen[:count])
        d[chosen[:count]] = 0
        breaks[chosen] = np.inf
        if count < chosen.size:
            return _concat(passed), max(step, 0.0)
        size *= 8
    # Every moving variable reached its bound: the GCP is the last breakpoint.
    return _concat(passed), 0.0


def _smallest(breaks: np.ndarray, size: int) -> np.ndarray:
    """Indices of the smallest finite entries of ``breaks`` in increasing order: all those
    up to a threshold taken from a sample (about ``size`` of them, a full partial sort
    cost as much as the rest of the Cauchy point), at most 4 * ``size``."""
    sample = breaks[::_SAMPLE_STRIDE]
    rank = size // _SAMPLE_STRIDE
    threshold = np.partition(sample, rank)[rank] if sample.size > rank else np.inf
    if threshold < np.inf:
        chosen = np.flatnonzero(breaks <= threshold)
    else:
        chosen = np.flatnonzero(breaks < np.inf)
    if chosen.size > 4 * size:
        chosen = chosen[np.argpartition(breaks[chosen], size - 1)[:size]]
    return chosen[np.argsort(breaks[chosen], kind="stable")]


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)


def _advance(path, indices, times, x, d, bound, memory):
    """Passes as many of the sorted breakpoints ``times`` (of variables ``indices``) as the
    model allows. Returns (how many were passed, the step beyond the last passed one
    where the parabola has its minimizer, valid when not all were passed)."""
    dt = np.diff(times, prepend=path.t)
    d_b = d[indices].astype(np.float64)
    z_b = (bound - x[indices]).astype(np.float64)
    theta = memory.theta
    curvature = -theta * d_b**2
    slope = d_b**2 - theta * d_b * z_b
    if memory.col:
        w = memory.rows_of(indices)
        v = w @ memory.middle
        p_after = path.p - np.cumsum(d_b[:, None] * w, axis=0)
        p_before = np.vstack([path.p, p_after[:-1]])
        c_after = path.c + np.cumsum(dt[:, None] * p_before, axis=0)
        curvature += 2 * d_b * np.einsum("ij,ij->i", p_before, v)
        curvature -= d_b**2 * np.einsum("ij,ij->i", w, v)
        slope += d_b * np.einsum("ij,ij->i", c_after, v)
    f2_after = _clamped_cumsum(path.f2, curvature, path.floor)
    f2_before = np.concatenate([[path.f2], f2_after[:-1]])
    f1_after = path.f1 + np.cumsum(dt * f2_before + slope)
    f1_before = np.concatenate([[path.f1], f1_after[:-1]])
    stops = np.flatnonzero(-f1_before / f2_before < dt)
    count = int(stops[0]) if stops.size else times.size
    if count:
        path.f1, path.f2 = float(f1_after[count - 1]), float(f2_after[count - 1])
        path.t = float(times[count - 1])
        if memory.col:
            path.p, path.c = p_after[count - 1], c_after[count - 1]
        path.segments += count
    return count, float(-path.f1 / path.f2)


def _clamped_cumsum(start: float, steps: np.ndarray, floor: float) -> np.ndarray:
    """Running sums start + steps[0] + ... + steps[j], each raised to ``floor`` when below
    it before the next step is added (the reference code's guard against a curvature that
    rounding made non-positive)."""
    out = np.empty_like(steps)
    position, base = 0, start
    while position < steps.size:
        run = base + np.cumsum(steps[position:])
        below = np.flatnonzero(run < floor)
        if not below.size:
            out[position:] = run
            break
        k = int(below[0])
        out[position : position + k] = run[:k]
        out[position + k] = base = floor
        position += k + 1
    return out
