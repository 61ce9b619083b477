"""The shared option table and the one conversion from parsed options to Settings."""

import click
import pytest
from click.testing import CliRunner

from stylize.cli.options import OPTIONS, settings_from_options, with_options
from stylize.config import Settings
from stylize.errors import ConfigError


def test_options_a_command_lacks_keep_their_defaults():
    assert settings_from_options({}) == Settings()
    settings = settings_from_options({"iterations": 7, "content_layers": "conv5_2", "quiet": 1})
    assert settings == Settings(iterations=7, content_layers=(("conv5_2", 1.0),))


def test_layer_and_style_weight_strings_are_parsed_and_checked():
    settings = settings_from_options(
        {"style_layers": "relu1_1:0.5,relu2_1", "style_weights": "3,1"}
    )
    assert settings.style_layers == (("relu1_1", 0.5), ("relu2_1", 0.5))
    assert settings.style_weights == (3.0, 1.0)
    with pytest.raises(ConfigError, match="--style-weights"):
        settings_from_options({"style_weights": "a,b"})
    with pytest.raises(ConfigError, match="--content-layers"):
        settings_from_options({"content_layers": "conv9_9"})


def test_the_bit_depth_choice_becomes_a_number():
    assert settings_from_options({"bit_depth": "16"}).bit_depth == 16
    assert settings_from_options({}).bit_depth == 8


def test_the_defaults_of_the_table_are_the_settings_defaults():
    @click.command()
    @with_options(*[name for name in OPTIONS if name not in ("quiet", "as_json")])
    def probe(**options):
        click.echo(repr(settings_from_options(options) == Settings()))

    assert CliRunner().invoke(probe, []).output.strip() == "True"


def test_a_command_own_option_wins_over_the_table():
    own = {"quiet": click.option("--quiet", is_flag=True, help="Own text.")}

    @click.command()
    @with_options("iterations", "quiet", own=own)
    def probe(**options):
        pass

    text = CliRunner().invoke(probe, ["--help"]).output
    assert "Own text." in text and "--iterations" in text and "-q, --quiet" not in text
