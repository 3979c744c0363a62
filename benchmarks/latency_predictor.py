"""The latency predictor's cross-validated figures on the HyT-NAS latency table (a stand-in for a device).

``models_lat_pre.csv``: 1769 architectures and their end-to-end latency (ms), one "stage". Each variant
is a ``LatencyPredictor`` (regressor, inputs, target) scored by the same 5-fold cross-validation, with
the table evaluator's own fit report (today's features-only predictor) as the baseline of the run:
out-of-fold R², Kendall tau and the share of predictions within ±10 % (target: at least 85 %), and
the wall and CPU seconds of each cross-validation beside the load average. The analytic features
describe a classification network (the table's device and input size are not recorded); ``--resolutions``
shows how much the assumed input size matters. Exits cleanly when the table is absent.

    .venv/bin/python benchmarks/latency_predictor.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.evaluators.latency_predictor import LatencyPredictor, inputs_from_features
from search_engine.evaluators.table import TableEvaluator
from search_engine.spaces.hytnas import HyTNASSpace

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hytnas"
VARIANTS: list[dict[str, Any]] = [
    {"model": "xgboost", "analytic": False, "target": "raw"},
    {"model": "xgboost", "analytic": False, "target": "log"},
    {"model": "xgboost", "analytic": True, "target": "raw"},
    {"model": "xgboost", "analytic": True, "target": "log"},
    {"model": "xgboost-linear", "analytic": False, "target": "log"},
    {"model": "xgboost-linear", "analytic": True, "target": "log"},
    {"model": "xgboost-dart", "analytic": True, "target": "log"},
]


def timed(work: Any) -> tuple[Any, dict[str, float]]:
    """``work()``'s answer, with its wall and CPU seconds and the 1-minute load average after it."""
    wall, cpu = time.perf_counter(), time.process_time()
    answer = work()
    return answer, {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "load_1min": os.getloadavg()[0],
    }


def row(label: str, quality: Any, timing: dict[str, float]) -> dict[str, Any]:
    figures = {
        "r2": quality.r2,
        "kendall_tau": quality.kendall_tau,
        "within_10_percent": quality.within_10_percent,
    }
    print(
        f"{label:<48} R² {quality.r2:.3f}  τ {quality.kendall_tau:.3f}"
        f"  ±10 % {100 * quality.within_10_percent:5.1f} %"
        f"  wall {timing['wall_s']:5.2f} s  cpu {timing['cpu_s']:5.2f} s  load {timing['load_1min']:.1f}"
    )
    return {"variant": label, **figures, **timing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--resolutions", type=int, nargs="*", default=[96, 224, 256])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "latency_predictor.json"))
    args = parser.parse_args()
    table = Path(args.data) / "models_lat_pre.csv"
    if not table.is_file():
        print(f"HyT-NAS latency table not found at {table}; nothing to measure.")
        return
    raw = np.loadtxt(table, delimiter=",")  # (1769, 23 design columns + latency ms)
    F, latency = raw[:, :23], {"latency": raw[:, 23]}
    space = HyTNASSpace()
    print(f"{table.name}: {len(raw)} rows; 5-fold cross-validation, out-of-fold predictions")

    evaluator = TableEvaluator(
        tables=[{"path": str(table), "objectives": ["latency"]}],
        objectives=[{"name": "latency", "direction": "min", "unit": "ms"}],
    )
    baseline, timing = timed(lambda: evaluator.fit_report()["latency"])
    rows = [row("table evaluator (baseline: xgboost, features, raw)", baseline, timing)]

    inputs = inputs_from_features(space, F, {"task": "classification", "resolution": 224})
    for variant in VARIANTS:
        predictor = LatencyPredictor(**variant)
        fits, timing = timed(lambda p=predictor: p.cross_validate(inputs, latency))
        rows.append(row(f"{predictor.label} (224 px)", fits["latency"].quality, timing))
    for resolution in args.resolutions:
        at = inputs_from_features(space, F, {"task": "classification", "resolution": resolution})
        fits, timing = timed(lambda at=at: LatencyPredictor().cross_validate(at, latency))
        rows.append(row(f"{LatencyPredictor().label} ({resolution} px)", fits["latency"].quality, timing))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"table": table.name, "n_rows": len(raw), "rows": rows}, indent=2) + "\n"
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
