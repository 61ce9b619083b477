"""L-BFGS-B for box-bounded problems, driven one evaluation at a time (ask / tell).

The algorithm is version 3.0 of L-BFGS-B: Byrd, Lu, Nocedal and Zhu, "A limited memory
algorithm for bound constrained optimization", SIAM J. Sci. Comput. 16 (1995), with the
subspace step of Morales and Nocedal, "Remark on Algorithm 778", ACM TOMS 38 (2011): each
iteration finds the generalized Cauchy point (stylize.lbfgsb_cauchy), minimizes the
quadratic model over the variables still free there (direct primal method, projected and if
needed backtracked into the box), and searches along the result with the More-Thuente line
search (ftol 1e-3, gtol 0.9, xtol 0.1, at most 20 trials; stylize.linesearch). Its steps,
tests, restarts and stopping rules are those of SciPy's L-BFGS-B with ``ftol = gtol = 0``,
so in float64 the iterates agree with SciPy's to rounding.

What differs is the arithmetic: the n-vectors (point, gradient, the stored corrections)
stay in the caller's dtype, float32 for images, every O(n) step is a NumPy call, and the
passes over the n variables are shared between two threads (stylize.lbfgsb_lanes). At
360,000 variables SciPy's float64 code spent 65-70 ms per evaluation and 0.9 s setting up;
this spends about 10 ms and nothing (benchmarks/README.md, "Step speed").
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from stylize.lbfgsb_cauchy import CauchyPoint, cauchy_point
from stylize.lbfgsb_lanes import Lanes
from stylize.lbfgsb_memory import Memory
from stylize.linesearch import EVALUATE, LineSearch

_EPS = float(np.finfo(np.float64).eps)
_MAX_TRIALS = 20  # line-search evaluations before the search counts as failed
_NO_LIMIT = 1e10  # the reference code's largest step when no bound is in the way
_QUICK_LOOK = 4096

Request = Generator[np.ndarray, tuple[float, np.ndarray], None]


@dataclass
class _Direction:
    """Where an iteration's line search aims: ``end`` (n,), d = end - x (n,), the slope
    g.d, the largest step along d that stays in the box (``step_max``, at most 1e10) and
    W^T d (None without history)."""

    end: np.ndarray
    d: np.ndarray
    slope: float
    step_max: float
    w_d: np.ndarray | None


class BoundedLbfgs:
    """Minimizes f over lower <= x <= upper (finite bounds, lower < upper, each (n,)) from
    x0 (n,), keeping ``memory`` correction pairs. Use: ``while (x := opt.ask()) is not
    None: opt.tell(f(x), grad f(x))``; every point asked for is one evaluation (line-search
    trials included). ``message`` says why it stopped once ``ask`` returns None. ``lanes``
    says how the passes over the n variables are shared between threads (default: two
    halves from stylize.lbfgsb_lanes.SPLIT_FROM variables on)."""

    def __init__(self, x0: np.ndarray, lower: np.ndarray, upper: np.ndarray, memory: int = 10,
                 lanes: Lanes | None = None):  # fmt: skip
        self.lower, self.upper = lower, upper
        self.lanes = lanes or Lanes(x0.size)
        self.memory = Memory(x0.size, memory, x0.dtype, self.lanes)
        self.message = ""
        self._with_g = np.zeros((0, 2))  # [y_k . g, s_k . g] by slot for the current g
        self._iterations = self._run(np.clip(x0, lower, upper))
        self._pending: np.ndarray | None = next(self._iterations)

    def ask(self) -> np.ndarray | None:
        """The next point to evaluate, (n,) in x0's dtype, or None when finished."""
        return self._pending

    def tell(self, f: float, gradient: np.ndarray) -> None:
        """f and its gradient (n,) at the point ``ask`` returned."""
        if self._pending is None:
            raise RuntimeError("the minimization has finished")
        gradient = np.asarray(gradient, dtype=self.memory.rows.dtype).reshape(-1)
        try:
            self._pending = self._iterations.send((float(f), gradient))
        except StopIteration:
            self._pending = None

    def _run(self, x: np.ndarray) -> Request:
        f, g = yield x
        if self._projected_gradient_is_zero(x, g):
            self.message = "the projected gradient is zero"
            return
        iteration = 0
        while True:
            direction = self._search_end(x, g)
            found = yield from self._line_search(x, f, g, direction, iteration)
            if found is None:
                if not self.memory.col:
                    self.message = "the line search failed"
                    return
                self.memory.reset()
                continue
            x_new, f_new, g_new, step, slope_new = found
            iteration += 1
            if self._projected_gradient_is_zero(x_new, g_new):
                self.message = "the projected gradient is zero"
                return
            if f - f_new <= 0:
                self.message = "f did not decrease"
                return
            self._update(direction, step, (g_new, g), slope_new)
            x, f, g = x_new, f_new, g_new

    def _update(self, direction: _Direction, step, gradients, slope_new):
        """Store s = step * d and y = g_new - g unless s.y is too small for B to stay
        positive definite (the reference code's test s.y <= eps * (-g.s)). The products
        of y and s with the stored pairs come from those of the two gradients and from
        W^T d, so the memory is read once per iteration (for g_new) instead of three times."""
        memory, (g_new, g), d = self.memory, gradients, direction.d
        with_g_new = memory.products(g_new) if memory.col else None
        sy = (slope_new - direction.slope) * step
        if sy <= _EPS * (-direction.slope * step):
            self._with_g = with_g_new
            return
        y, s = np.empty_like(g), d if step == 1.0 else d * d.dtype.type(step)
        sums = np.sum(self.lanes.run(lambda part: _correction(part, g_new, g, d, y)), axis=0)
        yy, y_g_new, dd = map(float, sums)
        known = None
        if memory.col:
            known = step * memory.to_slots(direction.w_d), with_g_new - self._with_g
        slot = memory.add(s, y, sy, yy, dd * step * step, known)
        if slot is None:
            memory.reset()
            return
        self._with_g = np.zeros((memory.col, 2))
        if with_g_new is not None:
            self._with_g[: with_g_new.shape[0]] = with_g_new
        self._with_g[slot] = y_g_new, step * slope_new

    def _search_end(self, x: np.ndarray, g: np.ndarray) -> _Direction:
        """The point the line search aims at: the GCP, improved on its free variables by the
        subspace step when there is history to do it with."""
        while True:
            memory = self.memory
            w_g = memory.to_w_space(self._with_g) if memory.col else None
            gcp = cauchy_point(x, g, self.lower, self.upper, memory, w_g)
            if not memory.col:
                return self._direction(x, g, gcp.point, None)
            if not gcp.free.any():
                return self._direction(x, g, gcp.point, gcp.c)
            found = self._subspace_step(x, g, gcp)
            if found is not None:
                return found
            memory.reset()  # the reduced system was not definite: start afresh

    def _subspace_step(self, x, g, gcp: CauchyPoint) -> _Direction | None:
        """Newton step of the model over the free variables Z at the GCP, d = B_Z^-1 r with
        r = -Z^T(g + B (x_c - x)) and, by Sherman-Morrison-Woodbury,
        B_Z^-1 = I / theta + W_Z K^-1 W_Z^T / theta^2, K = M^-1 - W_Z^T W_Z / theta.
        On Z, x_c - x = -t g, so Z^T r = (theta t - 1) g_Z + W_Z M c and W_Z^T g_Z = -p.
        None when K cannot be factored."""
        memory, theta = self.memory, self.memory.theta
        mc = memory.middle @ gcp.c
        gram = memory.gram_of(gcp.free, gcp.fixed)
        rhs = (1 - theta * gcp.t) * gcp.p + gram @ mc
        v = _solve_saddle(memory.middle_inverse - gram / theta, rhs)
        if v is None:
            return None
        coefficients, scale = mc / theta + v / theta**2, gcp.t - 1 / theta
        newton = np.empty_like(x)
        expansion, scale_ = memory.expansion(coefficients, newton), x.dtype.type(scale)

        def newton_part(part):
            expansion(part)
            newton[part] += scale_ * g[part]
            newton[part] *= gcp.free[part]

        self.lanes.run(newton_part)
        w_newton = gram @ coefficients - scale * gcp.p  # W^T newton
        return self._into_box(x, g, gcp, newton, w_newton)

    def _into_box(self, x, g, gcp: CauchyPoint, newton, w_newton) -> _Direction:
        """Morales-Nocedal: project x_c + newton onto the box; if that touched a bound and is
        not a descent direction from x, move along newton only as far as stays inside."""
        end, d = np.empty_like(x), np.empty_like(x)
        parts = self.lanes.run(lambda part: self._projected(part, x, g, gcp, newton, end, d))
        touched = any(part[0] for part in parts)
        found = _aim(end, d, [part[1:3] for part in parts], None)
        if not touched or found.slope <= 0:
            clipped = np.concatenate([part[3] for part in parts])
            change = end[clipped] - (gcp.point[clipped] + newton[clipped])
            correction = self.memory.sparse_products(clipped, change)
            found.w_d = gcp.c + w_newton + self.memory.to_w_space(correction)
            return found
        limits = _step_limits(gcp.point, newton, self.lower, self.upper)
        limits[np.isnan(limits)] = np.inf
        first = int(np.argmin(limits))
        alpha = min(1.0, float(limits[first]))
        end = gcp.point + x.dtype.type(alpha) * newton
        w_d = gcp.c + alpha * w_newton
        if alpha < 1.0:
            landing = end[first]
            end[first] = self.upper[first] if newton[first] > 0 else self.lower[first]
            row = self.memory.rows_of(np.array([first]))[0]
            w_d = w_d + row * float(end[first] - landing)
        return self._direction(x, g, end, w_d)

    def _projected(self, part, x, g, gcp: CauchyPoint, newton, end, d):
        """On ``part``: end = P(x_c + newton) and d = end - x. Returns whether a free
        variable landed on a bound, g.d, the largest step along d inside the box and the
        indices where the projection moved the point."""
        low, high = self.lower[part], self.upper[part]
        trial = np.add(gcp.point[part], newton[part])
        e = np.maximum(trial, low, out=end[part])
        np.minimum(e, high, out=e)
        on_bound = np.equal(e, low)
        on_bound |= e == high
        on_bound &= gcp.free[part]
        clipped = np.flatnonzero(e != trial) + (part.start or 0)
        return (bool(on_bound.any()), *self._aimed(part, x, g, end, d), clipped)

    def _aimed(self, part, x, g, end, d) -> tuple[float, float]:
        """On ``part``: d = end - x into ``d``; returns g.d and the largest step along d
        inside the box there."""
        ds = np.subtract(end[part], x[part], out=d[part])
        limits = _step_limits(x[part], ds, self.lower[part], self.upper[part])
        return float(np.dot(g[part], ds)), float(np.fmin.reduce(limits))

    def _direction(self, x, g, end, w_d) -> _Direction:
        d = np.empty_like(x)
        return _aim(end, d, self.lanes.run(lambda part: self._aimed(part, x, g, end, d)), w_d)

    def _line_search(self, x, f, g, direction: _Direction, iteration):
        """More-Thuente along d from step 1 (which lands on ``end`` exactly). Returns
        (point, f, g, step, g_new.d) or None when it fails."""
        d, slope = direction.d, direction.slope
        if slope >= 0:
            return None
        step_max = 1.0 if iteration == 0 else direction.step_max
        if step_max < 1.0:
            return None
        search = LineSearch(f, slope, 1.0, step_max=step_max)
        for _ in range(_MAX_TRIALS):
            step = x.dtype.type(search.step)
            point = direction.end if search.step == 1.0 else self._clipped(x + step * d)
            f_new, g_new = yield point
            slope_new = float(np.dot(g_new, d))
            if not (np.isfinite(f_new) and np.isfinite(slope_new)):
                return None  # overflow at this trial: the search has failed, x is kept
            if search.tell(f_new, slope_new) != EVALUATE:
                return point, f_new, g_new, search.step, slope_new
        return None

    def _clipped(self, point: np.ndarray) -> np.ndarray:
        return np.minimum(np.maximum(point, self.lower, out=point), self.upper, out=point)

    def _projected_gradient_is_zero(self, x: np.ndarray, g: np.ndarray) -> bool:
        """Whether every g_i is 0 or points out of the box at a bound x_i is on (the
        reference code's test ||proj g||_inf <= pgtol with pgtol = 0). A nonzero entry is
        almost always among the first few, so those are looked at first."""
        for part in (slice(0, _QUICK_LOOK), slice(None)):
            xs, gs, low, high = x[part], g[part], self.lower[part], self.upper[part]
            free_to_move = ((gs > 0) & (xs > low)) | ((gs < 0) & (xs < high))
            if free_to_move.any() or np.isnan(gs).any():
                return False
        return True


def _step_limits(start, direction, lower, upper):
    """For each variable, the largest alpha >= 0 keeping start + alpha * direction inside
    the box: +inf where direction is 0, NaN where it is 0 on a bound."""
    with np.errstate(divide="ignore", invalid="ignore"):
        # (lower - start) / direction is the limit where direction < 0, (upper - start) /
        # direction where it is > 0, and in each case the other one is <= 0.
        limits = np.subtract(lower, start)
        limits /= direction
        other = np.subtract(upper, start)
        other /= direction
        np.maximum(limits, other, out=limits)
    return np.maximum(limits, 0, out=limits)


def _aim(end, d, parts, w_d) -> _Direction:
    """The _Direction from the parts' (g.d, largest step) sums and minima."""
    slope, step_max = sum(p[0] for p in parts), min(p[1] for p in parts)
    return _Direction(end, d, slope, min(_NO_LIMIT, step_max), w_d)


def _correction(part, g_new, g, d, y):
    """On ``part``: y = g_new - g into ``y``; returns (y.y, y.g_new, d.d) there."""
    ys = np.subtract(g_new[part], g[part], out=y[part])
    ds = d[part]
    return float(np.dot(ys, ys)), float(np.dot(ys, g_new[part])), float(np.dot(ds, ds))


def _solve_saddle(k: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
    """Solves K v = rhs for K = [[-A, B], [B^T, C]] with A and C + B^T A^-1 B positive
    definite, by two Cholesky factorizations, as the reference code's LEL^T does; None when
    either is not positive definite."""
    half = k.shape[0] // 2
    a, b, c = -k[:half, :half], k[:half, half:], k[half:, half:]
    try:
        a_factor = scipy.linalg.cho_factor(a)
        schur = c + b.T @ scipy.linalg.cho_solve(a_factor, b)
        s_factor = scipy.linalg.cho_factor(schur)
    except np.linalg.LinAlgError:
        return None
    first = scipy.linalg.cho_solve(a_factor, rhs[:half])
    v2 = scipy.linalg.cho_solve(s_factor, rhs[half:] + b.T @ first)
    v1 = scipy.linalg.cho_solve(a_factor, b @ v2 - rhs[:half])
    return np.concatenate([v1, v2])
