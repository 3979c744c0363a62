"""RQ worker classes that reconcile the queue with the database before taking work.

A worker that starts after a crash or an emptied Redis first re-enqueues every running study whose
iteration has no live job, so restarting workers is enough to get stalled studies moving again.
"""

from __future__ import annotations

import logging
from typing import Any

from rq.worker import SimpleWorker, Worker

from hytnas_web.studies import services

logger = logging.getLogger(__name__)


class _ReconcileOnStart:
    def work(self, *args: Any, **kwargs: Any) -> bool:
        try:
            for action in services.reconcile():
                logger.info("reconcile on worker start: %s", action)
        except Exception:  # the worker must come up even when the database is briefly unreachable
            logger.exception("reconcile on worker start failed")
        return super().work(*args, **kwargs)  # type: ignore[misc]


class ReconcilingWorker(_ReconcileOnStart, Worker):
    """The default worker (a forked work horse per job) that reconciles on start."""


class ReconcilingSimpleWorker(_ReconcileOnStart, SimpleWorker):
    """Runs jobs in its own process (no fork): lighter, used by tests and small machines."""
