"""The manifest of batch and video: torn and bad lines, the lock, strict JSON."""

from __future__ import annotations

import errno
import json
import os

import pytest

from stylize.errors import InputError, RunError
from stylize.manifest import Manifest, clean_json, parse_lines, with_setting_defaults


def test_manifest_drops_a_torn_last_line_and_skips_bad_ones(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(b'{"output": "a.png", "status": "ok"}\nnot json\n[1]\n{"output": "b.pn')
    with Manifest(path) as manifest:
        assert manifest.dropped_tail and manifest.bad_lines == 2
        assert [r["output"] for r in manifest.records] == ["a.png"]
        manifest.append({"output": "b.png", "status": "ok", "J": float("nan")})
        manifest.append({"output": "a.png", "status": "failed", "values": (1, 2)})
        assert manifest.latest()["a.png"]["status"] == "failed"
    lines = path.read_text().splitlines()
    assert lines[-2:] == [
        '{"output": "b.png", "status": "ok", "J": null}',
        '{"output": "a.png", "status": "failed", "values": [1, 2]}',
    ]
    assert all(json.loads(line) for line in lines if line not in ("not json",))


def test_manifest_is_locked_while_a_batch_writes_it(tmp_path):
    with Manifest(tmp_path / "manifest.jsonl"), pytest.raises(InputError, match="locked"):
        Manifest(tmp_path / "manifest.jsonl").open()


def test_parse_lines_and_clean_json():
    assert parse_lines(b'{"a": 1}\n\n  \n{"b": 2}') == ([{"a": 1}, {"b": 2}], 0)
    assert clean_json({"x": [float("inf"), 1.5], 2: (None,)}) == {"x": [None, 1.5], "2": [None]}


def test_a_manifest_that_is_a_symbolic_link_is_refused_and_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (tmp_path / "manifest.jsonl").symlink_to(victim)
    with pytest.raises(InputError, match="symbolic link"):
        Manifest(tmp_path / "manifest.jsonl").open()
    assert victim.read_text() == "keep\n"


def test_a_full_disk_while_appending_is_a_run_error_naming_the_manifest(tmp_path, monkeypatch):
    with Manifest(tmp_path / "manifest.jsonl") as manifest:
        manifest.append({"output": "a.png", "status": "ok"})

        def full(fd, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "write", full)
        with pytest.raises(RunError, match="manifest.jsonl': cannot append \\(No space left"):
            manifest.append({"output": "b.png", "status": "ok"})
    monkeypatch.undo()
    with Manifest(tmp_path / "manifest.jsonl") as again:
        assert [r["output"] for r in again.records] == ["a.png"]


def test_settings_missing_from_an_old_record_take_their_defaults():
    wanted = {"iterations": 3, "scale_ratio": 2.0, "style_layers": [["conv1_1", 1.0]],
              "temporal_weight": 5.0}  # fmt: skip
    stored = {"iterations": 3, "style_layers": [["conv1_1", 1.0]]}
    filled = with_setting_defaults(stored, wanted)
    # A run setting takes its default; anything else (not a Settings field) stays missing.
    assert filled == {"iterations": 3, "style_layers": [["conv1_1", 1.0]], "scale_ratio": 2.0}
    assert with_setting_defaults({**stored, "scale_ratio": 4.0}, wanted)["scale_ratio"] == 4.0
    assert with_setting_defaults({"iterations": 3}, {"content_layers": None})["content_layers"] == [
        ["conv4_2", 1.0]
    ]  # fmt: skip
