"""Tiled J and gradient (stylize.tiled): exactness, cost per megapixel-iteration, the peak
memory of a print-size run, and the per-iteration time where tiling is not needed.

Modes (each prints one JSON object on stdout)::

    python benchmarks/tiling.py exactness --size 480 --tile-size 160 --iterations 3
    python benchmarks/tiling.py cost --size 4000 --iterations 2 --reference 480
    python benchmarks/tiling.py scale --size 4000 --style-size 800 --optimizers adam,lbfgs
    python benchmarks/tiling.py regression --size 400 --baseline /tmp/old-checkout

Weights are synthetic with VGG-19's real layer sizes (written once into --work) unless
--weights names a file; images are the repository's examples, resized (sample_images.py).
``scale`` and ``regression`` run ``stylize run`` as child processes timed by ``wait4``
(peak RSS from ``ru_maxrss``); ``regression`` alternates this checkout and --baseline
(another checkout's source folder, run with the same interpreter).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import ROOT, machine_info  # noqa: E402
from sample_images import example_image  # noqa: E402

from stylize.config import Settings  # noqa: E402
from stylize.device import CPU  # noqa: E402
from stylize.images import preprocess  # noqa: E402
from stylize.optimize import TransferGraph  # noqa: E402
from stylize.stylizer import Stylizer  # noqa: E402
from stylize.synthetic import REAL_CONV_WIDTHS, REAL_FC_WIDTHS, write_vgg19_mat  # noqa: E402
from stylize.tile_net import TileNet  # noqa: E402
from stylize.tiled import TiledGraph  # noqa: E402
from stylize.transfer import Transfer  # noqa: E402
from stylize.weights import load_vgg19  # noqa: E402


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("exactness", "cost", "scale", "regression"))
    parser.add_argument("--size", type=int, default=480, help="longest side of the output")
    parser.add_argument("--tile-size", type=int, default=0, help="0: stylize's own choice")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--reference", type=int, default=480, help="cost: untiled size")
    parser.add_argument("--style-size", type=int, default=800, help="scale: style's long side")
    parser.add_argument("--optimizers", default="adam,lbfgs", help="scale: which to run")
    parser.add_argument("--rounds", type=int, default=3, help="regression: alternations")
    parser.add_argument("--baseline", type=Path, help="regression: the other checkout")
    parser.add_argument("--weights", type=Path, help="default: real-shaped random weights")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/results/tiling"))
    return parser.parse_args()


def weights_file(args) -> Path:
    """--weights, or the real-shaped random weights written once into --work (schedule.py
    shares them)."""
    if args.weights:
        return args.weights
    path = args.work / "real.mat"
    if not path.exists():
        args.work.mkdir(parents=True, exist_ok=True)
        write_vgg19_mat(path, conv_widths=REAL_CONV_WIDTHS, fc_widths=REAL_FC_WIDTHS, seed=1)
    return path


def _size(longest: int) -> tuple[int, int]:
    return longest, longest * 3 // 4


def _picture(role: str, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(example_image(role, size), np.uint8)


# --- exactness -------------------------------------------------------------------------


def exactness(args) -> dict:
    """J and gradient of one image in one pass and in tiles, then whole seeded runs."""
    settings = Settings(seed=1, iterations=args.iterations)
    weights = load_vgg19(weights_file(args), settings.deepest_layer)
    width, height = _size(args.size)
    content, style = _picture("content", (width, height)), _picture("style", (width, height))
    whole = TransferGraph(weights, settings, CPU)
    net = TileNet(weights, settings, CPU)
    tiled = TiledGraph(net, weights.mean_pixel, height, width, settings, args.tile_size or 160)
    targets = whole.content_features(preprocess(content, weights.mean_pixel))
    grams = whole.style_grams(preprocess(style, weights.mean_pixel))
    whole.set_targets(targets, grams)
    tiled.set_targets(targets, grams)
    image = preprocess(content, weights.mean_pixel) + np.random.default_rng(0).uniform(
        -20, 20, (1, height, width, 3)
    ).astype(np.float32)
    (costs_u, gradient_u), (costs_t, gradient_t) = (g.value_and_gradient(image)
                                                    for g in (whole, tiled))  # fmt: skip
    whole.close()
    net.close()
    runs = [_seeded_run(weights, settings, content, style, tile) for tile in (0, tiled.core)]
    difference = np.abs(runs[0][0].astype(np.int16) - runs[1][0])
    return {
        "size": f"{width}x{height}", "tile_size": tiled.core, "tiles": len(tiled.tiles),
        "J_relative": abs(costs_t.J - costs_u.J) / abs(costs_u.J),
        "gradient_relative": float(np.linalg.norm(gradient_t - gradient_u)
                                   / np.linalg.norm(gradient_u)),
        "run_J": [runs[0][1], runs[1][1]],
        "run_J_relative": abs(runs[1][1] - runs[0][1]) / abs(runs[0][1]),
        "mean_pixel_difference": float(difference.mean()),
        "max_pixel_difference": int(difference.max()),
    }  # fmt: skip


def _seeded_run(weights, settings, content, style, tile_size: int):
    stylizer = Stylizer(weights, settings.with_changes(tile_size=tile_size), CPU)
    transfer = Transfer(stylizer, content, [style], settings.seed)
    list(transfer.run())
    result = transfer.finish()
    stylizer.close()
    return result.image, result.costs.J


# --- cost ------------------------------------------------------------------------------


class PassClock:
    """Seconds spent in each pass, from the tile callbacks' times."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, name: str, done: int, count: int) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.last
        self.last = now


def _iteration_seconds(weights, settings, size, clock=None) -> tuple[list[float], object]:
    stylizer = Stylizer(weights, settings, CPU)
    stylizer.on_tile = clock
    content, style = _picture("content", size), _picture("style", size)
    transfer = Transfer(stylizer, content, [style], 1)
    times, previous = [], 0.0
    for progress in transfer.run():
        if clock is not None:
            clock.last = time.perf_counter()  # the time between iterations is not a pass's
        times.append(progress.elapsed - previous)
        previous = progress.elapsed
    tiling = transfer.tiling
    stylizer.close()
    return times, tiling


def cost(args) -> dict:
    """Seconds per megapixel-iteration: untiled at --reference, tiled at --size."""
    settings = Settings(seed=1, scales=1)
    weights = load_vgg19(weights_file(args), settings.deepest_layer)
    small = _size(args.reference)
    reference, _ = _iteration_seconds(weights, settings.with_changes(iterations=8), small)
    per_mp_untiled = statistics.median(reference[2:]) / (small[0] * small[1] / 1e6)
    large = _size(args.size)
    tiled_settings = settings.with_changes(iterations=args.iterations, tile_size=args.tile_size)
    clock = PassClock()
    times, tiling = _iteration_seconds(weights, tiled_settings, large, clock)
    per_mp_tiled = statistics.median(times) / (large[0] * large[1] / 1e6)
    passes = {name: seconds / len(times) for name, seconds in clock.seconds.items()
              if name in ("Gram pass", "gradient pass")}  # fmt: skip
    return {
        "untiled": {"size": "x".join(map(str, small)), "seconds_per_iteration": reference,
                    "seconds_per_megapixel_iteration": per_mp_untiled},
        "tiled": {"size": "x".join(map(str, large)), "tiling": tiling,
                  "seconds_per_iteration": times, "seconds_per_megapixel_iteration": per_mp_tiled,
                  "pass_seconds_per_iteration": passes},
        "ratio": per_mp_tiled / per_mp_untiled,
    }  # fmt: skip


# --- child processes -------------------------------------------------------------------


def _child(argv: list[str], env: dict) -> tuple[int, float, dict]:
    """(peak RSS bytes, wall seconds, --json summary) of one ``stylize run``."""
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"failed: {' '.join(argv)}\n{err.read().decode()[-2000:]}")
        out.seek(0)
        return usage.ru_maxrss * 1024, wall, json.loads(out.read())


def _stylize(args, env, source: Path, size: int, extra: list[str], name: str) -> tuple:
    work = args.work
    width, height = _size(size)
    content, style = work / f"content_{width}.png", work / f"style_{args.style_size}.png"
    for path, role, shape in ((content, "content", (width, height)),
                              (style, "style", _size(args.style_size))):  # fmt: skip
        if not path.exists():
            example_image(role, shape).save(path)
    history = work / f"{name}.jsonl"
    argv = [sys.executable, "-m", "stylize", "run", "--content", str(content), "--style",
            str(style), "--weights", str(weights_file(args)), "--max-size", str(size),
            "--seed", "1", "--overwrite", "--json", "-o", str(work / f"{name}.png"),
            "--history", str(history), "--scales", "1", *extra]  # fmt: skip
    peak, wall, summary = _child(argv, {**env, "PYTHONPATH": str(source)})
    seconds = [json.loads(line)["seconds"] for line in history.read_text().splitlines()]
    per_iteration = [b - a for a, b in zip([0.0, *seconds], seconds, strict=False)]
    return peak, wall, summary, per_iteration


def scale(args) -> dict:
    """A --size output from a --size content and a --style-size style, per optimizer."""
    env = {**os.environ, "STYLIZE_CACHE_DIR": str(args.work / "cache")}
    found = {}
    for optimizer in args.optimizers.split(","):
        extra = ["--optimizer", optimizer, "--iterations", str(args.iterations)]
        if args.tile_size:
            extra += ["--tile-size", str(args.tile_size)]
        peak, wall, summary, per_iteration = _stylize(args, env, ROOT, args.size, extra,
                                                      f"scale_{optimizer}")  # fmt: skip
        found[optimizer] = {"peak_bytes": peak, "peak_gib": peak / 2**30, "wall_seconds": wall,
                            "tiling": summary["tiling"], "J": summary["J"],
                            "seconds_per_iteration": per_iteration,
                            "setup_seconds": summary["setup_seconds"]}  # fmt: skip
    return found


def regression(args) -> dict:
    """Per-iteration medians at --size, this checkout against --baseline, alternating."""
    if args.baseline is None:
        raise SystemExit("regression needs --baseline (another checkout's folder)")
    env = {**os.environ, "STYLIZE_CACHE_DIR": str(args.work / "cache")}
    extra = ["--iterations", str(args.iterations)]
    medians: dict[str, list[float]] = {"this": [], "baseline": []}
    for _ in range(args.rounds):
        for label, source in (("baseline", args.baseline), ("this", ROOT)):
            _, _, _, per_iteration = _stylize(args, env, source, args.size, extra, label)
            medians[label].append(statistics.median(per_iteration[3:]))
    this, baseline = (statistics.median(medians[k]) for k in ("this", "baseline"))
    return {"size": "x".join(map(str, _size(args.size))), "medians": medians,
            "this": this, "baseline": baseline, "change": this / baseline - 1}  # fmt: skip


def main() -> None:
    args = _arguments()
    args.work.mkdir(parents=True, exist_ok=True)
    mode = {"exactness": exactness, "cost": cost, "scale": scale, "regression": regression}
    result = mode[args.mode](args)
    print(json.dumps({"mode": args.mode, "machine": machine_info(), **result}, indent=1))


if __name__ == "__main__":
    main()
