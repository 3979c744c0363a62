"""Studies and presets as engine configurations: read, save, clone.

A study's configuration is stored once, as ``StudyConfig.to_dict()`` in ``Study.config``; it is
validated here when it is saved and trusted afterwards. A preset is stored as the engine preset's
``to_dict()`` without its name columns (``PRESET_FIELDS``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from hytnas_web.studies.models import ComponentKind, Preset, Study
from hytnas_web.studies.services.warm_start import copy_measurements
from search_engine.config import StudyConfig
from search_engine.presets import PRESETS

COMPONENT_KINDS = [kind.value for kind in ComponentKind]

PRESET_FIELDS = ("components", "n_init", "batch_size", "auto")
"""The part of an engine preset's ``to_dict()`` stored in ``Preset.optimizer`` (the rest are columns)."""


def study_config(study: Study) -> StudyConfig:
    """The engine configuration of ``study``, as validated when it was saved (not checked again)."""
    return StudyConfig.from_validated_dict(study.config)


@transaction.atomic
def save_study(
    owner: User,
    name: str,
    config: StudyConfig,
    preset: Preset | None = None,
    warm_start_from: Study | None = None,
) -> Study:
    """A new draft study holding ``config`` (validated first; ConfigError names the bad field).

    With ``warm_start_from`` (one of the owner's studies that ``warm_start_problem`` accepts), that
    study's successful measurements are copied in as the new study's initial design.
    """
    config.validate()
    study = Study.objects.create(owner=owner, name=name, config=config.to_dict(), preset=preset)
    if warm_start_from is not None:
        copy_measurements(warm_start_from, study)
    return study


def sync_builtin_presets() -> list[Preset]:
    """Make the built-in Preset rows match ``search_engine.presets`` (created or brought up to date)."""
    presets = []
    for key, engine_preset in PRESETS.items():
        data = engine_preset.to_dict()
        preset, _ = Preset.objects.update_or_create(
            owner=None,
            key=key,
            defaults={
                "label": data["label"],
                "description": data["description"],
                "optimizer": {field: data[field] for field in PRESET_FIELDS},
            },
        )
        presets.append(preset)
    return presets


def preset_components(preset: Preset) -> dict[str, dict[str, Any]]:
    """``{kind: {"name": ..., "params": {...}}}`` of a preset, for pre-filling the study form."""
    return preset.components


@transaction.atomic
def save_preset(owner: User, study: Study, key: str, label: str, description: str = "") -> Preset:
    """Save ``study``'s components and sizes as the owner's named preset (replacing one of the same key)."""
    Preset.objects.filter(owner=owner, key=key).delete()
    optimizer: dict[str, Any] = {
        "components": study.components,
        "n_init": study.n_init,
        "batch_size": study.batch_size,
        "auto": bool(study.config.get("auto", False)),
    }
    if study.config.get("in_flight") is not None:  # keeping N in flight, and how they condition proposals
        optimizer.update(in_flight=study.config["in_flight"], pending=study.config["pending"])
    return Preset.objects.create(
        owner=owner, key=key, label=label, description=description, optimizer=optimizer
    )


def clone_study(study: Study, owner: User, name: str | None = None) -> Study:
    """A new draft with ``study``'s configuration (no evaluations)."""
    return save_study(owner, name or f"{study.name} (copy)", study_config(study), preset=study.preset)
