"""``manage.py reconcile [--loop]``: re-enqueue running studies whose work has no live job."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from hytnas_web.studies import services


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
        while True:
            try:
                for action in services.reconcile():
                    self.stdout.write(action)
            except Exception as exc:  # keep looping: the next pass may find the database back
                self.stderr.write(f"reconcile failed: {exc}")
                if not loop:
                    raise
            if not loop or stop.wait(interval):
                return
