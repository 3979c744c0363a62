"""Forms of the study list and of a study's housekeeping: rename, notes, and the list's filters."""

from __future__ import annotations

from typing import Any

from django import forms

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.housekeeping import MAX_NOTES_CHARS, STUDY_SORTS


class RenameStudyForm(forms.ModelForm[Study]):
    """A study's new name, with the model's own limits."""

    class Meta:
        model = Study
        fields = ["name"]
        error_messages = {"name": {"required": "A study needs a name."}}


def _notes_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=MAX_NOTES_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Your own words: what you tried, what you learnt. Blank removes the notes.",
    )


class StudyNotesForm(forms.ModelForm[Study]):
    """The study's notes."""

    notes = _notes_field()

    class Meta:
        model = Study
        fields = ["notes"]


class EvaluationNotesForm(forms.ModelForm[Evaluation]):
    """An architecture's notes."""

    notes = _notes_field()

    class Meta:
        model = Evaluation
        fields = ["notes"]


SORT_LABELS = {
    "updated": "Last activity",
    "created": "Newest",
    "name": "Name",
    "status": "Status",
    "evaluator": "Evaluator",
    "hypervolume": "Best hypervolume",
}
assert set(SORT_LABELS) == set(STUDY_SORTS)


class StudyListForm(forms.Form):
    """The study list's search, filters, order and page (all optional; bad values are ignored)."""

    q = forms.CharField(required=False, max_length=200, label="Search", strip=True)
    status = forms.ChoiceField(required=False, label="Status")
    evaluator = forms.ChoiceField(required=False, label="Evaluator")
    sort = forms.ChoiceField(required=False, label="Sort by", choices=list(SORT_LABELS.items()))
    archived = forms.BooleanField(required=False, label="Archived studies")
    page = forms.IntegerField(required=False, min_value=1, label="Page")

    def __init__(self, *args: Any, evaluators: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status_field = self.fields["status"]
        evaluator_field = self.fields["evaluator"]
        assert isinstance(status_field, forms.ChoiceField) and isinstance(evaluator_field, forms.ChoiceField)
        status_field.choices = [("", "Any status"), *Study.Status.choices]
        evaluator_field.choices = [("", "Any evaluator"), *((name, name) for name in evaluators)]

    def values(self) -> dict[str, Any]:
        """The valid filters, defaults in place of invalid ones (a stale link never makes an error page).

        Django leaves an invalid field out of ``cleaned_data``, so each falls back to its default.
        """
        self.is_valid()
        data = self.cleaned_data
        return {
            "text": data.get("q") or "",
            "status": data.get("status") or "",
            "evaluator": data.get("evaluator") or "",
            "sort": data.get("sort") or "updated",
            "archived": bool(data.get("archived")),
            "page": data.get("page") or 1,
        }
