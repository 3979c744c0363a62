"""Identity, PI, EI and UCB against hand-computed values, Monte-Carlo estimates and their limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search_engine.acquisitions.analytic import (
    EIAcquisition,
    IdentityAcquisition,
    PIAcquisition,
    UCBAcquisition,
)
from search_engine.errors import ConfigError
from search_engine.registry import ACQUISITIONS


def _cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _monte_carlo(
    mean: np.ndarray, std: np.ndarray, target: np.ndarray, n: int = 400_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampled f ~ N(mean, std²): (E[max(target - f, 0)], its standard error, P(f < target))."""
    draws = np.random.default_rng(0).standard_normal((n, *mean.shape)) * std + mean  # (n, rows, objectives)
    gain = np.maximum(target - draws, 0.0)
    return gain.mean(axis=0), gain.std(axis=0) / math.sqrt(n), (draws < target).mean(axis=0)


def test_identity_returns_the_mean_and_needs_no_std() -> None:
    mean = np.array([[1.0, -2.0], [3.0, 4.0]])
    assert np.array_equal(IdentityAcquisition()(mean, None, np.zeros(2)), mean)
    assert IdentityAcquisition.capabilities() == {"needs_std": False, "needs_values": False}


def test_ei_matches_a_hand_computed_case() -> None:
    # mean 1, std 2, best 2: z = 0.5, EI = 1 * Phi(0.5) + 2 * phi(0.5) = 1.3955931...
    value = EIAcquisition()(np.array([[1.0]]), np.array([[2.0]]), np.array([2.0]))
    assert value[0, 0] == pytest.approx(-(_cdf(0.5) + 2.0 * _pdf(0.5)), rel=1e-12)
    assert value[0, 0] == pytest.approx(-1.3955931148, rel=1e-9)


def test_ei_subtracts_xi_from_the_best_value_of_each_objective() -> None:
    # Column 0: gain 2 - 0.5 - 1 = 0.5, std 1 -> z = 0.5. Column 1: gain 10 - 0.5 - 9.5 = 0, std 4 -> z = 0.
    value = EIAcquisition(xi=0.5)(np.array([[1.0, 9.5]]), np.array([[1.0, 4.0]]), np.array([2.0, 10.0]))
    assert value[0, 0] == pytest.approx(-(0.5 * _cdf(0.5) + _pdf(0.5)), rel=1e-12)
    assert value[0, 1] == pytest.approx(-4.0 * _pdf(0.0), rel=1e-12)


def test_ei_and_pi_agree_with_monte_carlo_estimates() -> None:
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(6, 2))
    std = rng.uniform(0.2, 2.0, size=(6, 2))
    best, xi = np.array([0.3, -0.4]), 0.1
    ei_mc, ei_se, pi_mc = _monte_carlo(mean, std, best - xi)
    ei = -EIAcquisition(xi=xi)(mean, std, best)
    pi = -PIAcquisition(xi=xi)(mean, std, best)
    assert np.all(np.abs(ei - ei_mc) < 5 * ei_se + 1e-4)
    assert np.allclose(pi, pi_mc, atol=4e-3)


def test_ei_falls_back_to_the_plain_improvement_when_std_is_zero() -> None:
    mean = np.array([[1.0, 5.0]])
    best = np.array([3.0, 3.0])
    exact = EIAcquisition()(mean, np.zeros((1, 2)), best)
    assert np.array_equal(exact, [[-2.0, 0.0]])
    nearly = EIAcquisition()(mean, np.full((1, 2), 1e-9), best)
    assert np.allclose(nearly, exact, atol=1e-8)


def test_ei_is_never_positive_even_far_in_the_tail() -> None:
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
        value = EIAcquisition()(np.array([[100.0, 1e6]]), np.array([[1.0, 1e-3]]), np.array([0.0, 0.0]))
    assert np.all(value <= 0.0)
    assert np.all(np.isfinite(value))


def test_ei_prefers_the_more_uncertain_of_two_points_with_the_same_mean() -> None:
    value = EIAcquisition()(np.array([[1.0], [1.0]]), np.array([[0.5], [2.0]]), np.array([0.5]))
    assert value[1, 0] < value[0, 0]


def test_pi_matches_a_hand_computed_case() -> None:
    # P(f < 2 - 0.5) for f ~ N(1, 2²): z = 0.25.
    value = PIAcquisition(xi=0.5)(np.array([[1.0]]), np.array([[2.0]]), np.array([2.0]))
    assert value[0, 0] == pytest.approx(-_cdf(0.25), rel=1e-12)


def test_pi_with_zero_std_is_certain_improvement_or_none() -> None:
    value = PIAcquisition()(np.array([[1.0, 5.0]]), np.zeros((1, 2)), np.array([3.0, 3.0]))
    assert np.array_equal(value, [[-1.0, 0.0]])


def test_ucb_is_the_lower_confidence_bound() -> None:
    mean = np.array([[1.0, 2.0], [0.0, -1.0]])
    std = np.array([[0.5, 0.0], [2.0, 1.0]])
    assert np.allclose(UCBAcquisition(beta=3.0)(mean, std, np.zeros(2)), mean - 3.0 * std)
    assert np.allclose(UCBAcquisition()(mean, std, np.zeros(2)), mean - 2.0 * std)


@pytest.mark.parametrize("key", ["pi", "ei", "ucb"])
def test_std_based_acquisitions_refuse_a_surrogate_without_std(key: str) -> None:
    acquisition = ACQUISITIONS.build(key)
    assert acquisition.capabilities()["needs_std"] is True
    with pytest.raises(ValueError, match="std"):
        acquisition(np.zeros((2, 2)), None, np.zeros(2))


def test_only_pi_and_ei_need_values_in_objective_units() -> None:
    keys = ACQUISITIONS.keys()
    needs_values = {key: ACQUISITIONS.load(key).capabilities()["needs_values"] for key in keys}
    assert needs_values == {"identity": False, "pi": True, "ei": True, "ucb": False}


@pytest.mark.parametrize(
    ("key", "params"),
    [("ei", {"xi": -0.1}), ("pi", {"xi": -1.0}), ("ucb", {"beta": -1.0}), ("ucb", {"beta": 101.0})],
)
def test_out_of_range_parameters_are_refused(key: str, params: dict) -> None:
    with pytest.raises(ConfigError):
        ACQUISITIONS.build(key, params)
