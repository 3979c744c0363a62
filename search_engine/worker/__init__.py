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
bad evaluator setting becomes a failed report with the reason; the worker carries on. Each claim
lists the runtimes this machine measures latency in (``measure.runtimes_here``: eager PyTorch, and
ONNX Runtime when it imports), so the server keeps a study this machine could only fail for another
worker and says why; the worker logs each such refusal once.
SIGINT/SIGTERM stop claiming, let the current report be sent (or left in the spool) and exit 0; a
second signal stops at once. Only the standard library, numpy and torch are needed, no web stack.

With ``--command "python my_eval.py"`` the worker measures ``external`` studies instead: it runs the
user's command for each architecture (the work item as JSON on its standard input and in a file),
reads the result it prints or writes, and keeps each run's output in a log file (``command``).

The package splits that work by job: ``client`` (HTTP requests and their errors), ``spool``
(reports on disk), ``lease`` (keeping a lease alive), ``measure`` (evaluating a claim, building
its report), ``command`` (the user's command as the evaluation), ``loop`` (the ``Worker``) and
``cli`` (options, signals, exit code).
"""

from __future__ import annotations

from search_engine.worker.cli import LEASE_BOUNDS, MAX_BATCH, build_parser, main
from search_engine.worker.client import TOKEN_ENV, ApiClient, ApiError, Backoff, TokenRefused
from search_engine.worker.command import CommandOutcome, CommandSettings, evaluate_with_command
from search_engine.worker.lease import LeaseKeeper
from search_engine.worker.loop import DEFAULT_POLL, TOKEN_REFUSED, Worker, WorkerOptions
from search_engine.worker.measure import MAX_ERROR_CHARS, evaluate_claimed, report_payload
from search_engine.worker.spool import PendingReport, Spool

__all__ = [
    "DEFAULT_POLL",
    "LEASE_BOUNDS",
    "MAX_BATCH",
    "MAX_ERROR_CHARS",
    "TOKEN_ENV",
    "TOKEN_REFUSED",
    "ApiClient",
    "ApiError",
    "Backoff",
    "CommandOutcome",
    "CommandSettings",
    "LeaseKeeper",
    "PendingReport",
    "Spool",
    "TokenRefused",
    "Worker",
    "WorkerOptions",
    "build_parser",
    "evaluate_claimed",
    "evaluate_with_command",
    "main",
    "report_payload",
]
