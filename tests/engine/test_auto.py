"""The ``auto`` optimizer: deterministic, explained choices that only ever run registered components."""

from __future__ import annotations

import numpy as np
import pytest

from search_engine import auto
from search_engine.config import COMPONENT_FIELDS, ComponentSpec
from search_engine.metrics.hypervolume import hypervolume
from search_engine.objectives import to_minimisation
from search_engine.optimizer import Optimizer, propose
from search_engine.presets import PRESETS
from search_engine.runner import objective_rows
from search_engine.setups import study_config
from search_engine.spaces.hytnas import HyTNASSpace


def _config(problem: str = "zdt1", n_obj: int = 2, **changes: object):  # type: ignore[no-untyped-def]
    config = study_config(problem, "auto", budget=200, seed=3, n_init=20, batch_size=10, n_var=6, n_obj=n_obj)
    return config.with_changes(**changes).validate()


def _evaluate(config, evaluator, X):  # type: ignore[no-untyped-def]
    space = config.build_space()
    return objective_rows(evaluator.evaluate(space.decode(space.canonicalize(X))), config.n_objectives)


def _measured(config, n: int, seed: int = 0):  # type: ignore[no-untyped-def]
    X = np.random.default_rng(seed).random((n, config.build_space().n_vars))
    return X, _evaluate(config, config.build_evaluator(), X)


@pytest.mark.parametrize("n_measured", [0, 20, 500, auto.GP_MAX_POINTS, auto.GP_MAX_POINTS + 1, 10_000])
@pytest.mark.parametrize("n_obj", [2, 3, 4])
@pytest.mark.parametrize("batch", [1, 2, 10, 50])
def test_a_choice_fills_the_batch_with_registered_components_and_says_why(
    n_measured: int, n_obj: int, batch: int
) -> None:
    config = _config("dtlz2", n_obj=n_obj)
    choice = auto.choose(config, config.build_space(), n_measured, batch)
    assert sum(part.size for part in choice.parts) == batch
    assert all(part.size >= 1 for part in choice.parts)
    assert choice.reasons and all(reason.strip() for reason in choice.reasons)
    for part in choice.parts:
        for kind, spec in part.components.items():
            COMPONENT_FIELDS[kind].resolve(spec.name, spec.params, kind)  # raises on a bad choice
        config.with_changes(auto=False, **part.components).validate()
    assert auto.choose(config, config.build_space(), n_measured, batch) == choice  # deterministic


def test_past_the_gaussian_process_limit_boosted_trees_propose_everything_and_the_reason_says_so() -> None:
    config = _config()
    few = auto.choose(config, config.build_space(), auto.GP_MAX_POINTS, 10)
    many = auto.choose(config, config.build_space(), auto.GP_MAX_POINTS + 1, 10)
    assert [p.components["surrogate"].name for p in few.parts] == ["gp", "xgboost"]
    assert [p.components["surrogate"].name for p in many.parts] == ["xgboost"]
    assert any(str(auto.GP_MAX_POINTS) in reason for reason in many.reasons)


def test_the_auto_preset_is_first_and_the_original_hytnas_search_stays_named_as_such() -> None:
    assert next(iter(PRESETS)) == "auto"
    assert PRESETS["auto"].auto is True
    assert PRESETS["hytnas"].label == "HyT-NAS original" and PRESETS["hytnas"].auto is False
    config = _config()
    assert config.auto is True
    assert type(config).from_dict(config.to_dict()) == config


def test_an_auto_proposal_repeats_no_measured_or_in_flight_architecture_and_records_its_choice() -> None:
    config = _config()
    X, Y = _measured(config, 30)
    space = config.build_space()
    in_flight = np.random.default_rng(7).random((5, space.n_vars))
    proposal = propose(config, X, Y, seed=11, pending=in_flight)
    assert len(proposal) == 10
    taken = set(space.keys(space.canonicalize(X))) | set(space.keys(space.canonicalize(in_flight)))
    assert len(set(proposal.keys)) == 10 and not taken & set(proposal.keys)
    recorded = proposal.diagnostics["auto"]
    assert [p["size"] for p in recorded["parts"]] == recorded["proposed"] and sum(recorded["proposed"]) == 10
    reference = config.reference_point()
    assert reference is not None
    readings = auto.read(to_minimisation(Y, config.objectives), reference.as_array(), 10)
    assert (recorded["stalled"], recorded["collapsed"]) == (readings.stalled, readings.collapsed)
    assert 0.0 <= recorded["fit_error"] < 1.0
    readings = auto.Readings(readings.stalled, readings.collapsed, recorded["fit_error"])
    again_chosen = auto.choose(config, space, 30, 10, readings)
    assert recorded["reasons"] == list(again_chosen.reasons)
    again = propose(config, X, Y, seed=11, pending=in_flight)
    assert again.keys == proposal.keys  # same data, same seed: same batch


def test_a_study_run_by_auto_never_proposes_an_architecture_twice() -> None:
    config = _config(budget=80)
    evaluator = config.build_evaluator()
    optimizer = Optimizer(config)
    while optimizer.n_evaluated < config.budget:
        proposal = optimizer.ask()
        optimizer.tell(proposal.X, _evaluate(config, evaluator, proposal.X))
    keys = optimizer.space.keys(optimizer.X)
    assert len(keys) == len(set(keys)) == config.budget


def test_a_non_boolean_auto_flag_is_refused_naming_the_field() -> None:
    from search_engine.errors import ConfigError

    with pytest.raises(ConfigError) as error:
        _config().with_changes(auto="yes").validate()
    assert error.value.field == "auto"


def _readings(choice: auto.Choice) -> list[tuple[str, str, int]]:
    return [(p.components["surrogate"].name, p.components["acquisition"].name, p.size) for p in choice.parts]


@pytest.mark.parametrize("fit_error", [None, 0.5])
def test_a_stalled_search_explores_at_the_gaussian_processs_confidence_bound(fit_error: float | None) -> None:
    config = _config()
    space = config.build_space()
    going = auto.choose(config, space, 100, 10, auto.Readings(fit_error=fit_error))
    assert _readings(going) == [("gp", "identity", 7), ("xgboost", "identity", 3)]
    stalled = auto.choose(config, space, 100, 10, auto.Readings(stalled=True, fit_error=fit_error))
    assert _readings(stalled) == [("gp", "identity", 5), ("gp", "ucb", 2), ("xgboost", "identity", 3)]
    parts = stalled.parts
    assert parts[1].components["acquisition"].params == {"beta": auto.CONFIDENCE_BOUND_BETA}
    assert parts[1].components["surrogate"] == parts[0].components["surrogate"]  # one GP, two readings
    assert any("raised the measured front" in reason for reason in stalled.reasons)
    small = auto.choose(
        config, space, 100, 2, auto.Readings(stalled=True, fit_error=fit_error)
    ).parts  # no point to spare for exploring
    assert [p.components["acquisition"].name for p in small] == ["identity", "identity"]


def test_a_gaussian_process_that_predicts_its_measurements_proposes_without_the_trees() -> None:
    config = _config()
    space = config.build_space()
    smooth = auto.choose(config, space, 100, 10, auto.Readings(fit_error=auto.SMOOTH_FIT_ERROR))
    assert _readings(smooth) == [("gp", "identity", 10)]
    assert any(f"{auto.SMOOTH_FIT_ERROR:.1%} of the worst objective's variance" in r for r in smooth.reasons)
    assert _readings(auto.choose(config, space, 100, 10, auto.Readings(stalled=True, fit_error=0.001))) == [
        ("gp", "identity", 8),
        ("gp", "ucb", 2),
    ]
    rugged = auto.choose(config, space, 100, 10, auto.Readings(fit_error=0.4))
    assert _readings(rugged) == [("gp", "identity", 7), ("xgboost", "identity", 3)]
    assert any("40% of the worst objective's variance unexplained" in r for r in rugged.reasons)
    assert smooth.to_dict()["fit_error"] == auto.SMOOTH_FIT_ERROR and rugged.to_dict()["fit_error"] == 0.4


@pytest.mark.parametrize(("problem", "trees"), [("zdt1", False), ("dtlz1", True)])
def test_auto_brings_in_the_trees_where_the_gaussian_process_cannot_predict_the_measurements(
    problem: str, trees: bool
) -> None:
    """ZDT1 is smooth and the GP predicts every measurement from the others; DTLZ1's ripples it cannot."""
    config = _config(problem)
    X, Y = _measured(config, 60)
    recorded = propose(config, X, Y, seed=2).diagnostics["auto"]
    labels = [p["label"] for p in recorded["parts"]]
    assert ("boosted trees" in labels) is trees
    assert (recorded["fit_error"] > auto.SMOOTH_FIT_ERROR) is trees


def test_a_search_has_stalled_when_two_batches_left_the_hypervolume_about_where_it_was() -> None:
    reference = np.array([2.0, 2.0])
    front = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    dominated = np.full((2 * 10, 2), 1.5)
    assert auto.has_stalled(np.vstack([front, dominated]), reference, 10)
    improving = np.vstack([front, dominated[:-1], [[0.2, 0.2]]])  # the last measurement moves the front
    assert not auto.has_stalled(improving, reference, 10)
    creeping = np.vstack([front, dominated[:-1], [[0.5, 0.4999]]])  # a gain far below 0.01 %
    assert auto.has_stalled(creeping, reference, 10)
    assert not auto.has_stalled(np.vstack([front, dominated[:-4]]), reference, 10)  # too few yet to tell
    # A gain of about 0.05 %: progress on a front that spans the box, a stall on a collapsed one.
    closing_in = np.vstack([front, dominated[:-1], [[0.5, 0.497]]])
    assert not auto.has_stalled(closing_in, reference, 10)
    assert auto.has_stalled(closing_in, reference, 10, auto.COLLAPSED_STALL_GAIN)
    assert not auto.read(closing_in, reference, 10).stalled


def test_a_collapsed_front_counts_a_slow_creep_as_a_stall() -> None:
    """DTLZ4's stuck seeds creep along the corner they sit at; at the spanning front's threshold that
    would count as progress, and the ends would never be proposed."""
    reference = np.array([2.0, 2.0])
    corner = np.array([[1.0, 0.0], [1.0001, 0.0]])
    creeping = np.vstack([corner, np.full((19, 2), 1.5), [[0.9997, 0.0]]])
    gain = hypervolume(creeping, reference) / hypervolume(creeping[:-20], reference) - 1.0
    assert auto.STALL_GAIN < gain <= auto.COLLAPSED_STALL_GAIN
    readings = auto.read(creeping, reference, 10)
    assert readings.collapsed and readings.stalled


def test_an_auto_proposal_explores_once_the_measured_front_stops_moving() -> None:
    config = _config()
    X, Y = _measured(config, 30)
    on_front = np.array([[x1] + [0.0] * (X.shape[1] - 1) for x1 in (0.1, 0.5)])  # ZDT1's Pareto set
    X = np.vstack([X, on_front])
    Y = np.vstack([Y, _evaluate(config, config.build_evaluator(), on_front)])
    going = propose(config, X, Y, seed=5).diagnostics["auto"]
    assert not going["stalled"] and [p["label"] for p in going["parts"]] == ["Gaussian process"]
    X_dominated = np.random.default_rng(4).random((20, X.shape[1]))
    Y_dominated = np.full((20, 2), Y.max() + 1.0)  # 20 more measurements, none of them on the front
    stalled = propose(config, np.vstack([X, X_dominated]), np.vstack([Y, Y_dominated]), seed=5)
    recorded = stalled.diagnostics["auto"]
    assert (
        recorded["stalled"] and recorded["fit_error"] > auto.SMOOTH_FIT_ERROR
    )  # a flat plateau among slopes
    assert not recorded["collapsed"]  # two ends of the front measured
    labels = [p["label"] for p in recorded["parts"]]
    assert labels == ["Gaussian process", "Gaussian process, confidence bound", "boosted trees"]
    assert recorded["proposed"] == [5, 2, 3]


def test_the_gaussian_process_interpolates_only_when_the_evaluator_measures_exactly() -> None:
    exact = _config()
    evaluator = ComponentSpec("benchmark", {**exact.evaluator.params, "noise_std": 0.1})
    noisy = exact.with_changes(evaluator=evaluator).validate()
    assert auto.measurements_exact(exact) and not auto.measurements_exact(noisy)
    for config, noise_max in ((exact, auto.EXACT_NOISE_MAX), (noisy, None)):
        choice = auto.choose(config, config.build_space(), 100, 10)
        gp = choice.parts[0].components["surrogate"]
        assert gp.name == "gp" and gp.params.get("noise_max") == noise_max
    exact_reasons = " ".join(auto.choose(exact, exact.build_space(), 100, 10).reasons)
    noisy_reasons = " ".join(auto.choose(noisy, noisy.build_space(), 100, 10).reasons)
    assert "measurements are exact" in exact_reasons and "passes through every one" in exact_reasons
    assert "may vary from run to run" in noisy_reasons and "noise" in noisy_reasons


def test_a_front_collapsed_to_one_point_is_told_from_one_that_spans_the_box() -> None:
    reference = np.array([2.0, 1.0])
    corner = np.array([[1.0, 0.0], [1.001, 0.0], [1.5, 0.5], [3.0, 0.1]])  # DTLZ4 stuck at a corner
    assert auto.front_collapsed(corner, reference)
    spread = np.vstack([corner, [[0.5, 0.5]]])  # a second end of the front
    assert not auto.front_collapsed(spread, reference)
    assert auto.front_collapsed(np.array([[3.0, 3.0]]), reference)  # nothing inside the box
    readings = auto.read(corner, reference, 10)
    assert readings.collapsed and not readings.stalled and readings.fit_error is None  # too few to tell


def test_a_stalled_search_at_one_point_of_the_front_explores_the_ends_of_the_optimistic_front() -> None:
    config = _config()
    space = config.build_space()
    stuck = auto.choose(config, space, 100, 10, auto.Readings(stalled=True, collapsed=True, fit_error=0.2))
    ends = stuck.parts[1]
    assert ends.label == "Gaussian process, confidence bound, front ends" and ends.size == 2
    assert (ends.components["acquisition"].name, ends.components["selection"].name) == ("ucb", "ends")
    assert any("collapsed to one point" in reason for reason in stuck.reasons)
    assert stuck.to_dict()["collapsed"] is True
    not_stalled = auto.choose(config, space, 100, 10, auto.Readings(collapsed=True, fit_error=0.2))
    assert all(p.components["selection"].name == "hvi" for p in not_stalled.parts)


def test_an_auto_proposal_stuck_at_a_corner_of_dtlz4_proposes_the_other_end() -> None:
    """Every measurement at DTLZ4's f2 = 0 corner: the ends part proposes points reaching towards f1 = 0."""
    config = _config("dtlz4")
    rng = np.random.default_rng(8)
    X = np.column_stack([0.9 * rng.random(60), 0.5 + 0.1 * (rng.random((60, 5)) - 0.5)])  # x1 < 0.9: f2 ~ 0
    Y = _evaluate(config, config.build_evaluator(), X)
    assert Y[:, 1].max() < 1e-3
    proposal = propose(config.with_changes(ref_point=(2.0, 1.0)), X, Y, seed=1)
    recorded = proposal.diagnostics["auto"]
    assert recorded["stalled"] and recorded["collapsed"]
    labels = [p["label"] for p in recorded["parts"]]
    assert "Gaussian process, confidence bound, front ends" in labels


def test_the_gaussian_process_parts_discount_overshoots_past_the_best_measured_values() -> None:
    """The GP's parts read predictions past an objective's best with ``beyond_best_std``; the trees'
    part (no std) and the ends (which exist to go past the best) read them as they are."""
    config = _config()
    space = config.build_space()
    rugged = auto.choose(config, space, 100, 10, auto.Readings(stalled=True, fit_error=0.4))
    stuck = auto.choose(config, space, 100, 10, auto.Readings(stalled=True, collapsed=True, fit_error=0.4))
    selections = {p.label: p.components["selection"] for p in (*rugged.parts, *stuck.parts)}
    discounted = ComponentSpec("hvi", {"beyond_best_std": auto.BEYOND_BEST_STD})
    assert selections == {
        "Gaussian process": discounted,
        "Gaussian process, confidence bound": discounted,
        "Gaussian process, confidence bound, front ends": ComponentSpec("ends"),
        "boosted trees": ComponentSpec("hvi"),
    }
    assert any(f"mean plus {auto.BEYOND_BEST_STD:g} standard deviations" in r for r in rugged.reasons)
    assert auto.gp_components(config)["selection"] == discounted


def _descent_steps(choice: auto.Choice) -> dict[str, int]:
    return {p.label: p.components["solver"].params.get("descent_steps", 0) for p in choice.parts}


def test_the_gaussian_process_descends_onto_its_front_only_in_a_continuous_space_it_fits_smoothly() -> None:
    config = _config()
    space = config.build_space()
    smooth = auto.choose(config, space, 100, 10, auto.Readings(stalled=True, fit_error=0.001))
    assert _descent_steps(smooth) == {
        "Gaussian process": auto.GP_DESCENT_STEPS,
        "Gaussian process, confidence bound": 0,
    }
    assert any(f"{auto.GP_DESCENT_STEPS} steps of common gradient descent" in r for r in smooth.reasons)
    for readings in (auto.Readings(fit_error=0.4), auto.Readings()):  # rugged, or not fitted yet
        unsure = auto.choose(config, space, 100, 10, readings)
        assert set(_descent_steps(unsure).values()) == {0}
        assert not any("gradient descent" in r for r in unsure.reasons)
    discrete = auto.choose(config, HyTNASSpace(), 100, 10, auto.Readings(fit_error=0.001))
    assert set(_descent_steps(discrete).values()) == {0}


def test_a_descending_auto_proposal_lands_on_zdt1s_pareto_set() -> None:
    """ZDT1's Pareto set is x1..x5 = 0: the GP part's proposals reach it exactly once it fits smoothly."""
    config = _config(batch_size=10)
    X, Y = _measured(config, 60, seed=4)
    proposal = propose(config, X, Y, seed=0, batch_size=10)
    choice = proposal.diagnostics["auto"]
    assert choice["fit_error"] <= auto.SMOOTH_FIT_ERROR
    assert any("gradient descent" in r for r in choice["reasons"])
    on_face = np.all(proposal.X[:, 1:] == 0.0, axis=1)
    assert on_face.sum() >= 5, proposal.X.round(3)
