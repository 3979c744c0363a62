"""Search against a calibrated latency predictor, and pick the predicted front to re-measure on the device.

Once a latency predictor is fitted on a device's measurements (``latency_predictor.py``), a search can
run against it at no device cost: a multi-objective solver (NSGA-II by default) minimises the predicted
``(-accuracy, latency)`` of candidate architectures, latency being the sum of the predicted stages and
accuracy the prediction of a surrogate fitted on the measured accuracies (XGBoost by default). The
solver starts from the measured architectures. Its final population's non-dominated architectures
that were never measured form the predicted front; measuring them on the device tells whether the
predictor was right where it matters, and their measurements refit it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_engine.errors import DataError
from search_engine.evaluators.latency_predictor import FittedPredictor, LatencyPredictor, inputs_from_points
from search_engine.metrics.pareto import pareto_mask
from search_engine.registry import SOLVERS, SURROGATES
from search_engine.solvers.base import Solver, SurrogateProblem
from search_engine.spaces.base import SearchSpace
from search_engine.surrogates.base import Surrogate
from search_engine.types import Array


@dataclass(frozen=True)
class PredictedFront:
    """Architectures on the predicted front, never measured, ordered by predicted latency.

    Attributes:
        X: ``(k, n_vars)`` canonical cube points.
        accuracy: ``(k,)`` predicted accuracy, in the measurements' unit.
        latency: ``(k,)`` predicted end-to-end latency (the sum of the stages), ms.
        stage_latency: ``{stage: (k,)}`` predicted latency per stage, ms.
    """

    X: Array
    accuracy: Array
    latency: Array
    stage_latency: dict[str, Array]


def predicted_front(
    space: SearchSpace,
    X: Array,
    latency: Mapping[str, Array],
    accuracy: Array,
    n_points: int,
    seed: int,
    setting: Mapping[str, Any] | None = None,
    predictor: LatencyPredictor | None = None,
    surrogate: Surrogate | None = None,
    solver: Solver | None = None,
) -> PredictedFront:
    """Up to ``n_points`` unmeasured architectures on the front predicted from the measurements.

    Args:
        space: the study's space.
        X: ``(n, n_vars)`` cube points of the measured architectures.
        latency: ``{stage: (n,) ms}`` their measured stage latencies.
        accuracy: ``(n,)`` their measured accuracy (higher is better).
        n_points: most architectures to return; a larger front is thinned evenly along latency.
        seed: seeds the fits and the solver.
        setting: the evaluator's parameters shaping the network (for the closed-form counts).
        predictor, surrogate, solver: the default latency predictor, XGBoost and NSGA-II when None.
    """
    X = np.asarray(X, dtype=np.float64)
    accuracy = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if accuracy.size != X.shape[0] or not np.all(np.isfinite(accuracy)):
        raise DataError(f"expected {X.shape[0]} finite accuracies, one per measured architecture")
    predictor = predictor or LatencyPredictor(seed=seed)
    fitted = predictor.fit(inputs_from_points(space, X, setting), latency)
    if surrogate is None:
        surrogate = SURROGATES.build("xgboost", {}, "surrogate")
    surrogate.fit(X, accuracy.reshape(-1, 1), np.random.default_rng(seed))

    def objectives(points: Array) -> Array:
        """``(m, 2)`` predicted (-accuracy, latency) of cube points ``(m, n_vars)``."""
        mean, _ = surrogate.predict(points)
        return np.column_stack(
            [-mean[:, 0], fitted.predict_total(inputs_from_points(space, points, setting))]
        )

    problem = SurrogateProblem(space.n_vars, 2, objectives, space.canonicalize)
    solver = solver or SOLVERS.build("nsga2", {}, "solver")
    population = solver.solve(problem, X, np.random.default_rng(seed))  # (pop, n_vars)
    measured = set(space.keys(X))
    keys = space.keys(population)
    first: dict[str, Array] = {}  # unmeasured key -> its first cube point
    for row, key in zip(population, keys, strict=True):
        if key not in measured:
            first.setdefault(key, row)
    candidates = np.array(list(first.values()), dtype=np.float64).reshape(-1, space.n_vars)
    if candidates.shape[0] == 0:
        return _front(space, fitted, surrogate, candidates, setting)
    front = candidates[pareto_mask(objectives(candidates))]
    front = front[np.argsort(objectives(front)[:, 1], kind="stable")]
    if front.shape[0] > n_points:  # evenly along latency, both ends kept
        front = front[np.unique(np.linspace(0, front.shape[0] - 1, n_points).round().astype(int))]
    return _front(space, fitted, surrogate, front, setting)


def _front(
    space: SearchSpace,
    fitted: FittedPredictor,
    surrogate: Surrogate,
    X: Array,
    setting: Mapping[str, Any] | None,
) -> PredictedFront:
    """The predictions of the front's architectures ``X (k, n_vars)`` (k may be 0)."""
    if X.shape[0] == 0:
        return PredictedFront(X, np.zeros(0), np.zeros(0), {s: np.zeros(0) for s in fitted.stages})
    inputs = inputs_from_points(space, X, setting)
    mean, _ = surrogate.predict(X)
    return PredictedFront(X, mean[:, 0].copy(), fitted.predict_total(inputs), fitted.predict(inputs))
