"""Contract suites shared by every entry of a registry.

Each ``check_*`` function states what any component of a kind must do; ``test_contracts.py``
parametrises them over every registered key, so a new component is checked the moment it is
registered.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import numpy as np
import pytest

from search_engine.component import Component
from search_engine.config import ComponentSpec, StudyConfig
from search_engine.errors import ConfigError
from search_engine.objectives import Objective
from search_engine.optimizer import initial_design, propose
from search_engine.params import Param
from search_engine.registry import PENDING, SAMPLERS, SELECTORS, SOLVERS, SURROGATES, Registry
from search_engine.selection.base import SelectionInput
from search_engine.solvers.base import SurrogateProblem
from search_engine.spaces.base import SearchSpace
from search_engine.spaces.hytnas import HyTNASSpace
from tests.engine.evaluators import tables

FAST_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "surrogate": {
        "mix": {"surrogates": [{"name": "xgboost", "params": {}}, {"name": "gp", "params": {}}]},
        "mlp-ensemble": {"n_members": 2, "epochs": 20},
        "bnn": {"epochs": 30},
    },
    "solver": {
        "nsga2": {"pop_size": 20, "n_gen": 5},
        "moead": {"pop_size": 20, "n_gen": 5},
        "parego": {"n_weights": 2, "n_gen": 5},
    },
}
"""Small settings that keep contract tests fast without changing what is checked."""


def build(kind: str, key: str) -> Any:
    registry = {
        "surrogate": SURROGATES,
        "solver": SOLVERS,
        "selection": SELECTORS,
        "sampler": SAMPLERS,
        "pending": PENDING,
    }[kind]
    return registry.build(key, FAST_PARAMS.get(kind, {}).get(key, {}), kind)


def check_surrogate(key: str, X: np.ndarray, Y: np.ndarray) -> None:
    """Shapes, std >= 0 exactly when provided, the same output for the same seed, the mean alone
    (what a solver reads when its acquisition needs no std) equal to the mean of ``predict``, and a
    leave-one-out error, where given, of one finite non-negative share per objective."""
    X_new = np.random.default_rng(1).random((7, X.shape[1]))
    outputs = []
    for _ in range(2):
        surrogate = build("surrogate", key)
        surrogate.fit(X, Y, np.random.default_rng(3))
        mean, std = surrogate.predict(X_new)
        assert mean.shape == (7, Y.shape[1])
        assert np.all(np.isfinite(mean))
        if surrogate.provides_std:
            assert std is not None and std.shape == mean.shape and np.all(std >= 0)
        else:
            assert std is None
        np.testing.assert_allclose(surrogate.predict_mean(X_new), mean, rtol=1e-9, atol=1e-12)
        assert surrogate.predict_mean(X_new[:0]).shape == (0, Y.shape[1])
        errors = surrogate.leave_one_out_error()
        assert errors is None or (
            errors.shape == (Y.shape[1],) and np.all(np.isfinite(errors) & (errors >= 0))
        )
        outputs.append((mean, std))
    np.testing.assert_allclose(outputs[0][0], outputs[1][0], rtol=1e-6, atol=1e-9)


def check_sampler(key: str, space: SearchSpace, n: int) -> None:
    """n distinct architectures, canonical points, deterministic for a seed, exclusions honoured."""
    sampler = build("sampler", key)
    X = sampler.sample(space, n, np.random.default_rng(5))
    assert X.shape == (n, space.n_vars)
    np.testing.assert_array_equal(space.canonicalize(X), X)
    keys = space.keys(X)
    assert len(set(keys)) == n
    np.testing.assert_array_equal(sampler.sample(space, n, np.random.default_rng(5)), X)
    excluded = set(keys[: n // 2])
    again = sampler.sample(space, n, np.random.default_rng(5), exclude=excluded)
    assert not excluded & set(space.keys(again))


def check_solver(key: str) -> None:
    """Final population inside the cube, canonical, distinct architectures, same for a seed."""
    space = HyTNASSpace()

    def evaluate(X: np.ndarray) -> np.ndarray:  # two conflicting cheap objectives
        return np.column_stack([X.sum(axis=1), (1 - X).sum(axis=1) + 0.1 * X[:, 0]])

    problem = SurrogateProblem(space.n_vars, 2, evaluate, space.canonicalize)
    solver = build("solver", key)
    initial = space.sample_uniform(5, np.random.default_rng(0))
    X = solver.solve(problem, initial, np.random.default_rng(9))
    assert X.ndim == 2 and X.shape[1] == space.n_vars and X.shape[0] >= 1
    assert np.all((X >= 0) & (X <= 1))
    np.testing.assert_array_equal(space.canonicalize(X), X)
    np.testing.assert_array_equal(solver.solve(problem, initial, np.random.default_rng(9)), X)


def check_selector(key: str, n_candidates: int, batch: int) -> None:
    """Exactly min(batch, n) distinct indices, deterministic for a seed."""
    rng = np.random.default_rng(2)
    mean = rng.random((n_candidates, 2))
    candidates = SelectionInput(
        X=rng.random((n_candidates, 3)),
        mean=mean,
        std=0.1 + rng.random((n_candidates, 2)),
        Y_measured=rng.random((15, 2)) + 0.3,
        ref_point=np.array([2.0, 2.0]),
    )
    selector = build("selection", key)
    chosen = selector.select(candidates, batch, np.random.default_rng(4))
    assert len(chosen) == min(batch, n_candidates) == len(set(chosen.tolist()))
    np.testing.assert_array_equal(selector.select(candidates, batch, np.random.default_rng(4)), chosen)


def check_pending(key: str) -> None:
    """None, or finite believed values with one row per in-flight point; the same for the same inputs."""
    rng = np.random.default_rng(6)
    Y_min, X_pending = rng.random((10, 2)), rng.random((4, 3))

    def predict(points: np.ndarray) -> np.ndarray:
        return np.column_stack([points.sum(axis=1), 1 - points[:, 0]])  # (m, 2)

    strategy = build("pending", key)
    believed = strategy.fantasies(Y_min, X_pending, predict)
    if believed is None:
        assert strategy.fantasies(Y_min, X_pending, predict) is None
        return
    assert believed.shape == (4, 2) and np.all(np.isfinite(believed))
    np.testing.assert_array_equal(strategy.fantasies(Y_min, X_pending, predict), believed)


def check_proposal_avoids_points_in_flight(key: str) -> None:
    """A proposal made while points are in flight holds none of them, nor a measured one."""
    space_spec = ComponentSpec(
        "generic", {"variables": [{"name": f"x{i}", "type": "int", "low": 0, "high": 4} for i in range(3)]}
    )
    config = StudyConfig(
        space=space_spec,
        evaluator=ComponentSpec("benchmark", {"problem": "zdt1", "n_var": 3}),
        objectives=(Objective("f1"), Objective("f2")),
        ref_point=(1.1, 11.0),
        solver=ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 5}),
        pending=ComponentSpec(key),
        n_init=10,
        budget=60,
    )
    space = config.build_space()
    X = initial_design(config, 12, 0)
    Y = np.column_stack([X[:, 0], 1 + X.sum(axis=1) - np.sqrt(X[:, 0])])  # (12, 2)
    in_flight = propose(config, X, Y, seed=1, batch_size=8).X
    proposal = propose(config, X, Y, seed=2, batch_size=8, pending=in_flight)
    assert len(proposal) == 8 == len(set(proposal.keys))
    assert not set(proposal.keys) & (set(space.keys(X)) | set(space.keys(in_flight)))
    again = propose(config, X, Y, seed=2, batch_size=8, pending=in_flight)
    assert again.keys == proposal.keys


CONSTRUCTION_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "evaluator": {
        "table": {
            "tables": [{"text": tables.header_csv(n=20), "name": "measured"}],
            "objectives": tables.OBJECTIVES,
            "space": tables.SPACE,
        }
    },
}
"""What a component needs beyond its defaults to be constructed: a table evaluator needs a table."""


def check_parameters_are_declared_once(cls: type[Component]) -> None:
    """The constructor's keywords, their defaults and the schema are the same declarations."""
    schema = cls.schema()
    keywords = inspect.signature(cls).parameters
    assert list(keywords) == [p.name for p in schema]
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for spec in schema:
        declared = by_name[spec.name]
        default = declared.default_factory() if declared.default is dataclasses.MISSING else declared.default
        assert default == spec.default, f"{cls.__name__}.{spec.name}"
        assert spec.help and spec.kind in ("int", "float", "bool", "choice", "str", "json")
        assert (spec.kind == "choice") == bool(spec.choices)
        assert spec.default is not None or spec.optional


def check_defaults_construct(registry: Registry[Any], key: str) -> None:
    """Every default passes its own validation and the class constructs from defaults (plus data)."""
    cls = registry.load(key)
    for spec in cls.schema():
        assert spec.validate(spec.default, spec.name) == spec.default
    extra = CONSTRUCTION_PARAMS.get(registry.kind, {}).get(key, {})
    built = cls(**extra)
    assert isinstance(built, registry.base)
    # JSON parameters are stored parsed (a space's variables as Variable objects), so only the
    # scalar ones are compared with their JSON defaults.
    defaults = {p.name: p.default for p in cls.schema() if p.name not in extra and p.kind != "json"}
    assert {name: built.param_values()[name] for name in defaults} == defaults
    assert registry.build(key, extra).param_values() == built.param_values()


def out_of_bounds(spec: Param) -> list[Any]:
    """Values ``spec`` must refuse: beyond each bound, outside the choices, of the wrong type."""
    values: list[Any] = []
    step = 1 if spec.kind == "int" else 1e-3 * max(1.0, abs(spec.low or 0.0), abs(spec.high or 0.0))
    if spec.low is not None:
        values.append(spec.low - step)
    if spec.high is not None:
        values.append(spec.high + step)
    if spec.kind == "choice":
        values.append("not-one-of-the-choices")
    if spec.kind in ("int", "float", "bool"):
        values.append("text")
    if spec.kind == "str":
        values.append(3)
    if not spec.optional and spec.kind != "json":
        values.append(None)
    return values


def check_out_of_bounds_values_are_refused(registry: Registry[Any], key: str) -> None:
    """Direct construction and the registry both refuse a bad value, naming its field."""
    cls = registry.load(key)
    extra = CONSTRUCTION_PARAMS.get(registry.kind, {}).get(key, {})
    for spec in cls.schema():
        for value in out_of_bounds(spec):
            with pytest.raises(ConfigError) as direct:
                cls(**{**extra, spec.name: value})
            assert direct.value.field == f"{registry.kind}.params.{spec.name}", (key, spec.name, value)
            with pytest.raises(ConfigError) as built:
                registry.build(key, {**extra, spec.name: value}, "chosen")
            assert built.value.field == f"chosen.params.{spec.name}", (key, spec.name, value)
