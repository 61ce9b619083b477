import numpy as np
import pytest

from stylize.config import Settings
from stylize.device import CPU
from stylize.optimize import (
    Transfer,
    TransferGraph,
    noise_image,
    postprocess,
    preprocess,
)
from stylize.weights import load_vgg19

MEAN = np.array([123.68, 116.779, 103.939], np.float32)


def _images(height=24, width=32):
    rng = np.random.default_rng(0)
    content = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    style = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return content, style


@pytest.fixture(scope="module")
def weights(vgg_file):
    return load_vgg19(vgg_file, "conv5_1")


def test_pre_and_postprocess_round_trip():
    image = np.random.default_rng(1).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    pre = preprocess(image, MEAN)
    assert pre.shape == (1, 5, 4, 3) and pre.dtype == np.float32
    np.testing.assert_allclose(pre[0].mean(axis=(0, 1)) + MEAN, image.mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_array_equal(postprocess(pre, MEAN), image)


def test_postprocess_clips_to_8_bits():
    out = postprocess(np.full((1, 2, 2, 3), 500.0, np.float32), MEAN)
    assert out.dtype == np.uint8 and out.max() == 255
    out = postprocess(np.full((1, 2, 2, 3), -500.0, np.float32), MEAN)
    assert out.min() == 0


def test_noise_image_blends_uniform_noise_with_the_content():
    content = np.full((1, 50, 60, 3), 10.0, np.float32)
    start = noise_image(content, 0.6, np.random.default_rng(2))
    noise = (start - 0.4 * content) / 0.6
    assert noise.min() >= -20 and noise.max() <= 20
    assert noise.std() == pytest.approx(40 / np.sqrt(12), rel=0.05)
    np.testing.assert_allclose(noise_image(content, 0.0, np.random.default_rng(2)), content)


def test_targets_make_the_content_cost_zero_for_the_content_image(weights):
    content, style = _images()
    graph = TransferGraph(weights, 24, 32, Settings(), CPU)
    graph.set_targets(preprocess(content, MEAN), preprocess(style, MEAN))
    graph.set_image(preprocess(content, MEAN))
    at_content = graph.evaluate()
    assert at_content.J_content == 0.0 and at_content.J_style > 0
    graph.set_image(preprocess(style, MEAN))
    at_style = graph.evaluate()
    assert at_style.J_style == pytest.approx(0.0, abs=1e-6 * at_content.J_style)
    assert at_style.J == pytest.approx(10 * at_style.J_content + 40 * at_style.J_style, rel=1e-5)
    graph.close()


def test_graph_is_finalized_so_the_loop_cannot_add_ops(weights):
    graph = TransferGraph(weights, 24, 32, Settings(), CPU)
    assert graph.graph.finalized
    graph.close()


def test_adam_lowers_the_cost_and_keeps_pixels_in_range(weights):
    content, style = _images()
    settings = Settings(iterations=30, seed=0)
    transfer = Transfer(content, style, weights, settings, CPU, seed=0)
    records = list(transfer.run())
    assert [r.iteration for r in records] == list(range(1, 31))
    assert records[-1].costs.J < 0.5 * records[0].costs.J
    assert all(b.elapsed >= a.elapsed for a, b in zip(records, records[1:], strict=False))
    generated = transfer.graph.current()[0] + MEAN
    assert generated.min() >= -1e-3 and generated.max() <= 255 + 1e-3
    result = transfer.finish()
    assert result.image.shape == (24, 32, 3) and result.image.dtype == np.uint8
    assert result.iterations == 30 and result.seconds > 0 and result.setup_seconds > 0


def test_final_costs_are_those_of_the_8_bit_image(weights):
    content, style = _images()
    transfer = Transfer(content, style, weights, Settings(iterations=5), CPU, seed=3)
    for _ in transfer.run():
        pass
    result = transfer.finish()
    check = TransferGraph(weights, 24, 32, Settings(), CPU)
    check.set_targets(preprocess(content, MEAN), preprocess(style, MEAN))
    check.set_image(preprocess(result.image, MEAN))
    assert check.evaluate().J == pytest.approx(result.costs.J, rel=1e-5)
    check.close()


def test_same_seed_same_image(weights):
    content, style = _images()

    def once(seed):
        transfer = Transfer(content, style, weights, Settings(iterations=3), CPU, seed=seed)
        list(transfer.run())
        return transfer.finish().image

    np.testing.assert_array_equal(once(5), once(5))
    assert not np.array_equal(once(5), once(6))
