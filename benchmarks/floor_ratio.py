"""An Adam step against the constant-kernel floor, in one process, in alternating blocks.

    python benchmarks/floor_ratio.py
    python benchmarks/floor_ratio.py --precision bfloat16 --size 400x300 --rounds 9 --block 5

The speed issue's goal 1 compares stylize's Adam step with the plain TensorFlow floor:
forward and backward through the VGG layers the costs read, the kernels as graph constants
(benchmarks/floor.py). bench.py times the floor once, before its long runs, and on a machine
whose speed wanders (benchmarks/README.md, "Results") the ratio of two timings minutes apart
says as much about the machine as about stylize. Here three things run side by side in one
process, ``--block`` steps each, ``--rounds`` times: the floor with constant kernels, the
same pass with the kernels in variables (as stylize holds them), and Adam steps of a
TransferGraph from the noisy start image towards the repository's example targets. Steps are
timed from the end of the one before; the first ``--warmup`` rounds are left out.

Prints one JSON object: the median of each, Adam's ratio to the constant floor (and each
round's, with their median), the variable floor's ratio to the constant one, a step's FLOPs
and the constant floor's GFLOP/s (benchmarks/flops.py), whether oneDNN was told the kernels
are frozen, and the machine. Weights are tiling.py's real-shaped random ones unless
--weights is given.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import step_ratio  # noqa: E402
from floor import plain_pass, work_counts  # noqa: E402
from machine import machine_info  # noqa: E402
from tiling import weights_file  # noqa: E402

from stylize.config import Settings  # noqa: E402
from stylize.cpu import cpu_flags, frozen_weights_on  # noqa: E402
from stylize.device import CPU  # noqa: E402
from stylize.optimize import TransferGraph, noise_image  # noqa: E402
from stylize.weights import load_vgg19  # noqa: E402

CONTENDERS = ("constant_floor", "variable_floor", "adam")


def _arguments(argv=None) -> argparse.Namespace:
    parser = step_ratio.round_parser(__doc__.split("\n\n")[0], block=5)
    args = parser.parse_args(argv)
    args.shape = step_ratio.shape_of(args.size)
    if not 0 <= args.warmup < args.rounds or args.block < 1:
        parser.error("--warmup must leave some of the --rounds, each of --block >= 1 steps")
    step_ratio.refuse_emulated_bfloat16(parser, args.precision)
    return args


def repeated(call):
    """``call()`` once per ``next``, as timed_block steps a generator; never ends."""
    while True:
        call()
        yield True


def _adam_graph(weights, settings: Settings, shape: tuple[int, int]):
    """A TransferGraph with the example targets at ``shape`` = (height, width), and the
    start image (preprocessed)."""
    content, style = step_ratio.example_inputs(weights, shape)
    graph = TransferGraph(weights, settings, CPU)
    graph.set_targets(graph.content_features(content), graph.style_grams(style))
    rng = np.random.default_rng(settings.seed)
    return graph, noise_image(content, settings.start_noise_ratio, rng)


def measure(args) -> dict:
    """Alternating blocks of the two floors and Adam; the summary."""
    settings = Settings(precision=args.precision, seed=args.seed)
    weights = load_vgg19(weights_file(args), settings.deepest_layer)
    height, width = args.shape
    with contextlib.ExitStack() as stack:
        graph, start = _adam_graph(weights, settings, args.shape)
        stack.callback(graph.close)
        steps = {"adam": graph.adam(start, args.rounds * args.block)}
        stack.callback(steps["adam"].close)
        for name, constants in (("constant_floor", True), ("variable_floor", False)):
            _, step = stack.enter_context(
                plain_pass(weights, settings, (1, height, width, 3), constants)
            )
            steps[name] = repeated(step)
        rounds = [
            {name: step_ratio.timed_block(steps[name], args.block) for name in CONTENDERS}
            for _ in range(args.rounds)
        ]
    flops = work_counts(weights, settings, width, height)["step_flops"]
    return summary(rounds[args.warmup :], flops)


def summary(rounds: list[dict], step_flops: int) -> dict:
    """Medians in seconds over every step of ``rounds`` per contender, the ratios to the
    constant floor, each round's Adam ratio, and the constant floor's GFLOP/s."""
    medians = {name: statistics.median(s for r in rounds for s in r[name]) for name in CONTENDERS}
    ratios = [statistics.median(r["adam"]) / statistics.median(r["constant_floor"]) for r in rounds]
    floor = medians["constant_floor"]
    return {
        **{f"{name}_seconds": seconds for name, seconds in medians.items()},
        "ratio": medians["adam"] / floor,
        "round_ratios": ratios,
        "round_ratio_median": statistics.median(ratios),
        "variable_floor_ratio": medians["variable_floor"] / floor,
        "step_flops": step_flops,
        "constant_floor_gflops": step_flops / floor / 1e9,
        "steps_each": sum(len(r["adam"]) for r in rounds),
    }


def main(argv=None) -> int:
    args = _arguments(argv)
    info = machine_info()
    settings = {"size": args.size, "precision": args.precision, "rounds": args.rounds,
                "block": args.block, "warmup": args.warmup,
                "frozen_kernels": frozen_weights_on(cpu_flags())}  # fmt: skip
    return step_ratio.print_report(settings, measure(args), info)


if __name__ == "__main__":
    sys.exit(main())
