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


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--content-ratio", "1e-3"], "1e-03 10"),
        (["--content-ratio", "1e-3", "--alpha", "10"], "--alpha and --content-ratio"),
        (["--alpha", "10"], "None 10"),
        (["--content-ratio", "1e-3", "--alpha", "25"], "--alpha and --content-ratio"),
    ],
)
def test_alpha_given_beside_a_content_ratio_is_refused_even_at_its_default(arguments, expected):
    @click.command()
    @with_options("alpha", "content_ratio")
    def probe(**options):
        try:
            settings = settings_from_options(options)
        except ConfigError as error:
            click.echo(str(error))
        else:
            ratio = settings.content_ratio
            click.echo(f"{ratio if ratio is None else format(ratio, '.0e')} {settings.alpha:g}")

    assert expected in CliRunner().invoke(probe, arguments).output


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--style-scale", "1e9"], "--style-scale 1e+09 at --max-size 512"),
        (["--style-scale", "8", "--max-size", "4000"], "at most 16384"),
        (["--style-weights", "1e308,1e308"], "--style-weights 1e+308 is beyond the largest"),
        (["--content-layers", "conv4_2:1e39"], "--content-layers: the weight of conv4_2"),
        (["--content-ratio", "3e38"], "--content-ratio x --beta is 1.2e+40"),
    ],
)
def test_numbers_the_graph_cannot_hold_are_refused_from_the_options(arguments, expected):
    @click.command()
    @with_options("style_scale", "max_size", "style_weights", "content_layers", "content_ratio")
    def probe(**options):
        try:
            settings_from_options(options)
        except ConfigError as error:
            click.echo(str(error))

    assert expected in CliRunner().invoke(probe, arguments).output


def test_the_help_gives_the_largest_style_scale():
    @click.command()
    @with_options("style_scale")
    def probe(**options):
        pass

    text = " ".join(CliRunner().invoke(probe, ["--help"]).output.split())
    assert "--style-scale F" in text and "above 1, F x --max-size at most 16384 px" in text


def test_a_command_own_option_wins_over_the_table():
    own = {"quiet": click.option("--quiet", is_flag=True, help="Own text.")}

    @click.command()
    @with_options("iterations", "quiet", own=own)
    def probe(**options):
        pass

    text = CliRunner().invoke(probe, ["--help"]).output
    assert "Own text." in text and "--iterations" in text and "-q, --quiet" not in text


def _moving(path, count: int = 3) -> None:
    """An animation (or, for .tif, pages) of ``count`` frames of 20x20 pixels."""
    from PIL import Image

    pictures = [Image.new("RGB", (20, 20), (40 * i, 90, 200)) for i in range(count)]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=100)


def test_images_of_several_frames_are_named_with_what_is_read(tmp_path, capsys):
    from PIL import Image

    from stylize.cli.options import warn_if_animated

    for name in ("a.gif", "b.gif", "c.webp", "d.tif"):
        _moving(tmp_path / name)
    Image.new("RGB", (20, 20)).save(tmp_path / "still.gif")
    names = {name: tmp_path / name for name in ("a.gif", "b.gif", "c.webp", "d.tif", "still.gif")}
    warn_if_animated((names["still.gif"], names["a.gif"], names["d.tif"]), names["b.gif"],
                     names["c.webp"])  # fmt: skip
    assert capsys.readouterr().err.splitlines() == [
        f"warning: content image '{names['b.gif']}' has 3 frames; the first is used"
        " (stylize video stylizes each frame)",
        f"warning: style image 2 '{names['a.gif']}' has 3 frames; the first is used",
        f"warning: style image 3 '{names['d.tif']}' has 3 pages; the first is used",
        f"warning: --init image '{names['c.webp']}' has 3 frames; the first is used",
    ]
    warn_if_animated((names["a.gif"],))  # a video's one style: no number, no hint
    assert capsys.readouterr().err == (
        f"warning: style image '{names['a.gif']}' has 3 frames; the first is used\n"
    )
    warn_if_animated((), names["c.webp"])  # stylize video reads an animated WebP too
    warn_if_animated((), names["d.tif"])  # but not the pages of a TIFF
    assert capsys.readouterr().err.splitlines() == [
        f"warning: content image '{names['c.webp']}' has 3 frames; the first is used"
        " (stylize video stylizes each frame)",
        f"warning: content image '{names['d.tif']}' has 3 pages; the first is used",
    ]
    warn_if_animated((names["still.gif"],), names["still.gif"], tmp_path / "missing.png")
    assert capsys.readouterr().err == ""  # a still, and a file the command reports itself
