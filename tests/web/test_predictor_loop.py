"""The latency predictor's loop: the action searches in a job, its front is measured, and never lost.

The page's action asks for a search against the predictor; a job on the default queue runs it (here
an RQ worker in this process, or real worker processes for the evaluations), queues the predicted
front's architectures for the device with what was predicted for them, and leaves its outcome for
the page. A queued architecture whose evaluation job is lost is given out again by the reconciler,
also once the study has completed, and the page shows the front's predictions against what the
device then measured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django_rq
import numpy as np
import pytest
import redis
from django.core.cache import cache
from django.utils import timezone

from hytnas_web.lib.embedded_redis import free_port
from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services import latency_predictor
from hytnas_web.studies.services.noisy import noisy_evaluation_ids
from tests.web.hardware_studies import FAST_TORCH
from tests.web.stored_config import store_config
from tests.web.test_latency_predictor_view import (
    ACCURACY_LATENCY,
    add_measurement,
    page_of,
    remeasure,
    run_searches,
)
from tests.web.test_noisy_measurements import current_hypervolume

pytestmark = pytest.mark.django_db(transaction=True)

QUICK_SEARCH = {"name": "nsga2", "params": {"pop_size": 30, "n_gen": 5}}


def measured_torch_study(owner: Any, make_study: Any, n: int = 20, seed: int = 0) -> Study:
    """A running torch study (32 px classification networks, measured here in a fraction of a second)
    with ``n`` imported measurements whose stage latencies follow the closed-form multiply-adds."""
    from search_engine.spaces.hytnas import HyTNASSpace

    study = make_study(owner, name="On this machine")
    evaluator = {"name": "torch", "params": dict(FAST_TORCH)}
    store_config(
        study,
        space={"name": "hytnas", "params": {}},
        evaluator=evaluator,
        objectives=ACCURACY_LATENCY,
        solver=QUICK_SEARCH,
        batch_size=4,
        budget=n + 8,
        ref_point=[0.0, 1000.0],
    )
    space = HyTNASSpace()
    rng = np.random.default_rng(seed)
    X = space.sample_unique(n, rng)
    counts = space.known_quantities(X, evaluator["params"])
    for i, (point, key) in enumerate(zip(X, space.keys(X), strict=True)):
        stage = {
            s: float(counts[f"macs.{s}"][i]) / 1e6 * (1 + 0.02 * rng.standard_normal())
            for s in ("backbone", "head")
        }
        add_measurement(study, i, key, point.tolist(), stage, 60 + 3 * float(np.log(counts["params"][i])))
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    study.refresh_from_db()
    return study


def queued_of(study: Study) -> list[Evaluation]:
    return list(study.evaluations.filter(origin="predictor").order_by("id"))


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_action_searches_in_a_job_once_and_the_page_says_what_it_queued(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    cache.clear()
    study = measured_torch_study(alice, make_study)
    measured = set(study.evaluations.values_list("key", flat=True))
    response = remeasure(alice_client, study)
    assert any("Searching the predictor" in m for m in messages_of(response))
    assert not queued_of(study)  # the request only asked: the job searches
    assert [job.func_name for job in django_rq.get_queue("default").get_jobs()] == [
        "hytnas_web.studies.jobs.search_predicted_front"
    ]
    assert 'id="predicted-front-searching"' in response.content.decode()
    assert '<meta http-equiv="refresh" content="5">' in response.content.decode()  # until it ends
    assert "Re-measure the predicted front on the device</button>" not in response.content.decode()

    again = remeasure(alice_client, study)  # a second click while it is outstanding
    assert any("already running for this study" in m for m in messages_of(again))
    assert len(django_rq.get_queue("default").get_jobs()) == 1

    run_searches()
    queued = queued_of(study)
    assert 1 <= len(queued) <= 4
    assert all(e.status == Evaluation.Status.PENDING and e.iteration is None for e in queued)
    assert not {e.key for e in queued} & measured
    # What was predicted for each: accuracy and end-to-end latency, in the objectives' order.
    assert all(
        isinstance(e.predicted_mean, list) and len(e.predicted_mean) == 2 and e.predicted_mean[1] > 0
        for e in queued
    )
    evaluation_jobs = django_rq.get_queue("evaluations").get_jobs()
    assert sorted(job.args[0] for job in evaluation_jobs) == [e.pk for e in queued]
    html = alice_client.get(page_of(study)).content.decode()
    assert (
        f"{len(queued)} architecture{'' if len(queued) == 1 else 's'} of the predicted front queued" in html
    )
    assert 'id="predicted-front-searching"' not in html and 'http-equiv="refresh"' not in html
    assert "pending on the device" in html

    remeasure(alice_client, study)  # the search is over: a new one may run, and finds the same front
    run_searches()
    assert len(queued_of(study)) == len(queued)
    html = alice_client.get(page_of(study)).content.decode()
    assert "already measured or queued: none was queued" in html


def test_a_search_lost_with_its_worker_does_not_block_the_next(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = measured_torch_study(alice, make_study)
    # What a worker killed mid-search leaves: the marker naming its job, a job no live worker holds.
    marker = {"job_id": "killed-search", "at": time.time() - 120}
    django_rq.get_connection("default").set(
        f"hytnas:predicted-front:{study.pk}:searching", json.dumps(marker)
    )
    assert 'id="predicted-front-searching"' not in alice_client.get(page_of(study)).content.decode()
    response = remeasure(alice_client, study)
    assert any("Searching the predictor" in m for m in messages_of(response))
    run_searches()
    assert queued_of(study)


def test_a_study_that_stopped_running_before_its_search_ran_is_told_why_nothing_was_queued(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = measured_torch_study(alice, make_study)
    remeasure(alice_client, study)
    services.pause_study(study)
    run_searches()
    assert not queued_of(study)
    html = alice_client.get(page_of(study)).content.decode()
    assert "Nothing was queued: The predicted front is measured by the study&#x27;s device" in html


def test_with_redis_away_the_action_and_the_page_say_so_and_nothing_is_queued(
    alice_client: Any, alice: Any, make_study: Any, settings: Any
) -> None:
    study = measured_torch_study(alice, make_study)
    url = f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=2"
    settings.RQ_QUEUES = {name: {**config, "URL": url} for name, config in settings.RQ_QUEUES.items()}
    with pytest.raises(redis.exceptions.ConnectionError):
        django_rq.get_connection("default").ping()  # the queues really are away
    response = remeasure(alice_client, study)
    assert response.status_code == 200
    assert any("The job queue (Redis) cannot be reached" in m for m in messages_of(response))
    assert 'id="predicted-front-unreachable"' in response.content.decode()
    assert not queued_of(study)


@pytest.mark.timeout(900)
def test_a_queued_architecture_whose_job_is_lost_is_measured_even_after_the_study_completed(
    alice_client: Any, alice: Any, make_study: Any, start_worker: Callable[..., Any]
) -> None:
    """A synchronous torch study: the front is queued, its evaluation jobs are lost (a worker killed
    mid-measurement, a Redis emptied), the study completes; the reconciler gives them out again and a
    real worker measures them on the completed study."""
    cache.clear()
    study = measured_torch_study(alice, make_study)
    Iteration.objects.create(study=study, index=0, seed=1, status=Iteration.Status.DONE)
    assert latency_predictor.remeasure_predicted_front(study) >= 1
    queued = queued_of(study)
    store_config(study, budget=study.evaluations.count())  # the front spent what was left of the budget
    lost_with_worker = queued[0]
    Evaluation.objects.filter(pk=lost_with_worker.pk).update(
        job_id="killed-worker-job", lease_expires_at=timezone.now() - timedelta(seconds=1), attempts=1
    )
    django_rq.get_queue("evaluations").empty()  # and a Redis that lost the others' jobs

    actions = services.reconcile()
    assert sum("predicted front's architecture re-enqueued" in a for a in actions) == len(queued)
    assert f"study {study.pk}: completed" in actions  # its budget is spent: it completes meanwhile
    assert Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED
    assert not any("re-enqueued" in a for a in services.reconcile())  # queued now: left alone
    html = alice_client.get(page_of(study)).content.decode()
    assert "the evaluations queue measures them all the same" in html

    worker = start_worker(burst=True, queues=("evaluations",))
    assert worker.wait(timeout=600) == 0
    rows = queued_of(study)
    assert [e.status for e in rows] == [Evaluation.Status.DONE] * len(queued), [e.error for e in rows]
    assert Evaluation.objects.get(pk=lost_with_worker.pk).attempts == 2
    assert all(e.stage_latency and e.stage_latency["backbone"] > 0 for e in rows)
    assert Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED
    # The study's current hypervolume counts them: no iteration followed to do it.
    latest = Iteration.objects.get(study=study, index=0)
    assert latest.hypervolume is not None and latest.hypervolume == pytest.approx(current_hypervolume(study))

    # One timed pass each on a busy machine: some or all may be flagged noisy, left out of the fit
    # and of the front's comparison alike; the others are in both.
    noisy = set(noisy_evaluation_ids(study))
    page = alice_client.get(page_of(study)).context["page"]
    assert page.n_noisy == len(noisy)
    assert page.n_measured == 20 + len(queued) - len(noisy)
    assert page.n_front_measured == len([e for e in rows if e.pk not in noisy])


def test_a_queued_architecture_of_a_paused_study_waits_for_it_to_resume(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = measured_torch_study(alice, make_study)
    Iteration.objects.create(study=study, index=0, seed=1, status=Iteration.Status.DONE)
    latency_predictor.remeasure_predicted_front(study)
    [first, *_] = queued_of(study)
    services.pause_study(study)
    assert services.run_evaluation(first.pk, job_id="e1") == "study is paused"
    django_rq.get_queue("evaluations").empty()
    assert not any("predicted front" in a for a in services.reconcile())  # paused: left alone
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    assert any(f"evaluation {first.pk}: predicted front" in a for a in services.reconcile())


@pytest.mark.parametrize(
    ("kind", "status", "said"),
    [
        ("remote", Study.Status.COMPLETED, "workers take work from running studies only: they stay pending"),
        ("torch", Study.Status.CANCELLED, "The study is cancelled: they will not be measured."),
    ],
)
def test_the_page_says_why_queued_architectures_of_a_stopped_study_stay_pending(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str, kind: str, status: str, said: str
) -> None:
    study = measured_torch_study(alice, make_study)
    store_config(study, evaluator={"name": kind, "params": dict(FAST_TORCH)})
    latency_predictor.remeasure_predicted_front(study)
    n_queued = len(queued_of(study))
    assert n_queued >= 1
    Study.objects.filter(pk=study.pk).update(status=status)
    assert not any("predicted front" in a for a in services.reconcile())  # nobody would measure them
    html = alice_client.get(page_of(study)).content.decode()
    assert f"{n_queued} architecture{'' if n_queued == 1 else 's'} of the predicted front" in html
    assert said in html
