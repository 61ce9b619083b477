"""One pass or tiles from the memory budget, and the refusals when even tiles cannot fit."""

from __future__ import annotations

import pytest

from stylize import memory, tile_plan
from stylize.config import Settings
from stylize.errors import ResourceError
from stylize.synthetic import REAL_CONV_WIDTHS, write_vgg19_mat
from stylize.weights import load_vgg19

GiB = 2**30


@pytest.fixture(scope="module")
def real_shapes(tmp_path_factory):
    """Weights with VGG-19's real layer widths (the estimates depend on them)."""
    path = tmp_path_factory.mktemp("real") / "real.mat"
    write_vgg19_mat(path, conv_widths=REAL_CONV_WIDTHS, fc_widths=(8, 8, 4), compress=False)
    return load_vgg19(path, "relu5_1")


@pytest.fixture(autouse=True)
def nothing_held(monkeypatch):
    """The plan discounts what the process holds already; hold nothing, for exact sums."""
    monkeypatch.setattr(memory, "resident_bytes", lambda: 0)


def test_content_targets_are_conv4_2s_activations(real_shapes):
    # conv4_2 has 512 channels on an 8-pixel grid: ceil(4000/8) x ceil(3000/8) positions.
    expected = 4 * 512 * 500 * 375
    assert tile_plan.content_target_bytes(real_shapes, Settings(), 4000, 3000) == expected


def test_whole_image_state_counts_the_optimizer(real_shapes):
    values = 3 * 4000 * 3000
    content = tile_plan.content_target_bytes(real_shapes, Settings(), 4000, 3000)
    adam = tile_plan.whole_image_bytes(real_shapes, Settings(), 4000, 3000)
    lbfgs = tile_plan.whole_image_bytes(real_shapes, Settings(optimizer="lbfgs"), 4000, 3000)
    assert adam == 28 * values + content
    assert lbfgs == 176 * values + content


def test_a_size_that_fits_runs_in_one_pass(real_shapes):
    plan = tile_plan.plan_size(real_shapes, Settings(), 400, 300, available=8 * GiB)
    assert plan == tile_plan.Plan(None, memory.step_bytes(real_shapes, Settings(), 400, 300))


def test_unknown_memory_means_one_pass(real_shapes):
    assert tile_plan.plan_size(real_shapes, Settings(), 4000, 3000, available=None).core is None


def test_a_print_size_is_tiled_with_the_largest_core_that_fits(real_shapes):
    plan = tile_plan.plan_size(real_shapes, Settings(), 4000, 3000, available=20 * GiB)
    assert plan.core == tile_plan.MAX_AUTO_CORE
    assert plan.need == tile_plan.tiled_bytes(real_shapes, Settings(), 4000, 3000, 1024)
    assert plan.need < 10 * GiB


def test_a_tighter_budget_takes_smaller_tiles(real_shapes):
    roomy = tile_plan.plan_size(real_shapes, Settings(), 4000, 3000, available=20 * GiB)
    budget = roomy.need - GiB
    tight = tile_plan.plan_size(real_shapes, Settings(), 4000, 3000, available=budget)
    assert tight.core < roomy.core and tight.core % 16 == 0
    assert tight.need <= budget
    bigger = tile_plan.tiled_bytes(real_shapes, Settings(), 4000, 3000, tight.core + 16)
    assert bigger > budget  # the largest core that fits


def test_a_forced_tile_size_is_kept_even_when_one_pass_fits(real_shapes):
    settings = Settings(tile_size=160)
    plan = tile_plan.plan_size(real_shapes, settings, 480, 360, available=20 * GiB)
    assert plan.core == 160


def test_whole_image_state_too_large_is_refused_with_the_reason(real_shapes):
    settings = Settings(optimizer="lbfgs")
    whole = tile_plan.whole_image_bytes(real_shapes, settings, 4000, 3000)
    with pytest.raises(ResourceError) as error:
        tile_plan.plan_size(real_shapes, settings, 4000, 3000, available=whole // 2)
    message = str(error.value)
    assert "4000x3000" in message and "even in tiles" in message
    assert f"{whole / GiB:.1f} GiB of it for the image, the lbfgs state" in message
    assert "--max-size" in message and "--optimizer adam" in message


def test_a_forced_tile_size_that_cannot_fit_names_the_option(real_shapes):
    settings = Settings(tile_size=2048)
    with pytest.raises(ResourceError, match="in tiles of 2048 px.*smaller --tile-size"):
        tile_plan.plan_size(real_shapes, settings, 4000, 3000, available=4 * GiB)


def test_the_plan_counts_what_the_process_holds_already(real_shapes, monkeypatch):
    need = memory.step_bytes(real_shapes, Settings(), 640, 480)
    runtime = memory.peak_model().runtime
    monkeypatch.setattr(memory, "resident_bytes", lambda: runtime - 100)
    fits = need - runtime + 100  # what must still be found: exactly this
    assert tile_plan.plan_size(real_shapes, Settings(), 640, 480, fits).core is None
    assert tile_plan.plan_size(real_shapes, Settings(), 640, 480, fits - 1).core is not None


def test_a_process_holding_more_than_the_runtime_still_needs_the_activations(
    real_shapes, monkeypatch
):
    monkeypatch.setattr(memory, "resident_bytes", lambda: 50 * GiB)
    with pytest.raises(ResourceError, match="640x480 image needs about"):
        tile_plan.plan_size(real_shapes, Settings(), 640, 480, available=1024)


def test_on_a_gpu_the_network_must_fit_in_its_free_memory(real_shapes):
    settings = Settings()
    network, rest = tile_plan.needs(real_shapes, settings, 1600, 1200, None)
    roomy = tile_plan.plan_size(real_shapes, settings, 1600, 1200, available=20 * GiB,
                                device_free=network)  # fmt: skip
    assert roomy.core is None
    tight = tile_plan.plan_size(real_shapes, settings, 1600, 1200, available=20 * GiB,
                                device_free=network - 1)  # fmt: skip
    assert tight.core is not None
    assert tile_plan.needs(real_shapes, settings, 1600, 1200, tight.core)[0] <= network - 1


def test_a_gpu_too_small_for_any_tile_is_refused_naming_gpu_memory(real_shapes):
    with pytest.raises(ResourceError, match="GiB of GPU memory even in tiles, but the GPU has"):
        tile_plan.plan_size(real_shapes, Settings(), 4000, 3000, available=20 * GiB,
                            device_free=2**20)  # fmt: skip


def test_on_a_gpu_the_whole_image_state_stays_in_host_memory(real_shapes):
    settings = Settings(optimizer="lbfgs")
    whole = tile_plan.whole_image_bytes(real_shapes, settings, 4000, 3000)
    with pytest.raises(ResourceError, match="for the image, the lbfgs state"):
        tile_plan.plan_size(real_shapes, settings, 4000, 3000, available=whole // 2,
                            device_free=40 * GiB)  # fmt: skip
