"""Cost per job of ``stylize batch`` against ``stylize run`` called once per job.

Both are timed as a shell script would see them: wall-clock seconds of whole processes, so
``run`` pays for the TensorFlow import, the weights and the graph in every job while
``batch`` pays for them once (per worker). The images are synthetic; the weights file is
the one given, or a small file with random weights (``--real-shapes``: the real layer
sizes, about 575 MB, so the weights' loading cost is realistic).

Usage::

    python benchmarks/batch_vs_run.py --contents 3 --styles 2 --size 64x48 --iterations 10
    python benchmarks/batch_vs_run.py --real-shapes --contents 3 --styles 1 --size 200x150

Prints one JSON object: seconds in all and per job for each way, the ratio, and whether the
two ways wrote the same bytes (they should, with the same seed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from stylize.synthetic import REAL_CONV_WIDTHS, REAL_FC_WIDTHS, write_vgg19_mat


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="VGG-19 .mat (default: synthetic)")
    parser.add_argument(
        "--real-shapes",
        action="store_true",
        help="synthetic weights with the real layer sizes (~575 MB)",
    )
    parser.add_argument("--contents", type=int, default=3)
    parser.add_argument("--styles", type=int, default=2)
    parser.add_argument("--size", default="64x48", help="WIDTHxHEIGHT of every image")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1, help="batch --jobs")
    parser.add_argument("--workdir", type=Path, help="kept afterwards (default: a temp folder)")
    return parser.parse_args()  # fmt: skip


def _images(folder: Path, prefix: str, count: int, size: tuple[int, int], seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    for index in range(count):
        base = np.stack([x * 255 / width, y * 255 / height, (x * y * (index + 1)) % 251], -1)
        noisy = base + rng.normal(0, 30, base.shape)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
            folder / f"{prefix}{index}.png"
        )


def _timed(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def _common(args, weights: Path) -> list[str]:
    return ["--weights", str(weights), "--iterations", str(args.iterations), "--seed", "0",
            "--device", "cpu", "--quiet"]  # fmt: skip


def _per_run(args, weights: Path, work: Path) -> float:
    out = work / "run"
    out.mkdir(exist_ok=True)
    total = 0.0
    for content in sorted((work / "c").iterdir()):
        for style in sorted((work / "s").iterdir()):
            output = out / f"{content.stem}_{style.stem}.png"
            total += _timed([sys.executable, "-m", "stylize", "run", "--content", str(content),
                             "--style", str(style), "-o", str(output), "--overwrite",
                             *_common(args, weights)])  # fmt: skip
    return total


def _batch(args, weights: Path, work: Path) -> float:
    return _timed([sys.executable, "-m", "stylize", "batch", "--content", str(work / "c"),
                   "--style", str(work / "s"), "--out", str(work / "batch"), "--force",
                   "--jobs", str(args.jobs), *_common(args, weights)])  # fmt: skip


def main() -> None:
    args = _arguments()
    size = tuple(int(side) for side in args.size.split("x"))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="batch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    _images(work / "c", "c", args.contents, size, 1)
    _images(work / "s", "s", args.styles, size, 2)
    weights = args.weights
    if weights is None:
        weights = work / ("real-shapes.mat" if args.real_shapes else "tiny.mat")
        if not weights.exists():
            widths = (REAL_CONV_WIDTHS, REAL_FC_WIDTHS) if args.real_shapes else ()
            write_vgg19_mat(weights, "new", *widths)
    jobs = args.contents * args.styles
    run_seconds = _per_run(args, weights, work)
    batch_seconds = _batch(args, weights, work)
    same = all((work / "batch" / p.name).read_bytes() == p.read_bytes()
               for p in (work / "run").glob("*.png"))  # fmt: skip
    print(json.dumps({
        "jobs": jobs, "size": args.size, "iterations": args.iterations,
        "weights": str(weights), "batch_workers": args.jobs,
        "run_seconds": round(run_seconds, 2), "batch_seconds": round(batch_seconds, 2),
        "run_seconds_per_job": round(run_seconds / jobs, 2),
        "batch_seconds_per_job": round(batch_seconds / jobs, 2),
        "ratio": round(run_seconds / batch_seconds, 2), "same_images": same,
        "workdir": str(work),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
