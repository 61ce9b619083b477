"""Shared fixtures: tiny synthetic VGG-19 weight files in both layouts, and tiny images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylize.synthetic import write_vgg19_mat


@pytest.fixture(scope="session", autouse=True)
def weights_cache_in_tmp(tmp_path_factory):
    """Keep the weights cache (and subprocesses' caches) out of the user's home."""
    previous = os.environ.get("STYLIZE_CACHE_DIR")
    os.environ["STYLIZE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("STYLIZE_CACHE_DIR", None)
    else:
        os.environ["STYLIZE_CACHE_DIR"] = previous


def _resident_kb(path) -> int:
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            if "-" in line.split(" ", 1)[0]:  # a mapping's first line
                inside = line.rstrip().endswith(str(path))
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


@pytest.fixture
def resident_kb():
    """A function: resident KB of this process's mappings of a file, from /proc/self/smaps
    (Linux only)."""
    return _resident_kb


@pytest.fixture(scope="session")
def vgg_files(tmp_path_factory) -> dict[str, object]:
    """One tiny weights file per MatConvNet layout: {"new": path, "old": path}."""
    folder = tmp_path_factory.mktemp("weights")
    return {layout: write_vgg19_mat(folder / f"{layout}.mat", layout) for layout in ("new", "old")}


@pytest.fixture(scope="session")
def vgg_file(vgg_files):
    return vgg_files["new"]


def _pattern(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) % 64 * 4], axis=-1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def image_files(tmp_path_factory) -> dict[str, object]:
    """A 32x24 content PNG and a 40x40 style PNG."""
    folder = tmp_path_factory.mktemp("images")
    content, style = folder / "content.png", folder / "style.png"
    Image.fromarray(_pattern(32, 24, 1)).save(content)
    Image.fromarray(_pattern(40, 40, 2)[:, ::-1]).save(style)
    return {"content": content, "style": style}


def _gradient(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth gradient with noise, (height, width, 3) uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x * y) % 97 * 2.5], axis=-1)
    return np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def gradient():
    """A function (width, height, seed) -> a smooth (height, width, 3) uint8 gradient with
    noise, for images of any size."""
    return _gradient


@pytest.fixture
def batch_folder(tmp_path) -> Path:
    """c/ with two PNGs (32x24 and 20x40), a text file and a hidden PNG; s/ with one PNG."""
    (tmp_path / "c").mkdir()
    (tmp_path / "s").mkdir()
    Image.fromarray(_gradient(32, 24, 1)).save(tmp_path / "c" / "b.png")
    Image.fromarray(_gradient(20, 40, 2)).save(tmp_path / "c" / "a.PNG")
    Image.fromarray(_gradient(20, 20, 3)).save(tmp_path / "c" / ".hidden.png")
    (tmp_path / "c" / "notes.txt").write_text("not an image")
    Image.fromarray(_gradient(40, 40, 4)).save(tmp_path / "s" / "x.png")
    return tmp_path
