"""A command's manifest, ``manifest.jsonl`` in its output folder: one JSON object per
finished or failed job (``stylize batch``) or frame (``stylize video``). Only the command's
driver writes it: whole lines, appended with one ``write`` each, flushed and fsynced before
the next record is reported, under an exclusive lock that keeps a second command out of the
same folder. A crash can at worst leave the last line cut short; the next run drops that
incomplete line (what it described is simply done again). A complete line that does not
parse is skipped and counted, so one damaged line never hides the others. Records are read
in order and, for each output, the last one is the one that counts.
"""

from __future__ import annotations

import errno
import json
import math
import os
from pathlib import Path

from stylize.config import Settings
from stylize.errors import InputError, RunError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None

MANIFEST_NAME = "manifest.jsonl"


class Manifest:
    """An open manifest: ``records`` as read, then ``append`` one record per job.

    Use as a context manager; opening takes the lock, repairs a torn last line and reads
    every record. ``dropped_tail`` tells whether a torn line was removed and ``bad_lines``
    how many complete lines did not parse.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.records: list[dict] = []
        self.dropped_tail = False
        self.bad_lines = 0
        self._fd: int | None = None

    def __enter__(self) -> Manifest:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        """Lock the file (creating it), cut off a torn last line and read the records."""
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        try:
            self._fd = os.open(self.path, flags, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a link could make the batch append to any file
                raise InputError(f"manifest '{self.path}' is a symbolic link; expected a"
                                 " plain file (remove the link)") from None  # fmt: skip
            raise InputError(f"manifest '{self.path}': cannot open ({exc.strerror})") from exc
        self._lock()
        data = self._read_all()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            os.ftruncate(self._fd, keep)
            os.fsync(self._fd)
            data, self.dropped_tail = data[:keep], True
        self.records, self.bad_lines = parse_lines(data)

    def _lock(self) -> None:
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise InputError(
                f"manifest '{self.path}' is locked: another stylize command is writing to this"
                " folder"
            ) from None

    def _read_all(self) -> bytes:
        size = os.fstat(self._fd).st_size
        return os.pread(self._fd, size, 0) if size else b""

    def append(self, record: dict) -> None:
        """Write ``record`` as one line and force it to disk before returning; RunError when
        the file cannot take it (a torn line is dropped by the next open)."""
        line = (json.dumps(clean_json(record), allow_nan=False) + "\n").encode("utf-8")
        view = memoryview(line)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError as exc:  # a full disk, say: stop, since a job not recorded is lost
            raise RunError(
                f"manifest '{self.path}': cannot append ({exc.strerror or exc}); the jobs"
                " recorded before are kept, run the same command again once this is fixed"
            ) from None
        self.records.append(record)

    def close(self) -> None:
        """Release the lock and the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def latest(self) -> dict[str, dict]:
        """The last record of each output (paths relative to the output folder)."""
        return {r["output"]: r for r in self.records if isinstance(r.get("output"), str)}


def parse_lines(data: bytes) -> tuple[list[dict], int]:
    """Parse complete JSON lines into dicts; return them and the count of unusable lines."""
    records, bad = [], 0
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            bad += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    return records, bad


def clean_json(value):
    """``value`` with non-finite floats as None and tuples as lists, so it is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


_DEFAULTS = clean_json(Settings().as_dict())  # every setting's default, as a record stores it


def with_setting_defaults(stored: dict, wanted: dict) -> dict:
    """A record's stored settings with each run setting (a ``Settings`` field) that
    ``wanted`` has and ``stored`` lacks filled in with its default, as strict JSON. A record
    written before a setting existed ran as its default does: settings are added with
    defaults that keep what came before, so an upgrade does not redo finished work."""
    missing = {key: _DEFAULTS[key] for key in wanted.keys() - stored.keys() if key in _DEFAULTS}
    return {**stored, **missing}
