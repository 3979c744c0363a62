"""Surrogate interface: ``fit(X, Y, rng)`` then ``predict(X) -> (mean, std | None)``.

Shapes: ``X`` is ``(n, n_vars)`` in the unit cube, ``Y`` is ``(n, n_objectives)`` in minimisation
form, all finite (the optimizer drops failed evaluations before fitting). ``mean`` is
``(n, n_objectives)``; ``std`` has the same shape and is ``>= 0`` when the class sets
``provides_std``, else it is ``None``.

Rank-based surrogates (``predicts_values = False``) return scores whose *order* matches the
objective (lower = better) but whose values are not in the objective's units: acquisitions that
need values, hypervolume selection and charts must not treat them as measurements.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from search_engine.component import Component
from search_engine.types import Array


class Surrogate(Component, ABC):
    """Base class: shape checks in ``fit``/``predict``; subclasses implement ``_fit``/``_predict``."""

    KIND: ClassVar[str] = "surrogate"

    provides_std: bool = False
    predicts_values: bool = True

    _n_vars: int | None = None
    _n_objectives: int | None = None

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {"provides_std": cls.provides_std, "predicts_values": cls.predicts_values}

    def fit(self, X: Array, Y: Array, rng: np.random.Generator) -> None:
        """Fit on ``X (n, n_vars)`` and ``Y (n, n_objectives)``; ``rng`` seeds any randomness."""
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise ValueError(f"X {X.shape} and Y {Y.shape} must be 2-D with the same number of rows")
        if X.shape[0] < 2:
            raise ValueError(f"a surrogate needs at least 2 measured points, got {X.shape[0]}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
            raise ValueError("X and Y must be finite (drop failed evaluations before fitting)")
        self._n_vars, self._n_objectives = X.shape[1], Y.shape[1]
        self._fit(X, Y, rng)

    def predict(self, X: Array) -> tuple[Array, Array | None]:
        """``(mean, std)`` for ``X (n, n_vars)``; ``std`` is None unless ``provides_std``.

        An empty ``X`` (0 rows) gives ``(0, n_objectives)`` arrays without consulting the model, so
        no subclass needs to handle it (torch, for one, warns about a std over no points).
        """
        X, n_objectives = self._query(X)
        if X.shape[0] == 0:
            empty = np.empty((0, n_objectives))  # (0, n_objectives)
            return empty, (np.empty_like(empty) if self.provides_std else None)
        mean, std = self._predict(X)
        mean = np.asarray(mean, dtype=np.float64).reshape(X.shape[0], n_objectives)
        if not self.provides_std:
            return mean, None
        assert std is not None, f"{type(self).__name__} sets provides_std but returned no std"
        std = np.maximum(np.asarray(std, dtype=np.float64).reshape(mean.shape), 0.0)
        return mean, std

    def extended(self, X_new: Array, Y_new: Array) -> Surrogate | None:
        """This fitted surrogate with ``X_new``, ``Y_new`` added to its data, what it learned kept.

        For a kriging believer: points in flight join the data at the surrogate's own predictions,
        and refitting hyperparameters on its own predictions teaches it nothing, so a surrogate that
        can condition on more data with what it learned kept (a GP: same kernel, one Cholesky
        factorisation) returns that here. None (the default, and before a fit): the caller fits
        a new one on all the data.
        """
        return None

    def leave_one_out_error(self) -> Array | None:
        """``(n_objectives,)`` how badly the fitted surrogate predicts each measurement from the others.

        Each objective's leave-one-out squared error as a share of its variance: near 0 where the
        surrogate has the objective's shape, near 1 where it explains nothing. None (the default)
        where it cannot be had without refitting once per point.
        """
        return None

    def predict_mean(self, X: Array) -> Array:
        """``(n, n_objectives)`` the mean alone, as ``predict(X)[0]``.

        A solver optimising an acquisition that reads no std calls this thousands of times per
        proposal; a surrogate whose std costs more than its mean (a GP's variance is a triangular
        solve per query point) skips that work here by overriding ``_predict_mean``.
        """
        X, n_objectives = self._query(X)
        if X.shape[0] == 0:
            return np.empty((0, n_objectives))
        return np.asarray(self._predict_mean(X), dtype=np.float64).reshape(X.shape[0], n_objectives)

    def _query(self, X: Array) -> tuple[Array, int]:
        """``X`` as a float ``(n, n_vars)`` array and the number of objectives, or the error in words."""
        if self._n_vars is None or self._n_objectives is None:
            raise RuntimeError("predict() called before fit()")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self._n_vars:
            raise ValueError(f"expected X of shape (n, {self._n_vars}), got {X.shape}")
        return X, self._n_objectives

    def _predict_mean(self, X: Array) -> Array:
        return self._predict(X)[0]

    @abstractmethod
    def _fit(self, X: Array, Y: Array, rng: np.random.Generator) -> None: ...

    @abstractmethod
    def _predict(self, X: Array) -> tuple[Array, Array | None]: ...


class PerObjectiveSurrogate(Surrogate):
    """A surrogate that fits one independent model per objective column.

    Subclasses implement ``_fit_one(X, y, rng) -> model`` and ``_predict_one(model, X) -> (mean, std)``
    for a single objective. A constant column (every measurement equal) is not handed to the model
    — many regressors divide by the spread — and predicts that constant with std 0.
    """

    def _fit(self, X: Array, Y: Array, rng: np.random.Generator) -> None:
        self._models: list[Any] = []
        for column in Y.T:
            if np.ptp(column) == 0.0:
                self._models.append(_Constant(float(column[0])))
            else:
                self._models.append(self._fit_one(X, column, rng))

    def _predict(self, X: Array) -> tuple[Array, Array | None]:
        means: list[Array] = []
        stds: list[Array] = []
        has_std = True
        for model in self._models:
            std: Array | None
            if isinstance(model, _Constant):
                mean, std = np.full(X.shape[0], model.value), np.zeros(X.shape[0])
            else:
                mean, std = self._predict_one(model, X)
            means.append(np.asarray(mean, dtype=np.float64).ravel())
            if std is None:
                has_std = False
            else:
                stds.append(np.asarray(std, dtype=np.float64).ravel())
        return np.column_stack(means), np.column_stack(stds) if has_std else None

    def _predict_mean(self, X: Array) -> Array:
        means = [
            np.full(X.shape[0], model.value)
            if isinstance(model, _Constant)
            else np.asarray(self._predict_one_mean(model, X), dtype=np.float64).ravel()
            for model in self._models
        ]
        return np.column_stack(means)

    def _predict_one_mean(self, model: Any, X: Array) -> Array:
        """``(n,)`` the mean of one fitted model (override when the std costs extra work)."""
        return self._predict_one(model, X)[0]

    @abstractmethod
    def _fit_one(self, X: Array, y: Array, rng: np.random.Generator) -> Any:
        """Fit a model to one objective ``y (n,)``; return it."""

    @abstractmethod
    def _predict_one(self, model: Any, X: Array) -> tuple[Array, Array | None]:
        """``(mean (n,), std (n,) | None)`` of one fitted model."""


class _Constant:
    """Stand-in model for an objective whose measurements are all equal."""

    def __init__(self, value: float) -> None:
        self.value = value


def seed_from(rng: np.random.Generator) -> int:
    """A 31-bit integer seed for libraries that take ints (xgboost, sklearn, torch)."""
    return int(rng.integers(0, 2**31 - 1))
