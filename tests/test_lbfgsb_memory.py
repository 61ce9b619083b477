"""The compact L-BFGS matrix against dense linear algebra."""

import numpy as np
import pytest

from stylize.lbfgsb_lanes import Lanes
from stylize.lbfgsb_memory import Memory


def _pairs(n, count, seed):
    """Correction pairs with s.y > 0, as a convex function's would be."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    hessian = a @ a.T / n + np.eye(n)
    pairs = []
    for _ in range(count):
        s = rng.normal(size=n)
        pairs.append((s, hessian @ s))
    return pairs


def _filled(n, size, count, seed=0, lanes=None):
    memory = Memory(n, size, np.float64, lanes)
    for s, y in _pairs(n, count, seed):
        assert memory.add(s, y, float(s @ y), float(y @ y), float(s @ s)) is not None
    return memory


def _dense(pairs, size):
    """S, Y of the last ``size`` pairs, oldest first, and B from the compact formula."""
    kept = pairs[-size:]
    s = np.stack([p[0] for p in kept], axis=1)
    y = np.stack([p[1] for p in kept], axis=1)
    theta = float(kept[-1][1] @ kept[-1][1] / (kept[-1][0] @ kept[-1][1]))
    return s, y, theta


def _bfgs_matrix(pairs, size, n):
    """B by the recursive BFGS updates of B_0 = theta I over the kept pairs."""
    s_all, y_all, theta = _dense(pairs, size)
    b = theta * np.eye(n)
    for s, y in zip(s_all.T, y_all.T, strict=True):
        bs = b @ s
        b = b - np.outer(bs, bs) / (s @ bs) + np.outer(y, y) / (y @ s)
    return b


@pytest.mark.parametrize("count", [1, 3, 5, 8])
def test_compact_matrix_equals_the_recursive_bfgs_matrix(count):
    n, size = 12, 5
    memory = _filled(n, size, count)
    w = np.stack([memory.project(e) for e in np.eye(n)])  # rows of W
    compact = memory.theta * np.eye(n) - w @ memory.middle @ w.T
    expected = _bfgs_matrix(_pairs(n, count, 0), size, n)
    np.testing.assert_allclose(compact, expected, rtol=1e-9, atol=1e-9)


def test_middle_is_the_inverse_of_its_stated_inverse():
    memory = _filled(10, 4, 6)
    product = memory.middle @ memory.middle_inverse
    np.testing.assert_allclose(product, np.eye(8), atol=1e-10)


def test_project_expand_and_rows_agree_with_the_dense_w():
    n, size = 9, 3
    memory = _filled(n, size, 5)
    s, y, theta = _dense(_pairs(n, 5, 0), size)
    w = np.hstack([y, theta * s])
    rng = np.random.default_rng(1)
    v, a = rng.normal(size=n), rng.normal(size=2 * size)
    np.testing.assert_allclose(memory.project(v), w.T @ v, rtol=1e-12)
    np.testing.assert_allclose(memory.expand(a), w @ a, rtol=1e-12)
    np.testing.assert_allclose(memory.rows_of(np.array([4, 0, 7])), w[[4, 0, 7]], rtol=1e-12)


@pytest.mark.parametrize("free_count", [2, 7])  # summed directly / via the complement
def test_gram_over_a_subset_of_variables(free_count):
    n, size = 9, 3
    memory = _filled(n, size, 4)
    s, y, theta = _dense(_pairs(n, 4, 0), size)
    w = np.hstack([y, theta * s])
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(2).permutation(n)[:free_count]] = True
    np.testing.assert_allclose(memory.gram_of(mask), w[mask].T @ w[mask], rtol=1e-10, atol=1e-10)


def test_reset_forgets_and_refill_wraps_around():
    memory = _filled(6, 2, 3)
    assert memory.col == 2 and memory.head == 1
    memory.reset()
    assert memory.col == 0 and memory.theta == 1.0 and memory.middle.shape == (0, 0)


def test_a_matrix_that_is_not_definite_is_refused():
    memory = Memory(4, 3, np.float64)
    s = np.array([1.0, 0, 0, 0])
    assert memory.add(s, s, 1.0, 1.0, 1.0) == 0
    # theta = y.y / s.y < 0 makes T = theta S^T S + L D^-1 L^T negative: Cholesky fails.
    assert memory.add(-s, s, 1.0, -1.0, 1.0) is None


def test_two_lanes_store_project_and_expand_as_one_does():
    """With the passes split in two halves, the stored rows, W^T v and W a equal the
    one-lane results (to the rounding of a sum taken in two parts)."""
    n, size = 31, 4  # odd: the halves differ in length
    one = _filled(n, size, 6)
    two = _filled(n, size, 6, lanes=Lanes(n, split_from=2))
    assert len(two.lanes.parts) == 2
    np.testing.assert_array_equal(two.rows, one.rows)
    rng = np.random.default_rng(3)
    v, a = rng.normal(size=n), rng.normal(size=2 * size)
    np.testing.assert_allclose(two.products(v), one.products(v), rtol=1e-13)
    np.testing.assert_allclose(two.expand(a), one.expand(a), rtol=1e-13)
    np.testing.assert_allclose(two.project(v), one.project(v), rtol=1e-13)
