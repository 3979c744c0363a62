"""Is a stored latency what the device would do? The torch evaluator's medians on a quiet and a busy machine.

Three architectures (the smallest, the median and the largest by multiply-adds of ``--n`` random
HyT-NAS architectures, fixed seed) are measured ``--runs`` times each by a fresh evaluator with its
default settings (or those given with ``--param``), runs interleaved across the three so slow drift
affects them alike. Two phases in one run:

- quiet: nothing else started by this script. Per architecture, the coefficient of variation (sample
  std / mean) of the end-to-end medians across runs. Target: under 3 %.
- busy: ``--busy`` CPU-bound processes (default: one per CPU) spin for the whole phase, competing with
  the measurement the way a training job or a second worker on the board would. Each measurement is
  compared with its architecture's quiet median: it should either be within 5 % of it or carry
  ``latency_noisy`` = 1 (the evaluator saw it could not trust it). A measurement that is off by more
  than 5 % and not flagged is a silent error, the failure this benchmark counts.

Beside wall time: the machine's load averages at each phase's start and end, and this process's CPU
time. The machine is shared, so "quiet" is only as quiet as the others on it; the load says how quiet.

    .venv/bin/python benchmarks/measurement_noise.py [--n 12] [--runs 5] [--busy 2] \\
        [--param 'runtime="eager"']
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.evaluators.torch_model import TorchEvaluator
from search_engine.registry import EVALUATORS
from search_engine.spaces.hytnas import HyTNASSpace

SEED = 0
QUIET_CV_TARGET = 0.03
BUSY_TOLERANCE = 0.05


def load() -> list[float]:
    """1, 5 and 15 minute load averages of the machine."""
    return [round(value, 2) for value in os.getloadavg()]


def evaluator(params: dict[str, Any]) -> TorchEvaluator:
    """A fresh ``torch`` evaluator (detection) with ``params`` over its defaults."""
    built = EVALUATORS.build("torch", {"task": "detection", **params})
    assert isinstance(built, TorchEvaluator)
    return built


@contextmanager
def spinning(processes: int) -> Iterator[None]:
    """``processes`` CPU-bound Python processes running until the block ends."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdout=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    try:
        time.sleep(2.0)  # let the load average start to climb before the first measurement
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


def measure(architectures: dict[str, dict[str, Any]], runs: int, params: dict[str, Any]) -> dict[str, Any]:
    """``runs`` fresh measurements of each architecture, interleaved; medians and flags per run."""
    rows: dict[str, list[dict[str, Any]]] = {label: [] for label in architectures}
    start_load, cpu, tick = load(), time.process_time(), time.perf_counter()
    for run in range(runs):
        for label, architecture in architectures.items():
            result = evaluator(params).evaluate([architecture])[0]
            row = {
                "ok": result.ok,
                "error": result.error,
                "latency_ms": result.metrics.get("latency_ms"),
                "noisy": bool(result.metrics.get("latency_noisy", 0.0)),
                "spread": result.metrics.get("latency_spread"),
                "passes": result.metrics.get("latency_passes"),
                "machine_load": result.metrics.get("machine_load_1m"),
            }
            rows[label].append(row)
        print(
            f"  run {run}: "
            + "  ".join(
                f"{label} {_ms(rows[label][-1])}{' (noisy)' if rows[label][-1]['noisy'] else ''}"
                for label in architectures
            ),
            flush=True,
        )
    return {
        "rows": rows,
        "load_start": start_load,
        "load_end": load(),
        "wall_s": time.perf_counter() - tick,
        "cpu_s": time.process_time() - cpu,
    }


def quiet_figures(quiet: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per architecture: median, CV and (max - min) / median of the quiet runs' medians."""
    figures = {}
    for label, rows in quiet["rows"].items():
        values = [row["latency_ms"] for row in rows if row["ok"]]
        if len(values) < 2:
            continue
        figures[label] = {
            "median_ms": statistics.median(values),
            "cv": statistics.stdev(values) / statistics.fmean(values),
            "range_over_median": (max(values) - min(values)) / statistics.median(values),
            "flagged": sum(row["noisy"] for row in rows),
        }
    return figures


def busy_verdicts(busy: dict[str, Any], quiet: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Each busy measurement: within 5 % of the quiet median, flagged noisy, or a silent error."""
    counts = {"within": 0, "flagged": 0, "silent_error": 0, "failed": 0}
    deviations: dict[str, list[float]] = {}
    for label, rows in busy["rows"].items():
        reference = quiet[label]["median_ms"]
        for row in rows:
            if not row["ok"]:
                counts["failed"] += 1
                continue
            deviation = row["latency_ms"] / reference - 1.0
            deviations.setdefault(label, []).append(deviation)
            if abs(deviation) <= BUSY_TOLERANCE:
                counts["within"] += 1
            elif row["noisy"]:
                counts["flagged"] += 1
            else:
                counts["silent_error"] += 1
    return {"counts": counts, "deviations": deviations}


def _ms(row: dict[str, Any]) -> str:
    return "FAILED" if not row["ok"] else f"{row['latency_ms']:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="random architectures to pick the three from")
    parser.add_argument("--runs", type=int, default=5, help="measurements per architecture and phase")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="CPU-bound processes")
    parser.add_argument("--param", action="append", default=[], help="evaluator setting, name=JSON value")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "measurement_noise.json"))
    args = parser.parse_args()
    params = {name: json.loads(value) for name, value in (item.split("=", 1) for item in args.param)}

    space = HyTNASSpace()
    candidates = space.decode(space.sample_uniform(args.n, np.random.default_rng(SEED)))
    macs = space.known_quantities(space.encode(candidates), evaluator(params).param_values())["macs"]
    order = np.argsort(macs, kind="stable")
    picks = {"small": int(order[0]), "medium": int(order[len(order) // 2]), "large": int(order[-1])}
    architectures = {label: candidates[index] for label, index in picks.items()}
    evaluator(params).evaluate([architectures["small"]])  # the process's one-off costs, not measured

    print(f"quiet: {args.runs} runs x 3 architectures, load {load()}", flush=True)
    quiet = measure(architectures, args.runs, params)
    print(f"busy: {args.busy} CPU-bound processes, {args.runs} runs x 3 architectures", flush=True)
    with spinning(args.busy):
        busy = measure(architectures, args.runs, params)
    quiet_stats = quiet_figures(quiet)
    verdicts = busy_verdicts(busy, quiet_stats)
    report = {
        "settings": {
            "n": args.n,
            "runs": args.runs,
            "busy": args.busy,
            "params": params,
            "cpus": os.cpu_count(),
        },
        "evaluator": evaluator(params).param_values(),
        "picks": picks,
        "quiet": quiet,
        "busy": busy,
        "quiet_figures": quiet_stats,
        "busy_verdicts": verdicts,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1, default=str))

    print(f"\n{'arch':<8}{'quiet median':>13}{'CV':>8}{'range':>8}{'flagged':>9}")
    for label, figures in quiet_stats.items():
        print(
            f"{label:<8}{figures['median_ms']:>10.1f} ms{figures['cv']:>8.1%}"
            f"{figures['range_over_median']:>8.1%}{figures['flagged']:>9}"
        )
    counts = verdicts["counts"]
    total = sum(counts.values())
    print(
        f"busy: {counts['within']} of {total} within {BUSY_TOLERANCE:.0%} of the quiet median,"
        f" {counts['flagged']} flagged noisy, {counts['silent_error']} off and not flagged,"
        f" {counts['failed']} failed"
    )
    for phase, figures in (("quiet", quiet), ("busy", busy)):
        print(
            f"{phase}: load {figures['load_start']} -> {figures['load_end']},"
            f" wall {figures['wall_s']:.0f} s, CPU {figures['cpu_s']:.0f} s"
        )


if __name__ == "__main__":
    main()
