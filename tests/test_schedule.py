import pytest

from stylize.schedule import (
    BIG_SIDE,
    automatic_scales,
    plan_scales,
    scale_learning_rates,
    split_iterations,
)


def test_split_iterations_follows_the_pixel_counts_under_the_big_side():
    assert split_iterations(200, [(400, 300)]) == [200]
    assert split_iterations(200, [(200, 150), (400, 300)]) == [40, 160]
    assert split_iterations(210, [(100, 75), (200, 150), (400, 300)]) == [10, 40, 160]
    assert split_iterations(3, [(100, 75), (200, 150), (400, 300)]) == [1, 1, 1]
    assert split_iterations(1, [(200, 150), (400, 300)]) == [0, 1]
    assert split_iterations(100, [(256, 192), (512, 384), (1023, 767)]) == [4, 19, 77]


def test_under_the_big_side_the_number_of_scales_sets_the_shares_not_their_sizes():
    # About 20 coarse evaluations settle the large structures whatever the coarse size.
    assert split_iterations(100, [(100, 75), (400, 300)]) == [20, 80]
    assert split_iterations(100, [(267, 200), (400, 300)]) == [20, 80]
    assert split_iterations(210, [(25, 19), (100, 75), (400, 300)]) == [10, 40, 160]
    assert split_iterations(100, [(101, 76), (401, 301)]) == [19, 81]  # halving's 200x150 share


def test_split_iterations_halves_per_doubling_for_a_big_output():
    sizes = [(500, 375), (1000, 750), (2000, 1500), (4000, 3000)]
    assert split_iterations(200, sizes) == [106, 53, 26, 15]  # 8/15, 4/15, 2/15, the rest
    assert split_iterations(150, sizes) == [80, 40, 20, 10]
    assert split_iterations(3, [(512, 384), (1024, 768)]) == [2, 1]
    assert split_iterations(2, sizes) == [0, 0, 1, 1]


SCALE_LISTS = [
    [(20, 15), (40, 30), (80, 60)],
    [(600, 450), (1200, 900)],
    [(300, 400), (600, 800), (1200, 1600), (2400, 3200)],
]


@pytest.mark.parametrize("sides", SCALE_LISTS)
def test_every_split_spends_the_whole_budget_and_runs_the_output_size(sides):
    for total in range(1, 60):
        parts = split_iterations(total, sides)
        assert sum(parts) == total and parts[-1] >= 1 and min(parts) >= 0


def test_a_big_split_gives_each_scale_twice_the_next_ones_share():
    assert split_iterations(700, [(640, 480), (1280, 960), (2560, 1920)]) == [400, 200, 100]
    assert split_iterations(70, [(480, 640), (960, 1280)]) == [46, 24]  # 2/3 rounded down


def test_automatic_scales_start_near_512_px_for_big_outputs_only():
    assert [automatic_scales(w, h) for w, h in [(512, 384), (400, 300), (1023, 1023)]] == [1] * 3
    assert automatic_scales(BIG_SIDE, 768) == 2
    assert automatic_scales(768, BIG_SIDE) == 2  # portrait: the longest side counts
    assert automatic_scales(1600, 1200) == 3  # 400, 800, 1600
    assert automatic_scales(2000, 1500) == 3  # 500, 1000, 2000
    assert automatic_scales(4000, 3000) == 4  # 500, 1000, 2000, 4000
    assert automatic_scales(100000, 1000) == 6  # --scales' largest


def test_plan_scales_pairs_the_halved_sizes_with_their_shares():
    assert plan_scales(210, 400, 300, 3) == [((100, 75), 10), ((200, 150), 40), ((400, 300), 160)]
    assert plan_scales(1, 400, 300, 2) == [((400, 300), 1)]
    assert plan_scales(7, 400, 300, 1) == [((400, 300), 7)]


def test_plan_scales_at_another_ratio():
    assert plan_scales(100, 400, 300, 2, 4.0) == [((100, 75), 20), ((400, 300), 80)]
    assert plan_scales(100, 400, 300, 2, 2.0) == plan_scales(100, 400, 300, 2)
    assert plan_scales(100, 64, 48, 2, 4.0) == [((64, 48), 100)]  # 16x12 is left out
    # A big output shares by 1 / side at any ratio, and --scales 0 counts steps of the ratio.
    assert plan_scales(200, 4000, 3000, 0, 4.0) == [((1000, 750), 160), ((4000, 3000), 40)]


def test_automatic_scales_count_steps_of_the_ratio():
    assert automatic_scales(400, 300, 4.0) == 1
    assert automatic_scales(4000, 3000, 4.0) == 2  # 1000, 4000
    assert automatic_scales(2000, 1500, 1.5) == 4  # 593, 889, 1333, 2000
    assert automatic_scales(100000, 1000, 1.25) == 6  # --scales' largest


def test_plan_scales_0_is_automatic():
    assert plan_scales(200, 512, 384, 0) == [((512, 384), 200)]
    assert plan_scales(200, 4000, 3000, 0) == [
        ((500, 375), 106), ((1000, 750), 53), ((2000, 1500), 26), ((4000, 3000), 15)
    ]  # fmt: skip
    assert plan_scales(200, 4000, 3000, 1) == [((4000, 3000), 200)]  # asked for: one scale


def test_fine_scales_of_big_outputs_take_a_smaller_adam_step():
    sizes = [(500, 375), (1000, 750), (2000, 1500), (4000, 3000)]
    assert scale_learning_rates(2.0, sizes) == pytest.approx([2.0, 2.0, 0.524288, 0.131072])
    assert scale_learning_rates(1.0, sizes[:3]) == pytest.approx([1.0, 1.0, 0.262144])
    assert scale_learning_rates(2.0, [(375, 250), (750, 500), (1500, 1000)])[2] == pytest.approx(
        2.0 * (BIG_SIDE / 1500) ** 2
    )


def test_the_step_is_the_users_under_the_big_side_and_at_the_first_scale():
    assert scale_learning_rates(2.0, [(200, 150), (400, 300), (800, 600)]) == [2.0, 2.0, 2.0]
    assert scale_learning_rates(2.0, [(512, 384), (BIG_SIDE, 768)]) == [2.0, 2.0]
    assert scale_learning_rates(2.0, [(4000, 3000)]) == [2.0]  # --scales 1: from the start image
    assert scale_learning_rates(3.0, [(2000, 1500), (4000, 3000)]) == pytest.approx([3.0, 0.196608])
