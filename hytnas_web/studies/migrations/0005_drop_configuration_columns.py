"""The configuration's old homes go: Study's columns, Preset's sizes and the ComponentSetting table.

``0004`` copied them into ``Study.config`` and ``Preset.optimizer``, which become required here.
"""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0004_study_config"),
    ]

    operations = [
        migrations.DeleteModel(name="ComponentSetting"),
        *(
            migrations.RemoveField(model_name="study", name=name)
            for name in (
                "space",
                "evaluator",
                "objectives",
                "ref_point",
                "n_init",
                "batch_size",
                "budget",
                "seed",
                "patience",
            )
        ),
        migrations.RemoveField(model_name="preset", name="n_init"),
        migrations.RemoveField(model_name="preset", name="batch_size"),
        migrations.AlterField(
            model_name="study",
            name="config",
            field=models.JSONField(help_text="the engine's StudyConfig.to_dict(), validated when saved"),
        ),
        migrations.AlterField(
            model_name="study",
            name="evaluator_name",
            field=models.CharField(
                editable=False,
                help_text="config's evaluator name (derived on save, for queries)",
                max_length=60,
            ),
        ),
        migrations.AlterField(
            model_name="study",
            name="n_objectives",
            field=models.PositiveSmallIntegerField(
                editable=False,
                help_text="config's number of objectives (derived on save, for queries)",
            ),
        ),
        migrations.AlterField(
            model_name="preset",
            name="optimizer",
            field=models.JSONField(
                help_text='{"components": {kind: {name, params}}, "n_init", "batch_size"}'
            ),
        ),
    ]
