"""Evaluation worker: claims architectures from a HyT-NAS Studio server, measures them here, reports back.

Latency only means something on the device that will run the network, and that device (an edge
board, a lab machine) often reaches nothing but the web app. Run this on it:

    python -m search_engine.worker --server https://studio.example.org --token hyt_...

(or put the token in ``HYTNAS_WORKER_TOKEN``). The worker checks its token, describes the device
(``search_engine.devices``), then loops: claim a batch of evaluations under a lease, build each
study's evaluator by name from the claim, measure the architecture, report the result. A background
thread extends the lease while a measurement runs, so a slow board keeps its work.

Reports are never lost: each is written to a spool folder (default ``~/.cache/hytnas-worker``)
before it is sent and deleted once the server has answered for good, so a network outage or a
restart only delays it; a restarted worker sends what is left first. A failing architecture or a
bad evaluator setting becomes a failed report with the reason; the worker carries on.
SIGINT/SIGTERM stop claiming, let the current report be sent (or left in the spool) and exit 0; a
second signal stops at once. Only the standard library, numpy and torch are needed, no web stack.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import logging
import math
import os
import platform
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from search_engine.devices import describe_device
from search_engine.errors import ConfigError
from search_engine.registry import EVALUATORS
from search_engine.types import EvaluationResult

logger = logging.getLogger("search_engine.worker")

TOKEN_ENV = "HYTNAS_WORKER_TOKEN"
MAX_ERROR_CHARS = 10_000  # the API refuses longer failure messages
MAX_BATCH = 64  # the API's bounds on max_evaluations and lease_seconds
LEASE_BOUNDS = (30, 86_400)
DEFAULT_POLL = 10.0  # seconds between claims when idle, unless the server or --poll says otherwise
TOKEN_REFUSED = "token refused (unknown or revoked)"


class ApiError(Exception):
    """The server answered with an error, or did not answer at all (``status`` 0).

    ``retryable`` says whether sending the same request again may succeed: no answer, a 5xx, 408
    and 429 are passing troubles; any other 4xx is the server's final word on that request.
    """

    def __init__(self, status: int, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.retryable = (
            (status == 0 or status >= 500 or status in (408, 429)) if retryable is None else retryable
        )


class TokenRefused(Exception):
    """The server no longer knows the token: nothing more can be claimed or reported with it."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn a redirected POST into a body-less GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class ApiClient:
    """JSON requests to one server's ``/api/v1/`` with the worker's bearer token."""

    def __init__(self, server: str, token: str, timeout: float = 30.0) -> None:
        base = server.rstrip("/")
        self.server = base.removesuffix("/api/v1")
        self.base = self.server + "/api/v1/"
        self.timeout = timeout
        self._token = token
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._agent = f"hytnas-worker (Python {platform.python_version()}; {platform.machine()})"

    def whoami(self) -> dict[str, Any]:
        """``{"token": {"name", "prefix", "study"}, "server_time"}``: checks the token."""
        return self.request("GET", "worker")[1]

    def claim(
        self, max_evaluations: int, lease_seconds: int, device: Mapping[str, Any], study: int | None
    ) -> dict[str, Any]:
        """Up to ``max_evaluations`` evaluations under one new lease (an empty list when idle)."""
        body: dict[str, Any] = {
            "max_evaluations": max_evaluations,
            "lease_seconds": lease_seconds,
            "device": dict(device),
        }
        if study is not None:
            body["study"] = study
        return self.request("POST", "claims", body)[1]

    def extend(self, lease_id: str, lease_seconds: int) -> dict[str, Any]:
        """Push the lease's expiry ``lease_seconds`` from now; 409 once it holds nothing pending."""
        path = f"leases/{urllib.parse.quote(lease_id, safe='')}/extend"
        return self.request("POST", path, {"lease_seconds": lease_seconds})[1]

    def report(self, evaluation_id: int, payload: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Send one evaluation's result: 201 recorded, 200 already recorded (same lease)."""
        return self.request("POST", f"evaluations/{int(evaluation_id)}/report", payload)

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """``(status, JSON answer)`` of a 2xx; anything else raises :class:`ApiError`."""
        url = self.base + path
        data = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        headers["User-Agent"] = self._agent
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, raw = int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(exc) from None
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            raise ApiError(0, f"no answer from {url}: {reason}") from None
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):  # e.g. a captive portal's HTML page
            raise ApiError(status, f"the answer from {url} is not a JSON object", retryable=True)
        return status, answer


def _http_error(exc: urllib.error.HTTPError) -> ApiError:
    """An ApiError carrying the server's own words (``{"error", "field"}``) when it gave any."""
    if 300 <= exc.code < 400:
        location = exc.headers.get("Location", "?")
        return ApiError(exc.code, f"the server redirects to {location}; pass that address as --server")
    try:
        answer = json.loads(exc.read() or b"null")
    except (OSError, ValueError, http.client.HTTPException):
        answer = None
    message = f"{exc.reason}" or "error"
    if isinstance(answer, dict) and answer.get("error"):
        message = str(answer["error"])
        if answer.get("field"):
            message += f" (field {answer['field']})"
    return ApiError(exc.code, message)


@dataclass(frozen=True)
class PendingReport:
    """A report waiting for a definitive answer: its evaluation, its JSON body, its spool file."""

    evaluation: int
    payload: dict[str, Any]
    path: Path | None


class Spool:
    """One JSON file per undelivered report in a folder, kept per server, surviving restarts."""

    def __init__(self, directory: Path | str, server: str) -> None:
        self.directory = Path(directory).expanduser()
        self.server = server
        self._prefix = hashlib.sha256(server.encode("utf-8")).hexdigest()[:12]

    def put(self, evaluation: int, payload: Mapping[str, Any]) -> PendingReport:
        """Write the report atomically (temp file, fsync, rename) so a crash never leaves half a file."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"{self._prefix}-evaluation-{int(evaluation)}.json"
        record = {"server": self.server, "evaluation": int(evaluation), "payload": dict(payload)}
        descriptor, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(record, handle, allow_nan=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return PendingReport(int(evaluation), dict(payload), path)

    def pending(self) -> list[PendingReport]:
        """This server's spooled reports, oldest first; an unreadable file is renamed ``*.corrupt``."""
        if not self.directory.is_dir():
            return []
        paths = sorted(self.directory.glob(f"{self._prefix}-evaluation-*.json"), key=_mtime)
        reports = []
        for path in paths:
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                report = PendingReport(int(record["evaluation"]), dict(record["payload"]), path)
                if record["server"] != self.server:
                    raise ValueError(f"it belongs to {record['server']}")
            except FileNotFoundError:
                continue  # another worker sharing the folder delivered it meanwhile
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.warning("skipping unreadable spooled report %s (%s); renamed to *.corrupt", path, exc)
                _rename_quietly(path, path.with_name(path.name + ".corrupt"))
                continue
            reports.append(report)
        return reports

    def remove(self, report: PendingReport) -> None:
        """Forget a report the server has answered for good."""
        if report.path is not None:
            report.path.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _rename_quietly(source: Path, target: Path) -> None:
    with contextlib.suppress(OSError):
        os.replace(source, target)


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


class Backoff:
    """Waits of 1 s doubling up to 60 s between attempts, back to 1 s after a success."""

    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    def next(self) -> float:
        """The wait before the next attempt."""
        delay, self._next = self._next, min(self._next * 2.0, self.cap)
        return delay

    def reset(self) -> None:
        """Start again from the first wait."""
        self._next = self.first


def evaluate_claimed(evaluation: Mapping[str, Any], threads: int | None = None) -> EvaluationResult:
    """Build the claim's evaluator by name and measure its one architecture; never raises.

    Args:
        evaluation: one entry of a claim's ``evaluations`` (``evaluator``, ``architecture``,
            ``objectives``).
        threads: replaces the evaluator's ``threads`` parameter when given and the evaluator has one.

    Returns:
        The measurement, or a failed result saying why (bad settings, an exception, an evaluator
        whose objectives do not match the study's).
    """
    start = time.perf_counter()
    try:
        spec = evaluation["evaluator"]
        name, params = spec["name"], dict(spec.get("params") or {})
        if threads is not None and any(p.name == "threads" for p in EVALUATORS.params(name)):
            params["threads"] = threads
        evaluator = EVALUATORS.build(name, params, "evaluator")
        expected = [o.get("name") for o in evaluation.get("objectives") or []]
        measured = [o.name for o in evaluator.objectives]
        if expected and len(expected) != len(measured):
            return EvaluationResult.failure(
                f"the study expects objectives {expected}, evaluator {name!r} measures {measured}",
                time.perf_counter() - start,
            )
        result: EvaluationResult = evaluator.evaluate([evaluation["architecture"]])[0]
        return result
    except ConfigError as exc:
        return EvaluationResult.failure(f"bad evaluator settings: {exc}", time.perf_counter() - start)
    except KeyError as exc:
        return EvaluationResult.failure(f"the claim has no {exc} field", time.perf_counter() - start)
    except Exception as exc:  # the worker outlives any one architecture
        detail = f"{type(exc).__name__}: {exc}"
        return EvaluationResult.failure(
            f"the worker could not evaluate it: {detail}", time.perf_counter() - start
        )


def report_payload(result: EvaluationResult, lease_id: str, device: Mapping[str, Any]) -> dict[str, Any]:
    """The report body for ``result``: JSON-safe, non-finite extras dropped (JSON has no NaN).

    A result with a missing or non-finite objective becomes a failed report, so the server is never
    sent a measurement it must refuse.
    """
    payload: dict[str, Any] = {"lease": lease_id, "seconds": _seconds(result.seconds), "device": dict(device)}
    metrics = _finite_metrics(result.metrics)
    if metrics:
        payload["metrics"] = metrics
    bad = [i for i, v in enumerate(result.objectives or ()) if not _finite(v)]
    error = None
    if result.error is not None:
        error = result.error.strip() or "the evaluator failed without saying why"  # the API needs a reason
    elif result.objectives is None:
        error = "the evaluator returned no objectives"
    elif bad:
        error = f"objective {bad[0]} is not a finite number"
    if error is not None:
        if len(error) > MAX_ERROR_CHARS:
            error = error[: MAX_ERROR_CHARS - 1] + "…"
        payload.update(status="failed", error=error)
        return payload
    objectives = [float(v) for v in result.objectives or ()]
    payload.update(status="done", objectives=objectives)
    stages = {
        str(k): float(v) for k, v in (result.stage_latency or {}).items() if _finite(v) and float(v) >= 0.0
    }
    if stages:
        payload["stage_latency"] = stages
    return payload


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _finite_metrics(metrics: Mapping[str, Any]) -> dict[str, float | int | str | bool]:
    """Numbers as plain floats/ints (numpy scalars included), text and flags as they are; NaN/inf dropped."""
    clean: dict[str, float | int | str | bool] = {}
    for key, value in metrics.items():
        if isinstance(value, bool | str | int):  # text, flags and whole numbers as they are
            clean[str(key)] = value
        elif _finite(value):
            clean[str(key)] = float(value)
    return clean


def _seconds(value: float) -> float:
    return float(value) if _finite(value) and value > 0 else 0.0


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
        return min(max(float(asked), 1.0), 600.0) if _finite(asked) else DEFAULT_POLL

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
            claim = self.client.claim(wanted, self.options.lease_seconds, self.device, self.options.study)
        except ApiError as exc:
            self._raise_unless_retryable(exc, "claiming work")
            delay = self._claim_backoff.next()
            logger.warning("could not claim work (%s); trying again in %g s", exc, delay)
            self._stop.wait(delay)
            return None
        self._claim_backoff.reset()
        return claim

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
        result = evaluate_claimed(evaluation, self.options.threads)
        self.measured += 1
        if result.ok:
            names = [o.get("name", "?") for o in evaluation.get("objectives") or []]
            values = ", ".join(f"{n}={v:.6g}" for n, v in zip(names, result.objectives or (), strict=False))
            logger.info("evaluation %d: done in %.1f s: %s", evaluation_id, result.seconds, values)
        else:
            logger.warning("evaluation %d: failed in %.1f s: %s", evaluation_id, result.seconds, result.error)
        self._deliver(self._spooled(evaluation_id, report_payload(result, lease_id, self.device)))

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


def _positive_int(low: int, high: int | None = None) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    return parse


def _seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so tests can read its defaults)."""
    parser = argparse.ArgumentParser(
        prog="python -m search_engine.worker",
        description="Measure architectures for HyT-NAS Studio studies on this machine.",
    )
    add = parser.add_argument
    add(
        "--server", required=True, metavar="URL", help="the studio's address, e.g. https://studio.example.org"
    )
    add("--token", metavar="TOKEN", help=f"worker token (hyt_...); default: ${TOKEN_ENV}")
    add("--name", metavar="LABEL", help="this device's label in the studio (default: the host name)")
    add(
        "--batch",
        type=_positive_int(1, MAX_BATCH),
        default=1,
        metavar="N",
        help="evaluations per claim, 1-64 (default 1)",
    )
    add(
        "--lease",
        type=_positive_int(*LEASE_BOUNDS),
        default=600,
        metavar="SECONDS",
        help="lease length, 30-86400 s, extended every third of it while measuring (default 600)",
    )
    add(
        "--poll",
        type=_seconds_arg,
        metavar="SECONDS",
        help=f"wait after an empty claim (default: what the server asks, else {DEFAULT_POLL:g})",
    )
    add(
        "--threads",
        type=_positive_int(1, 256),
        metavar="N",
        help="torch threads (default: the study's setting)",
    )
    add("--study", type=_positive_int(1), metavar="ID", help="only evaluate this study")
    add("--max-evaluations", type=_positive_int(1), metavar="N", help="exit after measuring N architectures")
    add("--exit-when-idle", action="store_true", help="exit when a claim finds nothing to do")
    add(
        "--spool",
        default="~/.cache/hytnas-worker",
        metavar="DIR",
        help="folder where reports wait until the server has them (default ~/.cache/hytnas-worker)",
    )
    add("--timeout", type=_seconds_arg, default=30.0, metavar="SECONDS", help="HTTP timeout (default 30)")
    add("-v", "--verbose", action="store_true", help="also log every lease extension")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit code (0 when stopped, idle or done; 2 for bad options or a refused token)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the reason
        return int(exc.code or 0)
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token.strip():
        print(
            f"error: no worker token: pass --token or set {TOKEN_ENV} (make one on a study's page)",
            file=sys.stderr,
        )
        return 2
    server = urllib.parse.urlsplit(args.server)
    if server.scheme not in ("http", "https") or not server.netloc:
        print(f"error: --server must be an http:// or https:// address, got {args.server!r}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    if server.scheme == "http" and server.hostname not in ("localhost", "127.0.0.1", "::1"):
        logger.warning("%s is plain http: the token and reports cross the network unencrypted", args.server)
    device = describe_device(args.name)
    if args.threads is not None:
        device["threads"] = args.threads  # latency depends on it, so it travels with the measurements
    client = ApiClient(args.server, token.strip(), timeout=args.timeout)
    options = WorkerOptions(
        batch=args.batch,
        lease_seconds=args.lease,
        poll_seconds=args.poll,
        threads=args.threads,
        study=args.study,
        max_evaluations=args.max_evaluations,
        exit_when_idle=args.exit_when_idle,
    )
    worker = Worker(client, Spool(args.spool, client.server), device, options)
    _install_signal_handlers(worker)
    try:
        return worker.run()
    except KeyboardInterrupt:
        logger.warning("interrupted; unsent reports stay in %s", Path(args.spool).expanduser())
        return 130


def _install_signal_handlers(worker: Worker) -> None:
    """First SIGINT/SIGTERM: stop gracefully; a second one: stop now (reports are already spooled)."""
    received: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt
        logger.info(
            "%s received: stopping once the evaluation in hand (if any) is reported; again to stop now",
            signal.Signals(signum).name,
        )
        worker.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)


if __name__ == "__main__":
    sys.exit(main())
