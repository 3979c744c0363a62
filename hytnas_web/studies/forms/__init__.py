"""The site's forms: the study form (from Django's own parts), the save-as-preset and worker-token forms.

The study form is a main form (``study.StudyMainForm``), one sub-form per component choice
(``components``), formsets for objective rows and table uploads (``rows``) and its initial values
(``initial``); ``places`` says where an engine error lands.
"""

from __future__ import annotations

from hytnas_web.studies.forms.initial import StudyFormInitial, default_initial, initial_values
from hytnas_web.studies.forms.presets import SavePresetForm
from hytnas_web.studies.forms.study import StudyForm
from hytnas_web.studies.forms.tokens import WorkerTokenForm

__all__ = [
    "SavePresetForm",
    "StudyForm",
    "StudyFormInitial",
    "WorkerTokenForm",
    "default_initial",
    "initial_values",
]
