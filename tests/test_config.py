import pytest

from stylize.config import DEFAULT_STYLE_LAYERS, Settings
from stylize.errors import ConfigError


def test_defaults_are_the_classic_notebook():
    s = Settings()
    assert (s.iterations, s.learning_rate, s.alpha, s.beta, s.noise_ratio) == (
        200,
        2.0,
        10.0,
        40.0,
        0.6,
    )
    assert s.content_layer == "conv4_2"
    assert s.style_layers == DEFAULT_STYLE_LAYERS
    assert [w for _, w in s.style_layers] == [0.2] * 5
    assert s.pooling == "avg" and s.max_size == 512


def test_layers_used_lists_content_first_without_repeats():
    s = Settings(content_layer="conv1_1")
    assert s.layers_used == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().iterations = 3


@pytest.mark.parametrize(
    ("changes", "option"),
    [
        ({"iterations": 0}, "--iterations"),
        ({"iterations": -5}, "--iterations"),
        ({"iterations": 2.5}, "--iterations"),
        ({"learning_rate": 0.0}, "--learning-rate"),
        ({"learning_rate": float("nan")}, "--learning-rate"),
        ({"alpha": -1.0}, "--alpha"),
        ({"beta": float("inf")}, "--beta"),
        ({"noise_ratio": 1.5}, "--noise-ratio"),
        ({"noise_ratio": -0.1}, "--noise-ratio"),
        ({"pooling": "median"}, "--pooling"),
        ({"device": "tpu"}, "--device"),
        ({"max_size": 8}, "--max-size"),
        ({"save_every": -1}, "--save-every"),
        ({"seed": -1}, "--seed"),
    ],
)
def test_bad_values_name_their_option(changes, option):
    with pytest.raises(ConfigError, match=option):
        Settings(**changes)


def test_with_changes_validates_again():
    assert Settings().with_changes(iterations=7).iterations == 7
    with pytest.raises(ConfigError):
        Settings().with_changes(iterations=0)


def test_as_dict_has_every_setting():
    d = Settings(seed=4).as_dict()
    assert d["seed"] == 4 and d["content_layer"] == "conv4_2" and len(d) == 12
