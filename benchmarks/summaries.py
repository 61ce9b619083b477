"""The numbers benchmarks/bench.py reports for each child run: an optimizing run's
iterations, seconds per iteration, GFLOP/s and time to the reference's J, and the floor's
timings; each from the run's measured process (bench.run_measured) and its output."""

from __future__ import annotations

import statistics

from flops import step_flops  # benchmarks/ is on sys.path when run as a script

from stylize.images import scale_sizes


def iteration_deltas(history: list[dict]) -> list[float]:
    """Seconds of each iteration from cumulative seconds."""
    seconds = [0.0] + [record["seconds"] for record in history]
    return [b - a for a, b in zip(seconds, seconds[1:], strict=False)]


def to_target(history: list[dict], target: float | None, setup: float) -> dict | None:
    """First iteration at the final scale whose J is at most ``target``, and the time to it."""
    if target is None or not history:
        return None
    last_scale = max(record.get("scale", 1) for record in history)
    for record in history:
        if record.get("scale", 1) == last_scale and record["J"] <= target:
            return {"reached": True, "iteration": record["iteration"],
                    "loop_seconds": record["seconds"],
                    "seconds": setup + record["seconds"]}  # fmt: skip
    return {"reached": False, "iteration": None, "loop_seconds": None, "seconds": None}


def process_fields(run: dict) -> dict:
    """What every run reports about its process; stderr only when it failed."""
    keys = ("returncode", "wall_seconds", "peak_rss_mib", "parent_peak_rss_mib", "command")
    return {**{key: run[key] for key in keys},
            "stderr_tail": run["stderr_tail"] if run["returncode"] else []}  # fmt: skip


def run_sizes(result: dict, size: tuple[int, int], scales: int) -> list[tuple[int, int]]:
    """(width, height) of each scale a run optimized at: from stylize's --json schedule,
    else (the reference) halving steps to ``size``."""
    if schedule := result.get("schedule"):
        return [(scale["width"], scale["height"]) for scale in schedule]
    return scale_sizes(*size, scales)


def run_summary(run: dict, layers, size, target: float | None, reference: bool) -> dict:
    """The numbers the report shows for one optimizing run (reference or stylize).

    The reference reaches its own final J after its last step, by definition.
    """
    result, history = run.get("result") or {}, run.get("history") or []
    summary = process_fields(run)
    if not history:
        return summary
    scales = max(record.get("scale", 1) for record in history)
    ladder = run_sizes(result, size, scales)
    sizes = dict(enumerate(ladder, start=1))  # as the runs number them
    flops = sum(step_flops(layers, *sizes[record.get("scale", 1)]) for record in history)
    loop = history[-1]["seconds"]
    deltas = zip(iteration_deltas(history), history, strict=True)
    last = [delta for delta, record in deltas if record.get("scale", 1) == scales]
    setup = result.get("setup_seconds")
    summary.update({
        "iterations": len(history),
        "scale_sizes": [list(scale) for scale in ladder],
        "loop_seconds": loop,
        "seconds_per_iteration": loop / len(history),
        "median_seconds_per_iteration": statistics.median(last) if last else None,
        "min_seconds_per_iteration": min(last) if last else None,
        "gflops": flops / loop / 1e9 if loop > 0 else None,
        "setup_seconds": setup,
        "J": result.get("J"),
        "J_last_iterate": history[-1]["J"],
        "to_reference_J": (
            {"reached": True, "iteration": len(history), "loop_seconds": loop,
             "seconds": (setup or 0.0) + loop}
            if reference else to_target(history, target, setup or 0.0)
        ),
    })  # fmt: skip
    return summary


def floor_summary(run: dict) -> dict:
    """Seconds and GFLOP/s of the floor's timings."""
    result = run.get("result") or {}
    summary = process_fields(run)
    if not result:
        return summary
    flops = result["step_flops"]
    for key in ("forward_seconds", "step_seconds", "constant_step_seconds",
                "j_gradient_seconds", "repeats"):  # fmt: skip
        summary[key] = result[key]
    for key in ("step", "constant_step", "j_gradient"):
        samples = result[f"{key}_samples"]
        summary[f"{key}_seconds_mean"] = statistics.mean(samples)
        summary[f"{key}_seconds_min"] = min(samples)
    summary["gflops"] = flops / result["step_seconds"] / 1e9
    summary["j_gradient_gflops"] = flops / result["j_gradient_seconds"] / 1e9
    summary["constant_step_gflops"] = flops / result["constant_step_seconds"] / 1e9
    summary["forward_gflops"] = flops / 2 / result["forward_seconds"] / 1e9
    return summary
