"""Admin pages for every model of the studies app."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from hytnas_web.studies.models import Evaluation, Iteration, Lease, Preset, Study, WorkerToken


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin[Study]):
    """The configuration is shown, not edited: it was validated when the study was saved, and is trusted."""

    list_display = ("name", "owner", "status", "evaluator_name", "budget", "updated_at")
    list_filter = ("status", "evaluator_name")
    search_fields = ("name", "owner__username")
    readonly_fields = ("config", "evaluator_name", "n_objectives", "ref_point_derived")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a study is made through the study form, which validates its configuration


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin[Preset]):
    """A preset's optimizer is shown, not edited: built-in ones follow the engine, own ones a study."""

    list_display = ("label", "key", "owner", "n_init", "batch_size")
    readonly_fields = ("optimizer",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made from a study's page (Save as preset) or from search_engine.presets


@admin.register(Iteration)
class IterationAdmin(admin.ModelAdmin[Iteration]):
    list_display = ("study", "index", "status", "hypervolume", "n_evaluations", "attempts", "finished_at")
    list_filter = ("status",)


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin[Evaluation]):
    list_display = ("study", "iteration", "source", "status", "key", "attempts", "lease_expires_at")
    list_filter = ("status", "source")
    search_fields = ("key",)


@admin.register(WorkerToken)
class WorkerTokenAdmin(admin.ModelAdmin[WorkerToken]):
    """Tokens are made on the Worker tokens page (the secret is shown there once); here they are read."""

    list_display = ("name", "prefix", "owner", "study", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "owner__username")
    readonly_fields = ("digest", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin[Lease]):
    list_display = ("id", "token", "expires_at", "created_at")
    readonly_fields = ("id", "token", "device", "expires_at", "created_at")
