"""The per-stage latency predictor: analytic features, honest cross-validation, clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search_engine.errors import ConfigError, DataError
from search_engine.evaluators.latency_predictor import (
    LatencyPredictor,
    inputs_from_features,
    inputs_from_points,
)
from search_engine.spaces.hytnas import HyTNASSpace
from search_engine.types import Array

SETTING = {"task": "detection", "resolution": 128}
HYTNAS_LATENCY = Path(__file__).resolve().parents[4] / "shared" / "data" / "hytnas" / "models_lat_pre.csv"


def _measured(n: int, seed: int) -> tuple[HyTNASSpace, Array, dict[str, Array]]:
    """``n`` HyT-NAS architectures whose backbone latency is its multiply-adds (1 ms per M) ±2 %."""
    space = HyTNASSpace()
    rng = np.random.default_rng(seed)
    X = space.sample_unique(n, rng)
    macs = space.known_quantities(X, SETTING)["macs.backbone"]
    return space, X, {"backbone": macs / 1e6 * (1 + 0.02 * rng.standard_normal(n))}


def test_analytic_features_beat_design_values_alone_when_latency_follows_multiply_adds() -> None:
    space, X, latency = _measured(60, seed=0)
    inputs = inputs_from_points(space, X, SETTING)
    with_counts = LatencyPredictor().cross_validate(inputs, latency)["backbone"].quality
    design_only = LatencyPredictor(analytic=False).cross_validate(inputs, latency)["backbone"].quality
    assert with_counts.within_10_percent is not None and design_only.within_10_percent is not None
    assert with_counts.within_10_percent >= design_only.within_10_percent + 0.2
    assert with_counts.r2 is not None and design_only.r2 is not None and with_counts.r2 > design_only.r2


def test_cross_validated_predictions_are_out_of_fold() -> None:
    """Pure noise is unpredictable out of fold, though a fit on every row reproduces it closely."""
    space, X, _ = _measured(60, seed=1)
    noise = {"backbone": np.exp(np.random.default_rng(7).normal(2.0, 0.5, size=60))}  # ms, no relation to X
    inputs = inputs_from_points(space, X, SETTING)
    predictor = LatencyPredictor()
    fit = predictor.cross_validate(inputs, noise)["backbone"]
    in_sample = predictor.fit(inputs, noise).predict(inputs)["backbone"]
    assert fit.quality.r2 is not None and fit.quality.r2 < 0.2
    assert np.corrcoef(in_sample, noise["backbone"])[0, 1] > 0.9
    assert fit.measured.shape == fit.predicted.shape == (60,)
    assert fit.quality.n_rows == 60 and fit.quality.folds == 5


def test_one_regressor_per_measured_stage_and_their_sum_for_the_whole_network() -> None:
    space, X, latency = _measured(40, seed=2)
    latency["head"] = np.full(40, 3.0) + np.linspace(0, 1, 40)
    inputs = inputs_from_points(space, X, SETTING)
    fitted = LatencyPredictor().fit(inputs, latency)
    predicted = fitted.predict(inputs)
    assert fitted.stages == ("backbone", "head")
    np.testing.assert_allclose(fitted.predict_total(inputs), predicted["backbone"] + predicted["head"])


def test_too_few_measurements_are_refused_saying_how_many_are_needed() -> None:
    space, X, latency = _measured(40, seed=3)
    inputs = inputs_from_points(space, X[:6], SETTING)
    with pytest.raises(DataError, match="6 measured architectures; a latency predictor needs at least 10"):
        LatencyPredictor().cross_validate(inputs, {"backbone": latency["backbone"][:6]})


def test_nan_or_non_positive_latency_is_refused_naming_the_row() -> None:
    space, X, latency = _measured(20, seed=4)
    inputs = inputs_from_points(space, X, SETTING)
    broken = latency["backbone"].copy()
    broken[3] = np.nan
    with pytest.raises(DataError, match="stage 'backbone': latency of row 4 is not a finite number"):
        LatencyPredictor().fit(inputs, {"backbone": broken})
    broken[3] = 0.0
    with pytest.raises(DataError, match="row 4 is not positive"):
        LatencyPredictor().fit(inputs, {"backbone": broken})
    LatencyPredictor(target="raw").fit(inputs, {"backbone": broken})  # a raw target takes a zero
    with pytest.raises(DataError, match="19 latencies for 20 architectures"):
        LatencyPredictor().fit(inputs, {"backbone": latency["backbone"][:19]})


def test_nan_in_the_design_values_is_refused() -> None:
    space, X, latency = _measured(20, seed=5)
    F = space.features(X)
    F[2, 9] = np.nan
    with pytest.raises(DataError, match="design features contain NaN"):
        LatencyPredictor().fit(inputs_from_features(space, F, SETTING), latency)


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"latency_predictor\.params\.target"):
        LatencyPredictor(target="square")  # type: ignore[arg-type]  # the refusal is the point


def test_table_rows_off_the_grid_get_the_same_counts_as_their_cube_points() -> None:
    """Counts computed from a table's design values agree with the space's own for grid rows."""
    space, X, _ = _measured(20, seed=6)
    from_points = inputs_from_points(space, X, SETTING)
    from_features = inputs_from_features(space, space.features(X), SETTING)
    assert from_points.analytic_names == from_features.analytic_names
    np.testing.assert_allclose(from_points.analytic, from_features.analytic)


@pytest.mark.skipif(not HYTNAS_LATENCY.is_file(), reason="HyT-NAS latency table not available")
def test_hytnas_latency_table_is_predicted_about_as_well_as_by_the_table_evaluator() -> None:
    raw = np.loadtxt(HYTNAS_LATENCY, delimiter=",")
    inputs = inputs_from_features(HyTNASSpace(), raw[:, :23], {"task": "classification"})
    quality = LatencyPredictor().cross_validate(inputs, {"latency": raw[:, 23]})["latency"].quality
    assert quality.r2 is not None and quality.r2 > 0.8
    assert quality.within_10_percent is not None and quality.within_10_percent > 0.75
