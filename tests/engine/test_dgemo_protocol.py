"""The sample-efficiency benchmark follows DGEMO's protocol: its designs, reference point and baseline."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.baselines import evaluate_points, nsga2_search, random_search
from benchmarks.sample_efficiency import dgemo_design
from search_engine.objectives import to_minimisation
from search_engine.setups import study_config


def test_the_design_is_a_latin_hypercube_fixed_by_its_seed() -> None:
    design = dgemo_design(6, 50, seed=3)
    assert design.shape == (50, 6)
    for column in design.T:  # one point in each of the 50 equal intervals of every variable
        np.testing.assert_array_equal(np.sort(np.floor(column * 50)), np.arange(50))
    np.testing.assert_array_equal(design, dgemo_design(6, 50, seed=3))
    assert not np.allclose(design, dgemo_design(6, 50, seed=4))


def test_reference_point_is_dgemos_for_dtlz4() -> None:
    """DGEMO's get_ref_point gives f2 = 0.778 on DTLZ4 (6 variables): the designs are its own."""
    config = study_config("dtlz4", "gp", budget=250, n_var=6, n_obj=2)
    Y = evaluate_points(config, config.build_evaluator(), dgemo_design(6, 50, seed=0))
    ref = to_minimisation(Y, config.objectives).max(axis=0)
    np.testing.assert_allclose(ref, [1.8111, 0.7776], atol=1e-4)


def test_baselines_start_from_the_given_design_and_spend_the_budget_on_new_points() -> None:
    config = study_config("zdt1", "gp", budget=80, n_var=6)
    evaluator = config.build_evaluator()
    design = dgemo_design(6, 50, seed=1)
    Y0 = to_minimisation(evaluate_points(config, evaluator, design), config.objectives)
    for Y in (
        nsga2_search(config, evaluator, design, 80, 1, pop_size=10, n_offsprings=10, Y_initial=Y0),
        nsga2_search(config, evaluator, design, 80, 1, pop_size=50, n_offsprings=10, Y_initial=Y0),
        random_search(config, evaluator, design, 80, 1, Y_initial=Y0),
    ):
        assert Y.shape == (80, 2)
        np.testing.assert_array_equal(Y[:50], Y0)
        assert np.unique(np.round(Y[50:], 12), axis=0).shape[0] == 30  # 30 new evaluations, none a repeat


def test_the_front_floor_is_the_best_subset_of_the_front_found_by_trying_every_one() -> None:
    """The dynamic programme against brute force over every k-subset of a small front."""
    from itertools import combinations

    from benchmarks.front_ceiling import best_subset_hypervolumes
    from search_engine.metrics.hypervolume import hypervolume

    t = np.sort(np.random.default_rng(0).random(9))
    front = np.column_stack([t, 1.0 - np.sqrt(t)])  # ZDT1's front at uneven spacing
    ref = np.array([1.1, 1.1])
    best = best_subset_hypervolumes(front, ref, [1, 2, 3, 4])
    for k in (1, 2, 3, 4):
        brute = max(hypervolume(front[list(s)], ref) for s in combinations(range(9), k))
        assert best[k] == pytest.approx(brute, rel=1e-12)
    assert best[1] < best[2] < best[3] < best[4] < hypervolume(front, ref)
