"""URL names carry the app prefix: studies-list, studies-detail, studies-start, ..."""

from __future__ import annotations

from django.urls import URLPattern, path

from hytnas_web.studies import (
    views,
    views_browse,
    views_csv,
    views_dashboard,
    views_drivers,
    views_manage,
    views_pending,
    views_predictor,
    views_tokens,
)

urlpatterns: list[URLPattern] = [
    path("", views.study_list, name="studies-list"),
    path("studies/new/", views.study_create, name="studies-create"),
    path("studies/<int:pk>/", views_dashboard.study_detail, name="studies-detail"),
    path("studies/<int:pk>/data.json", views_dashboard.study_dashboard_data, name="studies-dashboard-data"),
    *(
        path(f"studies/<int:pk>/{action}/", views.study_action, {"action": action}, name=f"studies-{action}")
        for action in views.ACTIONS
    ),
    path("studies/<int:pk>/clone/", views.study_clone, name="studies-clone"),
    path("studies/<int:pk>/save-preset/", views.study_save_preset, name="studies-save-preset"),
    path(
        "studies/<int:pk>/export/evaluations.csv",
        views_csv.study_export_evaluations,
        name="studies-export-evaluations",
    ),
    path("studies/<int:pk>/export/pareto.csv", views_csv.study_export_pareto, name="studies-export-pareto"),
    path(
        "studies/<int:pk>/export/history.csv", views_csv.study_export_history, name="studies-export-history"
    ),
    path("studies/<int:pk>/import/", views_csv.study_import, name="studies-import"),
    path("studies/<int:pk>/pending/work.csv", views_pending.study_pending_csv, name="studies-pending-csv"),
    path(
        "studies/<int:pk>/pending/upload/", views_pending.study_pending_upload, name="studies-pending-upload"
    ),
    path(
        "studies/<int:pk>/pending/<int:evaluation_pk>/",
        views_pending.study_pending_entry,
        name="studies-pending-entry",
    ),
    path("studies/<int:pk>/drivers/", views_drivers.study_drivers, name="studies-drivers"),
    path(
        "studies/<int:pk>/latency-predictor/",
        views_predictor.study_latency_predictor,
        name="studies-latency-predictor",
    ),
    path(
        "studies/<int:pk>/latency-predictor/remeasure/",
        views_predictor.study_remeasure_predicted_front,
        name="studies-remeasure-predicted-front",
    ),
    path("studies/compare/", views_browse.study_compare, name="studies-compare"),
    path("studies/<int:pk>/architectures/", views_browse.study_architectures, name="studies-architectures"),
    path(
        "studies/<int:pk>/architectures/<int:evaluation_pk>/",
        views_browse.study_architecture,
        name="studies-architecture",
    ),
    path("studies/<int:pk>/rename/", views_manage.study_rename, name="studies-rename"),
    path("studies/<int:pk>/notes/", views_manage.study_notes, name="studies-notes"),
    path("studies/<int:pk>/archive/", views_manage.study_archive, {"archived": True}, name="studies-archive"),
    path(
        "studies/<int:pk>/unarchive/",
        views_manage.study_archive,
        {"archived": False},
        name="studies-unarchive",
    ),
    path("studies/<int:pk>/delete/", views_manage.study_delete, name="studies-delete"),
    path(
        "studies/<int:pk>/remeasure-noisy/",
        views_manage.study_remeasure_noisy,
        name="studies-remeasure-noisy",
    ),
    path(
        "studies/<int:pk>/architectures/<int:evaluation_pk>/notes/",
        views_manage.evaluation_notes,
        name="studies-architecture-notes",
    ),
    path("workers/tokens/", views_tokens.token_list, name="studies-tokens"),
    path("workers/tokens/<int:pk>/revoke/", views_tokens.token_revoke, name="studies-tokens-revoke"),
]
