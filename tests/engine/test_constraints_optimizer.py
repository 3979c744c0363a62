"""Bounds known before measuring: no initial design, proposal or top-up ever breaks one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.constraints import Constraint, FeasibleDesignError, known_bounds
from search_engine.objectives import Objective
from search_engine.optimizer import Optimizer, initial_design, iteration_seed, propose
from search_engine.presets import PRESETS
from search_engine.spaces.hytnas import HyTNASSpace
from search_engine.types import Array

BOUNDS = ("params<=8e5", "macs.backbone<=2.5e8", "activation_memory<=2e6")
"""About one HyT-NAS architecture in twenty meets all three at 224 px: a small feasible region."""

SMALL_SOLVERS = {
    "nsga2": ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 4}),
    "moead": ComponentSpec("moead", {"pop_size": 20, "n_gen": 4}),
    "parego": ComponentSpec("parego", {"n_weights": 2, "pop_size": 8, "n_gen": 3}),
}


def constrained_config(*bounds: str, **changes: Any) -> StudyConfig:
    config = StudyConfig(
        space=ComponentSpec("hytnas"),
        evaluator=ComponentSpec("torch"),
        objectives=(Objective("accuracy_proxy", "max", "score"), Objective("latency", "min", "ms")),
        n_init=12,
        batch_size=6,
        budget=60,
        constraints=tuple(Constraint.parse(b) for b in bounds),
    )
    return config.with_changes(**changes)


def synthetic_objectives(config: StudyConfig, X: Array) -> Array:
    """A stand-in measurement of known shape: larger networks score higher and run slower."""
    known = HyTNASSpace().known_quantities(X, {})
    accuracy = np.log(known["params"]) + 0.1 * np.sin(17 * X.sum(axis=1))
    latency = known["macs"] / 1e7 + 2 * np.cos(11 * X[:, 0])
    return np.column_stack([accuracy, latency])


def test_the_initial_design_holds_only_architectures_that_meet_the_known_bounds() -> None:
    config = constrained_config(*BOUNDS)
    bounds = known_bounds(config)
    assert bounds is not None
    X = initial_design(config, n=60)
    assert X.shape == (60, 23)
    assert len(set(config.build_space().keys(X))) == 60
    assert bounds.feasible(X).all()
    unconstrained = initial_design(constrained_config(), n=60)
    assert not bounds.feasible(unconstrained).all()  # the bounds do cut the space


def test_an_initial_design_too_large_for_the_feasible_share_is_refused_at_the_constraints() -> None:
    space = HyTNASSpace()
    params = space.known_quantities(space.sample_uniform(2000, np.random.default_rng(0)), {})["params"]
    rare = float(np.sort(params)[1])  # two of the 2000 architectures validation samples meet it
    config = constrained_config(f"params<={rare}", n_init=50, budget=60)
    config.validate()
    with pytest.raises(FeasibleDesignError) as error:
        initial_design(config)
    assert error.value.field == "constraints"
    assert "fewer than the 50 needed" in error.value.message


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_no_proposal_of_any_preset_breaks_a_known_bound(preset: str) -> None:
    base = PRESETS[preset].apply(constrained_config(*BOUNDS))
    solver = SMALL_SOLVERS.get(base.solver.name, base.solver)
    config = base.with_changes(n_init=12, batch_size=6, solver=solver)
    bounds = known_bounds(config)
    assert bounds is not None
    X = initial_design(config)
    Y = synthetic_objectives(config, X)
    for iteration in range(1, 4):
        proposal = propose(config, X, Y, iteration_seed(config.seed, iteration))
        assert len(proposal) == config.batch_size
        assert bounds.feasible(proposal.X).all(), proposal.diagnostics
        X = np.vstack([X, proposal.X])
        Y = np.vstack([Y, synthetic_objectives(config, proposal.X)])


@pytest.mark.parametrize("solver", sorted(SMALL_SOLVERS))
@pytest.mark.parametrize("seed", range(4))
def test_no_solver_proposal_or_random_top_up_breaks_a_known_bound(solver: str, seed: int) -> None:
    """A batch larger than the solver's population is filled by top-ups: they must be feasible too."""
    config = constrained_config(*BOUNDS, solver=SMALL_SOLVERS[solver], batch_size=30, seed=seed)
    bounds = known_bounds(config)
    assert bounds is not None
    X = initial_design(config)
    proposal = propose(config, X, synthetic_objectives(config, X), iteration_seed(seed, 1))
    assert len(proposal) == 30
    assert "top-up" in proposal.origin
    assert bounds.feasible(proposal.X).all()


def test_a_batch_drawn_before_anything_succeeded_meets_the_known_bounds() -> None:
    config = constrained_config(*BOUNDS)
    bounds = known_bounds(config)
    assert bounds is not None
    X = initial_design(config)
    failed = np.full((X.shape[0], 2), np.nan)
    proposal = propose(config, X, failed, seed=3)
    assert proposal.origin == ["top-up"] * config.batch_size
    assert bounds.feasible(proposal.X).all()


def test_in_flight_asks_of_the_ask_tell_loop_meet_the_known_bounds() -> None:
    config = constrained_config(*BOUNDS, in_flight=4)
    bounds = known_bounds(config)
    assert bounds is not None
    optimizer = Optimizer(config)
    first = optimizer.ask()
    optimizer.tell(first.X, synthetic_objectives(config, first.X))
    for _ in range(3):
        proposal = optimizer.ask(2)  # conditioned on the two before, still in flight
        assert bounds.feasible(proposal.X).all()


def test_the_solver_searches_the_feasible_region() -> None:
    """pymoo's constraint handling keeps the population feasible: few candidates need dropping."""
    config = constrained_config(*BOUNDS, solver=ComponentSpec("nsga2", {"pop_size": 40, "n_gen": 6}))
    X = initial_design(config)
    proposal = propose(config, X, synthetic_objectives(config, X), seed=5)
    assert proposal.diagnostics["n_infeasible_dropped"] < proposal.diagnostics["n_population"] / 2


def test_a_constrained_search_counts_feasible_points_only_in_its_hypervolume() -> None:
    """ZDT1 with f1 >= 0.3, a bound known only after measuring: points left of it add nothing."""
    from search_engine.constraints import feasible_rows
    from search_engine.metrics.hypervolume import hypervolume
    from search_engine.runner import run_search

    config = StudyConfig(
        space=ComponentSpec(
            "generic",
            {"variables": [{"name": f"x{i}", "type": "float", "low": 0, "high": 1} for i in range(3)]},
        ),
        evaluator=ComponentSpec("benchmark", {"problem": "zdt1", "n_var": 3}),
        objectives=(Objective("f1"), Objective("f2")),
        ref_point=(1.1, 11.0),
        solver=ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 5}),
        n_init=10,
        batch_size=5,
        budget=25,
        constraints=(Constraint("f1", "lower", 0.3),),
    )
    run = run_search(config, config.build_evaluator())
    feasible = run.Y[:, 0] >= 0.3
    assert 0 < feasible.sum() < len(feasible)
    expected = hypervolume(run.Y[feasible], np.array([1.1, 11.0]))
    assert run.history[-1].hypervolume == expected
    assert run.history[-1].hypervolume < hypervolume(run.Y, np.array([1.1, 11.0]))
    assert run.history[-1].n_infeasible == int((~feasible).sum())
    ok = feasible_rows(config, run.X, run.Y, run.results)
    assert ok is not None and ok.tolist() == feasible.tolist()
