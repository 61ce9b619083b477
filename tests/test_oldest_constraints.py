"""scripts/oldest_constraints.py: the pins scripts/test_oldest.sh installs."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "oldest_constraints.py"


def _module():
    spec = importlib.util.spec_from_file_location("oldest_constraints", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_lower_bound_becomes_its_minor_release_with_any_patch():
    requirements = ["tensorflow<3,>=2.12", "numpy >= 1.23.5", "ruff>=0.13,<0.18"]
    pins = _module().oldest_pins(requirements, set())
    assert pins == ["tensorflow==2.12.*", "numpy==1.23.5.*", "ruff==0.13.*"]


def test_extras_outside_the_chosen_ones_are_left_out_and_names_pinned_once():
    requirements = ['click>=8.2', 'ray>=2.9; extra == "test"', "ray>=2.9; extra == 'ray'",
                    'selenium[x]>=4.10; extra == "test"',
                    'pytest>=7.4; extra == "docs"']  # fmt: skip
    module = _module()
    assert module.oldest_pins(requirements, {"test"}) == ["click==8.2.*", "ray==2.9.*",
                                                          "selenium==4.10.*"]  # fmt: skip
    assert module.oldest_pins(requirements, set()) == ["click==8.2.*"]


@pytest.mark.parametrize("requirement", ["numpy", "numpy<3", "numpy==1.26"])
def test_a_requirement_without_a_lower_bound_is_refused(requirement):
    with pytest.raises(ValueError, match="no lower bound"):
        _module().oldest_pins([requirement], set())


def test_the_installed_projects_dependencies_are_all_pinned():
    """Run on this checkout's metadata: one pin per dependency of pyproject.toml and its test
    extra, each at the bound pyproject.toml states."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    bounds = {re.match(r"[\w.-]+", d)[0].lower(): re.search(r">=([\d.]+)", d)[1] for d in declared}
    printed = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip
    pinned = dict(line.lower().removesuffix(".*").split("==") for line in printed)
    assert pinned == bounds
