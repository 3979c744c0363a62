"""The latency predictor page: a torch study's per-stage predictor, cross-validated on its measurements."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from django.core.cache import cache
from django.urls import reverse

from hytnas_web.studies.models import Evaluation, Study
from search_engine.evaluators.latency_predictor import LatencyPredictor
from tests.web.stored_config import store_config

ACCURACY_LATENCY = [
    {"name": "accuracy", "direction": "max", "unit": "%"},
    {"name": "latency", "direction": "min", "unit": "ms"},
]
TORCH = {"name": "torch", "params": {"task": "detection", "resolution": 128}}


def torch_study(owner: Any, make_study: Any, n: int, seed: int = 0) -> Study:
    """A torch study on the HyT-NAS space with ``n`` measured architectures.

    Each stage's latency is its closed-form multiply-adds at 1 ms per million (±2 %), as on a
    device whose time follows the work done.
    """
    from search_engine.spaces.hytnas import HyTNASSpace

    study = make_study(owner, name="On the board")
    store_config(study, space={"name": "hytnas", "params": {}}, evaluator=TORCH, objectives=ACCURACY_LATENCY)
    space = HyTNASSpace()
    rng = np.random.default_rng(seed)
    X = space.sample_unique(n, rng)
    counts = space.known_quantities(X, TORCH["params"])
    for i, (point, key) in enumerate(zip(X, space.keys(X), strict=True)):
        stage_latency = {
            s: round(float(counts[f"macs.{s}"][i] / 1e6 * (1 + 0.02 * rng.standard_normal())), 4)
            for s in ("backbone", "neck", "head")
        }
        accuracy = 60 + 3 * float(np.log(counts["params"][i]))
        add_measurement(study, i, key, point.tolist(), stage_latency, accuracy)
    return study


def add_measurement(
    study: Study, position: int, key: str, x: list[float], stage: dict[str, float], accuracy: float = 70.0
) -> None:
    Evaluation.objects.create(
        study=study,
        position=position,
        key=key,
        x=x,
        architecture={},
        source=Evaluation.Source.IMPORTED,
        status=Evaluation.Status.DONE,
        objectives=[accuracy, sum(stage.values())],
        stage_latency=stage,
    )


def running(study: Study, **config: Any) -> Study:
    """``study`` running, with a small NSGA-II and batch (the search runs within the request)."""
    solver = {"name": "nsga2", "params": {"pop_size": 30, "n_gen": 5}}
    store_config(study, solver=solver, batch_size=4, **config)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    study.refresh_from_db()
    return study


def page_of(study: Study) -> str:
    return reverse("studies-latency-predictor", args=[study.pk])


def test_alice_sees_her_torch_studys_predictor_per_stage_with_predicted_against_measured(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    cache.clear()
    study = torch_study(alice, make_study, 40)
    response = alice_client.get(page_of(study))
    assert response.status_code == 200
    page = response.context["page"]
    assert page.reason == ""
    assert [row.stage for row in page.stages] == ["backbone", "neck", "head"]
    assert all(row.n_rows == 40 for row in page.stages)
    backbone = page.stages[0]
    assert backbone.within_10_percent is not None and backbone.within_10_percent > 0.5
    content = response.content.decode()
    assert f'<td class="num">{backbone.within_10_percent_text}</td>' in content
    figure = json.loads(
        content.split('id="predictor-scatter" type="application/json">')[1].split("</script>")[0]
    )
    names = [trace["name"] for trace in figure["data"]]
    assert names[:3] == ["backbone", "neck", "head"] and "±10 %" in names
    assert len(figure["data"][0]["x"]) == len(figure["data"][0]["y"]) == 40
    detail = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert f'href="{page_of(study)}"' in detail


def test_too_few_measurements_say_how_many_the_predictor_needs(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    cache.clear()
    study = torch_study(alice, make_study, 3)
    response = alice_client.get(page_of(study))
    assert response.status_code == 200
    assert (
        "3 architectures measured on the device so far; the latency predictor needs at least 10"
        in response.content.decode()
    )
    assert 'id="predictor-table"' not in response.content.decode()


def test_bob_cannot_see_alices_predictor(bob_client: Any, alice: Any, make_study: Any) -> None:
    study = torch_study(alice, make_study, 3)
    assert bob_client.get(page_of(study)).status_code == 404


def test_the_fit_is_cached_until_a_new_measurement_arrives(
    alice_client: Any, alice: Any, make_study: Any, monkeypatch: Any
) -> None:
    cache.clear()
    study = torch_study(alice, make_study, 12)
    fits: list[int] = []
    cross_validate = LatencyPredictor.cross_validate

    def counted(self: LatencyPredictor, inputs: Any, latency: Any) -> Any:
        fits.append(inputs.n_rows)
        return cross_validate(self, inputs, latency)

    monkeypatch.setattr(LatencyPredictor, "cross_validate", counted)
    alice_client.get(page_of(study))
    alice_client.get(page_of(study))
    assert fits == [12]  # the second view read the cached fit
    add_measurement(study, 12, "one more", [0.5] * 23, {"backbone": 5.0, "neck": 1.0, "head": 1.0})
    assert alice_client.get(page_of(study)).context["page"].n_measured == 13
    assert fits == [12, 13]


def test_a_measurement_missing_a_stage_leaves_that_stage_out(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    cache.clear()
    study = torch_study(alice, make_study, 12)
    add_measurement(study, 12, "no neck", [0.5] * 23, {"backbone": 5.0, "head": 1.0})
    page = alice_client.get(page_of(study)).context["page"]
    assert [row.stage for row in page.stages] == ["backbone", "head"]


def test_a_benchmark_studys_page_has_no_predictor_link(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = make_study(alice)
    detail = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert 'id="latency-predictor-link"' not in detail


def remeasure(client: Any, study: Study) -> Any:
    return client.post(reverse("studies-remeasure-predicted-front", args=[study.pk]), follow=True)


def test_the_predicted_front_is_queued_for_the_device_once(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    cache.clear()
    study = running(torch_study(alice, make_study, 20))
    measured = set(study.evaluations.values_list("key", flat=True))
    response = remeasure(alice_client, study)
    queued = list(study.evaluations.filter(origin="predictor"))
    assert 1 <= len(queued) <= 4
    assert all(e.status == Evaluation.Status.PENDING and e.iteration is None for e in queued)
    assert not {e.key for e in queued} & measured
    assert (
        f"{len(queued)} architectures of the predicted front queued for the device"
        in response.content.decode()
    )
    remeasure(alice_client, study)  # the same measurements predict the same front: nothing twice
    assert study.evaluations.filter(origin="predictor").count() == len(queued)


def test_the_front_is_not_queued_for_a_study_that_is_not_running_or_measured_too_little(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    cache.clear()
    paused = torch_study(alice, make_study, 20)
    response = remeasure(alice_client, paused)
    assert "works only while the study runs" in response.content.decode()
    few = running(torch_study(alice, make_study, 5, seed=1))
    response = remeasure(alice_client, few)
    assert response.status_code == 200
    assert "5 architectures measured on the device" in response.content.decode()
    assert not Evaluation.objects.filter(origin="predictor").exists()


def test_bob_cannot_queue_alices_predicted_front(bob_client: Any, alice: Any, make_study: Any) -> None:
    study = running(torch_study(alice, make_study, 20))
    assert bob_client.post(reverse("studies-remeasure-predicted-front", args=[study.pk])).status_code == 404
    assert not study.evaluations.filter(origin="predictor").exists()


def test_the_predictor_loop_on_a_small_remote_study(alice_client: Any, alice: Any) -> None:
    """Measure on the "device" (a worker over the API), fit, queue the predicted front, measure it, refit."""
    from hytnas_web.studies import services
    from search_engine.spaces.hytnas import HyTNASSpace
    from tests.web.hardware_studies import make_hardware_study
    from tests.web.test_worker_api import Worker

    cache.clear()
    study = make_hardware_study(alice, "remote", n_init=12, budget=20, batch_size=4)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="test")
    worker = Worker(services.issue_token(alice, "pi-5", study).secret)
    space, setting = HyTNASSpace(), study.evaluator["params"]

    def measure_what_is_handed_out() -> int:
        """The worker claims every pending architecture and reports its closed-form "latency"."""
        claim = worker.claim(n=20).json()
        for item in claim["evaluations"]:
            x = np.array([Evaluation.objects.get(pk=item["id"]).x])
            counts = space.known_quantities(x, setting)
            stages = {s: float(counts[f"macs.{s}"][0]) / 1e5 for s in ("backbone", "head")}
            accuracy = float(np.log(counts["params"][0]))
            response = worker.report(
                item["id"],
                claim["lease"]["id"],
                objectives=[accuracy, sum(stages.values())],
                stage_latency=stages,
            )
            assert response.status_code == 201, response.content
        return len(claim["evaluations"])

    assert measure_what_is_handed_out() == 12
    first = alice_client.get(page_of(study)).context["page"]
    assert first.n_measured == 12 and [row.stage for row in first.stages] == ["backbone", "head"]
    study.refresh_from_db()
    remeasure(alice_client, study)
    queued = set(study.evaluations.filter(origin="predictor").values_list("pk", flat=True))
    assert 1 <= len(queued) <= 4
    assert measure_what_is_handed_out() == len(queued)  # the device measured the predicted front
    refitted = alice_client.get(page_of(study)).context["page"]
    assert refitted.n_measured == 12 + len(queued)
    assert all(row.n_rows == 12 + len(queued) for row in refitted.stages)


def test_measurements_flagged_noisy_are_left_out_of_the_fit(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    cache.clear()
    study = torch_study(alice, make_study, 14)
    noisy = list(study.evaluations.order_by("id").values_list("pk", flat=True)[:3])
    Evaluation.objects.filter(pk__in=noisy).update(
        metrics={"latency_noisy": 1.0, "machine_load_1m": 9.0, "machine_cores": 2}
    )
    response = alice_client.get(page_of(study))
    page = response.context["page"]
    assert page.n_measured == 11 and page.n_noisy == 3
    assert all(row.n_rows == 11 for row in page.stages)
    assert "3 measurements flagged noisy are left out until measured again" in response.content.decode()
