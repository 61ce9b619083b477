"""Exceptions that end a run with one clear line and a chosen exit code."""


class StylizeError(Exception):
    """Base of every error the CLI reports as one line, without a traceback.

    ``exit_code`` follows click's convention: 2 for bad usage or bad input,
    1 for a failure while running.
    """

    exit_code = 1


class InputError(StylizeError):
    """A file or option given by the user is unusable (exit code 2)."""

    exit_code = 2


class ImageError(InputError):
    """An image file cannot be read, or an output image cannot be written."""


class WeightsError(InputError):
    """The VGG-19 weights file is missing, unreadable or not the expected network."""


class ConfigError(InputError):
    """An option value is out of range or inconsistent with another."""


class DeviceError(InputError):
    """The requested device is not available."""


class RunError(StylizeError):
    """The optimization failed while running (exit code 1)."""


class DivergedError(RunError):
    """J became NaN or infinite; the last finite image is kept."""


class ResourceError(RunError):
    """The requested size does not fit in memory."""


class StylizeWarning(UserWarning):
    """Something the user should know that does not stop the command; the CLI prints it as
    one ``warning: ...`` line on stderr."""


class CodedError(StylizeError):
    """An error whose exit code is known only where it is raised."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class Interrupted(CodedError):
    """A signal arrived before there was anything to keep; the exit code is the signal's."""


class WorkerStartError(CodedError):
    """A batch worker could not start (a device error, say), with the exit code its error
    has in the worker."""


def one_line(error: BaseException, *, with_type: bool = False) -> str:
    """``error`` as one line for a message: a StylizeError's own text; for any other
    exception its text with line breaks folded into spaces and no final full stop (its type
    name when it has no text), prefixed with the type name when ``with_type`` is set (for
    exceptions nobody expected, where the type is the clue)."""
    if isinstance(error, StylizeError):
        return str(error)
    text = " ".join(str(error).split()).rstrip(".")
    name = type(error).__name__
    if not text:
        return name
    return f"{name}: {text}" if with_type else text
