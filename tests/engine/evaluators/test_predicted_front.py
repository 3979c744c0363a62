"""Searching against the latency predictor: the predicted front to re-measure on the device."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from search_engine.errors import DataError
from search_engine.evaluators.predicted_front import predicted_front
from search_engine.metrics.pareto import pareto_mask
from search_engine.registry import SOLVERS
from search_engine.solvers.base import Solver
from search_engine.spaces.hytnas import HyTNASSpace
from search_engine.types import Array

SETTING = {"task": "detection", "resolution": 128}
SPACE = HyTNASSpace()


def device(X: Array) -> tuple[dict[str, Array], Array]:
    """A device whose stage latency is the stage's multiply-adds (1 ms per M); accuracy grows with size."""
    counts = SPACE.known_quantities(X, SETTING)
    latency = {s: counts[f"macs.{s}"] / 1e6 for s in ("backbone", "neck", "head")}
    return latency, 60 + 3 * np.log(counts["params"])


def small_solver() -> Solver:
    return SOLVERS.build("nsga2", {"pop_size": 40, "n_gen": 10}, "solver")


def test_the_predicted_front_is_new_non_dominated_and_ranked_as_the_device_would() -> None:
    X = SPACE.sample_unique(40, np.random.default_rng(0))
    latency, accuracy = device(X)
    front = predicted_front(SPACE, X, latency, accuracy, 10, seed=0, setting=SETTING, solver=small_solver())
    keys = SPACE.keys(front.X)
    assert 2 <= len(keys) <= 10 and len(set(keys)) == len(keys)
    assert not set(keys) & set(SPACE.keys(X))  # only architectures the device has not measured
    predicted = np.column_stack([-front.accuracy, front.latency])
    assert pareto_mask(predicted).all()
    np.testing.assert_allclose(front.latency, sum(front.stage_latency.values()))
    measured_latency, _ = device(front.X)  # "re-measure the predicted front on the device"
    truth = sum(measured_latency.values())
    assert stats.spearmanr(front.latency, truth).statistic > 0.8
    assert np.median(np.abs(front.latency - truth) / truth) < 0.25


def test_accuracy_must_be_measured_for_every_architecture() -> None:
    X = SPACE.sample_unique(20, np.random.default_rng(1))
    latency, accuracy = device(X)
    accuracy[4] = np.nan
    with pytest.raises(DataError, match="expected 20 finite accuracies"):
        predicted_front(SPACE, X, latency, accuracy, 5, seed=0, setting=SETTING)
