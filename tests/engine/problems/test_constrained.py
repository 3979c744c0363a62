"""Constrained benchmarks: values and constraints equal pymoo's, fronts hold, a constrained study runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search_engine.config import ComponentSpec
from search_engine.constraints import Constraint, known_bounds
from search_engine.errors import ConfigError
from search_engine.evaluators.benchmark import BenchmarkEvaluator
from search_engine.metrics.hypervolume import hypervolume
from search_engine.problems.catalog import BENCHMARKS, BenchmarkProblem
from search_engine.problems.constrained import c2dtlz2_constraint
from search_engine.runner import run_search
from search_engine.setups import HYTNAS_TABLE, study_config

CONSTRAINED = ("bnh", "tnk", "srn", "osy", "c1dtlz1", "c2dtlz2")
SMALL_SOLVER = ComponentSpec("nsga2", {"pop_size": 30, "n_gen": 10})


def sized(key: str, n_obj: int = 2) -> BenchmarkProblem:
    problem = BENCHMARKS[key]
    return problem if problem.fixed_n_var else problem.with_size(n_obj + 4, n_obj)


def pymoo_problem(problem: BenchmarkProblem) -> object:
    from pymoo.problems import get_problem

    if problem.fixed_n_var:
        return get_problem(problem.key)
    return get_problem(problem.key, n_var=problem.n_var, n_obj=problem.n_obj)


@pytest.mark.parametrize("key", CONSTRAINED)
def test_values_and_constraints_equal_pymoos_on_random_points(rng: np.random.Generator, key: str) -> None:
    problem = sized(key)
    reference = pymoo_problem(problem)
    X = rng.random((200, problem.n_var))
    F, G = problem.evaluate_with_constraints(X)
    # pymoo's own variables: the cube mapped onto its bounds (ours does it, pymoo's xl/xu say where).
    lower, upper = np.asarray(reference.xl, float), np.asarray(reference.xu, float)  # type: ignore[attr-defined]
    expected_F, expected_G = reference.evaluate(lower + X * (upper - lower), return_values_of=["F", "G"])  # type: ignore[attr-defined]
    np.testing.assert_allclose(F, expected_F, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(G, expected_G, rtol=1e-12, atol=1e-12)
    assert G.shape == (200, len(problem.constraint_names))
    assert problem.constraint_names == tuple(f"g{i + 1}" for i in range(G.shape[1]))


def test_c2dtlz2_with_three_objectives_equals_pymoo(rng: np.random.Generator) -> None:
    problem = sized("c2dtlz2", 3)
    X = rng.random((100, problem.n_var))
    F, G = problem.evaluate_with_constraints(X)
    expected_F, expected_G = pymoo_problem(problem).evaluate(X, return_values_of=["F", "G"])  # type: ignore[attr-defined]
    np.testing.assert_allclose(F, expected_F, rtol=1e-12)
    np.testing.assert_allclose(G, expected_G, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c2dtlz2_constraint(F), G[:, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", CONSTRAINED)
def test_no_feasible_point_of_a_dense_sample_beats_the_true_front(rng: np.random.Generator, key: str) -> None:
    """The front's hypervolume is not raised by adding 20,000 feasible random points (1e-3 at most)."""
    problem = sized(key)
    front = problem.true_front()
    X = rng.random((20000, problem.n_var))
    F, G = problem.evaluate_with_constraints(X)
    feasible = F[np.all(G <= 0.0, axis=1)]
    ref = front.max(axis=0) + 0.1 * (front.max(axis=0) - front.min(axis=0))
    front_hv = hypervolume(front, ref)
    assert front_hv > 0
    assert hypervolume(np.vstack([front, feasible]), ref) <= front_hv * (1 + 1e-3)


def test_fronts_lie_in_the_feasible_region_where_objectives_are_the_variables() -> None:
    # TNK's objectives are its variables, so its front can be fed back to pymoo's constraints.
    from pymoo.problems import get_problem

    front = sized("tnk").true_front()
    G = get_problem("tnk").evaluate(front, return_values_of=["G"])
    assert np.all(G <= 1e-6)
    assert np.all(c2dtlz2_constraint(sized("c2dtlz2").true_front()) <= 0.0)


def test_fronts_hold_pymoos_where_pymoo_computes_one() -> None:
    # pymoo writes BNH's and SRN's Pareto sets out; ours reach at least their hypervolume.
    for key in ("bnh", "srn", "c2dtlz2"):
        problem = sized(key)
        theirs = pymoo_problem(problem).pareto_front()  # type: ignore[attr-defined]
        ours = problem.true_front()
        ref = np.maximum(ours.max(axis=0), theirs.max(axis=0)) + 1.0
        assert hypervolume(ours, ref) >= hypervolume(theirs, ref) * (1 - 1e-4), key


def test_a_fixed_size_problem_refuses_another_number_of_variables_at_n_var() -> None:
    with pytest.raises(ConfigError) as error:
        BENCHMARKS["bnh"].with_size(6, 2)
    assert error.value.field == "n_var"
    assert "exactly 2 variables" in error.value.message
    with pytest.raises(ConfigError) as error:
        BenchmarkEvaluator(problem="osy", n_var=2)
    assert error.value.field == "evaluator.params.n_var"


def test_the_evaluator_reports_the_constraint_values_as_metrics() -> None:
    evaluator = BenchmarkEvaluator(problem="osy", n_var=6)
    assert BenchmarkEvaluator.reported_metrics({"problem": "osy"}) == tuple(f"g{i}" for i in range(1, 7))
    [result] = evaluator.evaluate([{f"x{i}": 0.5 for i in range(6)}])
    assert result.ok
    _, G = evaluator.benchmark.evaluate_with_constraints(np.full((1, 6), 0.5))
    assert dict(result.metrics) == pytest.approx(
        dict(zip(evaluator.benchmark.constraint_names, G[0], strict=True))
    )
    [plain] = BenchmarkEvaluator(problem="zdt1").evaluate([{f"x{i}": 0.5 for i in range(6)}])
    assert dict(plain.metrics) == {}


def test_a_study_may_bound_the_constraint_values_but_not_a_metric_the_problem_lacks() -> None:
    config = study_config("bnh", "gp", budget=60, n_var=2)
    config.with_changes(constraints=(Constraint.parse("g1<=0"), Constraint.parse("g2<=0"))).validate()
    with pytest.raises(ConfigError) as error:
        config.with_changes(constraints=(Constraint.parse("g3<=0"),)).validate()
    assert error.value.field == "constraints[0].quantity"
    assert "g1, g2" in error.value.message
    with pytest.raises(ConfigError) as error:
        study_config("zdt1", "gp", budget=60).with_changes(
            constraints=(Constraint.parse("g1<=0"),)
        ).validate()
    assert error.value.field == "constraints[0].quantity"


def test_a_small_constrained_study_on_bnh_finds_feasible_hypervolume() -> None:
    config = study_config("bnh", "gp", budget=30, seed=1, n_init=10, batch_size=10, n_var=2)
    config = config.with_changes(
        constraints=(Constraint.parse("g1<=0"), Constraint.parse("g2<=0")), solver=SMALL_SOLVER
    ).validate()
    run = run_search(config, config.build_evaluator())
    assert [r.n_evaluations for r in run.history] == [10, 20, 30]
    assert run.history[-1].hypervolume > 0
    assert run.history[-1].hypervolume >= run.history[0].hypervolume
    G = np.array([[r.metrics["g1"], r.metrics["g2"]] for r in run.results])  # (30, 2)
    infeasible = int(np.sum(np.any(G > 0, axis=1)))
    assert run.history[-1].n_infeasible == infeasible
    # The hypervolume counts the feasible points only.
    reference = run.reference_point.as_array()
    assert run.history[-1].hypervolume == pytest.approx(hypervolume(run.Y, reference, np.all(G <= 0, axis=1)))


def test_no_proposal_on_the_hytnas_table_breaks_the_parameter_bound(hytnas_data_dir: Path) -> None:
    config = study_config(
        HYTNAS_TABLE, "hytnas", budget=60, seed=0, n_init=20, batch_size=20, data_dir=hytnas_data_dir
    )
    config = config.with_changes(
        constraints=(Constraint.parse("latency<=1500"), Constraint.parse("params<=1e6")),
        solver=SMALL_SOLVER,
    ).validate()
    run = run_search(config, config.build_evaluator())
    bounds = known_bounds(config)
    assert bounds is not None
    assert run.X.shape[0] == 60
    assert bounds.feasible(run.X).all()
    params = config.build_space().known_quantities(run.X, {})["params"]
    assert params.max() <= 1e6
    assert run.history[-1].hypervolume > 0


def test_on_tnk_the_batches_after_the_initial_design_are_mostly_feasible() -> None:
    """TNK's feasible region is a thin band around the unit circle (about 4 % of the square).

    A solver blind to the measured bounds converges on the origin, all of it infeasible, and
    leaves the feasibility rule nothing to choose; steered by the predicted violations it stays
    in the band.
    """
    config = study_config("tnk", "gp", budget=40, seed=0, n_init=20, batch_size=10, n_var=2)
    config = config.with_changes(
        constraints=(Constraint.parse("g1<=0"), Constraint.parse("g2<=0")), solver=SMALL_SOLVER
    ).validate()
    run = run_search(config, config.build_evaluator())
    G = np.array([[r.metrics["g1"], r.metrics["g2"]] for r in run.results[20:]])  # (20, 2)
    assert np.mean(np.all(G <= 0, axis=1)) >= 0.5
    assert run.history[-1].hypervolume > run.history[0].hypervolume
