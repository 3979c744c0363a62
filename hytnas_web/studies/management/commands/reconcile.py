"""``manage.py reconcile [--loop]``: re-enqueue running studies whose work has no live job."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections

from hytnas_web.studies import services

MAX_BACKOFF_SECONDS = 10.0
"""Longest wait between failed passes when ``--every`` is shorter: Redis or the database is retried at
least this often, so work resumes within seconds of a service's return."""


class Command(BaseCommand):
    help = "Re-enqueue running studies whose current iteration has no live job (once, or every N seconds)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep reconciling until stopped")
        parser.add_argument("--every", type=float, default=None, help="seconds between passes (with --loop)")

    def handle(self, *args: Any, loop: bool, every: float | None, **options: Any) -> None:
        interval = every if every is not None else settings.RECONCILE_EVERY_SECONDS
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        failures = 0
        while True:
            # A pass never runs on a connection that broke in an earlier one (a restarted database).
            close_old_connections()
            try:
                for action in services.reconcile():
                    self.stdout.write(action)
            except Exception as exc:  # keep looping: the next pass may find Redis and the database back
                connections.close_all()
                if not loop:
                    raise
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    self.stderr.write(f"reconcile failed ({failures} pass(es) in a row): {exc}")
            else:
                if failures:
                    self.stdout.write(f"reconcile works again after {failures} failed pass(es)")
                failures = 0
            if not loop or stop.wait(_wait(interval, failures)):
                return


def _wait(interval: float, failures: int) -> float:
    """Seconds to the next pass: the interval, backing off (doubling) after failed passes.

    The back-off never exceeds the larger of the interval and ``MAX_BACKOFF_SECONDS``, so a short
    interval (tests, small machines) still retries a returned service quickly.
    """
    if failures == 0:
        return interval
    return min(interval * 2.0 ** (failures - 1), max(interval, MAX_BACKOFF_SECONDS))
