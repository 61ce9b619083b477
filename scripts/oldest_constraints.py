"""Print pip constraints that pin each of stylize's dependencies to its oldest allowed release.

Reads the installed project's metadata (its Requires-Dist lines, which come from
pyproject.toml), so stylize must be installed first (`pip install --no-deps -e .` is enough),
and packaging, which pytest needs too.
Each `name>=X.Y` becomes `name==X.Y.*`: the oldest minor release allowed, with its newest
patch, which is what a user who installed at that time would have. scripts/test_oldest.sh
uses it; run by hand:

    python scripts/oldest_constraints.py            # runtime and test dependencies
    python scripts/oldest_constraints.py --no-test  # runtime dependencies only
"""

from __future__ import annotations

import argparse
from importlib import metadata

from packaging.requirements import Requirement  # pytest's own dependency


def oldest_pins(requirements: list[str], extras: set[str]) -> list[str]:
    """`name==X.Y.*` for each requirement with a `>=X.Y` bound, in order, once per name.

    Requirements whose marker names an extra outside ``extras`` are left out. A requirement
    with no lower bound raises ValueError: its oldest release is not known.
    """
    pins: dict[str, str] = {}
    for line in requirements:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker and not any(marker.evaluate({"extra": extra}) for extra in extras | {""}):
            continue
        bounds = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if not bounds:
            raise ValueError(f"requirement {line!r} has no lower bound (>=)")
        pins.setdefault(requirement.name.lower(), f"{requirement.name}=={bounds[0]}.*")
    return list(pins.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-test", action="store_true", help="leave out the test extra")
    parser.add_argument("--project", default="stylize", help="installed distribution's name")
    arguments = parser.parse_args()
    extras = set() if arguments.no_test else {"test"}
    requirements = metadata.requires(arguments.project) or []
    for pin in oldest_pins(requirements, extras):
        print(pin)


if __name__ == "__main__":
    main()
