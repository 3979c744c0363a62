"""The dashboard and sessions when the cache's Redis stops, hangs or comes back: slower, never a 500.

Each test runs its own redis-server (stopped, or frozen with SIGSTOP, by the test) as the cache of
both aliases, with a short breaker so that the tests wait seconds, not the default five.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.urls import reverse

from hytnas_web.lib.embedded_redis import EmbeddedRedis, free_port
from hytnas_web.lib.guard import descendants
from hytnas_web.studies.models import Study
from tests.web import test_dashboard_data
from tests.web.test_dashboard_data import data

measured_study = test_dashboard_data.measured_study  # a running study: three points, one failed

RETRY_AFTER = 1.0
"""Seconds the breaker skips Redis after an error, in these tests."""


@pytest.fixture
def cache_server(tmp_path: Path, settings: Any) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own, as the cache of both aliases (default and sessions)."""
    server = EmbeddedRedis(free_port(), tmp_path / "redis").start()
    options = {"socket_timeout": 0.3, "socket_connect_timeout": 0.3, "retry_after": RETRY_AFTER}
    backend = "hytnas_web.lib.resilient_cache.ResilientRedisCache"
    settings.CACHES = {
        "default": {"BACKEND": backend, "LOCATION": server.url, "KEY_PREFIX": "t", "OPTIONS": options},
        "sessions": {
            "BACKEND": backend,
            "LOCATION": server.url,
            "KEY_PREFIX": "ts",
            "OPTIONS": {**options, "max_timeout": 60},
        },
    }
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            signal_server(server, signal.SIGCONT)
        server.stop()


def signal_server(server: EmbeddedRedis, signum: int) -> None:
    """Send ``signum`` to redis-server itself (``server.process`` is the guard that runs it) and its guard."""
    assert server.process is not None
    for pid in {server.process.pid, *descendants(server.process.pid)}:
        os.kill(pid, signum)


def wait_for_breaker() -> None:
    time.sleep(RETRY_AFTER + 0.2)


def test_the_dashboard_works_while_redis_is_stopped_and_after_it_returns(
    cache_server: EmbeddedRedis, alice_client: Any, measured_study: Study
) -> None:
    version = data(alice_client, measured_study).json()["version"]
    cache_server.stop()
    assert data(alice_client, measured_study, since=version).status_code == 304
    assert data(alice_client, measured_study).json()["progress"]["n_done"] == 2
    assert alice_client.get(reverse("studies-detail", args=[measured_study.pk])).status_code == 200
    assert caches["sessions"].available is False  # the breaker is open: requests skip Redis
    cache_server.start()
    wait_for_breaker()
    assert data(alice_client, measured_study, since=version).status_code == 304
    assert caches["sessions"].available is True


def test_a_frozen_redis_opens_the_breaker_and_the_pages_still_answer(
    cache_server: EmbeddedRedis, alice_client: Any, measured_study: Study
) -> None:
    version = data(alice_client, measured_study).json()["version"]
    assert cache_server.process is not None
    signal_server(cache_server, signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        assert data(alice_client, measured_study, since=version).status_code == 304
        assert caches["sessions"].available is False
        assert data(alice_client, measured_study).status_code == 200
    finally:
        signal_server(cache_server, signal.SIGCONT)


def test_a_logout_while_redis_hangs_stays_a_logout_when_it_returns(
    cache_server: EmbeddedRedis, alice_client: Any, measured_study: Study
) -> None:
    assert data(alice_client, measured_study).status_code == 200  # the session is now in the cache too
    cookie = alice_client.cookies["sessionid"].value
    server = redis.Redis.from_url(cache_server.url)
    assert any(cookie.encode() in key for key in server.keys("ts:*"))
    assert cache_server.process is not None
    signal_server(cache_server, signal.SIGSTOP)
    try:
        alice_client.logout()  # deleted from the database; the cache's delete times out
    finally:
        signal_server(cache_server, signal.SIGCONT)
    assert any(cookie.encode() in key for key in server.keys("ts:*"))  # the stale copy is back
    wait_for_breaker()
    alice_client.cookies["sessionid"] = cookie  # the old cookie, as a stolen or lingering one
    response = data(alice_client, measured_study)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert not any(cookie.encode() in key for key in server.keys("ts:*"))


def test_clearing_the_cache_leaves_other_keys_of_its_redis_database(cache_server: EmbeddedRedis) -> None:
    server = redis.Redis.from_url(cache_server.url)
    server.set("rq:queue:iterations", "a job")
    caches["default"].set("answer", {"body": "..."})
    assert caches["default"].get("answer") == {"body": "..."}
    assert caches["default"].clear() is True
    assert caches["default"].get("answer") is None
    assert server.get("rq:queue:iterations") == b"a job"
