"""``stylize weights``: report on a VGG-19 weights file and test it on a photo of a cat.

The checks are ``stylize.selftest``'s; TensorFlow is imported only when the self-test runs, so
``stylize --help`` and ``--no-self-test`` stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from stylize.cli.errors import reports_errors
from stylize.cli.options import given, typed_weights
from stylize.errors import ConfigError, WeightsError
from stylize.signals import settle

_LAYOUTS = {
    "new": "new (MatConvNet beta16 and later: layers, meta)",
    "old": "old (layers, normalization, classes)",
}
_INDENT = " " * 11  # width of the label column


@click.command(
    "weights", short_help="Check a VGG-19 weights file: checksum and a classification test."
)
@click.argument("path", required=False, type=click.Path(), callback=typed_weights)
@click.option(
    "--no-self-test",
    is_flag=True,
    help="Report and check the file only; do not classify the photo.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--write-random", type=click.Path(path_type=Path), metavar="OUT",
              help="Write the random network of --network to OUT as a .mat file, then check"
                   " OUT as usual (for tools that want a path).")  # fmt: skip
@click.option(
    "--network",
    default="random",
    show_default=True,
    help="With --write-random: random[:SEED] or random-tiny[:SEED].",
)
@click.option(
    "--layout",
    type=click.Choice(["new", "old"]),
    default="new",
    show_default=True,
    help="With --write-random: MatConvNet's layout to write.",
)
@click.option("--overwrite", is_flag=True, help="With --write-random: replace OUT.")
@reports_errors
def weights_command(path: Path | None, no_self_test: bool, as_json: bool,
                    write_random: Path | None, network: str, layout: str,
                    overwrite: bool) -> None:  # fmt: skip
    """Check a VGG-19 weights file: size, layout, checksum and a self-test.

    The self-test builds the whole network, fc6-fc8 and softmax included, classifies a
    bundled photo of a cat and prints the top 5 classes from the file's own class list:
    the genuine file puts a cat first, a damaged one gives nonsense.

    \b
    PATH defaults to $STYLIZE_WEIGHTS, else to
    weights/imagenet-vgg-verydeep-19.mat. Random weights (random[:SEED],
    random-tiny[:SEED]) are no file: --write-random writes them to one.

    \b
    Examples:
      stylize weights
      stylize weights path/to/imagenet-vgg-verydeep-19.mat --json
      stylize weights --write-random random.mat --network random:7 --no-self-test
    """
    from stylize.selftest import check_weights

    if write_random is not None:
        from stylize.weights import write_random_vgg19

        check_write_options(path)
        path = write_random_vgg19(write_random, network, layout, overwrite)
    else:
        check_file_options()
        path = checked_file(path)
    result = check_weights(path, self_test=not no_self_test)
    settle()  # checked: from here on a signal changes nothing
    click.echo(json.dumps(result) if as_json else format_report(result))


def check_write_options(path: Path | None) -> None:
    """ConfigError when PATH is given beside --write-random: which file would be checked?"""
    if path is not None:
        raise ConfigError(f"PATH '{path}' and --write-random both name the file to check;"
                          " give one of them")  # fmt: skip


def check_file_options() -> None:
    """ConfigError naming the options that only --write-random uses, when given without it."""
    named = [f"--{name}" for name in ("network", "layout", "overwrite") if given(name)]
    if named:
        verb = "is" if len(named) == 1 else "are"
        raise ConfigError(f"{' and '.join(named)} {verb} used only with --write-random OUT")


def checked_file(path: Path | None) -> Path:
    """PATH, else the default file; ConfigError when it names a random network (``random``,
    ``random-tiny:3``, ...): those are no file to check, but --write-random makes one."""
    from stylize.weights import default_weights_path, random_spec

    name = "PATH" if path is not None else "$STYLIZE_WEIGHTS"
    path = path if path is not None else default_weights_path()
    try:
        network = str(path) if random_spec(path) is not None else None
    except WeightsError:  # random:abc, a random network's name with a bad seed
        network = str(path).partition(":")[0]
    if network is not None:
        raise ConfigError(f"{name} '{path}' names random weights, not a file; write them to one"
                          f" with --write-random OUT --network {network} and check that (a file"
                          f" of that name is ./{path})")  # fmt: skip
    return path


def format_report(result: dict) -> str:
    """The human-readable report: aligned ``label  value`` lines and the top-5 table."""
    size = result["bytes"]
    rows = [
        ("path", result["path"]),
        ("size", f"{size:,} bytes ({size / 2**20:.1f} MiB)"),
        ("layout", _LAYOUTS.get(result["layout"], str(result["layout"]))),
        ("md5", result["md5"]),
        ("sha256", result["sha256"]),
        ("checksum", result["checksum"]),
        ("structure", "VGG-19: all 43 layers as expected"),
    ]
    lines = [f"{label:<10} {value}" for label, value in rows]
    test = result["self_test"]
    if test is None:
        return "\n".join([*lines, f"{'self-test':<10} skipped (--no-self-test)"])
    return "\n".join([*lines, *_self_test_lines(test)])


def _self_test_lines(test: dict) -> list[str]:
    lines = [
        f"{'self-test':<10} top {len(test['top5'])} of {test['classes']} classes for the"
        f" bundled photo of a cat ({test['photo']}):"
    ]
    for rank, entry in enumerate(test["top5"], start=1):
        lines.append(f"{_INDENT}{rank}  {entry['probability']:.4f}  {entry['label']}")
    if test["cat_in_top5"]:
        verdict = "a cat is among the top 5, as the genuine weights give"
    else:
        verdict = (
            f"no cat in the top 5: normal for synthetic weights; with the real file, a sign\n"
            f"{_INDENT}of damage or of kernels read in the wrong orientation"
        )
    return [*lines, f"{'verdict':<10} {verdict}"]
