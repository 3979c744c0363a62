"""The study form's device budgets: one row per bound, ``constraints-N-quantity / -bound / -value``.

A row only parses what was typed (a name, at most / at least, a finite number); whether the
quantity exists in the study and whether any architecture can meet the bound is the engine's
call (``constraints.check_constraints``), whose errors at ``constraints[i].quantity`` / ``.value``
land at the row's field through ``places.row_places`` like the objective rows'.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from hytnas_web.studies.forms.rows import RowForm, RowFormSet
from hytnas_web.studies.services.feasibility import BOUND_WORDS
from search_engine.finite_numbers import parse_finite  # plain parsing, as the main form's

CONSTRAINT_ROWS = 4
"""Bound rows in the form: enough for a latency, a size and a memory budget and one more."""


class ConstraintForm(RowForm):
    """One bound: a quantity (a blank row is ignored), at most / at least, a value in its unit."""

    quantity = forms.CharField(required=False, max_length=60, widget=forms.TextInput({"list": "quantities"}))
    bound = forms.ChoiceField(choices=list(BOUND_WORDS.items()), initial="upper")
    value = forms.CharField(required=False, max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.label = f"bound {self.number} {name}"
            field.widget.attrs["aria-label"] = field.label

    def clean_value(self) -> float | None:
        """A finite number (NaN, infinities and text are a field error); blank only on a blank row."""
        text = self.cleaned_data.get("value", "").strip()
        if not text:
            if self.cleaned_data.get("quantity", "").strip():
                raise ValidationError("give the bound's value, in the quantity's own unit")
            return None
        try:
            return parse_finite(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("value") is not None and not cleaned.get("quantity", "").strip():
            self.add_error("quantity", "name the quantity this bound is on")
        return cleaned

    def constraint(self) -> dict[str, Any] | None:
        """``{quantity, bound, value}``, or None for a blank row."""
        quantity = self.cleaned_data.get("quantity", "").strip()
        if not quantity:
            return None
        return {
            "quantity": quantity,
            "bound": self.cleaned_data["bound"],
            "value": self.cleaned_data["value"],
        }


ConstraintFormSet = forms.formset_factory(
    ConstraintForm,
    formset=RowFormSet,
    extra=CONSTRAINT_ROWS,
    max_num=CONSTRAINT_ROWS,
    absolute_max=CONSTRAINT_ROWS,
    validate_max=True,
)


def constraint_initial(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows' initial values from a stored configuration (a study cloned)."""
    return [
        {"quantity": c["quantity"], "bound": c["bound"], "value": f"{c['value']:.12g}"}
        for c in (config.get("constraints") or [])[:CONSTRAINT_ROWS]
    ]
