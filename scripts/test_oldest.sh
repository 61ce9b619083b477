#!/usr/bin/env bash
# Runs the test suite against the oldest releases pyproject.toml allows: a throwaway virtual
# environment with the given Python (default python3; use the oldest supported, 3.10), the
# project installed editable, and every dependency pinned to its lower bound by
# scripts/oldest_constraints.py. Arguments after the Python go to pytest.
#
#   scripts/test_oldest.sh python3.10
#   scripts/test_oldest.sh python3.10 -m "not slow"
#
# Needs PyPI (about 1 GB of wheels, 2.7 GB installed). STYLIZE_OLDEST_VENV keeps the
# environment in that folder for a second run; otherwise it is removed at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-python3}"
[ $# -gt 0 ] && shift

if [ -n "${STYLIZE_OLDEST_VENV:-}" ]; then
    venv="$STYLIZE_OLDEST_VENV"
else
    venv="$(mktemp -d)/venv"
    trap 'rm -rf "$(dirname "$venv")"' EXIT
fi

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip packaging
"$venv/bin/python" -m pip install --quiet --no-deps -e "$root"
constraints="$venv/oldest-constraints.txt"
"$venv/bin/python" "$root/scripts/oldest_constraints.py" >"$constraints"
"$venv/bin/python" -m pip install --quiet -c "$constraints" -e "$root[test]"

"$venv/bin/python" --version
"$venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(tensorflow|numpy|scipy|imageio|imageio-ffmpeg|pillow|pillow[-_]heif|click|matplotlib|opencv-python-headless|threadpoolctl|pytest|ruff|ray|selenium) '
cd "$root"
"$venv/bin/python" -m pytest "$@"
