"""A transient Redis or database outage is never a study failure.

First the rules, one function at a time, with Redis pointed at a port where nothing listens: work
that cannot be enqueued stays due, actions still take effect and say so, a finished iteration is
never overwritten, a retried study runs every unfinished iteration, and a job's liveness is read
from RQ's queues and registries. Then the harness: a real stack (its own Redis, forking RQ workers,
the reconciler, gunicorn) has Redis stopped and restarted empty, Redis away for longer than a job,
its PostgreSQL connections terminated, and a worker killed while holding a job it had just popped.
Each ends with the study completed with exactly its budget of unique evaluations, iterations 0..n
all done, nothing left in flight, every process alive and a new study started through the web
server running to completion.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import django_rq
import pytest
import redis
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from rq import Worker
from rq.job import Job

from hytnas_web.lib.embedded_redis import free_port
from hytnas_web.studies import services
from hytnas_web.studies.management.commands.reconcile import _wait
from hytnas_web.studies.models import Iteration, Study
from hytnas_web.studies.services import iterations as iteration_service
from hytnas_web.studies.services.queue_state import JobPlace, job_place
from hytnas_web.studies.services.scheduling import current_iteration
from tests.web.conftest import PASSWORD
from tests.web.outage_stack import (
    STALE_SECONDS,
    Stack,
    WebSession,
    assert_finished_cleanly,
    completed,
    done_count,
    nothing_left_running,
    page_messages,
    wait_for,
)
from tests.web.test_jobs import drive_in_process

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_ZDT1 = {"name": "benchmark", "params": {"problem": "zdt1", "n_var": 4, "delay": 0.2}}
"""0.2 s per evaluation: an iteration of 10 takes about 2 s, long enough to be caught in the middle."""

QUEUE_AWAY = "will start by itself when the queue is reachable again"


def point_queues_at(settings: Any, url: str) -> None:
    settings.RQ_QUEUES = {name: {**config, "URL": url} for name, config in settings.RQ_QUEUES.items()}


@pytest.fixture
def redis_away(settings: Any) -> str:
    """The queues point at a port where nothing listens (connections are refused at once)."""
    url = f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=2"
    point_queues_at(settings, url)
    return url


# The rules ---------------------------------------------------------------------------------------


def test_start_with_redis_away_takes_effect_and_the_reconciler_enqueues_it_later(
    alice: Any, make_study: Callable[..., Study], redis_away: str, rq_queues: str, settings: Any
) -> None:
    study = make_study(alice)
    assert services.start_study(study).failed
    study.refresh_from_db()
    assert study.status == Study.Status.RUNNING
    iteration = study.iterations.get()
    assert (iteration.status, iteration.job_id) == (Iteration.Status.PENDING, "")
    with pytest.raises(redis.exceptions.ConnectionError):
        services.reconcile()  # it cannot tell what is alive without Redis: the loop retries later
    point_queues_at(settings, rq_queues)  # Redis is back
    assert services.reconcile() == [f"study {study.pk}: re-enqueued"]
    job_id = Iteration.objects.get(pk=iteration.pk).job_id
    assert job_place(job_id, "iterations") is JobPlace.WAITING


@pytest.mark.parametrize("action", ["start", "resume", "retry"])
def test_actions_that_enqueue_succeed_with_redis_away_and_say_when_work_starts(
    alice_client: Any, alice: Any, make_study: Callable[..., Study], redis_away: str, action: str
) -> None:
    study = make_study(alice)
    before = {"start": Study.Status.DRAFT, "resume": Study.Status.PAUSED, "retry": Study.Status.FAILED}
    Study.objects.filter(pk=study.pk).update(status=before[action])
    if action == "retry":
        Iteration.objects.create(study=study, index=0, seed=1, status=Iteration.Status.FAILED, error="boom")
    response = alice_client.post(reverse(f"studies-{action}", args=[study.pk]), follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and QUEUE_AWAY in shown[0], shown
    study.refresh_from_db()
    assert study.status == Study.Status.RUNNING


def test_an_iteration_finished_while_redis_is_away_stays_done_and_the_study_carries_on(
    alice: Any, make_study: Callable[..., Study], rq_queues: str, settings: Any
) -> None:
    """The issue's first failure: the finish was committed, enqueueing the next iteration raised."""
    study = make_study(alice)
    services.start_study(study)
    point_queues_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    outcome = services.run_iteration(study.pk, 0, job_id="j0")
    assert outcome.startswith("iteration 0 done")
    study.refresh_from_db()
    assert study.status == Study.Status.RUNNING and study.error == ""
    assert list(study.iterations.order_by("index").values_list("status", "job_id")) == [
        (Iteration.Status.DONE, "j0"),
        (Iteration.Status.PENDING, ""),
    ]
    point_queues_at(settings, rq_queues)
    assert services.reconcile() == [f"study {study.pk}: re-enqueued"]
    drive_in_process(study)
    assert_finished_cleanly(study)


def test_a_service_error_mid_iteration_leaves_it_due_and_a_genuine_error_still_fails_the_study(
    alice: Any, make_study: Callable[..., Study], rq_queues: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = make_study(alice)
    services.start_study(study)

    def redis_went_away(*args: Any) -> bool:
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(iteration_service, "_propose", redis_went_away)
    assert services.run_iteration(study.pk, 0, job_id="j").startswith("left for a re-run")
    study.refresh_from_db()
    iteration = study.iterations.get()
    assert study.status == Study.Status.RUNNING
    assert iteration.status == Iteration.Status.PENDING and iteration.heartbeat_at is None
    assert job_place(iteration.job_id, "iterations") is JobPlace.WAITING  # its re-run, enqueued at once

    def query_error(*args: Any) -> bool:
        raise OperationalError("no such column: nonsense")  # the connection is fine: a real fault

    monkeypatch.setattr(iteration_service, "_propose", query_error)
    assert services.run_iteration(study.pk, 0, job_id="k").startswith("failed")
    study.refresh_from_db()
    assert study.status == Study.Status.FAILED and "no such column" in study.error


def test_a_failure_reported_after_the_finish_never_overwrites_a_done_iteration(
    alice: Any, make_study: Callable[..., Study], rq_queues: str
) -> None:
    study = make_study(alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="j0")
    iteration_service._fail(study.pk, 0, RuntimeError("raised after the finish was committed"))
    study.refresh_from_db()
    assert study.iterations.get(index=0).status == Iteration.Status.DONE
    assert study.status == Study.Status.RUNNING and study.error == ""


def test_a_retried_study_runs_every_unfinished_iteration_and_ends_with_none_pending(
    alice: Any, make_study: Callable[..., Study], rq_queues: str
) -> None:
    """The state the issue's retry left: an older iteration measured but not finished, a later one failed."""
    study = make_study(alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="j0")
    services.run_iteration(study.pk, 1, job_id="j1")
    Iteration.objects.filter(study=study, index=1).update(status=Iteration.Status.PENDING)
    Iteration.objects.filter(study=study, index=2).update(status=Iteration.Status.FAILED, error="boom")
    Study.objects.filter(pk=study.pk).update(status=Study.Status.FAILED, error="iteration 2 failed: boom")
    services.retry_study(study)
    for _ in range(10):  # as workers would: always the job the study scheduled, the earliest unfinished
        current = current_iteration(study)
        if Study.objects.get(pk=study.pk).status != Study.Status.RUNNING or current is None:
            break
        services.run_iteration(study.pk, current.index, job_id=f"retry-{current.index}")
    assert_finished_cleanly(study)
    assert list(study.iterations.values_list("index", flat=True)) == [0, 1, 2]


def test_job_liveness_comes_from_queues_and_registries_not_the_status_field(rq_queues: str) -> None:
    queue = django_rq.get_queue("iterations")
    rq_redis = queue.connection
    waiting = queue.enqueue("hytnas_web.studies.jobs.reconcile")
    assert job_place(waiting.id, "iterations") is JobPlace.WAITING
    # Popped by a worker that died before starting it: status "queued", in no list.
    popped = queue.enqueue("hytnas_web.studies.jobs.reconcile")
    assert rq_redis.lrem(queue.key, 1, popped.id) == 1 and popped.get_status() == "queued"
    assert job_place(waiting.id, "iterations") is JobPlace.WAITING
    assert job_place(popped.id, "iterations") is JobPlace.POPPED  # moments ago: its worker may start it
    rq_redis.set(f"hytnas:popped-first-seen:{popped.id}", time.time() - 60)
    assert job_place(popped.id, "iterations") is None
    # Started by a worker: alive while that worker's process runs, lost once it is gone.
    from rq.executions import Execution

    for name, pid, expected in (("alive", os.getpid(), JobPlace.STARTED), ("killed", 2**22 + 7, None)):
        job = queue.enqueue("hytnas_web.studies.jobs.reconcile")
        rq_redis.lrem(queue.key, 1, job.id)
        worker = Worker([queue], connection=rq_redis, name=f"worker-{name}")
        worker.register_birth()
        rq_redis.hset(worker.key, mapping={"pid": pid})
        with rq_redis.pipeline() as pipeline:
            Execution.create(Job.fetch(job.id, connection=rq_redis), 600, pipeline, worker_name=worker.name)
            pipeline.execute()
        assert job_place(job.id, "iterations") is expected, name
    assert job_place("no-such-job", "iterations") is None and job_place("", "iterations") is None


def test_a_running_iteration_that_lost_its_heartbeat_gets_one_take_over_job_however_many_passes(
    alice: Any, make_study: Callable[..., Study], rq_queues: str
) -> None:
    """A cut-off worker's iteration is re-run once, not once per reconciler pass while it stays away."""
    study = make_study(alice)
    services.start_study(study)
    long_ago = timezone.now() - timedelta(hours=1)
    Iteration.objects.filter(study=study, index=0).update(
        status=Iteration.Status.RUNNING, job_id="job-of-a-cut-off-worker", heartbeat_at=long_ago
    )
    queue = django_rq.get_queue("iterations")
    queue.empty()
    assert services.reconcile() == [f"study {study.pk}: re-enqueued"]
    for _ in range(3):
        assert services.reconcile() == []
    assert queue.count == 1
    assert Iteration.objects.get(study=study, index=0).job_id == "job-of-a-cut-off-worker"
    queue.empty()  # the take-over job was lost too: the next pass enqueues another
    assert services.reconcile() == [f"study {study.pk}: re-enqueued"]
    assert queue.count == 1


def test_the_reconcile_loop_backs_off_after_failed_passes_but_retries_within_seconds() -> None:
    assert [_wait(1, n) for n in range(6)] == [1, 1, 2, 4, 8, 10]
    assert [_wait(30, n) for n in range(3)] == [30, 30, 30]


# The harness -------------------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path: Any, settings: Any) -> Iterator[Stack]:
    """A stack on its own Redis; this test process enqueues to that Redis too. Started by the test."""
    own = Stack(tmp_path)
    point_queues_at(settings, own.redis_url)
    settings.HEARTBEAT_STALE_SECONDS = STALE_SECONDS
    try:
        yield own
    finally:
        own.close()


def start_page(study: Study) -> str:
    return reverse("studies-start", args=[study.pk])


def signed_in(stack: Stack) -> WebSession:
    web = WebSession(stack.web_url)
    web.login("alice", PASSWORD)
    return web


def assert_recovered(stack: Stack, web: WebSession, studies: list[Study], fresh: Study) -> None:
    """Every study completes cleanly, nothing is left in flight, and the stack still serves a new study."""
    for study in studies:
        wait_for(completed(study), 180, f"study {study.pk} to complete", stack)
        assert_finished_cleanly(study)
    status, _, page = web.post(start_page(fresh))
    assert status == 200 and "Study started." in page_messages(page), page_messages(page)
    wait_for(completed(fresh), 120, "a study started after the outage to complete", stack)
    assert_finished_cleanly(fresh)
    wait_for(nothing_left_running, 30, "nothing left in flight", stack)
    wait_for(stack.queues_idle, 60, "empty queues and idle workers", stack)
    assert stack.dead() == [], f"processes died; logs in {stack.log_dir}"


def started_mid_iteration(
    stack: Stack, alice: Any, make_study: Callable[..., Study]
) -> tuple[WebSession, Study]:
    """The stack with two workers, and a slow study started over HTTP and caught inside iteration 1."""
    stack.start_all(workers=2)
    web = signed_in(stack)
    study = make_study(alice, evaluator=SLOW_ZDT1)
    assert web.post(start_page(study))[0] == 200
    wait_for(lambda: done_count(study) >= 12, 120, "iteration 1 to be under way", stack)
    return web, study


def test_redis_stopped_and_restarted_empty_mid_study(
    stack: Stack, alice: Any, make_study: Callable[..., Study]
) -> None:
    web, study = started_mid_iteration(stack, alice, make_study)
    stack.stop_redis()
    stopped = time.monotonic()
    # The iteration in hand is finished from the database alone; enqueueing its successor fails.
    wait_for(
        lambda: Iteration.objects.filter(study=study, index=1, status=Iteration.Status.DONE).exists(),
        60,
        "iteration 1 to finish while Redis is away",
        stack,
    )
    # A study started meanwhile takes effect and says when its work will start.
    second = make_study(alice, name="Started while Redis is away", evaluator=SLOW_ZDT1)
    status, _, page = web.post(start_page(second))
    assert status == 200 and any(QUEUE_AWAY in m for m in page_messages(page)), page_messages(page)
    time.sleep(max(0.0, 10 - (time.monotonic() - stopped)))  # about ten seconds without Redis
    for each in (study, second):
        each.refresh_from_db()
        assert each.status == Study.Status.RUNNING, each.error
    assert stack.dead() == [], "a process exited while Redis was away"
    stack.start_redis(empty=True)
    assert_recovered(stack, web, [study, second], make_study(alice, name="After the outage"))


def test_redis_unreachable_for_longer_than_a_job(
    stack: Stack, alice: Any, make_study: Callable[..., Study]
) -> None:
    web, study = started_mid_iteration(stack, alice, make_study)
    stack.stop_redis()
    stopped = time.monotonic()
    stack.start_worker("worker-started-without-redis")
    # Pause and resume while Redis is away: both take effect, and Resume says when work will start.
    assert web.post(reverse("studies-pause", args=[study.pk]))[0] == 200
    wait_for(
        lambda: not Iteration.objects.filter(study=study, status=Iteration.Status.RUNNING).exists(),
        60,
        "the running iteration to stop for the pause",
        stack,
    )
    status, _, page = web.post(reverse("studies-resume", args=[study.pk]))
    assert status == 200 and any(QUEUE_AWAY in m for m in page_messages(page)), page_messages(page)
    time.sleep(max(0.0, 25 - (time.monotonic() - stopped)))  # longer than any job of this study
    study.refresh_from_db()
    assert study.status == Study.Status.RUNNING, study.error
    assert stack.dead() == [], "a process exited while Redis was away"
    stack.start_redis()  # back with what it held (append-only file)
    assert_recovered(stack, web, [study], make_study(alice, name="After the outage"))
    workers = Worker.all(connection=stack.redis())
    assert stack.processes["worker-started-without-redis"].pid in {w.pid for w in workers}


def test_database_connections_terminated_mid_study(
    stack: Stack, alice: Any, make_study: Callable[..., Study]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: an SQLite file has no server connections to terminate")
    stack.start_all(workers=2)
    web = signed_in(stack)
    study = make_study(alice, evaluator=SLOW_ZDT1)
    assert web.post(start_page(study))[0] == 200
    for done in (12, 22):
        wait_for(lambda done=done: done_count(study) >= done, 120, f"{done} evaluations", stack)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (terminated,) = cursor.fetchone()
        assert terminated >= 2  # at least the reconciler's and the running job's
    assert_recovered(stack, web, [study], make_study(alice, name="After the terminations"))


def blocked_in_pop(stack: Stack, count: int) -> Callable[[], bool]:
    """True once ``count`` clients (the workers) wait in a blocking pop on the stack's Redis."""
    return lambda: int(stack.redis().info("clients")["blocked_clients"]) == count


def test_a_worker_killed_while_holding_a_job_it_just_popped(
    stack: Stack, alice: Any, make_study: Callable[..., Study]
) -> None:
    """The job's hash says "queued" for good, but it sits in no queue: the reconciler must see that.

    Redis hands a pushed job to the client that has waited longest in a blocking pop, even one whose
    process is stopped. The first worker waits first and takes iteration 0; the second, stopped in
    its pop, receives the next job the busy first worker enqueues, and is killed holding it.
    """
    stack.start_all(workers=1)
    wait_for(blocked_in_pop(stack, 1), 60, "the first worker to wait for jobs", stack)
    popper = stack.start_worker("worker-popper")
    wait_for(blocked_in_pop(stack, 2), 60, "the second worker to wait for jobs too", stack)
    os.kill(popper.pid, signal.SIGSTOP)
    web = signed_in(stack)
    study = make_study(alice, evaluator=SLOW_ZDT1)
    assert web.post(start_page(study))[0] == 200

    def popped_by_the_stopped_worker() -> bool:
        following = Iteration.objects.filter(study=study, index=1).exclude(job_id="").first()
        if following is None or stack.redis().lpos("rq:queue:iterations", following.job_id) is not None:
            return False
        return Job.fetch(following.job_id, connection=stack.redis()).get_status() == "queued"

    wait_for(popped_by_the_stopped_worker, 120, "iteration 1's job to be popped by the stopped worker", stack)
    time.sleep(2)
    assert Iteration.objects.get(study=study, index=1).status == Iteration.Status.PENDING  # nobody runs it
    stack.kill("worker-popper")
    assert_recovered(stack, web, [study], make_study(alice, name="After the kill"))
    assert (
        Iteration.objects.get(study=study, index=1).attempts == 1
    )  # the lost job never ran; its replacement did
