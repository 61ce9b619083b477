"""Atomic writes and streamed file digests."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from stylize import files
from stylize.errors import InputError


def test_digests_are_streamed_in_chunks(vgg_file, monkeypatch):
    monkeypatch.setattr(files, "_CHUNK", 7)  # many chunks, the last one partial
    data = vgg_file.read_bytes()
    md5, sha256 = files.file_digests(vgg_file, "md5", "sha256")
    assert (md5, sha256) == (hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest())


def test_digests_of_an_unreadable_path_raise_oserror(tmp_path):
    with pytest.raises(OSError):
        files.file_digests(tmp_path / "absent", "sha256")


def test_atomic_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    files.atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), files.atomic_writer(target) as stream:
        stream.write(b"half")
        raise RuntimeError("fault while writing")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_publish_renames_a_finished_file_over_the_target_with_the_umasks_permissions(tmp_path):
    target, temporary = tmp_path / "clip.mp4", tmp_path / ".clip.x.mp4"
    target.write_bytes(b"old")
    temporary.write_bytes(b"new")
    os.chmod(temporary, 0o600)  # as mkstemp makes it
    before = os.umask(0o027)
    try:
        files.publish(temporary, target)
    finally:
        os.umask(before)
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_check_writable_refuses_a_pipe_or_device_even_with_overwrite(tmp_path):
    os.mkfifo(tmp_path / "history.jsonl")
    for path in (tmp_path / "history.jsonl", Path("/dev/null")):
        with pytest.raises(InputError, match="is a device, pipe or socket"):
            files.check_writable(path, "--history", overwrite=True)
    assert stat.S_ISFIFO(os.stat(tmp_path / "history.jsonl").st_mode)


def test_check_writable_passes_a_new_name_and_an_existing_file_with_overwrite(tmp_path):
    files.check_writable(tmp_path / "new.png", "-o", overwrite=False)
    (tmp_path / "old.png").write_bytes(b"x")
    files.check_writable(tmp_path / "old.png", "-o", overwrite=True)
    with pytest.raises(InputError, match="already exists"):
        files.check_writable(tmp_path / "old.png", "-o", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png"]


@pytest.mark.skipif(
    not os.access("/sys", os.W_OK), reason="access() says /sys is writable only for root"
)
def test_a_folder_that_access_calls_writable_but_takes_no_file_is_refused():
    # As root, access() says yes for sysfs; creating a file there fails with EACCES.
    with pytest.raises(InputError, match=r"folder '/sys' is not writable \(Permission denied\)"):
        files.check_folder_writable(Path("/sys"), "output image '/sys/o.png'")
    with pytest.raises(InputError, match="is not writable"):
        files.check_writable(Path("/sys/o.png"), "output image '/sys/o.png'", overwrite=False)


def test_the_folder_probe_leaves_nothing_behind(tmp_path):
    files.check_folder_writable(tmp_path, "--out")
    assert list(tmp_path.iterdir()) == []


def test_a_signal_during_the_folder_probe_leaves_no_probe_behind(tmp_path, monkeypatch):
    import signal
    import tempfile

    from stylize.signals import signals_raise

    real = tempfile.mkstemp

    def signal_after_creating(*args, **kwargs):
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # between creating the probe and removing it
        return made

    monkeypatch.setattr(files.tempfile, "mkstemp", signal_after_creating)
    with pytest.raises(KeyboardInterrupt), signals_raise():
        files.check_folder_writable(tmp_path, "--out")
    assert list(tmp_path.iterdir()) == []
