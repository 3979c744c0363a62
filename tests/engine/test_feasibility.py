"""Bounds known only after measuring: the feasibility rule keeps evaluations away from broken budgets."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.constraints import Constraint
from search_engine.feasibility.measured import candidate_pool
from search_engine.feasibility.rules import IgnoreRule, ProbabilityRule
from search_engine.objectives import Objective
from search_engine.runner import run_search


def test_the_probability_of_feasibility_reads_the_std_or_else_a_margin() -> None:
    rule = ProbabilityRule()
    upper, bound = np.array([True]), np.array([10.0])
    mean = np.array([[8.0], [10.0], [12.0]])
    with_std = rule.probability(mean, np.full((3, 1), 2.0), upper, bound)
    assert with_std == pytest.approx([0.8413, 0.5, 0.1587], abs=1e-4)  # Phi(1), Phi(0), Phi(-1)
    without = rule.probability(mean, None, upper, bound)  # margin 5 % of 10: a spread of 0.5
    assert without[0] > 0.999 and without[1] == 0.5 and without[2] < 0.001
    lower = rule.probability(mean, np.full((3, 1), 2.0), np.array([False]), bound)
    assert lower == pytest.approx(1 - with_std)
    assert IgnoreRule().probability(mean, None, upper, bound).tolist() == [1.0, 1.0, 1.0]


def test_the_pool_keeps_likely_feasible_candidates_and_fills_a_batch_with_the_likeliest_others() -> None:
    probability = np.array([0.9, 0.1, 0.6, 0.3, 0.05])
    assert candidate_pool(probability, 0.5, 2).tolist() == [0, 2]
    assert candidate_pool(probability, 0.5, 3).tolist() == [0, 2, 3]


def _zdt1(seed: int, rule: str) -> StudyConfig:
    return StudyConfig(
        space=ComponentSpec(
            "generic",
            {"variables": [{"name": f"x{i}", "type": "float", "low": 0, "high": 1} for i in range(4)]},
        ),
        evaluator=ComponentSpec("benchmark", {"problem": "zdt1", "n_var": 4}),
        objectives=(Objective("f1"), Objective("f2")),
        ref_point=(1.1, 11.0),
        solver=ComponentSpec("nsga2", {"pop_size": 30, "n_gen": 6}),
        n_init=10,
        batch_size=5,
        budget=40,
        seed=seed,
        constraints=(Constraint("f1", "lower", 0.6),),
        feasibility=ComponentSpec(rule),
    )


def test_steering_by_feasibility_spends_fewer_evaluations_on_infeasible_architectures() -> None:
    """ZDT1 with f1 >= 0.6: ignoring the bound spreads the batch over the whole front."""
    infeasible = {"probability": 0, "ignore": 0}
    for seed in range(3):
        for rule in infeasible:
            run = run_search(_zdt1(seed, rule), _zdt1(seed, rule).build_evaluator())
            after_initial = run.Y[10:]
            infeasible[rule] += int(np.sum(after_initial[:, 0] < 0.6))
    assert infeasible["probability"] < infeasible["ignore"] / 2, infeasible


def test_a_bound_on_a_reported_metric_gets_its_own_surrogate_and_steers_the_batch() -> None:
    """The user's evaluation reports ``energy`` (here 3 x1): its bound steers proposals once measured."""
    from search_engine.optimizer import initial_design, iteration_seed, propose

    def config(rule: str, seed: int) -> StudyConfig:
        return StudyConfig(
            space=ComponentSpec(
                "generic",
                {"variables": [{"name": f"x{i}", "type": "float", "low": 0, "high": 1} for i in range(3)]},
            ),
            evaluator=ComponentSpec(
                "external",
                {"objectives": [{"name": "f1"}, {"name": "f2"}], "metrics": ["energy"]},
            ),
            objectives=(Objective("f1"), Objective("f2")),
            ref_point=(1.1, 2.1),
            solver=ComponentSpec("nsga2", {"pop_size": 30, "n_gen": 5}),
            n_init=15,
            batch_size=8,
            budget=60,
            seed=seed,
            constraints=(Constraint("energy", "upper", 1.0),),
            feasibility=ComponentSpec(rule),
        )

    over_budget = {"probability": 0, "ignore": 0}
    for seed in range(3):
        for rule in over_budget:
            study = config(rule, seed)
            X = initial_design(study)
            Y = np.column_stack([X[:, 0], 1 - np.sqrt(X[:, 0]) + X[:, 1]])  # x1 = 0 is on the front
            Y[:, 1] += 0.5 * (X[:, 1] < 0.2)  # ... except that x1 < 0.2 costs, so the front wants x1 ~ 0.2
            proposal = propose(study, X, Y, iteration_seed(seed, 1), measured={"energy": 3 * X[:, 1]})
            assert proposal.diagnostics["measured_bounds_steering"] == ["energy <= 1"]
            over_budget[rule] += int(np.sum(3 * proposal.X[:, 1] > 1.0))
    assert over_budget["probability"] < over_budget["ignore"], over_budget


def test_the_probability_rules_solver_violations_are_met_where_each_bound_is_threshold_likely() -> None:
    rule = ProbabilityRule(threshold=0.8)
    mean = np.array([[1.0, 5.0], [1.9, 5.0], [2.5, 5.0], [1.0, 3.0]])  # (4, 2)
    std = np.full((4, 2), 0.5)
    upper, value = np.array([True, False]), np.array([2.0, 4.0])  # x <= 2, y >= 4
    G = rule.violations(mean, std, upper, value)  # (4, 2)
    assert G.shape == (4, 2)
    met = G <= 0
    assert met.tolist() == [[True, True], [False, True], [False, True], [True, False]]
    # Linear in the slack: farther from the bound, larger violation (no flat zero probability).
    assert G[2, 0] > G[1, 0] > G[0, 0]
    assert not IgnoreRule.steers_solver and ProbabilityRule.steers_solver
