"""Form fields of the study form: JSON typed into a textarea, an input drawn from a parameter schema,
and the choice of a study to warm-start from."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django import forms
from django.core.exceptions import ValidationError

from hytnas_web.studies.models import Study
from hytnas_web.studies.services import json_input
from search_engine.finite_numbers import (
    finite_or_none,  # plain parsing; the engine's computing stays in services
)

MAX_JSON_FIELD_BYTES = 256 * 1024
"""Largest JSON typed into one field (a custom space of hundreds of variables fits)."""


class JSONTextField(forms.JSONField):
    """JSON typed into a textarea: malformed, non-finite or absurdly nested input is a field error."""

    default_error_messages: ClassVar[dict[str, Any]] = {"invalid": "Enter valid JSON: %(reason)s"}

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            return value
        try:
            parsed = json_input.loads(value, max_bytes=MAX_JSON_FIELD_BYTES, what="it")
            _check_json(parsed)
        except json.JSONDecodeError as exc:
            raise ValidationError(self.error_messages["invalid"], params={"reason": exc.msg}) from None
        except ValueError as exc:  # a limit (size, nesting), NaN or a NUL character
            raise ValidationError(self.error_messages["invalid"], params={"reason": str(exc)}) from None
        return parsed

    def bound_data(self, data: Any, initial: Any) -> Any:
        return data  # redisplay exactly what was typed

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=None)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return True


def _check_json(value: Any) -> None:
    """Refuse values a database's JSON column would reject or mangle (NaN, NUL characters).

    Recursion is safe here: ``json_input.loads`` has already refused anything nested deeper than
    ``json_input.MAX_DEPTH``.
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and finite_or_none(value) is None:
        raise ValueError("numbers must be finite")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(key)
            _check_json(item)
    elif isinstance(value, list):
        for item in value:
            _check_json(item)


def schema_field(param: dict[str, Any]) -> forms.Field:
    """An input for one schema parameter: right type, default, bounds as min/max, help text.

    Every such input may be left blank: whether a value is required is the engine's to say, so
    the message reads the same as for any other configuration.
    """
    kind, default, help_text = param["kind"], param["default"], param["help"]
    label = param["name"]  # the engine's own name, as error paths and presets spell it
    if kind in ("int", "float"):
        attrs = {"step": "1" if kind == "int" else "any"}
        if param["low"] is not None:
            attrs["min"] = _plain_number(param["low"])
        if param["high"] is not None:
            attrs["max"] = _plain_number(param["high"])
        field_class = forms.IntegerField if kind == "int" else forms.FloatField
        return field_class(
            required=False, initial=default, label=label, help_text=help_text, widget=forms.NumberInput(attrs)
        )
    if kind == "bool":
        return forms.BooleanField(required=False, initial=default, label=label, help_text=help_text)
    if kind == "choice":
        by_text = {str(c): c for c in param["choices"]}
        choices = [(text, text) for text in by_text]
        if param["optional"]:
            choices.insert(0, ("", "—"))
        return forms.TypedChoiceField(
            choices=choices,
            coerce=by_text.__getitem__,
            empty_value=None,
            required=False,
            initial=None if default is None else str(default),
            label=label,
            help_text=help_text,
        )
    if kind == "str":
        return forms.CharField(required=False, initial=default, label=label, help_text=help_text)
    return JSONTextField(
        required=False,
        initial=default,
        label=f"{label} (JSON)",
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )


def _plain_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


FieldT = TypeVar("FieldT", bound=forms.Field)


def field_of(form: forms.BaseForm, name: str, kind: type[FieldT]) -> FieldT:
    """``form.fields[name]`` as the field class it was declared with, for setting its choices.

    ``BaseForm.fields`` holds plain ``Field``s as far as a type checker knows; the declaration says
    more, and this states it once instead of at every assignment.
    """
    field = form.fields[name]
    assert isinstance(field, kind), f"{name} is a {type(field).__name__}, not a {kind.__name__}"
    return field


if TYPE_CHECKING:  # django-stubs makes the field generic; Django's own class is not subscriptable
    _StudyChoiceField = forms.ModelChoiceField[Study]
else:
    _StudyChoiceField = forms.ModelChoiceField


class WarmStartField(_StudyChoiceField):
    """A choice of the owner's measured studies, each shown with what it measured."""

    def label_from_instance(self, obj: Study) -> str:
        objectives = ", ".join(o["name"] for o in obj.objectives)
        return f"{obj.name} ({getattr(obj, 'n_measured', '?')} measured: {objectives})"
