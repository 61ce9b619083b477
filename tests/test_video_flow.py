"""Optical flow, warping and Ruder et al.'s consistency mask, on frames whose true motion
is known."""

from __future__ import annotations

import numpy as np
import pytest

from stylize.video import flow


def _scene(width=96, height=72, seed=0):
    """A textured (H, W, 3) uint8 picture, smooth enough for flow to lock on."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + 40 * np.sin((x + 2 * y) / 11.0)
    noise = rng.normal(0, 4, (height, width))
    return np.clip(np.stack([base + noise, base * 0.8 + noise, 255 - base], -1), 0, 255).astype(
        np.uint8
    )


def test_warp_with_a_known_shift_moves_the_image_exactly():
    image = _scene()
    flow_field = np.zeros(image.shape[:2] + (2,), np.float32)
    flow_field[..., 0], flow_field[..., 1] = 3.0, -2.0  # sample 3 px right, 2 px up
    warped = flow.warp(image, flow_field)
    np.testing.assert_array_equal(warped[2:, :-3], image[:-2, 3:])


def test_warp_interpolates_half_pixels_bilinearly():
    image = np.arange(4 * 5 * 1, dtype=np.float32).reshape(4, 5, 1)
    half = np.zeros((4, 5, 2), np.float32)
    half[..., 0] = 0.5
    np.testing.assert_allclose(flow.warp(image, half)[:, :-1], (image[:, :-1] + image[:, 1:]) / 2)


def test_dis_flow_finds_a_pan_and_the_mask_keeps_everything_but_the_new_edge():
    scene = _scene(120, 80)
    previous, current = scene[:, 6:106], scene[:, 3:103]  # the camera pans 3 px left
    backward, mask = flow.frame_link(previous, current)
    inner = backward[8:-8, 8:-8]
    assert inner[..., 0].mean() == pytest.approx(-3.0, abs=0.15)  # current(p) = previous(p - 3)
    assert abs(inner[..., 1].mean()) < 0.15
    assert mask[:, 10:].mean() > 0.95
    assert mask[:, :2].max() == 0.0  # those pixels come from outside the previous frame
    warped = flow.warp(previous, backward)
    assert np.abs(warped[:, 8:-8] - current[:, 8:-8]).mean() < 2.0


def test_the_mask_drops_disocclusions_where_the_flows_disagree():
    height, width = 40, 50
    backward = np.zeros((height, width, 2), np.float32)
    forward = np.zeros_like(backward)
    backward[:, 20:30, 0] = 5.0  # these pixels say they came from 5 px to the right ...
    # ... but the forward flow there says those pixels did not move: a disocclusion
    mask = flow.consistency(backward, forward)
    assert mask[:, 22:28].max() == 0.0
    assert mask[:, :15].min() == 1.0 and mask[:, 36:].min() == 1.0
    forward[:, 25:35, 0] = -5.0  # now the flows cancel: consistent inside the band
    mask = flow.consistency(backward, forward)
    assert mask[5:-5, 22:28].min() == 1.0


def test_the_mask_drops_motion_boundaries():
    backward = np.zeros((30, 40, 2), np.float32)
    backward[:, 20:, 1] = 4.0  # the right half moves, the left does not
    forward = -flow.warp(np.zeros_like(backward), backward)  # flows agree everywhere
    forward[:, 20:, 1] = -4.0
    mask = flow.consistency(backward, forward)
    assert mask[5:-5, 19:21].max() == 0.0  # the edge between the two motions
    assert mask[5:-5, 5:15].min() == 1.0


def test_warping_error_is_the_mean_difference_where_the_mask_keeps():
    previous = np.zeros((10, 12, 3), np.uint8)
    current = np.full((10, 12, 3), 6, np.uint8)
    current[:, :6] = 2
    still = np.zeros((10, 12, 2), np.float32)
    mask = np.zeros((10, 12), np.float32)
    mask[:, :6] = 1
    assert flow.warping_error(current, previous, still, mask) == pytest.approx(2.0)
    assert np.isnan(flow.warping_error(current, previous, still, np.zeros_like(mask)))
