"""Benchmark stylize against a re-implementation of the classic notebook, on one machine.

    python benchmarks/bench.py                       # 400x300, 200 iterations
    python benchmarks/bench.py --size 512x384 --iterations 100

Each run happens in a process of its own, so that its peak resident memory can be read
from the kernel when it exits: the floor (benchmarks/floor.py), the reference
(benchmarks/reference.py), then ``stylize run`` with Adam, with L-BFGS, with L-BFGS on two
scales, and in the README's fast mode (L-BFGS on two scales with half the budget). Without
``--weights``, a VGG-19 file of the real shapes with random weights is written once into the
work folder (575 MB, kept for later runs). The content and style images are the
repository's examples, cropped and resized to ``--size``.

stylize runs with its defaults, which are the notebook's settings; its J is the same function
of the image as the reference's, so "time to the reference's J" compares like with like.
stylize's weights cache lives in the work folder and is filled before the runs, so every
stylize run starts warm; the cold first load is reported separately.

Writes ``bench-<W>x<H>.json`` and ``bench-<W>x<H>.md`` into ``--out`` and prints the table.
See benchmarks/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import command_seconds, machine_info  # benchmarks/ is on sys.path as a script
from summaries import floor_summary, process_fields, run_summary
from tables import markdown_report

from stylize.cpu import computes_bfloat16, cpu_flags

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WEIGHTS_NAME = "vgg19-random-real-shapes.mat"
STYLIZE_MODES = {
    "adam": ["--optimizer", "adam"],
    "lbfgs": ["--optimizer", "lbfgs"],
    "lbfgs-scales2": ["--optimizer", "lbfgs", "--scales", "2"],
    "adam-bf16": ["--optimizer", "adam", "--precision", "bfloat16"],
    "lbfgs-bf16": ["--optimizer", "lbfgs", "--precision", "bfloat16"],
    "lbfgs-scales2-bf16": ["--optimizer", "lbfgs", "--scales", "2", "--precision", "bfloat16"],
    "fast": ["--optimizer", "lbfgs", "--scales", "2", "--scale-ratio", "4"],
    "fast-bf16": ["--optimizer", "lbfgs", "--scales", "2", "--scale-ratio", "4",
                  "--precision", "bfloat16"],
}  # fmt: skip
# The README's fast mode (`--optimizer lbfgs --scales 2 --scale-ratio 4 --iterations 100`):
# half the budget of the other stylize runs, which is 100 at the default 200.
HALF_BUDGET_MODES = ("fast", "fast-bf16")
FLOOR_MODES = {"floor": "float32", "floor-bf16": "bfloat16"}
ALL_MODES = (*FLOOR_MODES, "reference", *STYLIZE_MODES)
BFLOAT16_MODES = tuple(mode for mode in ALL_MODES if mode.endswith("-bf16"))


def default_modes() -> list[str]:
    """Every mode this machine can run: the bfloat16 ones need a CPU that computes it."""
    if computes_bfloat16(cpu_flags()):
        return list(ALL_MODES)
    return [mode for mode in ALL_MODES if mode not in BFLOAT16_MODES]


def parse_size(text: str) -> tuple[int, int]:
    """'400x300' -> (400, 300)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if min(width, height) < 16:
        raise argparse.ArgumentTypeError("each side must be at least 16 pixels")
    return width, height


def parse_modes(text: str) -> list[str]:
    """Comma-separated subset of ALL_MODES, kept in the benchmark's order."""
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    unknown = wanted - set(ALL_MODES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown modes {sorted(unknown)}; choose from {ALL_MODES}"
        )
    return [mode for mode in ALL_MODES if mode in wanted]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=parse_size, default=(400, 300), help="WIDTHxHEIGHT")
    parser.add_argument("--iterations", type=int, default=200, help="of the reference")
    parser.add_argument("--stylize-iterations", type=int,
                        help="of each stylize run  [default: --iterations]")  # fmt: skip
    parser.add_argument("--weights", type=Path, help="VGG-19 .mat (new layout) to use instead")
    parser.add_argument("--workdir", type=Path, default=HERE / "results",
                        help="weights, images, outputs and logs")  # fmt: skip
    parser.add_argument("--out", type=Path, help="report folder  [default: --workdir]")
    parser.add_argument("--modes", type=parse_modes, default=default_modes(),
                        help=f"comma-separated subset of {','.join(ALL_MODES)}  [default: all;"
                             " the -bf16 ones only on a CPU with native bfloat16]")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--floor-repeats", type=int, default=10)
    parser.add_argument("--import-runs", type=int, default=3, help="TensorFlow import timings")
    parser.add_argument("--help-runs", type=int, default=5, help="`stylize --help` timings")
    return parser.parse_args(argv)


def child_env(workdir: Path) -> dict[str, str]:
    """The environment of every child: TensorFlow's C++ log lines off, and stylize's weights
    cache in the work folder."""
    cache = str(workdir / "stylize-cache")
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "STYLIZE_CACHE_DIR": cache}


def run_measured(command: list[str], workdir: Path, name: str) -> dict:
    """Run ``command``, its output going to ``logs/name.out`` and ``.err`` in ``workdir``;
    return its exit code, stdout, the tail of stderr, wall seconds and peak resident memory
    (MiB)."""
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=child_env(workdir),
                                   cwd=ROOT)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_text(errors="replace").strip().splitlines()
    return {
        "command": command,
        "returncode": process.returncode,
        "stdout": out_path.read_text(errors="replace"),
        "stderr_tail": stderr[-5:],
        "wall_seconds": wall,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "parent_peak_rss_mib": own_peak,  # a lower bound of the above, not the child's own
    }


def last_json(text: str) -> dict | None:
    """The last line of ``text`` that parses as a JSON object, if any."""
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


WRITE_WEIGHTS = (
    "import sys; from stylize.synthetic import REAL_CONV_WIDTHS, REAL_FC_WIDTHS, write_vgg19_mat;"
    " write_vgg19_mat(sys.argv[1], 'new', REAL_CONV_WIDTHS, REAL_FC_WIDTHS, seed=0)"
)


def prepare_weights(args) -> tuple[Path, bool]:
    """The weights file to use and whether this run generated it.

    The file is written by a child process: a child's peak RSS as the kernel reports it is
    at least this process's own peak when the child was started, so this process must stay
    small for the runs' numbers to be their own.
    """
    if args.weights:
        return args.weights, False
    path = args.workdir / WEIGHTS_NAME
    if path.exists():
        return path, False
    print(f"writing {path} (random weights, real shapes) ...", file=sys.stderr)
    partial = path.with_suffix(".part.mat")
    subprocess.run([sys.executable, "-c", WRITE_WEIGHTS, str(partial)], check=True)
    partial.replace(path)
    return path, True


def prepare_images(size: tuple[int, int], workdir: Path) -> tuple[Path, Path]:
    """Content and style PNGs of exactly ``size``, from the repository's example images."""
    from sample_images import example_image

    paths = []
    for role in ("content", "style"):
        path = workdir / f"{role}-{size[0]}x{size[1]}.png"
        example_image(role, size).save(path)
        paths.append(path)
    return paths[0], paths[1]


def run_floor(args, weights: Path, mode: str = "floor") -> dict:
    """Time the floor (in FLOOR_MODES' precision) in its own process; its JSON plus the
    process measurements."""
    print(f"timing the {mode} ...", file=sys.stderr)
    size = f"{args.size[0]}x{args.size[1]}"
    command = [sys.executable, str(HERE / "floor.py"), "--weights", str(weights), "--size", size,
               "--repeats", str(args.floor_repeats), "--precision", FLOOR_MODES[mode]]  # fmt: skip
    measured = run_measured(command, args.workdir, mode)
    return {**measured, "result": last_json(measured["stdout"])}


def run_reference(args, weights: Path, content: Path, style: Path) -> dict:
    """The notebook re-implementation in its own process."""
    command = [sys.executable, str(HERE / "reference.py"), "--weights", str(weights),
               "--content", str(content), "--style", str(style),
               "--iterations", str(args.iterations), "--seed", str(args.seed)]  # fmt: skip
    measured = run_measured(command, args.workdir, "reference")
    result = last_json(measured["stdout"])
    history = result.pop("history") if result else []
    return {**measured, "result": result, "history": history}


def stylize_iterations(args, mode: str | None = None) -> int:
    """The budget of a stylize run: --stylize-iterations (else --iterations), halved for the
    fast-mode runs."""
    budget = args.stylize_iterations or args.iterations
    return max(1, budget // 2) if mode in HALF_BUDGET_MODES else budget


def stylize_command() -> list[str]:
    """The ``stylize`` console script next to this Python, else ``python -m stylize``."""
    script = Path(sys.executable).with_name("stylize")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stylize"]


def run_stylize(args, mode: str, weights: Path, content: Path, style: Path) -> dict:
    """``stylize run`` in one of STYLIZE_MODES, with --json and --history."""
    history_path = args.workdir / f"history-{mode}.jsonl"
    command = [*stylize_command(), "run", "--content", str(content), "--style", str(style),
               "--weights", str(weights), "-o", str(args.workdir / f"output-{mode}.png"),
               "--iterations", str(stylize_iterations(args, mode)), "--seed", str(args.seed),
               "--max-size", str(max(args.size)), "--device", "cpu",
               *STYLIZE_MODES[mode], "--json", "--quiet", "--history", str(history_path),
               "--overwrite"]  # fmt: skip
    measured = run_measured(command, args.workdir, mode)
    history = []
    if measured["returncode"] == 0 and history_path.exists():
        history = [json.loads(line) for line in history_path.read_text().splitlines() if line]
    return {**measured, "result": last_json(measured["stdout"]), "history": history}


IMPORT_PROBE = (
    "import time; t = time.perf_counter(); import stylize._tf; print(time.perf_counter()-t)"
)
LOAD_PROBE = (
    "import sys, time; from stylize.config import Settings; from stylize.weights import load_vgg19;"
    " t = time.perf_counter(); load_vgg19(sys.argv[1], Settings().deepest_layer);"
    " print(time.perf_counter() - t)"
)


def probe_seconds(args, code: str, *argv: str) -> float:
    """The seconds a Python snippet prints about itself, run in a child process."""
    command = [sys.executable, "-c", code, *argv]
    return float(command_seconds(command, child_env(args.workdir), ROOT)[1])


def startup_times(args, weights: Path) -> dict:
    """TensorFlow's import, the weights' first (cold) and cached loads, and
    ``stylize --help``'s wall time; medians of a few runs. Leaves the cache filled."""
    shutil.rmtree(args.workdir / "stylize-cache", ignore_errors=True)
    cold = probe_seconds(args, LOAD_PROBE, str(weights))
    warm = probe_seconds(args, LOAD_PROBE, str(weights))
    imports = [probe_seconds(args, IMPORT_PROBE) for _ in range(args.import_runs)]
    env = child_env(args.workdir)
    helps = [command_seconds([*stylize_command(), "--help"], env, ROOT)[0]
             for _ in range(args.help_runs)]  # fmt: skip
    return {
        "weights_load_cold_seconds": cold,
        "weights_load_cached_seconds": warm,
        "tensorflow_import_seconds": statistics.median(imports) if imports else None,
        "tensorflow_import_samples": imports,
        "help_seconds": statistics.median(helps) if helps else None,
        "help_samples": helps,
        "help_command": [*stylize_command(), "--help"],
    }


def benchmark(args) -> dict:
    """Every measurement, in order: start-up probes, floor, reference, stylize modes."""
    args.workdir.mkdir(parents=True, exist_ok=True)
    weights, generated = prepare_weights(args)
    content, style = prepare_images(args.size, args.workdir)
    report = {
        "size": {"width": args.size[0], "height": args.size[1]},
        "iterations": args.iterations,
        "stylize_iterations": stylize_iterations(args),
        "seed": args.seed,
        "machine": machine_info(),
        "weights": {"path": str(weights), "generated_now": generated},
        "images": {"content": str(content), "style": str(style)},
        "startup": startup_times(args, weights),
        "modes": {},
    }
    floors = {mode: run_floor(args, weights, mode) for mode in FLOOR_MODES if mode in args.modes}
    for mode, floor in floors.items():
        report["modes"][mode] = floor_summary(floor)
    runs = optimizer_runs(args, weights, content, style)
    report["reference_J"] = ((runs.get("reference") or {}).get("result") or {}).get("J")
    rescored = rescore_outputs(args, weights, content, style, runs)
    scores = rescored.pop("scores")
    report["rescore"] = rescored
    # Loading the weights here would raise this process's peak RSS, and with it every later
    # child's reported peak: only after the last child, and only without a floor.
    floor = next(iter(floors.values()), None)
    counts = (floor or {}).get("result") or work_counts_without_tf(args, weights)
    layers = [tuple(layer) for layer in counts["layers"]]
    report["flops"] = {key: counts[key] for key in ("step_flops", "gram_flops")}
    for mode, run in runs.items():
        report["modes"][mode] = run_summary(
            run, layers, args.size, report["reference_J"], mode == "reference"
        )
        if mode in scores:
            report["modes"][mode]["J_float32"] = scores[mode]["J"]
    report["machine"]["load_average_end"] = list(os.getloadavg())
    return report


def optimizer_runs(args, weights: Path, content: Path, style: Path) -> dict[str, dict]:
    """The reference and the stylize modes asked for, one after the other."""
    runs = {}
    for mode in args.modes:
        if mode == "reference":
            print("running the reference ...", file=sys.stderr)
            runs[mode] = run_reference(args, weights, content, style)
        elif mode in STYLIZE_MODES:
            print(f"running stylize {mode} ...", file=sys.stderr)
            runs[mode] = run_stylize(args, mode, weights, content, style)
    return runs


def rescore_outputs(args, weights: Path, content: Path, style: Path, runs: dict) -> dict:
    """Every stylize output's J in the float32 graph (benchmarks/rescore.py, its own process):
    a bfloat16 run's J is its own graph's, ~0.3 % off; a float32 run's must rescore to itself.
    Returns {"scores": {mode: {J, ...}}} plus the process measurements."""
    outputs = {mode: str(args.workdir / f"output-{mode}.png") for mode, run in runs.items()
               if mode in STYLIZE_MODES and run["returncode"] == 0}  # fmt: skip
    if not outputs:
        return {"scores": {}}
    print("rescoring the outputs in float32 ...", file=sys.stderr)
    command = [sys.executable, str(HERE / "rescore.py"), "--weights", str(weights),
               "--content", str(content), "--style", str(style), *outputs.values()]  # fmt: skip
    measured = run_measured(command, args.workdir, "rescore")
    scores = last_json(measured["stdout"]) or {}
    return {"scores": {mode: scores[path] for mode, path in outputs.items() if path in scores},
            **process_fields(measured)}  # fmt: skip


def work_counts_without_tf(args, weights: Path) -> dict:
    """The floor's layer shapes and FLOP counts, for a benchmark run without the floor; the
    weights come from the work folder's cache (mapped, so only their shapes are read)."""
    from floor import work_counts

    from stylize.config import Settings
    from stylize.weights import load_vgg19

    os.environ["STYLIZE_CACHE_DIR"] = child_env(args.workdir)["STYLIZE_CACHE_DIR"]
    settings = Settings()
    return work_counts(load_vgg19(weights, settings.deepest_layer), settings, *args.size)


def write_report(report: dict, out: Path) -> tuple[Path, Path]:
    """``bench-<W>x<H>.json`` and ``.md`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{report['size']['width']}x{report['size']['height']}"
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown_report(report))
    return json_path, md_path


def main(argv=None) -> int:
    args = parse_args(argv)
    report = benchmark(args)
    json_path, md_path = write_report(report, args.out or args.workdir)
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    failed = [mode for mode, run in report["modes"].items() if run["returncode"]]
    if failed:
        print(f"failed: {', '.join(failed)} (see {args.workdir / 'logs'})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
