"""Print pip constraints that pin each of stylize's dependencies to its oldest allowed release.

Reads the installed project's metadata (its Requires-Dist lines, which come from
pyproject.toml), so stylize must be installed first (`pip install --no-deps -e .` is enough).
Each `name>=X.Y` becomes `name==X.Y.*`: the oldest minor release allowed, with its newest
patch, which is what a user who installed at that time would have. scripts/test_oldest.sh
uses it; run by hand:

    python scripts/oldest_constraints.py            # runtime and test dependencies
    python scripts/oldest_constraints.py --no-test  # runtime dependencies only
"""

from __future__ import annotations

import argparse
import re
from importlib import metadata

# "name[extra]>=1.2,<3; extra == 'test'" -> name, specifiers, marker
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9._-]+)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;(.*))?$")
_LOWER_BOUND = re.compile(r">=\s*([0-9]+(?:\.[0-9]+)*)")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def oldest_pins(requirements: list[str], extras: set[str]) -> list[str]:
    """`name==X.Y.*` for each requirement with a `>=X.Y` bound, in order, once per name.

    Requirements whose marker names an extra outside ``extras`` are left out. A requirement
    with no lower bound raises ValueError: its oldest release is not known.
    """
    pins: dict[str, str] = {}
    for line in requirements:
        match = _REQUIREMENT.match(line)
        if not match:
            raise ValueError(f"cannot read requirement {line!r}")
        name, specifiers, marker = match.groups()
        extra = _EXTRA.search(marker or "")
        if extra and extra.group(1) not in extras:
            continue
        bound = _LOWER_BOUND.search(specifiers)
        if not bound:
            raise ValueError(f"requirement {line!r} has no lower bound (>=)")
        pins.setdefault(name.lower(), f"{name}=={bound.group(1)}.*")
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
