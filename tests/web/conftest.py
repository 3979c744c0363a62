"""Shared fixtures for web tests: named people, a study factory, a real Redis and real RQ workers.

alice owns studies, bob does not. Redis is the one at 127.0.0.1:6379 when it answers, else an
embedded server started for the session. Worker processes are real ``manage.py rqworker`` children
that share the test database (a file for SQLite, the test database for PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User

from hytnas_web.lib.embedded_redis import EmbeddedRedis, port_is_open

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test run's Redis (see tests/conftest.py), started here when it is an embedded one."""
    url = os.environ["HYTNAS_TEST_REDIS_URL"]
    port = redis.connection.parse_url(url)["port"]
    server = None
    if os.environ.get("HYTNAS_TEST_EMBEDDED_REDIS") and not port_is_open("127.0.0.1", port):
        server = EmbeddedRedis(port, tmp_path_factory.mktemp("redis")).start()
    try:
        yield url
    finally:
        if server is not None:
            server.stop()


@pytest.fixture
def rq_queues(redis_url: str) -> Iterator[str]:
    """An emptied Redis database for one test (django-rq already points at it); yields the URL."""
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    yield redis_url
    connection.flushdb()


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def bob(db: None) -> User:
    return User.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def alice_client(client: Any, alice: User) -> Any:
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client: Any, bob: User) -> Any:
    client.force_login(bob)
    return client


def zdt1_config_dict(**changes: Any) -> dict[str, Any]:
    """A small, fast ZDT1 study configuration in the engine's dict form."""
    from search_engine.config import ComponentSpec
    from search_engine.setups import study_config

    config = study_config("zdt1", "hytnas", budget=30, n_init=10, batch_size=10, n_var=4)
    config = config.with_changes(solver=ComponentSpec("nsga2", {"pop_size": 20, "n_gen": 5}))
    data = config.to_dict()
    data.update(changes)
    return data


@pytest.fixture
def make_study(db: None) -> Callable[..., Any]:
    """``make_study(owner, name="...", **config changes)`` -> a draft Study on a small ZDT1."""
    from hytnas_web.studies import services
    from search_engine.config import StudyConfig

    def make(owner: User, name: str = "ZDT1 study", **changes: Any) -> Any:
        return services.save_study(owner, name, StudyConfig.from_dict(zdt1_config_dict(**changes)))

    return make


def database_env() -> dict[str, str]:
    """Environment that points a child process at the test database this test run uses."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return {"DATABASE_URL": f"sqlite:///{db['NAME']}"}
    user = db.get("USER") or ""
    auth = f"{user}@" if user else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return {"DATABASE_URL": f"postgresql://{auth}{host}:{port}/{db['NAME']}"}


@pytest.fixture
def start_worker(rq_queues: str) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """``start_worker(burst=False)`` -> a real RQ worker process on the test Redis and database."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(
        burst: bool = False,
        queues: tuple[str, ...] = ("iterations", "evaluations", "default"),
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        child_env = {
            **os.environ,
            **database_env(),
            "REDIS_URL": rq_queues,
            "DJANGO_SETTINGS_MODULE": "hytnas_web.settings",
            **(env or {}),
        }
        worker_class = "hytnas_web.studies.worker.ReconcilingSimpleWorker"
        command = [sys.executable, "manage.py", "rqworker", *queues, "--worker-class", worker_class]
        if burst:
            command.append("--burst")
        process = subprocess.Popen(
            command, cwd=ROOT, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
