"""Warm start: measurements already there (imported, or copied from another study) are the initial design."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from search_engine.config import StudyConfig
from search_engine.optimizer import initial_design
from search_engine.setups import study_config
from tests.web.hardware_studies import make_hardware_study
from tests.web.study_form_data import form_post_data, small_zdt1
from tests.web.test_jobs import drive_in_process, wait_for

CREATE = reverse("studies-create")

MIXED_SPACE = {
    "name": "generic",
    "params": {
        "variables": [
            {"name": "width", "type": "int", "low": 1, "high": 8},
            {"name": "act", "type": "choice", "choices": ["relu", "gelu"]},
        ]
    },
}
ACCURACY = {"name": "accuracy", "direction": "max", "unit": "%"}
LATENCY = {"name": "latency", "direction": "min", "unit": "ms"}


def measured(
    owner: User, make_study: Callable[..., Study], name: str = "measured", config: StudyConfig | None = None
) -> Study:
    """A study (by default ZDT1 of 4 variables) whose initial design of 10 is measured, then cancelled."""
    study = make_study(owner, name=name) if config is None else services.save_study(owner, name, config)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    services.cancel_study(study)
    return study


def exported_rows(study: Study, n_rows: int) -> bytes:
    """The first ``n_rows`` rows of the study's evaluations export, with its header."""
    lines = "".join(services.export_evaluations_csv(study)).splitlines(keepends=True)
    return "".join(lines[: 1 + n_rows]).encode()


def initial_design_shown(client: Any, study: Study) -> str:
    """The "Initial design" figure of the study's page."""
    page = client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    found = re.search(r'<dd data-field="initial_design_text">([^<]*)</dd>', page)
    assert found is not None
    return found.group(1)


def warm_start_options(response: Any) -> set[int]:
    """Ids of the studies the form's warm-start choice offers."""
    select = re.search(r'<select name="warm_start_from".*?</select>', response.content.decode(), re.S)
    assert select is not None
    return {int(value) for value in re.findall(r'<option value="(\d+)"', select.group(0))}


# --- the initial design ---


@pytest.mark.django_db(transaction=True)
def test_a_study_importing_n_init_measurements_proposes_its_first_optimizer_batch_without_sampling(
    alice: User, alice_client: Any, make_study: Callable[..., Study], start_worker: Callable[..., Any]
) -> None:
    source = measured(alice, make_study)
    study = make_study(alice, name="warm", n_init=10, budget=30, batch_size=10)
    assert services.import_evaluations(study, exported_rows(source, 10)).n_imported == 10
    assert initial_design_shown(alice_client, study) == "10 imported, 0 to sample"
    services.start_study(study)
    start_worker()
    wait_for(lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED, 90, "the study")
    assert not study.evaluations.filter(source=Evaluation.Source.INITIAL).exists()
    first, *later = study.iterations.order_by("index")
    assert first.status == Iteration.Status.DONE and not first.evaluations.exists()
    assert first.hypervolume is not None and first.n_evaluations == 10  # the imported front
    assert first.diagnostics["warm_start"] == {"imported": 10, "copied": 0}
    proposed = study.evaluations.filter(iteration__index=1)
    assert proposed.count() == 10
    assert all(e.source == Evaluation.Source.OPTIMIZER and e.predicted_mean for e in proposed)
    assert study.evaluations.count() == 30 == len(set(study.evaluations.values_list("key", flat=True)))
    assert [it.index for it in later] == [1, 2]
    assert initial_design_shown(alice_client, study) == "10 imported, 0 sampled"


@pytest.mark.django_db(transaction=True)
def test_a_study_with_fewer_measurements_than_n_init_samples_exactly_the_missing_ones(
    alice: User, alice_client: Any, make_study: Callable[..., Study], rq_queues: str
) -> None:
    source = measured(alice, make_study)
    study = make_study(alice, name="warm", n_init=10, budget=30, batch_size=10)
    services.import_evaluations(study, exported_rows(source, 4))
    assert initial_design_shown(alice_client, study) == "4 imported, 6 to sample"
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    sampled = study.evaluations.filter(source=Evaluation.Source.INITIAL)
    assert sampled.count() == 6 and set(sampled.values_list("iteration__index", flat=True)) == {0}
    imported = set(study.evaluations.filter(source=Evaluation.Source.IMPORTED).values_list("key", flat=True))
    assert imported.isdisjoint(sampled.values_list("key", flat=True))
    assert initial_design_shown(alice_client, study) == "4 imported, 6 sampled"
    drive_in_process(study)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED and study.evaluations.count() == 30
    assert list(study.iterations.order_by("index").values_list("n_evaluations", flat=True)) == [10, 20, 30]


def test_measurements_filling_the_budget_complete_the_study_without_proposing(
    alice: User, make_study: Callable[..., Study]
) -> None:
    source = measured(alice, make_study)
    study = make_study(alice, name="warm", n_init=5, budget=8, batch_size=4)
    services.import_evaluations(study, exported_rows(source, 8))
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED and study.evaluations.count() == 8
    assert study.iterations.get(index=0).hypervolume is not None


def test_the_page_plans_the_iterations_the_budget_leaves_after_the_measurements(
    alice: User, make_study: Callable[..., Study]
) -> None:
    source = measured(alice, make_study)
    study = make_study(alice, name="warm", n_init=5, budget=30, batch_size=10)
    assert services.study_progress(study)["n_iterations_planned"] == 4  # 5 sampled, then 10 + 10 + 5
    services.import_evaluations(study, exported_rows(source, 10))
    assert services.study_progress(study)["n_iterations_planned"] == 3  # nothing sampled, then 10 + 10


# --- starting from another study ---


def test_starting_from_another_study_copies_its_measurements_and_the_page_counts_them(
    alice: User, alice_client: Any, make_study: Callable[..., Study]
) -> None:
    source = measured(alice, make_study, name="ZDT1 first run")
    Evaluation.objects.filter(pk=source.evaluations.first().pk).update(
        stage_latency={"backbone": 7.25, "neck": 3.5, "head": 1.0}, metrics={"params": 1200}
    )
    Evaluation.objects.filter(pk=source.evaluations.last().pk).update(status=Evaluation.Status.FAILED)
    data = form_post_data(alice_client, **small_zdt1(n_init="15", warm_start_from=str(source.pk)))
    response = alice_client.post(CREATE, data)
    assert response.status_code == 302
    study = Study.objects.get(owner=alice, name="ZDT1 from the form")
    assert study.warm_start_from == source
    originals = {e.key: e for e in source.evaluations.filter(status=Evaluation.Status.DONE)}
    copies = {e.key: e for e in study.evaluations.all()}
    assert copies.keys() == originals.keys() and len(copies) == 9  # the failed one stays behind
    for key, copy in copies.items():
        original = originals[key]
        assert copy.source == Evaluation.Source.COPIED and copy.status == Evaluation.Status.DONE
        assert (copy.x, copy.architecture, copy.objectives) == (
            original.x,
            original.architecture,
            original.objectives,
        )
        assert (copy.stage_latency, copy.metrics) == (original.stage_latency, original.metrics)
        assert copy.iteration is None and copy.predicted_mean is None
    assert initial_design_shown(alice_client, study) == "9 copied from “ZDT1 first run”, 6 to sample"
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    assert study.evaluations.filter(source=Evaluation.Source.INITIAL).count() == 6
    assert initial_design_shown(alice_client, study) == "9 copied from “ZDT1 first run”, 6 sampled"
    assert source.evaluations.count() == 10  # the source study is left as it was


def test_copied_objectives_follow_the_new_studys_order(alice: User, make_study: Callable[..., Study]) -> None:
    source = make_study(alice, name="latency first", space=MIXED_SPACE, objectives=[LATENCY, ACCURACY])
    services.import_evaluations(
        source, b"width,act,latency (ms),accuracy (%)\n3,relu,12.5,71\n4,gelu,20,75\n"
    )
    config = StudyConfig.from_dict({**source.config, "objectives": [ACCURACY, LATENCY]})
    assert services.warm_start_problem(source, config) is None
    study = services.save_study(alice, "accuracy first", config, warm_start_from=source)
    assert sorted(study.evaluations.values_list("objectives", flat=True)) == [[71, 12.5], [75, 20]]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"objectives": [ACCURACY, {**LATENCY, "unit": "s"}]}, "measured “latency” in ms, this study in s"),
        (
            {"objectives": [ACCURACY, {**LATENCY, "direction": "max"}]},
            "minimises “latency”, this study maximises",
        ),
        ({"objectives": [ACCURACY, {"name": "energy", "direction": "min", "unit": "mJ"}]}, "did not measure"),
        (
            {"space": {**MIXED_SPACE, "params": {"variables": MIXED_SPACE["params"]["variables"][:1]}}},
            "space",
        ),
    ],
)
def test_a_study_that_measured_something_else_cannot_warm_start(
    alice: User, make_study: Callable[..., Study], change: dict[str, Any], reason: str
) -> None:
    source = make_study(alice, name="mixed", space=MIXED_SPACE, objectives=[ACCURACY, LATENCY])
    services.import_evaluations(source, b"width,act,accuracy (%),latency (ms)\n3,relu,71,12.5\n")
    config = StudyConfig.from_dict({**source.config, **change})
    problem = services.warm_start_problem(source, config)
    assert problem is not None and reason in problem


# --- the form field ---


def test_the_form_offers_only_the_owners_studies_with_measurements(
    alice: User, bob: User, alice_client: Any, make_study: Callable[..., Study]
) -> None:
    alices = measured(alice, make_study)
    unmeasured = make_study(alice, name="draft")
    bobs = measured(bob, make_study, name="bob's")
    offered = warm_start_options(alice_client.get(CREATE))
    assert alices.pk in offered and unmeasured.pk not in offered and bobs.pk not in offered


def test_bob_cannot_start_from_alices_study(
    alice: User, bob: User, bob_client: Any, make_study: Callable[..., Study]
) -> None:
    alices = measured(alice, make_study)
    data = form_post_data(bob_client, **small_zdt1(warm_start_from=str(alices.pk)))
    response = bob_client.post(CREATE, data)
    assert response.status_code == 200
    assert response.context["form"].errors["warm_start_from"]
    assert not Study.objects.filter(owner=bob).exists()


def test_a_study_of_another_space_is_refused_at_the_field(
    alice: User, alice_client: Any, make_study: Callable[..., Study]
) -> None:
    six = study_config("zdt1", "hytnas", budget=30, n_init=10, batch_size=10, n_var=6)
    six_variables = measured(alice, make_study, name="six variables", config=six)
    data = form_post_data(alice_client, **small_zdt1(warm_start_from=str(six_variables.pk)))
    response = alice_client.post(CREATE, data)
    assert response.status_code == 200
    [error] = response.context["form"].errors["warm_start_from"]
    assert "“six variables” searches a different space" in error
    assert error.replace("'", "&#x27;") in response.content.decode()  # shown next to the choice
    assert Study.objects.filter(owner=alice).count() == 1


def test_a_study_without_measurements_before_it_samples_its_whole_initial_design(
    alice: User, alice_client: Any, make_study: Callable[..., Study]
) -> None:
    study = make_study(alice)
    assert initial_design_shown(alice_client, study) == "10 to sample"
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    assert study.evaluations.filter(source=Evaluation.Source.INITIAL).count() == 10
    assert initial_design_shown(alice_client, study) == "10 sampled"
    # An initial design drawn before warm starts were recorded reads the same.
    Iteration.objects.filter(study=study, index=0).update(diagnostics={"initial_design": True})
    assert initial_design_shown(alice_client, study) == "10 sampled"


def test_a_warm_started_remote_study_hands_its_first_optimizer_batch_to_the_workers(alice: User) -> None:
    study = make_hardware_study(alice, budget=7)  # n_init 3, batch size 2, measured by evaluation workers
    config = services.study_config(study)
    space = config.build_space()
    X = initial_design(config, 4, seed=5)  # (4, n_vars) architectures measured elsewhere
    lines = [",".join([*space.names, "accuracy_proxy (score)", "latency (ms)"])]
    for i, architecture in enumerate(space.decode(X)):
        lines.append(
            ",".join([*(str(architecture[name]) for name in space.names), str(10.0 + i), str(30 - i)])
        )
    assert services.import_evaluations(study, ("\n".join(lines) + "\n").encode()).n_imported == 4
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="in-test")
    outcome = services.run_iteration(study.pk, 1, job_id="in-test")
    assert outcome == "waiting for 2 evaluation(s) on evaluation workers"
    assert not study.evaluations.filter(source=Evaluation.Source.INITIAL).exists()
    pending = study.evaluations.filter(status=Evaluation.Status.PENDING)
    assert pending.count() == 2 and {e.source for e in pending} == {Evaluation.Source.OPTIMIZER}
