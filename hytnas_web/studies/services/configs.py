"""Studies and presets as engine configurations: read, save, clone."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from hytnas_web.studies.models import ComponentKind, ComponentSetting, Preset, Study
from search_engine.config import ComponentSpec, StudyConfig
from search_engine.presets import PRESETS

COMPONENT_KINDS = [kind.value for kind in ComponentKind]


def study_config(study: Study) -> StudyConfig:
    """The engine configuration of ``study`` (not validated)."""
    components = {c.kind: ComponentSpec(c.name, dict(c.params)) for c in study.components.all()}
    return StudyConfig.from_dict(
        {
            "space": study.space,
            "evaluator": study.evaluator,
            "objectives": study.objectives,
            "ref_point": study.ref_point,
            **{kind: spec.to_dict() for kind, spec in components.items()},
            "n_init": study.n_init,
            "batch_size": study.batch_size,
            "budget": study.budget,
            "seed": study.seed,
            "patience": study.patience,
        }
    )


@transaction.atomic
def save_study(
    owner: AbstractBaseUser, name: str, config: StudyConfig, preset: Preset | None = None
) -> Study:
    """A new draft study holding ``config`` (validated first; ConfigError names the bad field)."""
    config.validate()
    data = config.to_dict()
    study = Study.objects.create(
        owner=owner,
        name=name,
        space=data["space"],
        evaluator=data["evaluator"],
        objectives=data["objectives"],
        ref_point=data["ref_point"],
        n_init=config.n_init,
        batch_size=config.batch_size,
        budget=config.budget,
        seed=config.seed,
        patience=config.patience,
        preset=preset,
    )
    ComponentSetting.objects.bulk_create(
        ComponentSetting(study=study, kind=kind, name=data[kind]["name"], params=data[kind]["params"])
        for kind in COMPONENT_KINDS
    )
    return study


def sync_builtin_presets() -> list[Preset]:
    """Make the built-in Preset rows match ``search_engine.presets`` (created or brought up to date)."""
    presets = []
    for key, engine_preset in PRESETS.items():
        with transaction.atomic():
            preset, _ = Preset.objects.update_or_create(
                owner=None,
                key=key,
                defaults={
                    "label": engine_preset.label,
                    "description": engine_preset.description,
                    "n_init": engine_preset.n_init,
                    "batch_size": engine_preset.batch_size,
                },
            )
            wanted = {kind: spec.to_dict() for kind, spec in engine_preset.components.items()}
            if preset_components(preset) != wanted:
                preset.components.all().delete()
                ComponentSetting.objects.bulk_create(
                    ComponentSetting(preset=preset, kind=kind, name=spec["name"], params=spec["params"])
                    for kind, spec in wanted.items()
                )
        presets.append(preset)
    return presets


def preset_components(preset: Preset) -> dict[str, dict[str, Any]]:
    """``{kind: {"name": ..., "params": {...}}}`` of a preset, for pre-filling the study form."""
    return {c.kind: c.to_spec() for c in preset.components.all()}


@transaction.atomic
def save_preset(owner: AbstractBaseUser, study: Study, key: str, label: str, description: str = "") -> Preset:
    """Save ``study``'s components and sizes as the owner's named preset (replacing one of the same key)."""
    Preset.objects.filter(owner=owner, key=key).delete()
    preset = Preset.objects.create(
        owner=owner,
        key=key,
        label=label,
        description=description,
        n_init=study.n_init,
        batch_size=study.batch_size,
    )
    ComponentSetting.objects.bulk_create(
        ComponentSetting(preset=preset, kind=c.kind, name=c.name, params=dict(c.params))
        for c in study.components.all()
    )
    return preset


def clone_study(study: Study, owner: AbstractBaseUser, name: str | None = None) -> Study:
    """A new draft with ``study``'s configuration (no evaluations)."""
    return save_study(owner, name or f"{study.name} (copy)", study_config(study), preset=study.preset)
