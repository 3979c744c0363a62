"""The optimizer: stateless, reproducible proposals that never repeat a measured architecture."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.errors import ConfigError
from search_engine.objectives import Objective
from search_engine.optimizer import Optimizer, initial_design, iteration_seed, propose
from search_engine.runner import run_search
from search_engine.setups import study_config
from tests.engine.conftest import zdt1

SMALL_SOLVER = ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 5})


def zdt1_config(**changes: Any) -> StudyConfig:
    config = study_config("zdt1", "hytnas", budget=60, n_init=12, batch_size=6, n_var=4)
    return config.with_changes(solver=SMALL_SOLVER, **changes)


def tiny_discrete_config(**changes: Any) -> StudyConfig:
    """A space of only 3 x 3 = 9 architectures, so solvers return few new ones."""
    variables = [
        {"name": "a", "type": "int", "low": 0, "high": 2},
        {"name": "b", "type": "int", "low": 0, "high": 2},
    ]
    config = StudyConfig(
        space=ComponentSpec("generic", {"variables": variables}),
        evaluator=ComponentSpec("benchmark", {"problem": "zdt1", "n_var": 2}),
        objectives=(Objective("f1"), Objective("f2")),
        n_init=4,
        batch_size=3,
        budget=9,
        solver=SMALL_SOLVER,
    )
    return config.with_changes(**changes)


def measured(config: StudyConfig, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X = initial_design(config, n, seed)
    space = config.build_space()
    return X, zdt1(space.features(X))


def test_same_inputs_and_seed_give_the_same_proposal() -> None:
    config = zdt1_config()
    X, Y = measured(config, 12)
    first, second = propose(config, X, Y, seed=7), propose(config, X, Y, seed=7)
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.mean, second.mean)
    assert first.keys == second.keys


def test_a_different_seed_explores_differently() -> None:
    config = zdt1_config(surrogate=ComponentSpec("gp"), acquisition=ComponentSpec("ucb"))
    X, Y = measured(config, 12)
    assert propose(config, X, Y, seed=1).keys != propose(config, X, Y, seed=2).keys


def test_proposal_never_repeats_a_measured_architecture_or_itself() -> None:
    config = zdt1_config(space=ComponentSpec("hytnas"), evaluator=ComponentSpec("benchmark"))
    space = config.build_space()
    X = initial_design(config, 30, 0)
    Y = np.random.default_rng(0).random((30, 2))
    proposal = propose(config, X, Y, seed=3, batch_size=20)
    assert len(proposal) == 20 == len(set(proposal.keys))
    assert not set(proposal.keys) & set(space.keys(X))
    assert proposal.keys == space.keys(proposal.X)


def test_tops_up_with_fresh_architectures_when_the_solver_returns_too_few() -> None:
    config = tiny_discrete_config()
    space = config.build_space()
    X = space.canonicalize(np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9], [0.1, 0.9]]))
    Y = zdt1(space.features(X) / 2)
    proposal = propose(config, X, Y, seed=0, batch_size=5)
    assert len(proposal) == 5 == len(set(proposal.keys))
    assert not set(proposal.keys) & set(space.keys(X))
    everything = propose(config, X, Y, seed=0, batch_size=50)
    assert len(everything) == 5  # only 9 - 4 architectures are left in the space


def test_batch_of_one() -> None:
    config = zdt1_config()
    X, Y = measured(config, 12)
    proposal = propose(config, X, Y, seed=0, batch_size=1)
    assert proposal.X.shape == (1, 4) and proposal.mean is not None and proposal.mean.shape == (1, 2)


def test_three_objectives() -> None:
    config = study_config("dtlz2", "hytnas", budget=60, n_init=15, batch_size=5, n_var=5, n_obj=3)
    config = config.with_changes(solver=SMALL_SOLVER)
    X = initial_design(config, 15, 0)
    evaluator = config.build_evaluator()
    Y = np.array([r.objectives for r in evaluator.evaluate(config.build_space().decode(X))])
    proposal = propose(config, X, Y, seed=0)
    assert proposal.X.shape == (5, 5) and proposal.mean is not None and proposal.mean.shape == (5, 3)


def test_a_constant_objective_does_not_break_the_iteration() -> None:
    config = zdt1_config(surrogate=ComponentSpec("gp"))
    X, Y = measured(config, 12)
    Y[:, 1] = 4.0
    proposal = propose(config, X, Y, seed=0)
    assert len(proposal) == 6 and proposal.mean is not None
    np.testing.assert_allclose(proposal.mean[:, 1], 4.0)


def test_failed_evaluations_are_neither_fitted_nor_proposed_again() -> None:
    config = zdt1_config()
    space = config.build_space()
    X, Y = measured(config, 12)
    Y[[2, 5]] = np.nan
    proposal = propose(config, X, Y, seed=0)
    assert proposal.diagnostics["n_failed_ignored"] == 2
    assert not set(proposal.keys) & set(space.keys(X))


def test_too_few_successes_fall_back_to_the_sampler_and_say_why() -> None:
    config = zdt1_config()
    X, Y = measured(config, 3)
    Y[:2] = np.nan
    proposal = propose(config, X, Y, seed=0)
    assert len(proposal) == 6 and proposal.mean is None
    assert "fewer than 2" in proposal.diagnostics["reason"]


def test_maximised_objectives_are_predicted_in_their_own_direction() -> None:
    config = zdt1_config(objectives=(Objective("score", "max"), Objective("cost", "min")))
    X, Y = measured(config, 12)
    Y[:, 0] = 100 - Y[:, 0]  # a score to maximise, around 100
    proposal = propose(config, X, Y, seed=0)
    assert proposal.mean is not None and np.all(proposal.mean[:, 0] > 50)


def test_derived_reference_point_is_reported_as_derived() -> None:
    config = zdt1_config(ref_point=None)
    X, Y = measured(config, 12)
    reference = propose(config, X, Y, seed=0).diagnostics["reference_point"]
    assert reference["derived"] is True and len(reference["values"]) == 2
    given = propose(zdt1_config(), X, Y, seed=0).diagnostics["reference_point"]
    assert given["derived"] is False


def test_timings_cover_every_phase() -> None:
    config = zdt1_config()
    X, Y = measured(config, 12)
    timings = propose(config, X, Y, seed=0).timings
    assert set(timings) == {"fit", "solve", "select", "total"}
    assert timings["total"] >= timings["fit"] + timings["solve"] + timings["select"] - 1e-6


def test_iteration_seeds_differ_per_iteration_and_repeat_per_study() -> None:
    assert iteration_seed(0, 1) == iteration_seed(0, 1)
    assert len({iteration_seed(0, i) for i in range(100)}) == 100


def test_ask_tell_reproduces_the_same_search() -> None:
    def run() -> np.ndarray:
        optimizer = Optimizer(zdt1_config())
        for _ in range(3):
            proposal = optimizer.ask()
            optimizer.tell(proposal.X, zdt1(proposal.X))
        return optimizer.X

    np.testing.assert_array_equal(run(), run())


def test_no_points_in_flight_gives_the_synchronous_proposal() -> None:
    config = zdt1_config()
    X, Y = measured(config, 12)
    synchronous = propose(config, X, Y, seed=4)
    for strategy in ("believer", "ignore"):
        unconditioned = propose(config.with_changes(pending=ComponentSpec(strategy)), X, Y, 4, pending=X[:0])
        assert unconditioned.keys == synchronous.keys


def test_a_proposal_conditioned_on_points_in_flight_is_reproducible() -> None:
    config = zdt1_config()
    X, Y = measured(config, 12)
    in_flight = propose(config, X, Y, seed=1).X
    first = propose(config, X, Y, seed=2, pending=in_flight)
    assert first.keys == propose(config, X, Y, seed=2, pending=in_flight).keys
    assert first.diagnostics["n_pending"] == 6 == first.diagnostics["n_pending_believed"]


def test_a_ranker_refuses_to_believe_its_scores_for_points_in_flight() -> None:
    config = zdt1_config(surrogate=ComponentSpec("xgb-ranker"), selection=ComponentSpec("nds"))
    X, Y = measured(config, 12)
    with pytest.raises(ConfigError) as excinfo:
        propose(config, X, Y, seed=0, pending=np.full((1, 4), 0.5))
    assert excinfo.value.field == "pending.params.value"
    liar = config.with_changes(pending=ComponentSpec("believer", {"value": "mean"}))
    assert len(propose(liar, X, Y, seed=0, pending=np.full((1, 4), 0.5))) == 6


def test_overlapping_asks_never_propose_the_same_architecture_twice() -> None:
    optimizer = Optimizer(zdt1_config())
    first, second = optimizer.ask(4), optimizer.ask(4)  # the initial design, in two overlapping asks
    assert len(set(first.keys) | set(second.keys)) == 8 and optimizer.n_pending == 8
    optimizer.tell(second.X[::-1], zdt1(second.X[::-1]))  # results arrive out of order
    third = optimizer.ask(3)
    assert third.origin != ["initial"] * 3 and third.diagnostics["n_pending"] == 4
    assert not set(third.keys) & (set(first.keys) | set(second.keys))
    optimizer.tell(first.X[2:3], zdt1(first.X[2:3]))
    assert optimizer.n_evaluated == 5 and optimizer.n_pending == 6
    assert set(optimizer.space.keys(optimizer.pending)) == {*first.keys[:2], first.keys[3], *third.keys}


def test_short_search_on_zdt1_grows_the_hypervolume() -> None:
    config = zdt1_config(budget=42, n_init=12, batch_size=10)
    records = []
    result = run_search(config, config.build_evaluator(), on_iteration=records.append)
    assert result.X.shape[0] == 42
    assert [r.n_evaluations for r in records] == [12, 22, 32, 42]
    assert records[-1].hypervolume > records[0].hypervolume
    assert all(b.hypervolume >= a.hypervolume for a, b in itertools.pairwise(records))


@pytest.mark.slow
def test_gp_preset_beats_random_sampling_on_zdt1() -> None:
    """Median over 3 seeds: the GP preset's final hypervolume exceeds random search's."""
    gp_hv, random_hv = [], []
    for seed in range(3):
        config = study_config("zdt1", "gp", budget=80, seed=seed, n_init=20, batch_size=10)
        gp_hv.append(run_search(config, config.build_evaluator()).history[-1].hypervolume)
        rand = config.with_changes(n_init=80)
        random_hv.append(run_search(rand, rand.build_evaluator()).history[-1].hypervolume)
    assert np.median(gp_hv) > np.median(random_hv) + 0.05
