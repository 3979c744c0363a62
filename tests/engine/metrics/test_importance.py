"""What drives each objective: main-effect shares, slices and contours on problems whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.evaluators.benchmark import BenchmarkEvaluator
from search_engine.metrics.importance import MIN_MEASURED, Drivers
from search_engine.registry import SURROGATES
from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace


def xgboost() -> object:
    return SURROGATES.build("xgboost", {}, "surrogate")


def test_zdt1s_first_objective_depends_on_x0_alone_and_ranks_every_other_variable_last() -> None:
    evaluator = BenchmarkEvaluator("zdt1", n_var=6)
    X = np.random.default_rng(0).random((60, 6))
    Y = np.array([r.objectives for r in evaluator.evaluate(evaluator._space.decode(X))])
    f1, f2 = Drivers(evaluator._space, xgboost(), X, Y, ["f1", "f2"], seed=1).importance()  # type: ignore[arg-type]
    assert f1.variables[0] == "x0" and f1.shares[0] > 0.9
    assert max(f1.shares[1:]) < 0.02
    assert f2.variables[0] != "x0" or f2.shares[0] < 0.9  # f2 = g(x1..x5) h(f1, g) uses the others
    assert all(0.0 <= share <= 1.0 for share in f1.shares + f2.shares)


def test_the_variables_an_objective_ignores_rank_below_those_it_uses() -> None:
    space = GenericSpace(
        [
            {"name": "width", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "depth", "type": "int", "low": 1, "high": 8},
            {"name": "kernel", "type": "choice", "choices": [3, 5, 7]},
            {"name": "unused", "type": "float", "low": 0.0, "high": 1.0},
        ]
    )
    X = space.canonicalize(np.random.default_rng(3).random((80, 4)))
    Y = np.column_stack([3 * X[:, 0] + X[:, 1], (X[:, 2] - 0.5) ** 2 + 0.2 * X[:, 1]])
    uses = {"error": {"width", "depth"}, "latency": {"kernel", "depth"}}
    for result in Drivers(space, xgboost(), X, Y, ["error", "latency"], seed=2).importance():  # type: ignore[arg-type]
        assert set(result.variables[:2]) == uses[result.objective], result
        assert max(result.shares[2:]) < 0.02
        assert result.fit_kendall_tau is not None and result.fit_kendall_tau > 0.5


def test_a_slice_follows_the_variable_and_a_contour_covers_both_grids() -> None:
    space = GenericSpace(
        [
            {"name": "a", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "b", "type": "choice", "choices": ["relu", "gelu", "silu"]},
        ]
    )
    X = space.canonicalize(np.random.default_rng(4).random((50, 2)))
    Y = np.column_stack([10 * X[:, 0], X[:, 1]])
    drivers = Drivers(space, xgboost(), X, Y, ["f", "g"], seed=0)  # type: ignore[arg-type]
    curve = drivers.slice("f", "a")
    assert curve.predicted[-1] - curve.predicted[0] > 5  # rises with a, in f's own units
    assert len(curve.measured_x) == len(curve.measured_y) == 50
    levels = drivers.slice("g", "b")
    assert levels.axis.labels == ("relu", "gelu", "silu")  # one point per level of a choice
    contour = drivers.contour("f", "a", "b")
    assert len(contour.values) == 3 and all(len(row) == len(contour.x.positions) for row in contour.values)
    with pytest.raises(ValueError, match="two different"):
        drivers.contour("f", "a", "a")


def test_on_hytnas_the_shares_add_up_by_network_stage() -> None:
    space = HyTNASSpace()
    X = space.canonicalize(np.random.default_rng(5).random((120, space.n_vars)))
    decoded = space.decode(X)
    latency = np.array([a["growth_stage3"] * 1.0 for a in decoded])
    accuracy = np.array([a["blocks_stage5"] * 1.0 for a in decoded])
    [lat, acc] = Drivers(
        space, xgboost(), X, np.column_stack([latency, accuracy]), ["latency", "acc"], 0
    ).importance()  # type: ignore[arg-type]
    assert lat.stage_shares[0][0] == "stage 3" and acc.stage_shares[0][0] == "stage 5"
    assert sum(share for _, share in lat.stage_shares) == pytest.approx(sum(lat.shares))


def test_too_few_successful_measurements_are_refused_in_words() -> None:
    space = GenericSpace([{"name": "a", "type": "float", "low": 0.0, "high": 1.0}])
    X = np.linspace(0, 1, MIN_MEASURED).reshape(-1, 1)
    Y = np.column_stack([X[:, 0], X[:, 0]])
    Y[0] = np.nan  # a failed evaluation does not count
    with pytest.raises(ValueError, match=f"needs at least {MIN_MEASURED}"):
        Drivers(space, xgboost(), X, Y, ["f", "g"], seed=0)  # type: ignore[arg-type]
