"""Named optimizer presets: ready-made component choices a new study can start from.

A preset fixes the optimizer (sampler, surrogate, acquisition, solver, selection, initial design and
batch size); the problem (space, evaluator, objectives, reference point) comes from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from search_engine import auto
from search_engine.config import ComponentSpec, StudyConfig
from search_engine.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    """One named configuration of the optimizer's components."""

    key: str
    label: str
    description: str
    components: dict[str, ComponentSpec]
    n_init: int
    batch_size: int
    auto: bool = False
    """Whether ``search_engine.auto`` chooses the components at each proposal (``StudyConfig.auto``);
    ``components`` then hold what it starts with, for display and the initial design's sampler."""
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, config: StudyConfig) -> StudyConfig:
        """``config`` with this preset's components, initial design size, batch size and auto flag."""
        return config.with_changes(
            **self.components, n_init=self.n_init, batch_size=self.batch_size, auto=self.auto
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "key": self.key,
            "label": self.label,
            "description": self.description,
            "components": {name: spec.to_dict() for name, spec in self.components.items()},
            "n_init": self.n_init,
            "batch_size": self.batch_size,
            "auto": self.auto,
        }


HYTNAS_ORIGINAL = Preset(
    key="hytnas",
    label="HyT-NAS original",
    description=(
        "The original HyT-NAS search: 100 uniform initial architectures, an XGBoost surrogate "
        "read as is (identity acquisition), NSGA-II with population 100 for 25 generations "
        "seeded by non-dominated sorting, and batches of 50 chosen by greedy hypervolume improvement."
    ),
    components={
        "sampler": ComponentSpec("uniform"),
        "surrogate": ComponentSpec("xgboost"),
        "acquisition": ComponentSpec("identity"),
        "solver": ComponentSpec("nsga2", {"pop_size": 100, "n_gen": 25}),
        "selection": ComponentSpec("hvi"),
    },
    n_init=100,
    batch_size=50,
)

HYTNAS_TUNED = replace(
    HYTNAS_ORIGINAL,
    key="hytnas-tuned",
    label="HyT-NAS, shallower trees",
    description=(
        "The original HyT-NAS search with a shallower, slower-learning XGBoost (depth 3, 200 trees, "
        "learning rate 0.1): on a few hundred measurements deep trees overfit, and this reaches a "
        "higher hypervolume on the HyT-NAS tables for the same number of evaluations."
    ),
    components={
        **HYTNAS_ORIGINAL.components,
        "surrogate": ComponentSpec("xgboost", {"max_depth": 3, "n_estimators": 200, "learning_rate": 0.1}),
    },
)

AUTO = Preset(
    key="auto",
    label="Auto (recommended)",
    description=(
        "Chooses its components at every proposal from the space, the number of objectives and the "
        "data, and says on the study page what it chose and why: a Gaussian process proposes the "
        "batch while it predicts the measurements well (smooth objectives); where it does not "
        "(rugged ones), boosted trees propose 3 of each 10, which keeps the search going where the "
        "Gaussian process is misled; when the front stops moving, 2 of the 10 explore where the "
        "Gaussian process is optimistic, at the ends of its front if the measured front sits at one "
        "point; with many measurements, boosted trees alone. A Latin-hypercube initial design of 50, "
        "batches of 10."
    ),
    components={
        "sampler": ComponentSpec("lhs"),
        **auto.choose_initial(),
    },
    n_init=50,
    batch_size=10,
    auto=True,
)

PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        AUTO,
        HYTNAS_ORIGINAL,
        HYTNAS_TUNED,
        Preset(
            key="gp",
            label="Gaussian process (few evaluations)",
            description=(
                "For the most expensive evaluations: a Latin-hypercube initial design, an ARD Matérn-3/2 "
                "Gaussian process per objective whose predicted mean NSGA-II optimises, and batches chosen "
                "by greedy hypervolume improvement of the predictions (which spreads them along the front)."
            ),
            components={
                "sampler": ComponentSpec("lhs"),
                "surrogate": ComponentSpec("gp", {"nu": 1.5}),
                "acquisition": ComponentSpec("identity"),
                "solver": ComponentSpec("nsga2", {"pop_size": 100, "n_gen": 50}),
                "selection": ComponentSpec("hvi"),
            },
            n_init=50,
            batch_size=10,
        ),
    )
}

DEFAULT_PRESET = AUTO.key
"""The preset the study form starts from: the recommended one."""


def get_preset(key: str) -> Preset:
    """The preset named ``key``; unknown names raise ConfigError listing the known ones."""
    try:
        return PRESETS[key]
    except KeyError:
        raise ConfigError("preset", f"unknown preset {key!r}; known: {', '.join(PRESETS)}") from None
