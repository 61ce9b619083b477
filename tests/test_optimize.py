import numpy as np
import pytest
import threadpoolctl
from conftest import require_bfloat16_tensorflow

from stylize.config import Settings
from stylize.device import CPU
from stylize.images import preprocess
from stylize.lbfgsb import BoundedLbfgs
from stylize.optimize import (
    Costs,
    TransferGraph,
    lbfgs_steps,
    noise_image,
    style_grams_at_size,
)
from stylize.weights import load_vgg19

MEAN = np.array([123.68, 116.779, 103.939], np.float32)


def _image(seed, height=24, width=32):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def weights(vgg_file):
    return load_vgg19(vgg_file, "relu5_1")


@pytest.fixture(scope="module")
def graph(weights):
    graph = TransferGraph(weights, Settings(), CPU)
    content, style = preprocess(_image(0), MEAN), preprocess(_image(1), MEAN)
    graph.set_targets(graph.content_features(content), graph.style_grams(style))
    yield graph
    graph.close()


def test_noise_image_blends_uniform_noise_with_the_base():
    base = np.full((1, 50, 60, 3), 10.0, np.float32)
    start = noise_image(base, 0.6, np.random.default_rng(2))
    noise = (start - 0.4 * base) / 0.6
    assert noise.min() >= -20 and noise.max() <= 20
    assert noise.std() == pytest.approx(40 / np.sqrt(12), rel=0.05)
    np.testing.assert_allclose(noise_image(base, 0.0, np.random.default_rng(2)), base)


def test_costs_vanish_at_their_targets(graph):
    at_content = graph.evaluate(preprocess(_image(0), MEAN))
    assert at_content.J_content == 0.0 and at_content.J_style > 0
    at_style = graph.evaluate(preprocess(_image(1), MEAN))
    assert at_style.J_style == pytest.approx(0.0, abs=1e-6 * at_content.J_style)
    assert at_style.J == pytest.approx(10 * at_style.J_content + 40 * at_style.J_style, rel=1e-5)


def test_graph_is_finalized_so_loops_cannot_add_ops(graph):
    assert graph.graph.finalized


def test_gradient_matches_finite_differences(graph):
    image = preprocess(_image(3), MEAN)
    costs, gradient = graph.value_and_gradient(image)
    assert gradient.shape == image.shape
    # Along the unit gradient the slope must equal |g|. A step that changes J by about 1 %
    # keeps J's float32 rounding (relative 1e-6) far below the difference measured.
    norm = float(np.linalg.norm(gradient))
    direction = gradient / norm
    step = 0.01 * costs.J / norm
    plus = graph.evaluate(image + step * direction).J
    minus = graph.evaluate(image - step * direction).J
    assert (plus - minus) / (2 * step) == pytest.approx(norm, rel=1e-3)


def test_one_graph_evaluates_each_new_image_afresh(weights, graph):
    """oneDNN is told the conv kernels are frozen (stylize._tf) and caches reordered
    copies; the image changes every step, so a graph that has seen image A must give a
    fresh graph's J and gradient for image B."""
    first, second = preprocess(_image(5), MEAN), preprocess(_image(6), MEAN)
    graph.value_and_gradient(first)
    graph.evaluate(first)
    seen_costs, seen_gradient = graph.value_and_gradient(second)
    fresh = TransferGraph(weights, Settings(), CPU)
    try:
        content, style = preprocess(_image(0), MEAN), preprocess(_image(1), MEAN)
        fresh.set_targets(fresh.content_features(content), fresh.style_grams(style))
        fresh_costs, fresh_gradient = fresh.value_and_gradient(second)
    finally:
        fresh.close()
    assert seen_costs.J == pytest.approx(fresh_costs.J, rel=1e-6)
    assert seen_costs.J != pytest.approx(graph.evaluate(first).J, rel=1e-3)
    np.testing.assert_allclose(
        seen_gradient, fresh_gradient, rtol=1e-4, atol=1e-6 * float(np.abs(fresh_gradient).max())
    )


def _targeted(graph, height, width):
    """``graph`` with the targets of images 0 (content) and 1 (style) at this size."""
    content, style = (preprocess(_image(seed, height, width), MEAN) for seed in (0, 1))
    graph.set_targets(graph.content_features(content), graph.style_grams(style))
    return graph


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_graph_used_at_one_size_gives_a_fresh_graphs_results_at_another(weights, optimizer):
    """One graph serves every scale of a run: at 12x16 after 24x32 (Adam's moments, the
    targets and the image all change size), the same steps as a graph only used at 12x16."""
    used, fresh = (TransferGraph(weights, Settings(), CPU) for _ in range(2))
    try:
        start = noise_image(preprocess(_image(4), MEAN), 0.6, np.random.default_rng(0))
        list(getattr(_targeted(used, 24, 32), optimizer)(start, 3))
        small = start[:, :12, :16, :]
        steps = [list(getattr(_targeted(graph, 12, 16), optimizer)(small, 4))
                 for graph in (used, fresh)]  # fmt: skip
        for mine, theirs in zip(*steps, strict=True):
            assert mine.image.shape == (1, 12, 16, 3)
            np.testing.assert_array_equal(mine.image, theirs.image)
            assert mine.costs == theirs.costs
    finally:
        used.close()
        fresh.close()


def test_a_content_ratio_weighs_content_as_the_paper_does_at_every_size(weights):
    """--content-ratio R: J = R beta sum((a_C - a_G)^2) / 2 + beta J_style (Gatys et al.),
    which is alpha = R beta 2 N for the notebook's J_content, N = n_H n_W n_C of conv4_2:
    the weight follows each size of one graph."""
    ratio, beta = 5.0, 40.0
    graph = TransferGraph(weights, Settings(content_ratio=ratio), CPU)
    try:
        for height, width in ((24, 32), (48, 40)):
            _targeted(graph, height, width)
            content = graph.content_features(preprocess(_image(0, height, width), MEAN))
            image = preprocess(_image(3, height, width), MEAN)
            generated = graph.content_features(image)
            costs = graph.evaluate(image)
            a_c, a_g = (np.float64(a["conv4_2"]) for a in (content, generated))
            paper_term = ratio * beta * np.sum((a_c - a_g) ** 2) / 2
            assert 0.1 < paper_term / costs.J < 0.9  # both parts weigh
            assert costs.J == pytest.approx(paper_term + beta * costs.J_style, rel=1e-5)
            alpha = ratio * beta * 2 * a_g.size
            assert costs.J == pytest.approx(alpha * costs.J_content + beta * costs.J_style,
                                            rel=1e-5)  # fmt: skip
    finally:
        graph.close()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_loops_lower_j_and_keep_pixels_in_range(graph, optimizer):
    start = noise_image(preprocess(_image(0), MEAN), 0.6, np.random.default_rng(0))
    loop = graph.adam if optimizer == "adam" else graph.lbfgs
    steps = list(loop(start, 30))
    assert len(steps) == 30
    assert min(s.costs.J for s in steps) < 0.5 * steps[0].costs.J
    for step in steps:
        assert step.image.shape == (1, 24, 32, 3)
        pixels = step.image[0] + MEAN
        assert pixels.min() >= -1e-3 and pixels.max() <= 255 + 1e-3
    # each step reports the costs of exactly the image it carries
    assert graph.evaluate(steps[7].image).J == pytest.approx(steps[7].costs.J, rel=1e-5)


def test_adam_reset_makes_runs_repeatable(graph):
    start = preprocess(_image(5), MEAN)
    first = [s.costs.J for s in graph.adam(start, 5)]
    second = [s.costs.J for s in graph.adam(start, 5)]
    assert first == second


def test_an_adam_step_given_per_run_equals_the_settings_step_and_is_forgotten_after(graph, weights):
    start = preprocess(_image(5), MEAN)
    other = TransferGraph(weights, Settings(learning_rate=0.5), CPU)
    content, style = preprocess(_image(0), MEAN), preprocess(_image(1), MEAN)
    other.set_targets(other.content_features(content), other.style_grams(style))
    expected = [step.image for step in other.adam(start, 4)]
    other.close()
    given = [step.image for step in graph.adam(start, 4, learning_rate=0.5)]
    for a, b in zip(expected, given, strict=True):
        np.testing.assert_array_equal(a, b)
    default = [step.image for step in graph.adam(start, 4)]
    assert not np.array_equal(default[-1], given[-1])  # the default step is back: 2.0
    assert np.abs(default[1] - start).max() == pytest.approx(2.0, abs=1e-3)


def test_lbfgs_stops_cleanly_when_abandoned(graph):
    start = preprocess(_image(6), MEAN)
    steps = graph.lbfgs(start, 50)
    taken = [next(steps) for _ in range(3)]
    steps.close()
    assert len(taken) == 3
    assert len(list(graph.lbfgs(start, 4))) == 4


def _blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


class _Quadratic:
    """A stand-in graph (an ill-conditioned quadratic in the pixels) that records, at each
    L-BFGS evaluation, how many threads each loaded BLAS library would use."""

    low = -np.asarray(MEAN, np.float32)

    def __init__(self):
        self.blas_threads: list[set[int]] = []

    def value_and_gradient(self, image):
        self.blas_threads.append(_blas_threads())
        residual = image.astype(np.float64) - 10.0
        weights = 1.0 + np.arange(residual.size).reshape(residual.shape) % 7
        J = float((weights * residual**2).sum())
        return Costs(J, J, 0.0), (2 * weights * residual).astype(np.float32)


def test_lbfgs_runs_blas_on_one_thread_and_restores_it():
    graph = _Quadratic()
    start = preprocess(_image(8), MEAN)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        # {2}, or {1, 2} where an old OpenBLAS bundled with a library (opencv-python 4.7's
        # 0.3.3) keeps its one thread whatever it is told.
        before = _blas_threads()
        steps = list(lbfgs_steps(graph, start, 5))
        after = _blas_threads()
    assert 2 in before
    assert len(steps) == 5 and steps[-1].costs.J < steps[0].costs.J
    assert graph.blas_threads and all(seen == {1} for seen in graph.blas_threads)
    assert after == before


def _points_by_hand(graph, start, evaluations: int, memory: int) -> list[np.ndarray]:
    low = np.broadcast_to(graph.low, start.shape).ravel().astype(np.float32)
    optimizer = BoundedLbfgs(start.ravel().copy(), low, low + np.float32(255), memory=memory)
    points = []
    while len(points) < evaluations and (x := optimizer.ask()) is not None:
        points.append(x.copy())
        costs_, gradient = graph.value_and_gradient(x.reshape(start.shape))
        optimizer.tell(costs_.J, gradient)
    return points


@pytest.mark.parametrize("memory", [1, 10])
def test_lbfgs_keeps_the_correction_pairs_asked_for(memory):
    graph = _Quadratic()
    start = preprocess(_image(8), MEAN)
    steps = [step.image.ravel() for step in lbfgs_steps(graph, start, 12, memory=memory)]
    one, ten = (_points_by_hand(graph, start, 12, pairs) for pairs in (1, 10))
    assert len(steps) == len(one) == len(ten) == 12
    assert not all(np.array_equal(a, b) for a, b in zip(one, ten, strict=True))
    expected = one if memory == 1 else ten  # the default, 10, is the run's
    for step, point in zip(steps, expected, strict=True):
        np.testing.assert_array_equal(step, point)


def test_style_grams_of_another_size_use_their_own_pixel_count(weights):
    settings = Settings()
    big = preprocess(np.tile(_image(7, 12, 16), (2, 2, 1)), MEAN)
    grams = style_grams_at_size(weights, big, settings, CPU)
    assert set(grams) == {name for name, _ in settings.style_layers}
    small_graph = TransferGraph(weights, settings, CPU)
    same = small_graph.style_grams(big)
    small_graph.close()
    for name in grams:
        np.testing.assert_allclose(grams[name], same[name], rtol=1e-4, atol=1e-6)


def test_conv_layer_names_read_the_activation_after_relu(weights):
    """The notebook's graph['conv4_2'] is relu(conv + b); its content cost compares those."""
    from stylize._tf import tf
    from stylize.optimize import FeatureNet

    settings = Settings(content_layers=(("conv1_1", 0.5), ("relu1_2", 0.5)))
    with tf.Graph().as_default():
        net = FeatureNet(weights, (1, 24, 32, 3), settings)
        assert net.activations["conv1_1"].name.startswith("vgg19/relu1_1")
        assert net.activations["relu1_2"].name.startswith("vgg19/relu1_2")


def test_weights_live_in_variables_not_graph_constants(graph):
    """Constants would be copied into every executor: ~1 GB more at the real size."""
    sizes = [
        int(np.prod(op.get_attr("value").tensor_shape.dim and
                    [d.size for d in op.get_attr("value").tensor_shape.dim] or [1]))
        for op in graph.graph.get_operations() if op.type == "Const"
    ]  # fmt: skip
    assert max(sizes) < 100
    assert graph.graph.as_graph_def().ByteSize() < 200_000


def test_bfloat16_graph_approximates_the_float32_costs_and_gradient(weights, graph):
    require_bfloat16_tensorflow()
    half = TransferGraph(weights, Settings(precision="bfloat16"), CPU)
    try:
        content, style = preprocess(_image(0), MEAN), preprocess(_image(1), MEAN)
        features, grams = half.content_features(content), half.style_grams(style)
        assert all(value.dtype == np.float32 for value in [*features.values(), *grams.values()])
        half.set_targets(features, grams)
        image = preprocess(_image(3), MEAN)
        exact, exact_gradient = graph.value_and_gradient(image)
        approx, approx_gradient = half.value_and_gradient(image)
        assert approx_gradient.dtype == np.float32
        assert approx.J == pytest.approx(exact.J, rel=0.02)
        assert approx.J != exact.J
        cosine = np.vdot(exact_gradient, approx_gradient) / (
            np.linalg.norm(exact_gradient) * np.linalg.norm(approx_gradient)
        )
        assert cosine > 0.99
        steps = list(half.adam(noise_image(content, 0.6, np.random.default_rng(0)), 20))
        assert steps[-1].costs.J < 0.7 * steps[0].costs.J
    finally:
        half.close()


@pytest.fixture(scope="module")
def temporal_graph(weights):
    graph = TransferGraph(weights, Settings(), CPU, temporal_weight=50.0)
    content, style = preprocess(_image(0), MEAN), preprocess(_image(1), MEAN)
    warped = preprocess(_image(4), MEAN)
    consistency = np.ones((1, 24, 32, 1), np.float32)
    consistency[:, :, :10] = 0  # a disoccluded strip
    graph.set_targets(graph.content_features(content), graph.style_grams(style),
                      temporal=(warped, consistency))  # fmt: skip
    yield graph, warped, consistency
    graph.close()


def test_the_temporal_term_is_in_j_with_its_weight(temporal_graph, graph):
    temporal, warped, consistency = temporal_graph
    image = preprocess(_image(3), MEAN)
    with_term, without = temporal.evaluate(image), graph.evaluate(image)
    expected = np.sum(consistency * (image.astype(np.float64) - warped) ** 2) / (24 * 32 * 3)
    assert with_term.J_temporal == pytest.approx(expected, rel=1e-5)
    assert with_term.J == pytest.approx(without.J + 50.0 * expected, rel=1e-5)
    assert (with_term.J_content, with_term.J_style) == pytest.approx(
        (without.J_content, without.J_style), rel=1e-6)  # fmt: skip
    assert without.J_temporal == 0.0


def test_the_temporal_term_has_a_gradient_through_the_image_variable(temporal_graph, graph):
    temporal, warped, consistency = temporal_graph
    image = preprocess(_image(3), MEAN)
    _, with_term = temporal.value_and_gradient(image)
    _, without = graph.value_and_gradient(image)
    expected = 50.0 * 2 * consistency * (image - warped) / (24 * 32 * 3)
    np.testing.assert_allclose(with_term - without, expected, rtol=2e-3, atol=1e-3)
    assert np.abs(expected).max() > 100 * 1e-3  # the check above is not about noise


def test_a_temporal_graph_without_a_previous_frame_has_no_temporal_term(weights, graph):
    temporal = TransferGraph(weights, Settings(), CPU, temporal_weight=50.0)
    try:
        content, style = preprocess(_image(0), MEAN), preprocess(_image(1), MEAN)
        temporal.set_targets(temporal.content_features(content), temporal.style_grams(style))
        image = preprocess(_image(3), MEAN)
        assert temporal.evaluate(image).J == pytest.approx(graph.evaluate(image).J, rel=1e-6)
    finally:
        temporal.close()
