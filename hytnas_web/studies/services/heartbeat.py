"""A background pulse that keeps a job's claim fresh while it works.

Iterations and evaluation jobs stamp a time in the database while they run; the reconciler takes a
claim whose stamp is older than ``HEARTBEAT_STALE_SECONDS`` for a dead job's. A long evaluation
blocks the job's main thread, so the stamp is refreshed from a thread of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)


class Pulse:
    """Calls ``beat`` every quarter of the stale threshold until stopped (use as a context manager)."""

    def __init__(self, beat: Callable[[], object]) -> None:
        self.beat = beat
        self.interval = max(1.0, settings.HEARTBEAT_STALE_SECONDS / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Pulse:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except Exception:  # a lost connection must not silence the pulse: next beat, new connection
                    logger.warning("heartbeat failed; trying again in %.0f s", self.interval, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # the thread's own connection, opened by its first query
