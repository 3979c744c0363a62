"""App configuration of the studies app."""

from __future__ import annotations

from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "hytnas_web.studies"
    label = "studies"
    verbose_name = "Studies"
