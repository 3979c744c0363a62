"""CSV exports of a study, streamed: every evaluation, the Pareto set, and the per-iteration history.

Each export is a generator of CSV lines that reads rows with ``values_list(...).iterator()`` in
chunks, so a study of 100,000 evaluations leaves the server in bounded memory (a
``StreamingHttpResponse`` sends the lines as they come). Columns are stable and documented in
README.md ("CSV export"); ``evaluation_columns`` is the one place that names them, and
``csv_import`` reads the same names back. A measured row says which machine measured it: ``device``
on one line (``search_engine.devices.device_label``) and ``device_json``, everything the machine
reported about itself (empty for rows no device measured).

Spreadsheet formula injection: a text cell that starts with ``= + - @``, a tab or a carriage
return is prefixed with a single quote, so a study, objective or error text such as
``=cmd|' /C calc'!A0`` shows as text. Numbers are written as numbers (``-75.2`` stays ``-75.2``):
they are never text, and a spreadsheet never reads a plain number as a formula. Text that starts
with a quote itself gets one more (``'=quoted`` is written ``''=quoted``), so the import, which
drops one leading quote from such cells, gives back exactly the text that was exported.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.configs import study_config
from hytnas_web.studies.services.devices import device_label
from hytnas_web.studies.services.feasibility import bound_labels, feasibility, rows_feasibility, study_results
from hytnas_web.studies.services.noisy import NOISE_METRICS, noise_of, target_spread_of
from search_engine.config import StudyConfig
from search_engine.metrics.pareto import feasible_pareto_mask
from search_engine.objectives import Objective, to_minimisation
from search_engine.types import PHASES, STAGES

CHUNK_SIZE = 2000
"""Rows fetched from the database per round trip while streaming."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula (OWASP's list)."""

QUOTE = "'"
"""The prefix that makes a spreadsheet show a cell as text (and hides it)."""

_EVALUATION_FIELDS = (
    "id",
    "iteration__index",
    "source",
    "status",
    "architecture",
    "objectives",
    "stage_latency",
    "predicted_mean",
    "predicted_std",
    "device",
    "error",
    "metrics",
)


def neutralise(text: str) -> str:
    """``text`` made safe for a spreadsheet: a leading formula character or quote gets a ``'`` before it."""
    if text.startswith(QUOTE) or (text.startswith(FORMULA_STARTS) and not _is_number(text)):
        return QUOTE + text
    return text


def unneutralise(text: str) -> str:
    """Undo ``neutralise``: ``unneutralise(neutralise(t)) == t`` for every text ``t``.

    One quote is dropped when a formula character or another quote follows it, as ``neutralise``
    writes it; a quote before anything else (``'s``) was written by a person and is kept.
    """
    if len(text) > 1 and text[0] == QUOTE and text[1:].startswith((QUOTE, *FORMULA_STARTS)):
        return text[1:]
    return text


def _is_number(text: str) -> bool:
    """True for text a spreadsheet reads as a plain number (``-75.2``, ``1e-3``), not a formula."""
    try:
        return math.isfinite(float(text)) and text.strip() == text and "_" not in text
    except ValueError:
        return False


def cell(value: Any) -> str:
    """One CSV cell: numbers as numbers (shortest exact form), None and NaN empty, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return repr(number) if math.isfinite(number) else ""
    return neutralise(str(value))


class _Line:
    """A write-only file for ``csv.writer`` that hands back what was written (one line)."""

    def write(self, text: str) -> str:
        return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV lines (``\\r\\n``-terminated): the header, then one line per row, every cell via ``cell``."""
    writer = csv.writer(_Line())
    yield writer.writerow([cell(name) for name in header])
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def objective_column(objective: Objective) -> str:
    """An objective's column: its name with its unit, ``"accuracy (%)"`` (``Objective.label``)."""
    return objective.label()


def evaluation_columns(study: Study) -> list[str]:
    """The evaluations export's header, in order (also the Pareto set's)."""
    config = study_config(study)
    return _header(config)


NOISE_COLUMNS = ["latency_noisy", "latency_spread"]
"""The evaluations export's columns after the bounds: is the latency measurement noisy (1/0), its spread."""
RUNTIME_COLUMNS = ["latency_runtime", "latency_runtime_settings"]
"""The last columns: what the latency was measured in (``ONNX Runtime 1.32.0``) and how, in words."""


def _header(config: StudyConfig) -> list[str]:
    """The evaluations (and Pareto set) export's columns: the measurement's, the bounds', the noise's."""
    columns = _evaluation_columns(config.build_space().names, list(config.objectives))
    return columns + bound_columns(config) + NOISE_COLUMNS + RUNTIME_COLUMNS


def bound_columns(config: StudyConfig) -> list[str]:
    """With device budgets: ``feasible``, then each bound's violation (``violation params<=2e+06``)."""
    labels = bound_labels(config)
    return ["feasible", *(label.column for label in labels)] if labels else []


def _evaluation_columns(variables: list[str], objectives: list[Objective]) -> list[str]:
    names = [o.name for o in objectives]
    return [
        "id",
        "iteration",
        "source",
        "status",
        *variables,
        *(objective_column(o) for o in objectives),
        *(f"latency_{stage}_ms" for stage in STAGES),
        *(f"predicted_{name}" for name in names),
        *(f"predicted_std_{name}" for name in names),
        "device",
        "device_json",
        "error",
    ]


def _evaluation_row(values: tuple[Any, ...], variables: list[str], n_objectives: int) -> list[Any]:
    """One evaluation (a ``_EVALUATION_FIELDS`` tuple) as the export's cells, up to ``error``."""
    pk, index, source, status, architecture, objectives, stages, mean, std, device, error, _ = values
    architecture = architecture or {}
    stages = stages or {}
    device = device if isinstance(device, dict) else {}
    return [
        pk,
        index,
        source,
        status,
        *(architecture.get(name) for name in variables),
        *_padded(objectives, n_objectives),
        *(stages.get(stage) for stage in STAGES),
        *_padded(mean, n_objectives),
        *_padded(std, n_objectives),
        device_label(device),
        json.dumps(device, sort_keys=True, ensure_ascii=False, separators=(",", ":")) if device else None,
        error,
    ]


def _noise_cells(values: tuple[Any, ...], target_spread: float | None) -> tuple[int | None, Any]:
    """``NOISE_COLUMNS`` of one evaluation (a ``_EVALUATION_FIELDS`` tuple); empty where nothing says.

    ``latency_noisy`` is 1 or 0 for a measurement that reports its latency's spread or the machine's
    state, as ``services.noisy`` (and so every page) says it; ``latency_spread`` as measured.
    """
    status, metrics = values[3], values[11]
    if status != Evaluation.Status.DONE or not isinstance(metrics, dict):
        return None, None
    reported = any(name in metrics for name in NOISE_METRICS)
    noisy = int(noise_of(metrics, target_spread).noisy) if reported else None
    spread = metrics.get("latency_spread")
    return noisy, spread if isinstance(spread, int | float) and not isinstance(spread, bool) else None


def _runtime_cells(values: tuple[Any, ...]) -> list[Any]:
    """``RUNTIME_COLUMNS`` of one evaluation (a ``_EVALUATION_FIELDS`` tuple); empty where nothing says."""
    metrics = values[11] if isinstance(values[11], dict) else {}
    return [metrics.get(name) for name in RUNTIME_COLUMNS]


def _padded(values: Sequence[Any] | None, n: int) -> list[Any]:
    """``n`` cells from a stored list that may be missing (None) or of another length."""
    values = list(values or [])
    return (values + [None] * n)[:n]


def _evaluation_rows(study: Study, config: StudyConfig, keep: set[int] | None = None) -> Iterator[list[Any]]:
    """The study's evaluations by id, as export rows, fetched in chunks; only ids in ``keep`` if given.

    With device budgets each row ends with ``bound_columns``: feasible (empty until measured) and
    the amount by which it breaks each bound (0 where met, empty where the value is unknown).
    """
    variables, n_objectives = config.build_space().names, config.n_objectives
    target_spread = target_spread_of(study)
    bounded = bool(config.constraints)
    fields = (*_EVALUATION_FIELDS, "x") if bounded else _EVALUATION_FIELDS
    rows = (
        Evaluation.objects.filter(study=study)
        .order_by("id")
        .values_list(*fields)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    kept = (values for values in rows if keep is None or values[0] in keep)
    if not bounded:
        for values in kept:
            yield [
                *_evaluation_row(values, variables, n_objectives),
                *_noise_cells(values, target_spread),
                *_runtime_cells(values),
            ]
        return
    while chunk := list(itertools.islice(kept, CHUNK_SIZE)):
        yield from _bounded_rows(config, chunk, variables, target_spread)


def _bounded_rows(
    config: StudyConfig, chunk: Sequence[tuple[Any, ...]], variables: list[str], target_spread: float | None
) -> Iterator[list[Any]]:
    """Export rows of ``chunk`` (``_EVALUATION_FIELDS``, then x): the measurement, bounds, noise."""
    n_vars, m = len(variables), config.n_objectives
    done = [v[3] == Evaluation.Status.DONE for v in chunk]
    objectives = [
        v[5] if ok and isinstance(v[5], list) and len(v[5]) == m else None
        for v, ok in zip(chunk, done, strict=True)
    ]
    X = np.array(
        [v[12] if isinstance(v[12], list) and len(v[12]) == n_vars else [0.5] * n_vars for v in chunk]
    )
    Y = np.array([o if o is not None else [np.nan] * m for o in objectives], dtype=np.float64)
    results = study_results(objectives, [v[6] for v in chunk], [v[11] for v in chunk])
    check = feasibility(config, X.reshape(len(chunk), n_vars), Y.reshape(len(chunk), m), results)
    assert check is not None  # the study has bounds
    for i, values in enumerate(chunk):
        measured = objectives[i] is not None
        yield [
            *_evaluation_row(values[: len(_EVALUATION_FIELDS)], variables, m),
            bool(check.feasible[i]) if measured else None,
            *(float(v) if measured else None for v in check.violation[i]),
            *_noise_cells(values, target_spread),
            *_runtime_cells(values),
        ]


def export_evaluations_csv(study: Study) -> Iterator[str]:
    """Every evaluation of ``study`` (pending and failed ones too), one CSV line at a time."""
    config = study_config(study)  # read before the first line: a broken study fails as a whole
    return csv_lines(_header(config), _evaluation_rows(study, config))


def pareto_ids(study: Study, objectives: Sequence[Objective] | None = None) -> set[int]:
    """Ids of the measured evaluations no other measured evaluation dominates.

    Dominance is decided on measured values in minimisation form (maximised objectives negated),
    over evaluations that are done with a finite value for every objective; equal points are all
    kept. Reads only ids and objectives, ``(n, n_objectives)`` floats; with device budgets, only
    the rows meeting every bound take part.
    """
    config = study_config(study)
    objectives = config.objectives if objectives is None else objectives
    ids: list[int] = []
    values: list[list[float]] = []
    measured = (
        Evaluation.objects.filter(study=study, status=Evaluation.Status.DONE)
        .exclude(objectives=None)
        .values_list("id", "objectives")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for pk, row in measured:
        if isinstance(row, list) and len(row) == len(objectives):
            ids.append(pk)
            values.append(row)
    if not ids:
        return set()
    Y = np.array(values, dtype=np.float64)  # (n_measured, n_objectives)
    finite = np.all(np.isfinite(Y), axis=1)  # a NaN measurement is no point of the front
    kept_ids = np.array(ids)[finite]
    check = rows_feasibility(study, config, kept_ids.tolist())
    mask = feasible_pareto_mask(
        to_minimisation(Y[finite], objectives), None if check is None else check.feasible
    )
    return {int(pk) for pk in kept_ids[mask]}


def export_pareto_csv(study: Study) -> Iterator[str]:
    """The Pareto set of ``study`` alone, same columns as ``export_evaluations_csv``."""
    config = study_config(study)
    keep = pareto_ids(study, list(config.objectives))
    return csv_lines(_header(config), _evaluation_rows(study, config, keep=keep))


def history_columns(study: Study) -> list[str]:
    """The history export's header, in order."""
    return _history_columns([o.name for o in study_config(study).objectives])


def _history_columns(names: list[str]) -> list[str]:
    return [
        "index",
        "status",
        "n_evaluations",
        "hypervolume",
        *(f"{phase}_seconds" for phase in PHASES),
        *(f"{measure}_{name}" for name in names for measure in ("kendall_tau", "spearman", "rmse")),
        "error",
    ]


def _history_rows(study: Study, names: list[str]) -> Iterator[list[Any]]:
    """One row per iteration: status, size, hypervolume, phase seconds, fidelity per objective."""
    rows = (
        Iteration.objects.filter(study=study)
        .order_by("index")
        .values_list("index", "status", "n_evaluations", "hypervolume", "timings", "fidelity", "error")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for index, status, n_evaluations, hypervolume, timings, fidelity, error in rows:
        timings = timings if isinstance(timings, dict) else {}
        by_objective = {
            f.get("objective"): f
            for f in (fidelity if isinstance(fidelity, list) else [])
            if isinstance(f, dict)
        }
        quality = []
        for name in names:
            found = by_objective.get(name, {})
            quality += [found.get("kendall_tau"), found.get("spearman_rho"), found.get("rmse")]
        yield [
            index,
            status,
            n_evaluations,
            hypervolume,
            *(timings.get(phase) for phase in PHASES),
            *quality,
            error,
        ]


def export_history_csv(study: Study) -> Iterator[str]:
    """The per-iteration history of ``study``, one CSV line at a time."""
    names = [o.name for o in study_config(study).objectives]
    return csv_lines(_history_columns(names), _history_rows(study, names))
