"""Admin pages for every model of the studies app."""

from __future__ import annotations

from django.contrib import admin

from hytnas_web.studies.models import ComponentSetting, Evaluation, Iteration, Preset, Study


class ComponentSettingInline(admin.TabularInline):
    model = ComponentSetting
    extra = 0


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "budget", "updated_at")
    list_filter = ("status",)
    search_fields = ("name", "owner__username")
    inlines = [ComponentSettingInline]


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
    list_display = ("label", "key", "owner", "n_init", "batch_size")
    inlines = [ComponentSettingInline]


@admin.register(ComponentSetting)
class ComponentSettingAdmin(admin.ModelAdmin):
    list_display = ("kind", "name", "study", "preset")
    list_filter = ("kind",)


@admin.register(Iteration)
class IterationAdmin(admin.ModelAdmin):
    list_display = ("study", "index", "status", "hypervolume", "n_evaluations", "attempts", "finished_at")
    list_filter = ("status",)


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ("study", "iteration", "source", "status", "key")
    list_filter = ("status", "source")
    search_fields = ("key",)
