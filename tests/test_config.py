import pytest

from stylize.config import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    Settings,
    parse_layer_weights,
)
from stylize.errors import ConfigError


def test_defaults_are_the_classic_notebook():
    s = Settings()
    assert (s.iterations, s.learning_rate, s.alpha, s.beta) == (200, 2.0, 10.0, 40.0)
    assert (s.optimizer, s.init, s.start_noise_ratio, s.tv_weight) == ("adam", "noise", 0.6, 0.0)
    assert s.content_layers == DEFAULT_CONTENT_LAYERS == (("conv4_2", 1.0),)
    assert s.style_layers == DEFAULT_STYLE_LAYERS
    assert [w for _, w in s.style_layers] == [0.2] * 5
    assert s.pooling == "avg" and s.max_size == 512 and s.scales == 0
    assert s.precision == "float32" and s.bit_depth == 8


def test_noise_ratio_defaults_to_zero_for_other_start_images():
    assert Settings(init="content").start_noise_ratio == 0.0
    assert Settings(init="style", noise_ratio=0.3).start_noise_ratio == 0.3


def test_layers_used_lists_content_first_without_repeats():
    s = Settings(content_layers=(("conv1_1", 1.0),))
    assert s.layers_used == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
    # conv names read the activation after their ReLU, as in the classic notebook
    assert s.deepest_layer == "relu5_1"
    assert Settings(style_layers=(("relu2_1", 1.0),)).deepest_layer == "relu4_2"


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().iterations = 3


@pytest.mark.parametrize(
    ("changes", "option"),
    [
        ({"iterations": 0}, "--iterations"),
        ({"iterations": -5}, "--iterations"),
        ({"iterations": 2.5}, "--iterations"),
        ({"optimizer": "sgd"}, "--optimizer"),
        ({"learning_rate": 0.0}, "--learning-rate"),
        ({"learning_rate": float("nan")}, "--learning-rate"),
        ({"alpha": -1.0}, "--alpha"),
        ({"beta": float("inf")}, "--beta"),
        ({"tv_weight": -1.0}, "--tv-weight"),
        ({"noise_ratio": 1.5}, "--noise-ratio"),
        ({"noise_ratio": -0.1}, "--noise-ratio"),
        ({"pooling": "median"}, "--pooling"),
        ({"device": "tpu"}, "--device"),
        ({"precision": "float16"}, "--precision"),
        ({"preserve_colors": "all"}, "--preserve-colors"),
        ({"max_size": 8}, "--max-size"),
        ({"scales": -1}, "--scales"),
        ({"scales": 7}, "--scales"),
        ({"scale_ratio": 1.0}, "--scale-ratio"),
        ({"scale_ratio": 1.2}, "--scale-ratio"),
        ({"scale_ratio": 17.0}, "--scale-ratio"),
        ({"scale_ratio": float("nan")}, "--scale-ratio"),
        ({"tile_size": -1}, "--tile-size"),
        ({"tile_size": 8}, "--tile-size"),
        ({"tile_size": 64.0}, "--tile-size"),
        ({"style_scale": 0.0}, "--style-scale"),
        ({"save_every": -1}, "--save-every"),
        ({"bit_depth": 12}, "--bit-depth"),
        ({"bit_depth": 24}, "--bit-depth"),
        ({"bit_depth": 16.0}, "--bit-depth"),
        ({"bit_depth": "16"}, "--bit-depth"),
        ({"seed": -1}, "--seed"),
        ({"style_weights": (0.0, 0.0)}, "--style-weights"),
        ({"style_weights": (1.0, -1.0)}, "--style-weights"),
        ({"content_layers": (("conv9_9", 1.0),)}, "--content-layers"),
        ({"style_layers": (("pool1", 1.0),)}, "--style-layers"),
        ({"style_layers": (("conv1_1", 0.5), ("conv1_1", 0.5))}, "--style-layers"),
        ({"content_ratio": 0.0}, "--content-ratio"),
        ({"content_ratio": -1e-3}, "--content-ratio"),
        ({"content_ratio": float("nan")}, "--content-ratio"),
        ({"content_ratio": 1e39}, "--content-ratio"),
        ({"content_ratio": 1e-3, "alpha": 20.0}, "--alpha and --content-ratio"),
        ({"content_ratio": 1e-3, "beta": 0.0}, "--content-ratio .*--beta"),
    ],
)
def test_bad_values_name_their_option(changes, option):
    with pytest.raises(ConfigError, match=option):
        Settings(**changes)


def test_a_content_ratio_is_off_by_default_and_kept_when_given():
    assert Settings().content_ratio is None
    assert Settings(content_ratio=1e-4).as_dict()["content_ratio"] == 1e-4


def test_unknown_layer_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="valid layers are conv1_1, relu1_1, conv1_2"):
        parse_layer_weights("style-layers", "conv1_1,conv6_1")


def test_parse_layer_weights():
    assert parse_layer_weights("x", "conv1_1:0.2, conv2_1:0.8") == (
        ("conv1_1", 0.2),
        ("conv2_1", 0.8),
    )
    assert parse_layer_weights("x", "conv1_1,relu2_1") == (("conv1_1", 0.5), ("relu2_1", 0.5))
    assert parse_layer_weights("x", "conv1_1:0.5,conv2_1,conv3_1") == (
        ("conv1_1", 0.5),
        ("conv2_1", 0.25),
        ("conv3_1", 0.25),
    )
    with pytest.raises(ConfigError, match="not a number"):
        parse_layer_weights("style-layers", "conv1_1:heavy")
    with pytest.raises(ConfigError, match="at least one"):
        parse_layer_weights("content-layers", " , ")


def test_blend_weights_are_normalized_and_counted():
    assert Settings().blend_weights(2) == (0.5, 0.5)
    assert Settings(style_weights=(7, 3)).blend_weights(2) == (0.7, 0.3)
    with pytest.raises(ConfigError, match="--style-weights has 2 values for 3"):
        Settings(style_weights=(1, 1)).blend_weights(3)


def test_with_changes_validates_again():
    assert Settings().with_changes(iterations=7).iterations == 7
    with pytest.raises(ConfigError):
        Settings().with_changes(iterations=0)


def test_as_dict_has_every_setting():
    d = Settings(seed=4).as_dict()
    assert d["seed"] == 4 and d["content_layers"] == (("conv4_2", 1.0),) and len(d) == 24
    assert d["tile_size"] == 0 and d["scale_ratio"] == 2.0 and d["bit_depth"] == 8
    assert d["content_ratio"] is None


@pytest.mark.parametrize("layer", ["relu6", "relu7", "fc6"])
def test_the_fully_connected_layers_are_not_feature_layers(layer):
    with pytest.raises(ConfigError, match="unknown layer"):
        Settings(content_layers=((layer, 1.0),))
    with pytest.raises(ConfigError, match="--style-layers"):
        parse_layer_weights("style-layers", f"conv1_1,{layer}")


@pytest.mark.parametrize("option", ["alpha", "beta", "tv_weight", "learning_rate"])
def test_weights_that_overflow_float32_are_refused(option):
    with pytest.raises(ConfigError, match="largest float32"):
        Settings(**{option: 1e39})
    Settings(**{option: 3e38})  # still a float32


def test_init_file_is_the_path_of_an_init_image_and_none_for_a_named_start():
    from pathlib import Path

    for start in ("noise", "content", "style"):
        assert Settings(init=start).init_file is None
    assert Settings(init="start/here.png").init_file == Path("start/here.png")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"style_scale": 1e5}, "--style-scale 100000 at --max-size 512 .* at most 16384"),
        ({"style_scale": 1e9}, "--style-scale"),
        ({"style_scale": 4.5, "max_size": 4000}, "--max-size x --style-scale at most 16384"),
    ],
)
def test_a_style_scaled_past_the_largest_side_is_refused(changes, expected):
    with pytest.raises(ConfigError, match=expected):
        Settings(**changes)


def test_a_style_scale_up_to_the_largest_side_is_kept():
    assert Settings(style_scale=32.0).style_scale == 32.0  # 512 x 32 = 16384 px
    assert Settings(style_scale=4.0, max_size=4096).style_scale == 4.0
    # A style no larger than the output is not limited, whatever the print size.
    assert Settings(max_size=20000).max_size == 20000
    assert Settings(max_size=40000, style_scale=0.5).style_scale == 0.5
    with pytest.raises(ConfigError, match="--style-scale 1.1 at --max-size 20000"):
        Settings(max_size=20000, style_scale=1.1)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ((1e308, 1e308), r"--style-weights 1e\+308 is beyond the largest float32 \(3.403e"),
        ((3e38, 3e38), "the sum of --style-weights is 6e\\+38, beyond the largest float32"),
    ],
)
def test_style_weights_beyond_float32_are_refused(weights, expected):
    with pytest.raises(ConfigError, match=expected):
        Settings(style_weights=weights)
    assert Settings(style_weights=(1e38, 1e38)).blend_weights(2) == (0.5, 0.5)


@pytest.mark.parametrize("option", ["content_layers", "style_layers"])
def test_layer_weights_beyond_float32_are_refused(option):
    with pytest.raises(ConfigError, match=r"-layers: the weight of conv4_2, 1e\+39, is beyond the"):
        Settings(**{option: (("conv4_2", 1e39),)})
    with pytest.raises(ConfigError, match="largest float32"):
        parse_layer_weights(option.replace("_", "-"), "conv4_2:1e39")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"content_ratio": 3e38}, "--content-ratio x --beta is 1.2e\\+40"),
        ({"content_ratio": 1e36, "content_layers": (("conv4_2", 100.0),)},
         "--content-ratio x --beta x the --content-layers weight of conv4_2 is 4e\\+39"),
        ({"alpha": 1e37, "content_layers": (("conv4_2", 100.0),)},
         "--alpha x the --content-layers weight of conv4_2 is 1e\\+39"),
        ({"style_layers": (("conv1_1", 1e37),)},
         "--beta x the --style-layers weight of conv1_1 is 4e\\+38"),
    ],
)  # fmt: skip
def test_a_layer_weight_in_j_beyond_float32_names_the_options_it_comes_from(changes, expected):
    with pytest.raises(ConfigError, match=f"{expected}, beyond the largest float32"):
        Settings(**changes)


def test_layer_weights_whose_products_stay_in_float32_are_kept():
    Settings(content_ratio=1e36, beta=3.4)  # 3.4e36 x conv4_2's weight 1
    Settings(alpha=1e36, content_layers=(("conv4_2", 100.0),))
    Settings(beta=0.0, style_layers=(("conv1_1", 3e38),))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"style_layers": (("conv1_1", 1e-50),)}, "--style-layers: the weight of conv1_1, 1e-50"),
        ({"content_layers": (("conv4_2", 1e-46),)}, "--content-layers: the weight of conv4_2"),
        ({"beta": 1e-50}, "--beta 1e-50 is below the smallest float32 \\(1.401e-45\\)"),
        ({"alpha": 1e-46}, "--alpha .* is below the smallest float32"),
        ({"tv_weight": 1e-300}, "--tv-weight .* is below the smallest float32"),
        ({"learning_rate": 1e-50}, "--learning-rate .* is below the smallest float32"),
        ({"content_ratio": 1e-50}, "--content-ratio .* is below the smallest float32"),
        ({"style_weights": (1.0, 1e-50)}, "--style-weights .* is below the smallest float32"),
        ({"beta": 1e-30, "style_layers": (("conv1_1", 1e-30),)},
         "--beta x the --style-layers weight of conv1_1 is 1e-60, below the smallest float32"),
        ({"alpha": 1e-30, "content_layers": (("conv4_2", 1e-30),)},
         "--alpha x the --content-layers weight of conv4_2 is 1e-60"),
    ],
)  # fmt: skip
def test_a_positive_weight_that_float32_would_make_zero_is_refused(changes, expected):
    with pytest.raises(ConfigError, match=expected):
        Settings(**changes)


def test_weights_at_float32s_smallest_and_zero_are_kept():
    Settings(beta=0.0, alpha=1.5e-45, style_layers=(("conv1_1", 1.0), ("conv2_1", 0.0)))
    Settings(beta=1e-20, style_layers=(("conv1_1", 1e-20),))  # 1e-40: a float32 subnormal
