"""``--preview PORT``: the preview server for a command's run, started before any work (so a
port in use is a one-line error, exit 2) and stopped when the command ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from stylize.errors import ConfigError


@contextlib.contextmanager
def preview_board(options: dict, command: str) -> Iterator[object | None]:
    """The ``stylize.preview.Board`` to keep up to date, or None without ``--preview``.
    Announces the page's address on stderr; the board is marked "failed" if the command
    ends with an exception."""
    if options.get("preview") is None:
        check_no_host()
        yield None
        return
    from stylize.preview import Board, PreviewServer

    board = Board(command)
    with PreviewServer(board, options["preview_host"], options["preview"]) as server:
        click.echo(f"preview: {server.url}", err=True)
        try:
            yield board
        except BaseException:
            board.finish("failed")
            raise


def check_no_host() -> None:
    """ConfigError when --preview-host is given without --preview: nothing would listen."""
    from stylize.cli.options import given

    if given("preview_host"):
        raise ConfigError("--preview-host is used only with --preview PORT")
