"""``--preview PORT``: the preview server for a command's run. Its port is taken before any
work, so a port in use is a one-line error (exit 2) before anything is read; its address is
announced only once the command has checked its inputs and outputs and its work begins, so
that a user error is the only line and no page is advertised for a run that never starts.
The server stops when the command ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from stylize.errors import ConfigError


class Preview:
    """A command's preview: ``board`` (a ``stylize.preview.Board``, None without
    ``--preview``) to keep up to date, and the page's address, said once by ``announce``."""

    def __init__(self, board=None, url: str | None = None):
        self.board, self.url = board, url

    def announce(self) -> None:
        """Say the page's address on stderr, the first time only; nothing without a page."""
        if self.url is not None:
            click.echo(f"preview: {self.url}", err=True)
            self.url = None


@contextlib.contextmanager
def preview_board(options: dict, command: str) -> Iterator[Preview]:
    """The command's Preview: with ``--preview``, a server listening from here on (a port in
    use is a ConfigError) and a board marked "failed" if the command ends with an exception;
    the caller announces it once its inputs and outputs are checked."""
    if options.get("preview") is None:
        check_no_host()
        yield Preview()
        return
    from stylize.preview import Board, PreviewServer

    board = Board(command)
    with PreviewServer(board, options["preview_host"], options["preview"]) as server:
        try:
            yield Preview(board, server.url)
        except BaseException:
            board.finish("failed")
            raise


def check_no_host() -> None:
    """ConfigError when --preview-host is given without --preview: nothing would listen."""
    from stylize.cli.options import given

    if given("preview_host"):
        raise ConfigError("--preview-host is used only with --preview PORT")
