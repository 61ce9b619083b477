"""Atomic file writes: a temporary file in the target's folder, flushed, then renamed."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from stylize.errors import InputError
from stylize.signals import held

_CHUNK = 1 << 20  # bytes read at a time while hashing
# atomic_writer's temporary name adds "." before the name and ".XXXXXXXX.tmp" after it.
TEMPORARY_NAME_EXTRA = 1 + 1 + 8 + 4


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only when the block ends without error.

    The temporary file sits in the same folder (so the rename is atomic) and is removed on
    any failure, Ctrl-C included; the new file gets the permissions the umask gives.
    Raises OSError as the operating system reports it.
    """
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")  # fmt: skip
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _sync_folder(target.parent)


def publish(temporary: Path, target: Path) -> None:
    """Finish a file written at ``temporary`` (beside ``target``, by another program): flush
    it to disk, give it the permissions the umask gives, rename it over ``target``. Raises
    OSError; the caller removes ``temporary`` on failure."""
    handle = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
    os.chmod(temporary, 0o666 & ~_current_umask())
    os.replace(temporary, target)
    _sync_folder(target.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    with atomic_writer(path) as stream:
        stream.write(text.encode("utf-8"))


def _current_umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it and put it back
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    """Flush the folder entry of a renamed file to disk, where the platform allows it."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def file_digests(path: str | os.PathLike, *algorithms: str) -> tuple[str, ...]:
    """Hex digests of a file by each of ``algorithms`` (hashlib names such as ``"md5"``,
    ``"sha256"``), read once in 1 MiB chunks (535 MB takes seconds). Raises OSError."""
    digests = [hashlib.new(name, usedforsecurity=False) for name in algorithms]
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            for digest in digests:
                digest.update(chunk)
    return tuple(digest.hexdigest() for digest in digests)


def check_writable(path: Path, label: str, overwrite: bool, error: type = InputError,
                   suffixes: frozenset[str] | None = None) -> None:  # fmt: skip
    """Refuse, before any work, a file that atomic_writer could not write at ``path``: a name
    too long for the file system once the temporary file's extra characters are added, a
    directory, an extension not in ``suffixes`` (when given; any case), a missing or
    read-only folder, or an existing file (or link) without ``overwrite``. ``label`` starts
    the message; ``error`` is the exception class raised."""
    check_name_length(path, label, error)  # first: stat() itself fails on too long a name
    if path.is_dir():
        raise error(f"{label}: is a directory (expected a file name such as result.png)")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        known = ", ".join(sorted(suffixes))
        found = f"extension '{path.suffix}'" if path.suffix else "no extension"
        raise error(f"{label}: unknown image type, {found} (expected one of {known})")
    folder = path.parent
    if not folder.is_dir():
        state = "is not a directory" if folder.exists() else "does not exist"
        raise error(f"{label}: folder '{folder}' {state}")
    if path.exists() and not is_regular_file(path):
        raise error(f"{label}: is a device, pipe or socket, which would be replaced by a"
                    " file (expected a file name)")  # fmt: skip
    check_folder_writable(folder, label, error)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise error(f"{label}: file already exists (pass --overwrite to replace it)")


def check_folder_writable(folder: Path, label: str, error: type = InputError) -> None:
    """Refuse an existing ``folder`` where no file can be created. access() is asked first,
    then a temporary file is made and removed: for root, access() says yes on sysfs, procfs
    and root-squashed network mounts, where creating a file fails."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"{label}: folder '{folder}' is not writable")
    with held():  # a signal between the two would leave the probe behind
        try:
            handle, probe = tempfile.mkstemp(dir=folder, prefix=".stylize-probe.", suffix=".tmp")
        except OSError as exc:
            raise error(f"{label}: folder '{folder}' is not writable ({exc.strerror})") from None
        os.close(handle)
        with contextlib.suppress(OSError):
            os.remove(probe)


def check_name_length(path: Path, label: str, error: type = InputError) -> None:
    """Refuse a file name that atomic_writer's temporary name would make too long for the
    file system of ``path``'s folder (ENAMETOOLONG only when the result is written)."""
    longest = name_max(path.parent) - TEMPORARY_NAME_EXTRA
    length = len(os.fsencode(path.name))
    if length > longest:
        raise error(f"{label}: the file name is {length} bytes long; expected at most"
                    f" {longest} on this file system")  # fmt: skip


def name_max(folder: Path) -> int:
    """The longest file name in bytes that ``folder``'s file system takes (255 when unknown),
    asked of the nearest folder that exists."""
    for candidate in (folder, *folder.absolute().parents):
        if candidate.is_dir():
            try:
                return os.pathconf(candidate, "PC_NAME_MAX")
            except (OSError, ValueError, AttributeError):
                return 255
    return 255


def is_regular_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file (after links): not a FIFO, device or folder."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
