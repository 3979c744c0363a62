"""Table evaluator: objectives predicted by regressors fitted on CSV tables of measured architectures.

This is how the HyT-NAS benchmark was built: accuracy and latency were measured for a few hundred and a
few thousand architectures, and a regressor per objective stands in for new measurements. A predictor
learns from ``space.features`` (numeric design values, e.g. absolute channel widths), so a table records
what a person measured rather than cube coordinates.

CSV layouts (comma separated, blank lines skipped, line numbers in errors as an editor shows them):

- **with a header row**: the design columns are named by the space's variable names (values as in a
  decoded architecture, e.g. ``growth_stage2 = 1.5``) or by its feature names (``feature_names``, e.g.
  ``channels_stage2 = 36``), plus one column per objective named by the objective's name or label
  (``accuracy`` or ``accuracy (%)``);
- **without a header row** (the first row is all numbers): the first ``n_features`` columns are the
  space's features in order, the remaining columns the table's objectives in the order its entry lists
  them (all of the evaluator's objectives when the entry lists none).

Each objective may come from its own table (objectives measured on different architectures); the rows of
several tables holding one objective are stacked. A table needs at least ``MIN_ROWS`` data rows.

Model choice, measured by 5-fold cross-validation on the HyT-NAS tables (R², Kendall tau), with the
settings in ``_Regressor``: accuracy, 304 rows: linear booster 0.69 / 0.72, dart 0.65 / 0.67, gbtree
0.59 / 0.65; latency, 1769 rows: gbtree 0.87 / 0.77, dart 0.86 / 0.76 (twice as slow to fit), linear
booster 0.81 / 0.71. Hence ``TableEvaluator.hytnas`` uses the linear booster for accuracy and gbtree
for latency, as ``objective_models`` can do for any table.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from search_engine.errors import ConfigError, DataError
from search_engine.evaluators.base import Evaluator
from search_engine.objectives import Objective
from search_engine.params import Param
from search_engine.registry import SPACES
from search_engine.spaces.base import SearchSpace
from search_engine.spaces.hytnas import HyTNASSpace
from search_engine.types import Architecture, Array

FIELD = "evaluator.params"

MIN_ROWS = 10
"""Fewest data rows a table may have: enough for a fit and a cross-validation with up to 10 folds."""

MODELS = ("xgboost", "xgboost-linear", "xgboost-dart")
"""Regressors: XGBoost with tree (gbtree), linear (gblinear) or dropout-tree (dart) boosters."""

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
    """

    objective: str
    model: str
    n_rows: int
    folds: int
    r2: float | None
    rmse: float
    kendall_tau: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class TableData:
    """The measured rows of one table.

    Attributes:
        name: the table's name in messages (file path or given name).
        features: ``(n_rows, n_features)`` design values, as ``space.features`` gives them.
        values: ``(n_rows, n_table_objectives)`` measurements in each objective's own units.
        objectives: names of the objectives in ``values``' columns.
    """

    name: str
    features: Array
    values: Array
    objectives: tuple[str, ...]


def feature_names(space: SearchSpace) -> list[str]:
    """Names of the ``space.features`` columns.

    The variable names, except where the HyT-NAS features hold absolute widths instead of ratios
    (``growth_stage3`` -> ``channels_stage3``, ``ffn_ratio_stage3`` -> ``ffn_width_stage3``).
    """
    if isinstance(space, HyTNASSpace):
        return [n.replace("growth_", "channels_").replace("ffn_ratio_", "ffn_width_") for n in space.names]
    return space.names


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _number(cell: str, line: int, column: str, name: str) -> float:
    """A finite float, or DataError locating the cell (``name`` says what the column holds)."""
    what = "" if name == column else f" for {name}"
    if not cell:
        raise DataError(f"empty cell, expected a number{what}", line=line, column=column)
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{cell!r} is not a number{what}", line=line, column=column) from None
    if not math.isfinite(value):
        raise DataError(f"{cell!r} is not a finite number{what}", line=line, column=column)
    return value


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """``(line number, stripped cells)`` of every non-blank line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            rows.append((number, [cell.strip() for cell in next(csv.reader([line]))]))
    return rows


def _check_width(cells: list[str], width: int, line: int, names: Sequence[str], what: str) -> None:
    """DataError at the first missing or extra column when a row has the wrong number of cells."""
    if len(cells) != width:
        first = min(len(cells), width)
        column = names[first] if first < len(names) else str(first + 1)
        raise DataError(f"expected {width} values ({what}), found {len(cells)}", line=line, column=column)


def parse_table(
    text: str,
    name: str,
    space: SearchSpace,
    objectives: Sequence[Objective],
    wanted: Sequence[str] | None = None,
) -> TableData:
    """Read one CSV table (see the module docstring for the two layouts).

    Args:
        text: the CSV text.
        name: how messages name the table.
        space: the search space whose features the design columns hold.
        objectives: every objective of the evaluator.
        wanted: names of the objectives this table holds, in order; None: all objectives in the
            header (with a header row) or all of ``objectives`` in order (without one).

    Raises:
        DataError: naming the line and column of a bad cell, a row of the wrong width, a duplicate or
            unknown header, missing columns, an empty table or fewer than ``MIN_ROWS`` data rows.
    """
    try:
        rows = _rows(text.removeprefix("\ufeff"))
        if not rows:
            raise DataError("the table is empty")
        if all(_is_number(cell) for cell in rows[0][1]):
            data = _parse_plain(rows, name, space, objectives, wanted)
        else:
            data = _parse_with_header(rows, name, space, objectives, wanted)
        if data.features.shape[0] < MIN_ROWS:
            raise DataError(
                f"{data.features.shape[0]} data rows; at least {MIN_ROWS} are needed "
                "to fit and cross-validate a predictor"
            )
    except DataError as exc:
        raise DataError(f"{exc.message} (table {name})", line=exc.line, column=exc.column) from None
    return data


def _n_features(space: SearchSpace) -> int:
    return int(space.features(np.full((1, space.n_vars), 0.5)).shape[1])


def _parse_plain(
    rows: list[tuple[int, list[str]]],
    name: str,
    space: SearchSpace,
    objectives: Sequence[Objective],
    wanted: Sequence[str] | None,
) -> TableData:
    """Rows without a header: features first, then the wanted objectives."""
    names = tuple(wanted) if wanted is not None else tuple(o.name for o in objectives)
    n_features = _n_features(space)
    width = n_features + len(names)
    what = f"{n_features} design columns + {', '.join(names)}"
    if wanted is None:
        what += "; list the objectives this table holds in its 'objectives' entry"
    values = np.empty((len(rows), width))  # (n_rows, n_features + n_table_objectives)
    columns = feature_names(space) + list(names)
    for i, (line, cells) in enumerate(rows):
        _check_width(cells, width, line, [str(j + 1) for j in range(width)], what)
        for j, cell in enumerate(cells):
            values[i, j] = _number(cell, line, str(j + 1), columns[j])
    return TableData(name, values[:, :n_features], values[:, n_features:], names)


def _objective_column(header: str, objectives: Sequence[Objective]) -> str | None:
    """The objective a header names (by name or label, case-insensitive), or None."""
    text = header.lower()
    for objective in objectives:
        if text in (objective.name.lower(), objective.label().lower()):
            return objective.name
    return None


def _parse_with_header(
    rows: list[tuple[int, list[str]]],
    name: str,
    space: SearchSpace,
    objectives: Sequence[Objective],
    wanted: Sequence[str] | None,
) -> TableData:
    """Rows under a header naming variables or features and objectives."""
    header_line, header = rows[0]
    for j, cell in enumerate(header):
        if not cell:
            raise DataError("empty column name in the header", line=header_line, column=str(j + 1))
        if cell in header[:j]:
            raise DataError("column name used twice", line=header_line, column=cell)
    objective_of = {cell: _objective_column(cell, objectives) for cell in header}
    present = [objective_of[cell] for cell in header if objective_of[cell] is not None]
    names = tuple(wanted) if wanted is not None else tuple(n for n in present if n is not None)
    if not names:
        known = ", ".join(o.name for o in objectives)
        raise DataError(f"no objective column (expected one of: {known})", line=header_line)
    for objective_name in names:
        if objective_name not in present:
            raise DataError(f"no column for objective {objective_name!r}", line=header_line)
    design = [cell for cell in header if objective_of[cell] is None]
    variables, features = space.names, feature_names(space)
    by_variables = sum(cell in variables for cell in design) >= sum(cell in features for cell in design)
    expected = variables if by_variables else features
    for cell in design:
        if cell not in expected:
            raise DataError(
                f"unknown column; expected the space's {'variable' if by_variables else 'feature'} names "
                f"({', '.join(expected)}) and objective names ({', '.join(o.name for o in objectives)})",
                line=header_line,
                column=cell,
            )
    missing = [n for n in expected if n not in design]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", line=header_line)

    position = {cell: j for j, cell in enumerate(header)}
    width = len(header)
    values = np.empty((len(rows) - 1, len(names)))  # (n_rows, n_table_objectives)
    cells_by_row = []
    for i, (line, cells) in enumerate(rows[1:]):
        _check_width(cells, width, line, header, f"one per header column, {width} in all")
        for k, objective_name in enumerate(names):
            column = next(c for c in header if objective_of[c] == objective_name)
            values[i, k] = _number(cells[position[column]], line, column, objective_name)
        cells_by_row.append((line, cells))
    if by_variables:
        F = _features_from_variables(cells_by_row, position, space)
    else:
        F = np.array(
            [[_number(cells[position[n]], line, n, n) for n in features] for line, cells in cells_by_row],
            dtype=np.float64,
        ).reshape(len(cells_by_row), len(features))
    return TableData(name, F, values, names)


def _features_from_variables(
    cells_by_row: list[tuple[int, list[str]]], position: Mapping[str, int], space: SearchSpace
) -> Array:
    """Design cells holding variable values -> ``(n_rows, n_features)`` through the space's encoding."""
    architectures = []
    for line, cells in cells_by_row:
        architecture: dict[str, Any] = {}
        for variable in space.names:
            cell = cells[position[variable]]
            if not cell:
                raise DataError("empty cell, expected a value", line=line, column=variable)
            architecture[variable] = float(cell) if _is_number(cell) else cell
        architectures.append(architecture)
    try:
        X = space.encode(architectures)  # (n_rows, n_vars)
    except ValueError:
        for (line, _), architecture in zip(cells_by_row, architectures, strict=True):
            try:
                space.encode([architecture])
            except ValueError as exc:
                message = str(exc)
                column = max(space.names, key=lambda v: message.rfind(repr(v)))
                raise DataError(message, line=line, column=column) from None
        raise
    return space.features(X)


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


class TableEvaluator(Evaluator):
    """Predicts each objective with a regressor fitted on measured tables (see the module docstring)."""

    PARAMS: ClassVar[tuple[Param, ...]] = (
        Param(
            "tables",
            "json",
            [],
            "Measured tables: a list of {path or text, objectives: [objective names], name (optional)}.",
        ),
        Param(
            "objectives",
            "json",
            HYTNAS_OBJECTIVES,
            "Objectives the tables measure: a list of {name, direction: min | max, unit}.",
        ),
        Param(
            "space",
            "json",
            {"name": "hytnas", "params": {}},
            "Search space whose architectures the tables describe: {name, params}.",
        ),
        Param("model", "choice", "xgboost", "Regressor for every objective.", choices=MODELS),
        Param(
            "objective_models",
            "json",
            None,
            "Optional {objective name: regressor} overriding the regressor per objective.",
            optional=True,
        ),
        Param("cv_folds", "int", 5, "Folds of the cross-validation reporting fit quality.", low=2, high=10),
        Param(
            "seed",
            "int",
            0,
            "Seed of the regressors and of the cross-validation folds.",
            low=0,
            high=2**31 - 1,
        ),
    )

    def __init__(
        self,
        tables: Sequence[Mapping[str, Any]] = (),
        objectives: Sequence[Mapping[str, Any]] = tuple(HYTNAS_OBJECTIVES),
        space: Mapping[str, Any] | None = None,
        model: str = "xgboost",
        objective_models: Mapping[str, str] | None = None,
        cv_folds: int = 5,
        seed: int = 0,
    ) -> None:
        self._objectives = _parse_objectives(objectives)
        self._space = _build_space(space if space is not None else {"name": "hytnas", "params": {}})
        names = [o.name for o in self._objectives]
        self.models = _parse_models(model, objective_models, names)
        if isinstance(cv_folds, bool) or not isinstance(cv_folds, int) or not 2 <= cv_folds <= 10:
            raise ConfigError(f"{FIELD}.cv_folds", f"expected a whole number from 2 to 10, got {cv_folds!r}")
        self.cv_folds = cv_folds
        self.seed = int(seed)
        self.tables = [
            parse_table(text, table_name, self._space, self._objectives, wanted)
            for table_name, text, wanted in _sources(tables, names)
        ]
        self._data = {name: self._gather(name) for name in names}
        self._regressors = {
            name: _Regressor(self.models[name], self.seed).fit(F, y) for name, (F, y) in self._data.items()
        }
        self._report: dict[str, FitQuality] | None = None

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

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self._objectives

    def default_space(self) -> SearchSpace:
        """The space the tables describe."""
        return self._space

    def default_reference_point(self) -> tuple[float, ...] | None:
        """(75 %, 3500 ms) for the HyT-NAS objectives (accuracy, latency); None otherwise."""
        hytnas = tuple(Objective.from_dict(o) for o in HYTNAS_OBJECTIVES)
        return HYTNAS_REFERENCE_POINT if self._objectives == hytnas else None

    def training_data(self, objective: str) -> tuple[Array, Array]:
        """``(features (n, n_features), measured (n,))`` the predictor of ``objective`` was fitted on."""
        F, y = self._data[objective]
        return F.copy(), y.copy()

    def predict_features(self, F: Array) -> Array:
        """``(n, n_objectives)`` predictions, in each objective's own units, for design values ``F``."""
        F = np.asarray(F, dtype=np.float64)
        if F.ndim != 2 or F.shape[1] != self._n_features():
            raise ValueError(f"expected design values of shape (n, {self._n_features()}), got {F.shape}")
        columns = [self._regressors[o.name].predict(F) for o in self._objectives]
        return np.column_stack(columns).reshape(F.shape[0], len(self._objectives))

    def fit_report(self) -> dict[str, FitQuality]:
        """Per objective, the K-fold cross-validated R², RMSE and Kendall tau (computed once, then kept)."""
        if self._report is None:
            self._report = {name: self._cross_validate(name) for name in self._data}
        return dict(self._report)

    def _n_features(self) -> int:
        return int(next(iter(self._data.values()))[0].shape[1])

    def _gather(self, objective: str) -> tuple[Array, Array]:
        """Rows of every table holding ``objective``, stacked: ``(n, n_features)``, ``(n,)``."""
        parts = [
            (t.features, t.values[:, t.objectives.index(objective)])
            for t in self.tables
            if objective in t.objectives
        ]
        if not parts:
            raise ConfigError(f"{FIELD}.tables", f"no table provides objective {objective!r}")
        return np.vstack([F for F, _ in parts]), np.concatenate([y for _, y in parts])

    def _cross_validate(self, objective: str) -> FitQuality:
        F, y = self._data[objective]
        folds = min(self.cv_folds, y.size)
        order = np.random.default_rng(self.seed).permutation(y.size)
        predicted = np.empty_like(y)  # (n,) out-of-fold predictions
        for test in np.array_split(order, folds):
            train = np.setdiff1d(order, test)
            regressor = _Regressor(self.models[objective], self.seed).fit(F[train], y[train])
            predicted[test] = regressor.predict(F[test])
        residual = float(np.sum((predicted - y) ** 2))
        total = float(np.sum((y - y.mean()) ** 2))
        tau = stats.kendalltau(predicted, y).statistic
        return FitQuality(
            objective=objective,
            model=self.models[objective],
            n_rows=int(y.size),
            folds=folds,
            r2=1.0 - residual / total if total > 0 else None,
            rmse=math.sqrt(residual / y.size),
            kendall_tau=float(tau) if np.isfinite(tau) else None,
        )

    def _evaluate_batch(self, architectures: list[Architecture]) -> list[Any] | None:
        F = self._space.features(self._space.encode(architectures))  # (n, n_features)
        return [tuple(row) for row in self.predict_features(F).tolist()]

    def _evaluate_one(self, architecture: Architecture) -> Any:
        values = self._evaluate_batch([architecture])
        assert values is not None
        return values[0]


def _parse_objectives(objectives: Any) -> tuple[Objective, ...]:
    field = f"{FIELD}.objectives"
    if not isinstance(objectives, list | tuple) or not objectives:
        raise ConfigError(field, "expected a non-empty list of {name, direction, unit}")
    parsed = tuple(Objective.from_dict(o, f"{field}[{i}]") for i, o in enumerate(objectives))
    names = [o.name for o in parsed]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(field, f"objective name {duplicate!r} is used twice")
    return parsed


def _build_space(spec: Any) -> SearchSpace:
    field = f"{FIELD}.space"
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ConfigError(field, f"expected {{name, params}}, got {spec!r}")
    space: SearchSpace = SPACES.build(spec["name"], spec.get("params") or {}, field=field)
    return space


def _parse_models(model: str, overrides: Mapping[str, str] | None, names: list[str]) -> dict[str, str]:
    if model not in MODELS:
        raise ConfigError(f"{FIELD}.model", f"{model!r} is not one of {', '.join(MODELS)}")
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
