"""The batch's outputs on disk: --out as a folder, every planned output writable (checked
before any job, one listing per folder), and the temporary files a killed run left."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from stylize.batch.plan import Job, is_scanned_name
from stylize.errors import InputError
from stylize.files import check_folder_writable


def check_outputs(jobs: Iterable[Job], out_dir: Path) -> None:
    """Refuse, before anything is created, a planned output that cannot be written: a
    directory (or a device, pipe or socket) where the image goes, a file where one of its
    folders must be (or another output), or an existing subfolder where no file can be made
    (--out itself is prepare_out_dir's). A regular file at an output name is allowed: the
    batch replaces its outputs. Each folder is listed once, however many outputs it holds."""
    listings: dict[Path, dict[str, os.DirEntry] | None] = {}
    outputs = {job.output for job in jobs}
    writable: dict[Path, Path] = {}  # existing subfolders to write in, with an output
    for output in sorted(outputs):
        path, folder, parts = out_dir / output, out_dir, PurePosixPath(output).parts
        deepest = out_dir
        for depth, part in enumerate(parts[:-1], start=1):
            if "/".join(parts[:depth]) in outputs:
                raise InputError(f"output '{path}': its folder '{folder / part}' is also an"
                                 " output image; choose other output names")  # fmt: skip
            _refuse_entry(_listing(folder, listings), part, path, folder=True)
            folder = folder / part
            if _listing(folder, listings) is not None:
                deepest = folder
        _refuse_entry(_listing(folder, listings), parts[-1], path, folder=False)
        writable.setdefault(deepest, path)
    for folder, path in writable.items():
        if folder != out_dir:
            check_folder_writable(folder, f"output '{path}'")


def _listing(folder: Path, listings: dict[Path, dict | None]) -> dict[str, os.DirEntry] | None:
    """``folder``'s entries by name, listed once (None for a missing folder)."""
    if folder not in listings:
        try:
            with os.scandir(folder) as entries:
                listings[folder] = {entry.name: entry for entry in entries}
        except (FileNotFoundError, NotADirectoryError):
            listings[folder] = None
        except OSError as exc:
            raise InputError(f"folder '{folder}': cannot list ({exc.strerror})") from exc
    return listings[folder]


def _refuse_entry(entries: dict[str, os.DirEntry] | None, name: str, output: Path,
                  folder: bool) -> None:  # fmt: skip
    """Refuse the entry ``name`` of ``entries`` as a folder of ``output`` (``folder``) or as
    ``output`` itself. Links count as what they point to; a dangling one is replaced as
    the output, but not made a folder."""
    entry = entries.get(name) if entries else None
    if entry is None or (not folder and entry.is_symlink() and not os.path.exists(entry.path)):
        return
    if folder and not entry.is_dir():
        raise InputError(f"output '{output}': '{entry.path}' is a file where a folder of"
                         " the output must be; remove it or choose another --out or"
                         " --template")  # fmt: skip
    if not folder and entry.is_dir():
        raise InputError(f"output '{output}': is a directory, where the image must go; remove"
                         " it or choose another --out or --template")  # fmt: skip
    if not folder and not entry.is_file():
        raise InputError(f"output '{output}': is a device, pipe or socket, where the image"
                         " must go; remove it or choose another --out or --template")  # fmt: skip


def check_out_dir(path: Path) -> None:
    """Refuse, before any work, an --out that cannot be a folder: one that exists and is not
    a folder (a pipe, a device...) or is a symbolic link to a missing target, or, when it is
    missing, such a path above it where its folders must be created."""
    for candidate in (path, *path.parents):
        if os.path.isdir(candidate):
            return
        if not os.path.lexists(candidate):
            continue
        where = "" if candidate == path else f"'{candidate}' "
        try:
            mode = os.stat(candidate).st_mode
        except FileNotFoundError:
            target = os.readlink(candidate)
            raise InputError(f"--out '{path}': {where}is a symbolic link to a missing target"
                             f" '{target}'") from None  # fmt: skip
        except OSError as exc:
            raise InputError(f"--out '{path}': {where}cannot be followed ({exc.strerror})"
                             ) from None  # fmt: skip
        kind = next((name for is_kind, name in _KINDS if is_kind(mode)), "not a regular file")
        raise InputError(f"--out '{path}': {where}exists and is not a folder ({kind})")


_KINDS = ((stat.S_ISREG, "a file"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))  # fmt: skip


def refuse_outputs_in_input_folders(jobs: Iterable[Job], out_dir: Path, folders: Iterable[Path],
                                    template: str) -> None:  # fmt: skip
    """Refuse, before anything is created, an --out that is one of the input ``folders``
    (the --content and --style folders scanned) and a --template that puts an output
    directly in one: the next run would scan it and take the output for an input. The scan
    is not recursive, so an output in a subfolder of an input folder is allowed, as is a
    name the scan skips (a hidden one)."""
    scanned: dict[Path, Path] = {}
    for folder in folders:
        scanned.setdefault(folder.resolve(), folder)
    if out_dir.resolve() in scanned:
        raise InputError(f"--out '{out_dir}' is also an input folder; its outputs would be"
                         " read as inputs next time")  # fmt: skip
    resolved: dict[Path, Path] = {}  # each output folder, resolved once
    for job in jobs:
        path = out_dir / job.output
        if path.parent not in resolved:
            resolved[path.parent] = path.parent.resolve()
        folder = scanned.get(resolved[path.parent])
        if folder is not None and is_scanned_name(path.name):
            raise InputError(f"--template {template!r} puts output '{path}' in the input folder"
                             f" '{folder}', where the next run would read it as an input;"
                             " choose another --out or --template")  # fmt: skip


def refuse_outputs_over_masks(jobs: Iterable[Job], out_dir: Path) -> None:
    """Refuse, before anything is created, an output that is a job's --mask-template mask
    (an existing file or not, links followed): writing it would replace a mask that another
    job, or the next run, reads."""
    masks = {job.mask.resolve(): job.mask for job in jobs if job.mask is not None}
    for job in jobs:
        path = out_dir / job.output
        mask = masks.get(path.resolve())
        if mask is not None:
            raise InputError(f"output '{path}' is also the --mask-template mask '{mask}';"
                             " choose another --out, --template or --mask-template")  # fmt: skip


def prepare_out_dir(path: Path) -> Path:
    """Create --out if needed; refuse a folder that is not writable."""
    check_out_dir(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out '{path}': cannot create folder ({exc.strerror})") from exc
    if not path.is_dir():
        raise InputError(f"--out '{path}': not a folder")
    check_folder_writable(path, f"--out '{path}'")
    return path


def remove_stale_temporaries(out_dir: Path, jobs: Iterable[Job]) -> int:
    """Remove the temporary files a killed run left beside planned outputs (named
    ``.NAME.RANDOM.tmp`` by files.atomic_writer); call it holding the manifest's lock, so no
    other batch is writing them. Returns how many were removed."""
    names_by_folder: dict[Path, set[str]] = {}
    for job in jobs:
        path = out_dir / job.output
        names_by_folder.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, names in names_by_folder.items():
        for candidate in folder.glob(".*.tmp") if folder.is_dir() else ():
            if candidate.name[1:].rsplit(".", 2)[0] in names:
                candidate.unlink(missing_ok=True)
                removed += 1
    return removed
