"""Content against style when the optimizer converges: J's parts and how much of the
content's layout each run keeps, as whole ``stylize run`` processes.

The notebook's weights (alpha 10, beta 40) leave J almost all style: its own printout
(real VGG-19, iteration 180) has 10 x 18,500 of content against 40 x 2.43e6 of style. Adam's
200 steps from a start that is 40 % the content do not converge, and the layout that is
left comes from that start. An optimizer that goes further (L-BFGS) trades it away.

Gatys et al.'s content loss is sum((F - P)^2) / 2 where the notebook's is
sum((a_C - a_G)^2) / (4 N), N = n_H n_W n_C of the content layer; the style losses are the
same. So the paper's alpha/beta of R weighs content as an ``--alpha`` of
``beta * R * 2 N`` does here (``paper_alpha``): about 78,000 at 400x300 for R = 1e-3.

Usage::

    python benchmarks/balance.py --size 200 --weights random
    python benchmarks/balance.py --run "adam=" --run "lbfgs=--optimizer lbfgs --iterations 100"

Prints one JSON object: per run its options, J, J_content, J_style, seconds and
``layout``, the correlation of the output's luminance with the content's after a Gaussian
blur of ``--blur`` pixels (1 is the content itself; the style image's own is given for
scale). ``--sheet PATH`` writes the outputs side by side, content first.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from stylize.images import fit_within

IMAGES = Path(__file__).resolve().parent.parent / "images"
CONTENT_LAYER_CHANNELS = 512  # conv4_2, after three 2x2 'SAME' poolings
DEFAULT_RUNS = (
    "adam 200=",
    "lbfgs 20=--optimizer lbfgs --iterations 20",
    "lbfgs 100=--optimizer lbfgs --iterations 100",
    "lbfgs 100 from the content=--optimizer lbfgs --iterations 100 --init content",
    "lbfgs 100, the paper's 1e-3=--optimizer lbfgs --iterations 100 --alpha {paper_1e-3}",
    "lbfgs 100, the paper's 1e-4=--optimizer lbfgs --iterations 100 --alpha {paper_1e-4}",
)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200, help="--max-size")
    parser.add_argument("--weights", default="random", help="a .mat file or random[:SEED]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blur", type=float, default=2.0, help="Gaussian sigma, pixels")
    parser.add_argument("--run", action="append",
                        help="LABEL=OPTIONS for stylize run; {paper_1e-3} and {paper_1e-4}"
                             " become paper_alpha at the output's size (for the default"
                             " conv4_2 and --beta 40); repeat for several"
                             " (default: Adam 200, L-BFGS 20 and 100 at the notebook's"
                             " weights, from the content, and at the paper's ratios)")  # fmt: skip
    parser.add_argument("--sheet", type=Path, help="write the outputs side by side (PNG)")
    return parser.parse_args()


def paper_alpha(height: int, width: int, ratio: float, beta: float = 40.0) -> float:
    """The ``--alpha`` at which J weighs content against style as Gatys et al.'s alpha/beta
    of ``ratio`` does, for an output of height x width pixels and conv4_2 as the content
    layer: beta * ratio * 2 N, N = conv4_2's n_H * n_W * n_C (the two content losses differ
    by a factor 2 N; see the module's docstring)."""
    n_h, n_w = height, width
    for _ in range(3):  # pool1..pool3 before conv4_2; 'SAME' padding rounds up
        n_h, n_w = math.ceil(n_h / 2), math.ceil(n_w / 2)
    return beta * ratio * 2 * n_h * n_w * CONTENT_LAYER_CHANNELS


def luminance(image: Image.Image, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) float64 luminance of ``image`` (Pillow's L), resized to ``size`` (W, H) first."""
    gray = image.convert("L")
    if size is not None and gray.size != size:
        gray = gray.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(gray, np.float64)


def layout_kept(output: np.ndarray, content: np.ndarray, blur: float) -> float:
    """Pearson correlation of two (H, W) luminances after a Gaussian blur of ``blur`` px:
    1 for the content itself, near 0 for an unrelated picture."""
    a = ndimage.gaussian_filter(output, blur)
    b = ndimage.gaussian_filter(content, blur)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum()))


def run(args, options: str, out: Path) -> dict:
    argv = [sys.executable, "-m", "stylize", "run", "--content", str(IMAGES / "content.jpg"),
            "--style", str(IMAGES / "style.jpg"), "--weights", args.weights, "--max-size",
            str(args.size), "--seed", str(args.seed), "-q", "--json", "-o", str(out),
            *shlex.split(options)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"stylize run {options!r} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def measure(args, label: str, options: str, out: Path, content: np.ndarray) -> dict:
    """One run's report; ``content``: the content's luminance at the output's size."""
    summary = run(args, options, out)
    kept = layout_kept(luminance(Image.open(out)), content, args.blur)
    return {"label": label, "options": options,
            **{key: summary[key] for key in ("J", "J_content", "J_style", "seconds")},
            "layout": round(kept, 4)}  # fmt: skip


def write_sheet(path: Path, pictures: list[Path]) -> None:
    """The pictures side by side, each at the size of the last (an output)."""
    images = [Image.open(p).convert("RGB") for p in pictures]
    width, height = images[-1].size
    sheet = Image.new("RGB", (width * len(images), height), "white")
    for column, image in enumerate(images):
        sheet.paste(image.resize((width, height)), (column * width, 0))
    sheet.save(path)


def main() -> None:
    args = _arguments()
    photo = Image.open(IMAGES / "content.jpg")
    width, height = fit_within(*photo.size, args.size)
    alphas = {f"paper_{r}": f"{paper_alpha(height, width, float(r)):.6g}" for r in ("1e-3", "1e-4")}
    content = luminance(photo, (width, height))
    style = luminance(Image.open(IMAGES / "style.jpg"), (width, height))
    report = {"size": f"{width}x{height}", "weights": args.weights, "blur": args.blur,
              "paper_alpha": alphas, "style_image_layout": round(
                  layout_kept(style, content, args.blur), 4), "runs": []}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        pictures = [IMAGES / "content.jpg"]
        for number, text in enumerate(args.run or DEFAULT_RUNS):
            label, _, options = text.partition("=")
            out = Path(folder) / f"{number}.png"
            report["runs"].append(measure(args, label, options.format(**alphas), out, content))
            pictures.append(out)
        if args.sheet:
            write_sheet(args.sheet, pictures)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
