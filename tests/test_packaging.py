"""The wheel built from a clean copy of the checkout: every package, the bundled photo with
its CC0 notice, and the MIT licence."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = {".git", ".venv", "build", "dist", ".pytest_cache", ".ruff_cache", "__pycache__"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("checkout") / "stylize"
    shutil.copytree(ROOT, source, ignore=lambda folder, names: [
        n for n in names if n in LEFT_OUT or n.endswith(".egg-info") or n.endswith(".mat")
    ])  # fmt: skip
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--wheel-dir", str(out), str(source)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("stylize-*.whl")
    return zipfile.ZipFile(built)


@pytest.mark.slow
def test_the_wheel_holds_every_package_and_the_bundled_data(wheel):
    names = set(wheel.namelist())
    for package in ("stylize", "stylize/cli", "stylize/batch", "stylize/preview"):
        assert f"{package}/__init__.py" in names
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "stylize").rglob("*.py")}
    assert sources <= names
    assert {"stylize/data/cat.jpg", "stylize/data/README.md"} <= names
    page = {f"stylize/preview/{name}" for name in ("page.html", "preview.js", "preview.css")}
    assert page <= names  # the preview page is served from the installed package
    notice = wheel.read("stylize/data/README.md").decode()
    assert "CC0" in notice and "Stefan van der Walt" in notice


@pytest.mark.slow
def test_the_wheel_carries_the_mit_licence(wheel):
    metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    text = wheel.read(metadata).decode()
    assert "License-Expression: MIT" in text and "License-File: LICENSE" in text
    licence = next(n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE"))
    assert wheel.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert b"MIT License" in wheel.read(licence) and b"Copyright (c) 2026 stylize" in (
        wheel.read(licence)
    )
