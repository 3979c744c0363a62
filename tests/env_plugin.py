"""Test-run environment, fixed before Django reads its settings (loaded with `-p tests.env_plugin`).

Web tests use the Redis at 127.0.0.1:6379 (database 13, emptied around each test) when it answers,
else an embedded server that ``tests/web/conftest.py`` starts on a free port on first use.
"""

from __future__ import annotations

import os

from hytnas_web.lib.embedded_redis import free_port, port_is_open

if "HYTNAS_TEST_REDIS_URL" not in os.environ:
    if port_is_open("127.0.0.1", 6379):
        os.environ["HYTNAS_TEST_REDIS_URL"] = "redis://127.0.0.1:6379/13"
    else:
        os.environ["HYTNAS_TEST_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
        os.environ["HYTNAS_TEST_EMBEDDED_REDIS"] = "1"
os.environ["REDIS_URL"] = os.environ["HYTNAS_TEST_REDIS_URL"]
