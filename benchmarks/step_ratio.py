"""An L-BFGS evaluation against an Adam step, in one process, in alternating blocks.

    python benchmarks/step_ratio.py --precision bfloat16
    python benchmarks/step_ratio.py --size 400x300 --rounds 9 --block 10

The speed issue's goal 3 compares the two per step, and a machine whose speed wanders
(benchmarks/README.md, "Results") makes two runs minutes apart a poor comparison. Here both
optimizers run side by side from the same start image, each on a TransferGraph of its own
(built once, so neither pays a graph build inside the timing): ``--block`` Adam steps, then
``--block`` L-BFGS evaluations, ``--rounds`` times, both optimizers going on where they
stopped (L-BFGS keeps its correction pairs, as in a run). Each step is timed from the end of
the one before, as a run's history times it; the first ``--warmup`` rounds are left out.
For L-BFGS the TensorFlow evaluation is timed apart, so that the optimizer's own share (the
step less its evaluation: the L-BFGS-B work between two evaluations) shows too. Each L-BFGS
evaluation is followed at once by a second, plain one of the same image, timed apart and
left out of the step: the first comes after L-BFGS-B's work, the second after TensorFlow's
own, one for one, so the median difference is what L-BFGS-B's work costs the evaluation
after it (caches it left cold, say) even on a machine whose speed wanders.

Prints one JSON object: medians of Adam's steps and of L-BFGS's evaluations, their ratio,
the ratio of each round's medians (their median and spread), L-BFGS's TensorFlow part and
own milliseconds, the plain evaluation and that slowdown, L-BFGS's last J, and the machine.
``--memory`` sets L-BFGS-B's correction pairs (10, as in a run). Weights are tiling.py's
real-shaped random ones unless --weights is given; images are the repository's examples.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402
from sample_images import example_image  # noqa: E402
from tiling import weights_file  # noqa: E402

from stylize.config import Settings  # noqa: E402
from stylize.cpu import cpu_flags, require_bfloat16  # noqa: E402
from stylize.device import CPU  # noqa: E402
from stylize.errors import DeviceError  # noqa: E402
from stylize.images import preprocess  # noqa: E402
from stylize.optimize import TransferGraph, lbfgs_steps, noise_image  # noqa: E402
from stylize.weights import load_vgg19  # noqa: E402


def round_parser(description: str, block: int) -> argparse.ArgumentParser:
    """The options of a benchmark that alternates two things in rounds (this one and
    scale_change.py): --size, --precision, --rounds, --block (default ``block`` steps of
    each per round), --warmup, --seed, --weights, --work."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", default="400x300", help="WIDTHxHEIGHT timed")
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--block", type=int, default=block, help="steps of each per round")
    parser.add_argument("--warmup", type=int, default=1, help="first rounds left out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", type=Path, help="default: real-shaped random weights")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/results/tiling"))
    return parser


def refuse_emulated_bfloat16(parser: argparse.ArgumentParser, precision: str) -> None:
    """parser.error for --precision bfloat16 on a CPU that would emulate it, as stylize run
    refuses it (stylize.cpu.require_bfloat16): such timings describe no run of stylize."""
    if precision == "bfloat16":
        try:
            require_bfloat16(cpu_flags())
        except DeviceError as error:
            parser.error(str(error))


def shape_of(size: str) -> tuple[int, int]:
    """A size written WIDTHxHEIGHT, as (height, width)."""
    width, _, height = size.partition("x")
    return int(height), int(width)


def print_report(settings: dict, result: dict, info: dict) -> int:
    """One JSON object on stdout: the settings, the results and the machine; exit code 0."""
    json.dump({**settings, **result, "machine": info}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def _arguments(argv=None) -> argparse.Namespace:
    parser = round_parser(__doc__.split("\n\n")[0], block=10)
    parser.add_argument("--memory", type=int, default=10, help="L-BFGS-B's correction pairs")
    args = parser.parse_args(argv)
    args.shape = shape_of(args.size)
    if not 0 <= args.warmup < args.rounds or args.block < 1:
        parser.error("--warmup must leave some of the --rounds, each of --block >= 1 steps")
    if args.memory < 1:
        parser.error("--memory must be at least 1")
    refuse_emulated_bfloat16(parser, args.precision)
    return args


class TimedEvaluations:
    """A TransferGraph as lbfgs_steps sees it, timing each ``value_and_gradient`` and the
    plain evaluation of the same image made right after it (``seconds``, ``plain``)."""

    def __init__(self, graph: TransferGraph):
        self.graph, self.low, self.last_J = graph, graph.low, None
        self.seconds: list[float] = []
        self.plain: list[float] = []

    def value_and_gradient(self, image: np.ndarray):
        began = time.perf_counter()
        found = self.graph.value_and_gradient(image)
        evaluated = time.perf_counter()
        self.graph.value_and_gradient(image)
        self.plain.append(time.perf_counter() - evaluated)
        self.seconds.append(evaluated - began)
        self.last_J = found[0].J
        return found


def example_inputs(weights, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The example content and style at ``shape`` = (height, width), preprocessed (1, H, W,
    3) float32, for this benchmark and the others that alternate in rounds."""
    height, width = shape
    return tuple(
        preprocess(np.asarray(example_image(role, (width, height)), np.uint8), weights.mean_pixel)
        for role in ("content", "style")
    )


def _graphs(args) -> tuple[TransferGraph, TransferGraph, np.ndarray]:
    """Two graphs with the same targets, and the start image (preprocessed)."""
    settings = Settings(precision=args.precision, seed=args.seed)
    weights = load_vgg19(weights_file(args), settings.deepest_layer)
    content, style = example_inputs(weights, args.shape)
    graphs = [TransferGraph(weights, settings, CPU) for _ in range(2)]
    targets = graphs[0].content_features(content), graphs[0].style_grams(style)
    for graph in graphs:
        graph.set_targets(*targets)
    start = noise_image(content, settings.start_noise_ratio, np.random.default_rng(args.seed))
    return graphs[0], graphs[1], start


def timed_block(steps, count: int) -> list[float]:
    """Seconds of each of the next ``count`` steps, each from the end of the one before."""
    seconds, last = [], time.perf_counter()
    for _ in range(count):
        if next(steps, None) is None:  # L-BFGS-B found nothing more to do
            raise SystemExit("an optimizer stopped early: ask for fewer --rounds or --block")
        now = time.perf_counter()
        seconds.append(now - last)
        last = now
    return seconds


def measure(args) -> dict:
    """Alternating blocks of Adam steps and L-BFGS evaluations; the summary."""
    adam_graph, lbfgs_graph, start = _graphs(args)
    timed = TimedEvaluations(lbfgs_graph)
    total = args.rounds * args.block
    adam = adam_graph.adam(start, total)
    lbfgs = lbfgs_steps(timed, start, total, args.memory)
    rounds = []
    try:
        for _ in range(args.rounds):
            adam_seconds = timed_block(adam, args.block)
            began = len(timed.seconds)
            lbfgs_seconds = timed_block(lbfgs, args.block)
            plain = timed.plain[began:]
            steps = [step - extra for step, extra in zip(lbfgs_seconds, plain, strict=True)]
            rounds.append(Round(adam_seconds, steps, timed.seconds[began:], plain))
    finally:
        adam.close()
        lbfgs.close()
        adam_graph.close()
        lbfgs_graph.close()
    return {**summary(rounds[args.warmup :]), "lbfgs_last_J": timed.last_J}


class Round:
    """One round's seconds: Adam's steps, L-BFGS's evaluations (whole steps, the plain
    evaluations left out), their TensorFlow parts, and the plain evaluations."""

    def __init__(self, adam: list[float], lbfgs: list[float], tensorflow: list[float],
                 plain: list[float]):  # fmt: skip
        self.adam, self.lbfgs, self.tensorflow, self.plain = adam, lbfgs, tensorflow, plain

    def ratio(self) -> float:
        return statistics.median(self.lbfgs) / statistics.median(self.adam)


def summary(rounds: list[Round]) -> dict:
    """Medians in seconds over every step of ``rounds``, their ratio, and each round's."""
    adam = [s for r in rounds for s in r.adam]
    lbfgs = [s for r in rounds for s in r.lbfgs]
    tensorflow = [s for r in rounds for s in r.tensorflow]
    own = [step - part for step, part in zip(lbfgs, tensorflow, strict=True)]
    plain = [s for r in rounds for s in r.plain]
    slower = [part - again for part, again in zip(tensorflow, plain, strict=True)]
    ratios = [r.ratio() for r in rounds]
    return {
        "adam_step_seconds": statistics.median(adam),
        "lbfgs_evaluation_seconds": statistics.median(lbfgs),
        "ratio": statistics.median(lbfgs) / statistics.median(adam),
        "round_ratios": ratios,
        "round_ratio_median": statistics.median(ratios),
        "lbfgs_tensorflow_seconds": statistics.median(tensorflow),
        "lbfgs_own_milliseconds": 1000 * statistics.median(own),
        "plain_evaluation_seconds": statistics.median(plain),
        "lbfgs_slowdown_milliseconds": 1000 * statistics.median(slower),
        "steps_each": len(adam),
    }


def main(argv=None) -> int:
    args = _arguments(argv)
    info = machine_info()
    settings = {"size": args.size, "precision": args.precision, "rounds": args.rounds,
                "block": args.block, "warmup": args.warmup, "memory": args.memory}  # fmt: skip
    return print_report(settings, measure(args), info)


if __name__ == "__main__":
    sys.exit(main())
