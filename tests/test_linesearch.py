"""The Moré–Thuente line search: the same trials as SciPy's translation of MINPACK-2's dcsrch,
the strong Wolfe conditions at convergence, its warnings and its argument checks."""

import math
from dataclasses import dataclass, field

import pytest

from stylize import linesearch
from stylize.linesearch import CONVERGED, EVALUATE, WARNING, LineSearch

# -- the six functions of Moré & Thuente's section 6, each a (phi, phi') pair ----------------


def _rational(beta):
    return (lambda a: -a / (a * a + beta), lambda a: (a * a - beta) / (a * a + beta) ** 2)


def _quintic(beta):
    def phi(a):
        return (a + beta) ** 5 - 2.0 * (a + beta) ** 4

    def dphi(a):
        return 5.0 * (a + beta) ** 4 - 8.0 * (a + beta) ** 3

    return phi, dphi


def _wiggly(beta, ell):
    def phi0(a):
        if a <= 1.0 - beta:
            return 1.0 - a, -1.0
        if a >= 1.0 + beta:
            return a - 1.0, 1.0
        return (a - 1.0) ** 2 / (2.0 * beta) + beta / 2.0, (a - 1.0) / beta

    w = ell * math.pi / 2.0
    c = 2.0 * (1.0 - beta) / (ell * math.pi)
    return (lambda a: phi0(a)[0] + c * math.sin(w * a),
            lambda a: phi0(a)[1] + (1.0 - beta) * math.cos(w * a))  # fmt: skip


def _yanai(beta1, beta2):
    g1, g2 = math.hypot(1.0, beta1) - beta1, math.hypot(1.0, beta2) - beta2

    def phi(a):
        return g1 * math.hypot(1.0 - a, beta2) + g2 * math.hypot(a, beta1)

    def dphi(a):
        return g1 * (a - 1.0) / math.hypot(1.0 - a, beta2) + g2 * a / math.hypot(a, beta1)

    return phi, dphi


def _quadratic(a):
    return 0.5 * (a - 3.0) ** 2


def _kink(a):
    return abs(a - 1.0), (1.0 if a > 1.0 else -1.0)


FUNCTIONS = {
    "rational": (_rational(2.0), {"ftol": 1e-3, "gtol": 0.1}),
    "quintic": (_quintic(0.004), {"ftol": 0.1, "gtol": 0.1}),
    "wiggly": (_wiggly(0.01, 39.0), {"ftol": 0.1, "gtol": 0.1}),
    "yanai-1": (_yanai(0.001, 0.001), {"ftol": 1e-3, "gtol": 1e-3}),
    "yanai-2": (_yanai(0.01, 0.001), {"ftol": 1e-3, "gtol": 1e-3}),
    "yanai-3": (_yanai(0.001, 0.01), {"ftol": 1e-3, "gtol": 1e-3}),
}


@dataclass
class Case:
    phi: object
    dphi: object
    step: float
    options: dict = field(default_factory=dict)

    def settings(self):
        return {"step_min": 0.0, "step_max": 1e10, "ftol": 1e-3, "gtol": 0.9, "xtol": 0.1,
                **self.options}  # fmt: skip


def _cases():
    cases = {}
    for name, ((phi, dphi), tolerances) in FUNCTIONS.items():
        for step in (1e-3, 1e-1, 1e1, 1e3):
            cases[f"{name}-{step:g}"] = Case(phi, dphi, step, {**tolerances, "xtol": 1e-10})
            # The same start with lnsrlb's xtol, with all of lnsrlb's tolerances, with tight ones.
            cases[f"{name}-{step:g}-xtol"] = Case(phi, dphi, step, tolerances)
            cases[f"{name}-{step:g}-lbfgsb"] = Case(phi, dphi, step)
            tight = {"ftol": 1e-4, "gtol": 1e-4, "xtol": 1e-12}
            cases[f"{name}-{step:g}-tight"] = Case(phi, dphi, step, tight)
    for name in ("yanai-1", "yanai-2", "yanai-3"):
        # Backwards from 1, where phi first decreases too little: the search on psi.
        (phi, dphi), _ = FUNCTIONS[name]
        backwards = (lambda a, phi=phi: phi(1.0 - a), lambda a, dphi=dphi: -dphi(1.0 - a))
        cases[f"{name}-backwards"] = Case(*backwards, 1.0, {"ftol": 0.1})
    quadratic = (_quadratic, lambda a: a - 3.0)
    cases["quadratic-too-short"] = Case(*quadratic, 1e-6, {"gtol": 0.1})
    cases["quadratic-too-long"] = Case(*quadratic, 1e6, {"gtol": 0.1})
    cases["quadratic-exact"] = Case(*quadratic, 3.0)
    cases["quadratic-step-max"] = Case(*quadratic, 0.1, {"step_max": 1.0, "gtol": 0.01})
    cases["quadratic-step-min"] = Case(*quadratic, 100.0, {"step_min": 50.0, "step_max": 200.0})
    # The first interpolation may fall short of 2.1 times the first step: dcsrch starts with
    # [0, 5 step] as the interval, not [2.1 step, 5 step].
    cases["quadratic-short"] = Case(*quadratic, 2.0, {"gtol": 0.1})
    # A first bracket wider than 0.66 (step_max - step_min) is not bisected at once.
    cases["quadratic-bounded"] = Case(*quadratic, 8.0, {"step_max": 10.0, "gtol": 0.1})
    cases["above-step-min"] = Case(lambda a: a * a - 2.0 * a, lambda a: 2.0 * a - 2.0, 1.9,
                                   {"step_min": 1.9, "gtol": 0.1})  # fmt: skip
    cases["steep-step-min"] = Case(lambda a: 1e3 * a * a - a, lambda a: 2e3 * a - 1.0, 1.0,
                                   {"step_min": 0.1})  # fmt: skip
    kink = (lambda a: _kink(a)[0], lambda a: _kink(a)[1])
    cases["kink-xtol"] = Case(*kink, 0.3)
    cases["kink-rounding"] = Case(*kink, 0.3, {"xtol": 0.0})
    cases["exp-too-long"] = Case(lambda a: math.exp(a) - 2.0 * a, lambda a: math.exp(a) - 2.0,
                                 50.0, {"gtol": 0.01})  # fmt: skip
    # exp(-a) flattens out: the cubic through two trials has no minimizer.
    cases["exp-decay"] = Case(lambda a: math.exp(-a), lambda a: -math.exp(-a), 1.0, {"gtol": 0.01})
    cases["cosine"] = Case(lambda a: math.cos(a + 0.5), lambda a: -math.sin(a + 0.5), 0.5,
                           {"ftol": 0.1, "gtol": 1e-3})  # fmt: skip
    return cases


CASES = _cases()


def _ours(case):
    search = LineSearch(case.phi(0.0), case.dphi(0.0), case.step, **case.settings())
    trials = []
    for _ in range(100):
        trials.append(search.step)
        outcome = search.tell(case.phi(search.step), case.dphi(search.step))
        if outcome != EVALUATE:
            return trials, outcome, search.message
    raise AssertionError(f"no end after 100 trials: {trials}")


# DCSRCH's reasons, as its task strings name them.
SCIPY_ENDS = {
    b"CONVERGENCE": (CONVERGED, linesearch.STRONG_WOLFE),
    b"WARNING: ROUNDING ERRORS PREVENT PROGRESS": (WARNING, linesearch.ROUNDING_ERRORS),
    b"WARNING: XTOL TEST SATISFIED": (WARNING, linesearch.XTOL_TEST),
    b"WARNING: STP = STPMAX": (WARNING, linesearch.AT_STEP_MAX),
    b"WARNING: STP = STPMIN": (WARNING, linesearch.AT_STEP_MIN),
}


def _scipy(case):
    dcsrch = pytest.importorskip("scipy.optimize._dcsrch")
    s = case.settings()
    trials = []

    def recorded(a):  # DCSRCH calls phi once per trial, then derphi at the same step
        trials.append(float(a))
        return case.phi(float(a))

    search = dcsrch.DCSRCH(recorded, lambda a: case.dphi(float(a)), s["ftol"], s["gtol"],
                           s["xtol"], s["step_min"], s["step_max"])  # fmt: skip
    step, _, _, task = search(case.step, phi0=case.phi(0.0), derphi0=case.dphi(0.0))
    # It returns a step only on convergence (None after a warning), and that step is its
    # last trial, as it is after a warning: dcsrch ends on the step it was just told about.
    if task == b"CONVERGENCE":
        assert step == trials[-1]
    else:
        assert step is None
    return trials, task


@pytest.mark.parametrize("name", CASES)
def test_trials_match_scipy_dcsrch(name):
    case = CASES[name]
    theirs, task = _scipy(case)
    trials, outcome, message = _ours(case)
    assert trials == pytest.approx(theirs, rel=1e-12, abs=0.0)
    assert (outcome, message) == SCIPY_ENDS[task]


def test_comparison_covers_every_path(monkeypatch):
    """The cases above take every case of dcstep, bracketed and not, the search on psi, the
    bisection, and end in every way, so a wrong rule anywhere changes some trial."""
    seen = set()

    def spy(name, key):
        original = getattr(linesearch, name)

        def wrapper(*args):
            seen.add(key(*args))
            return original(*args)

        monkeypatch.setattr(linesearch, name, wrapper)

    spy("_higher_value", lambda x, p: "higher")
    spy("_opposite_slopes", lambda x, p: "opposite")
    spy("_flatter_slope", lambda x, y, p, bracketed, lo, hi: ("flatter", bracketed))
    spy("_steeper_slope", lambda x, y, p, bracketed, lo, hi: ("steeper", bracketed))
    spy("_tilt", lambda point, gtest: "psi")
    ends, lengths = set(), []
    for case in CASES.values():
        search = LineSearch(case.phi(0.0), case.dphi(0.0), case.step, **case.settings())
        evaluations = 1
        while search.tell(case.phi(search.step), case.dphi(search.step)) == EVALUATE:
            evaluations += 1
            best, other = search._best.step, search._other.step
            if search._bracketed and search.step == best + 0.5 * (other - best):
                seen.add("bisection")
        ends.add(search.message)
        lengths.append(evaluations)
    assert seen == {"higher", "opposite", "psi", "bisection", ("flatter", False),
                    ("flatter", True), ("steeper", False), ("steeper", True)}  # fmt: skip
    assert ends == {linesearch.STRONG_WOLFE, linesearch.ROUNDING_ERRORS, linesearch.XTOL_TEST,
                    linesearch.AT_STEP_MAX, linesearch.AT_STEP_MIN}  # fmt: skip
    assert max(lengths) >= 30 and sum(n >= 8 for n in lengths) >= 20


# Moré & Thuente's Tables I-VI: evaluations and final step for each start 1e-3 ... 1e3, with
# the cases' xtol = 1e-10 small enough for each search to end on the strong Wolfe conditions.
PAPER = {
    "rational": [(6, 1.3650), (3, 1.4414), (1, 10.0), (4, 36.888)],
    "quintic": [(12, 1.5960), (8, 1.5960), (8, 1.5960), (11, 1.5960)],
    "wiggly": [(12, 1.0), (12, 1.0), (10, 1.0), (13, 1.0)],
    "yanai-1": [(4, 0.085), (1, 0.1), (3, 0.34910), (4, 0.8294)],
    "yanai-2": [(6, 0.075011), (3, 0.07751), (7, 0.073142), (8, 0.076159)],
    "yanai-3": [(13, 0.9279), (11, 0.92615), (8, 0.92478), (11, 0.92440)],
}


@pytest.mark.parametrize("name", PAPER)
def test_paper_tables(name):
    for step, (evaluations, final) in zip((1e-3, 1e-1, 1e1, 1e3), PAPER[name], strict=True):
        trials, outcome, _ = _ours(CASES[f"{name}-{step:g}"])
        assert (len(trials), outcome) == (evaluations, CONVERGED)
        assert trials[-1] == pytest.approx(final, rel=1e-3)


CONVERGING = [name for name, case in CASES.items() if _ours(case)[1] == CONVERGED]


@pytest.mark.parametrize("name", CONVERGING)
def test_converged_step_satisfies_strong_wolfe(name):
    case = CASES[name]
    trials, _, _ = _ours(case)
    s, settings = trials[-1], case.settings()
    f0, slope0 = case.phi(0.0), case.dphi(0.0)
    assert case.phi(s) <= f0 + settings["ftol"] * s * slope0
    assert abs(case.dphi(s)) <= settings["gtol"] * abs(slope0)


def test_step_capped_at_step_max_while_phi_keeps_decreasing():
    search = LineSearch(0.0, -1.0, 1.0, step_max=10.0)
    asked = []
    while (outcome := search.tell(-search.step, -1.0)) == EVALUATE:
        asked.append(search.step)
    assert outcome == WARNING
    assert search.step == 10.0
    assert search.message == linesearch.AT_STEP_MAX
    assert asked == [5.0, 10.0]  # extrapolation to s + 4 s, then the cap


def test_step_at_step_min_when_the_minimizer_lies_below_it():
    search = LineSearch(0.0, -1.0, 1.0, step_min=0.5, step_max=10.0)
    while (outcome := search.tell(10.0 * search.step**2 - search.step,
                                  20.0 * search.step - 1.0)) == EVALUATE:  # fmt: skip
        pass
    assert (outcome, search.step, search.message) == (WARNING, 0.5, linesearch.AT_STEP_MIN)


def test_converges_on_the_first_step_when_it_is_good():
    search = LineSearch(4.5, -3.0, 3.0, step_max=10.0)
    assert search.tell(0.0, 0.0) == CONVERGED
    assert search.step == 3.0
    assert search.message == linesearch.STRONG_WOLFE


@pytest.mark.parametrize("slope0", [0.0, 1.0])
def test_rejects_a_direction_that_does_not_descend(slope0):
    with pytest.raises(ValueError, match="must be negative"):
        LineSearch(1.0, slope0, 1.0, step_max=10.0)


@pytest.mark.parametrize(
    "step, bounds",
    [
        (11.0, {"step_max": 10.0}),
        (0.5, {"step_min": 1.0, "step_max": 10.0}),
        (-1.0, {"step_max": 1.0}),
    ],
)
def test_rejects_a_step_outside_its_bounds(step, bounds):
    with pytest.raises(ValueError, match=r"step must lie in \[step_min, step_max\]"):
        LineSearch(1.0, -1.0, step, **bounds)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"ftol": -1e-3}, "ftol must be >= 0"),
        ({"gtol": -0.1}, "gtol must be >= 0"),
        ({"xtol": -0.1}, "xtol must be >= 0"),
        ({"step_min": 2.0, "step_max": 1.0}, "step_max must be >= step_min"),
        ({"step_min": -1.0}, "step_min must be >= 0"),
    ],
)
def test_rejects_bad_tolerances_and_bounds(options, match):
    with pytest.raises(ValueError, match=match):
        LineSearch(1.0, -1.0, 1.0, **{"step_max": 10.0, **options})


def test_rejects_a_zero_first_step():
    with pytest.raises(ValueError, match="first step must be positive"):
        LineSearch(1.0, -1.0, 0.0, step_max=10.0)


def test_tell_after_the_end_raises():
    search = LineSearch(4.5, -3.0, 3.0, step_max=10.0)
    assert search.tell(0.0, 0.0) == CONVERGED
    with pytest.raises(RuntimeError, match="has ended"):
        search.tell(0.0, 0.0)


def test_tell_after_a_warning_raises():
    search = LineSearch(0.0, -1.0, 10.0, step_max=10.0)
    assert search.tell(-10.0, -1.0) == WARNING
    with pytest.raises(RuntimeError, match="has ended"):
        search.tell(-10.0, -1.0)


@pytest.mark.parametrize("f, slope", [(math.inf, 1.0), (math.nan, 1.0), (1.0, math.nan)])
def test_rejects_non_finite_values(f, slope):
    search = LineSearch(0.0, -1.0, 1.0, step_max=10.0)
    with pytest.raises(ValueError, match="must be finite"):
        search.tell(f, slope)
    assert search.step == 1.0


def test_non_finite_interpolation_raises_and_ends(monkeypatch):
    monkeypatch.setattr(linesearch, "_higher_value", lambda x, p: math.nan)
    search = LineSearch(0.0, -1.0, 1.0, step_max=10.0)
    with pytest.raises(FloatingPointError, match="non-finite step"):
        search.tell(1.0, 1.0)
    with pytest.raises(RuntimeError, match="has ended"):
        search.tell(1.0, 1.0)
