"""The own L-BFGS-B against SciPy's (the same algorithm, version 3.0) in float64."""

import numpy as np
import pytest
import scipy.optimize

from stylize.lbfgsb import BoundedLbfgs
from stylize.lbfgsb_cauchy import CauchyPoint
from stylize.lbfgsb_lanes import Lanes

# Every pass over the variables on one thread, or split in two halves as from 65,536
# variables (forced here at a small n): both must follow SciPy.
LANES = pytest.mark.parametrize("split_from", [10**9, 2], ids=["one lane", "two lanes"])


def _convex(n, seed):
    """f = x.A x / 2 - b.x + sum(x^4) / 4 with A positive definite (condition 1000): a
    strictly convex problem, so rounding differences do not grow between the two codes."""
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    a = q @ np.diag(np.geomspace(1.0, 1000.0, n)) @ q.T
    b = 20 * rng.normal(size=n)

    def objective(x):
        ax = a @ x
        return float(x @ ax / 2 - b @ x + np.sum(x**4) / 4), ax - b + x**3

    return objective


def _scipy_points(objective, x0, lower, upper, evaluations, memory):
    points = []

    def recorded(x):
        points.append(x.copy())
        return objective(x)

    scipy.optimize.minimize(recorded, x0, jac=True, method="L-BFGS-B",
                            bounds=scipy.optimize.Bounds(lower, upper),
                            options={"maxfun": evaluations, "maxiter": 10 * evaluations,
                                     "ftol": 0.0, "gtol": 0.0, "maxcor": memory})  # fmt: skip
    return points[:evaluations]  # SciPy checks maxfun after the iteration that passes it


def _own_points(objective, x0, lower, upper, evaluations, memory, split_from=10**9):
    lanes = Lanes(x0.size, split_from=split_from)
    optimizer = BoundedLbfgs(x0, lower, upper, memory=memory, lanes=lanes)
    points = []
    while len(points) < evaluations and (x := optimizer.ask()) is not None:
        points.append(x.copy())
        optimizer.tell(*objective(x))
    return points, optimizer


@LANES
@pytest.mark.parametrize("memory", [3, 10])
@pytest.mark.parametrize("seed", [0, 1])
def test_iterates_equal_scipy_l_bfgs_b_in_float64(memory, seed, split_from):
    n, evaluations = 60, 40
    objective = _convex(n, seed)
    lower, upper = -np.ones(n), np.full(n, 1.5)
    x0 = np.random.default_rng(seed + 10).uniform(-2, 2, n)  # partly outside the box
    expected = _scipy_points(objective, x0, lower, upper, evaluations, memory)
    points, _ = _own_points(objective, x0, lower, upper, evaluations, memory, split_from)
    assert len(points) == len(expected)
    at_bound = np.mean((expected[-1] == lower) | (expected[-1] == upper))
    assert 0.1 < at_bound < 0.9  # the bounds matter: the test exercises the free-set logic
    # The Cauchy point's slope is a sum with cancellation (its terms are 1e7 times the
    # result here), so the two codes' summation orders differ by 1e-9 from the first step;
    # a change of algorithm would differ by far more than the 1e-6 allowed.
    for k, (own, theirs) in enumerate(zip(points, expected, strict=True)):
        np.testing.assert_allclose(own, theirs, rtol=0, atol=1e-6, err_msg=f"evaluation {k}")


def _wavy(n, seed):
    """A nonconvex f = sum(sin(3 A x)) + x.x / 2 - b.x, whose line searches need several
    trials."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=n)

    def objective(x):
        z = a @ x
        return float(np.sum(np.sin(3 * z)) + x @ x / 2 - b @ x), 3 * a.T @ np.cos(3 * z) + x - b

    return objective


@LANES
@pytest.mark.parametrize("memory", [3, 10])
def test_nonconvex_iterates_and_line_search_trials_equal_scipy(memory, split_from):
    n, evaluations = 40, 50
    objective = _wavy(n, 3)
    lower, upper = np.full(n, -0.8), np.full(n, 0.8)
    x0 = np.random.default_rng(6).uniform(-1, 1, n)
    expected = _scipy_points(objective, x0, lower, upper, evaluations, memory)
    # Stop while f still falls: near its rounding floor (60 evaluations here) whether "f did
    # not decrease" ends a run depends on f's last bit, which NumPy's summation order sets
    # (NumPy 2.5 stopped at 59 of SciPy's 60 with every iterate equal to 3e-14).
    values = [objective(x)[0] for x in expected]
    assert min(values[:-5]) - min(values) > 100 * np.spacing(abs(min(values)))
    points, optimizer = _own_points(objective, x0, lower, upper, evaluations, memory,
                                    split_from)  # fmt: skip
    assert len(points) == len(expected) == evaluations
    for k, (own, theirs) in enumerate(zip(points, expected, strict=True)):
        np.testing.assert_allclose(own, theirs, rtol=0, atol=1e-9, err_msg=f"evaluation {k}")


def _one_pair_optimizer():
    optimizer = BoundedLbfgs(np.zeros(2), -np.ones(2), np.ones(2))
    s, y = np.array([0.5, 0.2]), np.array([1.0, 0.7])
    optimizer.memory.add(s, y, float(s @ y), float(y @ y), float(s @ s))
    return optimizer


def test_a_projection_that_is_not_descent_is_backtracked_into_the_box():
    """Morales-Nocedal: x_c + newton projected is (1, -0.5), uphill from x for g = (1, 0.1),
    so the step is cut to the largest alpha inside the box (0.5), the variable that
    limits it landing exactly on its bound. W^T (end - x) comes back with it, and so do
    d = end - x, g.d and the largest step along d inside the box."""
    optimizer = _one_pair_optimizer()
    memory = optimizer.memory
    x, g, newton = np.zeros(2), np.array([1.0, 0.1]), np.array([2.0, -0.5])
    gcp = CauchyPoint(np.zeros(2), np.ones(2, bool), np.zeros(0, np.intp), np.zeros(2),
                      np.zeros(2), 0.0, 1)  # fmt: skip
    for gradient, expected in ((g, [1.0, -0.25]), (-g, [1.0, -0.5])):  # uphill, downhill
        found = optimizer._into_box(x, gradient, gcp, newton, memory.project(newton))
        np.testing.assert_array_equal(found.end, expected)
        np.testing.assert_array_equal(found.d, found.end - x)
        assert found.slope == pytest.approx(float(gradient @ found.d), rel=1e-15)
        assert found.step_max == 1.0  # the first variable ends on its bound
        np.testing.assert_allclose(found.w_d, memory.project(found.end - x), rtol=1e-12)


def test_the_step_in_w_space_equals_w_transposed_times_the_step(monkeypatch):
    """W^T (end - x), which the update uses instead of a pass over the memory, matches the
    direct product at every iteration (clipped and unclipped subspace steps)."""
    n = 60
    objective = _convex(n, 2)
    lower, upper = -np.ones(n), np.full(n, 1.5)
    search_end = BoundedLbfgs._search_end
    checked = []

    def checking(self, x, g):
        found = search_end(self, x, g)
        if found.w_d is not None:
            direct = self.memory.project(found.end - x)
            np.testing.assert_allclose(found.w_d, direct, rtol=1e-9,
                                       atol=1e-9 * np.abs(direct).max())  # fmt: skip
            checked.append(True)
        return found

    monkeypatch.setattr(BoundedLbfgs, "_search_end", checking)
    _own_points(objective, np.zeros(n), lower, upper, 40, 5)
    assert len(checked) > 20


def test_stops_like_scipy_when_the_minimum_is_reached():
    """A separable quadratic whose minimizer is a vertex of the box: both codes stop once
    the projected gradient is zero, after the same evaluations."""
    n = 8
    target = np.linspace(-3, 3, n)

    def objective(x):
        return float(np.sum((x - target) ** 2)), 2 * (x - target)

    lower, upper = -np.ones(n), np.ones(n)
    x0 = np.zeros(n)
    expected = _scipy_points(objective, x0, lower, upper, 50, 10)
    points, optimizer = _own_points(objective, x0, lower, upper, 50, 10)
    assert len(points) == len(expected) < 50
    np.testing.assert_allclose(points[-1], np.clip(target, -1, 1))
    assert optimizer.ask() is None and optimizer.message


def test_float32_run_stays_in_float32_and_inside_the_box():
    n = 500
    objective = _convex(n, 3)
    lower, upper = np.full(n, -1.0, np.float32), np.full(n, 1.5, np.float32)
    x0 = np.zeros(n, np.float32)
    points, _ = _own_points(lambda x: objective(x.astype(np.float64)), x0, lower, upper, 60, 10)
    assert all(p.dtype == np.float32 for p in points)
    assert all(np.all((p >= lower) & (p <= upper)) for p in points)
    f = [objective(p.astype(np.float64))[0] for p in points]
    assert min(f) < f[0] - 0.5 * abs(f[0])


def test_tell_after_the_end_is_refused():
    optimizer = BoundedLbfgs(np.zeros(2), -np.ones(2), np.ones(2))
    optimizer.tell(0.0, np.zeros(2))  # zero gradient: finished at once
    assert optimizer.ask() is None
    with pytest.raises(RuntimeError):
        optimizer.tell(0.0, np.zeros(2))


def test_a_non_finite_trial_fails_the_search_instead_of_raising():
    """f overflows beyond x = 0.5: the first step (to the box's far corner) fails the search;
    without history that ends the run, the last point asked for being the failed one."""
    n = 4

    def objective(x):
        if np.any(x > 0.5):
            return float("inf"), np.full(n, np.nan)
        return float(np.sum((x - 2) ** 2)), 2 * (x - 2)

    points, optimizer = _own_points(objective, np.zeros(n), -np.ones(n), np.ones(n), 20, 5)
    assert optimizer.ask() is None and optimizer.message == "the line search failed"
    assert len(points) == 2
