"""Tiled J and gradient against the one-pass graph: the same numbers up to float rounding,
for every term of J, both optimizers and every per-job target, with tiny random weights,
shallow layers (a 12-pixel halo) and 32-48 pixel cores."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stylize import masks
from stylize.config import Settings
from stylize.device import CPU
from stylize.optimize import TransferGraph
from stylize.tile_net import TileNet
from stylize.tiled import TiledGraph, tiled_content_features, tiled_style_grams
from stylize.tiles import Reach
from stylize.weights import load_vgg19

HEIGHT, WIDTH = 75, 101  # not multiples of the stride: partial positions at the far edges
SHALLOW = Settings(
    content_layers=(("conv2_2", 1.0),),
    style_layers=(("conv1_1", 0.3), ("conv2_1", 0.3), ("conv3_1", 0.4)),
)


@pytest.fixture(scope="module")
def weights(vgg_file):
    return load_vgg19(vgg_file, "relu5_1")


def _random(seed, shape=(1, HEIGHT, WIDTH, 3)):
    return np.random.default_rng(seed).uniform(-110, 130, shape).astype(np.float32)


class Pair:
    """A one-pass graph and a tiled graph of one size and settings, with the same targets."""

    def __init__(self, weights, settings, core=32, regions=0, keep=False, temporal=0.0):
        self.net = TileNet(weights, settings, CPU, regions)
        self.whole = TransferGraph(weights, settings, CPU, regions, keep, temporal)
        self.tiled = TiledGraph(self.net, weights.mean_pixel, HEIGHT, WIDTH, settings, core,
                                keep, temporal)  # fmt: skip

    def set_targets(self, *args, **kwargs):
        self.whole.set_targets(*args, **kwargs)
        self.tiled.set_targets(*args, **kwargs)

    def close(self):
        self.whole.close()
        self.net.close()


@pytest.fixture
def pair(weights):
    pair = Pair(weights, SHALLOW)
    content = pair.whole.content_features(_random(1))
    pair.set_targets(content, pair.whole.style_grams(_random(2)))
    yield pair
    pair.close()


def _relative(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b))


def _assert_same(pair, image, tolerance=1e-5):
    whole, whole_gradient = pair.whole.value_and_gradient(image)
    tiled, tiled_gradient = pair.tiled.value_and_gradient(image)
    for name in ("J", "J_content", "J_style", "J_temporal"):
        a, b = getattr(tiled, name), getattr(whole, name)
        assert a == pytest.approx(b, rel=tolerance, abs=1e-6), name
    assert _relative(tiled_gradient, whole_gradient) < tolerance
    assert pair.tiled.evaluate(image).J == pytest.approx(whole.J, rel=tolerance)


def test_the_grid_has_many_tiles(pair):
    assert pair.net.reach == Reach(stride=4, halo=12, receptive_field=24)
    assert len(pair.tiled.tiles) == 12  # 3 rows x 4 columns of 32-pixel cores


def test_content_targets_and_style_grams_are_the_whole_images(pair):
    image = _random(3)
    whole = pair.whole.content_features(image)
    tiled = tiled_content_features(pair.net, image, 32)
    assert whole.keys() == tiled.keys()
    for name in whole:
        np.testing.assert_allclose(tiled[name], whole[name], rtol=1e-5, atol=1e-4)
    grams, tiled_grams = pair.whole.style_grams(image), tiled_style_grams(pair.net, image, 40)
    for name in grams:
        assert _relative(tiled_grams[name], grams[name]) < 1e-5


def test_the_deepest_layer_needs_all_of_the_halo(weights):
    pair = Pair(weights, SHALLOW.with_changes(content_layers=(("conv3_1", 1.0),)))
    image = _random(4)
    whole = pair.whole.content_features(image)["conv3_1"]
    exact = tiled_content_features(pair.net, image, 32)["conv3_1"]
    np.testing.assert_allclose(exact, whole, rtol=1e-5, atol=1e-4)
    reach = pair.net.reach
    pair.net.reach = dataclasses.replace(reach, halo=reach.halo - reach.stride)
    short = tiled_content_features(pair.net, image, 32)["conv3_1"]
    assert np.abs(short - whole).max() > 1e-2 * np.abs(whole).max()
    pair.close()


def test_j_and_its_gradient_are_the_one_pass_values(pair):
    _assert_same(pair, _random(5))


@pytest.mark.parametrize("core", [16, 36, 48, 200])
def test_any_core_size_gives_the_same_values(weights, core):
    pair = Pair(weights, SHALLOW, core=core)
    pair.set_targets(pair.whole.content_features(_random(1)), pair.whole.style_grams(_random(2)))
    _assert_same(pair, _random(6))
    pair.close()


@pytest.mark.parametrize(
    "changes",
    [
        {"tv_weight": 3.0},
        {"pooling": "max"},
        {"content_layers": (("conv1_2", 0.5), ("conv3_1", 0.5)), "alpha": 100.0},
        {"style_layers": (("conv1_1", 1.0),), "beta": 1e4},
        {"content_layers": (("conv1_2", 0.5), ("conv3_1", 0.5)), "content_ratio": 0.05},
    ],
    ids=["tv", "max-pooling", "two-content-layers", "one-style-layer", "content-ratio"],
)
def test_every_term_of_j_splits_over_tiles(weights, changes):
    settings = SHALLOW.with_changes(**changes)
    pair = Pair(weights, settings)
    pair.set_targets(pair.whole.content_features(_random(1)), pair.whole.style_grams(_random(2)))
    _assert_same(pair, _random(7))
    pair.close()


def test_regions_guided_grams_split_over_tiles(weights):
    pair = Pair(weights, SHALLOW.with_changes(style_weights=(0.7, 0.3)), regions=2)
    left = np.zeros((HEIGHT, WIDTH), np.float32)
    left[:, : WIDTH // 2] = 1.0
    left[10:30, 60:80] = 0.5
    names = [name for name, _ in SHALLOW.style_layers]
    regions = [
        (pair.whole.style_grams(_random(2 + k)), masks.layer_masks(mask, weights, names))
        for k, mask in enumerate((left, 1.0 - left))
    ]
    pair.set_targets(pair.whole.content_features(_random(1)), {}, regions)
    _assert_same(pair, _random(8))
    pair.close()


def test_the_keep_mask_and_the_temporal_term(weights):
    pair = Pair(weights, SHALLOW, keep=True, temporal=50.0)
    keep = np.ones((1, HEIGHT, WIDTH, 1), np.float32)
    keep[:, 20:50, 30:70] = 0.0
    consistency = np.random.default_rng(9).uniform(0, 1, (1, HEIGHT, WIDTH, 1)).astype(np.float32)
    pair.set_targets(pair.whole.content_features(_random(1)), pair.whole.style_grams(_random(2)),
                     keep=keep, temporal=(_random(10), consistency))  # fmt: skip
    _assert_same(pair, _random(11))
    _, gradient = pair.tiled.value_and_gradient(_random(11))
    assert not gradient[:, 20:50, 30:70].any() and gradient[:, :20].any()
    pair.close()


def test_adam_makes_the_same_images(pair):
    start = _random(12)
    whole = list(pair.whole.adam(start, 4))
    tiled = list(pair.tiled.adam(start, 4))
    for a, b in zip(whole, tiled, strict=True):
        assert b.costs.J == pytest.approx(a.costs.J, rel=1e-4)
        assert np.abs(b.image - a.image).max() < 0.05
    assert np.abs(pair.tiled.current() - pair.whole.current()).max() < 0.05
    assert np.all(pair.tiled.current() >= pair.tiled.low - 1e-4)


def test_adam_is_tensorflows_update(pair):
    """At t = 1, m = 0.1 g, v = 0.001 g^2 and the step size is lr sqrt(0.001) / 0.1, so
    each pixel moves by -lr g / (|g| + eps / sqrt(0.001)): epsilon is added to sqrt(v)
    after the bias correction of the step size, as TensorFlow 1 does it."""
    start = np.zeros((1, HEIGHT, WIDTH, 3), np.float32)
    _, gradient = pair.tiled.value_and_gradient(start)
    steps = pair.tiled.adam(start, 2)
    next(steps)
    moved = pair.tiled.current() - start
    step = -2.0 * gradient / (np.abs(gradient) + 1e-8 / np.sqrt(0.001))
    expected = np.clip(step, pair.tiled.low, pair.tiled.low + 255)
    np.testing.assert_allclose(moved, expected, atol=1e-5)


def test_adam_takes_a_step_given_per_run(pair):
    start = np.zeros((1, HEIGHT, WIDTH, 3), np.float32)
    steps = pair.tiled.adam(start, 2, learning_rate=0.25)
    next(steps)
    moved = np.abs(pair.tiled.current() - start)
    assert moved.max() == pytest.approx(0.25, abs=1e-4)  # lr |g| / (|g| + eps'), at most lr


def test_lbfgs_takes_the_same_path(pair):
    start = _random(13)
    whole = [step.costs.J for step in pair.whole.lbfgs(start, 6)]
    tiled = [step.costs.J for step in pair.tiled.lbfgs(start, 6)]
    assert tiled == pytest.approx(whole, rel=1e-4)
