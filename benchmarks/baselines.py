"""Searches the benchmarks compare side by side: a preset warm-started, random search, plain NSGA-II.

All score every point as the architecture it decodes to, through the same evaluator, and all start
from an initial design measured beforehand (the presets are told it, the baselines start from it),
so the comparison is about the search strategy alone.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np

from search_engine.config import StudyConfig
from search_engine.objectives import to_minimisation
from search_engine.optimizer import Optimizer
from search_engine.runner import objective_rows


def thread_counts() -> dict[str, object]:
    """The thread counts in force: torch's, each BLAS/OpenMP pool's, and the environment's settings."""
    import torch
    from threadpoolctl import threadpool_info

    pools = {f"{p['internal_api']} ({p.get('prefix', '')})": p["num_threads"] for p in threadpool_info()}
    env = {
        k: os.environ[k]
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        if k in os.environ
    }
    return {"torch": torch.get_num_threads(), "pools": pools, "env": env}


def evaluate_points(config: StudyConfig, evaluator: object, X: np.ndarray) -> np.ndarray:
    """Objective rows (own units, NaN for failures) of cube points, scored as their architectures."""
    space = config.build_space()
    results = evaluator.evaluate(space.decode(space.canonicalize(X)))  # type: ignore[attr-defined]
    return objective_rows(results, config.n_objectives)


def preset_search(
    config: StudyConfig,
    evaluator: object,
    initial: np.ndarray,
    Y_initial: np.ndarray,
    budget: int,
    batch_size: int,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """``(budget, n_obj)`` minimisation-form values of the preset told ``initial``; each ask's timing.

    ``Y_initial``: ``initial``'s values in the objectives' own units. The design is told as measured
    data (a warm start), so the preset's own sampler is never used and the preset starts from exactly
    the design the baselines start from. Each ask is timed as wall time and this process's CPU time,
    beside the 1-minute load average.
    """
    optimizer = Optimizer(config)
    optimizer.tell(initial, Y_initial)
    asks: list[dict[str, Any]] = []
    while optimizer.n_evaluated < budget:
        wall, cpu = time.perf_counter(), time.process_time()
        proposal = optimizer.ask(min(batch_size, budget - optimizer.n_evaluated))
        ask: dict[str, Any] = {
            "n_evaluated": optimizer.n_evaluated,
            "batch": len(proposal),
            "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu,
            "load_1min": os.getloadavg()[0],
        }
        if "auto" in proposal.diagnostics:  # what auto ran: [[part label, architectures proposed], ...]
            chosen = proposal.diagnostics["auto"]
            ask["auto_parts"] = [
                [p["label"], n] for p, n in zip(chosen["parts"], chosen["proposed"], strict=True)
            ]
        asks.append(ask)
        if len(proposal) == 0:
            break  # the space holds no new architecture
        optimizer.tell(proposal.X, evaluate_points(config, evaluator, proposal.X))
    return to_minimisation(optimizer.Y, config.objectives), asks


def timing_summary(asks: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    """Median and largest CPU and wall seconds per ask (``<prefix>_cpu_s_median`` ...), median load."""
    return {
        f"{prefix}_cpu_s_median": statistics.median(a["cpu_s"] for a in asks),
        f"{prefix}_wall_s_median": statistics.median(a["wall_s"] for a in asks),
        f"{prefix}_cpu_s_max": max(a["cpu_s"] for a in asks),
        f"{prefix}_wall_s_max": max(a["wall_s"] for a in asks),
        "load_1min_median": statistics.median(a["load_1min"] for a in asks),
    }


def random_search(
    config: StudyConfig,
    evaluator: object,
    initial: np.ndarray,
    budget: int,
    seed: int,
    Y_initial: np.ndarray | None = None,
) -> np.ndarray:
    """``(budget, n_obj)`` minimisation-form values: ``initial``'s, then distinct uniform draws.

    ``Y_initial``: ``initial``'s values in minimisation form when already measured.
    """
    space = config.build_space()
    if Y_initial is None:
        Y_initial = to_minimisation(evaluate_points(config, evaluator, initial), config.objectives)
    rng = np.random.default_rng([seed, 99])
    extra = space.sample_unique(budget - initial.shape[0], rng, exclude=set(space.keys(initial)))
    return np.vstack(
        [Y_initial, to_minimisation(evaluate_points(config, evaluator, extra), config.objectives)]
    )


def nsga2_search(
    config: StudyConfig,
    evaluator: object,
    initial: np.ndarray,
    budget: int,
    seed: int,
    pop_size: int,
    n_offsprings: int,
    Y_initial: np.ndarray | None = None,
) -> np.ndarray:
    """``(budget, n_obj)`` values, in evaluation order: ``Y_initial``, then pymoo NSGA-II's offspring.

    The first population is the best ``pop_size`` points of the initial design by non-dominated
    sorting (fronts in order, as DGEMO's ``baselines/nsga2.py`` seeds it); those points are already
    measured, so they are not counted again: only offspring spend the budget.
    ``Y_initial``: ``initial``'s values in minimisation form when already measured.
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    space = config.build_space()
    if Y_initial is None:
        Y_initial = to_minimisation(evaluate_points(config, evaluator, initial), config.objectives)
    finite = np.where(np.isfinite(Y_initial), Y_initial, 1e12)
    order = np.concatenate(NonDominatedSorting().do(finite))[:pop_size]
    rows: list[np.ndarray] = []

    class _Problem(Problem):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(n_var=space.n_vars, n_obj=config.n_objectives, xl=0.0, xu=1.0)

        def _evaluate(
            self, X: np.ndarray, out: dict[str, np.ndarray], *args: object, **kwargs: object
        ) -> None:
            F = to_minimisation(evaluate_points(config, evaluator, X), config.objectives)
            rows.append(F)
            out["F"] = np.where(np.isfinite(F), F, 1e12)

    algorithm = NSGA2(pop_size=pop_size, n_offsprings=n_offsprings, sampling=initial[order])
    algorithm.setup(_Problem(), seed=seed, verbose=False)
    algorithm.next()  # evaluates the seeding population: values already in Y_initial
    rows.clear()
    while initial.shape[0] + sum(r.shape[0] for r in rows) < budget:
        algorithm.next()
    return np.vstack([Y_initial, *rows])[:budget]
