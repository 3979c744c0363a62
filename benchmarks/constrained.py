"""Constrained search: feasible hypervolume and infeasible evaluations against constrained NSGA-II.

Problems: BNH, TNK, SRN, OSY and C2-DTLZ2 (6 variables, 2 objectives) from the benchmark catalogue,
each bounded by its own constraint values (``g_i <= 0``, reported by the evaluator as metrics and so
known only after measuring), and the HyT-NAS table problem with a latency bound (an objective,
measured) and a parameter bound (closed form, known before measuring). Methods, side by side with
the same seeds and the same initial design (size and points):

- ours: the ``gp`` preset (benchmarks) or the ``hytnas`` preset (HyT-NAS table) with the
  ``probability`` feasibility rule, run by ``search_engine.runner.run_search``;
- pymoo's NSGA-II with its constraint handling (constrained domination), population = the initial
  design, offspring per generation = the batch size (a DGEMO-style small population); every
  individual it creates is evaluated, known-before bounds included in its constraints;
- random search with rejection of known-infeasible architectures (the parameter bound; the
  benchmarks' bounds are all measured, so there it is plain random search).

Metrics, per budget: feasible hypervolume (fraction of the true front's for the benchmarks, at each
problem's default reference point; raw for HyT-NAS) and the share of evaluations spent on infeasible
architectures (after the shared initial design, and over all). The run checks that neither ours nor
random search evaluates an architecture breaking a known-before-measuring bound, and says so.
Results go to benchmarks/results/constrained.json (``--quick``: constrained_quick.json).

    .venv/bin/python benchmarks/constrained.py                 # 3 seeds, budget 100 (HyT-NAS 400)
    .venv/bin/python benchmarks/constrained.py --quick         # 2 seeds, budget 60 (HyT-NAS 200)
    .venv/bin/python benchmarks/constrained.py --seeds 5 --problems bnh hytnas-table
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

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.constraints import (
    Constraint,
    evaluator_setting,
    feasible_rows,
    known_bounds,
    measured_values,
    sample_feasible,
)
from search_engine.evaluators.base import Evaluator
from search_engine.evaluators.benchmark import BenchmarkEvaluator
from search_engine.metrics.hypervolume import hypervolume
from search_engine.objectives import to_minimisation
from search_engine.optimizer import initial_design, iteration_seed
from search_engine.runner import current_hypervolume, objective_rows, run_search
from search_engine.setups import HYTNAS_TABLE, study_config
from search_engine.types import Array, EvaluationResult

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hytnas"
BENCHMARK_VARIABLES = {"bnh": 2, "tnk": 2, "srn": 2, "osy": 6, "c2dtlz2": 6}
"""Benchmark problems and their number of variables (BNH, TNK, SRN, OSY have fixed sizes)."""
PROBLEMS = (*BENCHMARK_VARIABLES, HYTNAS_TABLE)
METHODS = ("ours", "nsga2", "random")
HYTNAS_BOUNDS = ("latency<=1500", "params<=1e6")
"""Latency (ms, measured: the table's predictor) and parameters (closed form, known before measuring)."""


def sizes(problem: str, quick: bool) -> dict[str, Any]:
    """Initial design, batch, budget and the budgets at which results are reported."""
    if problem == HYTNAS_TABLE:
        n_init, batch, budget = 100, 50, 200 if quick else 400
    else:
        n_init, batch, budget = 20, 10, 60 if quick else 100
    marks = list(range(n_init, budget + 1, 2 * batch if problem != HYTNAS_TABLE else batch))
    return {"n_init": n_init, "batch": batch, "budget": budget, "marks": marks}


def problem_setup(problem: str, size: dict[str, Any], seed: int, data_dir: str) -> StudyConfig:
    """The study ``ours`` runs: preset, sizes, seed and the problem's bounds."""
    if problem == HYTNAS_TABLE:
        config = study_config(HYTNAS_TABLE, "hytnas", budget=size["budget"], seed=seed, data_dir=data_dir)
        bounds = tuple(Constraint.parse(b) for b in HYTNAS_BOUNDS)
    else:
        config = study_config(
            problem,
            "gp",
            budget=size["budget"],
            seed=seed,
            n_init=size["n_init"],
            batch_size=size["batch"],
            n_var=BENCHMARK_VARIABLES[problem],
        )
        names = config.build_evaluator().reported_metrics(evaluator_setting(config))
        bounds = tuple(Constraint(name, "upper", 0.0) for name in names)
    return config.with_changes(constraints=bounds, feasibility=ComponentSpec("probability")).validate()


def evaluate(config: StudyConfig, evaluator: Evaluator, X: Array) -> tuple[Array, list[EvaluationResult]]:
    """``(Y (n, n_obj) own units, results)`` of cube points scored as the architectures they decode to."""
    space = config.build_space()
    results = evaluator.evaluate(space.decode(space.canonicalize(X)))
    return objective_rows(results, config.n_objectives), results


def violations(config: StudyConfig, X: Array, Y: Array, results: list[EvaluationResult]) -> Array:
    """``(n, n_constraints)`` pymoo constraint values (``<= 0`` where met), scaled by each bound's size."""
    values = measured_values(config, Y, results)
    space = config.build_space()
    if known_bounds(config, space) is not None:
        values.update(space.known_quantities(X, evaluator_setting(config)))
    columns = []
    for constraint in config.constraints:
        excess = values[constraint.quantity] - constraint.value
        if constraint.bound == "lower":
            excess = -excess
        columns.append(np.where(np.isfinite(excess), excess / (abs(constraint.value) or 1.0), 1e12))
    return np.column_stack(columns)


def nsga2_run(config: StudyConfig, evaluator: Evaluator, initial: Array, seed: int, batch: int) -> Array:
    """Cube points, in evaluation order, that pymoo's constrained NSGA-II evaluates within the budget."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem

    evaluated: list[Array] = []

    class _Problem(Problem):  # type: ignore[misc]
        def __init__(self) -> None:
            n_constr = len(config.constraints)
            super().__init__(
                n_var=initial.shape[1], n_obj=config.n_objectives, n_ieq_constr=n_constr, xl=0.0, xu=1.0
            )

        def _evaluate(self, X: Array, out: dict[str, Array], *args: object, **kwargs: object) -> None:
            X = config.build_space().canonicalize(X)
            Y, results = evaluate(config, evaluator, X)
            evaluated.append(X)
            F = to_minimisation(Y, config.objectives)
            out["F"] = np.where(np.isfinite(F), F, 1e12)
            out["G"] = violations(config, X, Y, results)

    algorithm = NSGA2(pop_size=initial.shape[0], n_offsprings=batch, sampling=initial)
    algorithm.setup(_Problem(), seed=seed, verbose=False)
    while sum(x.shape[0] for x in evaluated) < config.budget:
        algorithm.next()
    return np.vstack(evaluated)[: config.budget]


def random_run(config: StudyConfig, initial: Array, seed: int) -> Array:
    """``initial`` then distinct uniform architectures, those breaking a known bound rejected unmeasured."""
    space = config.build_space()
    rng = np.random.default_rng([seed, 99])
    count = config.budget - initial.shape[0]
    exclude = set(space.keys(initial))
    bounds = known_bounds(config, space)
    if bounds is None:
        extra = space.sample_unique(count, rng, exclude=exclude)
    else:
        extra = sample_feasible(
            bounds, lambda k, seen: space.sample_unique(k, rng, exclude=seen), count, exclude
        )
    return np.vstack([initial, extra])


def scored(
    config: StudyConfig, evaluator: Evaluator, X: Array, ref: Array, marks: list[int], n_init: int
) -> dict[str, Any]:
    """Feasible hypervolume at each mark and infeasible shares of the evaluations ``X`` (in order)."""
    Y, results = evaluate(config, evaluator, X)
    feasible = feasible_rows(config, X, Y, results)
    assert feasible is not None
    bounds = known_bounds(config)
    known_ok = bounds.feasible(X) if bounds is not None else np.ones(X.shape[0], dtype=np.bool_)
    reference = config.reference_point()
    assert reference is not None
    hv = [current_hypervolume(Y[:n], config, reference, feasible[:n]) for n in marks]
    return {
        "hv": hv,
        "infeasible_share_after_initial": [float(np.mean(~feasible[n_init:n])) for n in marks[1:]],
        "infeasible_share_all": float(np.mean(~feasible)),
        "known_bound_violations": int(np.sum(~known_ok)),
        "n_evaluations": int(X.shape[0]),
    }


def run_problem(problem: str, seeds: int, methods: list[str], quick: bool, data_dir: str) -> dict[str, Any]:
    size = sizes(problem, quick)
    base = problem_setup(problem, size, 0, data_dir)
    evaluator = base.build_evaluator()
    reference = base.reference_point()
    assert reference is not None
    ref = reference.as_array()
    true_hv = (
        float(hypervolume(evaluator.true_front(), ref)) if isinstance(evaluator, BenchmarkEvaluator) else None
    )
    out: dict[str, Any] = {
        "sizes": size,
        "constraints": [str(c) for c in base.constraints],
        "ref_point": ref.tolist(),
        "true_hv": true_hv,
    }
    for method in methods:
        runs = []
        for seed in range(seeds):
            config = problem_setup(problem, size, seed, data_dir)
            # The design the optimizer draws at iteration 0, so every method starts from the same points.
            initial = initial_design(config, size["n_init"], iteration_seed(seed, 0))
            wall, cpu = time.perf_counter(), time.process_time()
            if method == "ours":
                run = run_search(config, evaluator)
                X = run.X
            elif method == "nsga2":
                X = nsga2_run(config, evaluator, initial, seed, size["batch"])
            else:
                X = random_run(config, initial, seed)
            r = scored(config, evaluator, X, ref, size["marks"], size["n_init"])
            r.update(wall_seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
            if true_hv is not None:
                r["hv"] = [v / true_hv for v in r["hv"]]
            runs.append(r)
            print(
                f"{problem:12} {method:6} seed {seed}: feasible HV "
                + " ".join(f"{n}:{v:.4g}" for n, v in zip(size["marks"], r["hv"], strict=True))
                + f"  infeasible {100 * r['infeasible_share_all']:.0f} %"
                + f"  known-bound violations {r['known_bound_violations']}"
                + f"  ({r['wall_seconds']:.0f} s, {r['cpu_seconds']:.0f} CPU s)",
                flush=True,
            )
        out[method] = summarise(runs)
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    hv = np.array([r["hv"] for r in runs])
    after = np.array([r["infeasible_share_after_initial"] for r in runs])
    return {
        "hv_mean": hv.mean(axis=0).tolist(),
        "hv_std": hv.std(axis=0).tolist(),
        "infeasible_share_after_initial_mean": after.mean(axis=0).tolist(),
        "infeasible_share_all_mean": float(np.mean([r["infeasible_share_all"] for r in runs])),
        "known_bound_violations": int(sum(r["known_bound_violations"] for r in runs)),
        "wall_seconds": float(sum(r["wall_seconds"] for r in runs)),
        "cpu_seconds": float(sum(r["cpu_seconds"] for r in runs)),
        "runs": runs,
    }


def verdict(result: dict[str, Any]) -> str:
    """The targets: ahead of NSGA-II in feasible HV at every budget, at most half its infeasible share."""
    ours, nsga2 = result.get("ours"), result.get("nsga2")
    if ours is None or nsga2 is None:
        return ""
    # The first budget is the shared initial design, where every method holds the same points.
    ahead = all(o > n for o, n in zip(ours["hv_mean"][1:], nsga2["hv_mean"][1:], strict=True))
    share = ours["infeasible_share_after_initial_mean"][-1]
    half = share <= 0.5 * nsga2["infeasible_share_after_initial_mean"][-1]
    return (
        f"ahead at every budget: {'yes' if ahead else 'no'}; "
        f"at most half the infeasible share: {'yes' if half else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, default=None, help="default 3 (--quick: 2)")
    parser.add_argument("--quick", action="store_true", help="smaller budgets and fewer seeds")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the HyT-NAS tables")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    seeds = args.seeds or (2 if args.quick else 3)
    name = "constrained_quick.json" if args.quick else "constrained.json"
    path = Path(args.out or Path(__file__).parent / "results" / name)
    problems = list(args.problems)
    if HYTNAS_TABLE in problems and not (Path(args.data) / "models_acc_pr.csv").is_file():
        print(f"HyT-NAS tables not found in {args.data}; skipping the HyT-NAS table problem.")
        problems.remove(HYTNAS_TABLE)
    ran: dict[str, Any] = {}
    for problem in problems:
        load_before, started = os.getloadavg(), time.perf_counter()
        result = run_problem(problem, seeds, args.methods, args.quick, args.data)
        result.update(
            seeds=seeds,
            verdict=verdict(result),
            load_average={"before": load_before, "after": os.getloadavg()},
            wall_seconds=time.perf_counter() - started,
        )
        # Read again before writing: runs of other problems may share the file.
        results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        results[problem] = ran[problem] = result
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1))
    for problem in problems:
        r = ran[problem]
        print(f"\n{problem}: {', '.join(r['constraints'])}; evaluations {r['sizes']['marks']}")
        for method in args.methods:
            m = r[method]
            print(
                f"  {method:6} feasible HV "
                + " ".join(f"{v:.4g}" for v in m["hv_mean"])
                + "  infeasible after the initial design "
                + f"{100 * m['infeasible_share_after_initial_mean'][-1]:.0f} %"
                + f"  known-bound violations {m['known_bound_violations']}"
            )
        print(f"  {r['verdict']}")
    for problem in problems:
        for method in ("ours", "random"):
            if method in ran[problem]:
                count = ran[problem][method]["known_bound_violations"]
                assert count == 0, (
                    f"{method} evaluated {count} architectures breaking a known bound on {problem}"
                )
    if any(m in args.methods for m in ("ours", "random")):
        print("\nno evaluation of ours or random search broke a bound known before measuring")


if __name__ == "__main__":
    main()
