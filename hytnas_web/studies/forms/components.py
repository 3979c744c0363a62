"""One sub-form per component choice, its fields drawn from that component's parameter schema.

Every choice's sub-form is on the page (the page's script shows the chosen one), prefixed by kind
and key, e.g. ``surrogate-xgboost`` (inputs ``surrogate-xgboost-max_depth``). A sub-form of a choice
that is not chosen keeps what was typed for redisplay and is never validated.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django import forms
from django.forms.utils import ErrorDict

from hytnas_web.studies.forms.fields import JSONTextField, schema_field


def option_prefix(kind: str, key: str) -> str:
    """The prefix of one choice's sub-form, e.g. ``surrogate-xgboost``."""
    return f"{kind}-{key}"


class ChoiceForm(forms.Form):
    """The inputs of one choice of a kind; validated only when that choice is the chosen one."""

    def __init__(self, *args: Any, chosen: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chosen = chosen

    def full_clean(self) -> None:
        if self.is_bound and not self.chosen:
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()


class ParamsForm(ChoiceForm):
    """The parameters of one component, one input per entry of its schema."""

    def __init__(self, *args: Any, schema: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in schema:
            self.fields[param["name"]] = schema_field(param)

    def params(self) -> dict[str, Any]:
        """The cleaned parameter values (None where left blank), for the engine to check.

        An input that could not be read is left out (the engine takes its default), so the engine
        can still check the others while the form shows that input's own error.
        """
        return {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}


class CustomSpaceForm(ChoiceForm):
    """The ``custom`` space: the whole space specification, typed as JSON."""

    spec = JSONTextField(
        required=False,
        label="Custom space (JSON)",
        help_text=(
            'A list of variables, e.g. [{"name": "width", "type": "int", "low": 8, "high": 64}, '
            '{"name": "act", "type": "choice", "choices": ["relu", "gelu"]}]; types: int, float, '
            "log-float, choice."
        ),
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
    )


@dataclass(frozen=True)
class ComponentOption:
    """One registry entry offered for a kind, with its sub-form."""

    key: str
    label: str
    capabilities: dict[str, bool]
    runs: str
    form: ParamsForm


@dataclass(frozen=True)
class ComponentSection:
    """A kind's choice input and every option of it, as the template draws them."""

    kind: str
    label: str
    select: forms.BoundField
    options: list[ComponentOption]

    @property
    def chosen(self) -> ComponentOption | None:
        """The option the choice input names (None for a key that is not registered)."""
        return next((o for o in self.options if o.form.chosen), None)


def component_section(
    kind: str,
    label: str,
    entries: list[dict[str, Any]],
    select: forms.BoundField,
    chosen_key: str | None,
    *,
    data: Any,
    initial: dict[str, dict[str, Any]],
    left_out: Collection[str] = (),
) -> ComponentSection:
    """The section of ``kind``: one ``ParamsForm`` per registry entry (``describe()`` output).

    Args:
        select: the main form's choice input of this kind.
        chosen_key: the key that choice names; only its sub-form is validated.
        data: the posted data, or None for an unbound form.
        initial: initial parameter values by sub-form prefix.
        left_out: parameters the page gives through its own inputs (the evaluator's tables,
            objectives and space), drawn by no sub-form.
    """
    options = []
    for entry in entries:
        prefix = option_prefix(kind, entry["key"])
        schema = [p for p in entry["params"] if p["name"] not in left_out]
        form = ParamsForm(
            data,
            prefix=prefix,
            initial=initial.get(prefix),
            schema=schema,
            chosen=entry["key"] == chosen_key,
        )
        flags = {flag: on for flag, on in entry["capabilities"].items() if isinstance(on, bool)}
        options.append(ComponentOption(entry["key"], entry["label"], flags, entry.get("runs", ""), form))
    return ComponentSection(kind, label, select, options)
