"""Noisy latency measurements: flagged with their reason on every page and in CSV, and re-measured.

The torch studies here really measure (32 px networks) with one timed pass each (``max_repeats=1``):
the median's spread of a single pass is unknown, so the measuring worker flags every measurement
noisy, honestly. A quiet measurement is written as the evaluator reports one (spread within its
target on an unloaded machine) to show the pages tell the two apart.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django_rq
import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, PreviousMeasurement, Study
from hytnas_web.studies.services import noisy
from search_engine.metrics.hypervolume import hypervolume
from search_engine.metrics.pareto import pareto_mask
from search_engine.objectives import Objective, to_minimisation
from tests.web.hardware_studies import FAST_TORCH, make_hardware_study
from tests.web.test_jobs import wait_for

SINGLE_PASS_TORCH = {**FAST_TORCH, "max_repeats": 1}
"""One timed pass per network: the measuring worker cannot know the median's spread and says so."""

QUIET_METRICS = {
    "latency_ms": 4.0,
    "latency_passes": 20.0,
    "latency_spread": 0.01,
    "latency_noisy": 0.0,
    "machine_load_1m": 0.5,
    "machine_runnable": 1.0,
    "machine_cores": 4.0,
}
"""What the torch evaluator reports for a measurement within its target on an idle machine."""


def measured_torch_study(owner: User) -> Study:
    """A completed torch study of 3 architectures measured here, each with a single timed pass."""
    study = make_hardware_study(
        owner, "torch", evaluator={"name": "torch", "params": SINGLE_PASS_TORCH}, budget=3
    )
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="i0")
    for evaluation in study.evaluations.order_by("position"):
        assert services.run_evaluation(evaluation.pk, job_id=f"e{evaluation.pk}") == "measured"
    services.run_iteration(study.pk, 0, job_id="i0-finish")
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED
    return study


def csv_records(client: Client, study: Study) -> list[dict[str, str]]:
    response = client.get(reverse("studies-export-evaluations", args=[study.pk]))
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_a_measurement_is_noisy_for_each_reason_its_metrics_give() -> None:
    assert noisy.noise_of(QUIET_METRICS, 0.03) == noisy.Noise(False)
    wide = noisy.noise_of({**QUIET_METRICS, "latency_spread": 0.081, "latency_noisy": 1.0}, 0.03)
    assert wide.noisy and wide.reasons == ("spread ±8.1% above the target ±3.0%",)
    busy = noisy.noise_of({**QUIET_METRICS, "machine_load_1m": 6.5, "latency_noisy": 1.0}, 0.03)
    assert busy.reasons == ("load 6.50 above the machine's 4 cores",)
    crowded = noisy.noise_of({**QUIET_METRICS, "machine_runnable": 7.0, "latency_noisy": 1.0}, 0.03)
    assert crowded.reasons == ("7 tasks runnable at once on the machine's 4 cores",)
    hot = noisy.noise_of({**QUIET_METRICS, "machine_throttled": float(0x50004), "latency_noisy": 1.0}, 0.03)
    assert hot.reasons == ("the board was throttled (flags 0x50004)",)
    # Throttled since boot only (high bits) is not throttled now.
    assert not noisy.noise_of({**QUIET_METRICS, "machine_throttled": float(0x50000)}, 0.03).noisy
    single = {"latency_passes": 1.0, "latency_noisy": 1.0}
    assert noisy.noise_of(single, 0.03).text == "a single timed pass: the median's spread is unknown"
    assert not noisy.noise_of({"params_total": 1e6}, 0.03).noisy  # says nothing about timing
    assert not noisy.noise_of(None).noisy


@pytest.mark.django_db
def test_noisy_measurements_show_a_badge_with_the_reason_on_every_page_and_in_csv(
    alice_client: Client, alice: User
) -> None:
    study = measured_torch_study(alice)
    quiet, *flagged = list(study.evaluations.order_by("id"))
    sizes = {
        name: value for name, value in quiet.metrics.items() if not name.startswith(("latency_", "machine_"))
    }
    Evaluation.objects.filter(pk=quiet.pk).update(metrics={**sizes, **QUIET_METRICS})
    reason = "a single timed pass: the median&#x27;s spread is unknown"

    table = alice_client.get(reverse("studies-architectures", args=[study.pk])).content.decode()
    assert table.count('class="badge noisy"') == 2
    assert f'title="Noisy measurement: {reason}' in table

    page = alice_client.get(reverse("studies-architecture", args=[study.pk, flagged[0].pk])).content.decode()
    assert f"This measurement is flagged noisy: {reason}" in page
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, quiet.pk])).content.decode()
    assert "flagged noisy" not in page and 'class="badge noisy"' not in page

    dashboard = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    link = reverse("studies-remeasure-noisy", args=[study.pk])
    assert f'<a href="{link}">2 measurements flagged noisy</a>' in dashboard

    confirm = alice_client.get(link).content.decode()
    assert confirm.count(reason) == 2 and "Re-measure 2 noisy measurements" in confirm

    records = {int(r["id"]): r for r in csv_records(alice_client, study)}
    assert (records[quiet.pk]["latency_noisy"], records[quiet.pk]["latency_spread"]) == ("0", "0.01")
    assert [(records[e.pk]["latency_noisy"], records[e.pk]["latency_spread"]) for e in flagged] == [
        ("1", "")
    ] * 2


def test_a_study_whose_evaluator_does_not_measure_on_the_queue_is_told_so(
    alice_client: Client, alice: User, make_study: Callable[..., Study]
) -> None:
    study = make_study(alice)  # ZDT1, computed inside the iteration job
    url = reverse("studies-remeasure-noisy", args=[study.pk])
    assert "Only studies whose evaluator measures" in alice_client.get(url).content.decode()
    response = alice_client.post(url, follow=True)
    assert response.status_code == 200
    assert "Only studies whose evaluator measures" in response.content.decode()
    assert not PreviousMeasurement.objects.exists()


def test_only_the_owner_can_remeasure_and_only_with_a_csrf_token(
    alice: User, bob_client: Client, make_study: Callable[..., Study]
) -> None:
    study = make_study(alice)
    url = reverse("studies-remeasure-noisy", args=[study.pk])
    assert bob_client.get(url).status_code == 404
    assert bob_client.post(url).status_code == 404
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(alice)
    assert guarded.post(url).status_code == 403
    assert Client().post(url).status_code == 302  # to the sign-in page
    assert not PreviousMeasurement.objects.exists()


def current_hypervolume(study: Study) -> float:
    """Independent of the services: the hypervolume of the study's measured values now."""
    objectives = [Objective.from_dict(o) for o in study.objectives]
    rows = list(study.evaluations.filter(status=Evaluation.Status.DONE).values_list("objectives", flat=True))
    Y = to_minimisation(np.array(rows, dtype=np.float64), objectives)
    assert study.ref_point is not None
    ref = to_minimisation(np.array([study.ref_point], dtype=np.float64), objectives)[0]
    return hypervolume(Y[pareto_mask(Y)], ref)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(900)
def test_remeasuring_noisy_ones_keeps_the_old_measurement_and_the_new_one_replaces_it(
    alice_client: Client, alice: User, start_worker: Callable[..., Any]
) -> None:
    study = measured_torch_study(alice)
    before = {e.pk: e for e in study.evaluations.all()}
    url = reverse("studies-remeasure-noisy", args=[study.pk])
    assert "Re-measure 3 noisy measurements" in alice_client.get(url).content.decode()

    response = alice_client.post(url, follow=True)
    assert "Re-measuring 3 noisy measurement(s)" in response.content.decode()
    kept = list(PreviousMeasurement.objects.filter(evaluation__study=study))
    assert len(kept) == 3 and {k.status for k in kept} == {PreviousMeasurement.Status.REMEASURING}
    assert all(k.objectives == before[k.evaluation_id].objectives for k in kept)
    again = alice_client.post(url, follow=True).content.decode()
    assert "No noisy measurement is left to re-measure: 3 already being re-measured." in again
    assert PreviousMeasurement.objects.filter(evaluation__study=study).count() == 3

    start_worker(queues=("evaluations",))
    wait_for(
        lambda: PreviousMeasurement.objects.filter(status=PreviousMeasurement.Status.REPLACED).count() == 3,
        600,
        "the worker to re-measure the 3 noisy architectures",
    )
    after = {e.pk: e for e in study.evaluations.all()}
    for row in PreviousMeasurement.objects.filter(evaluation__study=study):
        old, new = before[row.evaluation_id], after[row.evaluation_id]
        assert (row.objectives, row.stage_latency, row.measured_at) == (
            old.objectives,
            old.stage_latency,
            old.finished_at,
        )
        assert (
            new.finished_at is not None and old.finished_at is not None and new.finished_at > old.finished_at
        )
        assert new.objectives[1] == new.metrics["latency_ms"] and new.status == Evaluation.Status.DONE
    assert any(after[pk].objectives != before[pk].objectives for pk in before)  # timed again, not copied

    study.refresh_from_db()
    latest = study.iterations.filter(status=Iteration.Status.DONE).order_by("-index").first()
    assert latest is not None and latest.hypervolume == pytest.approx(current_hypervolume(study))
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, kept[0].evaluation_id]))
    html = page.content.decode()
    assert "Previous measurements" in html and "replaced by the measurement above" in html
    # Still one pass each: measured again, honestly flagged again, and nothing is outstanding.
    dashboard = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "3 measurements flagged noisy</a>." in dashboard


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(900)
def test_a_remeasurement_lost_with_its_worker_or_queue_is_given_out_again_by_the_reconciler(
    alice: User, rq_queues: str, start_worker: Callable[..., Any]
) -> None:
    study = measured_torch_study(alice)
    assert noisy.request_remeasurement(study) == 3
    lost_with_worker, *_ = list(PreviousMeasurement.objects.filter(evaluation__study=study).order_by("id"))
    # What a worker killed mid-measurement leaves: its claim, a lease run out, a job nobody holds.
    PreviousMeasurement.objects.filter(pk=lost_with_worker.pk).update(
        job_id="killed-worker-job", lease_expires_at=timezone.now() - timedelta(seconds=1), attempts=1
    )
    django_rq.get_queue("evaluations").empty()  # and a Redis that lost the others' jobs

    actions = services.reconcile()
    assert sum("re-measurement re-enqueued" in a for a in actions) == 3
    assert not any("re-measurement" in a for a in services.reconcile())  # queued now: left alone

    worker = start_worker(burst=True, queues=("evaluations",))
    assert worker.wait(timeout=600) == 0
    rows = list(PreviousMeasurement.objects.filter(evaluation__study=study))
    assert {r.status for r in rows} == {PreviousMeasurement.Status.REPLACED}
    assert PreviousMeasurement.objects.get(pk=lost_with_worker.pk).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_a_failed_remeasurement_keeps_the_measurement_in_place(
    alice_client: Client, alice: User, rq_queues: str
) -> None:
    study = measured_torch_study(alice)
    before = dict(study.evaluations.values_list("pk", "objectives"))
    assert noisy.request_remeasurement(study) == 3
    # The machine got slower than the study allows: every re-measurement runs out of time.
    config = {
        **study.config,
        "evaluator": {"name": "torch", "params": {**SINGLE_PASS_TORCH, "time_limit": 1e-6}},
    }
    Study.objects.filter(pk=study.pk).update(config=config)
    for row in PreviousMeasurement.objects.filter(evaluation__study=study):
        outcome = noisy.run_remeasurement(row.pk, job_id=f"job-{row.pk}")
        assert outcome.startswith("failed (") and outcome.endswith("the measurement in place is kept")
        assert noisy.run_remeasurement(row.pk, job_id="a-duplicate") == "re-measurement already kept"
    assert dict(study.evaluations.values_list("pk", "objectives")) == before
    rows = list(PreviousMeasurement.objects.filter(evaluation__study=study))
    assert {r.status for r in rows} == {PreviousMeasurement.Status.KEPT} and all(
        "time" in r.error for r in rows
    )
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, rows[0].evaluation_id]))
    assert "this measurement stays current" in page.content.decode()
    assert noisy.request_remeasurement(study) == 3  # a later try is allowed
