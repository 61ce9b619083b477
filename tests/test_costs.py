"""Each cost against a NumPy implementation of the formula."""

import numpy as np
import pytest

from stylize import costs
from stylize._tf import tf


def _run(build, *arrays):
    with tf.Graph().as_default(), tf.Session() as session:
        tensors = [tf.constant(a) for a in arrays]
        return session.run(build(*tensors))


def _activation(seed, shape=(1, 5, 7, 4)):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def np_unroll(a):
    _, n_h, n_w, n_c = a.shape
    return a.reshape(n_h * n_w, n_c).T


def np_gram(a):
    unrolled = np_unroll(a).astype(np.float64)
    return unrolled @ unrolled.T


def np_layer_style_cost(a_s, a_g):
    _, n_h, n_w, n_c = a_g.shape
    return np.sum((np_gram(a_s) - np_gram(a_g)) ** 2) / (4 * n_c**2 * (n_h * n_w) ** 2)


def test_content_cost_matches_formula():
    a_c, a_g = _activation(1), _activation(2)
    _, n_h, n_w, n_c = a_c.shape
    expected = np.sum((a_c.astype(np.float64) - a_g) ** 2) / (4 * n_h * n_w * n_c)
    assert _run(costs.content_cost, a_c, a_g) == pytest.approx(expected, rel=1e-5)


def test_paper_content_cost_is_half_the_squared_distance_and_2n_times_the_notebooks():
    a_c, a_g = _activation(1), _activation(2)
    expected = np.sum((a_c.astype(np.float64) - a_g) ** 2) / 2
    paper = _run(lambda c, g: costs.paper_content_cost(costs.squared_distance(c, g)), a_c, a_g)
    assert paper == pytest.approx(expected, rel=1e-5)
    notebook = _run(costs.content_cost, a_c, a_g)
    assert expected == pytest.approx(2 * a_g.size * notebook, rel=1e-5)


def test_content_cost_is_zero_for_identical_activations():
    a = _activation(3)
    assert _run(costs.content_cost, a, a) == 0.0


def test_unroll_keeps_one_row_per_channel():
    a = _activation(4)
    np.testing.assert_array_equal(_run(costs.unroll, a), np_unroll(a))


def test_gram_matrix_is_a_times_a_transposed():
    a = _activation(5)
    got = _run(lambda t: costs.gram_matrix(costs.unroll(t)), a)
    np.testing.assert_allclose(got, np_gram(a), rtol=1e-5)
    np.testing.assert_allclose(got, got.T, rtol=1e-6)


def test_layer_style_cost_matches_formula():
    a_s, a_g = _activation(6), _activation(7)
    got = _run(costs.layer_style_cost, a_s, a_g)
    assert got == pytest.approx(np_layer_style_cost(a_s, a_g), rel=1e-5)


def test_style_cost_of_another_sized_style_uses_each_images_own_pixel_count():
    a_s, a_g = _activation(8, (1, 10, 6, 4)), _activation(9)
    g_s = np_gram(a_s) / (10 * 6)
    g_g = np_gram(a_g) / (5 * 7)
    expected = np.sum((g_s - g_g) ** 2) / (4 * 4**2)
    assert _run(costs.layer_style_cost, a_s, a_g) == pytest.approx(expected, rel=1e-5)


def test_style_cost_is_the_weighted_sum_of_layer_costs():
    pairs = [(_activation(s), _activation(s + 10)) for s in range(3)]
    weights = [0.2, 0.5, 0.3]

    def build(*tensors):
        layer_costs = [costs.layer_style_cost(tensors[2 * i], tensors[2 * i + 1]) for i in range(3)]
        return costs.style_cost(zip(weights, layer_costs, strict=True))

    flat = [a for pair in pairs for a in pair]
    expected = sum(w * np_layer_style_cost(s, g) for w, (s, g) in zip(weights, pairs, strict=True))
    assert _run(build, *flat) == pytest.approx(expected, rel=1e-5)


def test_total_cost_weights_content_and_style():
    got = _run(
        lambda c, s: costs.total_cost(c, s, alpha=10.0, beta=40.0),
        np.float32(3.0),
        np.float32(0.5),
    )
    assert got == pytest.approx(10 * 3.0 + 40 * 0.5)


def test_total_variation_matches_formula():
    image = _activation(11, (1, 6, 8, 3))
    dy = np.diff(image.astype(np.float64), axis=1)
    dx = np.diff(image.astype(np.float64), axis=2)
    expected = (np.sum(dy**2) + np.sum(dx**2)) / (6 * 8)
    assert _run(costs.total_variation, image) == pytest.approx(expected, rel=1e-5)


def test_guided_gram_matches_the_formula():
    a = _activation(11)
    mask = np.random.default_rng(12).uniform(0, 1, (5, 7)).astype(np.float32)
    weighted = np_unroll(a).astype(np.float64) * mask.reshape(1, -1)
    expected = weighted @ weighted.T / np.sum(mask.astype(np.float64) ** 2)
    np.testing.assert_allclose(_run(costs.guided_gram, a, mask), expected, rtol=1e-5)


def test_a_guided_gram_with_a_mask_of_ones_is_the_normalized_gram():
    a = _activation(13)
    ones = np.ones((5, 7), np.float32)
    np.testing.assert_allclose(_run(costs.guided_gram, a, ones),
                               _run(costs.normalized_gram, a), rtol=1e-6)  # fmt: skip


def test_a_guided_gram_sees_only_its_region():
    a = _activation(14)
    left = np.zeros((5, 7), np.float32)
    left[:, :3] = 1.0
    changed = a.copy()
    changed[:, :, 3:, :] = 100.0  # outside the region
    np.testing.assert_allclose(_run(costs.guided_gram, changed, left),
                               _run(costs.guided_gram, a, left), rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(_run(costs.guided_gram, a, left),
                               _run(costs.normalized_gram, a[:, :, :3, :]), rtol=1e-5)  # fmt: skip


def test_temporal_cost_matches_ruders_formula():
    rng = np.random.default_rng(5)
    image, warped = (rng.normal(0, 30, (1, 5, 7, 3)).astype(np.float32) for _ in range(2))
    mask = (rng.random((1, 5, 7, 1)) > 0.3).astype(np.float32)
    expected = np.sum(mask * (image.astype(np.float64) - warped) ** 2) / (5 * 7 * 3)
    assert _run(costs.temporal_cost, image, warped, mask) == pytest.approx(expected, rel=1e-5)
    assert _run(costs.temporal_cost, image, warped, np.zeros_like(mask)) == 0.0


def test_temporal_cost_has_the_gradient_of_its_formula():
    rng = np.random.default_rng(6)
    image, warped = (rng.normal(0, 30, (1, 4, 6, 3)).astype(np.float32) for _ in range(2))
    mask = rng.random((1, 4, 6, 1)).astype(np.float32)

    def gradient(x, w, c):
        return tf.gradients(costs.temporal_cost(x, w, c), [x])[0]

    expected = 2 * mask * (image - warped) / (4 * 6 * 3)
    np.testing.assert_allclose(_run(gradient, image, warped, mask), expected, rtol=1e-5, atol=1e-7)


def _rounded_to_bfloat16(a):
    return _run(lambda t: tf.cast(tf.cast(t, tf.bfloat16), tf.float32), a)


def test_gram_sum_has_the_gradient_of_its_formula():
    """d<U, F^T F>/dF = F (U + U^T), written out in costs._gram_of_rows."""
    a = _activation(20)
    upstream = np.random.default_rng(21).normal(size=(4, 4)).astype(np.float32)

    def gradient(t):
        return tf.gradients(tf.reduce_sum(upstream * costs.gram_sum(t)), [t])[0]

    rows = a.reshape(-1, 4).astype(np.float64)
    expected = (rows @ (upstream + upstream.T)).reshape(a.shape)
    np.testing.assert_allclose(_run(gradient, a), expected, rtol=1e-5, atol=1e-6)


def test_a_bfloat16_gram_sum_is_float32_and_as_accurate_as_its_inputs_allow():
    """One bfloat16 product rounds the Gram to 8 bits (~5e-3 here); the two-pass form keeps
    the float32 sum to ~2e-5 of the largest entry."""
    rng = np.random.default_rng(22)
    a = _rounded_to_bfloat16(np.maximum(rng.normal(0.5, 1, (1, 30, 40, 64)), 0).astype(np.float32))
    rows = a.reshape(-1, 64).astype(np.float64)
    expected = rows.T @ rows
    got = _run(lambda t: costs.gram_sum(tf.cast(t, tf.bfloat16)), a)
    assert got.dtype == np.float32
    assert np.abs(got - expected).max() / np.abs(expected).max() < 1e-4


def test_a_bfloat16_gram_sum_has_the_gradient_of_its_formula():
    rng = np.random.default_rng(23)
    a = _rounded_to_bfloat16(rng.normal(size=(1, 6, 8, 16)).astype(np.float32))
    upstream = rng.normal(size=(16, 16)).astype(np.float32)

    def gradient(t):
        half = tf.cast(t, tf.bfloat16)
        return tf.gradients(tf.reduce_sum(upstream * costs.gram_sum(half)), [t])[0]

    expected = (a.reshape(-1, 16).astype(np.float64) @ (upstream + upstream.T)).reshape(a.shape)
    got = _run(gradient, a)
    assert np.abs(got - expected).max() / np.abs(expected).max() < 2e-2


def _run_fed(build, *arrays, known_sizes: bool):
    """``build`` on placeholders fed ``arrays``: with their sizes, or with height and width
    unknown to the graph (as in a graph that serves every image size). Fed, not constant:
    Grappler would compute constants' costs once, with other arithmetic."""
    with tf.Graph().as_default(), tf.Session() as session:
        shapes = [a.shape if known_sizes else (1, None, None, a.shape[-1]) for a in arrays]
        feeds = [tf.placeholder(tf.float32, shape) for shape in shapes]
        return session.run(build(*feeds), dict(zip(feeds, arrays, strict=True)))


@pytest.mark.parametrize(
    ("build", "shapes"),
    [
        (costs.content_cost, [(1, 5, 7, 4), (1, 5, 7, 4)]),
        (costs.normalized_gram, [(1, 5, 7, 4)]),
        (costs.unroll, [(1, 5, 7, 4)]),
        (costs.total_variation, [(1, 6, 9, 3)]),
        (costs.temporal_cost, [(1, 6, 9, 3), (1, 6, 9, 3), (1, 6, 9, 1)]),
    ],
    ids=["content", "normalized-gram", "unroll", "total-variation", "temporal"],
)
def test_costs_of_unknown_sizes_equal_those_of_known_ones(build, shapes):
    arrays = [np.abs(_activation(seed, shape)) for seed, shape in enumerate(shapes)]
    unknown = _run_fed(build, *arrays, known_sizes=False)
    np.testing.assert_array_equal(unknown, _run_fed(build, *arrays, known_sizes=True))


def test_a_guided_gram_of_unknown_size_equals_the_known_sizes_one():
    activation, mask = _activation(1), np.random.default_rng(2).uniform(size=(5, 7))
    mask = mask.astype(np.float32)
    results = []
    for shapes in (((1, None, None, 4), (None, None)), (activation.shape, mask.shape)):
        with tf.Graph().as_default(), tf.Session() as session:
            a, m = (tf.placeholder(tf.float32, shape) for shape in shapes)
            results.append(session.run(costs.guided_gram(a, m), {a: activation, m: mask}))
    np.testing.assert_array_equal(*results)
