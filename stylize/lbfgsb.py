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
stay in the caller's dtype, float32 for images, and every O(n) step is a NumPy or BLAS
call. At 360,000 variables SciPy's float64 code spent 65-70 ms per evaluation and 0.9 s
setting up; this spends about 14 ms and nothing (benchmarks/README.md, "Step speed").
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import scipy.linalg

from stylize.lbfgsb_cauchy import CauchyPoint, cauchy_point
from stylize.lbfgsb_memory import Memory
from stylize.linesearch import EVALUATE, LineSearch

_EPS = float(np.finfo(np.float64).eps)
_MAX_TRIALS = 20  # line-search evaluations before the search counts as failed
_NO_LIMIT = 1e10  # the reference code's largest step when no bound is in the way
_QUICK_LOOK = 4096

Request = Generator[np.ndarray, tuple[float, np.ndarray], None]


class BoundedLbfgs:
    """Minimizes f over lower <= x <= upper (finite bounds, lower < upper, each (n,)) from
    x0 (n,), keeping ``memory`` correction pairs. Use: ``while (x := opt.ask()) is not
    None: opt.tell(f(x), grad f(x))``; every point asked for is one evaluation (line-search
    trials included). ``message`` says why it stopped once ``ask`` returns None."""

    def __init__(self, x0: np.ndarray, lower: np.ndarray, upper: np.ndarray, memory: int = 10):
        self.lower, self.upper = lower, upper
        self.memory = Memory(x0.size, memory, x0.dtype)
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
            end, w_step = self._search_end(x, g)
            found = yield from self._line_search(x, f, g, end, iteration)
            if found is None:
                if not self.memory.col:
                    self.message = "the line search failed"
                    return
                self.memory.reset()
                continue
            x_new, f_new, g_new, d, step, slopes = found
            iteration += 1
            if self._projected_gradient_is_zero(x_new, g_new):
                self.message = "the projected gradient is zero"
                return
            if f - f_new <= 0:
                self.message = "f did not decrease"
                return
            self._update(d, w_step, step, (g_new, g), slopes)
            x, f, g = x_new, f_new, g_new

    def _update(self, d, w_step, step, gradients, slopes):
        """Store s = step * d and y = g_new - g unless s.y is too small for B to stay
        positive definite (the reference code's test s.y <= eps * (-g.s)). The products
        of y and s with the stored pairs come from those of the two gradients and from
        W^T d, so the memory is read once per iteration (for g_new) instead of three times."""
        memory, (g_new, g) = self.memory, gradients
        with_g_new = memory.products(g_new) if memory.col else None
        slope_new, slope_old = slopes
        sy = (slope_new - slope_old) * step
        if sy <= _EPS * (-slope_old * step):
            self._with_g = with_g_new
            return
        y = g_new - g
        s = d if step == 1.0 else d * d.dtype.type(step)
        known = None
        if memory.col:
            known = step * memory.to_slots(w_step), with_g_new - self._with_g
        ss = float(np.dot(d, d)) * step * step
        slot = memory.add(s, y, sy, float(np.dot(y, y)), ss, known)
        if slot is None:
            memory.reset()
            return
        self._with_g = np.zeros((memory.col, 2))
        if with_g_new is not None:
            self._with_g[: with_g_new.shape[0]] = with_g_new
        self._with_g[slot] = float(np.dot(y, g_new)), float(np.dot(s, g_new))

    def _search_end(self, x: np.ndarray, g: np.ndarray):
        """The point the line search aims at: the GCP, improved on its free variables by the
        subspace step when there is history to do it with. Returns it and W^T (it - x)
        (None without history)."""
        while True:
            memory = self.memory
            w_g = memory.to_w_space(self._with_g) if memory.col else None
            gcp = cauchy_point(x, g, self.lower, self.upper, memory, w_g)
            if not memory.col:
                return gcp.point, None
            if not gcp.free.any():
                return gcp.point, gcp.c
            found = self._subspace_step(x, g, gcp)
            if found is not None:
                return found
            memory.reset()  # the reduced system was not definite: start afresh

    def _subspace_step(self, x, g, gcp: CauchyPoint):
        """Newton step of the model over the free variables Z at the GCP, d = B_Z^-1 r with
        r = -Z^T(g + B (x_c - x)) and, by Sherman-Morrison-Woodbury,
        B_Z^-1 = I / theta + W_Z K^-1 W_Z^T / theta^2, K = M^-1 - W_Z^T W_Z / theta.
        On Z, x_c - x = -t g, so Z^T r = (theta t - 1) g_Z + W_Z M c and W_Z^T g_Z = -p.
        Returns the end point and W^T (end - x), or None when K cannot be factored."""
        memory, theta = self.memory, self.memory.theta
        mc = memory.middle @ gcp.c
        gram = memory.gram_of(gcp.free)
        rhs = (1 - theta * gcp.t) * gcp.p + gram @ mc
        v = _solve_saddle(memory.middle_inverse - gram / theta, rhs)
        if v is None:
            return None
        coefficients, scale = mc / theta + v / theta**2, gcp.t - 1 / theta
        newton = memory.expand(coefficients)
        newton += x.dtype.type(scale) * g
        newton *= gcp.free
        w_newton = gram @ coefficients - scale * gcp.p  # W^T newton
        return self._into_box(x, g, gcp, newton, w_newton)

    def _into_box(self, x, g, gcp: CauchyPoint, newton, w_newton):
        """Morales-Nocedal: project x_c + newton onto the box; if that touched a bound and is
        not a descent direction from x, move along newton only as far as stays inside.
        Returns the end point and W^T (end - x)."""
        trial = gcp.point + newton
        end = np.minimum(np.maximum(trial, self.lower), self.upper)
        touched = gcp.free & ((end == self.lower) | (end == self.upper))
        if not touched.any() or float(np.dot(end - x, g)) <= 0:
            clipped = np.flatnonzero(end != trial)
            correction = self.memory.sparse_products(clipped, end[clipped] - trial[clipped])
            return end, gcp.c + w_newton + self.memory.to_w_space(correction)
        limits = _step_limits(gcp.point, newton, self.lower, self.upper)
        limits[np.isnan(limits)] = np.inf
        first = int(np.argmin(limits))
        alpha = min(1.0, float(limits[first]))
        end = gcp.point + x.dtype.type(alpha) * newton
        w_step = gcp.c + alpha * w_newton
        if alpha < 1.0:
            landing = end[first]
            end[first] = self.upper[first] if newton[first] > 0 else self.lower[first]
            row = self.memory.rows_of(np.array([first]))[0]
            w_step = w_step + row * float(end[first] - landing)
        return end, w_step

    def _line_search(self, x, f, g, end, iteration):
        """More-Thuente along d = end - x from step 1 (which lands on ``end`` exactly).
        Returns (point, f, g, d, step, (g_new.d, g.d)) or None when it fails."""
        d = end - x
        slope = float(np.dot(g, d))
        if slope >= 0:
            return None
        step_max = 1.0 if iteration == 0 else _max_step(x, d, self.lower, self.upper)
        if step_max < 1.0:
            return None
        search = LineSearch(f, slope, 1.0, step_max=step_max)
        for _ in range(_MAX_TRIALS):
            step = x.dtype.type(search.step)
            point = end if search.step == 1.0 else self._clipped(x + step * d)
            f_new, g_new = yield point
            slope_new = float(np.dot(g_new, d))
            if not (np.isfinite(f_new) and np.isfinite(slope_new)):
                return None  # overflow at this trial: the search has failed, x is kept
            if search.tell(f_new, slope_new) != EVALUATE:
                return point, f_new, g_new, d, search.step, (slope_new, slope)
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


def _max_step(x, d, lower, upper) -> float:
    """The largest step along d from x that stays inside the box (at most 1e10)."""
    return min(_NO_LIMIT, float(np.fmin.reduce(_step_limits(x, d, lower, upper))))


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
