"""Believer: in-flight points join the fit at a believed value, so new proposals keep away from them."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.config import ComponentSpec
from search_engine.optimizer import propose
from search_engine.pending.believer import BelieverPending
from search_engine.setups import study_config
from tests.engine.conftest import zdt1

Y_MEASURED = np.array([[1.0, 9.0], [3.0, 5.0], [2.0, 7.0]])
X_PENDING = np.array([[0.1, 0.2], [0.7, 0.4]])


def never_called(points: np.ndarray) -> np.ndarray:
    raise AssertionError("a constant liar must not consult the surrogate")


def test_the_kriging_believer_believes_the_surrogates_prediction() -> None:
    predicted = np.array([[1.5, 6.0], [2.5, 6.5]])
    believed = BelieverPending().fantasies(Y_MEASURED, X_PENDING, lambda points: predicted[: len(points)])
    np.testing.assert_array_equal(believed, predicted)


@pytest.mark.parametrize(
    ("value", "expected"), [("min", [1.0, 5.0]), ("mean", [2.0, 7.0]), ("max", [3.0, 9.0])]
)
def test_a_constant_liar_believes_one_observed_value_per_objective(value: str, expected: list[float]) -> None:
    believed = BelieverPending(value=value).fantasies(Y_MEASURED, X_PENDING, never_called)  # type: ignore[arg-type]
    np.testing.assert_array_equal(believed, [expected, expected])


def test_only_the_kriging_believer_reads_predictions_as_values() -> None:
    assert BelieverPending.capabilities_for({"value": "predicted"}) == {"uses_predictions": True}
    assert BelieverPending.capabilities_for({"value": "max"}) == {"uses_predictions": False}


def test_a_believer_proposal_keeps_further_from_the_points_in_flight_than_ignoring_them() -> None:
    """Mean over seeds of the nearest distance from a new batch to the batch still being measured."""
    config = study_config(
        "zdt1", "hytnas", budget=60, n_init=12, batch_size=3, n_var=4, ref_point=(1.1, 11.0)
    )
    config = config.with_changes(
        surrogate=ComponentSpec("gp"), solver=ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 5})
    )
    nearest: dict[str, list[float]] = {"ignore": [], "believer": []}
    for seed in range(6):
        X = np.random.default_rng(seed).random((15, 4))
        Y = zdt1(X)
        in_flight = propose(config, X, Y, seed=seed).X  # (3, 4)
        for strategy in nearest:
            chosen = propose(
                config.with_changes(pending=ComponentSpec(strategy)), X, Y, seed, pending=in_flight
            )
            distances = np.linalg.norm(chosen.X[:, None, :] - in_flight[None, :, :], axis=2)  # (3, 3)
            nearest[strategy].append(float(distances.min()))
    assert np.mean(nearest["believer"]) > 1.5 * np.mean(nearest["ignore"])
