"""The benchmark evaluator: objectives, space, values against hand formulas, noise and parameter checks."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.errors import ConfigError
from search_engine.evaluators.benchmark import BenchmarkEvaluator
from search_engine.registry import EVALUATORS
from tests.engine.conftest import zdt1


def _architectures(X: np.ndarray) -> list[dict[str, float]]:
    return [{f"x{j}": float(v) for j, v in enumerate(row)} for row in X]


def test_default_is_zdt1_with_six_variables_and_two_minimised_objectives() -> None:
    evaluator = EVALUATORS.build("benchmark")
    assert isinstance(evaluator, BenchmarkEvaluator)
    assert [(o.name, o.direction, o.unit) for o in evaluator.objectives] == [
        ("f1", "min", ""),
        ("f2", "min", ""),
    ]
    space = evaluator.default_space()
    assert space.names == [f"x{i}" for i in range(6)]
    assert space.to_spec()["params"]["variables"][0] == {
        "name": "x0",
        "type": "float",
        "low": 0.0,
        "high": 1.0,
    }


def test_values_match_the_hand_written_zdt1(rng: np.random.Generator) -> None:
    evaluator = BenchmarkEvaluator("zdt1", n_var=4)
    X = rng.random((25, 4))
    results = evaluator.evaluate(_architectures(X))
    assert all(r.ok for r in results)
    np.testing.assert_allclose([r.objectives for r in results], zdt1(X), rtol=1e-12)


def test_decoded_points_of_the_default_space_evaluate_like_the_points(rng: np.random.Generator) -> None:
    evaluator = BenchmarkEvaluator("dtlz2", n_var=5, n_obj=3)
    space = evaluator.default_space()
    X = space.sample_uniform(10, rng)
    values = [r.objectives for r in evaluator.evaluate(space.decode(X))]
    np.testing.assert_allclose(values, evaluator.benchmark.evaluate(X), rtol=1e-12)


def test_an_architecture_outside_the_cube_fails_alone() -> None:
    evaluator = BenchmarkEvaluator("zdt2", n_var=3)
    architectures = [
        {"x0": 0.2, "x1": 0.0, "x2": 0.0},
        {"x0": 0.5, "x1": 1.7, "x2": 0.0},
        {"x0": 0.4, "x1": 0.0},
    ]
    results = evaluator.evaluate(architectures)
    assert results[0].ok and results[0].objectives == pytest.approx((0.2, 1.0 - 0.04))
    assert not results[1].ok and "outside" in (results[1].error or "")
    assert not results[2].ok and "x2" in (results[2].error or "")


def test_noise_has_the_requested_std_and_repeats_for_the_same_architecture(rng: np.random.Generator) -> None:
    exact = BenchmarkEvaluator("zdt1", n_var=3)
    noisy = BenchmarkEvaluator("zdt1", n_var=3, noise_std=0.1, seed=7)
    architectures = _architectures(rng.random((400, 3)))
    clean = np.array([r.objectives for r in exact.evaluate(architectures)])
    first = np.array([r.objectives for r in noisy.evaluate(architectures)])
    noise = first - clean
    assert 0.09 < noise.std() < 0.11
    assert abs(noise.mean()) < 0.02
    assert abs(np.corrcoef(noise[:, 0], noise[:, 1])[0, 1]) < 0.15
    # Same architecture, same seed: the same measurement, even from a fresh evaluator and another order.
    again = BenchmarkEvaluator("zdt1", n_var=3, noise_std=0.1, seed=7).evaluate(architectures[::-1])
    np.testing.assert_array_equal(np.array([r.objectives for r in again])[::-1], first)
    other_seed = BenchmarkEvaluator("zdt1", n_var=3, noise_std=0.1, seed=8).evaluate(architectures)
    assert not np.allclose([r.objectives for r in other_seed], first)


def test_registry_rejects_sizes_the_problem_cannot_take() -> None:
    with pytest.raises(ConfigError) as error:
        EVALUATORS.build("benchmark", {"problem": "zdt1", "n_obj": 3})
    assert error.value.field == "evaluator.params.n_obj"
    with pytest.raises(ConfigError) as error:
        EVALUATORS.build("benchmark", {"problem": "dtlz2", "n_var": 3, "n_obj": 4})
    assert error.value.field == "evaluator.params.n_var"
    with pytest.raises(ConfigError) as error:
        EVALUATORS.build("benchmark", {"problem": "zdt9"})
    assert error.value.field == "evaluator.params.problem"
    with pytest.raises(ConfigError) as error:
        BenchmarkEvaluator("zdt1", noise_std=-1.0)
    assert error.value.field == "evaluator.params.noise_std"


def test_true_front_and_reference_point_follow_the_problem() -> None:
    evaluator = BenchmarkEvaluator("zdt1")
    front = evaluator.true_front()
    assert front.shape == (5000, 2)
    assert evaluator.true_front() is front
    # Worst front value plus 10 % of its range: ZDT1's front spans [0, 1] in both objectives.
    assert evaluator.default_reference_point() == pytest.approx((1.1, 1.1))
    assert evaluator.true_hypervolume((1.1, 1.1)) == pytest.approx(1.21 - 1.0 / 3.0, abs=2e-4)
    dtlz = BenchmarkEvaluator("dtlz7", n_var=6, n_obj=3)
    assert dtlz.true_front().shape[1] == 3
    assert len(dtlz.default_reference_point()) == 3


def test_points_on_the_optimal_set_evaluate_onto_the_true_front() -> None:
    evaluator = BenchmarkEvaluator("dtlz2", n_var=6, n_obj=3)
    X = np.full((20, 6), 0.5)
    X[:, :2] = np.linspace(0.0, 1.0, 20)[:, None]
    values = np.array([r.objectives for r in evaluator.evaluate(_architectures(X))])
    np.testing.assert_allclose(np.linalg.norm(values, axis=1), 1.0)


def test_delay_makes_each_evaluation_take_that_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """The delay is asked of the clock once per architecture; the test records it rather than waits."""
    slept: list[float] = []
    monkeypatch.setattr("search_engine.evaluators.benchmark.time.sleep", slept.append)
    evaluator = BenchmarkEvaluator("zdt1", n_var=3, delay=0.05)
    results = evaluator.evaluate([{"x0": 0.1, "x1": 0.0, "x2": 0.0}] * 4)
    assert sum(slept) == pytest.approx(0.2)
    assert all(r.ok for r in results)
