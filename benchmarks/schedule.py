"""Coarse-to-fine schedules compared by the full-size J they reach against wall time.

Each plan is a list of ``side:iterations`` stages (the output's longest side at that scale,
the last one the output's own), run in a process of its own with stylize's Transfer; a plan
whose every stage ends in ``@rate`` (``1000:53@2,2000:26@0.5``) sets Adam's step per scale
instead of stylize's own choice (stylize.schedule.scale_learning_rates)::

    python benchmarks/schedule.py --size 4000 --precision bfloat16 \\
        --plan 4000:40 --plan 1000:9,2000:38,4000:25 --plan 500:107,1000:53,2000:27,4000:25

For every iteration it records the seconds since the job began (setup of each scale, the
evaluations between scales and the iterations, all counted; the weights are loaded before
the clock starts) and J at that iteration's scale. Only full-size J values compare across
plans: for each plan's final full-size J, taken as a target, the summary gives the seconds
each plan needed to reach it (None: not reached). Weights are tiling.py's real-shaped random
ones; images are the repository's examples (content at the output size, style at
--style-size). ``--images DIR`` keeps each plan's written image, to compare the pictures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402
from sample_images import example_image  # noqa: E402
from tiling import weights_file  # noqa: E402

from stylize.config import Settings  # noqa: E402
from stylize.device import CPU  # noqa: E402
from stylize.images import fit_within  # noqa: E402
from stylize.stylizer import Stylizer  # noqa: E402
from stylize.transfer import Transfer  # noqa: E402
from stylize.weights import load_vgg19  # noqa: E402


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4000, help="output's longest side (4:3)")
    parser.add_argument("--style-size", type=int, default=800, help="style's longest side")
    parser.add_argument(
        "--plan",
        action="append",
        required=True,
        help="side:iterations[@rate],... ending at --size; repeat for more plans",
    )
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--optimizer", default="adam", choices=("adam", "lbfgs"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", type=Path, help="default: real-shaped random weights")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/results/tiling"))
    parser.add_argument("--images", type=Path, help="write each plan's image here, to look at")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child
    return parser.parse_args()


def _plan(text: str, width: int, height: int) -> tuple[list, list[float] | None]:
    """((width, height), iterations) per stage, and Adam's steps when every stage names one
    (``side:iterations@rate``; None: stylize's own per-scale steps)."""
    stages, rates = [], []
    for stage in text.split(","):
        sizes, _, rate = stage.partition("@")
        side, iterations = (int(part) for part in sizes.split(":"))
        stages.append((fit_within(width, height, side), iterations))
        rates.append(float(rate) if rate else None)
    if any(rate is None for rate in rates):
        if any(rates):
            raise SystemExit(f"{text}: give every stage a @rate, or none")
        return stages, None
    return stages, rates


def run_plan(args) -> dict:
    """One plan in this process: per-iteration records and the final image's J."""
    settings = Settings(seed=args.seed, precision=args.precision, optimizer=args.optimizer)
    weights = load_vgg19(weights_file(args), settings.deepest_layer)
    width, height = args.size, args.size * 3 // 4
    content = np.asarray(example_image("content", (width, height)), np.uint8)
    style_side = (args.style_size, args.style_size * 3 // 4)
    style = np.asarray(example_image("style", style_side), np.uint8)
    plan, rates = _plan(args.plan[0], width, height)
    stylizer = Stylizer(weights, settings, CPU)
    began = time.perf_counter()
    transfer = Transfer(stylizer, content, [style], args.seed, plan=plan, rates=rates)
    records = []
    for progress in transfer.run():
        records.append({"seconds": time.perf_counter() - began, "scale": progress.scale,
                        "J": progress.costs.J})  # fmt: skip
    result = transfer.finish()
    wall = time.perf_counter() - began
    stylizer.close()
    if args.images:
        args.images.mkdir(parents=True, exist_ok=True)
        name = args.plan[0].replace(":", "x").replace(",", "_").replace("@", "-lr")
        Image.fromarray(result.image).save(args.images / f"{args.optimizer}-{name}.png")
    return {"plan": args.plan[0], "records": records, "final_J": result.costs.J,
            "learning_rates": transfer.rates,
            "wall_seconds": wall, "setup_seconds": result.setup_seconds}  # fmt: skip


def _child(args, plan: str) -> dict:
    argv = [sys.executable, __file__, "--one", "--plan", plan, "--size", str(args.size),
            "--style-size", str(args.style_size), "--precision", args.precision,
            "--optimizer", args.optimizer, "--seed", str(args.seed), "--work", str(args.work),
            *(["--weights", str(args.weights)] if args.weights else []),
            *(["--images", str(args.images)] if args.images else [])]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{plan} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def full_size_curve(found: dict, scales: int) -> list[tuple[float, float]]:
    """(seconds, J) of the iterations at full size (the plan's last scale)."""
    return [(r["seconds"], r["J"]) for r in found["records"] if r["scale"] == scales]


def seconds_to(curve: list[tuple[float, float]], target: float) -> float | None:
    """The first time a curve's J is at or under ``target``."""
    return next((seconds for seconds, cost in curve if cost <= target), None)


def summary(runs: list[dict]) -> list[dict]:
    """For each plan's final full-size J as the target, every plan's seconds to reach it."""
    curves = {run["plan"]: full_size_curve(run, len(run["plan"].split(","))) for run in runs}
    table = []
    for run in runs:
        target = min(cost for _, cost in curves[run["plan"]])
        table.append({"target_from": run["plan"], "target_J": target,
                      "seconds": {plan: seconds_to(curve, target)
                                  for plan, curve in curves.items()}})  # fmt: skip
    return table


def main() -> None:
    args = _arguments()
    if args.one:
        json.dump(run_plan(args), sys.stdout)
        return
    weights_file(args)
    runs = []
    for plan in args.plan:
        runs.append(_child(args, plan))
        print(f"{plan}: {runs[-1]['wall_seconds']:.0f} s, final J {runs[-1]['final_J']:.6g}",
              file=sys.stderr)  # fmt: skip
    json.dump({"machine": machine_info(), "size": args.size, "precision": args.precision,
               "optimizer": args.optimizer, "runs": runs, "summary": summary(runs)},
              sys.stdout, indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
