"""Tile geometry: the halo derived from the layers, and tiles that partition every layer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stylize.layers import VGG19_LAYERS, layer_kind
from stylize.tiles import Reach, largest_window, layer_strides, network_reach, spans, tile_grid
from stylize.weights import Layer


def _vgg_layers(kernel: int = 3) -> list[Layer]:
    """VGG-19's layer sequence with k x k kernels (weights are not looked at)."""
    return [
        Layer(name, layer_kind(name), np.zeros((kernel, kernel, 1, 1), np.float32))
        if layer_kind(name) == "conv"
        else Layer(name, layer_kind(name))
        for name in VGG19_LAYERS
    ]


def test_vgg19_up_to_conv5_1_needs_an_80_pixel_halo_on_a_16_pixel_grid():
    reach = network_reach(_vgg_layers(), "conv5_1")
    assert reach == Reach(stride=16, halo=80, receptive_field=156)
    assert reach.halo >= reach.receptive_field // 2


@pytest.mark.parametrize(
    ("deepest", "stride", "halo", "field"),
    [
        ("conv1_1", 1, 1, 3),
        ("relu1_2", 1, 2, 5),
        ("conv2_1", 2, 4, 10),  # 2 after conv1_2, 1 after pool1, 2 positions of 2 pixels
        ("conv3_1", 4, 12, 24),
        ("conv4_2", 8, 40, 84),
        ("conv5_4", 16, 128, 252),
    ],
)
def test_reach_is_counted_layer_by_layer(deepest, stride, halo, field):
    assert network_reach(_vgg_layers(), deepest) == Reach(stride, halo, field)


def test_a_wider_kernel_reaches_further():
    assert network_reach(_vgg_layers(kernel=5), "conv1_1") == Reach(1, 2, 5)


def test_an_unknown_layer_is_an_error():
    with pytest.raises(ValueError, match="no layer"):
        network_reach(_vgg_layers()[:3], "conv5_1")


def test_layer_strides_double_after_each_pooling():
    strides = layer_strides(_vgg_layers())
    assert (strides["relu1_2"], strides["pool1"], strides["conv3_1"], strides["relu5_1"]) == (
        1, 2, 4, 16,
    )  # fmt: skip


@pytest.mark.parametrize("length", [1, 15, 16, 100, 161, 480, 4000])
@pytest.mark.parametrize("core", [16, 48, 160, 1024])
def test_spans_partition_the_axis_on_the_grid_and_read_the_halo(length, core):
    reach = Reach(stride=16, halo=80, receptive_field=156)
    found = spans(length, core, reach)
    assert found[0].core_start == 0 and found[-1].core_stop == length
    for before, after in zip(found, found[1:], strict=False):
        assert before.core_stop == after.core_start
    for span in found:
        assert span.core_start % 16 == 0 and span.start % 16 == 0
        assert span.core_stop - span.core_start <= max(core, 16)
        assert span.start == max(0, span.core_start - 80)
        assert span.stop == min(length, span.core_stop + 80)
    assert len(found) == math.ceil(length / max(16, core // 16 * 16))


def test_cores_are_balanced_rather_than_leaving_a_sliver():
    found = spans(330, 160, Reach(16, 80, 156))
    assert [s.core_stop - s.core_start for s in found] == [112, 112, 106]


def test_every_position_of_every_layer_is_in_exactly_one_core():
    reach = Reach(stride=16, halo=80, receptive_field=156)
    width, height = 250, 181
    for stride in (1, 2, 4, 8, 16):
        seen = np.zeros((math.ceil(height / stride), math.ceil(width / stride)), int)
        for tile in tile_grid(width, height, 64, reach):
            rows, columns = tile.core_slices(stride)
            seen[rows, columns] += 1
            top, bottom, left, right = tile.core_box(stride)
            assert bottom - top == rows.stop - rows.start
            assert right - left == columns.stop - columns.start
            assert top == (tile.rows.core_start - tile.rows.start) // stride
        assert (seen == 1).all()


def test_largest_window_is_the_core_and_both_halos_where_the_image_allows():
    reach = Reach(16, 80, 156)
    assert largest_window(4000, 3000, 1024, reach) == (1008 + 160, 1008 + 160)
    assert largest_window(100, 60, 1024, reach) == (100, 60)
    tiles = tile_grid(4000, 3000, 1024, reach)
    assert len(tiles) == 12 and max(t.window_pixels for t in tiles) == 1168 * 1168
