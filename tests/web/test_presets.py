"""Built-in presets: kept in step with the engine's presets."""

from __future__ import annotations

import pytest

from hytnas_web.studies import services
from hytnas_web.studies.models import Preset
from search_engine.presets import PRESETS


@pytest.mark.django_db
def test_built_in_presets_follow_the_engine_presets() -> None:
    services.sync_builtin_presets()
    gp = Preset.objects.get(owner=None, key="gp")
    changed = {**gp.optimizer, "batch_size": 3}
    changed["components"] = {**gp.components, "surrogate": {"name": "xgboost", "params": {}}}
    Preset.objects.filter(pk=gp.pk).update(optimizer=changed)
    services.sync_builtin_presets()
    gp.refresh_from_db()
    assert gp.batch_size == PRESETS["gp"].batch_size
    assert services.preset_components(gp)["surrogate"] == PRESETS["gp"].components["surrogate"].to_dict()
    assert Preset.objects.filter(owner=None).count() == len(PRESETS)
