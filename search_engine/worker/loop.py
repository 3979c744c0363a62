"""The claim → measure → report loop: claiming under a lease, measuring, delivering each report for good."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search_engine.types import EvaluationResult
from search_engine.worker.client import ApiClient, ApiError, Backoff, TokenRefused
from search_engine.worker.command import CommandSettings, evaluate_with_command
from search_engine.worker.lease import LeaseKeeper
from search_engine.worker.measure import MAX_ERROR_CHARS, evaluate_claimed, is_finite, report_payload
from search_engine.worker.spool import PendingReport, Spool

logger = logging.getLogger("search_engine.worker")  # one logger for the whole worker

DEFAULT_POLL = 10.0  # seconds between claims when idle, unless the server or --poll says otherwise
TOKEN_REFUSED = "token refused (unknown or revoked)"


@dataclass(frozen=True)
class WorkerOptions:
    """How much to claim and how long to wait; see ``build_parser`` for each option's meaning."""

    batch: int = 1
    lease_seconds: int = 600
    poll_seconds: float | None = None  # None: the server's retry_after_seconds, else DEFAULT_POLL
    threads: int | None = None
    study: int | None = None
    max_evaluations: int | None = None
    exit_when_idle: bool = False
    command: CommandSettings | None = None  # set: run the user's command on external studies' work
    runtimes: tuple[str, ...] | None = None  # what latency can be measured in here; None: not said

    @property
    def work_kind(self) -> str:
        """The kind of work claimed: ``external`` for the user's command, else ``remote`` (torch)."""
        return "remote" if self.command is None else "external"


class _Fatal(Exception):
    """A condition retrying cannot fix (bad address, token not allowed): the worker exits with 2."""


class Worker:
    """The claim → measure → report loop of one worker process."""

    def __init__(
        self, client: ApiClient, spool: Spool, device: Mapping[str, Any], options: WorkerOptions
    ) -> None:
        self.client = client
        self.spool = spool
        self.device = dict(device)
        self.options = options
        self.measured = 0
        self._stop = threading.Event()
        self._claim_backoff = Backoff()
        self._refusals_told: set[str] = set()

    def stop(self) -> None:
        """Ask the loop to stop after the current report (safe from a signal handler)."""
        self._stop.set()

    def run(self) -> int:
        """Work until stopped, idle (``exit_when_idle``) or done (``max_evaluations``); the exit code."""
        try:
            if not self._check_token():
                return 0  # stopped while waiting for the server
            self._flush_spool()
            while not self._stop.is_set():
                if self.options.max_evaluations is not None and self.measured >= self.options.max_evaluations:
                    logger.info("measured %d evaluations: done", self.measured)
                    return 0
                claim = self._claim()
                if claim is None:
                    continue
                if not claim.get("evaluations"):
                    if self.options.exit_when_idle:
                        logger.info("nothing to evaluate: exiting (--exit-when-idle)")
                        return 0
                    self._stop.wait(self._idle_wait(claim))
                    continue
                self._work_on(claim)
        except TokenRefused:
            logger.error(TOKEN_REFUSED)
            return 2
        except _Fatal as exc:
            logger.error("%s", exc)
            return 2
        logger.info("stopped after %d evaluations", self.measured)
        return 0

    def _idle_wait(self, claim: Mapping[str, Any]) -> float:
        """Seconds to wait after an empty claim: ``--poll`` if given, else what the server asks."""
        if self.options.poll_seconds is not None:
            return self.options.poll_seconds
        asked = claim.get("retry_after_seconds", DEFAULT_POLL)
        return min(max(float(asked), 1.0), 600.0) if is_finite(asked) else DEFAULT_POLL

    def _check_token(self) -> bool:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                answer = self.client.whoami()
            except ApiError as exc:
                self._raise_unless_retryable(exc, "checking the token")
                delay = backoff.next()
                logger.warning("server not reachable (%s); trying again in %g s", exc, delay)
                self._stop.wait(delay)
                continue
            token = answer.get("token") or {}
            scope = (
                f"study {token['study']}" if token.get("study") is not None else "any of its owner's studies"
            )
            logger.info(
                "connected to %s as token %r (%s…), allowed for %s",
                self.client.server,
                token.get("name"),
                token.get("prefix"),
                scope,
            )
            return True
        return False

    def _flush_spool(self) -> None:
        reports = self.spool.pending()
        if reports:
            logger.info("sending %d report(s) left in %s", len(reports), self.spool.directory)
        for report in reports:
            self._deliver(report)
            if self._stop.is_set():
                return

    def _claim(self) -> dict[str, Any] | None:
        """One claim; None after a network error (having waited out the backoff)."""
        wanted = self.options.batch
        if self.options.max_evaluations is not None:
            wanted = min(wanted, self.options.max_evaluations - self.measured)
        try:
            claim = self.client.claim(
                wanted,
                self.options.lease_seconds,
                self.device,
                self.options.study,
                self.options.work_kind,
                self.options.runtimes,
            )
        except ApiError as exc:
            self._raise_unless_retryable(exc, "claiming work")
            delay = self._claim_backoff.next()
            logger.warning("could not claim work (%s); trying again in %g s", exc, delay)
            self._stop.wait(delay)
            return None
        self._claim_backoff.reset()
        self._tell_refusals(claim)
        return claim

    def _tell_refusals(self, claim: Mapping[str, Any]) -> None:
        """Log each study the server left alone for a runtime this worker lacks, once per process."""
        for refusal in claim.get("refused") or ():
            message = str(refusal.get("message", "")) if isinstance(refusal, Mapping) else str(refusal)
            if message and message not in self._refusals_told:
                self._refusals_told.add(message)
                logger.warning("not claimed: %s", message)

    def _work_on(self, claim: Mapping[str, Any]) -> None:
        evaluations = list(claim["evaluations"])
        lease_id = (claim.get("lease") or {}).get("id")
        if not lease_id:
            logger.error(
                "the server offered %d evaluation(s) without a lease; ignoring them", len(evaluations)
            )
            self._stop.wait(self._idle_wait({}))
            return
        logger.info("claimed %d evaluation(s) under lease %s", len(evaluations), lease_id)
        with LeaseKeeper(self.client, lease_id, self.options.lease_seconds) as keeper:
            for index, evaluation in enumerate(evaluations):
                left = len(evaluations) - index
                if self._stop.is_set() or keeper.lost.is_set():
                    why = "stopping" if self._stop.is_set() else "lease lost"
                    logger.info("%s: %d claimed evaluation(s) left for the server to re-offer", why, left)
                    return
                self._measure_and_report(evaluation, lease_id)

    def _measure_and_report(self, evaluation: Mapping[str, Any], lease_id: str) -> None:
        try:
            evaluation_id = int(evaluation["id"])
        except (KeyError, TypeError, ValueError):
            logger.error("the server offered an evaluation without a usable id; skipping it: %r", evaluation)
            return
        study = evaluation.get("study") or {}
        logger.info(
            "evaluation %d (study %s %r): measuring", evaluation_id, study.get("id"), study.get("name")
        )
        result, log = self._measure(evaluation, lease_id)
        self.measured += 1
        output = f"; output in {log}" if log is not None else ""
        if result.ok:
            names = [o.get("name", "?") for o in evaluation.get("objectives") or []]
            values = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, result.objectives or (), strict=False))
            logger.info("evaluation %d: done in %.1f s: %s%s", evaluation_id, result.seconds, values, output)
        else:
            error = (result.error or "").split("\n", 1)[0]  # the first line; the rest is in the log file
            logger.warning(
                "evaluation %d: failed in %.1f s: %s%s", evaluation_id, result.seconds, error, output
            )
        self._deliver(self._spooled(evaluation_id, report_payload(result, lease_id, self.device)))

    def _measure(self, evaluation: Mapping[str, Any], lease_id: str) -> tuple[EvaluationResult, Path | None]:
        """The result, by the user's command or the claim's evaluator, and the command's log file (if any)."""
        if self.options.command is None:
            return evaluate_claimed(evaluation, self.options.threads), None
        outcome = evaluate_with_command(evaluation, lease_id, self.options.command)
        return outcome.result, outcome.log

    def _spooled(self, evaluation_id: int, payload: dict[str, Any]) -> PendingReport:
        """The report, written to the spool first; sent unspooled if the disk refuses."""
        try:
            return self.spool.put(evaluation_id, payload)
        except OSError as exc:
            logger.error(
                "could not write the report to %s (%s); sending it unspooled", self.spool.directory, exc
            )
            return PendingReport(evaluation_id, payload, None)

    def _deliver(self, report: PendingReport) -> None:
        """Send until the server answers for good; on a stop, leave it in the spool after one try."""
        backoff = Backoff()
        while True:
            try:
                status, answer = self.client.report(report.evaluation, report.payload)
            except ApiError as exc:
                if exc.status == 401:
                    raise TokenRefused from None
                if exc.status == 400 and report.payload.get("status") == "done":
                    # Dropping it would leave the evaluation pending, re-offered and re-measured
                    # forever; a failure carrying the server's reason closes it.
                    logger.error(
                        "evaluation %d: the server refused the measurement: %s", report.evaluation, exc
                    )
                    report = self._spooled(report.evaluation, _refused_measurement(report.payload, exc))
                    continue
                if not exc.retryable:
                    _log_refused_report(report.evaluation, exc)
                    self.spool.remove(report)
                    return
                if self._stop.is_set():
                    where = report.path or "nowhere (spool not writable)"
                    logger.warning(
                        "evaluation %d: report not sent (%s); kept in %s", report.evaluation, exc, where
                    )
                    return
                delay = backoff.next()
                logger.warning(
                    "evaluation %d: report not sent (%s); trying again in %g s", report.evaluation, exc, delay
                )
                self._stop.wait(delay)
                continue
            self.spool.remove(report)
            state = answer.get("status", f"HTTP {status}")
            logger.info("evaluation %d: report %s", report.evaluation, str(state).replace("_", " "))
            return

    def _raise_unless_retryable(self, exc: ApiError, doing: str) -> None:
        if exc.status == 401:
            raise TokenRefused
        if not exc.retryable:
            raise _Fatal(f"{doing}: the server refused ({exc})")


def _refused_measurement(payload: Mapping[str, Any], exc: ApiError) -> dict[str, Any]:
    """A failed report in place of a measurement the server would not take, saying why."""
    kept = {key: payload[key] for key in ("lease", "seconds", "device") if key in payload}
    error = f"the server refused the measurement: {exc.message}"[:MAX_ERROR_CHARS]
    return {**kept, "status": "failed", "error": error}


def _log_refused_report(evaluation: int, exc: ApiError) -> None:
    """A definitive refusal: the report is dropped, so say plainly why."""
    if exc.status == 409:
        logger.warning(
            "evaluation %d: report rejected as late (another lease reported it): %s", evaluation, exc.message
        )
    else:
        logger.error("evaluation %d: report refused for good, dropped: %s", evaluation, exc)
