"""The HyT-NAS table benchmark starts every method of a seed from one shared design."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.baselines import evaluate_points
from benchmarks.hytnas_table import DEFAULT_DATA, N_INIT, problem, run_method, shared_design
from search_engine.objectives import to_minimisation

pytestmark = pytest.mark.skipif(
    not (DEFAULT_DATA / "models_acc_pr.csv").is_file(), reason=f"HyT-NAS tables not in {DEFAULT_DATA}"
)
BUDGET = N_INIT + 10


def test_every_method_of_a_seed_starts_from_the_same_design() -> None:
    config = problem(str(DEFAULT_DATA), BUDGET, seed=3)
    evaluator = config.build_evaluator()
    design = shared_design(config, seed=3)
    Y_design = evaluate_points(config, evaluator, design)
    Y0_min = to_minimisation(Y_design, config.objectives)
    for method in ("hytnas", "gp", "nsga2", "random"):
        Y_min, _ = run_method(
            method, evaluator, 3, design, Y_design, data_dir=str(DEFAULT_DATA), budget=BUDGET, batch_size=10
        )
        assert Y_min.shape == (BUDGET, 2), method
        np.testing.assert_array_equal(Y_min[:N_INIT], Y0_min, err_msg=method)
        new = {tuple(row) for row in Y_min[N_INIT:]}
        assert len(new) == 10 and not new & {tuple(row) for row in Y0_min}, method  # 10 new architectures


def test_the_design_is_the_seeds_own_and_the_presets_sampler_does_not_change_it() -> None:
    hytnas, gp = (problem(str(DEFAULT_DATA), BUDGET, preset=p) for p in ("hytnas", "gp"))
    assert gp.sampler.name != hytnas.sampler.name  # lhs against uniform: the design must not follow it
    design = shared_design(hytnas, seed=1)
    assert design.shape == (N_INIT, hytnas.build_space().n_vars)
    np.testing.assert_array_equal(design, shared_design(gp, seed=1))
    assert not np.array_equal(design, shared_design(hytnas, seed=2))


def test_the_table_predictors_are_the_original_benchmarks() -> None:
    evaluator = problem(str(DEFAULT_DATA), BUDGET, preset="gp").build_evaluator()
    assert evaluator.models == {"accuracy": "xgboost-linear", "latency": "xgboost"}  # type: ignore[attr-defined]
