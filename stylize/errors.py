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
