"""The data endpoint under many watchers: shared answers, cheap 304s, changes still seen, owner only."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from hytnas_web.lib.shared_answers import SharedAnswers
from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from hytnas_web.studies.services.dashboard_polls import BUSY_WATCHERS, HOLD_SECONDS, POLL_SECONDS
from tests.web import test_dashboard_data
from tests.web.test_dashboard_data import add_evaluation, data

measured_study = test_dashboard_data.measured_study  # a running study: three points, one failed

WATCHERS = BUSY_WATCHERS + 2
"""Enough watchers for the study to count as watched (its version is then held, answers shared)."""


def watchers(user: User, n: int = WATCHERS) -> list[Client]:
    """``n`` browsers logged in as ``user``, each with its own session."""
    clients = []
    for _ in range(n):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def poll_all(clients: list[Client], study: Study, since: str | None) -> list[Any]:
    return [data(client, study, since=since) for client in clients]


def test_a_304_costs_the_user_lookup_and_one_version_query(
    alice_client: Any, measured_study: Study, django_assert_num_queries: Any
) -> None:
    version = data(alice_client, measured_study).json()["version"]
    # The session comes from the cache; the user is Django's own lookup, the study's version the other.
    with django_assert_num_queries(2):
        response = data(alice_client, measured_study, since=version)
    assert response.status_code == 304
    assert float(response["X-Poll-Interval"]) >= POLL_SECONDS


def test_watchers_of_the_same_versions_share_one_built_answer(alice: User, measured_study: Study) -> None:
    clients = watchers(alice)
    poll_all(clients, measured_study, since=None)  # now watched: the version is held
    version = data(clients[0], measured_study).json()["version"]
    add_evaluation(measured_study, measured_study.iterations.get(index=0), "d", [0.1, 0.1])
    time.sleep(HOLD_SECONDS)  # let the held version go
    answers = poll_all(clients, measured_study, since=version)
    assert [a.status_code for a in answers] == [200] * len(clients)
    assert [a["X-Dashboard-Answer"] for a in answers].count("built") == 1
    assert {a["X-Dashboard-Answer"] for a in answers[1:]} == {"shared"}
    payloads = [a.json() for a in answers]
    assert all(p["pareto"]["points"]["ids"] == payloads[0]["pareto"]["points"]["ids"] for p in payloads)
    assert len(payloads[0]["pareto"]["points"]["ids"]) == 1
    # Each gets its own CSRF token in the actions it is offered: a shared answer never shares a token.
    tokens = {p["html"]["actions"].split('name="csrfmiddlewaretoken" value="')[1][:64] for p in payloads}
    assert len(tokens) == len(clients)


def test_a_watched_study_still_shows_a_new_evaluation_within_the_hold(
    alice: User, measured_study: Study
) -> None:
    clients = watchers(alice)
    versions = [r.json()["version"] for r in poll_all(clients, measured_study, since=None)]
    new = add_evaluation(measured_study, measured_study.iterations.get(index=0), "d", [0.1, 0.1])
    time.sleep(HOLD_SECONDS)
    for client, version in zip(clients, versions, strict=True):
        changes = data(client, measured_study, since=version).json()
        assert changes["pareto"]["points"]["ids"] == [new.pk]
        assert changes["progress"]["n_done"] == 3
        # Answers end at the version they carry: asking from it again brings nothing twice.
        again = data(client, measured_study, since=changes["version"])
        assert again.status_code == 304 or again.json()["pareto"]["points"] is None


def test_a_watched_study_shows_a_status_change_within_the_hold(alice: User, measured_study: Study) -> None:
    clients = watchers(alice)
    versions = [r.json()["version"] for r in poll_all(clients, measured_study, since=None)]
    services.pause_study(measured_study)
    time.sleep(HOLD_SECONDS)
    answers = [data(c, measured_study, since=v).json() for c, v in zip(clients, versions, strict=True)]
    assert {a["status"] for a in answers} == {"paused"}
    assert all("action-resume" in a["html"]["actions"] for a in answers)


def test_a_watcher_far_behind_gets_everything_rather_than_its_own_answer(
    alice: User, measured_study: Study
) -> None:
    clients = watchers(alice)
    poll_all(clients, measured_study, since=None)
    stale = "0.0.0"  # a version no recent answer started from (a tab left in the background)
    answer = data(clients[0], measured_study, since=stale).json()
    assert answer["full"] is True and len(answer["figures"]["pareto"]["data"][0]["customdata"]) == 2


def test_bob_cannot_read_a_watched_study(alice: User, bob_client: Any, measured_study: Study) -> None:
    clients = watchers(alice)
    version = poll_all(clients, measured_study, since=None)[0].json()["version"]
    assert data(bob_client, measured_study).status_code == 404
    assert data(bob_client, measured_study, since=version).status_code == 404


def test_a_logged_out_watcher_is_sent_to_the_login_page(alice: User, measured_study: Study) -> None:
    clients = watchers(alice)
    poll_all(clients, measured_study, since=None)
    clients[0].logout()
    response = data(clients[0], measured_study)
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_answers_are_built_once_however_many_threads_ask() -> None:
    answers = SharedAnswers(local_size=4, timeout=10)
    key = f"test:shared-answers:{time.time_ns()}"
    builds: list[int] = []
    start = threading.Barrier(8)

    def build() -> dict[str, str]:
        builds.append(1)
        time.sleep(0.2)  # long enough for every other thread to arrive while it builds
        return {"body": "answer"}

    results: list[Any] = []

    def ask() -> None:
        start.wait()
        results.append(answers.get_or_build(key, build))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(builds) == 1 and results == [{"body": "answer"}] * 8
    answers.clear_local()
    assert SharedAnswers().get_or_build(key, build) == {"body": "answer"}  # from the shared cache
    assert len(builds) == 1
