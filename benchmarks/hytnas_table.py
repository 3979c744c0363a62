"""Hypervolume vs evaluations on the HyT-NAS table problem.

Objectives: accuracy (%) and latency (ms) predicted by the table evaluator fitted on the two measured
HyT-NAS tables; reference point (accuracy 75 %, latency 3500 ms), i.e. (-75, 3500) in minimisation
form. Every point is scored as the architecture it decodes to. Methods, side by side with the same
seeds: the ``hytnas`` preset (and any other preset named with --presets), pymoo's NSGA-II with
population 100, and random search. Needs the tables (../shared/data/hytnas by default); exits
cleanly when they are absent.

    .venv/bin/python benchmarks/hytnas_table.py --seeds 5 --budget 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.baselines import nsga2_search, random_search
from search_engine.metrics.hypervolume import hypervolume
from search_engine.objectives import to_minimisation
from search_engine.optimizer import initial_design
from search_engine.runner import run_search
from search_engine.setups import study_config

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hytnas"
CHECKPOINTS = (100, 200, 300, 400, 500, 600, 700, 800, 900, 1000)


def hv_at(Y_min: np.ndarray, ref: np.ndarray, checkpoints: list[int]) -> list[float]:
    return [float(hypervolume(Y_min[:n][np.all(np.isfinite(Y_min[:n]), axis=1)], ref)) for n in checkpoints]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--presets", nargs="+", default=["hytnas"])
    parser.add_argument("--baselines", nargs="*", default=["nsga2", "random"])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "hytnas_table.json"))
    args = parser.parse_args()
    if not (Path(args.data) / "models_acc_pr.csv").is_file():
        print(f"HyT-NAS tables not found in {args.data}; nothing to measure.")
        return
    checkpoints = [c for c in CHECKPOINTS if c <= args.budget]
    base = study_config("hytnas-table", "hytnas", budget=args.budget, data_dir=args.data)
    evaluator = base.build_evaluator()
    print(
        "table predictor cross-validation:",
        json.dumps(getattr(evaluator, "fit_report", lambda: {})(), default=str),
        flush=True,
    )
    ref = base.reference_point().as_array()  # type: ignore[union-attr]
    results: dict[str, object] = {"checkpoints": checkpoints, "ref_point": ref.tolist()}
    for method in [*args.presets, *args.baselines]:
        curves, seconds = [], []
        for seed in range(args.seeds):
            started = time.perf_counter()
            if method in args.presets:
                config = study_config(
                    "hytnas-table", method, budget=args.budget, seed=seed, data_dir=args.data
                )
                run = run_search(config, evaluator)
                Y_min = to_minimisation(run.Y, config.objectives)
                seconds.extend(r.timings.get("total", 0.0) for r in run.history[1:])
            else:
                initial = initial_design(base, 100, seed)
                if method == "nsga2":
                    Y_min = nsga2_search(
                        base, evaluator, initial, args.budget, seed, pop_size=100, n_offsprings=100
                    )
                else:
                    Y_min = random_search(base, evaluator, initial, args.budget, seed)
            curves.append(hv_at(Y_min, ref, checkpoints))
            print(
                f"{method:8} seed {seed}: "
                + " ".join(f"{n}:{hv:.0f}" for n, hv in zip(checkpoints, curves[-1], strict=True))
                + f"  ({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
        arr = np.array(curves)
        results[method] = {
            "curves": arr.tolist(),
            "mean": arr.mean(axis=0).tolist(),
            "std": arr.std(axis=0).tolist(),
            "iteration_seconds_median": float(np.median(seconds)) if seconds else None,
        }
    Path(args.out).write_text(json.dumps(results, indent=1))
    print("\nevaluations " + " ".join(f"{n:>8}" for n in checkpoints))
    for method in [*args.presets, *args.baselines]:
        print(f"{method:11} " + " ".join(f"{v:8.0f}" for v in results[method]["mean"]))  # type: ignore[index]


if __name__ == "__main__":
    main()
