"""The benchmark report as Markdown: one table of runs and the context around it."""

from __future__ import annotations

HEADER = (
    "| run | s/iter | median s/iter | best s/iter | GFLOP/s | start-up s | peak RSS MiB | final J"
    " | final J in float32 | reaches reference J at | loop s to it | start-up + loop s to it |"
)
COLUMNS = HEADER.count("|") - 1
LABELS = {
    "reference": "reference (notebook, Adam 2.0)",
    "adam": "stylize adam",
    "lbfgs": "stylize lbfgs",
    "lbfgs-scales2": "stylize lbfgs --scales 2",
    "adam-bf16": "stylize adam --precision bfloat16",
    "lbfgs-bf16": "stylize lbfgs --precision bfloat16",
    "lbfgs-scales2-bf16": "stylize lbfgs --scales 2 --precision bfloat16",
    "fast": "stylize fast mode: lbfgs --scales 2 --scale-ratio 4, half the iterations",
    "fast-bf16": "stylize fast mode --precision bfloat16",
}


FLOOR_LABELS = {"floor": "floor", "floor-bf16": "floor in bfloat16"}


def number(value, digits: int = 3) -> str:
    """A float with ``digits`` decimals, or a dash for None."""
    return "—" if value is None else f"{value:.{digits}f}"


def cost(value) -> str:
    return "—" if value is None else f"{value:.4g}"


def floor_rows(floor: dict, label: str = "floor") -> list[str]:
    """Three rows for a floor: the bare pass, stylize's J with its gradient, and the bare pass
    with constant kernels."""
    if "step_seconds" not in floor:
        return [f"| {label} | failed (exit {floor['returncode']}) |" + " |" * (COLUMNS - 2)]
    rss = number(floor["peak_rss_mib"], 0)
    rest = "| — | — | — | — | — |"
    return [
        f"| {label}: forward + backward, {floor['repeats']} repeats"
        f" | {number(floor['step_seconds_mean'])} | {number(floor['step_seconds'])}"
        f" | {number(floor['step_seconds_min'])}"
        f" | {number(floor['gflops'], 1)} | — | {rss} {rest}",
        f"| {label}: stylize J + gradient (one L-BFGS evaluation)"
        f" | {number(floor['j_gradient_seconds_mean'])} | {number(floor['j_gradient_seconds'])}"
        f" | {number(floor['j_gradient_seconds_min'])}"
        f" | {number(floor['j_gradient_gflops'], 1)} | — | {rss} {rest}",
        f"| {label}: plain TF, kernels as constants, forward + backward"
        f" | {number(floor['constant_step_seconds_mean'])}"
        f" | {number(floor['constant_step_seconds'])}"
        f" | {number(floor['constant_step_seconds_min'])}"
        f" | {number(floor['constant_step_gflops'], 1)} | — | {rss} {rest}",
    ]


def run_row(mode: str, run: dict) -> str:
    """One row for the reference or a stylize mode."""
    label = LABELS.get(mode, mode)
    if run["returncode"] or "iterations" not in run:
        return f"| {label} | failed (exit {run['returncode']}) |" + " |" * (COLUMNS - 2)
    target = run.get("to_reference_J")
    if target is None:
        reach = loop = total = "—"
    elif target["reached"]:
        reach = f"iteration {target['iteration']}"
        loop, total = number(target["loop_seconds"], 1), number(target["seconds"], 1)
    else:
        reach, loop, total = f"not in {run['iterations']}", "—", "—"
    return (
        f"| {label} | {number(run['seconds_per_iteration'])}"
        f" | {number(run['median_seconds_per_iteration'])}"
        f" | {number(run['min_seconds_per_iteration'])} | {number(run['gflops'], 1)}"
        f" | {number(run['setup_seconds'], 2)} | {number(run['peak_rss_mib'], 0)}"
        f" | {cost(run['J'])} | {cost(run.get('J_float32'))} | {reach} | {loop} | {total} |"
    )


def context_lines(report: dict) -> list[str]:
    """The lines under the table: work per step, start-up outside the runs, machine."""
    machine, startup, flops = report["machine"], report["startup"], report["flops"]
    walls = ", ".join(f"{mode} {run['wall_seconds']:.1f}" for mode, run in report["modes"].items())
    return [
        f"- Reference J (the notebook's, after {report['iterations']} Adam steps):"
        f" {cost(report.get('reference_J'))}",
        f"- Work per iteration: {flops['step_flops'] / 1e9:.1f} GFLOP (3x3 convolutions up to"
        f" conv5_1, forward and backward to the input); the Grams add"
        f" {flops['gram_flops'] / 1e9:.1f} GFLOP, not counted",
        f"- Weights load (stylize, up to the deepest cost layer): first"
        f" {number(startup['weights_load_cold_seconds'], 2)} s, from its cache"
        f" {number(startup['weights_load_cached_seconds'], 2)} s; the runs above start cached",
        f"- TensorFlow import: {number(startup['tensorflow_import_seconds'], 2)} s;"
        f" `stylize --help`: {number(startup['help_seconds'], 2)} s (medians of"
        f" {len(startup['tensorflow_import_samples'])} and {len(startup['help_samples'])} runs)",
        f"- Whole-process wall seconds: {walls}",
        f"- Peak RSS of the benchmark's own process: {number(parent_peak(report), 0)} MiB"
        " (the kernel reports a child's peak as at least its parent's)",
        f"- Machine: {machine['cpu']}, {machine['usable_cores']} usable cores,"
        f" {number(machine['memory_gib'], 1)} GiB; Python {machine['python']},"
        f" TensorFlow {machine['tensorflow']}; stylize {machine['stylize']} ({machine['git']})",
        f"- Load average (1, 5, 15 min) at start {format_load(machine['load_average_start'])},"
        f" at end {format_load(machine.get('load_average_end'))}; {machine['date']}",
    ]


def parent_peak(report: dict) -> float | None:
    peaks = [run.get("parent_peak_rss_mib") for run in report["modes"].values()]
    return max((p for p in peaks if p is not None), default=None)


def format_load(values) -> str:
    return "—" if not values else " ".join(f"{v:.2f}" for v in values)


def iterations(report: dict) -> str:
    """'200 iterations', or '200 iterations (stylize: 300)' when the budgets differ."""
    text = f"{report['iterations']} iterations"
    extra = report.get("stylize_iterations", report["iterations"])
    return text if extra == report["iterations"] else f"{text} (stylize: {extra})"


def markdown_report(report: dict) -> str:
    """Title, table and context as one Markdown document."""
    size = report["size"]
    lines = [
        f"# stylize benchmark: {size['width']}x{size['height']}, {iterations(report)}",
        "",
        HEADER,
        "| --- |" + " ---: |" * 8 + " --- | ---: | ---: |",
    ]
    modes = report["modes"]
    for mode, label in FLOOR_LABELS.items():
        if mode in modes:
            lines += floor_rows(modes[mode], label)
    lines += [run_row(mode, run) for mode, run in modes.items() if mode not in FLOOR_LABELS]
    return "\n".join([*lines, "", *context_lines(report)]) + "\n"
