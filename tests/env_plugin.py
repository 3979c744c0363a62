"""Test-run environment, fixed before Django reads its settings (loaded with `-p tests.env_plugin`).

Web tests use the Redis at 127.0.0.1:6379 when it answers, else an embedded server that
``tests/web/conftest.py`` starts on a free port on first use. Two test runs at once (in one checkout
or two) never share a database: each run claims a Redis database number of its own (a lock key in
database 15, which no test run uses for data), and the SQLite test database file carries the run's
process id. ``HYTNAS_TEST_REDIS_URL`` and ``HYTNAS_TEST_DB_NAME`` set by hand win over both.
"""

from __future__ import annotations

import atexit
import os

import redis

from hytnas_web.lib.embedded_redis import free_port, port_is_open

LOCK_DATABASE = 15
"""Database of the shared Redis holding one lock key per claimed database number."""

LOCK_SECONDS = 6 * 3600
"""A crashed run's claim lapses after this long, so its database number comes back."""


def claim_redis_database(url: str) -> int | None:
    """Claim a database number (14 down to 1) of the Redis at ``url`` for this run; None if all are taken."""
    locks = redis.Redis.from_url(url, db=LOCK_DATABASE)
    owner = str(os.getpid())
    for number in range(14, 0, -1):
        key = f"hytnas:test-run:db{number}"
        if locks.set(key, owner, nx=True, ex=LOCK_SECONDS):
            atexit.register(_release, locks, key, owner)
            return number
    return None


def _release(locks: redis.Redis, key: str, owner: str) -> None:
    try:
        if locks.get(key) == owner.encode():
            locks.delete(key)
    except redis.RedisError:
        pass  # the claim lapses on its own


if "HYTNAS_TEST_REDIS_URL" not in os.environ:
    number = claim_redis_database("redis://127.0.0.1:6379/0") if port_is_open("127.0.0.1", 6379) else None
    if number is not None:
        os.environ["HYTNAS_TEST_REDIS_URL"] = f"redis://127.0.0.1:6379/{number}"
    else:
        os.environ["HYTNAS_TEST_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
        os.environ["HYTNAS_TEST_EMBEDDED_REDIS"] = "1"
os.environ["REDIS_URL"] = os.environ["HYTNAS_TEST_REDIS_URL"]
if "HYTNAS_TEST_DB_NAME" not in os.environ:
    from pathlib import Path

    var = Path(__file__).resolve().parent.parent / "var"
    os.environ["HYTNAS_TEST_DB_NAME"] = str(var / f"test-{os.getpid()}.sqlite3")
if "HYTNAS_STATIC_ROOT" not in os.environ:
    # Collected static files of this run only (runstack collects them at start): a checkout's own
    # var/staticfiles, from `make run`, never changes the names pages link in a test.
    import shutil
    import tempfile

    static_root = tempfile.mkdtemp(prefix="hytnas-test-static-")
    os.environ["HYTNAS_STATIC_ROOT"] = static_root
    atexit.register(shutil.rmtree, static_root, True)
