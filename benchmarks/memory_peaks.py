"""Peak memory of ``stylize run`` by output size, against ``stylize.memory.step_bytes``.

Each run is a child process timed by ``wait4``, whose ``ru_maxrss`` is that child's peak
resident set. The weights are synthetic with the real layer sizes (about 575 MB, written
once into the work folder); the content is a noise photo large enough for every size.

Usage::

    python benchmarks/memory_peaks.py --sizes 320,640,960,1280 --optimizers adam,lbfgs

Prints one JSON line per run: optimizer, width, height, peak and estimate in bytes, and the
estimate's margin over the peak.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from stylize import memory
from stylize.config import Settings
from stylize.synthetic import REAL_CONV_WIDTHS, REAL_FC_WIDTHS, write_vgg19_mat
from stylize.weights import load_vgg19


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="320,640,960,1280", help="--max-size values")
    parser.add_argument("--optimizers", default="adam,lbfgs")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/results/memory"))
    return parser.parse_args()


def _inputs(work: Path) -> tuple[Path, Path, Path]:
    work.mkdir(parents=True, exist_ok=True)
    weights, content, style = work / "real.mat", work / "content.png", work / "style.png"
    if not weights.exists():
        write_vgg19_mat(weights, conv_widths=REAL_CONV_WIDTHS, fc_widths=REAL_FC_WIDTHS, seed=1)
    pixels = np.random.default_rng(0).integers(0, 256, (1200, 1600, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(content)
    Image.fromarray(255 - pixels[:600, :800]).save(style)
    return weights, content, style


def _peak(argv: list[str], env: dict) -> int:
    """Peak RSS in bytes of one child process (Linux reports ru_maxrss in KiB)."""
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    return usage.ru_maxrss * 1024


def main() -> None:
    args = _arguments()
    weights_path, content, style = _inputs(args.work)
    env = {**os.environ, "STYLIZE_CACHE_DIR": str(args.work / "cache")}
    # --scales 1: every iteration at the size measured, not coarse to fine.
    stylize = [sys.executable, "-m", "stylize", "run", "--content", str(content), "--style",
               str(style), "--weights", str(weights_path), "-q", "--overwrite",
               "--scales", "1"]  # fmt: skip
    _peak([*stylize, "--max-size", "64", "--iterations", "1", "-o", str(args.work / "w.png")], env)
    peaks = []
    for optimizer in args.optimizers.split(","):
        for size in map(int, args.sizes.split(",")):
            peak = _peak([*stylize, "--max-size", str(size), "--optimizer", optimizer,
                          "--iterations", str(args.iterations),
                          "-o", str(args.work / "out.png")], env)  # fmt: skip
            peaks.append((optimizer, size, peak))
    # Loaded only now: a child's ru_maxrss starts from its parent's resident set at the fork,
    # and parsing the .mat takes this process to about 2 GiB.
    weights = load_vgg19(weights_path, Settings().deepest_layer)
    for optimizer, size, peak in peaks:
        width, height = size, size * 3 // 4
        estimate = memory.step_bytes(weights, Settings(optimizer=optimizer), width, height)
        print(json.dumps({"optimizer": optimizer, "width": width, "height": height,
                          "peak": peak, "estimate": estimate,
                          "margin": round(estimate / peak - 1, 3)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
