"""What rounding the result to 8 bits costs, and what --bit-depth 16 keeps, in one run.

    python benchmarks/bit_depth.py --size 1024x768 --iterations 100
    python benchmarks/bit_depth.py --size 4000x3000 --iterations 40 --optimizer lbfgs

One seeded transfer with stylize's defaults (the repository's example images, coarse to
fine from 1024 px) runs ``--iterations``; then the last scale's best iterate is evaluated
as it is (floats), rounded to 8 bits and rounded to 16 bits, in the same graph. Rounding
moves every pixel by up to half a level, and the style and content costs see that noise;
the report gives each J, its excess over the float one, and what writing each depth costs
(bytes and seconds of PNG and TIFF). Weights are tiling.py's real-shaped random ones unless
--weights is given. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402
from sample_images import example_image  # noqa: E402
from step_ratio import print_report, shape_of  # noqa: E402
from tiling import weights_file  # noqa: E402

from stylize import images  # noqa: E402
from stylize.config import Settings  # noqa: E402
from stylize.device import CPU  # noqa: E402
from stylize.stylizer import Stylizer  # noqa: E402
from stylize.transfer import Transfer  # noqa: E402
from stylize.weights import load_vgg19  # noqa: E402


def _arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1024x768", help="WIDTHxHEIGHT of the output")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--optimizer", default="adam", choices=("adam", "lbfgs"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", type=Path, help="default: real-shaped random weights")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/results/tiling"))
    args = parser.parse_args(argv)
    args.shape = shape_of(args.size)
    return args


def _optimized(args) -> tuple[Transfer, float]:
    """The transfer after its run, and the run's seconds."""
    settings = Settings(iterations=args.iterations, optimizer=args.optimizer, seed=args.seed,
                        max_size=max(args.shape))  # fmt: skip
    weights = load_vgg19(weights_file(args), settings.deepest_layer)
    height, width = args.shape
    content, style = (np.asarray(example_image(role, (width, height)), np.uint8)
                      for role in ("content", "style"))  # fmt: skip
    transfer = Transfer(Stylizer(weights, settings, CPU), content, [style], args.seed)
    began = time.perf_counter()
    for _ in transfer.run():
        pass
    return transfer, time.perf_counter() - began


def rounding_costs(transfer: Transfer) -> dict:
    """J of the best iterate as floats and rounded to 8 and to 16 bits; excess in percent."""
    mean = transfer.mean
    best = transfer.best.image
    found = {"float": transfer.graph.evaluate(best).J}
    for depth in (8, 16):
        rounded = images.postprocess(best, mean, bit_depth=depth)
        found[str(depth)] = transfer.graph.evaluate(images.preprocess(rounded, mean)).J
    excess = {depth: 100 * (found[depth] / found["float"] - 1) for depth in ("8", "16")}
    return {"J": found, "J_excess_percent": excess}


def writing_costs(transfer: Transfer) -> dict:
    """Bytes and seconds of writing the best iterate as PNG and TIFF at each depth."""
    found = {}
    with tempfile.TemporaryDirectory() as folder:
        for depth in (8, 16):
            image = images.postprocess(transfer.best.image, transfer.mean, bit_depth=depth)
            for suffix in (".png", ".tif"):
                path = Path(folder) / f"out{depth}{suffix}"
                began = time.perf_counter()
                images.save_image(path, image)
                found[f"{depth}{suffix}"] = {"bytes": path.stat().st_size,
                                             "seconds": time.perf_counter() - began}  # fmt: skip
    return found


def main(argv=None) -> int:
    args = _arguments(argv)
    info = machine_info()
    transfer, seconds = _optimized(args)
    scales = [list(size) for size in transfer.sizes]
    result = {**rounding_costs(transfer), "writing": writing_costs(transfer),
              "run_seconds": seconds, "scales": scales}  # fmt: skip
    settings = {"size": args.size, "iterations": args.iterations, "optimizer": args.optimizer,
                "seed": args.seed}  # fmt: skip
    transfer.graph.close()
    return print_report(settings, result, info)


if __name__ == "__main__":
    sys.exit(main())
