"""Keeping a lease alive from a background thread while its evaluations are measured."""

from __future__ import annotations

import logging
import threading

from search_engine.worker.client import ApiClient, ApiError

logger = logging.getLogger("search_engine.worker")  # one logger for the whole worker


class LeaseKeeper:
    """Extends a lease every ``lease_seconds / 3`` in a background thread while work is in hand.

    ``lost`` is set when the server says the lease holds nothing any more (409, or 403/404): the
    evaluation in progress is still finished and reported, the rest of the batch is not measured.
    Network trouble is only logged: the next tick tries again, well before the lease runs out.
    """

    def __init__(
        self, client: ApiClient, lease_id: str, lease_seconds: int, interval: float | None = None
    ) -> None:
        self.client = client
        self.lease_id = lease_id
        self.lease_seconds = lease_seconds
        self.interval = lease_seconds / 3.0 if interval is None else interval
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LeaseKeeper:
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)  # a request in flight finishes on its own (daemon thread)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.extend_once():
                return

    def extend_once(self) -> bool:
        """One extension; False when there is no point trying again."""
        try:
            answer = self.client.extend(self.lease_id, self.lease_seconds)
        except ApiError as exc:
            if self._stop.is_set():
                return False  # the batch is over; an answer about it no longer matters
            if exc.retryable:
                logger.warning("could not extend lease %s, trying again later: %s", self.lease_id, exc)
                return True
            logger.warning("lease %s lost (%s): finishing the current evaluation anyway", self.lease_id, exc)
            self.lost.set()
            return False
        logger.debug(
            "lease %s extended until %s", self.lease_id, (answer.get("lease") or {}).get("expires_at")
        )
        return True
