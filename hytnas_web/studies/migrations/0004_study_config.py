"""A study's configuration moves into one JSON field, ``StudyConfig.to_dict()``; a preset's into one too.

Adds ``Study.config`` (with the columns queries need, derived from it) and ``Preset.optimizer``,
and fills them from the old columns and ComponentSetting rows; ``0005`` then drops those. The old
columns become nullable first, so that going back (``0005`` reversed, then this one) can re-add
them empty before this migration's backward step fills them again.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

COMPONENT_KINDS = ("sampler", "surrogate", "acquisition", "solver", "selection")

DEFAULT_COMPONENTS = {
    "sampler": "uniform",
    "surrogate": "xgboost",
    "acquisition": "identity",
    "solver": "nsga2",
    "selection": "hvi",
}
"""StudyConfig's defaults when this migration was written, for a study lacking a component row (only
the admin could remove one); ``StudyConfig.from_dict`` filled them in the same way at read time."""

SIZES = ("n_init", "batch_size", "budget", "seed", "patience")


def _components(rows: Any) -> dict[str, dict[str, Any]]:
    return {row.kind: {"name": row.name, "params": dict(row.params or {})} for row in rows}


def _evaluator_name(evaluator: Any) -> str:
    name = evaluator.get("name") if isinstance(evaluator, dict) else None
    return name if isinstance(name, str) else ""


def columns_to_config(apps: Any, schema_editor: Any) -> None:
    """Each study's columns and component rows become its ``config``; each preset's its ``optimizer``."""
    Study = apps.get_model("studies", "Study")
    Preset = apps.get_model("studies", "Preset")
    ComponentSetting = apps.get_model("studies", "ComponentSetting")
    for study in Study.objects.all().iterator():
        chosen = _components(ComponentSetting.objects.filter(study_id=study.pk))
        study.config = {
            "space": study.space,
            "evaluator": study.evaluator,
            "objectives": study.objectives,
            "ref_point": study.ref_point,
            **{
                kind: chosen.get(kind, {"name": DEFAULT_COMPONENTS[kind], "params": {}})
                for kind in COMPONENT_KINDS
            },
            **{size: getattr(study, size) for size in SIZES},
        }
        study.evaluator_name = _evaluator_name(study.evaluator)
        study.n_objectives = len(study.objectives or [])
        study.save(update_fields=["config", "evaluator_name", "n_objectives"])
    for preset in Preset.objects.all().iterator():
        preset.optimizer = {
            "components": _components(ComponentSetting.objects.filter(preset_id=preset.pk)),
            "n_init": preset.n_init,
            "batch_size": preset.batch_size,
        }
        preset.save(update_fields=["optimizer"])


def config_to_columns(apps: Any, schema_editor: Any) -> None:
    """Back: the old columns and component rows from ``config`` and ``optimizer``."""
    Study = apps.get_model("studies", "Study")
    Preset = apps.get_model("studies", "Preset")
    ComponentSetting = apps.get_model("studies", "ComponentSetting")
    for study in Study.objects.all().iterator():
        config = study.config
        for name in ("space", "evaluator", "objectives", "ref_point", *SIZES):
            setattr(study, name, config[name])
        study.save(update_fields=["space", "evaluator", "objectives", "ref_point", *SIZES])
        ComponentSetting.objects.filter(study_id=study.pk).delete()
        ComponentSetting.objects.bulk_create(
            ComponentSetting(study_id=study.pk, kind=kind, name=config[kind]["name"], params=config[kind]["params"])
            for kind in COMPONENT_KINDS
        )
    for preset in Preset.objects.all().iterator():
        optimizer = preset.optimizer
        preset.n_init, preset.batch_size = optimizer["n_init"], optimizer["batch_size"]
        preset.save(update_fields=["n_init", "batch_size"])
        ComponentSetting.objects.filter(preset_id=preset.pk).delete()
        ComponentSetting.objects.bulk_create(
            ComponentSetting(preset_id=preset.pk, kind=kind, name=spec["name"], params=spec["params"])
            for kind, spec in optimizer["components"].items()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0003_remote_evaluation"),
    ]

    operations = [
        *(
            migrations.AlterField(
                model_name="study", name=name, field=models.JSONField(null=True, blank=True)
            )
            for name in ("space", "evaluator", "objectives")
        ),
        *(
            migrations.AlterField(
                model_name=model, name=name, field=models.PositiveIntegerField(null=True, blank=True)
            )
            for model, name in (
                ("study", "n_init"),
                ("study", "batch_size"),
                ("study", "budget"),
                ("preset", "n_init"),
                ("preset", "batch_size"),
            )
        ),
        migrations.AddField(
            model_name="study",
            name="config",
            field=models.JSONField(
                null=True, help_text="the engine's StudyConfig.to_dict(), validated when saved"
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="evaluator_name",
            field=models.CharField(
                default="",
                editable=False,
                help_text="config's evaluator name (derived on save, for queries)",
                max_length=60,
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="n_objectives",
            field=models.PositiveSmallIntegerField(
                default=0,
                editable=False,
                help_text="config's number of objectives (derived on save, for queries)",
            ),
        ),
        migrations.AddField(
            model_name="preset",
            name="optimizer",
            field=models.JSONField(
                null=True,
                help_text='{"components": {kind: {name, params}}, "n_init", "batch_size"}',
            ),
        ),
        migrations.RunPython(columns_to_config, config_to_columns),
    ]
