"""What ``--preview`` costs a run: seconds per iteration of ``stylize run`` without a
preview, and with one that a simulated page polls as the real page does (state.json once a
second, image.png whenever the image changed), alternating the two so that machine drift
falls on both. Also the board's render time per image size.

Usage::

    python benchmarks/preview.py --size 400 --iterations 40 --rounds 2 --weights random

Prints one JSON object: per-iteration medians (from --history, first 3 iterations dropped)
of every run, their medians per mode, the overhead in percent, the requests the poller made
and the render times.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from stylize.preview.board import Board

IMAGES = Path(__file__).resolve().parent.parent / "images"
URL = re.compile(r"preview: (http://\S+)")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400, help="--max-size")
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each mode")
    parser.add_argument("--weights", default="random", help="a .mat file or random[:SEED]")
    return parser.parse_args()


class Poller(threading.Thread):
    """Polls like preview.js: state.json every second, image.png when its version moved."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop, self.requests, self.images = url, threading.Event(), 0, 0

    def run(self) -> None:
        shown = 0
        while not self.stop.wait(1.0):
            try:
                state = json.loads(urllib.request.urlopen(self.url + "state.json").read())
                self.requests += 1
                if state["image"] and state["image"] != shown:
                    urllib.request.urlopen(self.url + "image.png").read()
                    shown, self.images, self.requests = (
                        state["image"],
                        self.images + 1,
                        self.requests + 1,
                    )
            except OSError:
                return


def _run(args, work: Path, preview: bool) -> tuple[float, dict]:
    """(median seconds per iteration, poller counts) of one stylize run."""
    history = work / "history.jsonl"
    argv = [sys.executable, "-m", "stylize", "run", "--content", str(IMAGES / "content.jpg"),
            "--style", str(IMAGES / "style.jpg"), "--weights", args.weights, "--max-size",
            str(args.size), "--iterations", str(args.iterations), "--seed", "1", "-q",
            "--overwrite", "-o", str(work / "out.png"), "--history", str(history),
            *(["--preview", "0"] if preview else [])]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    poller = None
    if preview:
        poller = Poller(URL.search(process.stderr.readline()).group(1))
        poller.start()
    _, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(f"stylize run failed: {stderr[-2000:]}")
    if poller:
        poller.stop.set()
        poller.join()
    seconds = [json.loads(line)["seconds"] for line in history.read_text().splitlines()]
    steps = np.diff(seconds)[2:]
    counts = {"requests": poller.requests, "images": poller.images} if poller else {}
    return float(np.median(steps)), counts


def _render_seconds() -> dict:
    """Median seconds of one board render (scale down, PNG) per image size."""
    found = {}
    for width, height in ((400, 300), (1600, 1200), (4000, 3000)):
        image = np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)
        times = []
        for _ in range(5):
            board = Board("bench")
            board.show(lambda image=image: image)
            began = time.perf_counter()
            board.image_png()
            times.append(time.perf_counter() - began)
        found[f"{width}x{height}"] = round(statistics.median(times), 4)
    return found


def main() -> None:
    args = _arguments()
    runs = {"without": [], "with": []}
    polls = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            for mode in ("without", "with"):
                median, counts = _run(args, Path(folder), mode == "with")
                runs[mode].append(round(median, 4))
                polls += [counts] if counts else []
    medians = {mode: statistics.median(values) for mode, values in runs.items()}
    overhead = 100 * (medians["with"] / medians["without"] - 1)
    print(json.dumps({"size": args.size, "iterations": args.iterations, "weights": args.weights,
                      "seconds_per_iteration": runs, "medians": medians,
                      "overhead_percent": round(overhead, 2), "poller": polls,
                      "render_seconds": _render_seconds()}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
