"""Flicker, cost and resume of ``stylize video``, against frames stylized independently
(``stylize batch --seed``, the recipe it replaces), as whole processes.

Two clips are made from the example images: "pan", the photo panned SHIFT pixels per frame
(the true flow is known exactly), and "made", the photo panning one way with a patch of the
painting sliding across it the other way (occlusions and disocclusions; flow from DIS).

Usage::

    python benchmarks/video.py --size 192 --frames 6 --weights random --temporal 0,50,200,1000
    python benchmarks/video.py --temporal 1000 --video-options "" \
        --video-options "--optimizer lbfgs --iterations 30"   # each set with each weight

Prints one JSON object. Per clip and mode: the warping error of consecutive output frames
(mean over kept pixels of |out_t - warp(out_t-1)|, 8-bit levels; the true flow and its
in-frame mask for "pan", DIS flow and Ruder et al.'s mask for "made"), each frame's
alpha*J_content + beta*J_style, its ratio to the independent frame's, seconds of the first
and of later frames, and the flow's share. Then the flow's own time at 400x300 and a
kill -9 / rerun check.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from stylize.files import file_digests
from stylize.video import flow

IMAGES = Path(__file__).resolve().parent.parent / "images"
SHIFT = 3  # pixels per frame of the pan


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192, help="frame width in pixels")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--weights", default="random", help="a .mat file or random[:SEED]")
    parser.add_argument("--temporal", default="0,50,200,1000", help="temporal weights")
    parser.add_argument("--first", type=int, default=200, help="first-frame iterations")
    parser.add_argument("--later", type=int, default=100, help="later frames' iterations")
    parser.add_argument("--video-options", action="append",
                        help="more options for stylize video, e.g. '--optimizer lbfgs"
                             " --iterations 30'; repeat to compare sets (each with every"
                             " --temporal weight); default: none")  # fmt: skip
    parser.add_argument("--skip-resume", action="store_true")
    return parser.parse_args()


def _photo(width: int, extra: int) -> np.ndarray:
    picture = Image.open(IMAGES / "content.jpg").convert("RGB")
    height = round(width * 3 / 4)
    scale = max((width + extra) / picture.width, height / picture.height)
    size = (round(picture.width * scale), round(picture.height * scale))
    return np.asarray(picture.resize(size, Image.Resampling.LANCZOS))[:height, : width + extra]


def make_clips(folder: Path, width: int, count: int) -> dict[str, Path]:
    """Write the two clips as folders of PNG frames; return {name: folder}."""
    photo = _photo(width, SHIFT * count)
    height = photo.shape[0]
    patch = np.asarray(Image.open(IMAGES / "style.jpg").convert("RGB").resize(
        (width // 3, height // 3), Image.Resampling.LANCZOS))  # fmt: skip
    clips = {}
    for name in ("pan", "made"):
        (folder / name).mkdir()
        clips[name] = folder / name
    for t in range(count):
        frame = photo[:, SHIFT * t : SHIFT * t + width]
        Image.fromarray(frame).save(folder / "pan" / f"{t:03d}.png")
        made = photo[:, SHIFT * (count - t) : SHIFT * (count - t) + width].copy()
        x = width // 8 + 4 * t
        made[height // 3 : height // 3 + patch.shape[0], x : x + patch.shape[1]] = patch
        Image.fromarray(made).save(folder / "made" / f"{t:03d}.png")
    return clips


def _common(args) -> list[str]:
    return ["--weights", args.weights, "--max-size", str(args.size), "--seed", "1", "-q"]


def run_video(args, clip: Path, out: Path, weight: float, options: str) -> dict:
    argv = [sys.executable, "-m", "stylize", "video", "--content", str(clip), "--style",
            str(IMAGES / "style.jpg"), "-o", str(out), "--temporal-weight", str(weight),
            "--first-frame-iterations", str(args.first), "--iterations", str(args.later),
            "--json", *_common(args), *shlex.split(options)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def run_independent(args, clip: Path, out: Path) -> dict:
    argv = [sys.executable, "-m", "stylize", "batch", "--content", str(clip), "--style",
            str(IMAGES / "style.jpg"), "--out", str(out), "--template", "{content}.png",
            "--iterations", str(args.first), "--json", *_common(args)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    return {"summary": json.loads(done.stdout), "records": sorted(lines, key=lambda r: r["output"])}


def _outputs(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]


def warping_errors(name: str, contents: list[np.ndarray], outputs: list[np.ndarray]) -> list:
    errors = []
    for t in range(1, len(outputs)):
        if name == "pan":  # frame_t(x) = frame_t-1(x + SHIFT): the true backward flow
            height, width = outputs[t].shape[:2]
            backward = np.zeros((height, width, 2), np.float32)
            backward[..., 0] = SHIFT
            mask = np.zeros((height, width), np.float32)
            mask[:, : width - SHIFT] = 1
        else:
            backward, mask = flow.frame_link(contents[t - 1], contents[t])
        errors.append(flow.warping_error(outputs[t], outputs[t - 1], backward, mask))
    return errors


def _style_content_j(record: dict) -> float:
    return 10.0 * record["J_content"] + 40.0 * record["J_style"]  # alpha, beta defaults


def measure_clip(args, name: str, clip: Path, work: Path) -> dict:
    contents = _outputs(clip)
    independent = run_independent(args, clip, work / f"{name}-independent")
    base_j = [_style_content_j(r) for r in independent["records"]]
    errors = warping_errors(name, contents, _outputs(work / f"{name}-independent"))
    seconds = statistics.median(r["optimize_seconds"] for r in independent["records"])
    report = {"independent": {"warping_error": _mean(errors), "J": base_j,
                              "seconds_per_frame": seconds}}  # fmt: skip
    modes = [(o, float(w)) for o in args.video_options or [""] for w in args.temporal.split(",")]
    for number, (options, weight) in enumerate(modes):
        out = work / f"{name}-{number}"
        summary = run_video(args, clip, out, weight, options)
        records = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
        js = [_style_content_j(r) for r in records]
        later = records[1:]
        report[f"temporal {weight:g} {options}".strip()] = {
            "warping_error": _mean(warping_errors(name, contents, _outputs(out))),
            "J": js, "J_ratio_max": max(j / b for j, b in zip(js, base_j, strict=True)),
            "first_frame_seconds": records[0]["seconds"],
            "later_frame_seconds": statistics.median(r["seconds"] for r in later),
            "flow_seconds": statistics.median(r["flow_seconds"] for r in later),
            "seconds": summary["seconds"],
        }  # fmt: skip
    base = report["independent"]["warping_error"]
    for value in report.values():
        value["warping_error_vs_independent"] = round(value["warping_error"] / base, 4)
    return report


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


def flow_timing() -> dict:
    """Seconds of frame_link (both flows and the mask) at 400x300, median of 5."""
    photo = _photo(400, 10)
    a, b = photo[:300, :400], photo[:300, 3:403]
    times = []
    for _ in range(5):
        began = time.perf_counter()
        flow.frame_link(a, b)
        times.append(time.perf_counter() - began)
    return {"size": "400x300", "frame_link_seconds": round(statistics.median(times), 4)}


def resume_check(args, clip: Path, work: Path) -> dict:
    """kill -9 after two frames, rerun: kept frames unchanged, the video complete."""
    out = work / "resume.mp4"
    argv = [sys.executable, "-m", "stylize", "video", "--content", str(clip), "--style",
            str(IMAGES / "style.jpg"), "-o", str(out), "--first-frame-iterations",
            str(args.first), "--iterations", str(args.later), *_common(args)]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = work / "resume.mp4.frames" / "manifest.jsonl"
    while not (manifest.is_file() and len(manifest.read_text().splitlines()) >= 2):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    frames_dir = manifest.parent
    before = {p.name: file_digests(p, "sha256")[0] for p in frames_dir.glob("*.png")}
    began = time.perf_counter()
    done = subprocess.run([*argv, "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    from stylize.video.frames import open_clip

    unchanged = all(file_digests(frames_dir / n, "sha256")[0] == d for n, d in before.items()
                    if int(n[:5]) <= sum(f["resumed"] for f in summary["frames"]))  # fmt: skip
    return {"frames_before_kill": len(before),
            "resumed": sum(f["resumed"] for f in summary["frames"]),
            "kept_frames_unchanged": unchanged, "video_frames": open_clip(out).count,
            "rerun_seconds": round(time.perf_counter() - began, 2)}  # fmt: skip


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        clips = make_clips(work, args.size, args.frames)
        report = {"size": args.size, "frames": args.frames, "weights": args.weights,
                  "first": args.first, "later": args.later, "flow": flow_timing()}  # fmt: skip
        for name, clip in clips.items():
            report[name] = measure_clip(args, name, clip, work)
        if not args.skip_resume:
            report["resume"] = resume_check(args, clips["pan"], work)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
