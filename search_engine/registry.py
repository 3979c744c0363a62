"""Components by name: one table per kind, mapping a short key to a label and a dotted class path.

Classes are imported the first time their key is used, so a process that only draws a form does not
load torch or xgboost (component modules import heavy libraries inside their methods). The same
tables feed the study form's choices, ``describe()`` and the contract tests, so adding a component is
one module plus one ``register`` line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from search_engine.acquisitions.base import Acquisition
from search_engine.component import Component
from search_engine.errors import ConfigError
from search_engine.evaluators.base import Evaluator
from search_engine.feasibility.base import FeasibilityRule
from search_engine.params import Param, resolve_params
from search_engine.pending.base import PendingStrategy
from search_engine.sampling.base import Sampler
from search_engine.selection.base import Selector
from search_engine.solvers.base import Solver
from search_engine.spaces.base import SearchSpace
from search_engine.surrogates.base import Surrogate

T = TypeVar("T", bound=Component)


@dataclass(frozen=True)
class Entry:
    """One registered component: its key, the label a user sees and where its class lives."""

    key: str
    label: str
    path: str


class Registry(Generic[T]):
    """Named components of one kind (``sampler``, ``surrogate``, ...), all subclasses of ``base``.

    The kind is the base class's ``KIND``, the study-configuration field its components fill.
    """

    def __init__(self, base: type[Component]) -> None:
        # ``type[Component]``, not ``type[T]``: mypy accepts only concrete classes for ``type[T]``,
        # and every base is abstract. The variable's annotation gives T.
        self.base = base
        self.kind = base.KIND
        self._entries: dict[str, Entry] = {}
        self._classes: dict[str, type[T]] = {}

    def register(self, key: str, label: str, path: str) -> None:
        """Add ``key``; registering the same key twice is a programming error."""
        if key in self._entries:
            raise ValueError(f"{self.kind} {key!r} is already registered")
        self._entries[key] = Entry(key, label, path)

    def keys(self) -> list[str]:
        """Registered keys, in registration order."""
        return list(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def entry(self, key: str, field: str | None = None) -> Entry:
        """The entry for ``key``; an unknown key raises ConfigError listing the known ones."""
        try:
            return self._entries[key]
        except (KeyError, TypeError):
            known = ", ".join(self._entries)
            raise ConfigError(
                field or f"{self.kind}.name", f"unknown {self.kind} {key!r}; known: {known}"
            ) from None

    def load(self, key: str, field: str | None = None) -> type[T]:
        """The class registered as ``key``, imported on first use."""
        entry = self.entry(key, field)
        if key not in self._classes:
            module_name, _, class_name = entry.path.rpartition(".")
            cls = getattr(importlib.import_module(module_name), class_name)
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise TypeError(f"{entry.path} is not a {self.base.__name__}")
            self._classes[key] = cast("type[T]", cls)
        return self._classes[key]

    def params(self, key: str) -> tuple[Param, ...]:
        """The parameter schema of ``key``."""
        return self.load(key).schema()

    def resolve(self, key: str, params: Mapping[str, Any], field: str) -> dict[str, Any]:
        """Validated, complete constructor keywords for ``key`` (``field`` names the spec).

        Checks each value and the rules between values (``check_params``) without constructing
        the component, so a configuration is validated without fitting or loading anything.
        """
        cls = self.load(key, f"{field}.name")
        resolved = resolve_params(cls.schema(), params, f"{field}.params")
        cls.check_params(resolved, f"{field}.params")
        return resolved

    def build(self, key: str, params: Mapping[str, Any] | None = None, field: str | None = None) -> T:
        """An instance of ``key`` built from validated ``params`` (defaults fill the rest)."""
        field = field or self.kind
        cls = self.load(key, f"{field}.name")
        return cls(**self.resolve(key, params or {}, field))

    def describe(self) -> list[dict[str, Any]]:
        """JSON-able list of every entry: key, label, parameter schema and capability flags."""
        out = []
        for key, entry in self._entries.items():
            cls = self.load(key)
            out.append(
                {
                    "key": key,
                    "label": entry.label,
                    "params": [p.to_dict() for p in cls.schema()],
                    "capabilities": cls.capabilities(),
                }
            )
        return out


SPACES: Registry[SearchSpace] = Registry(SearchSpace)
EVALUATORS: Registry[Evaluator] = Registry(Evaluator)
SAMPLERS: Registry[Sampler] = Registry(Sampler)
SURROGATES: Registry[Surrogate] = Registry(Surrogate)
ACQUISITIONS: Registry[Acquisition] = Registry(Acquisition)
SOLVERS: Registry[Solver] = Registry(Solver)
SELECTORS: Registry[Selector] = Registry(Selector)
PENDING: Registry[PendingStrategy] = Registry(PendingStrategy)
FEASIBILITY: Registry[FeasibilityRule] = Registry(FeasibilityRule)

SPACES.register("hytnas", "HyT-NAS hybrid conv/attention space", "search_engine.spaces.hytnas.HyTNASSpace")
SPACES.register(
    "hytnas-mobilevit",
    "HyT-NAS extended to reach MobileViT",
    "search_engine.spaces.mobilevit.MobileViTSpace",
)
SPACES.register(
    "generic", "Custom space (integer, float, log-float, choice)", "search_engine.spaces.generic.GenericSpace"
)

EVALUATORS.register(
    "benchmark", "Benchmark problem (ZDT, DTLZ)", "search_engine.evaluators.benchmark.BenchmarkEvaluator"
)
EVALUATORS.register(
    "table", "Predictor fitted on measured tables (CSV)", "search_engine.evaluators.table.TableEvaluator"
)
EVALUATORS.register(
    "torch",
    "PyTorch model on this machine (per-stage latency)",
    "search_engine.evaluators.torch_model.TorchEvaluator",
)
EVALUATORS.register(
    "remote",
    "PyTorch model on a remote device (evaluation workers over HTTP)",
    "search_engine.evaluators.remote.RemoteEvaluator",
)
EVALUATORS.register(
    "external",
    "Your own evaluation (your code measures; objectives you declare)",
    "search_engine.evaluators.external.ExternalEvaluator",
)

SAMPLERS.register(
    "uniform", "Uniform over the space's choices", "search_engine.sampling.uniform.UniformSampler"
)
SAMPLERS.register("lhs", "Latin hypercube", "search_engine.sampling.lhs.LHSSampler")
SAMPLERS.register("sobol", "Sobol sequence (scrambled)", "search_engine.sampling.sobol.SobolSampler")
SAMPLERS.register("beta", "Beta(0.5, 0.5): favours extremes", "search_engine.sampling.beta.BetaSampler")
SAMPLERS.register("kmeans", "k-means over a large random pool", "search_engine.sampling.kmeans.KMeansSampler")

SURROGATES.register("gp", "Gaussian process (ARD Matérn)", "search_engine.surrogates.gp.GPSurrogate")
SURROGATES.register("xgboost", "XGBoost regressor", "search_engine.surrogates.xgb.XGBSurrogate")
SURROGATES.register("xgb-ranker", "XGBoost ranker", "search_engine.surrogates.xgb_ranker.XGBRankerSurrogate")
SURROGATES.register(
    "mlp-ensemble",
    "MLP ensemble, margin ranking loss",
    "search_engine.surrogates.mlp_ensemble.MLPEnsembleSurrogate",
)
SURROGATES.register("bnn", "Bayesian neural network", "search_engine.surrogates.bnn.BNNSurrogate")
SURROGATES.register("mix", "A different surrogate per objective", "search_engine.surrogates.mix.MixSurrogate")

ACQUISITIONS.register(
    "identity", "Identity (predicted mean)", "search_engine.acquisitions.analytic.IdentityAcquisition"
)
ACQUISITIONS.register("pi", "Probability of improvement", "search_engine.acquisitions.analytic.PIAcquisition")
ACQUISITIONS.register("ei", "Expected improvement", "search_engine.acquisitions.analytic.EIAcquisition")
ACQUISITIONS.register(
    "ucb", "Confidence bound (mean − β·std)", "search_engine.acquisitions.analytic.UCBAcquisition"
)

SOLVERS.register("nsga2", "NSGA-II", "search_engine.solvers.nsga2.NSGA2Solver")
SOLVERS.register("moead", "MOEA/D", "search_engine.solvers.moead.MOEADSolver")
SOLVERS.register(
    "parego", "ParEGO (random Chebyshev scalarisations)", "search_engine.solvers.parego.ParEGOSolver"
)

SELECTORS.register("hvi", "Greedy hypervolume improvement", "search_engine.selection.hvi.HVISelector")
SELECTORS.register(
    "uncertainty", "Largest predicted std", "search_engine.selection.uncertainty.UncertaintySelector"
)
SELECTORS.register(
    "ends", "Front ends (best predicted value of each objective)", "search_engine.selection.ends.EndsSelector"
)
SELECTORS.register("random", "Random", "search_engine.selection.random_batch.RandomSelector")
SELECTORS.register("nds", "Rank sum over objectives (NDS)", "search_engine.selection.nds.NDSSelector")
SELECTORS.register("ndf", "Whole non-dominated fronts (NDF)", "search_engine.selection.ndf.NDFSelector")
SELECTORS.register(
    "moead", "MOEA/D-style (k-means, best per cluster)", "search_engine.selection.moead.MOEADSelector"
)

PENDING.register(
    "believer",
    "Believer: in-flight points join the fit with predicted (or constant) values",
    "search_engine.pending.believer.BelieverPending",
)
PENDING.register(
    "ignore", "Ignore: in-flight points are only excluded", "search_engine.pending.ignore.IgnorePending"
)

FEASIBILITY.register(
    "probability",
    "Probability of feasibility (from the std, or a margin without one)",
    "search_engine.feasibility.rules.ProbabilityRule",
)
FEASIBILITY.register(
    "ignore", "Ignore: measured bounds do not steer the batch", "search_engine.feasibility.rules.IgnoreRule"
)

REGISTRIES: dict[str, Registry[Any]] = {
    r.kind: r
    for r in (
        SPACES,
        EVALUATORS,
        SAMPLERS,
        SURROGATES,
        ACQUISITIONS,
        SOLVERS,
        SELECTORS,
        PENDING,
        FEASIBILITY,
    )
}


def describe() -> dict[str, list[dict[str, Any]]]:
    """Every registry's entries (key, label, parameter schema, capabilities), keyed by kind."""
    return {kind: registry.describe() for kind, registry in REGISTRIES.items()}
