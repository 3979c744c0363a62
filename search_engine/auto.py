"""The ``auto`` optimizer: components chosen at every proposal from the problem's shape, with reasons.

A user who does not know their problem should not have to pick a surrogate, an acquisition, a solver
and a batch strategy. With ``StudyConfig.auto`` set, each proposal asks :func:`choose` what to run,
from what is known before anything is measured (the space, the number of objectives, the budget)
and from the data size, and ``propose`` runs it. The study's own surrogate, acquisition, solver and
selection fields are not read then; its sampler still draws the initial design.

A choice is a list of *parts*: each part is one set of components proposing a share of the batch,
in order, every later part conditioned on the earlier parts' picks as on points in flight (so no
two parts propose the same architecture and a later part does not crowd next to an earlier one).
Splitting the batch is how the choice hedges between a surrogate that models the whole space well
(a Gaussian process) and one that is not misled where the objective is rugged (boosted trees read
as is keep the search near what was measured best). The rules are measured, not assumed:
benchmarks/README.md ("The auto optimizer") has the figures behind each threshold.

The choice is a pure function of the configuration and the number of finite measurements, so the
same study at the same point always runs the same components, and the reasons say why in words a
study page can show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.spaces.base import SearchSpace

GP_MAX_POINTS = 2000
"""Above this many measurements the Gaussian process gives way to boosted trees.

Past ~1,000 points the GP conditions on a subset (``GPSurrogate.max_condition_points``) to stay
affordable; past this many the subset is a small part of the data and the trees, whose cost grows
about linearly, use all of it."""

EXPLORING_SHARE = 0.3
"""Share of each batch proposed by the boosted-tree part while the GP leads (at least one point)."""

SOLVER_POPULATION = {2: 100, 3: 120, 4: 160}
"""NSGA-II population by number of objectives (more objectives: a front of more points to cover)."""

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
class Choice:
    """What ``auto`` runs for one proposal and why."""

    parts: tuple[Part, ...]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``{"parts": [...], "reasons": [...]}``."""
        return {"parts": [p.to_dict() for p in self.parts], "reasons": list(self.reasons)}


def choose(config: StudyConfig, space: SearchSpace, n_measured: int, batch_size: int) -> Choice:
    """The parts and reasons for a proposal of ``batch_size`` with ``n_measured`` finite measurements.

    Deterministic: the same configuration, data size and batch size give the same choice.
    """
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
        return Choice((_sized(trees, batch_size),), tuple(reasons))
    gp = _gp_part(population, 0)
    reasons.append(
        f"{n_measured} measurements, at most {GP_MAX_POINTS}: a Gaussian process per objective "
        f"(Matérn 3/2) models the whole {space.n_vars}-variable space from few points."
    )
    if batch_size < 2:
        reasons.append("A batch of one: the Gaussian process proposes it.")
        return Choice((_sized(gp, 1),), tuple(reasons))
    n_trees = max(1, round(EXPLORING_SHARE * batch_size))
    reasons.append(
        f"{n_trees} of the {batch_size} come from boosted trees read as is: they do not smooth a rugged "
        "objective into a misleading trend, and keep searching near the best measured points where "
        "the Gaussian process is misled."
    )
    return Choice((_sized(gp, batch_size - n_trees), _sized(trees, n_trees)), tuple(reasons))


def choose_initial(n_objectives: int = 2) -> dict[str, ComponentSpec]:
    """The components of the part that proposes most of the first batches (what a preset shows)."""
    return dict(_gp_part(_population(n_objectives), 0).components)


def _gp_part(population: int, size: int) -> Part:
    return _part("Gaussian process", "gp", {"nu": 1.5}, population, GP_GENERATIONS, size)


def _population(n_objectives: int) -> int:
    return SOLVER_POPULATION.get(n_objectives, max(SOLVER_POPULATION.values()))


def _part(
    label: str, surrogate: str, params: dict[str, Any], population: int, generations: int, size: int
) -> Part:
    components = {
        "surrogate": ComponentSpec(surrogate, params),
        "acquisition": ComponentSpec("identity"),
        "solver": ComponentSpec("nsga2", {"pop_size": population, "n_gen": generations}),
        "selection": ComponentSpec("hvi"),
    }
    return Part(label, components, size)


def _sized(part: Part, size: int) -> Part:
    return Part(part.label, part.components, size)
