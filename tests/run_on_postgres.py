"""Run the web tests again on PostgreSQL: skipped when none answers, required when CI=true.

The database server comes from HYTNAS_TEST_POSTGRES_URL (default: the local one at
127.0.0.1:5432 as user postgres, with a database name carrying this run's process id, so two runs at
once never share one); pytest-django creates and drops its own test database there.
"""

from __future__ import annotations

import os
import subprocess
import sys

DEFAULT_URL = f"postgresql://postgres@127.0.0.1:5432/hytnas_{os.getpid()}"


def reachable(url: str) -> str | None:
    """None when a connection to the server succeeds, else the reason it failed."""
    import psycopg

    server_url = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(server_url, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip()


def main() -> int:
    url = os.environ.get("HYTNAS_TEST_POSTGRES_URL", DEFAULT_URL)
    problem = reachable(url)
    if problem is not None:
        if os.environ.get("CI") == "true":
            print(
                f"PostgreSQL tests are required in CI, but {url} is unreachable: {problem}", file=sys.stderr
            )
            return 1
        print(f"PostgreSQL not reachable at {url} ({problem}); skipping the PostgreSQL run.")
        return 0
    print(f"Running the web tests on PostgreSQL ({url})", flush=True)
    # The other-hosts tests bring a PostgreSQL cluster of their own, and the browser tests check what
    # a page's script and layout do with answers the view tests already check on this database: a
    # second run of either would prove nothing new about PostgreSQL.
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/web",
        "--create-db",
        "--ignore=tests/web/test_other_hosts.py",
        "--ignore-glob=tests/web/*_browser.py",
        *sys.argv[1:],
    ]
    return subprocess.call(command, env={**os.environ, "DATABASE_URL": url})


if __name__ == "__main__":
    sys.exit(main())
