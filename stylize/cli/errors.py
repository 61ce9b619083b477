"""Every command's errors as one ``Error: ...`` line: a StylizeError becomes a click error
carrying its exit code, which click (or the group's handler) shows without a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click

from stylize.errors import StylizeError


class ReportedError(click.ClickException):
    """A StylizeError shown as one ``Error: ...`` line with the error's exit code."""

    def __init__(self, error: StylizeError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


def reports_errors(command: Callable) -> Callable:
    """Wrap a command's function so that a StylizeError ends it as a ReportedError."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except StylizeError as error:
            raise ReportedError(error) from None

    return wrapper
