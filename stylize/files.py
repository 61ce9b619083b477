"""Atomic file writes: a temporary file in the target's folder, flushed, then renamed."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20  # bytes read at a time while hashing


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
