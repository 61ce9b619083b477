"""The Moré–Thuente line search: MINPACK-2's dcsrch and dcstep, the search L-BFGS-B (Byrd,
Lu, Nocedal, Zhu) runs in lnsrlb, written afresh in reverse-communication form.

J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed sufficient decrease",
ACM Transactions on Mathematical Software 20(3), 286-307 (1994).

Along a descent direction d from x, phi(s) = f(x + s d) and phi'(s) = grad f(x + s d) . d.
The search looks for a step s satisfying the strong Wolfe conditions

    phi(s) <= phi(0) + ftol * s * phi'(0)     (sufficient decrease)
    |phi'(s)| <= gtol * |phi'(0)|              (curvature)

``ftol`` and ``gtol`` are those two tolerances; with ftol < gtol and phi bounded below such a
step exists. ``xtol`` is a relative width: once a minimizer is bracketed in [lo, hi] and
hi - lo <= xtol * hi, the search stops with a warning. The defaults are lnsrlb's.

Every trial step follows the published rules to the operation, so in float64 the trials are
those of MINPACK-2 (and of SciPy's translation of it) for the same inputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

EVALUATE = "evaluate"
CONVERGED = "converged"
WARNING = "warning"

STRONG_WOLFE = "the strong Wolfe conditions hold"
ROUNDING_ERRORS = "rounding errors prevent progress"
XTOL_TEST = "xtol test satisfied: the bracket is narrower than xtol times its upper end"
AT_STEP_MAX = "the step is at step_max"
AT_STEP_MIN = "the step is at step_min"

# An unbracketed step is taken in [s + 1.1 (s - s_best), s + 4 (s - s_best)].
_XTRAPL = 1.1
_XTRAPU = 4.0
# A bracket that has not shrunk to 0.66 of its width two trials ago is bisected.
_SHRINK = 0.66


class _Point(NamedTuple):
    step: float
    f: float
    slope: float


def _div(a: float, b: float) -> float:
    """a / b with IEEE 754's infinities and NaN where Python would raise."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else math.nan


def _cubic_terms(x: _Point, p: _Point, clamp: bool = False) -> tuple[float, float]:
    """theta and |gamma| of the cubic through x and p, in dcstep's scaled form."""
    theta = _div(3.0 * (x.f - p.f), p.step - x.step) + x.slope + p.slope
    s = max(abs(theta), abs(x.slope), abs(p.slope))
    radicand = _div(theta, s) ** 2 - _div(x.slope, s) * _div(p.slope, s)
    # Only the third case clamps: there the cubic may have no minimizer at all.
    return theta, s * _sqrt(max(0.0, radicand) if clamp else radicand)


def _cubic_from_trial(end: _Point, p: _Point) -> float:
    """The cubic's minimizer written from the trial p towards the other point ``end``."""
    theta, gamma = _cubic_terms(end, p)
    if p.step > end.step:
        gamma = -gamma
    r = _div((gamma - p.slope) + theta, ((gamma - p.slope) + gamma) + end.slope)
    return p.step + r * (end.step - p.step)


def _secant(x: _Point, p: _Point) -> float:
    return p.step + _div(p.slope, p.slope - x.slope) * (x.step - p.step)


def _higher_value(x: _Point, p: _Point) -> float:
    """Case 1, phi(p) > phi(x): the cubic step if it is closer to x than the quadratic
    through x's value and slope and p's value, else the average of the two."""
    theta, gamma = _cubic_terms(x, p)
    if p.step < x.step:
        gamma = -gamma
    r = _div((gamma - x.slope) + theta, ((gamma - x.slope) + gamma) + p.slope)
    cubic = x.step + r * (p.step - x.step)
    chord = _div(x.f - p.f, p.step - x.step)
    quadratic = x.step + (_div(x.slope, chord + x.slope) / 2.0) * (p.step - x.step)
    # MINPACK-2's strict "<"; SciPy's translation has "<=", which differs only on a tie.
    if abs(cubic - x.step) < abs(quadratic - x.step):
        return cubic
    return cubic + (quadratic - cubic) / 2.0


def _opposite_slopes(x: _Point, p: _Point) -> float:
    """Case 2, a lower value and slopes of opposite signs: the cubic step if it is farther
    from p than the secant step, else the secant step."""
    cubic, secant = _cubic_from_trial(x, p), _secant(x, p)
    return cubic if abs(cubic - p.step) > abs(secant - p.step) else secant


def _flatter_slope(x: _Point, y: _Point, p: _Point, bracketed: bool, lo: float,
                   hi: float) -> float:  # fmt: skip
    """Case 3, a lower value, slopes of one sign, |phi'| decreasing."""
    theta, gamma = _cubic_terms(x, p, clamp=True)
    if p.step > x.step:
        gamma = -gamma
    r = _div((gamma - p.slope) + theta, (gamma + (x.slope - p.slope)) + gamma)
    # The cubic's step counts only if the cubic rises to infinity beyond p (gamma != 0) and
    # its minimizer lies beyond p; otherwise the step goes to the end of the interval.
    if r < 0.0 and gamma != 0.0:
        cubic = p.step + r * (x.step - p.step)
    else:
        cubic = hi if p.step > x.step else lo
    secant = _secant(x, p)
    if not bracketed:
        step = cubic if abs(cubic - p.step) > abs(secant - p.step) else secant
        return max(lo, min(hi, step))
    step = cubic if abs(cubic - p.step) < abs(secant - p.step) else secant
    # Stay well inside the bracket, so the next trial makes it shrink.
    limit = p.step + _SHRINK * (y.step - p.step)
    return min(limit, step) if p.step > x.step else max(limit, step)


def _steeper_slope(x: _Point, y: _Point, p: _Point, bracketed: bool, lo: float,
                   hi: float) -> float:  # fmt: skip
    """Case 4, a lower value, slopes of one sign, |phi'| not decreasing: the cubic through
    p and y once bracketed, else the end of the allowed interval."""
    if bracketed:
        return _cubic_from_trial(y, p)
    return hi if p.step > x.step else lo


def _dcstep(x: _Point, y: _Point, p: _Point, bracketed: bool, lo: float,
            hi: float) -> tuple[_Point, _Point, float, bool]:  # fmt: skip
    """dcstep: from the best point x, the other end y and the trial p, the new (best, other
    end, trial step, bracketed). ``lo`` and ``hi`` bound an unbracketed step."""
    # dcstep's sgnd = dp * (dx / |dx|) < 0; a zero slope has neither sign.
    opposite = p.slope < 0.0 < x.slope or x.slope < 0.0 < p.slope
    if p.f > x.f:
        return x, p, _higher_value(x, p), True
    if opposite:
        return p, x, _opposite_slopes(x, p), True
    if abs(p.slope) < abs(x.slope):
        return p, y, _flatter_slope(x, y, p, bracketed, lo, hi), bracketed
    return p, y, _steeper_slope(x, y, p, bracketed, lo, hi), bracketed


def _tilt(point: _Point, gtest: float) -> _Point:
    """The point on psi(s) = phi(s) - phi(0) - ftol s phi'(0), up to the constant phi(0)."""
    return _Point(point.step, point.f - point.step * gtest, point.slope - gtest)


def _untilt(point: _Point, gtest: float) -> _Point:
    return _Point(point.step, point.f + point.step * gtest, point.slope + gtest)


def _check_start(f0: float, slope0: float, step: float, step_min: float, step_max: float,
                 tolerances: dict[str, float]) -> None:  # fmt: skip
    if not (math.isfinite(f0) and math.isfinite(slope0)):
        raise ValueError(f"phi(0) and phi'(0) must be finite, got {f0!r} and {slope0!r}")
    if slope0 >= 0.0:
        raise ValueError(f"phi'(0) must be negative (a descent direction), got {slope0!r}")
    for name, value in tolerances.items():
        if not value >= 0.0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    if not step_min >= 0.0:
        raise ValueError(f"step_min must be >= 0, got {step_min!r}")
    if not step_max >= step_min:
        raise ValueError(f"step_max must be >= step_min, got {step_max!r} < {step_min!r}")
    if not step_min <= step <= step_max:
        raise ValueError(f"step must lie in [step_min, step_max] = [{step_min!r}, "
                         f"{step_max!r}], got {step!r}")  # fmt: skip
    if not step > 0.0:
        raise ValueError(f"the first step must be positive, got {step!r}")


class LineSearch:
    """Moré–Thuente search for a step along a descent direction, driven by the caller.

    Steps are in units of the direction d: the point tried is x + step * d. ``f`` is
    phi(step) = f(x + step d), the objective there; ``slope`` is phi'(step), the
    directional derivative grad f(x + step d) . d. ``step_min`` and ``step_max`` bound the
    step; ``ftol``, ``gtol`` and ``xtol`` are described in the module's docstring.

    Evaluate phi and phi' at ``self.step`` and pass them to ``tell`` until it returns
    CONVERGED or WARNING; ``self.step`` is then the accepted step, always the last one
    evaluated, and ``self.message`` says why the search ended.
    """

    def __init__(self, f0: float, slope0: float, step: float, *, step_max: float,
                 step_min: float = 0.0, ftol: float = 1e-3, gtol: float = 0.9,
                 xtol: float = 0.1):  # fmt: skip
        _check_start(f0, slope0, step, step_min, step_max,
                     {"ftol": ftol, "gtol": gtol, "xtol": xtol})  # fmt: skip
        self.step = step
        self.message = ""
        self._f0, self._slope0 = f0, slope0
        self._gtol, self._xtol = gtol, xtol
        self._step_min, self._step_max = step_min, step_max
        self._gtest = ftol * slope0  # the slope of the sufficient-decrease line
        self._stage = 1
        self._bracketed = False
        self._best = self._other = _Point(0.0, f0, slope0)
        # dcsrch's first interval is [0, 5 step], not [2.1 step, 5 step] as later ones are.
        self._lo, self._hi = 0.0, step + _XTRAPU * step
        # The bisection test looks back two brackets; dcsrch starts that history at the
        # allowed range and twice it.
        self._width = step_max - step_min
        self._width_before = self._width / 0.5
        self._ended = False

    def tell(self, f: float, slope: float) -> str:
        """Take phi(step) and phi'(step) for the current ``self.step``; return EVALUATE (a
        new ``self.step`` is set), CONVERGED or WARNING (``self.step`` is accepted).

        Raises ValueError on a non-finite f or slope, FloatingPointError if the
        interpolation breaks down into a non-finite step, RuntimeError once ended."""
        if self._ended:
            raise RuntimeError(f"the line search has ended ({self.message}); start a new one")
        if not (math.isfinite(f) and math.isfinite(slope)):
            raise ValueError(f"phi and phi' must be finite at step {self.step!r}, "
                             f"got {f!r} and {slope!r}")  # fmt: skip
        trial = _Point(self.step, f, slope)
        ftest = self._f0 + trial.step * self._gtest
        if self._stage == 1 and f <= ftest and slope >= 0.0:
            self._stage = 2
        verdict = self._verdict(trial, ftest)
        if verdict is not None:
            self._ended = True
            outcome, self.message = verdict
            return outcome
        step = self._safeguard(self._interpolate(trial, ftest))
        if not math.isfinite(step):
            self._ended = True
            self.message = "the interpolation produced a non-finite step"
            raise FloatingPointError(f"{self.message} after step {trial.step!r}")
        self.step = step
        return EVALUATE

    def _verdict(self, p: _Point, ftest: float) -> tuple[str, str] | None:
        """dcsrch's end tests: it runs them in turn, each overriding the one before, so
        here the last comes first."""
        sufficient = p.f <= ftest
        if sufficient and abs(p.slope) <= self._gtol * -self._slope0:
            return CONVERGED, STRONG_WOLFE
        if p.step == self._step_min and (not sufficient or p.slope >= self._gtest):
            return WARNING, AT_STEP_MIN
        if p.step == self._step_max and sufficient and p.slope <= self._gtest:
            return WARNING, AT_STEP_MAX
        if self._bracketed and self._hi - self._lo <= self._xtol * self._hi:
            return WARNING, XTOL_TEST
        if self._bracketed and (p.step <= self._lo or p.step >= self._hi):
            return WARNING, ROUNDING_ERRORS
        return None

    def _interpolate(self, trial: _Point, ftest: float) -> float:
        """Update the bracket with the trial; return dcstep's next step."""
        lo, hi, bracketed = self._lo, self._hi, self._bracketed
        # While no step has shown sufficient decrease with phi' >= 0, a lower value that is
        # still above the sufficient-decrease line is interpolated on psi, which then has
        # a minimizer in the bracket where phi might not.
        if self._stage == 1 and trial.f <= self._best.f and trial.f > ftest:
            g = self._gtest
            best, other, step, self._bracketed = _dcstep(
                _tilt(self._best, g), _tilt(self._other, g), _tilt(trial, g), bracketed, lo, hi
            )
            self._best, self._other = _untilt(best, g), _untilt(other, g)
        else:
            self._best, self._other, step, self._bracketed = _dcstep(
                self._best, self._other, trial, bracketed, lo, hi
            )
        return step

    def _safeguard(self, step: float) -> float:
        """Bisect a slowly shrinking bracket, set the next interval, clip to the bounds."""
        best, other = self._best.step, self._other.step
        if self._bracketed:
            width = abs(other - best)
            if width >= _SHRINK * self._width_before:
                step = best + 0.5 * (other - best)
            self._width_before, self._width = self._width, width
            self._lo, self._hi = min(best, other), max(best, other)
        else:
            self._lo = step + _XTRAPL * (step - best)
            self._hi = step + _XTRAPU * (step - best)
        step = min(max(step, self._step_min), self._step_max)
        # No room left: fall back to the best step, and the next tell ends the search.
        if self._bracketed and (
            step <= self._lo or step >= self._hi or self._hi - self._lo <= self._xtol * self._hi
        ):
            step = best
        return step
