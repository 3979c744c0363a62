"""The command line: options, start-up checks, signal handling and the exit code."""

from __future__ import annotations

import argparse
import logging
import math
import os
import shlex
import shutil
import signal
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from search_engine.devices import describe_device
from search_engine.evaluators import onnx_runtime
from search_engine.worker.client import TOKEN_ENV, ApiClient
from search_engine.worker.command import CommandSettings
from search_engine.worker.loop import DEFAULT_POLL, Worker, WorkerOptions
from search_engine.worker.measure import runtimes_here
from search_engine.worker.spool import Spool

logger = logging.getLogger("search_engine.worker")  # one logger for the whole worker

MAX_BATCH = 64  # the API's bounds on max_evaluations and lease_seconds
LEASE_BOUNDS = (30, 86_400)


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
    own = parser.add_argument_group(
        "your own command", "measure the architectures of external studies with your command (see README.md)"
    )
    own.add_argument(
        "--command",
        metavar="CMD",
        help='run CMD for each architecture, e.g. "python my_eval.py" (split like shell words, no shell)',
    )
    own.add_argument(
        "--time-limit",
        type=_seconds_arg,
        metavar="SECONDS",
        help="stop the command after SECONDS (default: the study's time_limit_seconds, else no limit)",
    )
    own.add_argument("--workdir", metavar="DIR", help="the command's working directory (default: here)")
    own.add_argument(
        "--logs",
        metavar="DIR",
        help="folder of each evaluation's output, study-<id>/evaluation-<id>.log (default: SPOOL/logs)",
    )
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
    try:
        command = _command_settings(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
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
    runtimes = None if command is not None else _runtimes_here_logged()
    options = WorkerOptions(
        batch=args.batch,
        lease_seconds=args.lease,
        poll_seconds=args.poll,
        threads=args.threads,
        study=args.study,
        max_evaluations=args.max_evaluations,
        exit_when_idle=args.exit_when_idle,
        command=command,
        runtimes=runtimes,
    )
    worker = Worker(client, Spool(args.spool, client.server), device, options)
    _install_signal_handlers(worker)
    try:
        return worker.run()
    except KeyboardInterrupt:
        logger.warning("interrupted; unsent reports stay in %s", Path(args.spool).expanduser())
        return 130


def _runtimes_here_logged() -> tuple[str, ...]:
    """The runtimes this machine measures latency in (sent with every claim), said once at start."""
    runtimes = runtimes_here()
    if "onnxruntime" in runtimes:
        logger.info("measuring latency in: %s", ", ".join(runtimes))
    else:
        logger.warning(
            "ONNX Runtime is not available here, so studies measured in it are left to other workers "
            "(%s); measuring latency in: %s",
            onnx_runtime.install_hint(),
            ", ".join(runtimes),
        )
    return runtimes


def _command_settings(args: argparse.Namespace) -> CommandSettings | None:
    """``--command`` and its options, checked before any work is claimed (ValueError: what is wrong)."""
    if args.command is None:
        given = [
            f"--{name.replace('_', '-')}" for name in ("time_limit", "workdir", "logs") if getattr(args, name)
        ]
        if given:
            raise ValueError(f"{', '.join(given)} only apply with --command")
        return None
    try:
        argv = tuple(shlex.split(args.command))
    except ValueError as exc:
        raise ValueError(f"--command: {exc}: {args.command!r}") from None
    if not argv:
        raise ValueError("--command is empty: give the program to run, e.g. --command 'python my_eval.py'")
    workdir = Path(args.workdir or ".").expanduser().resolve()
    if not workdir.is_dir():
        raise ValueError(f"--workdir: {workdir} is not a folder")
    if os.sep in argv[0]:  # a path, relative to the command's working directory
        path = workdir / Path(argv[0]).expanduser()
        runnable = path.is_file() and os.access(path, os.X_OK)
    else:
        runnable = shutil.which(argv[0]) is not None
    if not runnable:
        raise ValueError(
            f"--command: {argv[0]!r} is not a program this worker can run (not found or not executable)"
        )
    log_dir = Path(args.logs).expanduser() if args.logs else Path(args.spool).expanduser() / "logs"
    return CommandSettings(argv, workdir, log_dir.resolve(), args.time_limit)


def _install_signal_handlers(worker: Worker) -> None:
    """First SIGINT/SIGTERM: stop gracefully; a second one: stop now (reports are already spooled)."""
    received: list[int] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt
        logger.info(
            "%s received: stopping once the evaluation in hand (if any) is reported; again to stop now"
            + (" (and stop the command)" if worker.options.command is not None else ""),
            signal.Signals(signum).name,
        )
        worker.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)
