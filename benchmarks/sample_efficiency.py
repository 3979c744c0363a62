"""Sample efficiency on ZDT1-3 and DTLZ1-4 under DGEMO's protocol, exactly.

DGEMO's protocol (Konaković Luković et al., NeurIPS 2020; its ``main.py``, ``baselines/nsga2.py``
and ``scripts/get_ref_point.py``): 6 variables, 2 objectives; per seed one 50-point Latin-hypercube
initial design, drawn as DGEMO draws it (``dgemo_design``), then 20 batches of 10 (250
evaluations). Every method of a seed starts from that same design: the presets are told it as
their initial data, the baselines start from it. The reference point is the component-wise
maximum of seed 0's initial design, shared by every method and seed. Metric: log10(true
hypervolume - hypervolume found), the true hypervolume taken from a dense front (20,001 points for
2 objectives). Methods, in one run: the ``gp`` preset, the ``hytnas`` preset (at this protocol's
sizes), two NSGA-IIs (``nsga2-pop10``: DGEMO's baseline, population 10 seeded with the best 10
initial points by non-dominated sorting, 10 offspring per batch; ``nsga2-pop50``: population 50
seeded with the whole initial design, 10 offspring per batch) and random search.

Each preset batch's proposal is timed as wall time and as this process's CPU time, beside the load
average; the BLAS/OpenMP/torch thread counts in force are recorded (``--threads``, default 1, as
DGEMO sets ``OMP_NUM_THREADS=1``). Results go to benchmarks/results/ as JSON.

    .venv/bin/python benchmarks/sample_efficiency.py --seeds 10
    .venv/bin/python benchmarks/sample_efficiency.py --problems zdt1 --seeds 2 --methods gp random
    .venv/bin/python benchmarks/sample_efficiency.py --problems dtlz2-3obj dtlz7-3obj --seeds 3
    .venv/bin/python benchmarks/sample_efficiency.py --first-seed 5 --seeds 5   # adds seeds 5-9
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

from benchmarks.baselines import (
    evaluate_points,
    nsga2_search,
    preset_search,
    random_search,
    thread_counts,
    timing_summary,
)
from search_engine.metrics.hypervolume import hypervolume, log_hypervolume_difference
from search_engine.objectives import to_minimisation
from search_engine.setups import study_config

PROBLEMS = ("zdt1", "zdt2", "zdt3", "dtlz1", "dtlz2", "dtlz3", "dtlz4")
EXTRA_PROBLEMS = ("dtlz2-3obj", "dtlz7-3obj", "dtlz2-4obj")
PRESETS = ("auto", "gp", "hytnas")
METHODS = ("auto", "gp", "hytnas", "nsga2-pop10", "nsga2-pop50", "random")
N_VAR, N_INIT, BATCH, N_BATCHES = 6, 50, 10, 20
BUDGET = N_INIT + BATCH * N_BATCHES
FRONT_POINTS = {2: 20_001, 3: 5_000, 4: 50_000}
PROTOCOL = "dgemo-v2"
"""Tag of the results file: figures under another protocol are not merged with these."""


def dgemo_design(n_vars: int, n: int, seed: int) -> np.ndarray:
    """``(n, n_vars)`` the initial design DGEMO draws for ``seed`` on the unit cube.

    DGEMO seeds numpy's global generator with the run's seed, draws a classic Latin hypercube (its
    ``external/lhs.py``: one uniform point per interval, then a random pairing per variable) and
    shuffles the rows (``problems/common.py``); every point of the unit cube is feasible for these
    problems, so one draw suffices. The same calls on a ``RandomState`` give the same design.
    """
    rng = np.random.RandomState(seed)
    cut = np.linspace(0, 1, n + 1)
    u = rng.random_sample((n, n_vars))
    points = u * (cut[1:] - cut[:-1])[:, None] + cut[:-1][:, None]
    design = np.zeros_like(points)
    for j in range(n_vars):
        design[:, j] = points[rng.permutation(n), j]
    return design[rng.permutation(n)]


def parse_problem(name: str) -> tuple[str, int]:
    """``"dtlz2-3obj"`` -> ``("dtlz2", 3)``; a bare key has 2 objectives."""
    key, _, objectives = name.partition("-")
    return key, int(objectives.removesuffix("obj")) if objectives else 2


def hv_curve(Y_min: np.ndarray, ref: np.ndarray) -> list[float]:
    """Hypervolume after the initial design and after each batch."""
    ends = [N_INIT + BATCH * b for b in range(N_BATCHES + 1)]
    return [float(hypervolume(Y_min[:end][np.all(np.isfinite(Y_min[:end]), axis=1)], ref)) for end in ends]


def run_problem(name: str, seeds: range, methods: list[str]) -> dict[str, object]:
    problem, n_obj = parse_problem(name)
    base = study_config(
        problem, "gp", budget=BUDGET, seed=0, n_init=N_INIT, batch_size=BATCH, n_var=N_VAR, n_obj=n_obj
    )
    evaluator = base.build_evaluator()
    designs = {seed: dgemo_design(N_VAR, N_INIT, seed) for seed in {0, *seeds}}
    initial_Y = {seed: evaluate_points(base, evaluator, X) for seed, X in designs.items()}
    ref = to_minimisation(initial_Y[0], base.objectives).max(axis=0)
    front = evaluator.true_front(FRONT_POINTS[n_obj])
    true_hv = float(hypervolume(front, ref))
    out: dict[str, object] = {
        "ref_point": ref.tolist(),
        "true_hv": true_hv,
        "front_points": int(front.shape[0]),
        "n_var": N_VAR,
        "n_obj": n_obj,
    }
    for method in methods:
        curves, batches, runs = [], [], []
        for seed in seeds:
            config = study_config(
                problem,
                method if method in PRESETS else "gp",
                budget=BUDGET,
                seed=seed,
                n_init=N_INIT,
                batch_size=BATCH,
                ref_point=tuple(ref),
                n_var=N_VAR,
                n_obj=n_obj,
            )
            initial, Y_initial = designs[seed], initial_Y[seed]
            Y0_min = to_minimisation(Y_initial, config.objectives)
            wall, cpu, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
            if method == "random":
                Y_min = random_search(config, evaluator, initial, BUDGET, seed, Y0_min)
            elif method.startswith("nsga2-pop"):
                pop_size = int(method.removeprefix("nsga2-pop"))
                Y_min = nsga2_search(config, evaluator, initial, BUDGET, seed, pop_size, BATCH, Y0_min)
            else:
                Y_min, seed_batches = preset_search(config, evaluator, initial, Y_initial, BUDGET, BATCH)
                batches.extend(seed_batches)
            runs.append(
                {
                    "wall_s": time.perf_counter() - wall,
                    "cpu_s": time.process_time() - cpu,
                    "load_1min": [load, os.getloadavg()[0]],
                }
            )
            curves.append([log_hypervolume_difference(hv, true_hv) for hv in hv_curve(Y_min, ref)])
            print(
                f"{name:10} {method:11} seed {seed}: final log10 HV diff {curves[-1][-1]:+.3f} "
                f"({runs[-1]['wall_s']:.1f} s wall, {runs[-1]['cpu_s']:.1f} s CPU, load {load:.1f})",
                flush=True,
            )
        arr = np.array(curves)
        entry: dict[str, object] = {
            "seeds": list(seeds),
            "curves": arr.tolist(),
            "final_mean": float(arr[:, -1].mean()),
            "final_std": float(arr[:, -1].std()),
            "runs": runs,
        }
        if batches:
            entry["batches"] = batches
            entry.update(timing_summary(batches, "batch"))
        out[method] = entry
    return out


def merged(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` (one method's entry), with the seeds of ``old`` it does not have added before it."""
    if old is None or old.get("seeds") is None:
        return new
    keep = [i for i, seed in enumerate(old["seeds"]) if seed not in new["seeds"]]
    if not keep:
        return new
    curves = np.array([old["curves"][i] for i in keep] + new["curves"])
    entry: dict[str, Any] = {
        "seeds": [old["seeds"][i] for i in keep] + new["seeds"],
        "curves": curves.tolist(),
        "final_mean": float(curves[:, -1].mean()),
        "final_std": float(curves[:, -1].std()),
        "runs": [old["runs"][i] for i in keep] + new["runs"],
    }
    if "batches" in new:
        per_seed = len(old.get("batches", [])) // len(old["seeds"])
        kept = [b for i in keep for b in old.get("batches", [])[i * per_seed : (i + 1) * per_seed]]
        batches = kept + new["batches"]
        entry["batches"] = batches
        entry.update(timing_summary(batches, "batch"))
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS + EXTRA_PROBLEMS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first..first+seeds-1 (merged in)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (DGEMO: 1)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "sample_efficiency.json"))
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    path = Path(args.out)
    results = json.loads(path.read_text()) if path.exists() else {}
    if results.get("protocol") != PROTOCOL:
        results = {}  # figures under an older protocol are not comparable with these
    results.update(protocol=PROTOCOL, threads=thread_counts(), cpu_count=os.cpu_count())
    for problem in args.problems:
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        old = results.get(problem, {})
        new = run_problem(problem, seeds, args.methods)
        results[problem] = {**old, **new, **{m: merged(old.get(m), new[m]) for m in args.methods}}
        path.write_text(json.dumps(results, indent=1))
    print(f"\nthreads {results['threads']}")
    print("problem    " + "  ".join(f"{m:>16}" for m in args.methods))
    for problem in args.problems:
        cells = [
            f"{results[problem][m]['final_mean']:+7.2f} ± {results[problem][m]['final_std']:.2f}"
            for m in args.methods
        ]
        print(f"{problem:10} " + "  ".join(f"{c:>16}" for c in cells))
    for problem in args.problems:
        for m in args.methods:
            entry = results[problem][m]
            if "batch_cpu_s_median" in entry:
                print(
                    f"{problem:10} {m:7} per batch: CPU median {entry['batch_cpu_s_median']:.2f} s "
                    f"(max {entry['batch_cpu_s_max']:.2f}), wall median {entry['batch_wall_s_median']:.2f} s "
                    f"(max {entry['batch_wall_s_max']:.2f}), load median {entry['load_1min_median']:.1f}"
                )


if __name__ == "__main__":
    main()
