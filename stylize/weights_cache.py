"""A cache of the validated conv layers of a weights file, so that later runs skip parsing.

The real imagenet-vgg-verydeep-19.mat is zlib-compressed (534.9 MB for 575 MB of floats):
scipy.io.loadmat needs about 3 s to inflate it, most of that for fc6-fc8, which style transfer
never uses. After the first load the conv layers (about 80 MB) are kept as an uncompressed
.npz, keyed by the file's path, device, inode, size, modification and inode change times,
and read from there on later runs (about 0.1 s). They are read as views of a read-only
memory map of that file, so that their pages can be dropped from memory once a graph has
copied them (see stylize.memory); every member is checked against the CRC-32 the ZIP format
stores with it, and a cache that does not match is rebuilt from the weights file.

Location: ``$STYLIZE_CACHE_DIR``, else ``$XDG_CACHE_HOME/stylize``, else ``~/.cache/stylize``;
``STYLIZE_CACHE=off`` turns it off. A cache that cannot be written or read is ignored.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from stylize.files import atomic_writer

FORMAT = 2  # bump when the cached content changes meaning (2: non-finite weights refused)


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
    # Size and modification time alone can be copied from another file (cp -p, rsync -t,
    # touch -r); the inode change time cannot be set by any tool, and writing or replacing
    # the file changes it (as does chmod, which only costs a rebuild).
    identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    key = f"{weights_file.resolve()}|{'|'.join(map(str, identity))}|{FORMAT}"
    return folder / f"vgg19-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def read(weights_file: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays (``layout``, ``mean_pixel``, ``<layer>/kernel``, ``<layer>/bias``),
    or None on a miss, an unreadable cache file or one whose bytes no longer match the CRC-32
    that the ZIP format stored with each member (the caller then rebuilds it)."""
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
    begin = info.header_offset + 30 + name_length + extra_length
    _check_crc(info, mapping, begin)
    start = begin + header
    count = int(np.prod(shape))
    flat = np.frombuffer(mapping, dtype, count, start)  # ValueError past the file's end
    return flat.reshape(shape[::-1]).T if fortran_order else flat.reshape(shape)


def _check_crc(info: zipfile.ZipInfo, mapping: mmap.mmap, begin: int) -> None:
    """Compare a member's bytes with the CRC-32 its ZIP headers store. Reading through the
    map skips zipfile's own check, so a bit flipped on disk would otherwise go unseen; at
    about 2 GB/s this costs some 40 ms for the real file's 80 MB of conv layers."""
    data = memoryview(mapping)[begin : begin + info.file_size]
    try:
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            raise ValueError(f"{info.filename}: CRC-32 mismatch")
    finally:
        data.release()


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
