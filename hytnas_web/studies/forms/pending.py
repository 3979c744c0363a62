"""The form of pending work done by hand: one pending evaluation's measured values, typed in."""

from __future__ import annotations

from typing import Any

from django import forms

from hytnas_web.studies.services.pending_work import ERROR_COLUMN, MeasuredColumns, entered_result
from search_engine.types import EvaluationResult


class PendingEntryForm(forms.Form):
    """One pending evaluation's result: every objective, optional stage latency and metrics, or a failure.

    One text input per measured column of the pending-work CSV, checked by the same rule as an
    uploaded row (``services.pending_work.entered_result``), so a value the upload refuses is
    refused here with the same words, at its field. ``result`` holds what a valid form describes.
    """

    def __init__(self, *args: Any, columns: MeasuredColumns, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        self.result: EvaluationResult | None = None
        self.field_names: dict[str, str] = {}  # measured column -> field name
        for i, (objective, column) in enumerate(columns.objectives):
            direction = "higher is better" if objective.direction == "max" else "lower is better"
            self._add(
                column, f"objective_{i}", column, f"{direction}; a number in {objective.unit or 'its unit'}"
            )
        for stage, column in columns.stages:
            self._add(column, f"latency_{stage}", f"{stage.capitalize()} latency (ms)", "optional")
        for i, (name, column) in enumerate(columns.metrics):
            self._add(column, f"metric_{i}", name, "optional: a number or a word")
        self._add(
            ERROR_COLUMN,
            "error",
            "Failed: reason",
            "instead of the values: why this architecture could not be measured",
            max_length=10_000,
        )

    def _add(self, column: str, name: str, label: str, help_text: str, max_length: int = 200) -> None:
        self.fields[name] = forms.CharField(
            required=False, label=label, help_text=help_text, max_length=max_length, strip=True
        )
        self.field_names[column] = name

    @property
    def objective_fields(self) -> list[forms.BoundField]:
        return [self[f"objective_{i}"] for i in range(len(self.columns.objectives))]

    @property
    def optional_fields(self) -> list[forms.BoundField]:
        names = [self.field_names[c] for _, c in [*self.columns.stages, *self.columns.metrics]]
        return [self[name] for name in names]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        cells = {column: cleaned.get(name) or "" for column, name in self.field_names.items()}
        result, problems = entered_result(self.columns, cells)
        for problem in problems:
            self.add_error(self.field_names.get(problem.column), as_sentence(problem.reason))
        if result is None and not problems:
            raise forms.ValidationError("Fill in every objective, or say why the architecture failed.")
        self.result = result
        return cleaned


def as_sentence(reason: str) -> str:
    """A reason as an error message under its field: capitalised, with a full stop."""
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")
