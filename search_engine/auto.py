"""The ``auto`` optimizer: components chosen at every proposal from the problem's shape, with reasons.

A user who does not know their problem should not have to pick a surrogate, an acquisition, a solver
and a batch strategy. With ``StudyConfig.auto`` set, each proposal asks :func:`choose` what to run,
from what is known before anything is measured (the space, the number of objectives, whether the
evaluator measures exactly) and from the data (its size, and whether the last batches moved the
measured front), and ``propose`` runs it. The study's own surrogate, acquisition, solver and
selection fields are not read then; its sampler still draws the initial design.

A choice is a list of *parts*: each part is one set of components proposing a share of the batch,
in order, every later part conditioned on the earlier parts' picks as on points in flight (so no
two parts propose the same architecture and a later part does not crowd next to an earlier one).
Splitting the batch is how the choice hedges between a surrogate that models the whole space well
(a Gaussian process) and one that is not misled where the objective is rugged (boosted trees read
as is keep the search near what was measured best). The rules are measured, not assumed:
benchmarks/README.md ("The auto optimizer") has the figures behind each threshold.

The choice is a pure function of the configuration, the number of finite measurements and the
``Readings`` of them: whether the search has stalled and whether its front has collapsed to one
point (``read``), and how well the Gaussian process predicts the measurements it was fitted on (its
leave-one-out error: smooth objectives are left to it, rugged ones share the batch with the trees).
So the same study at the same point always runs the same components, and the reasons say why in
words a study page can show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.metrics.hypervolume import hypervolume
from search_engine.metrics.pareto import pareto_front
from search_engine.registry import EVALUATORS
from search_engine.spaces.base import SearchSpace
from search_engine.types import Array

GP_MAX_POINTS = 2000
"""Above this many measurements the Gaussian process gives way to boosted trees.

Past ~1,000 points the GP conditions on a subset (``GPSurrogate.max_condition_points``) to stay
affordable; past this many the subset is a small part of the data and the trees, whose cost grows
about linearly, use all of it."""

EXPLORING_SHARE = 0.3
"""Share of each batch proposed by the boosted-tree part where the GP's fit shows a rugged objective
(at least one point; see ``SMOOTH_FIT_ERROR``)."""

SMOOTH_FIT_ERROR = 0.05
"""Leave-one-out error (a share of the objective's variance, the worst objective's) at or below which
the Gaussian process has the objectives' shape and proposes without the boosted trees.

Measured along auto's runs (benchmarks/README.md, "The auto optimizer"): 0.01 or less on ZDT1-3 and
DTLZ2 once past the initial design, 0.1-0.3 on DTLZ4's steep objective and 0.4-0.7 on the
multimodal DTLZ1 and DTLZ3."""

CONFIDENCE_BOUND_SHARE = 0.2
"""Share of a batch the GP proposes at its lower confidence bound once the search has stalled
(none in batches under 3)."""

STALL_BATCHES = 2
"""The search has stalled when this many batches' worth of measurements raised the measured front's
hypervolume by no more than ``STALL_GAIN`` (``COLLAPSED_STALL_GAIN`` for a collapsed front;
``has_stalled``)."""

STALL_GAIN = 1e-4
"""Relative hypervolume gain (0.01 %) at or below which a window of measurements counts as no progress
on a front that spans the reference box.

Near the front, what is left to gain is itself a small share of the hypervolume (DTLZ2 at a log10
difference of -2.48: 0.15 %). Measured under DGEMO's protocol (benchmarks/README.md, "The auto
optimizer"): at 0.1 % the rule called converging searches stalled in 93-147 of 200 batches on
ZDT1-3 and DTLZ2, each time spending 2 of 10 proposals on the confidence bound; at 0.01 % DTLZ2
ended 0.03 better on every seed, ZDT1-2 and DTLZ1 the same, DTLZ4 0.03 worse (one seed)."""

COLLAPSED_STALL_GAIN = 1e-3
"""``STALL_GAIN`` for a collapsed front (``front_collapsed``): 0.1 %.

A search stuck at one end of a front keeps creeping along it (DTLZ4's stuck seeds gain about 0.01 %
per window, the threshold above), while a search that progresses gains a percent or more."""

COLLAPSED_SPAN = 0.01
"""The measured front has collapsed when, inside the reference box, it spans less than this share of
the box in every objective (``front_collapsed``): the search sits at one point of the front.

Hypervolume improvement then only proposes next to that point. DTLZ4's stuck seeds end with every
front point at one corner (seed 3: f1 from 1.000 to 1.002 against a box reaching 1.81, a span of
0.25 %, f2 0), while a search that covers its front spans most of the box."""

CONFIDENCE_BOUND_BETA = 2.0
"""Standard deviations below the GP's mean that the confidence-bound part optimises."""

SOLVER_POPULATION = {2: 100, 3: 120, 4: 160}
"""NSGA-II population by number of objectives (more objectives: a front of more points to cover)."""

EXACT_NOISE_MAX = 1e-5
"""The GP's noise ceiling (relative to each objective's variance) when measurements are exact.

Measured on DTLZ1 and DTLZ3 (benchmarks/README.md, "The auto optimizer"): a GP free to fit noise
reads up to 0.3 of a rugged objective's variance as noise and smooths over the measured optima;
ceilings of 1e-2 and 1e-3 did not help, 1e-5 (interpolation) did."""

BEYOND_BEST_STD = 0.5
"""Standard deviations a GP prediction past an objective's best measured value must clear to count
in hypervolume improvement (``HVISelector.beyond_best_std``).

Measured under DGEMO's protocol (benchmarks/README.md, "The auto optimizer"): read as they are, the
GP's overshoots at the front's ends (f1 predicted below 0 on ZDT1 and DTLZ2, f2 below 0 at DTLZ4's
corner) drew 1-3 proposals of most batches to an edge of the space where the other objective was
never close to its front; 0.5 gave every screened problem its best final hypervolume, 1 left more
DTLZ4 seeds at the corner, 3 stopped ZDT1's approach to its front."""

GP_DESCENT_STEPS = 20
"""Steps of common gradient descent from the GP part's final population onto the GP's front
(``NSGA2Solver.descent_steps``), in a continuous space where the GP fits smoothly.

Measured under DGEMO's protocol (benchmarks/README.md, "The auto optimizer"): on ZDT1-2, whose
Pareto sets lie on a face of the cube, it lowered the final log10 hypervolume difference by
0.01-0.07 on every seed, on DTLZ2 (an interior Pareto set) not at all; on DTLZ4, whose GP fit is
not smooth, descending the mean part left 2 of 3 seeds at a corner, so it is kept to smooth fits;
it is not used by the confidence-bound part, whose optimistic front it would sharpen. In a
discrete space a gradient step seldom reaches another architecture."""

GP_GENERATIONS = 50
TREE_GENERATIONS = 25


@dataclass(frozen=True)
class Part:
    """One set of components proposing ``size`` architectures of the batch."""

    label: str
    components: dict[str, ComponentSpec]
    size: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as a proposal's diagnostics hold it."""
        return {
            "label": self.label,
            "size": self.size,
            "components": {kind: spec.to_dict() for kind, spec in self.components.items()},
        }


@dataclass(frozen=True)
class Readings:
    """What ``choose`` reads from the measurements besides their number (all unknown by default).

    ``stalled``: the latest measurements did not improve the measured front (:func:`has_stalled`).
    ``collapsed``: the measured front sits at one point (:func:`front_collapsed`).
    ``fit_error``: the Gaussian process part's leave-one-out error on the measurements, the worst
    objective's (``GPSurrogate.leave_one_out_error``); None when it has not been fitted, which
    counts as a GP not yet known to fit.
    """

    stalled: bool = False
    collapsed: bool = False
    fit_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"stalled": self.stalled, "collapsed": self.collapsed, "fit_error": self.fit_error}


@dataclass(frozen=True)
class Choice:
    """What ``auto`` runs for one proposal and why, with the readings it chose from."""

    parts: tuple[Part, ...]
    reasons: tuple[str, ...]
    readings: Readings = Readings()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``{"parts": [...], "reasons": [...], **readings}``."""
        return {
            "parts": [p.to_dict() for p in self.parts],
            "reasons": list(self.reasons),
            **self.readings.to_dict(),
        }


def read(Y_min: Array, reference: Array, batch_size: int) -> Readings:
    """The readings of ``Y_min (n, n_objectives)`` (minimisation form, in measurement order) that
    need no fit; ``fit_error`` is left to the caller, which fits the GP."""
    collapsed = front_collapsed(Y_min, reference)
    gain = COLLAPSED_STALL_GAIN if collapsed else STALL_GAIN
    return Readings(stalled=has_stalled(Y_min, reference, batch_size, gain), collapsed=collapsed)


def choose(
    config: StudyConfig,
    space: SearchSpace,
    n_measured: int,
    batch_size: int,
    readings: Readings = Readings(),
) -> Choice:
    """The parts and reasons for a proposal of ``batch_size`` with ``n_measured`` finite measurements.

    Deterministic: the same configuration, data size, batch size and readings give the same choice.
    """
    stalled, fit_error = readings.stalled, readings.fit_error
    n_objectives = config.n_objectives
    population = _population(n_objectives)
    reasons = [
        f"{n_objectives} objective{'s' if n_objectives != 1 else ''}: NSGA-II with a population of "
        f"{population} searches the surrogates' front."
    ]
    trees = _part("boosted trees", "xgboost", {}, population, TREE_GENERATIONS, 0)
    if n_measured > GP_MAX_POINTS:
        reasons.append(
            f"{n_measured} measurements, more than {GP_MAX_POINTS}: boosted trees (XGBoost), whose fit "
            "grows about linearly with the data, propose the whole batch; a Gaussian process would "
            "condition on a small subset of it."
        )
        return Choice((_sized(trees, batch_size),), tuple(reasons), readings)
    exact = measurements_exact(config)
    smooth = fit_error is not None and fit_error <= SMOOTH_FIT_ERROR
    continuous = math.isinf(space.n_architectures)
    gp = _gp_part(population, exact, 0, descend=smooth and continuous)
    reasons.append(
        f"{n_measured} measurements, at most {GP_MAX_POINTS}: a Gaussian process per objective "
        f"(Matérn 3/2) models the whole {space.n_vars}-variable space from few points. Past an "
        f"objective's best measured value its predictions count only as far as the mean plus "
        f"{BEYOND_BEST_STD:g} standard deviations: at the edge of its data it overshoots, and "
        "hypervolume improvement would take the overshoot for a gain."
    )
    reasons.append(
        f"The {config.evaluator.name} evaluator's measurements are exact (the same architecture always "
        "gets the same values), so the Gaussian process passes through every one of them rather than "
        "reading a rugged objective's ripples as noise."
        if exact
        else f"The {config.evaluator.name} evaluator's measurements may vary from run to run, so the "
        "Gaussian process fits how much of the data is noise."
    )
    if batch_size < 2:
        reasons.append("A batch of one: the Gaussian process proposes it.")
        return Choice((_sized(gp, 1),), tuple(reasons), readings)
    n_trees = 0 if smooth else max(1, round(EXPLORING_SHARE * batch_size))
    n_bound = round(CONFIDENCE_BOUND_SHARE * batch_size) if stalled and batch_size >= 3 else 0
    parts = [_sized(gp, batch_size - n_trees - n_bound)]
    if n_bound:
        # The bound part does not descend: it would sharpen the optimistic front it explores.
        parts.append(_sized(_bound_part(_gp_part(population, exact, 0), readings.collapsed), n_bound))
        stall = (
            f"The last {STALL_BATCHES * batch_size} measurements raised the measured front's hypervolume "
            f"by {COLLAPSED_STALL_GAIN if readings.collapsed else STALL_GAIN:.2%} or less, so {n_bound} of "
            f"the {batch_size} go where the Gaussian process "
            f"is optimistic, at its mean minus {CONFIDENCE_BOUND_BETA:g} standard deviations"
        )
        reasons.append(
            f"{stall}. The measured front has collapsed to one point (it spans less than "
            f"{COLLAPSED_SPAN:.0%} of the reference box in every objective), so they are the ends of "
            "that optimistic front, the best of each objective in turn, even beyond the reference point: "
            "hypervolume improvement would only propose next to the point the search sits at."
            if readings.collapsed
            else f"{stall}: they explore the regions its mean alone never proposes, such as an end of "
            "the front no measurement has reached yet."
        )
    if smooth:
        reasons.append(
            "Predicting each measurement from the others, the Gaussian process leaves "
            f"{fit_error:.1%} of the worst objective's variance unexplained (at most "
            f"{SMOOTH_FIT_ERROR:.0%}): it has the objectives' shape, so no boosted trees are needed."
        )
        if continuous:
            reasons.append(
                f"The space is continuous, so the Gaussian process part's solver ends with up to "
                f"{GP_DESCENT_STEPS} steps of common gradient descent from each of its final points onto "
                "the Gaussian process's front: the evolutionary search alone stops a little short of it, "
                "and seldom lands exactly on a bound of a variable where the front may lie."
            )
        return Choice(tuple(parts), tuple(reasons), readings)
    parts.append(_sized(trees, n_trees))
    reasons.append(
        f"{n_trees} of the {batch_size} come from boosted trees read as is: they do not smooth a rugged "
        "objective into a misleading trend, and keep searching near the best measured points where "
        "the Gaussian process is misled"
        + (
            " (until the Gaussian process has been fitted on the measurements, it is not known whether "
            "it predicts them well enough to propose alone)."
            if fit_error is None
            else f": predicting each measurement from the others, the Gaussian process leaves "
            f"{fit_error:.0%} of the worst objective's variance unexplained, more than "
            f"{SMOOTH_FIT_ERROR:.0%}."
        )
    )
    return Choice(tuple(parts), tuple(reasons), readings)


def has_stalled(Y_min: Array, reference: Array, batch_size: int, gain: float = STALL_GAIN) -> bool:
    """Whether the last ``STALL_BATCHES`` batches of measurements raised the hypervolume by ``gain`` or less.

    ``Y_min``: ``(n, n_objectives)`` finite measurements in minimisation form, in the order they
    were made; ``reference``: the hypervolume reference point. False while there are not more
    measurements than that window (nothing to compare with yet).
    """
    window = STALL_BATCHES * batch_size
    if Y_min.shape[0] <= window:
        return False
    before = hypervolume(Y_min[:-window], reference)
    return hypervolume(Y_min, reference) <= before * (1.0 + gain)


def gp_components(config: StudyConfig) -> dict[str, ComponentSpec]:
    """The components of the Gaussian process part ``choose`` would run for this study."""
    return dict(_gp_part(_population(config.n_objectives), measurements_exact(config), 0).components)


def front_collapsed(Y_min: Array, reference: Array) -> bool:
    """Whether the measured front inside the reference box spans less than ``COLLAPSED_SPAN`` of the box.

    The span of each objective is the front's range over the box's (reference minus the front's
    best); collapsed when every objective's is under ``COLLAPSED_SPAN``, or when no measurement lies
    inside the box at all (there is no front to extend).
    """
    inside = Y_min[np.all(Y_min < reference, axis=1)]
    if inside.shape[0] == 0:
        return True
    front = pareto_front(inside)
    best = front.min(axis=0)
    span = (front.max(axis=0) - best) / (reference - best)
    return bool(np.all(span < COLLAPSED_SPAN))


def choose_initial(n_objectives: int = 2) -> dict[str, ComponentSpec]:
    """The components of the part that proposes most of the first batches (what a preset shows)."""
    return dict(_gp_part(_population(n_objectives), False, 0).components)


def measurements_exact(config: StudyConfig) -> bool:
    """Whether the study's evaluator measures exactly (``Evaluator.exact``), from its parameters alone."""
    params = EVALUATORS.resolve(config.evaluator.name, config.evaluator.params, "evaluator")
    return EVALUATORS.load(config.evaluator.name).exact(params)


def _gp_part(population: int, exact: bool, size: int, descend: bool = False) -> Part:
    params: dict[str, Any] = {"nu": 1.5, **({"noise_max": EXACT_NOISE_MAX} if exact else {})}
    selection = ComponentSpec("hvi", {"beyond_best_std": BEYOND_BEST_STD})
    return _part(
        "Gaussian process",
        "gp",
        params,
        population,
        GP_GENERATIONS,
        size,
        selection,
        GP_DESCENT_STEPS if descend else 0,
    )


def _bound_part(gp: Part, ends: bool) -> Part:
    common = {**gp.components, "acquisition": ComponentSpec("ucb", {"beta": CONFIDENCE_BOUND_BETA})}
    if ends:
        components = {**common, "selection": ComponentSpec("ends")}
        return Part("Gaussian process, confidence bound, front ends", components, 0)
    return Part("Gaussian process, confidence bound", common, 0)


def _population(n_objectives: int) -> int:
    return SOLVER_POPULATION.get(n_objectives, max(SOLVER_POPULATION.values()))


def _part(
    label: str,
    surrogate: str,
    params: dict[str, Any],
    population: int,
    generations: int,
    size: int,
    selection: ComponentSpec | None = None,
    descent_steps: int = 0,
) -> Part:
    solver = {"pop_size": population, "n_gen": generations}
    components = {
        "surrogate": ComponentSpec(surrogate, params),
        "acquisition": ComponentSpec("identity"),
        "solver": ComponentSpec(
            "nsga2", solver | ({"descent_steps": descent_steps} if descent_steps else {})
        ),
        "selection": selection or ComponentSpec("hvi"),
    }
    return Part(label, components, size)


def _sized(part: Part, size: int) -> Part:
    return Part(part.label, part.components, size)
