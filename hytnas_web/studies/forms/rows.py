"""The study form's repeated rows as formsets: objectives, and the measured tables' uploads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from hytnas_web.studies.formatting import file_size
from hytnas_web.studies.forms.components import ChoiceForm
from hytnas_web.studies.services.kept_tables import KeptTable

OBJECTIVE_ROWS = 5
"""Objective rows in the form: the most objectives a benchmark problem reports."""

TABLE_SLOTS = 5
"""Upload slots for measured tables: one per objective at most."""


class RowForm(forms.Form):
    """A formset row that knows its 1-based position, for labels that say which row they belong to."""

    def __init__(self, *args: Any, number: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.number = number


class RowFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    """A fixed number of rows, each told its number."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "number": (index or 0) + 1}


AS_THE_EVALUATORS_MODEL = "as the evaluator's model"
"""The regressor choice of an objective row that leaves its objective to the table evaluator's ``model``."""


class ObjectiveForm(RowForm):
    """One objective: its name (a blank row is ignored), direction, unit and, for a table study, regressor.

    ``regressors`` are the table evaluator's declared model choices (its ``model`` parameter's);
    a row's choice goes to the evaluator's ``objective_models``, blank leaves it to ``model``.
    """

    name = forms.CharField(required=False, max_length=60)
    direction = forms.ChoiceField(choices=[("min", "minimise"), ("max", "maximise")], initial="min")
    unit = forms.CharField(required=False, max_length=20)
    model = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, regressors: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model = self.fields["model"]
        assert isinstance(model, forms.ChoiceField)
        model.choices = [("", AS_THE_EVALUATORS_MODEL), *((key, key) for key in regressors)]
        for name, field in self.fields.items():
            # The table's column headers are the only visible labels.
            field.label = f"objective {self.number} {'regressor' if name == 'model' else name}"
            field.widget.attrs["aria-label"] = field.label

    def chosen_model(self) -> str | None:
        """The regressor chosen for this row's objective, or None to use the evaluator's model."""
        return self.cleaned_data.get("model") or None

    def objective(self) -> dict[str, str] | None:
        """``{name, direction, unit}``, or None for a blank row."""
        name = self.cleaned_data.get("name", "")
        if not name:
            return None
        return {"name": name, "direction": self.cleaned_data["direction"], "unit": self.cleaned_data["unit"]}


ObjectiveFormSet = forms.formset_factory(
    ObjectiveForm,
    formset=RowFormSet,
    extra=OBJECTIVE_ROWS,
    max_num=OBJECTIVE_ROWS,
    absolute_max=OBJECTIVE_ROWS,
    validate_max=True,
)


@dataclass(frozen=True)
class UploadedTable:
    """An upload's file name and text, once its size and encoding have been checked."""

    name: str
    text: str


class TableUploadForm(RowForm, ChoiceForm):
    """One measured table: a CSV file and, optionally, the objectives it measures.

    Part of the table evaluator's inputs: validated (and its upload read) only when that evaluator
    is the chosen one. ``kept`` is the table this slot kept from the form's previous post
    (``services.kept_tables``): it counts unless a new file replaces it or ``remove`` is ticked.
    """

    file = forms.FileField(required=False)
    objectives = forms.CharField(
        required=False,
        max_length=300,
        label="objectives it measures",
        help_text="Comma-separated names; blank: the objective columns its header names.",
    )
    remove = forms.BooleanField(required=False, label="remove the kept table")
    """Shown only beside a kept table (table_uploads.html)."""

    def __init__(self, *args: Any, kept: Mapping[int, KeptTable] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept = (kept or {}).get(self.number - 1)
        self.read: UploadedTable | None = None
        """The new file this post sent, once read."""
        self.unreadable = False
        """Whether this post sent a new file that could not be read (too large, not text)."""
        self.fields["file"].label = f"Table {self.number} (CSV)"

    def clean_file(self) -> UploadedTable | None:
        """The upload's text (too large, not UTF-8 text or holding NUL characters: a field error).

        Remembered apart from ``cleaned_data``, which loses it when an engine error lands on the input.
        """
        try:
            self.read = self._read_file()
        except ValidationError:
            self.unreadable = True
            raise
        return self.read

    def _read_file(self) -> UploadedTable | None:
        upload: UploadedFile[Any] | None = self.cleaned_data.get("file")
        if not upload:
            return None
        limit = settings.MAX_TABLE_UPLOAD_BYTES
        if upload.size is not None and upload.size > limit:
            raise ValidationError(
                f"{upload.name} is {file_size(upload.size)}; "
                f"the largest table accepted is {file_size(limit)}."
            )
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{upload.name} is not UTF-8 text (byte {exc.start + 1}).") from None
        if "\x00" in text:
            raise ValidationError(f"{upload.name} contains NUL characters; upload a CSV text file.")
        return UploadedTable((upload.name or "").replace("\x00", "") or f"table {self.number}", text)

    def upload(self) -> UploadedTable | None:
        """The table this slot holds: a new file, else the kept one unless removed; None for neither."""
        if self.read is not None:
            return self.read
        if self.kept is None or self.cleaned_data.get("remove") or self.unreadable:
            return None
        return UploadedTable(self.kept.name, self.kept.text)

    def to_keep(self) -> KeptTable | None:
        """What the slot keeps for the form's next post: its table (None: nothing)."""
        if self.unreadable:  # a new file that could not be read: what was kept stays
            return self.kept
        uploaded = self.upload()
        if uploaded is None:
            return None
        if self.kept is not None and self.kept.name == uploaded.name and self.kept.text == uploaded.text:
            return self.kept
        return KeptTable.of(uploaded.name, uploaded.text)

    def table(self) -> dict[str, Any] | None:
        """``{name, text, objectives}`` as ``services.config_from_form`` takes it; None without a table."""
        uploaded = self.upload()
        if uploaded is None:
            return None
        names = [n.strip() for n in self.cleaned_data.get("objectives", "").split(",")]
        return {"name": uploaded.name, "text": uploaded.text, "objectives": [n for n in names if n] or None}


TableFormSet = forms.formset_factory(
    TableUploadForm,
    formset=RowFormSet,
    extra=TABLE_SLOTS,
    max_num=TABLE_SLOTS,
    absolute_max=TABLE_SLOTS,
    validate_max=True,
)
