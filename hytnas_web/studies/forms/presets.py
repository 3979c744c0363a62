"""The save-as-preset form of a study's page."""

from __future__ import annotations

from django import forms


class SavePresetForm(forms.Form):
    """Name and key of a preset saved from a study's components and sizes."""

    label = forms.CharField(max_length=120, label="Preset name")
    key = forms.SlugField(max_length=60, help_text="Short identifier: letters, digits, - and _.")
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
