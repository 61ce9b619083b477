import dataclasses
import sys

import numpy as np
import pytest

from stylize import colors, images, memory
from stylize.config import Settings
from stylize.device import CPU
from stylize.errors import DivergedError, ResourceError
from stylize.images import postprocess
from stylize.optimize import Costs, TransferGraph
from stylize.transfer import Stylizer, Transfer
from stylize.weights import load_vgg19


def _image(seed, height=24, width=32):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 8 % 256, y * 10 % 256, (x * y) % 256], axis=-1)
    return np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)


CONTENT, STYLE_A, STYLE_B = _image(0), _image(1)[::-1], _image(2)[:, ::-1]
LARGER = _image(3, 48, 64)  # two scales: 32x24, then 64x48


@pytest.fixture(scope="module")
def weights(vgg_file):
    return load_vgg19(vgg_file, "relu5_1")


def _transfer(weights, styles=(STYLE_A,), seed=0, init_image=None, **settings):
    stylizer = Stylizer(weights, Settings(**{"iterations": 8, **settings}), CPU)
    return Transfer(stylizer, CONTENT, list(styles), seed, init_image)


def _result(transfer):
    progress = list(transfer.run())
    return progress, transfer.finish()


def _total_variation(image):
    image = image.astype(np.float64)
    return np.abs(np.diff(image, axis=0)).sum() + np.abs(np.diff(image, axis=1)).sum()


def _plain_J(weights, image):
    """J of ``image`` (H, W, 3) against CONTENT and STYLE_A in a graph of its own."""
    check = TransferGraph(weights, Settings(), CPU)
    mean = weights.mean_pixel
    pre = lambda im: (im.astype(np.float32) - mean)[None]  # noqa: E731
    check.set_targets(check.content_features(pre(CONTENT)), check.style_grams(pre(STYLE_A)))
    J = check.evaluate(pre(image)).J
    check.close()
    return J


def test_result_has_the_costs_of_the_written_image(weights):
    progress, result = _result(_transfer(weights))
    assert [p.iteration for p in progress] == list(range(1, 9))
    assert result.image.shape == (24, 32, 3) and result.image.dtype == np.uint8
    assert result.iterations == 8 and result.seconds > 0 and result.setup_seconds > 0
    assert _plain_J(weights, result.image) == pytest.approx(result.costs.J, rel=1e-5)


@pytest.mark.parametrize("scales", [1, 2])
def test_a_grey_keep_mask_blends_once_and_the_costs_are_the_written_images(weights, scales):
    """Grey keeps the content at the mask's weight once: the costs reported are those of
    the file written (the image used to be blended again, at the square of its level)."""
    keep = np.full(CONTENT.shape[:2], 0.5, np.float32)
    keep[:, :8] = 0.0
    stylizer = Stylizer(weights, Settings(iterations=6, scales=scales), CPU, keep_mask=True)
    result = _result(Transfer(stylizer, CONTENT, [STYLE_A], 3, keep=keep))[1]
    np.testing.assert_array_equal(result.image[:, :6], CONTENT[:, :6])
    assert _plain_J(weights, result.image) == pytest.approx(result.costs.J, rel=1e-5)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_finish_evaluates_each_distinct_candidate_once(weights, optimizer, monkeypatch):
    """At print size a forward pass takes minutes: the latest and the best iterate are
    scored once each (once in all when they round to the same 8-bit image), and the
    written image's costs are that score, not a third pass."""
    transfer = _transfer(weights, optimizer=optimizer)
    list(transfer.run())
    mean = weights.mean_pixel
    latest = postprocess(transfer.graph.current(), mean)
    best = postprocess(transfer.best.image, mean)
    expected = 1 if np.array_equal(latest, best) else 2
    graph, calls = transfer.graph, []
    evaluate = graph.evaluate
    monkeypatch.setattr(graph, "evaluate", lambda image: calls.append(image) or evaluate(image))
    result = transfer.finish()
    assert len(calls) == expected
    fresh = evaluate((result.image.astype(np.float32) - mean)[None])
    assert result.costs.J == pytest.approx(fresh.J, rel=1e-6)


@pytest.mark.parametrize(("bit_depth", "masked"), [(8, False), (16, True)])
def test_luminance_costs_are_those_of_the_written_images_luminance(
    weights, bit_depth, masked, monkeypatch
):
    """With luminance transfer the optimizer's iterate is coloured (RGB start noise, one
    gradient per channel), but J is that of the luminance of the image written: the
    candidate whose luminance scores lower is kept, each scored once (a mask's composite
    included, no pass more)."""
    keep = np.ones(CONTENT.shape[:2], np.float32)
    keep[:, :8] = 0.0
    settings = Settings(iterations=6, preserve_colors="luminance", bit_depth=bit_depth)
    stylizer = Stylizer(weights, settings, CPU, keep_mask=masked)
    transfer = Transfer(stylizer, CONTENT, [STYLE_A], 3, keep=keep if masked else None)
    list(transfer.run())
    candidates = [transfer.picture(c) for c in (transfer.graph.current(), transfer.best.image)]
    lums = [colors.gray_rgb(colors.luminance(c), c.dtype) for c in candidates]
    calls, evaluate = [], transfer.graph.evaluate
    monkeypatch.setattr(transfer.graph, "evaluate", lambda im: calls.append(im) or evaluate(im))
    result = transfer.finish()
    assert len(calls) == (1 if np.array_equal(*lums) else 2)
    check = TransferGraph(weights, Settings(), CPU)
    pre = lambda im: images.preprocess(im, weights.mean_pixel)  # noqa: E731
    gray_content = colors.gray_rgb(colors.luminance(CONTENT))
    style = colors.match_luminance(STYLE_A, CONTENT)
    check.set_targets(check.content_features(pre(gray_content)), check.style_grams(pre(style)))
    luminance = colors.gray_rgb(colors.luminance(result.image), result.image.dtype)
    written = check.evaluate(pre(luminance))
    assert result.costs.J == pytest.approx(written.J, rel=1e-5)
    assert written.J == pytest.approx(min(check.evaluate(pre(lum)).J for lum in lums), rel=1e-5)
    check.close()
    stylizer.close()


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_luminance_snapshots_with_a_mask_are_made_as_the_output_is(weights, bit_depth):
    """A snapshot keeps the content's pixels where the mask is black, as the output does
    (the gray content, rounded, does not give the content back once recoloured)."""
    keep = np.zeros(LARGER.shape[:2], np.float32)
    keep[:, 32:] = 1.0
    settings = Settings(iterations=4, preserve_colors="luminance", bit_depth=bit_depth)
    stylizer = Stylizer(weights, settings, CPU, keep_mask=True)
    transfer = Transfer(stylizer, LARGER, [STYLE_A], 2, keep=keep)
    kept = LARGER[:, :32].astype(np.uint16) * 257 if bit_depth == 16 else LARGER[:, :32]
    for progress in transfer.run():
        np.testing.assert_array_equal(transfer.image_of(progress)[:, :32], kept)
    candidates = [transfer.picture(c) for c in (transfer.graph.current(), transfer.best.image)]
    result = transfer.finish()
    assert any(np.array_equal(result.image, candidate) for candidate in candidates)
    stylizer.close()


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_a_luminance_run_from_the_content_file_is_the_run_from_the_content(weights, bit_depth):
    """--init PATH is transferred as luminance too: the content's own file as the start
    makes the same run as --init content."""
    content = CONTENT.astype(np.uint16) * 257 + 100 if bit_depth == 16 else CONTENT
    results = []
    for init, init_image in (("content", None), ("content.png", content)):
        settings = Settings(iterations=3, preserve_colors="luminance", init=init,
                            bit_depth=bit_depth)  # fmt: skip
        stylizer = Stylizer(weights, settings, CPU)
        results.append(_result(Transfer(stylizer, content, [STYLE_A], 1, init_image))[1])
        stylizer.close()
    np.testing.assert_array_equal(results[0].image, results[1].image)
    assert results[0].costs == results[1].costs


def test_final_image_is_the_lowest_cost_one(weights):
    # A huge learning rate makes Adam overshoot, so the last iterate is not the best.
    progress, result = _result(_transfer(weights, learning_rate=100.0, iterations=12))
    best = min(p.costs.J for p in progress)
    assert progress[-1].costs.J > best
    assert result.costs.J <= best * 1.01


def test_lbfgs_reaches_a_lower_cost_than_adam_in_the_same_evaluations(weights):
    _, adam = _result(_transfer(weights, iterations=20))
    _, lbfgs = _result(_transfer(weights, iterations=20, optimizer="lbfgs"))
    assert lbfgs.costs.J < adam.costs.J


def test_same_seed_same_image_other_seed_other_image(weights):
    a = _result(_transfer(weights, seed=5))[1].image
    b = _result(_transfer(weights, seed=5))[1].image
    c = _result(_transfer(weights, seed=6))[1].image
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_blend_weights_one_and_zero_equal_the_first_style_alone(weights):
    alone = _result(_transfer(weights, styles=[STYLE_A], seed=1))[1]
    blended = _result(_transfer(weights, styles=[STYLE_A, STYLE_B], seed=1, style_weights=(1, 0)))
    np.testing.assert_array_equal(alone.image, blended[1].image)
    other = _result(_transfer(weights, styles=[STYLE_A, STYLE_B], seed=1))[1]
    assert not np.array_equal(alone.image, other.image)


def test_style_scale_changes_the_style_targets(weights):
    plain = _result(_transfer(weights, seed=2))[1]
    scaled = _result(_transfer(weights, seed=2, style_scale=2.0))[1]
    assert not np.array_equal(plain.image, scaled.image)


def test_larger_tv_weight_gives_a_smoother_image(weights):
    kwargs = {"iterations": 30, "seed": 3, "init": "noise", "noise_ratio": 1.0}
    rough = _result(_transfer(weights, tv_weight=0.0, **kwargs))[1]
    smooth = _result(_transfer(weights, tv_weight=1e4, **kwargs))[1]
    assert _total_variation(smooth.image) < 0.8 * _total_variation(rough.image)


@pytest.mark.parametrize("init", ["content", "style", "path"])
def test_init_images_start_from_their_base(weights, init):
    init_image = _image(9) if init == "path" else None
    setting = "/some/start.png" if init == "path" else init
    transfer = _transfer(weights, init=setting, init_image=init_image, iterations=1)
    first = next(iter(transfer.run()))
    expected = {"content": CONTENT, "style": STYLE_A, "path": init_image}[init]
    np.testing.assert_array_equal(transfer.image_of(first), expected)  # noise ratio 0


def test_a_grey_keep_mask_blends_the_start_image_once(weights):
    """The first image of a run from the style under a level-0.25 mask: 0.25 of the style,
    0.75 of the content (blending the start too gave the style 0.25^2)."""
    keep = np.full(CONTENT.shape[:2], 0.25, np.float32)
    stylizer = Stylizer(weights, Settings(iterations=1, init="style"), CPU, keep_mask=True)
    transfer = Transfer(stylizer, CONTENT, [STYLE_A], 0, keep=keep)
    first = next(iter(transfer.run()))
    expected = 0.25 * STYLE_A.astype(float) + 0.75 * CONTENT
    assert np.abs(transfer.image_of(first) - expected).max() <= 0.5 + 1e-6


def test_noise_init_is_the_classic_blend(weights):
    transfer = _transfer(weights, iterations=1, seed=4)
    first = next(iter(transfer.run()))
    start = transfer.image_of(first).astype(float)
    # The blend happens after mean subtraction, as in the notebook: 0.4 content + 0.6 mean.
    noise = (start - 0.4 * CONTENT - 0.6 * weights.mean_pixel) / 0.6
    assert np.abs(noise).max() <= 20 + 1.5  # uniform(-20, 20), plus 8-bit rounding
    assert np.abs(noise).mean() == pytest.approx(10, abs=1.0)


def test_luminance_transfer_keeps_the_content_chroma(weights):
    result = _result(_transfer(weights, iterations=15, preserve_colors="luminance"))[1]
    out, content = colors.rgb_to_ycbcr(result.image), colors.rgb_to_ycbcr(CONTENT)
    unclipped = (result.image > 5).all(axis=-1) & (result.image < 250).all(axis=-1)
    chroma_error = np.abs(out[..., 1:] - content[..., 1:])[unclipped]
    assert chroma_error.mean() < 1.0
    assert np.abs(out[..., 0] - content[..., 0]).mean() > 2  # the luminance did change


def test_histogram_preservation_recolours_the_style(weights):
    transfer = _transfer(weights, preserve_colors="histogram")
    recoloured = transfer.styles[0].reshape(-1, 3).astype(float)
    np.testing.assert_allclose(recoloured.mean(axis=0), CONTENT.reshape(-1, 3).mean(axis=0),
                               atol=3)  # fmt: skip


def test_scales_run_coarse_to_fine(weights):
    big = np.tile(CONTENT, (2, 2, 1))
    stylizer = Stylizer(weights, Settings(iterations=10, scales=2), CPU)
    transfer = Transfer(stylizer, big, [STYLE_A], 0)
    progress = list(transfer.run())
    assert [p.scale for p in progress] == [1, 1] + [2] * 8
    assert progress[0].image.shape == (1, 24, 32, 3)
    assert progress[-1].image.shape == (1, 48, 64, 3)
    assert transfer.finish().image.shape == (48, 64, 3)


def test_a_budget_smaller_than_the_scales_skips_the_coarse_ones(weights):
    big = np.tile(CONTENT, (2, 2, 1))
    transfer = Transfer(Stylizer(weights, Settings(iterations=1, scales=2), CPU), big, [STYLE_A], 0)
    assert [p.scale for p in transfer.run()] == [1]
    assert transfer.finish().image.shape == (48, 64, 3)


def test_an_explicit_plan_runs_its_own_sizes_and_iterations(weights):
    big = np.tile(CONTENT, (2, 2, 1))
    stylizer = Stylizer(weights, Settings(iterations=10, scales=1), CPU)
    plan = [((16, 12), 3), ((32, 24), 0), ((64, 48), 2)]  # a stage of 0 is left out
    transfer = Transfer(stylizer, big, [STYLE_A], 0, plan=plan)
    assert transfer.stages == ((3, 192), (2, 3072))  # (iterations, pixels of one)
    progress = list(transfer.run())
    assert [p.scale for p in progress] == [1, 1, 1, 2, 2]
    assert progress[0].image.shape == (1, 12, 16, 3)
    assert transfer.finish().image.shape == (48, 64, 3)


def test_a_big_output_runs_the_automatic_schedule_by_default(weights):
    big = np.tile(CONTENT, (32, 32, 1))[:768]  # 1024x768: two scales, 2/3 at half size
    transfer = Transfer(Stylizer(weights, Settings(iterations=6), CPU), big, [STYLE_A], 0)
    assert transfer.plan == [((512, 384), 4), ((1024, 768), 2)]
    progress = list(transfer.run())
    assert [p.scale for p in progress] == [1, 1, 1, 1, 2, 2]
    assert progress[0].image.shape == (1, 384, 512, 3)
    assert transfer.finish().image.shape == (768, 1024, 3)


def test_a_signal_while_the_next_scale_is_prepared_keeps_the_previous_scales_result(
    weights, monkeypatch
):
    big = np.tile(CONTENT, (2, 2, 1))
    settings = Settings(iterations=10, scales=2)
    real_grams = TransferGraph.style_grams

    def style_grams(self, style):
        if style.shape[2] == 64:  # the graph holds the 64x48 content, the 32x24 targets
            raise KeyboardInterrupt
        return real_grams(self, style)

    monkeypatch.setattr(TransferGraph, "style_grams", style_grams)
    transfer = Transfer(Stylizer(weights, settings, CPU, max_graphs=1), big, [STYLE_A], 0)
    with pytest.raises(KeyboardInterrupt):
        list(transfer.run())
    result = transfer.finish()
    monkeypatch.undo()
    first = transfer.plan[0]
    alone = Transfer(Stylizer(weights, settings, CPU), images.resize(big, first[0]), [STYLE_A],
                     0, plan=[first])  # fmt: skip
    expected = _result(alone)[1]
    assert result.image.shape == (24, 32, 3) and result.iterations == first[1]
    np.testing.assert_array_equal(result.image, expected.image)
    assert result.costs == expected.costs


def test_a_full_size_that_cannot_fit_is_refused_before_the_coarse_scales(weights, monkeypatch):
    big = np.tile(CONTENT, (2, 2, 1))
    stylizer = Stylizer(weights, Settings(iterations=10, scales=2), CPU)
    planned, real = [], stylizer.plan

    def plan(width, height):
        planned.append((width, height))
        if (width, height) == (64, 48):
            raise ResourceError("64x48 needs more memory than there is")
        return real(width, height)

    monkeypatch.setattr(stylizer, "plan", plan)
    transfer = Transfer(stylizer, big, [STYLE_A], 0)
    with pytest.raises(ResourceError, match="64x48"):
        next(transfer.run())
    assert planned == [(64, 48)] and not transfer.has_image


def test_a_huge_budget_keeps_no_state_per_iteration(weights):
    stylizer = Stylizer(weights, Settings(iterations=10**8), CPU)
    assert Transfer(stylizer, CONTENT, [STYLE_A], 0).stages == ((10**8, 32 * 24),)


def test_a_plan_must_end_at_the_content_size(weights):
    stylizer = Stylizer(weights, Settings(iterations=10), CPU)
    with pytest.raises(ValueError, match="32x24"):
        Transfer(stylizer, CONTENT, [STYLE_A], 0, plan=[((16, 12), 3)])


def _mapped_weights(vgg_file, tmp_path, monkeypatch):
    """Weights read back from a fresh cache, as views of a memory map of the cache file."""
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(tmp_path))
    load_vgg19(vgg_file, "relu5_1")  # parses the file and fills the cache
    weights = load_vgg19(vgg_file, "relu5_1")
    assert memory.mapped_file(weights.layers[0].kernel) is not None
    return weights


def test_weights_read_from_the_cache_give_the_same_results_after_their_release(
    vgg_file, tmp_path, monkeypatch
):
    mapped = _mapped_weights(vgg_file, tmp_path, monkeypatch)
    monkeypatch.setenv("STYLIZE_CACHE", "off")
    weights = load_vgg19(vgg_file, "relu5_1")  # parsed from the .mat: ordinary memory
    assert memory.mapped_file(weights.layers[0].kernel) is None
    # The second Stylizer's graph reads the weights again after the first one released them.
    ordinary, mapped_first, released = (
        _result(_transfer(w, iterations=4, scales=2))[1] for w in (weights, mapped, mapped)
    )
    for result in (mapped_first, released):
        np.testing.assert_array_equal(ordinary.image, result.image)
        assert ordinary.costs == result.costs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_a_built_graph_leaves_no_weights_page_resident(
    vgg_file, tmp_path, monkeypatch, resident_kb
):
    mapped = _mapped_weights(vgg_file, tmp_path, monkeypatch)
    (cache_file,) = tmp_path.iterdir()
    assert sum(float(layer.kernel.sum()) for layer in mapped.layers if layer.kernel is not None)
    assert resident_kb(cache_file) > 0
    Stylizer(mapped, Settings(iterations=2), CPU).graph(32, 24)
    assert resident_kb(cache_file) == 0


def test_content_targets_are_cached_by_key(weights, monkeypatch):
    stylizer = Stylizer(weights, Settings(iterations=2), CPU)
    calls = []
    graph = stylizer.graph(32, 24)
    original = graph.content_features
    monkeypatch.setattr(graph, "content_features", lambda c: calls.append(1) or original(c))
    for style in (STYLE_A, STYLE_B):
        _result(Transfer(stylizer, CONTENT, [style], 0, content_key="abc"))
    assert len(calls) == 1


def test_each_scale_runs_adam_with_its_own_step(weights, monkeypatch):
    real_adam, given = TransferGraph.adam, []

    def recording(self, start, iterations, learning_rate=None):
        given.append((start.shape[2], learning_rate))
        return real_adam(self, start, iterations, learning_rate)

    monkeypatch.setattr(TransferGraph, "adam", recording)
    stylizer = Stylizer(weights, Settings(), CPU)
    plan = [((16, 12), 1), ((32, 24), 1)]
    list(Transfer(stylizer, CONTENT, [STYLE_A], 0, plan=plan, rates=[2.0, 0.25]).run())
    assert given == [(16, 2.0), (32, 0.25)]
    with pytest.raises(ValueError, match="1 learning rates for a plan of 2 scales"):
        Transfer(stylizer, CONTENT, [STYLE_A], 0, plan=plan, rates=[1.0])
    transfer = Transfer(stylizer, CONTENT, [STYLE_A], 0, plan=plan)
    assert transfer.rates == [2.0, 2.0]  # schedule.scale_learning_rates: small sizes keep it


def test_divergence_keeps_the_last_finite_image(weights, monkeypatch):
    real_adam = TransferGraph.adam

    def diverging(self, start, iterations, learning_rate=None):
        for index, step in enumerate(real_adam(self, start, iterations, learning_rate)):
            if index == 4:
                step = dataclasses.replace(step, costs=Costs(float("nan"), 0.0, float("nan")))
            yield step

    monkeypatch.setattr(TransferGraph, "adam", diverging)
    transfer = _transfer(weights, iterations=10)
    seen = []
    with pytest.raises(DivergedError, match="iteration 5"):
        for progress in transfer.run():
            seen.append(progress)
    assert len(seen) == 4
    result = transfer.finish()
    assert result.iterations == 4 and np.isfinite(result.costs.J)


def test_a_cost_not_finite_from_the_start_says_no_image_exists(weights):
    transfer = _transfer(weights, iterations=3, alpha=3e38)  # alpha * J_content overflows
    with pytest.raises(DivergedError, match="from the first iteration.*nothing written"):
        list(transfer.run())
    assert not transfer.has_image


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, "the cost weights are the defaults, so check the weights file"),
        ({"alpha": 3e38}, "lower --alpha, or check the weights file"),
        ({"content_ratio": 3e36, "beta": 100.0},
         "lower --content-ratio, --beta, or check the weights file"),
        ({"content_layers": (("conv4_2", 1e30),), "tv_weight": 1.0},
         "lower --tv-weight, --content-layers, or check the weights file"),
    ],
)  # fmt: skip
def test_a_cost_not_finite_from_the_start_names_the_weights_that_apply(
    weights, monkeypatch, settings, expected
):
    real_adam = TransferGraph.adam

    def overflowing(self, start, iterations, learning_rate=None):  # as huge kernels would
        for step in real_adam(self, start, iterations, learning_rate):
            yield dataclasses.replace(step, costs=Costs(float("inf"), float("inf"), 0.0))

    monkeypatch.setattr(TransferGraph, "adam", overflowing)
    with pytest.raises(DivergedError, match="overflow float32: " + expected):
        list(_transfer(weights, iterations=2, **settings).run())


def test_a_style_scaled_past_the_memory_is_refused_before_it_is_resized(weights, monkeypatch):
    stylizer = Stylizer(weights, Settings(iterations=1, max_size=64, style_scale=100.0), CPU)
    stylizer.graph(32, 24)  # the output's size fits
    monkeypatch.setattr("stylize.memory.available_memory", lambda: 50 * 2**20)
    resized = []
    real_resize = images.resize
    monkeypatch.setattr(images, "resize", lambda im, size: resized.append(size) or
                        real_resize(im, size))  # fmt: skip
    transfer = Transfer(stylizer, CONTENT, [STYLE_A], 0)
    with pytest.raises(ResourceError, match="--style-scale 100 scales the style image to"
                       " 3200x2400 px for its Grams, .*lower --style-scale"):  # fmt: skip
        list(transfer.run())
    assert (3200, 2400) not in resized


def test_a_style_scale_that_fits_resizes_each_cached_style_once(weights, monkeypatch):
    stylizer = Stylizer(weights, Settings(iterations=1, style_scale=2.0), CPU)
    resized = []
    real_resize = images.resize
    monkeypatch.setattr(images, "resize", lambda im, size: resized.append(size) or
                        real_resize(im, size))  # fmt: skip
    for seed in (0, 1):
        _result(Transfer(stylizer, CONTENT, [STYLE_A], seed, style_keys=["a"]))
    assert resized.count((64, 48)) == 1


def test_sizes_that_cannot_fit_are_refused_up_front(weights, monkeypatch):
    monkeypatch.setattr("stylize.memory.available_memory", lambda: 10 * 2**20)
    stylizer = Stylizer(weights, Settings(), CPU)
    with pytest.raises(ResourceError, match="--max-size"):
        stylizer.graph(4000, 3000)


def test_style_targets_are_cached_by_key_unless_colours_are_preserved(weights, monkeypatch):
    for colours, expected_calls in (("none", 1), ("histogram", 2)):
        stylizer = Stylizer(weights, Settings(iterations=1, preserve_colors=colours), CPU)
        graph = stylizer.graph(32, 24)
        calls = []

        def counted(style, original=graph.style_grams, calls=calls):
            calls.append(1)
            return original(style)

        monkeypatch.setattr(graph, "style_grams", counted)
        for seed in (0, 1):
            _result(Transfer(stylizer, CONTENT, [STYLE_A], seed, style_keys=["a"]))
        assert len(calls) == expected_calls, colours


# --- spatial control: a style per region, regions kept untouched ------------------------------


def _stripes(seed, vertical):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:40, 0:40]
    wave = ((x if vertical else y) // 3 % 2) * 200 + 25
    image = np.stack([wave, 255 - wave, np.full_like(wave, 128 if vertical else 30)], axis=-1)
    return np.clip(image + rng.normal(0, 10, image.shape), 0, 255).astype(np.uint8)


RED_VERTICAL, GREEN_HORIZONTAL = _stripes(5, True), _stripes(6, False)
LEFT = np.zeros((24, 32), np.float32)
LEFT[:, :16] = 1.0


def _gram_distance(weights, image, style, settings):
    from stylize.images import preprocess
    from stylize.optimize import style_grams_at_size

    mine = style_grams_at_size(weights, preprocess(image, weights.mean_pixel), settings, CPU)
    theirs = style_grams_at_size(weights, preprocess(style, weights.mean_pixel), settings, CPU)
    return sum(float(np.sum((mine[k] - theirs[k]) ** 2)) for k in mine)


def test_a_region_of_ones_is_the_classic_cost(weights):
    settings = Settings(iterations=2)
    classic = TransferGraph(weights, settings, CPU)
    guided = TransferGraph(weights, settings, CPU, regions=1)
    try:
        from stylize.images import preprocess
        from stylize.masks import layer_masks

        content, style = (
            preprocess(CONTENT, weights.mean_pixel),
            preprocess(STYLE_A, weights.mean_pixel),
        )
        grams = classic.style_grams(style)
        classic.set_targets(classic.content_features(content), grams)
        names = [name for name, _ in settings.style_layers]
        ones = layer_masks(np.ones((24, 32), np.float32), weights, names)
        guided.set_targets(guided.content_features(content), {}, [(grams, ones)])
        image = preprocess(STYLE_B, weights.mean_pixel)[:, :24, :32]
        assert guided.evaluate(image).J == pytest.approx(classic.evaluate(image).J, rel=1e-5)
    finally:
        classic.close()
        guided.close()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_each_half_takes_its_own_style(weights, optimizer):
    settings = Settings(iterations=60, optimizer=optimizer, learning_rate=4.0)
    styles = [RED_VERTICAL, GREEN_HORIZONTAL]
    masked = Transfer(Stylizer(weights, settings, CPU, regions=2), CONTENT, styles, 0,
                      style_masks=[LEFT, 1 - LEFT])  # fmt: skip
    blended = Transfer(Stylizer(weights, settings, CPU), CONTENT, styles, 0)
    image = _result(masked)[1].image
    left, right = image[:, :16], image[:, 16:]
    both = _result(blended)[1].image
    small = Settings()
    own = _gram_distance(weights, left, RED_VERTICAL, small)
    assert own < _gram_distance(weights, left, GREEN_HORIZONTAL, small)
    assert own < _gram_distance(weights, both[:, :16], RED_VERTICAL, small)
    own = _gram_distance(weights, right, GREEN_HORIZONTAL, small)
    assert own < _gram_distance(weights, right, RED_VERTICAL, small)
    assert own < _gram_distance(weights, both[:, 16:], GREEN_HORIZONTAL, small)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_black_pixels_of_the_keep_mask_stay_the_content_and_grey_blends(weights, optimizer):
    keep = np.ones((24, 32), np.float32)
    keep[:, :10] = 0.0
    keep[:, 10:20] = 0.5
    settings = Settings(iterations=10, optimizer=optimizer, scales=2)
    stylizer = Stylizer(weights, settings, CPU, keep_mask=True)
    result = _result(Transfer(stylizer, CONTENT, [STYLE_A], 3, keep=keep))[1].image
    free = _result(Transfer(Stylizer(weights, settings, CPU), CONTENT, [STYLE_A], 3))[1].image
    np.testing.assert_array_equal(result[:, :9], CONTENT[:, :9])  # away from the edge
    grey = np.abs(result[:, 11:19].astype(int) - CONTENT[:, 11:19]).mean()
    white = np.abs(free[:, 21:].astype(int) - CONTENT[:, 21:]).mean()
    assert 0 < grey < white


def test_a_video_frame_starts_from_its_start_image_at_full_size_only(weights):
    stylizer = Stylizer(weights, Settings(iterations=8, scales=2), CPU, temporal_weight=10.0)
    start = _image(7)
    transfer = Transfer(stylizer, CONTENT, [STYLE_A], 0, start=start, iterations=3)
    assert transfer.sizes == [(32, 24)] and transfer.total == 3
    first = next(transfer.run())
    np.testing.assert_allclose(transfer.picture(first.image), start)  # no noise was added
    assert first.costs.J_temporal == 0.0  # no previous frame given: no temporal term
    transfer.finish()


def test_the_temporal_target_pulls_the_frame_towards_the_warped_previous_one(weights):
    settings = Settings(iterations=12, learning_rate=4.0)
    previous = _image(8)
    everywhere = np.ones(CONTENT.shape[:2], np.float32)
    results = {}
    for weight in (0.0, 1e5):
        stylizer = Stylizer(weights, settings, CPU, temporal_weight=weight)
        transfer = Transfer(stylizer, CONTENT, [STYLE_A], 0, start=CONTENT,
                            temporal=(previous, everywhere), iterations=12)  # fmt: skip
        progress, result = _result(transfer)
        results[weight] = np.abs(result.image.astype(float) - previous).mean()
        assert (progress[0].costs.J_temporal > 0) == (weight > 0)
        stylizer.close()
    assert results[1e5] < 0.8 * results[0.0]


def test_luminance_video_frames_are_held_to_the_previous_frames_luminance(weights):
    stylizer = Stylizer(weights, Settings(preserve_colors="luminance"), CPU, temporal_weight=1.0)
    previous = _image(9)
    mask = np.ones(CONTENT.shape[:2], np.float32)
    transfer = Transfer(stylizer, CONTENT, [STYLE_A], 0, start=previous,
                        temporal=(previous, mask), iterations=2)  # fmt: skip
    gray = colors.gray_rgb(colors.luminance(previous))
    np.testing.assert_array_equal(transfer.temporal[0], gray)
    np.testing.assert_array_equal(transfer.start_image, gray)
    first = next(transfer.run())
    assert first.costs.J_temporal == pytest.approx(0.0, abs=1e-3)  # starts on its target
    transfer.finish()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_a_16bit_result_is_the_same_run_rounded_to_257ths_of_a_level(weights, optimizer):
    """The bit depth changes only the rounding of what is written: the same seeded run
    optimizes the same iterates, and the 16-bit image is its chosen iterate to within half
    a 16-bit level, with the costs of exactly that image."""
    eight, sixteen = (_transfer(weights, seed=4, optimizer=optimizer, bit_depth=depth)
                      for depth in (8, 16))  # fmt: skip
    list(eight.run()), list(sixteen.run())
    np.testing.assert_array_equal(eight.graph.current(), sixteen.graph.current())
    mean = weights.mean_pixel
    candidates = [sixteen.graph.current(), sixteen.best.image]
    result = sixteen.finish()
    assert result.image.dtype == np.uint16
    levels = [np.clip(c[0].astype(np.float64) + mean, 0, 255) for c in candidates]
    assert min(np.abs(result.image / 257 - lv).max() for lv in levels) <= 0.5 / 257 + 1e-6
    assert np.count_nonzero(result.image % 257) > result.image.size // 2
    fresh = sixteen.graph.evaluate(images.preprocess(result.image, mean))
    assert result.costs.J == pytest.approx(fresh.J, rel=1e-6)
    assert np.abs(result.image / 257 - eight.finish().image).max() <= 1.0


def test_16bit_luminance_transfer_with_a_mask_over_two_scales(weights):
    """Every step after the optimizer keeps 16 bits: the coarse scale's image resized into
    the next, the content's chroma put back, the kept region composited."""
    keep = np.zeros(LARGER.shape[:2], np.float32)
    keep[:, 32:] = 1.0
    stylizer = Stylizer(weights, Settings(iterations=8, scales=2, preserve_colors="luminance",
                                          bit_depth=16), CPU, keep_mask=True)  # fmt: skip
    transfer = Transfer(stylizer, LARGER, [STYLE_A], 2, keep=keep)
    progress = list(transfer.run())
    assert {p.scale for p in progress} == {1, 2}
    result = transfer.finish()
    assert result.image.dtype == np.uint16 and result.image.shape == LARGER.shape
    np.testing.assert_array_equal(result.image[:, :32], LARGER[:, :32].astype(np.uint16) * 257)
    changed = result.image[:, 32:]
    assert np.count_nonzero(changed % 257) > changed.size // 2
    out = colors.rgb_to_ycbcr(changed / 257)
    chroma_error = np.abs(out[..., 1:] - colors.rgb_to_ycbcr(LARGER[:, 32:])[..., 1:])
    assert np.median(chroma_error) < 0.05  # the content's colour, not rounded to 8 bits


def test_a_16bit_content_is_kept_and_recoloured_from_at_16_bits(weights):
    """A content read at 16 bits (--bit-depth 16 with a 16-bit file) is what the kept region
    and the restored colour come from, to the last bit; an 8-bit run rounds it."""
    rng = np.random.default_rng(3)
    deep = (LARGER.astype(np.int64) * 257 + rng.integers(-128, 129, LARGER.shape)).clip(0, 65535)
    deep = deep.astype(np.uint16)
    keep = np.zeros(LARGER.shape[:2], np.float32)
    keep[:, 32:] = 1.0
    settings = {"iterations": 4, "preserve_colors": "luminance"}
    stylizer = Stylizer(weights, Settings(**settings, bit_depth=16), CPU, keep_mask=True)
    transfer = Transfer(stylizer, deep, [STYLE_A], 2, keep=keep)
    list(transfer.run())
    result = transfer.finish().image
    np.testing.assert_array_equal(result[:, :32], deep[:, :32])
    out = colors.rgb_to_ycbcr(result[:, 32:])
    chroma_error = np.abs(out[..., 1:] - colors.rgb_to_ycbcr(deep[:, 32:])[..., 1:])
    assert np.median(chroma_error) < 0.01  # from the 16-bit content, not its rounding
    stylizer = Stylizer(weights, Settings(**settings), CPU, keep_mask=True)
    transfer = Transfer(stylizer, deep, [STYLE_A], 2, keep=keep)
    list(transfer.run())
    eight = transfer.finish().image
    assert eight.dtype == np.uint8
    np.testing.assert_array_equal(eight[:, :32], np.rint(deep[:, :32] / 257))


def test_a_16bit_init_image_is_the_start_to_the_last_bit(weights):
    rng = np.random.default_rng(5)
    deep = CONTENT.astype(np.int64) * 257 + rng.integers(-128, 129, CONTENT.shape)
    deep = deep.clip(0, 65535).astype(np.uint16)
    settings = Settings(iterations=1, scales=1, bit_depth=16, init="print.png")  # no noise
    transfer = Transfer(Stylizer(weights, settings, CPU), CONTENT, [STYLE_A], 0, init_image=deep)
    next(transfer.run())
    np.testing.assert_array_equal(transfer.start, images.preprocess(deep, weights.mean_pixel))
    transfer.finish()


def test_a_16bit_init_image_of_a_luminance_run_starts_at_its_16bit_luminance(weights):
    rng = np.random.default_rng(6)
    deep = CONTENT.astype(np.int64) * 257 + rng.integers(-128, 129, CONTENT.shape)
    deep = deep.clip(0, 65535).astype(np.uint16)
    settings = Settings(iterations=1, bit_depth=16, init="print.png", preserve_colors="luminance")
    transfer = Transfer(Stylizer(weights, settings, CPU), CONTENT, [STYLE_A], 0, init_image=deep)
    next(transfer.run())
    start = transfer.start[0].astype(np.float64) + weights.mean_pixel  # 8-bit levels
    luminance = deep.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 257
    assert np.abs(start - luminance[..., None]).max() <= 0.5 / 257 + 1e-4  # not 8-bit steps
    transfer.finish()
