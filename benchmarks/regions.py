"""Cost per iteration of spatial control: two styles with left/right masks against one
style without, at the same size and settings, as whole ``stylize run`` processes.

Usage::

    python benchmarks/regions.py --size 400 --iterations 30 --weights random

Prints one JSON object: seconds per iteration of each (the optimization loop's seconds from
``--json`` divided by its iterations) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

IMAGES = Path(__file__).resolve().parent.parent / "images"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400, help="--max-size")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--weights", default="random", help="a .mat file or random[:SEED]")
    return parser.parse_args()


def _run(args, work: Path, *extra: str) -> dict:
    argv = [sys.executable, "-m", "stylize", "run", "--content", str(IMAGES / "content.jpg"),
            "--style", str(IMAGES / "style.jpg"), "--weights", args.weights, "--max-size",
            str(args.size), "--iterations", str(args.iterations), "--seed", "1", "-q",
            "--json", "--overwrite", "-o", str(work / "out.png"), *extra]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        width, height = Image.open(IMAGES / "content.jpg").size
        left = np.zeros((height, width), np.uint8)
        left[:, : width // 2] = 255
        Image.fromarray(left).save(work / "left.png")
        Image.fromarray(255 - left).save(work / "right.png")
        flipped = work / "style2.jpg"
        Image.open(IMAGES / "style.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(flipped)
        one = _run(args, work)
        two = _run(args, work, "--style", str(flipped), "--style-mask", str(work / "left.png"),
                   "--style-mask", str(work / "right.png"))  # fmt: skip
    per = {name: r["seconds"] / r["iterations"] for name, r in (("one", one), ("two", two))}
    print(json.dumps({"width": one["width"], "height": one["height"],
                      "iterations": args.iterations, "weights": one["weights"],
                      "one_style_s_per_iter": round(per["one"], 4),
                      "two_masked_styles_s_per_iter": round(per["two"], 4),
                      "ratio": round(per["two"] / per["one"], 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
