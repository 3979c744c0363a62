"""A study's configuration: stored once as StudyConfig.to_dict(), validated when saved, trusted after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Preset, Study
from search_engine.config import ComponentSpec, StudyConfig
from search_engine.errors import ConfigError
from tests.web.conftest import zdt1_config_dict
from tests.web.stored_config import store_config
from tests.web.study_form_data import form_post_data, small_zdt1
from tests.web.test_jobs import drive_in_process

CREATE = reverse("studies-create")


def unusual_config() -> StudyConfig:
    """A configuration whose every field differs from the engine's defaults."""
    return StudyConfig.from_dict(
        zdt1_config_dict(
            ref_point=[1.2, 3.5],
            sampler={"name": "lhs", "params": {}},
            surrogate={"name": "gp", "params": {"nu": 1.5}},
            acquisition={"name": "ucb", "params": {"beta": 2.5}},
            selection={"name": "hvi", "params": {}},
            n_init=6,
            batch_size=4,
            budget=22,
            seed=17,
            patience=3,
        )
    )


def test_a_saved_studys_configuration_reads_back_exactly(alice: Any) -> None:
    config = unusual_config()
    saved = services.save_study(alice, "Unusual", config)
    study = Study.objects.get(pk=saved.pk)
    assert services.study_config(study) == config
    assert study.config == config.to_dict()
    assert (study.evaluator_name, study.n_objectives) == ("benchmark", 2)
    assert (study.n_init, study.batch_size, study.budget, study.seed, study.patience) == (6, 4, 22, 17, 3)
    assert study.components["acquisition"] == {"name": "ucb", "params": {"beta": 2.5}}


def test_a_configuration_is_checked_before_anything_is_stored(alice: Any) -> None:
    config = unusual_config().with_changes(budget=5)
    with pytest.raises(ConfigError) as refused:
        services.save_study(alice, "Too small", config)
    assert refused.value.field == "budget"
    assert not Study.objects.exists()


def test_a_stored_configuration_is_read_back_without_checking_it_again(alice: Any, make_study: Any) -> None:
    # The registry no longer knows this surrogate: reading the configuration still works, building it
    # (in the iteration job) is where it fails.
    study = store_config(make_study(alice), surrogate={"name": "retired", "params": {}})
    config = services.study_config(study)
    assert config.surrogate == ComponentSpec("retired")
    with pytest.raises(ConfigError):
        config.build_surrogate()


def test_the_query_columns_follow_the_configuration(alice: Any, make_study: Any) -> None:
    three = [{"name": f"f{i}", "direction": "min", "unit": ""} for i in (1, 2, 3)]
    study = store_config(make_study(alice), objectives=three, evaluator={"name": "remote", "params": {}})
    study = Study.objects.get(pk=study.pk)
    assert (study.evaluator_name, study.n_objectives) == ("remote", 3)
    assert list(Study.objects.filter(evaluator_name="remote")) == [study]


def test_a_clone_keeps_the_configuration(alice: Any, make_study: Any) -> None:
    study = services.save_study(alice, "Unusual", unusual_config())
    copy = services.clone_study(study, alice)
    assert copy.pk != study.pk and copy.config == study.config


def test_an_unedited_clone_through_the_form_keeps_the_configuration(alice_client: Any, alice: Any) -> None:
    data = form_post_data(alice_client, **small_zdt1(ref_point="1.1, 1.1"))
    assert alice_client.post(CREATE, data).status_code == 302
    original = Study.objects.get(owner=alice)
    data = form_post_data(alice_client, f"{CREATE}?clone={original.pk}")
    assert alice_client.post(CREATE, data).status_code == 302
    copy = Study.objects.exclude(pk=original.pk).get()
    assert copy.config == original.config


def test_a_study_made_from_a_saved_preset_has_its_components_and_sizes(alice_client: Any, alice: Any) -> None:
    source = services.save_study(alice, "Unusual", unusual_config())
    preset = services.save_preset(alice, source, key="unusual", label="Unusual")
    preset = Preset.objects.get(pk=preset.pk)
    assert preset.optimizer == {"components": source.components, "n_init": 6, "batch_size": 4, "auto": False}
    data = form_post_data(alice_client, f"{CREATE}?preset={preset.pk}", name="From the preset")
    assert alice_client.post(CREATE, data).status_code == 302
    made = Study.objects.get(name="From the preset")
    # The form writes every parameter out, defaults included; the preset's own values are all there.
    assert {kind: spec["name"] for kind, spec in made.components.items()} == {
        kind: spec["name"] for kind, spec in source.components.items()
    }
    for kind, spec in source.components.items():
        assert made.components[kind]["params"].items() >= spec["params"].items(), kind
    assert (made.n_init, made.batch_size, made.preset) == (6, 4, preset)


@pytest.mark.django_db(transaction=True)
def test_the_iteration_job_proposes_the_batch_size_of_the_stored_configuration(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = store_config(make_study(alice, budget=16), batch_size=3)  # saved with batches of 10
    services.start_study(study)
    drive_in_process(study)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED
    sizes = [it.evaluations.count() for it in study.iterations.order_by("index")]
    assert sizes == [10, 3, 3]


@pytest.mark.django_db(transaction=True)
def test_a_derived_reference_point_joins_the_stored_configuration(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = make_study(alice, budget=20, ref_point=None)
    assert study.ref_point is None
    services.start_study(study)
    drive_in_process(study)
    study.refresh_from_db()
    assert study.ref_point_derived and study.ref_point is not None and len(study.ref_point) == 2
    assert services.study_config(study).ref_point == tuple(study.ref_point)


# --- the migration from columns and component rows ---

BEFORE = [("studies", "0003_remote_evaluation")]


@pytest.fixture
def migrator(transactional_db: None) -> Iterator[MigrationExecutor]:
    """A migration executor; the schema is brought back to the latest migration afterwards."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("studies")
    try:
        yield executor
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)


def migrate(executor: MigrationExecutor, target: list[tuple[str, str]]) -> Any:
    """Migrate to ``target``; returns the historical apps there."""
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


OLD_COLUMNS = {
    "space": zdt1_config_dict()["space"],
    "evaluator": zdt1_config_dict()["evaluator"],
    "objectives": [
        {"name": "f1", "direction": "min", "unit": ""},
        {"name": "f2", "direction": "min", "unit": "ms"},
    ],
    "ref_point": [1.1, 1.1],
    "ref_point_derived": True,
    "n_init": 8,
    "batch_size": 4,
    "budget": 40,
    "seed": 3,
    "patience": 5,
}


def test_the_migration_moves_an_old_study_row_into_its_configuration(
    migrator: MigrationExecutor, alice: Any
) -> None:
    old = migrate(migrator, BEFORE)
    study = old.get_model("studies", "Study").objects.create(owner_id=alice.pk, name="Old", **OLD_COLUMNS)
    preset = old.get_model("studies", "Preset").objects.create(key="old", label="Old", n_init=8, batch_size=4)
    rows = old.get_model("studies", "ComponentSetting").objects
    for kind, name, params in (
        ("sampler", "lhs", {}),
        ("surrogate", "gp", {"nu": 1.5}),
        ("acquisition", "ucb", {"beta": 2.5}),
        ("solver", "nsga2", {"pop_size": 20}),  # no selection row: the engine's default applies
    ):
        rows.create(study_id=study.pk, kind=kind, name=name, params=params)
    rows.create(preset_id=preset.pk, kind="surrogate", name="gp", params={"nu": 2.5})

    migrate(migrator, migrator.loader.graph.leaf_nodes("studies"))

    moved = Study.objects.get(pk=study.pk)
    sizes = ("n_init", "batch_size", "budget", "seed", "patience")
    assert moved.config == {
        **{name: OLD_COLUMNS[name] for name in ("space", "evaluator", "objectives", "ref_point", *sizes)},
        "sampler": {"name": "lhs", "params": {}},
        "surrogate": {"name": "gp", "params": {"nu": 1.5}},
        "acquisition": {"name": "ucb", "params": {"beta": 2.5}},
        "solver": {"name": "nsga2", "params": {"pop_size": 20}},
        "selection": {"name": "hvi", "params": {}},
    }
    assert moved.ref_point_derived and (moved.evaluator_name, moved.n_objectives) == ("benchmark", 2)
    services.study_config(moved).validate()
    read_back = services.study_config(moved).to_dict()
    assert {name: read_back[name] for name in moved.config} == moved.config  # newer fields take defaults
    assert Preset.objects.get(pk=preset.pk).optimizer == {
        "components": {"surrogate": {"name": "gp", "params": {"nu": 2.5}}},
        "n_init": 8,
        "batch_size": 4,
    }


def test_the_migration_goes_back_to_columns_and_forward_again(
    migrator: MigrationExecutor, alice: Any
) -> None:
    study = services.save_study(alice, "Unusual", unusual_config())
    preset = services.save_preset(alice, study, key="unusual", label="Unusual")
    saved = Study.objects.get(pk=study.pk).config

    old = migrate(migrator, BEFORE)
    row = old.get_model("studies", "Study").objects.get(pk=study.pk)
    assert (row.n_init, row.batch_size, row.budget, row.seed, row.patience) == (6, 4, 22, 17, 3)
    assert row.ref_point == [1.2, 3.5]
    components = old.get_model("studies", "ComponentSetting").objects
    assert components.get(study_id=study.pk, kind="acquisition").params == {"beta": 2.5}
    assert components.filter(preset_id=preset.pk).count() == len(preset.components)  # feasibility too

    migrate(migrator, migrator.loader.graph.leaf_nodes("studies"))
    # The same configuration: fields the older schema did not store come back as their defaults.
    assert StudyConfig.from_dict(Study.objects.get(pk=study.pk).config) == StudyConfig.from_dict(saved)
    assert Preset.objects.get(pk=preset.pk).components == study.components
