"""The form that issues a worker token."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from hytnas_web.studies.forms.fields import field_of
from hytnas_web.studies.models import Study


class WorkerTokenForm(forms.Form):
    """A new worker token: what the worker is called and which of the owner's studies it may serve.

    The scope offers only the owner's studies; a posted id of anyone else's study is refused as an
    invalid choice, so a token can never reach work its owner could not see.
    """

    name = forms.CharField(
        max_length=120,
        help_text="What the worker is, e.g. “Raspberry Pi 5, lab bench”: it tells your tokens apart.",
    )
    study = forms.ModelChoiceField(
        queryset=Study.objects.none(),
        required=False,
        empty_label="any of my studies",
        label="Scope",
        help_text="A token for one study takes only that study's work; otherwise it serves all of yours.",
        error_messages={"invalid_choice": "Choose one of your own studies, or any of them."},
    )

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field_of(self, "study", forms.ModelChoiceField).queryset = Study.objects.filter(owner=owner).order_by(
            "-updated_at"
        )
