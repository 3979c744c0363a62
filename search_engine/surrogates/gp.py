"""Gaussian process surrogate: one ARD Matérn GP per objective (scikit-learn), latent-function std."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import solve_triangular

from search_engine.params import param
from search_engine.surrogates.base import PerObjectiveSurrogate, seed_from
from search_engine.types import Array

# Inputs live in the unit cube: a length scale of 0.01 resolves the finest bins a space produces,
# one of 100 makes a variable irrelevant. The amplitude is relative to the standardised objective.
LENGTH_SCALE_BOUNDS = (5e-2, 1e2)
AMPLITUDE_BOUNDS = (1e-3, 1e3)
NOISE_MAX = 1.0
# Query points per block in predict: bounds the (block, n_train) cross-covariance kept in memory.
PREDICT_BLOCK = 2048


@dataclass(frozen=True)
class _FittedGP:
    """What prediction needs: training inputs, the noise-free kernel and the Cholesky solve."""

    X: Array  # (n_train, n_vars)
    signal: Any  # the fitted ConstantKernel * Matern, without the white-noise term
    L: Array  # (n_train, n_train) lower Cholesky factor of K + noise
    alpha: Array  # (n_train,) (K + noise)^-1 z
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
    hyperparameters fixed, which is a single Cholesky factorisation.

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
    max_fit_points: int = param(
        300,
        "Hyperparameters are fitted on at most this many random points; predictions use all points.",
        low=20,
        high=5000,
    )

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
        kernel = ConstantKernel(1.0, AMPLITUDE_BOUNDS) * Matern(
            np.ones(X.shape[1]), LENGTH_SCALE_BOUNDS, nu=self.nu
        ) + WhiteKernel(min(max(1e-4, 10.0 * self.noise_min), NOISE_MAX), (self.noise_min, NOISE_MAX))
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
        return _FittedGP(X, gp.kernel_.k1, gp.L_, gp.alpha_, noise, y_mean, y_std)

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
