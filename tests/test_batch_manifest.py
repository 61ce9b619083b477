"""The batch manifest: torn and bad lines, the lock, strict JSON."""

from __future__ import annotations

import json

import pytest

from stylize.batch.manifest import Manifest, clean_json, parse_lines
from stylize.errors import InputError


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
