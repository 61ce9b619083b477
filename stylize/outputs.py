"""Checks of a command's whole set of outputs, made before any work: no two outputs are one
file, no output is one of the inputs, and numbered checkpoints are checked by their pattern
(one listing of the folder) rather than one path at a time."""

from __future__ import annotations

import os
import re
from pathlib import Path

from stylize import images
from stylize.errors import ImageError


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same inode when both exist (hard links and
    symbolic links included), else the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_distinct(outputs: dict[str, Path], inputs: dict[str, Path]) -> None:
    """Refuse two outputs that are the same file, and an output that is an input (even with
    --overwrite). Keys are labels for the message, e.g. ``"--history"``."""
    named = list(outputs.items())
    for index, (label, path) in enumerate(named):
        for other_label, other in named[index + 1 :]:
            if same_file(path, other):
                raise ImageError(f"{other_label} '{other}' is the same file as {label};"
                                 " give each output its own name")  # fmt: skip
        for input_label, source in inputs.items():
            if same_file(path, source):
                raise ImageError(f"{label} '{path}' is the {input_label}; writing it would"
                                 " destroy an input, choose another name")  # fmt: skip


def check_checkpoints(output: Path, every: int, last: int, overwrite: bool,
                      others: dict[str, Path], inputs: dict[str, Path]) -> None:  # fmt: skip
    """Checkpoints ``<stem>_<iteration:05d><ext>`` every ``every`` iterations up to ``last``:
    the longest name must be writable, none may exist without ``overwrite`` (nor be a folder
    or device with it), none may be an input (even with ``overwrite``) and no other output
    may be one of them. Costs one listing of the folder, whatever ``last`` is."""
    final = last - last % every
    if final < every:
        return
    longest = images.intermediate_path(output, final)
    _check_checkpoint(longest, every, overwrite=True)
    for path in _numbered(output.parent, output, every, final):
        for input_label, source in inputs.items():
            if same_file(path, source):
                raise ImageError(f"--save-every {every} would write its checkpoint '{path}'"
                                 f" over the {input_label}; name the output otherwise")  # fmt: skip
        _check_checkpoint(path, every, overwrite)  # raises: exists, or not a file
    for label, path in others.items():
        if Path(os.path.realpath(path)).parent == Path(os.path.realpath(output)).parent and (
            _iteration(output, path.name, every, final) is not None
        ):
            raise ImageError(f"{label} '{path}' is one of the checkpoints of --save-every"
                             f" {every}; give it another name")  # fmt: skip


def _check_checkpoint(path: Path, every: int, overwrite: bool) -> None:
    images.check_output_path(path, overwrite, label=f"--save-every {every}: checkpoint '{path}'")


def _numbered(folder: Path, output: Path, every: int, final: int) -> list[Path]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [folder / name for name in sorted(names)
            if _iteration(output, name, every, final) is not None]  # fmt: skip


def _iteration(output: Path, name: str, every: int, final: int) -> int | None:
    """The iteration a file name is the checkpoint of, or None."""
    pattern = rf"{re.escape(output.stem)}_(\d{{5,}}){re.escape(output.suffix)}"
    match = re.fullmatch(pattern, name)
    if not match:
        return None
    iteration = int(match.group(1))
    expected = images.intermediate_path(output, iteration).name == name
    return iteration if expected and 0 < iteration <= final and iteration % every == 0 else None
