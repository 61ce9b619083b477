"""The ``stylize`` group: every error, click's and stylize's, as one ``Error: ...`` line, and
SIGINT and SIGTERM handled the same way from the start of a command to the process's end."""

from __future__ import annotations

import errno
import os
import sys
import warnings

import click

from stylize import __version__
from stylize.cli.batch import batch_command
from stylize.cli.errors import ReportedError
from stylize.cli.run import run_command
from stylize.cli.video import video_command
from stylize.cli.weights import weights_command
from stylize.errors import StylizeWarning
from stylize.signals import (
    Terminated,
    command_signals,
    interrupted_before_work,
    settle,
)

NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class OneLineErrors(click.Group):
    """Reports every click error (bad option value, unknown option, missing argument, and
    the commands' own errors, see ``cli.errors``) as a single ``Error: ...`` line on stderr,
    with its exit code, instead of usage text; a stdout that cannot be written is one too
    (exit code 1), a stderr that cannot be written loses only what is written there.

    SIGINT and SIGTERM end a command cleanly from the moment ``main`` starts (one line, exit
    code 130 or 143, nothing written), and once its outcome is decided they change nothing
    (``signals.settle``): for the process's own command (``main()`` reading ``sys.argv``)
    until the process has exited, for a call with ``args`` until ``main`` returns."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        own_process = not args and kwargs.get("args") is None
        with command_signals(until_exit=own_process), warnings.catch_warnings():
            reopen_closed_streams()
            guard_standard_streams()
            warnings.showwarning = _warning_line
            try:
                code = super().main(*args, **kwargs)
            except BaseException as error:  # SystemExit too: the command has ended
                settle()
                code = report(error)
            settle()
            sys.exit(code if isinstance(code, int) else 0)

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except (KeyboardInterrupt, Terminated) as stop:  # click would make it "aborted"
            raise interrupted(stop, None) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, Terminated) as stop:  # before the command's own handling
            raise interrupted(stop, ctx.invoked_subcommand) from None


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """warnings.showwarning for a command: a StylizeWarning as one ``warning: ...`` line on
    stderr; any other warning as Python shows it."""
    if issubclass(category, StylizeWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


_SHOW_WARNING = warnings.showwarning


def interrupted(stop: BaseException, command: str | None) -> ReportedError:
    """KeyboardInterrupt or Terminated, raised by a signal outside the command's own
    handling of it, as its one-line error with exit code 130 or 143."""
    name = "SIGTERM" if isinstance(stop, Terminated) else "SIGINT"
    return ReportedError(interrupted_before_work(command, name))


def report(error: BaseException) -> int:
    """Show ``error`` as its one line on stderr and return its exit code; raise again what
    is no error to report (SystemExit, a bug's exception)."""
    if isinstance(error, StdoutError):  # the outputs already written are kept
        click.echo(f"Error: cannot write to stdout: {error.strerror or error}", err=True)
        return 1
    if isinstance(error, NO_ARGS_IS_HELP):  # plain ``stylize``: the help text, as click shows it
        click.echo(error.format_message(), err=True)
        return error.exit_code
    if isinstance(error, click.UsageError):
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
        click.echo(f"Error: {error.format_message()}{hint}", err=True)
        return error.exit_code
    if isinstance(error, (KeyboardInterrupt, Terminated)):  # between click's steps
        error = interrupted(error, None)
    if isinstance(error, click.ClickException):
        click.echo(f"Error: {error.format_message()}", err=True)
        return error.exit_code
    if isinstance(error, click.Abort):
        if isinstance(error.__cause__, KeyboardInterrupt):  # between click's steps
            return report(interrupted(error.__cause__, None))
        click.echo("Error: aborted", err=True)
        return 1
    raise error


def reopen_closed_streams() -> None:
    """Point a closed stdin, stdout or stderr (``2>&-``) at /dev/null, so that the work is
    done all the same: otherwise the first file opened takes descriptor 2 and progress is
    written into it, or writing the progress line fails and ends the run."""
    for number, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(number)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != number:
                os.dup2(null, number)
                os.close(null)
        if getattr(sys, name) is None:  # Python sets it to None when the descriptor was closed
            setattr(sys, name, open(number, mode, closefd=False))  # noqa: SIM115


class StdoutError(OSError):
    """stdout cannot be written (a full disk behind ``> file``, say); a broken pipe is not
    one: click ends the command quietly then, as ``| head`` expects."""


class _Guarded:
    """A text stream that hands a write's or flush's OSError to ``_failed``; everything
    else is the stream's own."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def write(self, text):
        try:
            return self.stream.write(text)
        except OSError as error:
            if not text:  # click probes a stream with an empty write; /dev/full fails even that
                return 0
            return self._failed(error, len(text))

    def flush(self):
        try:
            self.stream.flush()
        except OSError as error:
            self._failed(error, 0)


class _Stderr(_Guarded):
    """stderr whose failures are dropped: progress and warnings that cannot be shown (a full
    disk behind ``2>log``) must not end a run and lose its work."""

    def _failed(self, error: OSError, count: int) -> int:
        return count


class _Stdout(_Guarded):
    """stdout whose first failure other than a broken pipe is a StdoutError; later writes
    are dropped, so that the error line and Python's last flush at exit do not fail again."""

    broken: OSError | None = None

    def _failed(self, error: OSError, count: int) -> int:
        if self.broken is not None:
            return count
        if error.errno == errno.EPIPE:
            raise error
        self.broken = error
        raise StdoutError(error.errno, error.strerror) from error


def guard_standard_streams() -> None:
    """Wrap sys.stdout and sys.stderr (see ``_Stdout`` and ``_Stderr``), once."""
    if not isinstance(sys.stdout, _Guarded):
        sys.stdout = _Stdout(sys.stdout)
    if not isinstance(sys.stderr, _Guarded):
        sys.stderr = _Stderr(sys.stderr)


@click.group(
    cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="stylize")
def main() -> None:
    """Neural style transfer (Gatys et al.) on MatConvNet's VGG-19, in TensorFlow."""


main.add_command(run_command, "run")
main.add_command(batch_command, "batch")
main.add_command(video_command, "video")
main.add_command(weights_command, "weights")
