"""Adam steps at full size on a graph that ran a coarser scale first, against a fresh graph.

    python benchmarks/scale_change.py --precision bfloat16
    python benchmarks/scale_change.py --size 400x300 --coarse 100x75 --rounds 9 --block 5

A coarse-to-fine run computes all its scales on one TransferGraph whose height and width are
known only at run time. Where oneDNN is told the convolution kernels are frozen (stylize._tf
sets TF_ONEDNN_ASSUME_FROZEN_WEIGHTS on CPUs with AMX), TensorFlow's convolution keeps each
kernel reordered for the primitive of its first run and reuses that copy only while later
runs want the same layout; a primitive for another image size that wants another layout
gets the kernel reordered on every run. This measures whether the scale change costs
anything on this machine, in one process so that the machine's wandering speed does not
enter: two graphs with the same full-size targets, one of which first runs
``--coarse-steps`` Adam steps at ``--coarse`` (with targets of that size, as a run's coarse
scale does), then ``--rounds`` rounds of ``--block`` Adam steps at ``--size`` on each graph
in turn. Steps are timed from the end of the one before; the first ``--warmup`` rounds are
left out. To see the reorders themselves, run it with ``ONEDNN_VERBOSE=1`` and count the
``reorder`` lines of a step.

Prints one JSON object: the median step of each graph, their ratio (after the coarse scale
over fresh), each round's ratio, whether the kernels were treated as frozen, and the
machine. Weights are tiling.py's real-shaped random ones unless --weights is given; images
are the repository's examples.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import step_ratio  # noqa: E402
from machine import machine_info  # noqa: E402
from tiling import weights_file  # noqa: E402

from stylize.config import Settings  # noqa: E402
from stylize.cpu import cpu_flags, frozen_weights_on  # noqa: E402
from stylize.device import CPU  # noqa: E402
from stylize.optimize import TransferGraph, noise_image  # noqa: E402
from stylize.weights import load_vgg19  # noqa: E402


def _arguments(argv=None) -> argparse.Namespace:
    parser = step_ratio.round_parser(__doc__.split("\n\n")[0], block=5)
    parser.add_argument("--coarse", default="100x75", help="WIDTHxHEIGHT run first")
    parser.add_argument("--coarse-steps", type=int, default=5)
    args = parser.parse_args(argv)
    args.shape, args.coarse_shape = step_ratio.shape_of(args.size), step_ratio.shape_of(args.coarse)
    if not 0 <= args.warmup < args.rounds or args.block < 1 or args.coarse_steps < 1:
        parser.error("--warmup must leave some of the --rounds; --block, --coarse-steps >= 1")
    step_ratio.refuse_emulated_bfloat16(parser, args.precision)
    return args


def _targets(graph: TransferGraph, images) -> tuple[dict, dict]:
    content, style = images
    return graph.content_features(content), graph.style_grams(style)


def _graphs(args):
    """(fresh graph, graph that ran the coarse scale, full-size start image)."""
    settings = Settings(precision=args.precision, seed=args.seed)
    weights = load_vgg19(weights_file(args), settings.deepest_layer)
    fresh, changed = (TransferGraph(weights, settings, CPU) for _ in range(2))
    coarse = step_ratio.example_inputs(weights, args.coarse_shape)
    changed.set_targets(*_targets(changed, coarse))
    rng = np.random.default_rng(args.seed)
    for _ in changed.adam(noise_image(coarse[0], settings.start_noise_ratio, rng),
                          args.coarse_steps):  # fmt: skip
        pass
    full = step_ratio.example_inputs(weights, args.shape)
    # Each graph computes its own targets, as a run does at a new scale: the changed
    # graph's forward pass meets the full size there first.
    fresh.set_targets(*_targets(fresh, full))
    changed.set_targets(*_targets(changed, full))
    start = noise_image(full[0], settings.start_noise_ratio, rng)
    return fresh, changed, start


def measure(args) -> dict:
    """Alternating blocks of Adam steps on both graphs; the summary."""
    fresh_graph, changed_graph, start = _graphs(args)
    total = args.rounds * args.block
    fresh, changed = fresh_graph.adam(start, total), changed_graph.adam(start, total)
    rounds = []
    try:
        for _ in range(args.rounds):
            times = [step_ratio.timed_block(steps, args.block) for steps in (fresh, changed)]
            rounds.append(tuple(times))
    finally:
        for steps in (fresh, changed):
            steps.close()
        fresh_graph.close()
        changed_graph.close()
    return summary(rounds[args.warmup :])


def summary(rounds: list[tuple[list[float], list[float]]]) -> dict:
    """Medians in seconds over every step of ``rounds`` (fresh, after the coarse scale),
    their ratio, and each round's."""
    fresh = [s for r in rounds for s in r[0]]
    changed = [s for r in rounds for s in r[1]]
    ratios = [statistics.median(b) / statistics.median(a) for a, b in rounds]
    return {
        "fresh_step_seconds": statistics.median(fresh),
        "after_coarse_step_seconds": statistics.median(changed),
        "ratio": statistics.median(changed) / statistics.median(fresh),
        "round_ratios": ratios,
        "round_ratio_median": statistics.median(ratios),
        "steps_each": len(fresh),
    }


def main(argv=None) -> int:
    args = _arguments(argv)
    info = machine_info()
    frozen = frozen_weights_on(cpu_flags())
    settings = {"size": args.size, "coarse": args.coarse, "coarse_steps": args.coarse_steps,
                "precision": args.precision, "rounds": args.rounds, "block": args.block,
                "warmup": args.warmup, "frozen_kernels": frozen}  # fmt: skip
    return step_ratio.print_report(settings, measure(args), info)


if __name__ == "__main__":
    sys.exit(main())
