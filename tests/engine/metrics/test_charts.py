"""Chart data: front, failures, thinning that keeps the front, hypervolume, stage shares, fidelity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search_engine.metrics.charts import (
    compact_architecture,
    eta_seconds,
    fidelity_series,
    hypervolume_series,
    pareto_chart_data,
    seconds_per_iteration,
    stage_latency_data,
    thin_indices,
    timing_series,
)
from search_engine.metrics.pareto import pareto_mask
from search_engine.objectives import Objective

MIN2 = (Objective("f1"), Objective("f2"))


def test_front_is_sorted_by_the_first_objective_and_failures_are_apart() -> None:
    Y = np.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 3.0], [np.nan, np.nan], [2.5, 2.5]])
    data = pareto_chart_data([10, 11, 12, 13, 14, 15], [0, 0, 1, 1, 2, 2], Y, MIN2, ref_point=(4.0, 4.0))
    assert data.ids.tolist() == [10, 11, 12, 13, 15]
    assert data.failed_ids.tolist() == [14]
    assert data.front_ids.tolist() == [11, 12, 10]  # f1 = 1, 2, 3
    assert data.iterations.tolist() == [0, 0, 1, 1, 2]
    assert data.ref_point == (4.0, 4.0) and data.n_measured == 5 and not data.thinned


def test_a_maximised_objective_flips_what_dominates() -> None:
    objectives = (Objective("accuracy", "max", "%"), Objective("latency", "min", "ms"))
    Y = np.array([[80.0, 10.0], [70.0, 10.0], [90.0, 20.0]])
    data = pareto_chart_data([1, 2, 3], [0, 0, 0], Y, objectives)
    assert sorted(data.front_ids.tolist()) == [1, 3]  # 70 % at 10 ms is dominated by 80 % at 10 ms


def test_an_empty_or_all_failed_study_has_no_points() -> None:
    empty = pareto_chart_data([], [], np.empty((0, 2)), MIN2)
    assert empty.ids.shape == (0,) and empty.front.shape == (0,)
    failed = pareto_chart_data([1, 2], [0, 0], np.full((2, 2), np.nan), MIN2)
    assert failed.ids.shape == (0,) and failed.failed_ids.tolist() == [1, 2]


def test_thinning_never_drops_a_front_point_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    Y = rng.random((20_000, 2))
    mask = pareto_mask(Y)
    keep = thin_indices(Y, mask, 1_000)
    assert keep.shape[0] <= 1_000
    assert set(np.flatnonzero(mask)) <= set(keep.tolist())
    assert np.array_equal(keep, thin_indices(Y, mask, 1_000))
    assert np.all(np.diff(keep) > 0)


def test_thinning_keeps_near_front_points_and_a_stride_of_the_rest() -> None:
    rng = np.random.default_rng(1)
    Y = rng.random((10_000, 2))
    mask = pareto_mask(Y)
    keep = thin_indices(Y, mask, 500)
    kept_rest = np.setdiff1d(keep, np.flatnonzero(mask))
    # Half the budget goes to the closest points: their mean sum of objectives is far below the cloud's.
    assert np.sort(Y[kept_rest].sum(axis=1))[:100].mean() < 0.3
    # The stride reaches far points too.
    assert Y[kept_rest].sum(axis=1).max() > 1.5


def test_a_front_larger_than_the_cap_is_kept_whole() -> None:
    x = np.linspace(0.0, 1.0, 50)
    Y = np.column_stack([x, 1.0 - x])  # all non-dominated
    data = pareto_chart_data(range(50), [0] * 50, Y, MIN2, max_points=10)
    assert data.ids.shape[0] == 50 and data.front.shape[0] == 50


def test_a_thinned_chart_of_many_points_says_so() -> None:
    rng = np.random.default_rng(2)
    Y = rng.random((5_000, 3))
    objectives = (*MIN2, Objective("f3"))
    data = pareto_chart_data(range(5_000), [0] * 5_000, Y, objectives, max_points=1_000)
    assert data.thinned and data.n_measured == 5_000
    full = pareto_chart_data(range(5_000), [0] * 5_000, Y, objectives)
    assert sorted(data.front_ids.tolist()) == sorted(full.front_ids.tolist())


def test_compact_architecture_groups_stages() -> None:
    architecture = {"blocks_stage2": 1, "blocks_stage3": 2, "channels_stage1": 16, "lr": 0.00123456}
    assert compact_architecture(architecture) == "blocks 1/2, channels 16, lr=0.001235"
    assert compact_architecture(None) == ""
    assert compact_architecture({f"x{i}": 1.0 for i in range(20)}, max_items=3) == "x0=1, x1=1, x2=1 …"


def test_hypervolume_series_skips_unfinished_iterations_and_takes_the_log_difference() -> None:
    series = hypervolume_series([2, 0, 1], [30, 10, 20], [0.8, 0.5, None], true_hypervolume=0.9)
    assert series.iterations == (0, 2) and series.n_evaluations == (10, 30)
    assert series.hypervolume == (0.5, 0.8)
    assert series.log_difference is not None
    assert series.log_difference == pytest.approx((math.log10(0.4), math.log10(0.1)))
    assert hypervolume_series([0], [10], [0.5]).log_difference is None


def test_stage_latency_sorts_the_front_by_total_and_gives_backbone_shares() -> None:
    data = stage_latency_data(
        [1, 2, 3, 4],
        [
            {"backbone": 6.0, "neck": 2.0, "head": 2.0},
            {"backbone": 3.0, "neck": 1.0, "head": 1.0},
            None,
            {"backbone": 1.0, "neck": 0.0, "head": 3.0},
        ],
        front_ids=[1, 2, 3],
    )
    assert data.available and data.stages == ("backbone", "neck", "head")
    assert data.front_ids == (2, 1)  # 3 reports nothing; 2 (5 ms) before 1 (10 ms)
    assert data.latency == ((3.0, 1.0, 1.0), (6.0, 2.0, 2.0)) and data.totals == (5.0, 10.0)
    assert data.share_ids == (1, 2, 4)
    assert data.backbone_share == pytest.approx((0.6, 0.6, 0.25))


def test_no_stage_latency_is_not_available() -> None:
    assert not stage_latency_data([1, 2], [None, {}], [1]).available


def test_fidelity_series_by_objective() -> None:
    records = [
        [],
        [{"objective": "f1", "kendall_tau": 0.5, "rmse": 0.1}, {"objective": "f2", "kendall_tau": None}],
        [{"objective": "f1", "kendall_tau": 1.0, "rmse": 0.05}, {"objective": "f2", "kendall_tau": -0.2}],
    ]
    series = fidelity_series([0, 1, 2], records, ["f1", "f2"])
    assert series.available and series.iterations == (1, 2)
    assert series.kendall_tau == {"f1": (0.5, 1.0), "f2": (None, -0.2)}
    assert series.rmse["f1"] == (0.1, 0.05) and series.mae["f2"] == (None, None)
    assert not fidelity_series([0], [[]], ["f1"]).available


def test_timing_series_fills_missing_phases_with_zero() -> None:
    series = timing_series(
        [1, 0], [{"fit": 1.0, "solve": 2.0, "select": 0.5, "evaluate": 3.0}, {"evaluate": 4.0}]
    )
    assert series.iterations == (0, 1)
    assert series.seconds["fit"] == (0.0, 1.0) and series.seconds["evaluate"] == (4.0, 3.0)
    assert series.totals == (4.0, 6.5)


def test_eta_from_the_median_iteration_time() -> None:
    per = seconds_per_iteration([10.0, 2.0, 3.0])
    assert per == 3.0
    assert eta_seconds(per, 4) == 12.0
    assert seconds_per_iteration([]) is None and eta_seconds(None, 3) is None
