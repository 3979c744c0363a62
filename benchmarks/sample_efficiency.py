"""Sample efficiency on ZDT1-3 and DTLZ1-4 under the DGEMO protocol.

Protocol: 6 variables, 2 objectives; 50 Latin-hypercube initial points, then 20 batches of 10;
reference point = the component-wise maximum of seed 0's initial design (shared by every seed and
method). Metric: log10(true hypervolume - hypervolume found), the true hypervolume taken from a
dense front (thousands of points). Methods, side by side in one run with the same initial designs:
the ``gp`` preset, the ``hytnas`` preset (at this protocol's sizes), pymoo's NSGA-II (population 50,
10 offspring per generation) and random search. Results go to benchmarks/results/ as JSON.

    .venv/bin/python benchmarks/sample_efficiency.py --seeds 10
    .venv/bin/python benchmarks/sample_efficiency.py --problems zdt1 --seeds 2 --methods gp random
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.baselines import evaluate_points, nsga2_search, random_search
from search_engine.metrics.hypervolume import hypervolume, log_hypervolume_difference
from search_engine.objectives import to_minimisation
from search_engine.optimizer import initial_design
from search_engine.runner import run_search
from search_engine.setups import study_config

PROBLEMS = ("zdt1", "zdt2", "zdt3", "dtlz1", "dtlz2", "dtlz3", "dtlz4")
METHODS = ("gp", "hytnas", "nsga2", "random")
N_INIT, BATCH, N_BATCHES = 50, 10, 20
BUDGET = N_INIT + BATCH * N_BATCHES


def hv_curve(Y_min: np.ndarray, ref: np.ndarray) -> list[float]:
    """Hypervolume after the initial design and after each batch."""
    ends = [N_INIT + BATCH * b for b in range(N_BATCHES + 1)]
    return [float(hypervolume(Y_min[:end][np.all(np.isfinite(Y_min[:end]), axis=1)], ref)) for end in ends]


def run_problem(problem: str, seeds: int, methods: list[str]) -> dict[str, object]:
    base = study_config(problem, "gp", budget=BUDGET, seed=0, n_init=N_INIT, batch_size=BATCH)
    evaluator = base.build_evaluator()
    ref = to_minimisation(
        evaluate_points(base, evaluator, initial_design(base, N_INIT, 0)), base.objectives
    ).max(axis=0)
    front = evaluator.true_front()
    true_hv = float(hypervolume(front, ref))
    out: dict[str, object] = {
        "ref_point": ref.tolist(),
        "true_hv": true_hv,
        "front_points": int(front.shape[0]),
    }
    for method in methods:
        curves, seconds = [], []
        for seed in range(seeds):
            config = study_config(
                problem,
                "gp" if method in ("gp", "nsga2", "random") else method,
                budget=BUDGET,
                seed=seed,
                n_init=N_INIT,
                batch_size=BATCH,
                ref_point=tuple(ref),
            )
            initial = initial_design(config.with_changes(sampler=base.sampler), N_INIT, seed)
            started = time.perf_counter()
            if method == "random":
                Y_min = random_search(config, evaluator, initial, BUDGET, seed)
            elif method == "nsga2":
                Y_min = nsga2_search(
                    config, evaluator, initial, BUDGET, seed, pop_size=N_INIT, n_offsprings=BATCH
                )
            else:
                config = config.with_changes(sampler=base.sampler)  # same LHS initial design for every method
                result = run_search(config, evaluator)
                Y_min = to_minimisation(result.Y, config.objectives)
                seconds.extend(r.timings.get("total", 0.0) for r in result.history[1:])
            curves.append([log_hypervolume_difference(hv, true_hv) for hv in hv_curve(Y_min, ref)])
            print(
                f"{problem:6} {method:7} seed {seed}: final log10 HV diff {curves[-1][-1]:+.3f} "
                f"({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
        arr = np.array(curves)
        out[method] = {
            "curves": arr.tolist(),
            "final_mean": float(arr[:, -1].mean()),
            "final_std": float(arr[:, -1].std()),
            "proposal_seconds_median": float(np.median(seconds)) if seconds else None,
            "proposal_seconds_max": float(np.max(seconds)) if seconds else None,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "sample_efficiency.json"))
    args = parser.parse_args()
    path = Path(args.out)
    results = json.loads(path.read_text()) if path.exists() else {}
    for problem in args.problems:
        results[problem] = {**results.get(problem, {}), **run_problem(problem, args.seeds, args.methods)}
        results[problem]["seeds"] = args.seeds
        path.write_text(json.dumps(results, indent=1))
    print("\nproblem  " + "  ".join(f"{m:>16}" for m in args.methods))
    for problem in args.problems:
        cells = [
            f"{results[problem][m]['final_mean']:+7.2f} ± {results[problem][m]['final_std']:.2f}"
            for m in args.methods
        ]
        print(f"{problem:8} " + "  ".join(f"{c:>16}" for c in cells))


if __name__ == "__main__":
    main()
