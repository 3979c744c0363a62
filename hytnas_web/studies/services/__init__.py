"""The bridge between database rows and the engine: the only package that imports search_engine.

Views and jobs call these functions; they decide nothing about optimisation themselves. State
changes happen in transactions, and work is enqueued only after the transaction commits, so a job
never starts on rows another transaction has not written yet. One module per topic:
``configs`` (studies and presets as engine configurations), ``lifecycle`` (start, pause, ...),
``scheduling`` (the queue), ``iterations`` (what an iteration job does), ``evaluator_cache`` (an
evaluator built once per worker process), ``stages`` (a HyT-NAS network stage by stage, for the
pages), ``evaluations`` (measuring
outside the iteration job: evaluation jobs, recording results), ``remote_work`` with
``api_payloads`` and ``tokens`` (the evaluation worker API), ``reconcile``, ``noisy`` (why a
measurement is flagged noisy; measuring it again, the previous one kept), ``progress``,
``form_support`` with ``kept_tables`` (a study form's uploaded tables, kept for the form shown
again with errors) and ``table_fit`` (the table evaluator's cross-validated fit per objective,
cached), ``proxy_correlation`` (how much of an accuracy signal is network size),
``dashboard`` (with ``dashboard_polls`` and ``dashboard_rows``), ``browse``,
``compare``, ``feasibility`` (device budgets as pages show them), ``csv_export``, ``csv_import``,
``warm_start`` (measurements already there as the initial design), ``pending_work`` with
``pending_upload`` (an external study's pending work done by hand), ``devices``, ``workers_panel``,
``housekeeping`` (rename, notes, archive, delete, the study list's search), ``drivers`` (what
drives each objective), ``references`` (the measured reference architectures, MobileViT-XXS, XS
and S, for the Pareto chart's markers) and ``latency_predictor`` (a per-stage latency predictor
calibrated on a study's device measurements, cross-validated, cached by the measurements).
"""

from __future__ import annotations

from hytnas_web.studies.services.browse import (
    EvaluationBrowse,
    VariableColumn,
    VariableFilter,
    architecture_detail,
    browse_evaluations,
    pareto_evaluation_ids,
    variable_columns,
)
from hytnas_web.studies.services.compare import Comparison, compare_architectures, compare_studies
from hytnas_web.studies.services.configs import (
    clone_study,
    preset_components,
    save_preset,
    save_study,
    study_config,
    sync_builtin_presets,
)
from hytnas_web.studies.services.csv_export import (
    evaluation_columns,
    export_evaluations_csv,
    export_history_csv,
    export_pareto_csv,
    history_columns,
)
from hytnas_web.studies.services.csv_import import (
    ImportResult,
    RowProblem,
    import_columns,
    import_evaluations,
)
from hytnas_web.studies.services.dashboard import dashboard, dashboard_changes
from hytnas_web.studies.services.dashboard_polls import Version, dashboard_version
from hytnas_web.studies.services.devices import (
    device_details,
    device_label,
    measures_on_device,
)
from hytnas_web.studies.services.drivers import DriversPage, study_drivers
from hytnas_web.studies.services.evaluations import run_evaluation, study_dispatch
from hytnas_web.studies.services.feasibility import BudgetSummary, budget_summary
from hytnas_web.studies.services.form_support import (
    DEFAULT_PRESET,
    available_presets,
    component_catalogue,
    config_from_form,
    default_objectives,
    objective_defaults,
    study_tables,
)
from hytnas_web.studies.services.housekeeping import (
    DeletionLosses,
    delete_study,
    deletion_losses,
    find_studies,
    owner_evaluators,
    rename_study,
    set_archived,
    set_evaluation_notes,
    set_study_notes,
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
from hytnas_web.studies.services.tokens import (
    IssuedToken,
    authenticate_token,
    issue_token,
    revoke_token,
    token_studies,
    visible_tokens,
)
from hytnas_web.studies.services.versions import bump_version
from hytnas_web.studies.services.warm_start import (
    InitialDesign,
    initial_design_of,
    warm_start_candidates,
    warm_start_problem,
)
from hytnas_web.studies.services.workers_panel import WorkersPanel, workers_panel
from search_engine.errors import ConfigError, DataError

__all__ = [
    "DEFAULT_PRESET",
    "ActionNotAllowed",
    "BudgetSummary",
    "Comparison",
    "ConfigError",
    "DataError",
    "DeletionLosses",
    "DriversPage",
    "EvaluationBrowse",
    "ImportResult",
    "InitialDesign",
    "IssuedToken",
    "RowProblem",
    "VariableColumn",
    "VariableFilter",
    "Version",
    "WorkersPanel",
    "allowed_actions",
    "architecture_detail",
    "authenticate_token",
    "available_presets",
    "browse_evaluations",
    "budget_summary",
    "bump_version",
    "cancel_study",
    "clone_study",
    "compare_architectures",
    "compare_studies",
    "component_catalogue",
    "config_from_form",
    "dashboard",
    "dashboard_changes",
    "dashboard_version",
    "default_objectives",
    "delete_study",
    "deletion_losses",
    "device_details",
    "device_label",
    "enqueue_iteration",
    "evaluation_columns",
    "export_evaluations_csv",
    "export_history_csv",
    "export_pareto_csv",
    "find_studies",
    "history_columns",
    "import_columns",
    "import_evaluations",
    "initial_design_of",
    "issue_token",
    "measures_on_device",
    "objective_defaults",
    "owner_evaluators",
    "pareto_evaluation_ids",
    "pause_study",
    "preset_components",
    "reconcile",
    "rename_study",
    "resume_study",
    "retry_study",
    "revoke_token",
    "run_evaluation",
    "run_iteration",
    "save_preset",
    "save_study",
    "set_archived",
    "set_evaluation_notes",
    "set_study_notes",
    "start_study",
    "study_config",
    "study_dispatch",
    "study_drivers",
    "study_progress",
    "study_tables",
    "sync_builtin_presets",
    "token_studies",
    "variable_columns",
    "visible_tokens",
    "warm_start_candidates",
    "warm_start_problem",
    "workers_panel",
]
