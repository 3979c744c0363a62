"""Gaussian process surrogate: one ARD Matérn GP per objective (scikit-learn), latent-function std."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.linalg import LinAlgError, cho_solve, cholesky, solve_triangular

from search_engine.errors import ConfigError
from search_engine.metrics.pareto import non_dominated_ranks
from search_engine.params import param
from search_engine.surrogates.base import PerObjectiveSurrogate, seed_from
from search_engine.types import Array

# Inputs live in the unit cube: a length scale of 0.01 resolves the finest bins a space produces,
# one of 100 makes a variable irrelevant. The amplitude is relative to the standardised objective.
LENGTH_SCALE_BOUNDS = (5e-2, 1e2)
AMPLITUDE_BOUNDS = (1e-3, 1e3)
# Query points per block in predict: bounds the (block, n_train) cross-covariance kept in memory.
PREDICT_BLOCK = 2048


@dataclass(frozen=True)
class _FittedGP:
    """What prediction needs: training inputs, the noise-free kernel and the Cholesky solve."""

    X: Array  # (n_train, n_vars)
    signal: Any  # the fitted ConstantKernel * Matern, without the white-noise term
    L: Array  # (n_train, n_train) lower Cholesky factor of K + noise
    alpha: Array  # (n_train,) (K + noise)^-1 z
    z: Array  # (n_train,) the standardised objective at the training inputs
    noise: float  # fitted noise variance of the standardised objective
    y_mean: float
    y_std: float


@dataclass(eq=False)
class GPSurrogate(PerObjectiveSurrogate):
    """Gaussian process with an ARD Matérn kernel, one per objective.

    Kernel: ``amplitude * Matern(nu, one length scale per variable) + white noise`` on the
    standardised objective. Hyperparameters maximise the log marginal likelihood (L-BFGS-B from
    length scales 1, plus ``n_restarts`` random starts) on at most ``max_fit_points`` random
    points, because each likelihood evaluation is cubic in the points: on 1000 points it would
    cost tens of seconds per objective. The GP then conditions on every point with those
    hyperparameters fixed, which is a single Cholesky factorisation — up to
    ``max_condition_points`` points. Past that it conditions on a subset of that size (a
    subset-of-data GP; see ``conditioning_subset``), because conditioning costs n^3 once and,
    worse, every prediction's variance costs n^2 per query point, thousands of times per solve.

    ``std`` is that of the latent function, noise excluded: acquisitions ask how uncertain the
    objective is, not how noisy a new measurement would be, and a measured point gets a std near 0.
    """

    provides_std = True
    predicts_values = True

    nu: float = param(
        2.5,
        "Matérn smoothness: 0.5 rough, 1.5 once differentiable, 2.5 twice differentiable.",
        choices=(0.5, 1.5, 2.5),  # a Literal cannot hold floats
    )
    n_restarts: int = param(
        0,
        "Extra likelihood optimisations from random hyperparameters; each costs about one more fit.",
        low=0,
        high=20,
    )
    noise_min: float = param(
        1e-6,
        "Smallest noise variance, relative to the objective's variance; raise it for noisy measurements.",
        low=1e-10,
        high=0.5,
    )
    noise_max: float = param(
        1.0,
        "Largest noise variance, relative to the objective's variance. Lower it, to 1e-5 say, when a "
        "measurement is exact (the same architecture always gets the same values): the GP then "
        "passes through every measurement instead of explaining a rugged objective's ripples as noise.",
        low=1e-8,
        high=1.0,
    )
    max_fit_points: int = param(
        300,
        "Hyperparameters are fitted on at most this many random points of those the GP conditions on.",
        low=20,
        high=5000,
    )
    max_condition_points: int = param(
        1000,
        "Above this many points the GP conditions on a subset of this size: the measured front first, "
        "then an even random sample of the rest (cost stays bounded instead of growing cubically).",
        low=50,
        high=20000,
    )
    condition_front_share: float = param(
        0.5,
        "Share of the conditioning subset taken by non-dominated rank (0: a purely random subset).",
        low=0.0,
        high=1.0,
    )

    _n_conditioned = 0  # not a parameter: set by each fit

    @classmethod
    def check_params(cls, values: Mapping[str, Any], field: str) -> None:
        if values["noise_min"] > values["noise_max"]:
            raise ConfigError(
                f"{field}.noise_min",
                f"must be at most noise_max ({values['noise_max']:g}), got {values['noise_min']:g}",
            )

    @property
    def n_conditioned(self) -> int:
        """Points the fitted GPs condition on: every point, or ``max_condition_points`` past it."""
        return self._n_conditioned

    def _fit(self, X: Array, Y: Array, rng: np.random.Generator) -> None:
        if X.shape[0] > self.max_condition_points:
            keep = conditioning_subset(Y, self.max_condition_points, self.condition_front_share, rng)
            X, Y = X[keep], Y[keep]
        self._n_conditioned = int(X.shape[0])
        super()._fit(X, Y, rng)

    def leave_one_out_error(self) -> Array:
        """``(n_objectives,)`` each GP's leave-one-out squared error as a share of its objective's variance.

        Near 0 on a smooth objective, about 0.5 on a rugged, multimodal one, which the GP explains
        only half of; ``auto`` reads it to decide how far to trust the GP. Closed form from the
        fitted Cholesky factor (Rasmussen & Williams, *Gaussian Processes for Machine Learning*,
        eq. 5.12): the residual at point i is ``alpha_i / (K^-1)_ii``, no refit. An objective whose
        measurements are all equal is predicted exactly (0).
        """
        if self._n_vars is None:
            raise RuntimeError("leave_one_out_error before fit")
        errors = []
        for model in self._models:
            if not isinstance(model, _FittedGP):
                errors.append(0.0)
                continue
            K_inverse_diag = np.diag(cho_solve((model.L, True), np.eye(model.L.shape[0]), check_finite=False))
            residuals = model.alpha / K_inverse_diag  # (n,) standardised: the objective's variance is 1
            errors.append(float(np.mean(residuals**2)))
        return np.asarray(errors)

    def extended(self, X_new: Array, Y_new: Array) -> GPSurrogate | None:
        """The same kernels conditioned on what they condition on plus ``X_new``, ``Y_new``.

        A subset-of-data GP keeps its subset and adds the new points to it, so a handful of points
        in flight past ``max_condition_points`` costs one factorisation of a slightly larger matrix
        instead of a hyperparameter fit on all the data. An objective whose measurements were all
        equal stays that constant. None before a fit, or when the extended kernel matrix is not
        positive definite (the caller then fits anew).
        """
        X_new = np.asarray(X_new, dtype=np.float64)
        Y_new = np.asarray(Y_new, dtype=np.float64)
        Y_new = Y_new.reshape(-1, 1) if Y_new.ndim == 1 else Y_new
        if (
            self._n_vars is None
            or X_new.ndim != 2
            or X_new.shape != (Y_new.shape[0], self._n_vars)
            or Y_new.shape[1] != len(self._models)
        ):
            return None
        models = [
            model if not isinstance(model, _FittedGP) else _extended(model, X_new, Y_new[:, i])
            for i, model in enumerate(self._models)
        ]
        if any(m is None for m in models):
            return None
        other = replace(self)
        object.__setattr__(other, "_models", models)
        object.__setattr__(other, "_n_vars", self._n_vars)
        object.__setattr__(other, "_n_objectives", self._n_objectives)
        object.__setattr__(other, "_n_conditioned", self._n_conditioned + int(X_new.shape[0]))
        return other

    def _fit_one(self, X: Array, y: Array, rng: np.random.Generator) -> _FittedGP:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        y_mean, y_std = float(y.mean()), float(y.std())
        z = (y - y_mean) / y_std  # (n,) standardised objective
        seed = seed_from(rng)
        n = X.shape[0]
        subset = (
            np.sort(rng.choice(n, self.max_fit_points, replace=False)) if n > self.max_fit_points else None
        )
        noise_start = min(max(1e-4, 10.0 * self.noise_min), self.noise_max)
        kernel = ConstantKernel(1.0, AMPLITUDE_BOUNDS) * Matern(
            np.ones(X.shape[1]), LENGTH_SCALE_BOUNDS, nu=self.nu
        ) + WhiteKernel(noise_start, (self.noise_min, self.noise_max))
        with warnings.catch_warnings():
            # Length scales at their upper bound are the expected outcome for irrelevant variables.
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp = GaussianProcessRegressor(kernel, n_restarts_optimizer=self.n_restarts, random_state=seed)
            if subset is None:
                gp.fit(X, z)
            else:
                fitted = gp.fit(X[subset], z[subset]).kernel_
                gp = GaussianProcessRegressor(fitted, optimizer=None).fit(X, z)
        noise = float(gp.kernel_.k2.noise_level)
        return _FittedGP(X, gp.kernel_.k1, gp.L_, gp.alpha_, z, noise, y_mean, y_std)

    def _predict_one_mean(self, model: _FittedGP, X: Array) -> Array:
        means = [
            model.signal(X[start : start + PREDICT_BLOCK], model.X) @ model.alpha
            for start in range(0, X.shape[0], PREDICT_BLOCK)
        ]
        return np.concatenate(means) * model.y_std + model.y_mean

    def _predict_one(self, model: _FittedGP, X: Array) -> tuple[Array, Array]:
        means: list[Array] = []
        stds: list[Array] = []
        for start in range(0, X.shape[0], PREDICT_BLOCK):
            block = X[start : start + PREDICT_BLOCK]
            K_cross = model.signal(block, model.X)  # (n_block, n_train)
            mean = K_cross @ model.alpha  # (n_block,)
            v = solve_triangular(model.L, K_cross.T, lower=True, check_finite=False)  # (n_train, n_block)
            # Posterior variance k(x, x) - k_x^T (K + noise)^-1 k_x, clipped against round-off.
            var = model.signal.diag(block) - np.einsum("ij,ij->j", v, v)
            means.append(mean)
            stds.append(np.sqrt(np.maximum(var, 0.0)))
        mean_all, std_all = np.concatenate(means), np.concatenate(stds)
        return mean_all * model.y_std + model.y_mean, std_all * model.y_std


def _extended(model: _FittedGP, X_new: Array, y_new: Array) -> _FittedGP | None:
    """``model``'s kernel and standardisation conditioned on its points plus ``X_new``, ``y_new``
    (None if the kernel matrix is not positive definite)."""
    X = np.vstack([model.X, X_new])
    z = np.concatenate([model.z, (y_new - model.y_mean) / model.y_std])
    K = model.signal(X) + model.noise * np.eye(X.shape[0])  # (n, n)
    K[np.diag_indices_from(K)] += 1e-10  # scikit-learn's default jitter, as in the fit
    try:
        L = cholesky(K, lower=True, check_finite=False)
    except LinAlgError:
        return None
    alpha = cho_solve((L, True), z, check_finite=False)
    return _FittedGP(X, model.signal, L, alpha, z, model.noise, model.y_mean, model.y_std)


def conditioning_subset(
    Y: Array, size: int, front_share: float, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """``(size,)`` sorted row indices of ``Y (n, n_objectives)`` a subset-of-data GP conditions on.

    An optimiser asks the surrogate most about the region near the measured front, so that region
    keeps every point it can: the first ``front_share * size`` rows in non-dominated rank order
    (ties drawn at random), shared by every objective so that both ends of the front stay resolved
    in each. The rest is a uniform sample of the other rows, which keeps the GP's picture of the
    whole cube (and its uncertainty away from the front) instead of a front-only view.
    """
    n = int(Y.shape[0])
    n_front = round(front_share * size)
    order = np.lexsort((rng.random(n), non_dominated_ranks(Y)))  # (n,) best ranks first
    front, rest = order[:n_front], order[n_front:]
    others = rng.choice(rest, size - n_front, replace=False)
    return np.sort(np.concatenate([front, others])).astype(np.int64)
