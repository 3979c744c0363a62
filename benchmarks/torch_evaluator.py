"""Throughput and repeatability of the ``torch`` evaluator (detection task) on this machine.

Part 1, throughput: ``--n`` random HyT-NAS architectures (``sample_uniform``, fixed seed) are evaluated
one at a time by a single evaluator with its default settings (1 thread, 3 warm-up and 10 timed passes,
NASWOT on 16 images); evaluations per minute and the split of each evaluation's wall time (model
build, warm-up, timed passes, multiply-add counting, NASWOT score) are reported. The split comes from
timing wrappers placed around the evaluator's own functions for the duration of the run. One untimed
evaluation first pays the process's one-off costs (torch's first-call set-up), reported separately.
The baseline, timed in the same run, is the end-to-end forward time alone: each architecture built
again, and one timed forward pass of a batch of one image under ``torch.no_grad`` with the same thread
count; the ratio measurement time / forward time says what a careful measurement costs over "just run
it once".

Part 2, repeatability: the smallest, median and largest of those architectures by multiply-adds are
each timed in ``--runs`` separate runs (a fresh evaluator and a freshly built model every run; runs
interleaved across the three architectures so slow drift affects all of them alike). Per run the
evaluator's median latency per stage and end to end is kept; the spread across runs is reported as
(max - min) / median and as the coefficient of variation (sample std / mean).

The machine is shared: ``os.getloadavg()`` is recorded at the start and end (and around each part).

    .venv/bin/python benchmarks/torch_evaluator.py [--n 12] [--runs 5] [--resolution 224]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.evaluators import measurement, torch_model
from search_engine.registry import EVALUATORS
from search_engine.spaces.hytnas import HyTNASSpace
from search_engine.types import STAGES

SEED = 0
SPLIT = ("build", "warmup_other", "timed_passes", "macs_count", "naswot")


def load() -> list[float]:
    """1, 5 and 15 minute load averages of the machine."""
    return [round(value, 2) for value in os.getloadavg()]


@contextmanager
def phase_timers() -> Iterator[dict[str, float]]:
    """Seconds spent in the evaluator's build, timed-pass, MAC-count and NASWOT functions, accumulated.

    The wrappers replace the module attributes the evaluator looks up at call time and are removed on
    exit; they add one ``perf_counter`` pair per call, nothing inside the timed passes.
    """
    import search_engine.nn.hybrid as hybrid

    totals = {"build": 0.0, "timed_passes": 0.0, "macs_count": 0.0, "naswot": 0.0}
    targets = (
        (hybrid, "build_model", "build"),
        (measurement, "time_passes", "timed_passes"),
        (torch_model, "_stage_macs", "macs_count"),
        (torch_model, "naswot_score", "naswot"),
    )
    # The MAC-counting pass is gone since sizes come from the closed form: its share stays 0.
    targets = tuple(target for target in targets if hasattr(target[0], target[1]))
    originals = [(module, name, getattr(module, name)) for module, name, _ in targets]

    def timed(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            tick = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - tick

        return wrapper

    for (module, name, label), (_, _, original) in zip(targets, originals, strict=True):
        setattr(module, name, timed(original, label))
    try:
        yield totals
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


def evaluator(resolution: int) -> torch_model.TorchEvaluator:
    """A fresh ``torch`` evaluator: detection, the given resolution, every other setting at its default."""
    built = EVALUATORS.build("torch", {"task": "detection", "resolution": resolution})
    assert isinstance(built, torch_model.TorchEvaluator)
    return built


def forward_ms(architecture: dict[str, Any], resolution: int, threads: int) -> float:
    """Milliseconds of one end-to-end forward pass of a freshly built model (eval mode, no grad)."""
    import torch

    from search_engine.nn.hybrid import build_model

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(SEED)
        model = build_model(dict(architecture), task="detection", resolution=resolution).eval()
        image = torch.randn(1, 3, resolution, resolution)  # (1, 3, R, R)
        with torch.no_grad():
            tick = time.perf_counter()
            model(image)
            return (time.perf_counter() - tick) * 1e3
    finally:
        torch.set_num_threads(previous)


def throughput(architectures: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
    """Part 1: evaluations per minute, the per-phase split, and the plain-forward baseline."""
    runner = evaluator(resolution)
    tick = time.perf_counter()
    first = runner.evaluate([architectures[0]])[0]  # one-off process costs, not counted
    process_warmup_s = time.perf_counter() - tick
    rows: list[dict[str, Any]] = []
    for index, architecture in enumerate(architectures):
        with phase_timers() as phases:
            tick = time.perf_counter()
            result = runner.evaluate([architecture])[0]
            wall = time.perf_counter() - tick
        split = {name: phases.get(name, 0.0) for name in SPLIT}
        split["warmup_other"] = wall - sum(phases.values())  # warm-up passes, inputs, RSS, bookkeeping
        forward = forward_ms(architecture, resolution, runner.threads)
        row = {
            "index": index,
            "ok": result.ok,
            "error": result.error,
            "wall_s": wall,
            "split_s": split,
            "forward_ms": forward,
            "ratio": wall * 1e3 / forward,
            "latency_ms": result.metrics.get("latency_ms"),
            "stage_latency_ms": dict(result.stage_latency or {}),
            "macs_total": result.metrics.get("macs_total"),
            "params_total": result.metrics.get("params_total"),
        }
        rows.append(row)
        print(
            f"  arch {index:2d}: {wall:6.2f} s  build {split['build']:5.2f}"
            f"  passes {split['timed_passes']:5.2f}"
            f"  warm-up {split['warmup_other']:5.2f}  MACs {split['macs_count']:5.2f}"
            f"  NASWOT {split['naswot']:5.2f}  | {_g(result.metrics.get('macs_total'))} MACs, latency"
            f" {_f(row['latency_ms'])} ms, one forward {forward:7.1f} ms  (x{row['ratio']:.0f})"
            + ("" if result.ok else f"  FAILED: {result.error}"),
            flush=True,
        )
    total_wall = sum(row["wall_s"] for row in rows)
    total_forward_s = sum(row["forward_ms"] for row in rows) / 1e3
    return {
        "process_warmup_s": process_warmup_s,
        "process_warmup_ok": first.ok,
        "n": len(rows),
        "failed": sum(not row["ok"] for row in rows),
        "total_s": total_wall,
        "evaluations_per_minute": 60.0 * len(rows) / total_wall,
        "median_evaluation_s": statistics.median(row["wall_s"] for row in rows),
        "split_total_s": {name: sum(row["split_s"][name] for row in rows) for name in SPLIT},
        "split_share": {name: sum(row["split_s"][name] for row in rows) / total_wall for name in SPLIT},
        "forward_total_s": total_forward_s,
        "ratio_total": total_wall / total_forward_s,
        "ratio_median": statistics.median(row["ratio"] for row in rows),
        "rows": rows,
    }


def spread(values: list[float]) -> dict[str, float]:
    """Median, (max - min) / median and coefficient of variation (sample std / mean) of run medians."""
    median = statistics.median(values)
    mean = statistics.fmean(values)
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        "range_over_median": (max(values) - min(values)) / median,
        "cv": statistics.stdev(values) / mean if len(values) > 1 else 0.0,
    }


def repeatability(
    architectures: list[dict[str, Any]], macs: list[float], runs: int, resolution: int
) -> dict[str, Any]:
    """Part 2: the smallest, median and largest architecture by MACs timed in ``runs`` separate runs."""
    order = np.argsort(macs, kind="stable")
    picks = {"small": int(order[0]), "medium": int(order[len(order) // 2]), "large": int(order[-1])}
    per_run: dict[str, dict[str, list[float]]] = {
        label: {part: [] for part in (*STAGES, "end_to_end")} for label in picks
    }
    for run in range(runs):
        for label, index in picks.items():
            result = evaluator(resolution).evaluate([architectures[index]])[0]
            if not result.ok:
                print(f"  run {run} {label}: FAILED {result.error}", flush=True)
                continue
            stage_latency = result.stage_latency or {}
            for stage in STAGES:
                per_run[label][stage].append(stage_latency[stage])
            per_run[label]["end_to_end"].append(result.metrics["latency_ms"])
        print(
            f"  run {run}: "
            + "  ".join(f"{label} {_f(per_run[label]['end_to_end'][-1:])} ms" for label in picks),
            flush=True,
        )
    return {
        label: {
            "index": index,
            "macs_total": macs[index],
            "runs_ms": per_run[label],
            "spread": {part: spread(values) for part, values in per_run[label].items() if values},
        }
        for label, index in picks.items()
    }


def _f(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    return "-" if value is None else f"{value:.1f}"


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:6.0f}M"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="random architectures for the throughput part")
    parser.add_argument("--runs", type=int, default=5, help="separate runs per architecture (repeatability)")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "torch_evaluator.json"))
    args = parser.parse_args()
    import torch

    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "settings": {"n": args.n, "runs": args.runs, "resolution": args.resolution, "seed": SEED},
        "load_start": load(),
    }
    start = time.perf_counter()
    space = HyTNASSpace()
    architectures = space.decode(space.sample_uniform(args.n, np.random.default_rng(SEED)))
    defaults = evaluator(args.resolution)
    report["settings"]["evaluator"] = {
        name: getattr(defaults, name) for name in ("task", "threads", "warmup", "repeats", "batch_size")
    }

    print(
        f"throughput: {args.n} architectures at {args.resolution} px, load {report['load_start']}", flush=True
    )
    part1 = throughput(architectures, args.resolution)
    report["throughput"] = part1
    report["load_after_throughput"] = load()
    macs = [float(row["macs_total"] or 0.0) for row in part1["rows"]]

    print(f"repeatability: {args.runs} runs x 3 architectures, load {report['load_after_throughput']}")
    report["repeatability"] = repeatability(architectures, macs, args.runs, args.resolution)
    report["load_end"] = load()
    report["elapsed_s"] = time.perf_counter() - start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))

    share = part1["split_share"]
    print(
        f"\n{part1['evaluations_per_minute']:.1f} evaluations/min ({part1['n']} architectures,"
        f" {part1['failed']} failed; median {part1['median_evaluation_s']:.2f} s each;"
        f" first evaluation in the process {part1['process_warmup_s']:.2f} s, not counted)"
    )
    print("split: " + ", ".join(f"{name} {share[name]:.0%}" for name in SPLIT))
    print(
        f"measurement / one forward pass: x{part1['ratio_total']:.0f} overall"
        f" ({part1['total_s']:.1f} s vs {part1['forward_total_s']:.2f} s), median per architecture"
        f" x{part1['ratio_median']:.0f}"
    )
    print(f"\n{'arch':<7}{'MACs':>8}  {'part':<11}{'median ms':>10}{'(max-min)/med':>15}{'CV':>8}")
    for label, entry in report["repeatability"].items():
        for part, stats in entry["spread"].items():
            print(
                f"{label:<7}{_g(entry['macs_total']):>8}  {part:<11}{stats['median']:>10.2f}"
                f"{stats['range_over_median']:>15.1%}{stats['cv']:>8.1%}"
            )
    print(f"\nload start {report['load_start']}, end {report['load_end']}; {report['elapsed_s']:.0f} s total")


if __name__ == "__main__":
    main()
