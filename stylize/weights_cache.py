"""A cache of the validated conv layers of a weights file, so that later runs skip parsing.

The real imagenet-vgg-verydeep-19.mat is zlib-compressed (534.9 MB for 575 MB of floats):
scipy.io.loadmat needs about 3 s to inflate it, most of that for fc6-fc8, which style transfer
never uses. After the first load the conv layers (about 80 MB) are kept as an uncompressed
.npz, keyed by the file's path, size and modification time, and read from there on later
runs (about 0.1 s).

Location: ``$STYLIZE_CACHE_DIR``, else ``$XDG_CACHE_HOME/stylize``, else ``~/.cache/stylize``;
``STYLIZE_CACHE=off`` turns it off. A cache that cannot be written or read is ignored.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from stylize.files import atomic_writer

FORMAT = 1  # bump when the cached content changes meaning


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is turned off."""
    if os.environ.get("STYLIZE_CACHE", "").lower() in ("0", "off", "no", "false"):
        return None
    if os.environ.get("STYLIZE_CACHE_DIR"):
        return Path(os.environ["STYLIZE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "stylize"


def cache_path(weights_file: Path) -> Path | None:
    """Where the conv layers of ``weights_file`` are cached (None when caching is off)."""
    folder = cache_dir()
    if folder is None:
        return None
    info = weights_file.stat()
    key = f"{weights_file.resolve()}|{info.st_size}|{info.st_mtime_ns}|{FORMAT}"
    return folder / f"vgg19-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def read(weights_file: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays (``layout``, ``mean_pixel``, ``<layer>/kernel``, ``<layer>/bias``),
    or None on a miss or an unreadable cache file."""
    target = cache_path(weights_file)
    if target is None or not target.is_file():
        return None
    try:
        with np.load(target) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, KeyError):
        return None


def write(weights_file: Path, arrays: dict[str, np.ndarray]) -> None:
    """Store arrays for ``weights_file``; failures (read-only home, full disk) are ignored."""
    target = cache_path(weights_file)
    if target is None:
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(target) as stream:
            np.savez(stream, **arrays)
    except OSError:
        pass
