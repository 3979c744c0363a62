"""Whole searches in one process: budgets, failures, derived reference points, early stop."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from search_engine.config import ComponentSpec
from search_engine.evaluators.base import Evaluator
from search_engine.objectives import Objective
from search_engine.runner import SimulatedPool, run_pool, run_search
from search_engine.setups import study_config
from search_engine.types import Architecture
from tests.engine.conftest import zdt1


class FlakyZDT1(Evaluator):
    """ZDT1 on x0..x3 that fails (NaN or an exception) whenever x0 falls in given bands."""

    def __init__(self, fail_below: float = 0.2, raise_above: float = 0.9) -> None:
        self.fail_below, self.raise_above = fail_below, raise_above

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return (Objective("f1"), Objective("f2"))

    def _evaluate_one(self, architecture: Architecture) -> Any:
        x = np.array([[architecture[f"x{i}"] for i in range(4)]])
        if x[0, 0] > self.raise_above:
            raise RuntimeError("device disconnected")
        if x[0, 0] < self.fail_below:
            return [math.nan, 1.0]
        return zdt1(x)[0]


def small_config(**changes: Any) -> Any:
    config = study_config("zdt1", "hytnas", budget=40, n_init=10, batch_size=10, n_var=4)
    return config.with_changes(solver=ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 5}), **changes)


def test_a_search_spends_exactly_its_budget_even_when_the_last_batch_is_partial() -> None:
    config = small_config(budget=35)
    result = run_search(config, config.build_evaluator())
    assert result.X.shape == (35, 4) and len(result.results) == 35
    assert [r.n_evaluations for r in result.history] == [10, 20, 30, 35]
    assert result.iterations_of == [0] * 10 + [1] * 10 + [2] * 10 + [3] * 5
    assert result.origins[:10] == ["initial"] * 10


def test_failed_evaluations_are_kept_with_their_reason_and_the_search_goes_on() -> None:
    config = small_config()
    result = run_search(config, FlakyZDT1())
    errors = [r.error for r in result.results if not r.ok]
    assert errors, "the flaky evaluator should have failed some architectures"
    assert any("not a finite number" in e for e in errors if e)
    assert any("device disconnected" in e for e in errors if e)
    assert result.X.shape[0] == 40
    failed_rows = ~np.all(np.isfinite(result.Y), axis=1)
    assert failed_rows.sum() == len(errors) == result.history[-1].n_failed
    keys = config.build_space().keys(result.X)
    assert len(set(keys)) == 40  # no architecture, failed or not, was evaluated twice


def test_derived_reference_point_is_fixed_after_the_initial_design() -> None:
    config = small_config(ref_point=None)
    result = run_search(config, config.build_evaluator())
    assert result.reference_point.derived
    initial = result.Y[:10]
    expected = initial.max(axis=0) + 0.1 * (initial.max(axis=0) - initial.min(axis=0))
    np.testing.assert_allclose(result.reference_point.values, expected)
    hv = [r.hypervolume for r in result.history]
    assert hv == sorted(hv)  # same reference throughout, so hypervolume never drops


def test_patience_stops_a_search_that_no_longer_improves() -> None:
    class Flat(FlakyZDT1):
        def _evaluate_one(self, architecture: Architecture) -> Any:
            return [1.0, 1.0]

    config = small_config(budget=100, patience=2, ref_point=(2.0, 2.0))
    result = run_search(config, Flat())
    assert len(result.history) == 3  # the initial design, then two iterations without gain
    assert result.X.shape[0] == 30


def test_a_search_where_everything_fails_ends_without_a_reference_point() -> None:
    config = small_config(budget=20, ref_point=None)
    result = run_search(config, FlakyZDT1(fail_below=2.0))
    assert result.X.shape[0] == 20 and all(not r.ok for r in result.results)
    assert result.reference_point.values == ()


def pool_config(**changes: Any) -> Any:
    return small_config(**{"batch_size": 4, "budget": 37, "ref_point": (1.1, 11.0), **changes})


@pytest.mark.parametrize("in_flight", [None, 4], ids=["synchronous", "asynchronous"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_pool_spends_exactly_the_budget_on_distinct_architectures(in_flight: int | None, seed: int) -> None:
    """Four workers finishing in random order: the budget of unique evaluations, never more."""
    config = pool_config(in_flight=in_flight, seed=seed)
    result = run_pool(config, config.build_evaluator(), SimulatedPool(4, seed=seed))
    keys = config.build_space().keys(result.run.X)
    assert len(keys) == 37 == len(set(keys)) == len(result.run.results)
    assert [p.n_evaluations for p in result.trace] == sorted({p.n_evaluations for p in result.trace})
    assert result.trace[-1].n_evaluations == 37
    assert all(a.seconds <= b.seconds for a, b in itertools.pairwise(result.trace))
    assert result.simulated_seconds == result.finished_at.max() == result.trace[-1].seconds
    assert result.run.origins.count("initial") == 10  # the initial design, then only proposals


def test_asynchronous_results_arrive_out_of_proposal_order() -> None:
    config = pool_config(in_flight=4)
    result = run_pool(config, config.build_evaluator(), SimulatedPool(4, seed=0))
    asks = result.run.iterations_of
    assert asks != sorted(asks)


def test_keeping_workers_fed_finishes_the_budget_sooner_with_less_idle_time() -> None:
    config = pool_config()
    pool = SimulatedPool(4, seed=3)
    synchronous = run_pool(config, config.build_evaluator(), pool)
    asynchronous = run_pool(config.with_changes(in_flight=4), config.build_evaluator(), pool)
    assert asynchronous.simulated_seconds < synchronous.simulated_seconds
    assert asynchronous.idle_fraction < synchronous.idle_fraction
    # The same evaluation times in both runs: the work is the same, only the waiting differs.
    np.testing.assert_allclose(asynchronous.busy_seconds, synchronous.busy_seconds)


def test_a_synchronous_pool_makes_the_same_search_as_the_plain_runner() -> None:
    config = pool_config()
    pooled = run_pool(config, config.build_evaluator(), SimulatedPool(3, seed=5))
    plain = run_search(config, config.build_evaluator())
    np.testing.assert_array_equal(pooled.run.X, plain.X)
    assert pooled.run.iterations_of == plain.iterations_of


def test_evaluation_times_spread_by_the_asked_factor() -> None:
    pool = SimulatedPool(1, median_seconds=2.0, slow_to_fast=10.0, seed=0)
    config = pool_config(budget=400, n_init=400)
    times = np.diff(run_pool(config, config.build_evaluator(), pool).finished_at, prepend=0.0)  # one worker
    fast, median, slow = np.percentile(times, [5, 50, 95])
    assert 7 < slow / fast < 14 and 1.7 < median < 2.3
