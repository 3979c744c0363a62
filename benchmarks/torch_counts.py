"""The ``torch`` evaluator's multiply-adds and throughput, against the one that counted with FlopCounterMode.

Part 1, attention the old count missed: ``--n`` random HyT-NAS architectures (``sample_uniform``,
fixed seed) at 224 and 512 px (detection). For each, the multiply-adds ``FlopCounterMode`` counts
with ``scaled_dot_product_attention`` on its default (fused) CPU kernel, as the old evaluator's
counting pass did, against the closed form the evaluator now reports
(``search_engine.spaces.hytnas_counts``); the missed share is (closed form - counted) / closed form,
of the backbone (the only stage with attention) and of the whole network. As a check, the same count
with attention forced onto its math path must equal the closed form (``math_path_equal``).

Part 2, evaluations per minute: ``--throughput-n`` random architectures (another seed) evaluated at
224 px with the default settings by three evaluators, interleaved per architecture so drift affects
all alike: ``before``, the evaluator of commit ``--before`` (loaded from git: FlopCounterMode counting
pass, a whole-model pass beside the stage-wise one, 10 timed passes), ``after_fixed`` (this
evaluator with ``max_repeats`` = ``repeats`` = 10: the same passes, without the counting pass and the
whole-model passes) and ``after`` (this evaluator at its defaults: at least 10 passes, more until the
median is known within 3 %, at most 30). Wall time, CPU time of this process and the machine's load
average are recorded around each evaluation; ``after`` also gives its passes and noisy flags.

    .venv/bin/python benchmarks/torch_counts.py [--n 20] [--throughput-n 6] [--before 3d24321]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search_engine.evaluators.torch_model import TorchEvaluator
from search_engine.spaces.hytnas import HyTNASSpace

ROOT = Path(__file__).resolve().parents[1]

SPACE = HyTNASSpace()
RESOLUTIONS = (224, 512)


def load() -> float:
    """One-minute load average of the machine."""
    return round(os.getloadavg()[0], 2)


def counted_macs(architecture: dict[str, Any], resolution: int, math_attention: bool) -> dict[str, float]:
    """Multiply-adds per stage as FlopCounterMode counts them on one image (MACs = FLOPs / 2)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from search_engine.nn.hybrid import build_model

    model = build_model(architecture, resolution=resolution)
    value: Any = torch.zeros(1, 3, resolution, resolution)
    macs: dict[str, float] = {}
    backend = sdpa_kernel(SDPBackend.MATH) if math_attention else contextlib.nullcontext()
    with torch.no_grad(), backend:
        for name in ("backbone", "neck", "head"):
            with FlopCounterMode(display=False) as counter:
                value = getattr(model, name)(value)
            macs[name] = counter.get_total_flops() / 2.0
    return macs


def missed_attention(n: int, seed: int) -> dict[str, Any]:
    """Part 1 at each resolution: the share of multiply-adds the fused-kernel count missed."""
    X = SPACE.sample_uniform(n, np.random.default_rng(seed))
    architectures = SPACE.decode(X)
    out: dict[str, Any] = {}
    for resolution in RESOLUTIONS:
        closed = SPACE.known_quantities(X, {"resolution": resolution})
        backbone_share, total_share, math_equal = [], [], []
        for i, architecture in enumerate(architectures):
            fused = counted_macs(architecture, resolution, math_attention=False)
            backbone_share.append(1.0 - fused["backbone"] / closed["macs.backbone"][i])
            total_share.append(1.0 - sum(fused.values()) / closed["macs"][i])
            if i < 5:  # the math path's count is exact; a few suffice to show it
                math = counted_macs(architecture, resolution, math_attention=True)
                math_equal.append(sum(math.values()) == closed["macs"][i])
        out[str(resolution)] = {
            "backbone_missed_share": _quantiles(backbone_share),
            "total_missed_share": _quantiles(total_share),
            "math_path_equal": all(math_equal),
        }
        summary = out[str(resolution)]["backbone_missed_share"]
        print(
            f"  {resolution} px: backbone MACs missed  median {summary['median']:.1%}"
            f"  p90 {summary['p90']:.1%}  max {summary['max']:.1%}"
            f"  (whole network median {out[str(resolution)]['total_missed_share']['median']:.1%});"
            f" math path equals the closed form: {all(math_equal)}",
            flush=True,
        )
    return out


def _quantiles(values: list[float]) -> dict[str, float]:
    return {
        "min": float(np.min(values)),
        "median": float(np.median(values)),
        "p90": float(np.percentile(values, 90)),
        "max": float(np.max(values)),
    }


def before_evaluator(revision: str) -> Any:
    """The TorchEvaluator class of ``revision``, loaded from git into a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{revision}:search_engine/evaluators/torch_model.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "torch_model_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("torch_model_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module.TorchEvaluator


def throughput(n: int, seed: int, revision: str) -> dict[str, Any]:
    """Part 2: the three evaluators on the same architectures, interleaved."""
    architectures = SPACE.decode(SPACE.sample_uniform(n, np.random.default_rng(seed)))
    evaluators = {
        "before": before_evaluator(revision)(),
        "after_fixed": TorchEvaluator(max_repeats=10),
        "after": TorchEvaluator(),
    }
    for evaluator in evaluators.values():  # one-off process costs (torch's first calls), not counted
        evaluator.evaluate([architectures[0]])
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in evaluators}
    for index, architecture in enumerate(architectures):
        for name, evaluator in evaluators.items():
            load_before, cpu, tick = load(), time.process_time(), time.perf_counter()
            result = evaluator.evaluate([architecture])[0]
            row = {
                "wall_s": time.perf_counter() - tick,
                "cpu_s": time.process_time() - cpu,
                "load_before": load_before,
                "load_after": load(),
                "ok": result.ok,
                "latency_ms": result.metrics.get("latency_ms"),
                "passes": result.metrics.get("latency_passes", 10.0),
                "noisy": result.metrics.get("latency_noisy"),
                "spread": result.metrics.get("latency_spread"),
            }
            rows[name].append(row)
            print(
                f"  arch {index}: {name:<11} {row['wall_s']:6.2f} s wall, {row['cpu_s']:6.2f} s CPU,"
                f" load {row['load_before']:.2f}->{row['load_after']:.2f},"
                f" latency {row['latency_ms'] or float('nan'):7.1f} ms, {row['passes']:.0f} passes"
                + (f", noisy {row['noisy']:.0f}" if row["noisy"] is not None else ""),
                flush=True,
            )
    summary = {}
    for name, entries in rows.items():
        wall = sum(row["wall_s"] for row in entries)
        summary[name] = {
            "evaluations_per_minute": 60.0 * len(entries) / wall,
            "wall_s": wall,
            "cpu_s": sum(row["cpu_s"] for row in entries),
            "median_passes": statistics.median(row["passes"] for row in entries),
            "noisy": sum(row["noisy"] == 1.0 for row in entries) if entries[0]["noisy"] is not None else None,
            "rows": entries,
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20, help="architectures per resolution in part 1")
    parser.add_argument("--throughput-n", type=int, default=6, help="architectures in part 2")
    parser.add_argument("--before", default="3d24321", help="commit of the evaluator to compare with")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/torch_counts.json")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    started = {"load": list(os.getloadavg()), "cpus": os.cpu_count()}
    print(f"load average at start {started['load']}, {started['cpus']} CPUs", flush=True)
    print("part 1: multiply-adds the fused attention kernel's count missed", flush=True)
    part1 = missed_attention(args.n, seed=0)
    print(f"part 2: evaluations per minute at 224 px, default settings (before = {args.before})", flush=True)
    part2 = throughput(args.throughput_n, seed=1, revision=args.before)
    for name, entry in part2.items():
        print(
            f"  {name:<11} {entry['evaluations_per_minute']:5.2f} evaluations/min"
            f"  (wall {entry['wall_s']:.1f} s, CPU {entry['cpu_s']:.1f} s, median passes"
            f" {entry['median_passes']:.0f}"
            + (f", noisy {entry['noisy']} of {len(entry['rows'])})" if entry["noisy"] is not None else ")"),
            flush=True,
        )
    finished = list(os.getloadavg())
    print(f"load average at end {finished}", flush=True)
    args.out.write_text(
        json.dumps(
            {"started": started, "finished_load": finished, "missed_attention": part1, "throughput": part2},
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
