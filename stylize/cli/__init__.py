"""The ``stylize`` command line, the only package that imports click.

``group`` holds the ``stylize`` group and its one-line error handling, ``options`` the option
table that the commands share and the one conversion from parsed options to Settings, and
``run``, ``batch`` and ``weights`` one command each. The commands are peers: none imports
another, and each imports its machinery (TensorFlow included) only when it runs.
"""

from stylize.cli.group import main

__all__ = ["main"]
