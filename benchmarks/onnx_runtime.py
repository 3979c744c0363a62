"""ONNX Runtime against eager PyTorch in the torch evaluator: stage ratios, rank agreement, int8, throughput.

``--n`` random HyT-NAS architectures (``sample_uniform``, seed 0) are each evaluated, in turn and
interleaved (so drift of the machine's load affects every setting alike), by three evaluators of
the detection task at ``--resolution``:

- ``eager``: today's default before ONNX Runtime, i.e. ``runtime="eager"``, no post-processing
  stage (the evaluator as it was), NASWOT accuracy;
- ``onnxruntime``: the new default settings (ONNX Runtime fp32, whole graph, post-processing, NASWOT);
- ``onnxruntime_parts_only``: the same without timing the whole graph (``whole_graph=False``);
- ``int8``: the same in ONNX Runtime with int8 dynamic quantization, accuracy ``none``.

Reported: per stage the median over architectures of eager / ONNX Runtime latency and the Spearman
rank correlation of the two across architectures (also end to end, network only: backbone + neck +
head); the whole network as one graph against the parts in turn; int8 / fp32 per stage; and
evaluations per minute of each setting (wall time of ``evaluate``, each setting's
own), with the process CPU time beside the wall time and the load average before and after.

    .venv/bin/python benchmarks/onnx_runtime.py [--n 12] [--resolution 224]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.evaluators import onnx_runtime
from search_engine.evaluators.torch_model import TorchEvaluator
from search_engine.spaces.hytnas import HyTNASSpace

SEED = 0
NETWORK = ("backbone", "neck", "head")
SETTINGS: dict[str, dict[str, Any]] = {
    "eager": {"runtime": "eager", "postprocess": False},
    "onnxruntime": {},
    "onnxruntime_parts_only": {"whole_graph": False},
    "int8": {"precision": "int8", "accuracy": "none"},
}


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "onnx_runtime.json"))
    args = parser.parse_args()

    space = HyTNASSpace()
    architectures = space.decode(space.sample_uniform(args.n, np.random.default_rng(SEED)))
    evaluators = {
        name: TorchEvaluator(resolution=args.resolution, **params) for name, params in SETTINGS.items()
    }
    for evaluator in evaluators.values():  # one-off costs (imports, first sessions) not counted
        evaluator.evaluate(architectures[:1])
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    load_start = load()
    for architecture in architectures:
        for name, evaluator in evaluators.items():
            wall, cpu = time.perf_counter(), time.process_time()
            [result] = evaluator.evaluate([architecture])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert result.ok, f"{name}: {result.error}"
            stages = dict(result.stage_latency or {})
            rows[name].append(
                {
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "stages": stages,
                    "network_ms": sum(stages[s] for s in NETWORK),
                    "latency_ms": float(result.metrics["latency_ms"]),
                    "whole_graph_ms": result.metrics.get("latency_whole_graph_ms"),
                    "export_s": result.metrics.get("onnx_export_s"),
                    "noisy": float(result.metrics["latency_noisy"]),
                    "passes": float(result.metrics["latency_passes"]),
                }
            )
            print(name, f"{wall:.2f} s", {k: round(v, 2) for k, v in stages.items()}, flush=True)
    load_end = load()

    def column(name: str, key: str, stage: str | None = None) -> list[float]:
        return [float(row["stages"][stage] if stage else row[key]) for row in rows[name]]

    comparison = {}
    for stage in (*NETWORK, None):
        eager = column("eager", "network_ms", stage)
        ort = column("onnxruntime", "network_ms", stage)
        int8 = column("int8", "network_ms", stage)
        comparison[stage or "network"] = {
            "eager_median_ms": statistics.median(eager),
            "ort_median_ms": statistics.median(ort),
            "eager_over_ort": statistics.median(e / o for e, o in zip(eager, ort, strict=True)),
            "spearman_eager_ort": float(spearmanr(eager, ort).statistic),
            "int8_median_ms": statistics.median(int8),
            "int8_over_fp32": statistics.median(q / o for q, o in zip(int8, ort, strict=True)),
            "spearman_int8_fp32": float(spearmanr(int8, ort).statistic),
        }
    whole = [
        float(row["whole_graph_ms"]) / row["latency_ms"]
        for row in rows["onnxruntime"]
        if row["whole_graph_ms"]
    ]
    throughput = {
        name: {
            "evaluations_per_min": 60.0 * len(rows[name]) / sum(column(name, "wall_s")),
            "median_wall_s": statistics.median(column(name, "wall_s")),
            "total_wall_s": sum(column(name, "wall_s")),
            "total_cpu_s": sum(column(name, "cpu_s")),
            "median_export_s": statistics.median(column(name, "export_s"))
            if rows[name][0]["export_s"]
            else None,
            "median_passes": statistics.median(column(name, "passes")),
            "noisy": int(sum(column(name, "noisy"))),
        }
        for name in SETTINGS
    }
    postprocess = [row["stages"].get("postprocess", 0.0) for row in rows["onnxruntime"]]
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "onnxruntime": onnx_runtime.runtime_version(),
        "n": args.n,
        "resolution": args.resolution,
        "load_start": load_start,
        "load_end": load_end,
        "comparison": comparison,
        "whole_graph_over_parts_median": statistics.median(whole) if whole else None,
        "postprocess_median_ms": statistics.median(postprocess),
        "throughput": throughput,
        "onnxruntime_over_eager_evaluations_per_min": throughput["onnxruntime"]["evaluations_per_min"]
        / throughput["eager"]["evaluations_per_min"],
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(report, indent=1))
    summary = {k: v for k, v in report.items() if k != "rows"}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
