"""The MOBO optimizer: stateless functions plus a small ask/tell wrapper.

``propose(config, X, Y, seed, pending=X_pending)`` runs one iteration of DESIGN.md's loop — fit a
surrogate per objective, wrap it in the acquisition, solve the surrogate problem seeded with the best
measured points, select a batch — and returns a :class:`Proposal`. Nothing is kept between calls: the
same configuration, data, in-flight points and seed always give the same proposal, so a crashed job
can simply run again.

In-flight points (proposed, not yet measured) are never proposed again; the configured pending
strategy (``config.pending``, see ``search_engine.pending``) decides whether they also join the fit
and the measured front with believed values, so that a proposal made while workers are busy does not
crowd next to what they are measuring.

Data conventions at this boundary: ``X`` holds cube points of every architecture evaluated so far
(failed ones included, so they are never proposed again); ``Y`` holds their measured objective
values in each objective's own units and direction, with a row of NaN for a failed evaluation.
Predictions in the returned proposal use the same units.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from search_engine import auto
from search_engine.config import StudyConfig
from search_engine.constraints import KnownBounds, known_bounds, sample_feasible
from search_engine.errors import ConfigError
from search_engine.feasibility.measured import (
    Prediction,
    candidate_pool,
    fit_measured_bounds,
    measured_constraints,
    measured_feasible,
)
from search_engine.metrics.pareto import non_dominated_ranks
from search_engine.objectives import (
    ReferencePoint,
    derive_reference_point,
    from_minimisation,
    to_minimisation,
)
from search_engine.references import reference_points
from search_engine.selection.base import SelectionInput
from search_engine.solvers.base import SurrogateProblem
from search_engine.spaces.base import SearchSpace
from search_engine.surrogates.base import Surrogate
from search_engine.types import Array, Proposal

MIN_POINTS_TO_FIT = 2
"""Below this many finite measurements no surrogate is fitted and the batch is sampled instead."""

_STREAM = {"initial": 0, "fit": 1, "solve": 2, "select": 3, "top-up": 4, "pending": 5, "feasibility": 6}
"""Independent random streams per phase, so changing one phase never shifts another's draws."""


def phase_rng(seed: int, phase: str) -> np.random.Generator:
    """The generator of one phase of an iteration seeded with ``seed``."""
    return np.random.default_rng([seed, _STREAM[phase]])


def iteration_seed(study_seed: int, iteration: int) -> int:
    """The seed of iteration ``iteration`` of a study seeded with ``study_seed``."""
    return int(np.random.SeedSequence([study_seed, iteration]).generate_state(1)[0])


def initial_design(
    config: StudyConfig, n: int | None = None, seed: int | None = None, exclude: Any = ()
) -> Array:
    """``(n, n_vars)`` canonical points of ``n`` distinct architectures from the configured sampler.

    Args:
        config: the study (its space and sampler are used).
        n: how many; defaults to ``config.n_init``.
        seed: defaults to ``config.seed``.
        exclude: keys of architectures that must not be drawn (already measured).

    With bounds known before measuring (``config.constraints``), only architectures meeting them
    are drawn, by rejection from the sampler. The evaluator's reference architectures
    (``references.py``), when it measures any, come first and count towards ``n``.

    Raises:
        FeasibleDesignError: (a ConfigError at ``constraints``) when so few sampled architectures
            meet the known bounds that the design cannot be filled within the draws allowed.
    """
    space = config.build_space()
    sampler = config.build_sampler()
    count = config.n_init if n is None else n
    exclude = set(exclude)
    references = reference_points(config, space, exclude)[:count]  # (k, n_vars)
    if len(references):
        count -= len(references)
        exclude |= set(space.keys(references))
    rng = phase_rng(config.seed if seed is None else seed, "initial")
    bounds = known_bounds(config, space)
    if bounds is None:
        X: Array = sampler.sample(space, count, rng, exclude=exclude)
    else:
        X = sample_feasible(
            bounds, lambda k, seen: sampler.sample(space, k, rng, exclude=seen), count, exclude, required=True
        )
    return np.vstack([references, X]) if len(references) else X


def propose(
    config: StudyConfig,
    X: Array,
    Y: Array,
    seed: int,
    batch_size: int | None = None,
    pending: Array | None = None,
    measured: dict[str, Array] | None = None,
) -> Proposal:
    """One optimizer iteration: the next batch of distinct architectures, neither measured nor in flight.

    Args:
        config: the study configuration (validated here).
        X: ``(n, n_vars)`` every evaluated point, failed ones included.
        Y: ``(n, n_objectives)`` measured values in the objectives' own units; NaN rows = failed.
        seed: the iteration's seed (see ``iteration_seed``).
        batch_size: defaults to ``config.batch_size``.
        pending: ``(m, n_vars)`` points proposed earlier and still being measured (None: none).
        measured: measured values of constrained quantities other than objectives (a stage's
            latency, a metric), each ``(n,)`` aligned with ``X`` (NaN where not reported). With
            bounds known only after measuring, a surrogate per such quantity and the configured
            feasibility rule keep the batch to candidates likely to meet them, and the front the
            selector improves on holds the feasible measurements only.

    Returns:
        A Proposal of up to ``batch_size`` architectures (fewer only when the space runs out).
        With ``config.auto``, its diagnostics say what was chosen and why (``"auto"``).
    """
    config.validate()
    if config.auto:
        return _auto_proposal(config, X, Y, seed, batch_size, pending, measured)
    return _proposal(config, X, Y, seed, batch_size, pending, measured, _Fits())


def _proposal(
    config: StudyConfig,
    X: Array,
    Y: Array,
    seed: int,
    batch_size: int | None,
    pending: Array | None,
    measured: dict[str, Array] | None,
    fits: _Fits,
) -> Proposal:
    """``propose`` for a validated configuration of fixed components; ``fits`` may hold earlier fits."""
    started = time.perf_counter()
    space: SearchSpace = config.build_space()
    X, Y = data_rows(space, config, X, Y)
    X_pending = _check_pending(space, pending)
    batch = config.batch_size if batch_size is None else batch_size
    if batch < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch}")
    bounds = known_bounds(config, space)
    excluded_keys = set(space.keys(X)) if X.shape[0] else set()
    excluded_keys.update(space.keys(X_pending) if X_pending.shape[0] else [])
    finite = np.all(np.isfinite(Y), axis=1)
    Y_min = to_minimisation(Y[finite], config.objectives)  # (n_finite, n_objectives)
    X_fit = space.canonicalize(X[finite]) if finite.any() else X[finite]
    diagnostics: dict[str, Any] = {
        "n_measured": int(X.shape[0]),
        "n_failed_ignored": int((~finite).sum()),
        "n_pending": int(X_pending.shape[0]),
        "objectives": [o.to_dict() for o in config.objectives],
    }
    if X_fit.shape[0] < MIN_POINTS_TO_FIT:
        return _sampled_proposal(config, space, bounds, excluded_keys, batch, seed, started, diagnostics)

    reference = config.reference_point() or derive_reference_point(Y_min)
    timings: dict[str, float] = {}
    believer = None
    n_fit = X_fit.shape[0]  # rows measured; believed in-flight rows may follow
    if X_pending.shape[0]:
        tick = time.perf_counter()
        X_fit, Y_min, believer = _with_pending(config, X_fit, Y_min, X_pending, seed, diagnostics, fits)
        timings["pending"] = time.perf_counter() - tick
    tick = time.perf_counter()
    extended = believer.extended(X_fit[n_fit:], Y_min[n_fit:]) if believer is not None else None
    surrogate = extended or fits.fitted(config, X_fit, Y_min, phase_rng(seed, "fit"))
    timings["fit"] = time.perf_counter() - tick

    Y_front = Y_min
    after = measured_constraints(config)
    predicted_bounds = None
    if after:
        tick = time.perf_counter()
        values = {name: np.asarray(v, dtype=np.float64)[finite] for name, v in (measured or {}).items()}
        n_measured = int(finite.sum())  # believed in-flight rows follow the measured ones in Y_min
        ok = measured_feasible(config, Y[finite], values, after)
        Y_front = np.vstack([Y_min[:n_measured][ok], Y_min[n_measured:]])
        predicted_bounds = fit_measured_bounds(
            config, after, X_fit[:n_measured], values, surrogate, phase_rng(seed, "feasibility")
        )
        diagnostics["measured_bounds_steering"] = predicted_bounds.steering if predicted_bounds else []
        timings["fit"] += time.perf_counter() - tick

    tick = time.perf_counter()
    steer = predicted_bounds.solver_violations() if predicted_bounds is not None else None
    population = _solve(config, space, surrogate, X_fit, Y_min, seed, bounds, steer)
    timings["solve"] = time.perf_counter() - tick

    tick = time.perf_counter()
    candidates, keys, origin = _candidates(space, bounds, population, excluded_keys, batch, seed, diagnostics)
    mean, std = surrogate.predict(candidates) if candidates.shape[0] else (np.empty((0, Y.shape[1])), None)
    pool = np.arange(candidates.shape[0])
    if predicted_bounds is not None and candidates.shape[0]:
        prediction = Prediction(mean, std, surrogate.predicts_values)
        probability = predicted_bounds.probability(candidates, prediction)
        pool = candidate_pool(probability, config.build_feasibility().min_probability, batch)
        diagnostics["n_likely_infeasible_passed_over"] = int(candidates.shape[0] - pool.shape[0])
    selector = config.build_selector()
    picked = selector.select(
        SelectionInput(
            candidates[pool], mean[pool], None if std is None else std[pool], Y_front, reference.as_array()
        ),
        batch,
        phase_rng(seed, "select"),
    )
    chosen = pool[picked]
    timings["select"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - started

    diagnostics.update(
        reference_point=reference.to_dict(),
        n_population=int(population.shape[0]),
        n_candidates=int(candidates.shape[0]),
        n_topped_up=int(sum(o == "top-up" for o in origin)),
        provides_std=bool(surrogate.provides_std),
        predicts_values=bool(surrogate.predicts_values),
    )
    X_out = candidates[chosen]
    std_out = None if std is None else std[chosen]
    return Proposal(
        X=X_out,
        architectures=space.decode(X_out),
        keys=[keys[i] for i in chosen],
        mean=from_minimisation(mean[chosen], config.objectives),
        std=std_out,
        origin=[origin[i] for i in chosen],
        timings=timings,
        diagnostics=diagnostics,
    )


class _Fits:
    """Surrogates fitted during one proposal, by specification and data, each fitted once.

    ``auto``'s parts fit the same surrogate on the same measurements, and a kriging believer fits the
    very model the proposal then conditions on the points in flight: the second asker gets the first
    fit. Fitted surrogates are only read afterwards (``predict``), so sharing one is safe.
    """

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Surrogate] = {}

    def fitted(self, config: StudyConfig, X: Array, Y: Array, rng: np.random.Generator) -> Surrogate:
        """``config``'s surrogate fitted on ``X``, ``Y`` (``rng`` seeds it when it is fitted here)."""
        data = hashlib.sha256(f"{X.shape}{Y.shape}".encode() + X.tobytes() + Y.tobytes()).hexdigest()
        key = (json.dumps(config.surrogate.to_dict(), sort_keys=True), data)
        if key not in self._by_key:
            surrogate = config.build_surrogate()
            surrogate.fit(X, Y, rng)
            self._by_key[key] = surrogate
        return self._by_key[key]


def _auto_proposal(
    config: StudyConfig,
    X: Array,
    Y: Array,
    seed: int,
    batch_size: int | None,
    pending: Array | None,
    measured: dict[str, Array] | None,
) -> Proposal:
    """The batch of ``auto``'s choice: each part proposes its share, conditioned on the parts before.

    An earlier part's picks reach a later part as points in flight, so they are never proposed twice
    and the later part's batch does not crowd next to them; the study's own in-flight points come
    first. The merged proposal's predictions carry a std only when every part's surrogate gives one.
    """
    space: SearchSpace = config.build_space()
    X, Y = data_rows(space, config, X, Y)
    batch = config.batch_size if batch_size is None else batch_size
    finite = np.all(np.isfinite(Y), axis=1)
    Y_min = to_minimisation(Y[finite], config.objectives)
    readings = auto.Readings()
    fits = _Fits()
    started = time.perf_counter()
    if Y_min.shape[0] >= MIN_POINTS_TO_FIT:
        reference = config.reference_point() or derive_reference_point(Y_min)
        fit_error = _gp_fit_error(config, space.canonicalize(X[finite]), Y_min, seed, fits)
        readings = replace(auto.read(Y_min, reference.as_array(), batch), fit_error=fit_error)
    reading = time.perf_counter() - started  # the GP fit the parts then share: "fit" time
    choice = auto.choose(config, space, int(finite.sum()), batch, readings)
    in_flight = _check_pending(space, pending)
    parts: list[Proposal] = []
    for part in choice.parts:
        part_config = config.with_changes(auto=False, **part.components)
        part_config.validate()
        proposal = _proposal(part_config, X, Y, seed, part.size, in_flight, measured, fits)
        in_flight = np.vstack([in_flight, proposal.X])
        parts.append(proposal)
    return _merged(parts, choice, space.n_vars, config.n_objectives, reading)


def _gp_fit_error(config: StudyConfig, X_fit: Array, Y_min: Array, seed: int, fits: _Fits) -> float | None:
    """The worst objective's leave-one-out error of ``auto``'s Gaussian process on the measurements.

    The GP is fitted as its part will fit it (same components, data and seed), so the part reuses
    this fit. None past ``auto.GP_MAX_POINTS``, where no GP part runs.
    """
    if Y_min.shape[0] > auto.GP_MAX_POINTS:
        return None
    gp_config = config.with_changes(auto=False, **auto.gp_components(config))
    errors = fits.fitted(gp_config, X_fit, Y_min, phase_rng(seed, "fit")).leave_one_out_error()
    return None if errors is None else float(errors.max())


def _merged(
    parts: list[Proposal], choice: auto.Choice, n_vars: int, n_objectives: int, reading: float
) -> Proposal:
    """One proposal from the parts' proposals, in part order, with the choice in its diagnostics.

    ``reading``: seconds spent on the choice's readings before the parts ran (mostly the GP fit
    the parts share), counted as fit time.
    """
    first = parts[0]
    means = [p.mean for p in parts]
    stds = [p.std for p in parts]
    timings: dict[str, float] = {"fit": reading, "total": reading}
    for p in parts:
        for phase, seconds in p.timings.items():
            timings[phase] = timings.get(phase, 0.0) + seconds
    diagnostics = {
        **first.diagnostics,
        "n_candidates": sum(int(p.diagnostics.get("n_candidates", 0)) for p in parts),
        "n_topped_up": sum(int(p.diagnostics.get("n_topped_up", 0)) for p in parts),
        "provides_std": all(bool(p.diagnostics.get("provides_std", False)) for p in parts),
        "predicts_values": all(bool(p.diagnostics.get("predicts_values", True)) for p in parts),
        "auto": {
            **choice.to_dict(),
            "proposed": [len(p) for p in parts],
        },
    }
    return Proposal(
        X=np.vstack([p.X for p in parts]) if parts else np.empty((0, n_vars)),
        architectures=[a for p in parts for a in p.architectures],
        keys=[k for p in parts for k in p.keys],
        mean=None if any(m is None for m in means) else np.vstack(means),  # type: ignore[arg-type]
        std=None if any(s is None for s in stds) else np.vstack(stds),  # type: ignore[arg-type]
        origin=[o for p in parts for o in p.origin],
        timings=timings,
        diagnostics=diagnostics,
    )


def data_rows(space: SearchSpace, config: StudyConfig, X: Any, Y: Any) -> tuple[Array, Array]:
    """``(n, n_vars)`` and ``(n, n_objectives)`` float rows of a data set, or a ValueError in words.

    A table whose column count is not the space's variables (``X``) or the study's objectives
    (``Y``) is refused as such: reshaped, its values would silently become other rows (a ``Y`` of 3
    columns for 2 objectives would read as 1.5 times as many rows). A flat sequence is read as
    consecutive rows (one point's values, or several).
    """
    X = _rows(X, space.n_vars, "X", f"the space has {space.n_vars} variables")
    names = ", ".join(o.name for o in config.objectives)
    Y = _rows(Y, config.n_objectives, "Y", f"the study has {config.n_objectives} objectives ({names})")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}: one row of Y per point of X")
    return X, Y


def _rows(values: Any, width: int, name: str, expected: str) -> Array:
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return np.empty((0, width))
    if array.ndim == 2 and array.shape[1] != width:
        raise ValueError(f"{name} has {array.shape[1]} columns but {expected}: one column each")
    if array.ndim > 2 or array.size % width:
        raise ValueError(f"{name} of shape {array.shape} is not rows of {width} values ({expected})")
    return array.reshape(-1, width)


def _check_pending(space: SearchSpace, pending: Array | None) -> Array:
    """``(m, n_vars)`` canonical in-flight points (``(0, n_vars)`` for none)."""
    if pending is None or np.size(pending) == 0:
        return np.empty((0, space.n_vars))
    X_pending = np.asarray(pending, dtype=np.float64)
    if X_pending.ndim != 2 or X_pending.shape[1] != space.n_vars:
        raise ValueError(f"pending must have shape (m, {space.n_vars}), got {X_pending.shape}")
    if not np.all(np.isfinite(X_pending)):
        raise ValueError("pending points must be finite cube points")
    canonical: Array = space.canonicalize(X_pending)
    return canonical


def _with_pending(
    config: StudyConfig,
    X_fit: Array,
    Y_min: Array,
    X_pending: Array,
    seed: int,
    diagnostics: dict[str, Any],
    fits: _Fits,
) -> tuple[Array, Array, Surrogate | None]:
    """The fit data with the in-flight points appended at their believed values, if the strategy says so.

    The believed values also join the measured front the selector reads, which is what keeps a new
    batch away from the points being measured. The reference point stays the measured data's. The
    third value is the surrogate fitted on the measured data to believe them (None if none was).
    """
    diagnostics["pending_strategy"] = config.pending.name
    diagnostics["n_pending_believed"] = 0
    strategy = config.build_pending()
    believers: list[Surrogate] = []

    def predict(points: Array) -> Array:
        if not config.surrogate_capabilities()["predicts_values"]:
            raise ConfigError(
                "pending.params.value",
                f"surrogate {config.surrogate.name!r} ranks rather than predicts values: in-flight points "
                "cannot be believed at its predictions (believe a constant or choose 'ignore')",
            )
        believer = fits.fitted(config, X_fit, Y_min, phase_rng(seed, "pending"))
        believers.append(believer)
        mean, _ = believer.predict(points)
        return mean

    believed = strategy.fantasies(Y_min, X_pending, predict)
    if believed is None:
        return X_fit, Y_min, None
    diagnostics["n_pending_believed"] = int(X_pending.shape[0])
    believer = believers[0] if believers else None
    return np.vstack([X_fit, X_pending]), np.vstack([Y_min, believed]), believer


def _solve(
    config: StudyConfig,
    space: SearchSpace,
    surrogate: Surrogate,
    X_fit: Array,
    Y_min: Array,
    seed: int,
    bounds: KnownBounds | None,
    measured_violations: Callable[[Array], Array] | None = None,
) -> Array:
    """The solver's final population on the acquisition of the fitted surrogate.

    Known bounds reach the solver as constraints (``SurrogateProblem.constraints``), so it searches
    the feasible region; the candidates it returns are filtered again all the same. So do the
    predicted violations of measured bounds (``measured_violations``, from the feasibility rule):
    a solver that ignored them would return a population the rule could only pass over.
    """
    acquisition = config.build_acquisition()
    best = Y_min.min(axis=0)  # (n_objectives,) incumbent per objective

    def evaluate(points: Array) -> Array:
        if acquisition.needs_std:
            mean, std = surrogate.predict(points)
        else:  # the mean alone: a GP's variance would be most of the solver's time
            mean, std = surrogate.predict_mean(points), None
        values: Array = acquisition(mean, std, best)
        return values

    problem = SurrogateProblem(
        space.n_vars,
        Y_min.shape[1],
        evaluate,
        space.canonicalize,
        constraints=_joined(bounds.violations if bounds is not None else None, measured_violations),
    )
    solver = config.build_solver()
    # Seed with the best measured architectures by non-dominated sorting (ties: first objective).
    ranks = non_dominated_ranks(Y_min)
    order = np.lexsort((Y_min[:, 0], ranks))
    seeds = X_fit[order[: solver.population_size]]
    population: Array = solver.solve(problem, seeds, phase_rng(seed, "solve"))
    return population


def _joined(
    known: Callable[[Array], Array] | None, measured: Callable[[Array], Array] | None
) -> Callable[[Array], Array] | None:
    """Known bounds' violations, then the measured bounds' predicted ones, as one constraint function."""
    if known is None or measured is None:
        return known if measured is None else measured
    return lambda points: np.hstack([known(points), measured(points)])


def _candidates(
    space: SearchSpace,
    bounds: KnownBounds | None,
    population: Array,
    excluded: set[str],
    batch: int,
    seed: int,
    diagnostics: dict[str, Any],
) -> tuple[Array, list[str], list[str]]:
    """Distinct feasible architectures of the population not in ``excluded``, topped up to ``batch``.

    Top-ups are uniform draws, feasible ones only when there are known bounds.
    """
    rows, keys = [], []
    seen = set(excluded)
    feasible = bounds.feasible(population) if bounds is not None else np.ones(population.shape[0], bool)
    diagnostics["n_infeasible_dropped"] = int((~feasible).sum())
    for row, key, ok in zip(population, space.keys(population), feasible, strict=True):
        if key not in seen and ok:
            seen.add(key)
            rows.append(row)
            keys.append(key)
    origin = ["solver"] * len(rows)
    if len(rows) < batch:
        extra = _draw(space, bounds, batch - len(rows), phase_rng(seed, "top-up"), seen)
        rows.extend(extra)
        keys.extend(space.keys(extra) if extra.shape[0] else [])
        origin.extend(["top-up"] * extra.shape[0])
    X = np.array(rows, dtype=np.float64).reshape(len(rows), space.n_vars)
    return X, keys, origin


def _draw(
    space: SearchSpace, bounds: KnownBounds | None, n: int, rng: np.random.Generator, exclude: set[str]
) -> Array:
    """Up to ``n`` distinct uniform architectures not in ``exclude``, meeting the known bounds if any."""
    if bounds is None:
        return space.sample_unique(n, rng, exclude=exclude)
    return sample_feasible(bounds, lambda k, seen: space.sample_unique(k, rng, exclude=seen), n, exclude)


def _sampled_proposal(
    config: StudyConfig,
    space: SearchSpace,
    bounds: KnownBounds | None,
    excluded: set[str],
    batch: int,
    seed: int,
    started: float,
    diagnostics: dict[str, Any],
) -> Proposal:
    """Too few finite measurements to fit anything: draw the batch with the initial sampler."""
    sampler, rng = config.build_sampler(), phase_rng(seed, "top-up")
    if bounds is None:
        X = sampler.sample(space, batch, rng, exclude=excluded)
    else:
        X = sample_feasible(
            bounds, lambda k, seen: sampler.sample(space, k, rng, exclude=seen), batch, excluded
        )
    reference = config.reference_point()
    diagnostics.update(
        reason=f"fewer than {MIN_POINTS_TO_FIT} successful evaluations: batch drawn by the initial sampler",
        reference_point=reference.to_dict() if isinstance(reference, ReferencePoint) else None,
        n_population=0,
        n_candidates=int(X.shape[0]),
        n_topped_up=int(X.shape[0]),
    )
    return Proposal(
        X=X,
        architectures=space.decode(X) if X.shape[0] else [],
        keys=space.keys(X) if X.shape[0] else [],
        mean=None,
        std=None,
        origin=["top-up"] * X.shape[0],
        timings={"fit": 0.0, "solve": 0.0, "select": 0.0, "total": time.perf_counter() - started},
        diagnostics=diagnostics,
    )


class Optimizer:
    """Ask/tell wrapper around ``initial_design`` and ``propose`` for scripts and benchmarks.

    It only accumulates the data set and the points still in flight; every ``ask`` is a fresh,
    stateless ``propose`` with the seed of the next ask, exactly what a background job does with rows
    from a database. Asks may overlap: ``ask`` while earlier proposals are untold conditions the new
    one on them (they are never proposed twice), and ``tell`` takes results in any order, a few rows
    at a time. Until the first ``tell`` every ask draws from the initial design.
    """

    def __init__(self, config: StudyConfig) -> None:
        self.config = config.validate()
        self.space: SearchSpace = config.build_space()
        self.X = np.empty((0, self.space.n_vars))
        self.Y = np.empty((0, config.n_objectives))
        self.iteration = 0
        """Asks answered so far; the next ask's seed is ``iteration_seed(config.seed, iteration)``."""
        self._pending: dict[str, Array] = {}
        """Rows asked for and not told yet, by architecture key, in the order they were asked."""
        self._told = False
        self.measured: dict[str, Array] = {}
        """Measured values of constrained non-objective quantities, each ``(n_evaluated,)``."""

    @property
    def n_evaluated(self) -> int:
        """Architectures measured so far, failures included."""
        return int(self.X.shape[0])

    @property
    def n_pending(self) -> int:
        """Architectures asked for and not told yet."""
        return len(self._pending)

    @property
    def pending(self) -> Array:
        """``(n_pending, n_vars)`` points asked for and not told yet, in the order they were asked."""
        if not self._pending:
            return np.empty((0, self.space.n_vars))
        return np.vstack(list(self._pending.values()))

    def ask(self, batch_size: int | None = None) -> Proposal:
        """The next architectures: the initial design until something is told, then optimizer proposals.

        Neither a measured nor an in-flight architecture is proposed again.
        """
        seed = iteration_seed(self.config.seed, self.iteration)
        if not self._told:
            proposal = self._initial(batch_size, seed)
        else:
            proposal = propose(
                self.config, self.X, self.Y, seed, batch_size, pending=self.pending, measured=self.measured
            )
        self.iteration += 1
        for key, row in zip(proposal.keys, proposal.X, strict=True):
            self._pending[key] = row
        return proposal

    def _initial(self, batch_size: int | None, seed: int) -> Proposal:
        count = self.config.n_init if batch_size is None else batch_size
        exclude = set(self._pending)
        exclude.update(self.space.keys(self.X) if self.n_evaluated else [])
        X = initial_design(self.config, count, seed, exclude=exclude or ())
        return Proposal(
            X=X,
            architectures=self.space.decode(X),
            keys=self.space.keys(X),
            mean=None,
            std=None,
            origin=["initial"] * X.shape[0],
            timings={"total": 0.0},
            diagnostics={"initial_design": True},
        )

    def tell(self, X: Array, Y: Array, measured: dict[str, Array] | None = None) -> None:
        """Add measured points (``Y`` in the objectives' own units, NaN rows for failures).

        The rows may be any of the points in flight, in any order, or points measured elsewhere
        (a warm start); each told point stops being in flight. ``measured``: values of constrained
        quantities other than objectives (``latency.backbone``, a metric), one per row; a quantity
        left out is NaN for these rows.
        """
        X, Y = data_rows(self.space, self.config, X, Y)
        X = self.space.canonicalize(X) if X.shape[0] else X
        for key in self.space.keys(X) if X.shape[0] else []:
            self._pending.pop(key, None)
        n_before = self.n_evaluated
        for name in set(self.measured) | set(measured or {}):
            new = np.asarray((measured or {}).get(name, np.full(X.shape[0], np.nan)), dtype=np.float64)
            old = self.measured.get(name, np.full(n_before, np.nan))
            self.measured[name] = np.concatenate([old, new.reshape(X.shape[0])])
        self.X = np.vstack([self.X, X])
        self.Y = np.vstack([self.Y, Y])
        self._told = True
