"""The web server the dashboard's watchers reach: gunicorn sized to the machine, as runstack starts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hytnas_web.studies.management.commands.runstack import Command

ROOT = Path(__file__).resolve().parents[2]


def gunicorn_settings(**env: str) -> dict[str, str]:
    """The settings gunicorn resolves from runstack's command line (``--print-config``)."""
    command = Command()._gunicorn("127.0.0.1", 8000)[3:]  # after "python -m gunicorn"
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", *command, "--print-config"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hytnas_web.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    pairs = (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def test_runstack_runs_one_threaded_process_per_processor_with_long_keep_alive() -> None:
    settings = gunicorn_settings()
    assert int(settings["workers"]) == len(os.sched_getaffinity(0))
    assert settings["worker_class"] == "gthread" and int(settings["threads"]) == 4
    assert int(settings["keepalive"]) > 2  # a watcher polling every 2 s keeps its connection


def test_the_web_server_size_follows_the_environment() -> None:
    settings = gunicorn_settings(HYTNAS_WEB_WORKERS="3", HYTNAS_WEB_THREADS="6")
    assert settings["workers"] == "3" and settings["threads"] == "6"
