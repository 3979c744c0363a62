"""The bridge between database rows and the engine: the only package that imports search_engine.

Views and jobs call these functions; they decide nothing about optimisation themselves. State
changes happen in transactions, and work is enqueued only after the transaction commits, so a job
never starts on rows another transaction has not written yet. One module per topic:
``configs`` (studies and presets as engine configurations), ``lifecycle`` (start, pause, ...),
``scheduling`` (the queue), ``iterations`` (what a job does), ``reconcile``, ``progress``,
``form_support``.
"""

from __future__ import annotations

from hytnas_web.studies.services.configs import (
    clone_study,
    preset_components,
    save_preset,
    save_study,
    study_config,
    sync_builtin_presets,
)
from hytnas_web.studies.services.form_support import (
    ConfigError,
    DataError,
    available_presets,
    component_catalogue,
    config_from_form,
    default_objectives,
    study_tables,
)
from hytnas_web.studies.services.iterations import run_iteration
from hytnas_web.studies.services.lifecycle import (
    ActionNotAllowed,
    allowed_actions,
    cancel_study,
    pause_study,
    resume_study,
    retry_study,
    start_study,
)
from hytnas_web.studies.services.progress import study_progress
from hytnas_web.studies.services.reconcile import reconcile
from hytnas_web.studies.services.scheduling import enqueue_iteration

__all__ = [
    "ActionNotAllowed",
    "ConfigError",
    "DataError",
    "allowed_actions",
    "available_presets",
    "cancel_study",
    "clone_study",
    "component_catalogue",
    "config_from_form",
    "default_objectives",
    "enqueue_iteration",
    "pause_study",
    "preset_components",
    "reconcile",
    "resume_study",
    "retry_study",
    "run_iteration",
    "save_preset",
    "save_study",
    "start_study",
    "study_config",
    "study_progress",
    "study_tables",
    "sync_builtin_presets",
]
