"""A cache of the validated conv layers of a weights file, so that later runs skip parsing.

The real imagenet-vgg-verydeep-19.mat is zlib-compressed (534.9 MB for 575 MB of floats):
scipy.io.loadmat needs about 3 s to inflate it, most of that for fc6-fc8, which style transfer
never uses. After the first load the conv layers (about 80 MB) are kept as an uncompressed
.npz, keyed by the file's path, size and modification time, and read from there on later
runs (about 0.1 s). They are read as views of a read-only memory map of that file, so that
their pages can be dropped from memory once a graph has copied them (see stylize.memory):
the arrays are read-only, and layers never used (conv5_2 and later, say) are never read.

Location: ``$STYLIZE_CACHE_DIR``, else ``$XDG_CACHE_HOME/stylize``, else ``~/.cache/stylize``;
``STYLIZE_CACHE=off`` turns it off. A cache that cannot be written or read is ignored.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
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
        return _mapped(target)
    except (OSError, ValueError, zipfile.BadZipFile, KeyError, struct.error):
        return None


def _mapped(target: Path) -> dict[str, np.ndarray]:
    """The arrays of an uncompressed .npz (as np.savez writes it), as read-only views of one
    memory map of the file, which stays open as long as any of them is alive."""
    with open(target, "rb") as stream, zipfile.ZipFile(stream) as archive:
        mapping = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        return {
            info.filename.removesuffix(".npy"): _member(archive, info, mapping)
            for info in archive.infolist()
        }


_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, mapping: mmap.mmap) -> np.ndarray:
    """One stored .npy member as a view of ``mapping``; ValueError for anything else."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{info.filename} is compressed")
    with archive.open(info) as member:
        reader = _HEADER_READERS.get(np.lib.format.read_magic(member))
        if reader is None:
            raise ValueError(f"{info.filename}: unknown .npy version")
        shape, fortran_order, dtype = reader(member)
        header = member.tell()
    if dtype.hasobject:
        raise ValueError(f"{info.filename} holds Python objects")
    # The member's data follow its local header: 30 bytes, then the name and extra field.
    name_length, extra_length = struct.unpack_from("<HH", mapping, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length + header
    count = int(np.prod(shape))
    flat = np.frombuffer(mapping, dtype, count, start)  # ValueError past the file's end
    return flat.reshape(shape[::-1]).T if fortran_order else flat.reshape(shape)


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
