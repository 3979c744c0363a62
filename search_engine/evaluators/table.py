"""Table evaluator: objectives predicted by regressors fitted on CSV tables of measured architectures.

This is how the HyT-NAS benchmark was built: accuracy and latency were measured for a few hundred and a
few thousand architectures, and a regressor per objective stands in for new measurements. A predictor
learns from ``space.features`` (numeric design values, e.g. absolute channel widths), so a table records
what a person measured rather than cube coordinates; ``search_engine.evaluators.table_csv`` reads the
tables (its docstring gives the two CSV layouts, with and without a header row).

Each objective may come from its own table (objectives measured on different architectures); the rows of
several tables holding one objective are stacked.

Model choice, measured by 5-fold cross-validation on the HyT-NAS tables (R², Kendall tau), with the
settings in ``_Regressor``: accuracy, 304 rows: linear booster 0.69 / 0.72, dart 0.65 / 0.67, gbtree
0.59 / 0.65; latency, 1769 rows: gbtree 0.87 / 0.77, dart 0.86 / 0.76 (twice as slow to fit), linear
booster 0.81 / 0.71. Hence ``TableEvaluator.hytnas`` uses the linear booster for accuracy and gbtree
for latency, as ``objective_models`` can do for any table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, get_args

import numpy as np
from scipy import stats

from search_engine.errors import ConfigError, DataError
from search_engine.evaluators.base import Evaluator
from search_engine.evaluators.table_csv import TableData, parse_table
from search_engine.objectives import Objective, parse_objectives
from search_engine.params import param
from search_engine.registry import SPACES
from search_engine.spaces.base import SearchSpace
from search_engine.types import Architecture, Array

FIELD = "evaluator.params"

Model = Literal["xgboost", "xgboost-linear", "xgboost-dart"]
"""Regressors: XGBoost with tree (gbtree), linear (gblinear) or dropout-tree (dart) boosters."""
MODELS: tuple[str, ...] = get_args(Model)

HYTNAS_OBJECTIVES: list[dict[str, str]] = [
    {"name": "accuracy", "direction": "max", "unit": "%"},
    {"name": "latency", "direction": "min", "unit": "ms"},
]
HYTNAS_REFERENCE_POINT = (75.0, 3500.0)
HYTNAS_FILES = {"accuracy": "models_acc_pr.csv", "latency": "models_lat_pre.csv"}
HYTNAS_MODELS = {"accuracy": "xgboost-linear", "latency": "xgboost"}


@dataclass(frozen=True)
class FitQuality:
    """Cross-validated quality of one objective's predictor (out-of-fold predictions vs. measurements).

    ``r2`` and ``kendall_tau`` are None when undefined (constant measurements or predictions).
    ``within_10_percent`` is the share of rows whose prediction lies within ±10 % of the measurement,
    the figure a latency predictor is judged by (an error relative to the value, unlike the RMSE).
    """

    objective: str
    model: str
    n_rows: int
    folds: int
    r2: float | None
    rmse: float
    kendall_tau: float | None
    within_10_percent: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


class _Regressor:
    """One objective's predictor: an XGBoost booster on standardised features."""

    def __init__(self, model: str, seed: int) -> None:
        self.model = model
        self.seed = seed
        self._booster: Any = None
        self._mean: Array = np.zeros(0)
        self._scale: Array = np.ones(0)

    def _make(self) -> Any:
        import xgboost

        # One thread: the fitted model is then bit-for-bit reproducible and the machine stays free.
        if self.model == "xgboost-linear":
            # gblinear's coordinate descent; no L2 penalty (on standardised features it only cost R²).
            return xgboost.XGBRegressor(
                booster="gblinear",
                n_estimators=100,
                learning_rate=0.5,
                reg_lambda=0.0,
                reg_alpha=0.0,
                n_jobs=1,
                random_state=self.seed,
            )
        if self.model == "xgboost-dart":
            return xgboost.XGBRegressor(
                booster="dart",
                n_estimators=100,
                max_depth=4,
                learning_rate=0.1,
                rate_drop=0.1,
                n_jobs=1,
                random_state=self.seed,
            )
        return xgboost.XGBRegressor(
            n_estimators=300,
            max_depth=4,
            learning_rate=0.05,
            subsample=0.8,
            colsample_bytree=0.8,
            n_jobs=1,
            random_state=self.seed,
        )

    def fit(self, F: Array, y: Array) -> _Regressor:
        """Fit on ``F`` ``(n, n_features)`` and ``y`` ``(n,)``."""
        self._mean = F.mean(axis=0)
        spread = F.std(axis=0)
        self._scale = np.where(spread > 0, spread, 1.0)  # constant columns stay at 0
        self._booster = self._make()
        self._booster.fit((F - self._mean) / self._scale, y)
        return self

    def predict(self, F: Array) -> Array:
        """``(n,)`` predictions for ``F`` ``(n, n_features)``."""
        return np.asarray(self._booster.predict((F - self._mean) / self._scale), dtype=np.float64)


@dataclass(eq=False)
class TableEvaluator(Evaluator):
    """Predicts each objective with a regressor fitted on measured tables (see the module docstring).

    Construction reads and parses the tables and fits one regressor per objective. ``objectives``
    may be given as :class:`Objective` objects or in their JSON form; it holds Objectives once
    constructed.
    """

    fits: ClassVar[int] = 0
    """Table evaluators fitted in this process so far (each fits one predictor per objective): lets tests
    and benchmarks see that a study's tables are fitted once per worker process, not per iteration."""

    tables: list[dict[str, Any]] = param(
        [], "Measured tables: a list of {path or text, objectives: [objective names], name (optional)}."
    )
    objectives: tuple[Objective, ...] = param(
        HYTNAS_OBJECTIVES, "Objectives the tables measure: a list of {name, direction: min | max, unit}."
    )
    space: dict[str, Any] = param(
        {"name": "hytnas", "params": {}},
        "Search space whose architectures the tables describe: {name, params}.",
    )
    model: Model = param("xgboost", "Regressor for every objective.")
    objective_models: dict[str, str] | None = param(
        None, "Optional {objective name: regressor} overriding the regressor per objective."
    )
    cv_folds: int = param(5, "Folds of the cross-validation reporting fit quality.", low=2, high=10)
    seed: int = param(0, "Seed of the regressors and of the cross-validation folds.", low=0, high=2**31 - 1)
    models: dict[str, str] = field(init=False, repr=False)
    """The regressor of each objective."""
    _space: SearchSpace = field(init=False, repr=False)
    _tables: list[TableData] = field(init=False, repr=False)
    _data: dict[str, tuple[Array, Array]] = field(init=False, repr=False)
    _regressors: dict[str, _Regressor] = field(init=False, repr=False)
    _report: dict[str, FitQuality] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.objectives = parse_objectives(self.objectives, f"{FIELD}.objectives")
        self._space = _build_space(self.space)
        names = [o.name for o in self.objectives]
        self.models = _parse_models(self.model, self.objective_models, names)
        self._tables = [
            parse_table(text, table_name, self._space, self.objectives, wanted)
            for table_name, text, wanted in _sources(self.tables, names)
        ]
        self._data = {name: self._gather(name) for name in names}
        self._regressors = {
            name: _Regressor(self.models[name], self.seed).fit(F, y) for name, (F, y) in self._data.items()
        }
        TableEvaluator.fits += 1

    @classmethod
    def exact(cls, params: Mapping[str, Any]) -> bool:
        """A fitted predictor: the same architecture always gets the same prediction."""
        return True

    @classmethod
    def hytnas(cls, data_dir: str | Path, **params: Any) -> TableEvaluator:
        """The HyT-NAS benchmark: accuracy from ``models_acc_pr.csv``, latency from ``models_lat_pre.csv``.

        Both files are headerless (23 design columns + the objective) and sit in ``data_dir``. The
        accuracy predictor uses XGBoost's linear booster and latency gbtree (see the module docstring);
        ``params`` override any other keyword.
        """
        directory = Path(data_dir)
        tables = [{"path": str(directory / f), "objectives": [name]} for name, f in HYTNAS_FILES.items()]
        params.setdefault("objective_models", dict(HYTNAS_MODELS))
        return cls(tables=tables, **params)

    def default_space(self) -> SearchSpace:
        """The space the tables describe."""
        return self._space

    def default_reference_point(self) -> tuple[float, ...] | None:
        """(75 %, 3500 ms) for the HyT-NAS objectives (accuracy, latency); None otherwise."""
        hytnas = tuple(Objective.from_dict(o) for o in HYTNAS_OBJECTIVES)
        return HYTNAS_REFERENCE_POINT if self.objectives == hytnas else None

    def training_data(self, objective: str) -> tuple[Array, Array]:
        """``(features (n, n_features), measured (n,))`` the predictor of ``objective`` was fitted on."""
        F, y = self._data[objective]
        return F.copy(), y.copy()

    def predict_features(self, F: Array) -> Array:
        """``(n, n_objectives)`` predictions, in each objective's own units, for design values ``F``."""
        F = np.asarray(F, dtype=np.float64)
        if F.ndim != 2 or F.shape[1] != self._n_features():
            raise ValueError(f"expected design values of shape (n, {self._n_features()}), got {F.shape}")
        columns = [self._regressors[o.name].predict(F) for o in self.objectives]
        return np.column_stack(columns).reshape(F.shape[0], len(self.objectives))

    def fit_report(self) -> dict[str, FitQuality]:
        """Per objective, the K-fold cross-validated R², RMSE and Kendall tau (computed once, then kept)."""
        if self._report is None:
            self._report = {name: self._cross_validate(name) for name in self._data}
        return dict(self._report)

    def measured_range(self, objective: str) -> tuple[float, float]:
        """The lowest and highest value of ``objective`` in the tables: where its regressor has data.

        A prediction outside it is an extrapolation (a linear booster's, especially, can run past any
        architecture measured), which a page should say rather than show as a finding.
        """
        values = self._data[objective][1]
        return float(np.min(values)), float(np.max(values))

    def _n_features(self) -> int:
        return int(next(iter(self._data.values()))[0].shape[1])

    def _gather(self, objective: str) -> tuple[Array, Array]:
        """Rows of every table holding ``objective``, stacked: ``(n, n_features)``, ``(n,)``."""
        parts = [
            (t.features, t.values[:, t.objectives.index(objective)])
            for t in self._tables
            if objective in t.objectives
        ]
        if not parts:
            raise ConfigError(f"{FIELD}.tables", f"no table provides objective {objective!r}")
        return np.vstack([F for F, _ in parts]), np.concatenate([y for _, y in parts])

    def _cross_validate(self, objective: str) -> FitQuality:
        F, y = self._data[objective]
        model = self.models[objective]
        folds = min(self.cv_folds, y.size)
        predicted = out_of_fold(F, y, lambda: _Regressor(model, self.seed), folds, self.seed)
        return fit_quality(objective, model, y, predicted, folds)

    def _evaluate_batch(self, architectures: list[Architecture]) -> list[Any] | None:
        F = self._space.features(self._space.encode(architectures))  # (n, n_features)
        return [tuple(row) for row in self.predict_features(F).tolist()]

    def _evaluate_one(self, architecture: Architecture) -> Any:
        values = self._evaluate_batch([architecture])
        assert values is not None
        return values[0]


class _Fittable(Protocol):
    def fit(self, F: Array, y: Array) -> Any: ...

    def predict(self, F: Array) -> Array: ...


def out_of_fold(F: Array, y: Array, make: Callable[[], _Fittable], folds: int, seed: int) -> Array:
    """``(n,)`` out-of-fold predictions: each row predicted by a model ``make()`` fitted without its fold.

    The rows are shuffled by ``seed`` and split into ``folds`` folds of (nearly) equal size.
    """
    order = np.random.default_rng(seed).permutation(y.size)
    predicted = np.empty_like(y)  # (n,)
    for test in np.array_split(order, folds):
        train = np.setdiff1d(order, test)
        predicted[test] = make().fit(F[train], y[train]).predict(F[test])
    return predicted


def fit_quality(objective: str, model: str, y: Array, predicted: Array, folds: int) -> FitQuality:
    """R², RMSE, Kendall tau and the share within ±10 % of out-of-fold ``predicted`` against ``y``."""
    residual = float(np.sum((predicted - y) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    tau = stats.kendalltau(predicted, y).statistic
    return FitQuality(
        objective=objective,
        model=model,
        n_rows=int(y.size),
        folds=folds,
        r2=1.0 - residual / total if total > 0 else None,
        rmse=math.sqrt(residual / y.size),
        kendall_tau=float(tau) if np.isfinite(tau) else None,
        within_10_percent=float(np.mean(np.abs(predicted - y) <= 0.1 * np.abs(y))),
    )


def _build_space(spec: Any) -> SearchSpace:
    field = f"{FIELD}.space"
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ConfigError(field, f"expected {{name, params}}, got {spec!r}")
    space: SearchSpace = SPACES.build(spec["name"], spec.get("params") or {}, field=field)
    return space


def _parse_models(model: str, overrides: Mapping[str, str] | None, names: list[str]) -> dict[str, str]:
    models = dict.fromkeys(names, model)
    if overrides is None:
        return models
    field = f"{FIELD}.objective_models"
    if not isinstance(overrides, Mapping):
        raise ConfigError(field, f"expected a mapping of objective names to regressors, got {overrides!r}")
    for name, choice in overrides.items():
        if name not in models:
            raise ConfigError(f"{field}.{name}", f"unknown objective; known: {', '.join(names)}")
        if choice not in MODELS:
            raise ConfigError(f"{field}.{name}", f"{choice!r} is not one of {', '.join(MODELS)}")
        models[name] = choice
    return models


def _sources(tables: Any, names: list[str]) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """``(name, CSV text, objectives or None)`` per table entry, files read here."""
    field = f"{FIELD}.tables"
    if not isinstance(tables, list | tuple) or not tables:
        raise ConfigError(field, "at least one table of measurements is needed")
    sources = []
    for i, entry in enumerate(tables):
        where = f"{field}[{i}]"
        if not isinstance(entry, Mapping) or ("path" in entry) == ("text" in entry):
            raise ConfigError(where, "expected {path or text, objectives, name} with one of path and text")
        unknown = sorted(set(entry) - {"path", "text", "objectives", "name"})
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}", "unknown key; known: path, text, objectives, name")
        wanted = entry.get("objectives")
        if wanted is not None:
            if not isinstance(wanted, list | tuple) or not wanted or len(set(wanted)) != len(wanted):
                raise ConfigError(f"{where}.objectives", "expected a non-empty list of distinct names")
            for name in wanted:
                if name not in names:
                    known = ", ".join(names)
                    raise ConfigError(f"{where}.objectives", f"unknown objective {name!r}; known: {known}")
            wanted = tuple(wanted)
        if "text" in entry:
            if not isinstance(entry["text"], str):
                raise ConfigError(f"{where}.text", "expected the CSV text")
            sources.append((str(entry.get("name") or f"{i + 1}"), entry["text"], wanted))
            continue
        path = Path(str(entry["path"]))
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"table {path} is not UTF-8 text") from None
        except OSError as exc:
            raise DataError(f"cannot read table {path}: {exc.strerror or exc}") from None
        sources.append((str(entry.get("name") or path), text, wanted))
    return sources
