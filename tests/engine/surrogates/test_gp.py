"""Gaussian process surrogate: interpolation, latent std, subsampled hyperparameters, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import WhiteKernel

from search_engine.errors import ConfigError
from search_engine.registry import SURROGATES
from search_engine.surrogates.gp import GPSurrogate
from tests.engine.conftest import zdt1


def _wave(X: np.ndarray) -> np.ndarray:
    return np.sin(6.0 * X[:, 0]) + X[:, 1]


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5])
def test_gp_interpolates_its_points_and_is_unsure_far_from_them(nu: float) -> None:
    X = np.random.default_rng(0).random((20, 2)) * 0.5  # data only in the lower-left quarter
    y = _wave(X)
    gp = GPSurrogate(nu=nu)
    gp.fit(X, y, np.random.default_rng(1))
    mean, std = gp.predict(X)
    assert std is not None
    np.testing.assert_allclose(mean[:, 0], y, atol=1e-3 * np.ptp(y))
    assert std.max() < 1e-2 * y.std()
    _, std_far = gp.predict(np.array([[1.0, 1.0]]))
    assert std_far is not None and std_far[0, 0] > 0.3 * y.std()


def test_gp_std_is_the_noise_free_posterior_std() -> None:
    """Against scikit-learn's own prediction with the fitted kernel: same mean, variance minus noise."""
    X = np.random.default_rng(2).random((25, 3))
    y = 5.0 * _wave(X) + 100.0
    gp = GPSurrogate(noise_min=1e-3)
    gp.fit(X, y, np.random.default_rng(3))
    X_new = np.random.default_rng(4).random((30, 3))
    mean, std = gp.predict(X_new)
    assert std is not None

    model = gp._models[0]  # the fitted kernel, to rebuild the same GP in scikit-learn
    z = (y - y.mean()) / y.std()
    reference = GaussianProcessRegressor(model.signal + WhiteKernel(model.noise), optimizer=None).fit(X, z)
    ref_mean, ref_std = reference.predict(X_new, return_std=True)
    np.testing.assert_allclose(mean[:, 0], ref_mean * y.std() + y.mean(), rtol=1e-8)
    latent_var = ref_std**2 - model.noise  # scikit-learn's std includes the white noise
    np.testing.assert_allclose(std[:, 0] ** 2, latent_var * y.var(), rtol=1e-5, atol=1e-10 * y.var())
    assert model.noise >= 1e-3


def test_gp_ranks_held_out_zdt1_points_almost_perfectly(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    gp = SURROGATES.build("gp")
    gp.fit(X, Y, np.random.default_rng(0))
    X_new = np.random.default_rng(7).random((300, X.shape[1]))
    mean, std = gp.predict(X_new)
    assert mean.shape == std.shape == (300, 2)
    assert np.all(std >= 0)
    for column in range(2):
        assert kendalltau(mean[:, column], zdt1(X_new)[:, column])[0] > 0.9


def test_gp_fits_hyperparameters_on_a_subset_but_conditions_on_every_point() -> None:
    X = np.random.default_rng(5).random((60, 2))
    y = np.sin(12.0 * X[:, 0]) + np.cos(9.0 * X[:, 1])  # too wiggly for 30 points to pin down
    gp = GPSurrogate(max_fit_points=30)
    gp.fit(X, y, np.random.default_rng(6))
    mean, std = gp.predict(X)
    assert std is not None
    np.testing.assert_allclose(mean[:, 0], y, atol=1e-3 * np.ptp(y))
    assert std.max() < 1e-2 * y.std()


def test_gp_same_seed_gives_identical_predictions_with_restarts() -> None:
    X = np.random.default_rng(8).random((30, 3))
    Y = np.column_stack([_wave(X), X.sum(axis=1) ** 2])
    X_new = np.random.default_rng(9).random((10, 3))
    runs = []
    for _ in range(2):
        gp = GPSurrogate(n_restarts=2, max_fit_points=25)  # restarts and subset both draw from the seed
        gp.fit(X, Y, np.random.default_rng(10))
        runs.append(gp.predict(X_new))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_gp_constant_objective_predicts_the_constant_with_zero_std() -> None:
    X = np.random.default_rng(11).random((15, 2))
    Y = np.column_stack([_wave(X), np.full(15, 3.5)])
    gp = GPSurrogate()
    gp.fit(X, Y, np.random.default_rng(12))
    mean, std = gp.predict(np.random.default_rng(13).random((4, 2)))
    assert std is not None
    np.testing.assert_array_equal(mean[:, 1], 3.5)
    np.testing.assert_array_equal(std[:, 1], 0.0)


def test_gp_declares_std_and_values() -> None:
    assert GPSurrogate.capabilities() == {"provides_std": True, "predicts_values": True}


def _dtlz1_first_objective(X: np.ndarray) -> np.ndarray:
    """DTLZ1's f1: a bowl under ripples of period 0.1 in every variable but the first."""
    d = X[:, 1:] - 0.5
    g = 100.0 * (d.shape[1] + np.sum(d**2 - np.cos(20.0 * np.pi * d), axis=1))
    return 0.5 * X[:, 0] * (1.0 + g)


def test_a_gp_told_measurements_are_exact_passes_through_a_rugged_objective() -> None:
    """Data as a search leaves them: a uniform design, then points gathered near the optimum."""
    rng = np.random.default_rng(5)
    near = np.column_stack([rng.random(100), 0.5 + 0.06 * rng.standard_normal((100, 5))])
    X = np.clip(np.vstack([rng.random((50, 6)), near]), 0.0, 1.0)
    y = _dtlz1_first_objective(X)
    default = GPSurrogate(nu=1.5)
    exact = GPSurrogate(nu=1.5, noise_max=1e-5)
    for gp in (default, exact):
        gp.fit(X, y, np.random.default_rng(6))
    assert default._models[0].noise > 0.1  # the ripples read as noise ...
    assert np.abs(default.predict_mean(X)[:, 0] - y).max() > 0.1 * np.ptp(y)  # ... and smoothed over
    assert exact._models[0].noise <= 1e-5
    np.testing.assert_allclose(exact.predict_mean(X)[:, 0], y, atol=1e-3 * np.ptp(y))


def test_a_noise_floor_above_the_noise_ceiling_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"surrogate\.params\.noise_min: must be at most noise_max"):
        SURROGATES.build("gp", {"noise_min": 1e-3, "noise_max": 1e-5})


def test_extending_with_believed_points_keeps_the_kernel_and_the_predictions_there() -> None:
    """A kriging believer's GP: in-flight points join at its own means, nothing is refitted."""
    X = np.random.default_rng(7).random((40, 3))
    Y = np.column_stack([_wave(X), X.sum(axis=1)])
    gp = GPSurrogate(nu=1.5)
    gp.fit(X, Y, np.random.default_rng(8))
    same = gp.extended(X[:0], Y[:0])
    assert same is not None
    X_new = np.random.default_rng(9).random((25, 3))
    np.testing.assert_allclose(same.predict(X_new)[0], gp.predict(X_new)[0], rtol=1e-9, atol=1e-12)

    in_flight = np.random.default_rng(10).random((4, 3))
    believed = gp.predict_mean(in_flight)
    extended = gp.extended(in_flight, believed)
    assert extended is not None and extended.n_conditioned == 44
    mean, std = extended.predict(in_flight)
    _, std_before = gp.predict(in_flight)
    assert std is not None and std_before is not None
    np.testing.assert_allclose(mean, believed, atol=1e-6)
    assert np.all(std <= std_before) and std.sum() < 0.5 * std_before.sum()  # believed: less uncertain
    assert gp.n_conditioned == 40  # the original is left as it was
    assert GPSurrogate(nu=1.5).extended(in_flight, believed) is None  # not fitted yet


def test_a_subset_gp_extended_with_points_in_flight_keeps_its_subset_and_adds_them() -> None:
    """Past max_condition_points a believer adds its few points to the subset, with no new fit."""
    X = np.random.default_rng(16).random((80, 3))
    Y = np.column_stack([_wave(X), X.sum(axis=1)])
    gp = GPSurrogate(nu=1.5, max_condition_points=50)
    gp.fit(X, Y, np.random.default_rng(17))
    assert gp.n_conditioned == 50
    in_flight = np.random.default_rng(18).random((5, 3))
    believed = gp.predict_mean(in_flight)
    extended = gp.extended(in_flight, believed)
    assert extended is not None and extended.n_conditioned == 55
    np.testing.assert_allclose(extended.predict_mean(in_flight), believed, atol=1e-6)
    far = np.random.default_rng(19).random((20, 3))
    np.testing.assert_allclose(extended.predict_mean(far), gp.predict_mean(far), atol=0.05 * np.ptp(Y))


def test_the_leave_one_out_error_is_that_of_refitting_without_each_point() -> None:
    """The closed form against the definition: condition on all points but one, predict that one."""
    X = np.random.default_rng(11).random((30, 3))
    Y = np.column_stack([_wave(X), X[:, 2]])
    gp = GPSurrogate(nu=1.5, noise_min=1e-4)
    gp.fit(X, Y, np.random.default_rng(12))
    errors = gp.leave_one_out_error()
    assert errors.shape == (2,)
    for j, model in enumerate(gp._models):
        residuals = []
        for i in range(X.shape[0]):  # the same kernel on every point but i, predicting i
            rest = np.arange(X.shape[0]) != i
            K = model.signal(X[rest]) + (model.noise + 1e-10) * np.eye(X.shape[0] - 1)
            mean = model.signal(X[i : i + 1], X[rest]) @ np.linalg.solve(K, model.z[rest])
            residuals.append(float(mean[0]) * model.y_std + model.y_mean - Y[i, j])
        np.testing.assert_allclose(errors[j], np.mean(np.square(residuals)) / Y[:, j].var(), rtol=1e-6)


def test_the_leave_one_out_error_tells_a_smooth_objective_from_a_rugged_one() -> None:
    rng = np.random.default_rng(13)
    X = rng.random((120, 6))
    smooth = np.column_stack([X[:, 0], 1.0 + np.sum((X[:, 1:] - 0.5) ** 2, axis=1)])
    rugged = np.column_stack([X[:, 0], _dtlz1_first_objective(X)])
    errors = {}
    for name, Y in (("smooth", smooth), ("rugged", rugged)):
        gp = GPSurrogate(nu=1.5, noise_max=1e-5)
        gp.fit(X, Y, np.random.default_rng(14))
        errors[name] = gp.leave_one_out_error()
    assert errors["smooth"].max() < 0.01 < 0.3 < errors["rugged"][1]
    assert errors["rugged"][0] < 0.01  # the linear first objective is smooth in both
    constant = GPSurrogate()
    constant.fit(X, np.column_stack([X[:, 0], np.ones(120)]), np.random.default_rng(15))
    assert constant.leave_one_out_error()[1] == 0.0
    with pytest.raises(RuntimeError, match="before fit"):
        GPSurrogate().leave_one_out_error()
