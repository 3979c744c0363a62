"""The worker's HTTP side: JSON requests to the studio's API, its errors, and the wait between retries."""

from __future__ import annotations

import http.client
import json
import platform
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

TOKEN_ENV = "HYTNAS_WORKER_TOKEN"
"""The environment variable holding the worker's token (read by the command line, kept from commands)."""


class ApiError(Exception):
    """The server answered with an error, or did not answer at all (``status`` 0).

    ``retryable`` says whether sending the same request again may succeed: no answer, a 5xx, 408
    and 429 are passing troubles; any other 4xx is the server's final word on that request.
    ``field`` is the value the server named as wrong (``objectives.latency``), when it named one;
    ``message`` then ends with ``(field ...)``.
    """

    def __init__(
        self, status: int, message: str, *, retryable: bool | None = None, field: str | None = None
    ) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.field = field
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
        self,
        max_evaluations: int,
        lease_seconds: int,
        device: Mapping[str, Any],
        study: int | None,
        evaluator: str = "remote",
        runtimes: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Up to ``max_evaluations`` evaluations under one new lease (an empty list when idle).

        ``evaluator``: the kind of work, ``remote`` (the torch measurement) or ``external`` (the
        user's own evaluation). ``runtimes``: the runtimes this machine measures latency in, so the
        server leaves it no study measured in another (None: any, as older workers claim); the
        answer's ``refused`` names the studies left alone and why.
        """
        body: dict[str, Any] = {
            "max_evaluations": max_evaluations,
            "lease_seconds": lease_seconds,
            "device": dict(device),
        }
        if study is not None:
            body["study"] = study
        if evaluator != "remote":
            body["evaluator"] = evaluator
        if runtimes is not None:
            body["runtimes"] = list(runtimes)
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
    field = None
    if isinstance(answer, dict) and answer.get("error"):
        message = str(answer["error"])
        if answer.get("field"):
            field = str(answer["field"])
            message += f" (field {field})"
    return ApiError(exc.code, message, field=field)


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
