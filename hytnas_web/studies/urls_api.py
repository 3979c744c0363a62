"""Routes of the evaluation worker API (mounted at ``/api/v1/``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from hytnas_web.studies import views_api

urlpatterns: list[URLPattern] = [
    path("openapi.json", views_api.openapi, name="api-openapi"),
    path("worker", views_api.whoami, name="api-worker"),
    path("claims", views_api.claims, name="api-claims"),
    path("leases/<uuid:lease_id>/extend", views_api.extend, name="api-lease-extend"),
    path("evaluations/<int:evaluation_id>/report", views_api.report, name="api-report"),
]
