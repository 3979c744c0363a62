"""The command worker: the user's own command measures each claimed architecture of an ``external`` study.

``python -m search_engine.worker --server URL --command "python my_eval.py"`` claims work of kind
``external`` and, for each architecture, runs the command (split like a POSIX shell's words, run
without a shell) in ``--workdir`` with the worker's environment (less its token) plus:

- ``HYTNAS_ARCHITECTURE_FILE``: a JSON file holding the work item (``id``, ``study`` ``{id, name}``,
  ``key``, ``architecture`` (the dict of its variables), ``x`` (its point of the unit cube),
  ``objectives`` (``[{name, direction, unit}]``, the study's order), ``metrics`` (the metric names a
  result may carry; null: any), ``time_limit_seconds``). The same JSON arrives on standard input.
- ``HYTNAS_RESULT_FILE``: where the command may write its result; the file does not exist beforehand.
- ``HYTNAS_EVALUATION_ID`` and ``HYTNAS_STUDY_ID``.

The result is one JSON object in the shape ``search_engine.client``'s ``tell`` takes:
``{"objectives": {name: value, ...} or [values in the study's order], "stage_latency": {stage: ms},
"metrics": {name: value}}`` (the last two optional). It is read from the result file when the command
wrote one, else from standard output: all of it when it is one JSON document, else its last
non-empty line (so progress lines may come first). A non-zero exit, a run past the time limit, or a
result that is missing, not JSON or incomplete is a failed evaluation whose reason says what was
wrong and ends with the tail of the command's standard error. Each run's standard input, output,
error, exit status and duration are kept in ``<logs>/study-<id>/evaluation-<id>.log``.

At the time limit the command's whole process group gets SIGTERM, then SIGKILL after
``KILL_GRACE_SECONDS``; an interrupt of the worker (its second SIGINT/SIGTERM) stops it the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from search_engine.finite_numbers import finite_or_none
from search_engine.types import EvaluationResult
from search_engine.worker.client import TOKEN_ENV

if TYPE_CHECKING:
    from search_engine.client import WorkItem

ARCHITECTURE_FILE_ENV = "HYTNAS_ARCHITECTURE_FILE"
RESULT_FILE_ENV = "HYTNAS_RESULT_FILE"
EVALUATION_ENV = "HYTNAS_EVALUATION_ID"
STUDY_ENV = "HYTNAS_STUDY_ID"
RESULT_FIELDS = ("objectives", "stage_latency", "metrics")
STDERR_TAIL_CHARS = 2_000  # of standard error quoted in a failure's reason
KILL_GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL
MAX_RESULT_BYTES = 1024 * 1024  # of standard output read for the result: its end, where the result is
MAX_STDERR_BYTES = 64 * 1024  # of standard error read for a failure's reason (the log keeps it all)


@dataclass(frozen=True)
class CommandSettings:
    """How to run the user's command; ``time_limit`` (seconds) replaces the study's when given."""

    argv: tuple[str, ...]
    workdir: Path
    log_dir: Path
    time_limit: float | None = None


@dataclass(frozen=True)
class CommandOutcome:
    """One evaluation by the command: the result to report and the log file of its output (if written)."""

    result: EvaluationResult
    log: Path | None


@dataclass(frozen=True)
class _Run:
    """What one run of the command left: how it ended, its output, and the result file's text."""

    exit_code: int | None  # None: it did not end on its own (time-out, interrupt)
    stdout: str  # the last MAX_RESULT_BYTES of it
    stderr: str  # the last MAX_STDERR_BYTES of it
    result_file: str | None
    seconds: float
    interrupted: bool = False


class BadResult(ValueError):
    """A command's output that cannot be reported as a measurement; the message says what was wrong."""


def time_limit_of(evaluation: Mapping[str, Any], settings: CommandSettings) -> float | None:
    """The worker's ``--time-limit`` if given, else the study's ``time_limit_seconds`` (None: no limit)."""
    if settings.time_limit is not None:
        return settings.time_limit
    params = (evaluation.get("evaluator") or {}).get("params") or {}
    return finite_or_none(params.get("time_limit_seconds"))


def evaluate_with_command(
    evaluation: Mapping[str, Any], lease_id: str, settings: CommandSettings
) -> CommandOutcome:
    """Run the command on one claimed architecture; never raises but KeyboardInterrupt (command stopped).

    Args:
        evaluation: one entry of a claim's ``evaluations``.
        lease_id: the lease holding it.
        settings: the command, its folder, the log folder and the worker's time limit.
    """
    from search_engine.client import WorkItem  # here: search_engine.client imports this package

    try:
        item = WorkItem.from_claim(evaluation, lease_id)
    except (KeyError, TypeError, ValueError) as exc:
        return CommandOutcome(EvaluationResult.failure(f"the claim is unusable: {exc!r}"), None)
    limit = time_limit_of(evaluation, settings)
    given = {key: value for key, value in evaluation.items() if key != "evaluator"}
    stdin_text = json.dumps({**given, "time_limit_seconds": limit})
    log = _Log(settings.log_dir / f"study-{item.study}" / f"evaluation-{item.id}.log", settings, stdin_text)
    with tempfile.TemporaryDirectory(prefix=f"hytnas-evaluation-{item.id}-") as name:
        folder = Path(name)
        try:
            run = _run(settings, item, folder, stdin_text, limit)
        except OSError as exc:  # no such program, not executable, bad --workdir
            result = EvaluationResult.failure(f"could not start the command {settings.argv[0]!r}: {exc}")
            return CommandOutcome(result, log.write(None, folder, f"failed: {result.error}"))
        if run.interrupted:
            log.write(run, folder, "none: the worker was interrupted and stopped the command")
            raise KeyboardInterrupt
        result = _result_of(run, item, limit)
        written = log.write(run, folder, "done" if result.ok else f"failed: {result.error}")
    if not result.ok and written is not None:
        result = EvaluationResult.failure(f"{result.error}\n(full output: {written})", result.seconds)
    return CommandOutcome(result, written)


def _run(
    settings: CommandSettings, item: WorkItem, folder: Path, stdin_text: str, limit: float | None
) -> _Run:
    """Start the command in its own process group and wait for it, stopping it at ``limit`` seconds.

    Its output goes to ``folder``'s ``stdout`` and ``stderr`` files; an interrupt of the worker
    stops the command and returns a run marked ``interrupted``.
    """
    architecture_file = folder / "architecture.json"
    architecture_file.write_text(stdin_text, encoding="utf-8")
    result_file = folder / "result.json"
    inherited = {name: value for name, value in os.environ.items() if name != TOKEN_ENV}  # it needs no token
    env = {
        **inherited,
        ARCHITECTURE_FILE_ENV: str(architecture_file),
        RESULT_FILE_ENV: str(result_file),
        EVALUATION_ENV: str(item.id),
        STUDY_ENV: str(item.study),
    }
    with (
        architecture_file.open("rb") as stdin,
        (folder / "stdout").open("w+b") as stdout,
        (folder / "stderr").open("w+b") as stderr,
    ):
        start = time.perf_counter()
        process = subprocess.Popen(
            list(settings.argv),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            cwd=settings.workdir,
            env=env,
            start_new_session=True,  # its own process group: a time-out stops its children too
        )
        exit_code: int | None = None
        interrupted = False
        try:
            exit_code = process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _stop_group(process)
        except KeyboardInterrupt:  # the worker's second signal: the command goes with it
            _stop_group(process)
            interrupted = True
        seconds = time.perf_counter() - start
        written = result_file.read_text(encoding="utf-8", errors="replace") if result_file.is_file() else None
        return _Run(
            exit_code,
            _tail(stdout, MAX_RESULT_BYTES),
            _tail(stderr, MAX_STDERR_BYTES),
            written,
            seconds,
            interrupted,
        )


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL to what is left after the grace period."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE_SECONDS)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # children that ignored SIGTERM or outlived the leader
    process.wait()


def _tail(handle: IO[bytes], max_bytes: int) -> str:
    """The file's last ``max_bytes`` as text, undecodable bytes replaced."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - max_bytes))
    return handle.read().decode("utf-8", errors="replace")


def _result_of(run: _Run, item: WorkItem, limit: float | None) -> EvaluationResult:
    """The run as a result to report: its measurement, or a failure saying what was wrong."""
    if run.exit_code is None:
        reason = f"the command ran past the time limit of {limit:g} s and was stopped"
    elif run.exit_code != 0:
        reason = f"the command {_exit_words(run.exit_code)}"
    else:
        try:
            objectives, stage_latency, metrics = checked_result(_result_document(run), item)
        except BadResult as exc:
            reason = str(exc)
        else:
            return EvaluationResult(objectives, stage_latency, metrics, seconds=run.seconds)
    return EvaluationResult.failure(reason + _stderr_tail(run.stderr), run.seconds)


def _exit_words(exit_code: int) -> str:
    if exit_code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-exit_code).name}"
        return f"was killed by signal {-exit_code}"
    return f"exited with status {exit_code}"


def _stderr_tail(stderr: str) -> str:
    """The end of standard error (or that it is empty), to close a failure's reason."""
    text = stderr.strip()
    if not text:
        return "; its standard error is empty"
    if len(text) > STDERR_TAIL_CHARS:
        return f"; its standard error ends with:\n…{text[-STDERR_TAIL_CHARS:]}"
    return f"; its standard error:\n{text}"


def _result_document(run: _Run) -> Any:
    """The JSON the command gave: the result file if it wrote one, else standard output.

    Standard output is taken whole when it is one JSON document, else its last non-empty line.
    """
    if run.result_file is not None:
        source, text = f"the result file (${RESULT_FILE_ENV})", run.result_file
    else:
        source, text = "standard output", run.stdout
    if not text.strip():
        if run.result_file is not None:
            raise BadResult(f"the command wrote an empty result file (${RESULT_FILE_ENV})")
        raise BadResult(
            f"the command printed nothing on standard output and wrote no result file (${RESULT_FILE_ENV}); "
            'print the result as one JSON object, e.g. {"objectives": {...}}'
        )
    try:
        return json.loads(text)
    except ValueError:
        pass
    last = text.strip().splitlines()[-1]
    try:
        return json.loads(last)
    except ValueError as exc:
        shown = last if len(last) <= 200 else last[:200] + "…"
        raise BadResult(f"the result on {source} is not JSON ({exc}): {shown!r}") from None


def checked_result(
    document: Any, item: WorkItem
) -> tuple[tuple[float, ...], dict[str, float] | None, dict[str, Any]]:
    """``(objectives in the study's order, stage_latency, metrics)`` of a result, checked against ``item``.

    Raises:
        BadResult: naming the field that is missing, unknown, of the wrong type or not finite.
    """
    if not isinstance(document, dict):
        raise BadResult(f"the result must be a JSON object, got {_kind(document)}")
    unknown = [key for key in document if key not in RESULT_FIELDS]
    if unknown:
        raise _bad(unknown[0], f"unknown field; a result has {', '.join(RESULT_FIELDS)}")
    if "objectives" not in document:
        raise _bad("objectives", "is required: the study's objectives by name, or a list in its order")
    objectives = _objective_values(document["objectives"], [o.name for o in item.objectives])
    stage_latency = None
    if document.get("stage_latency") is not None:
        stages = _object(document["stage_latency"], "stage_latency")
        stage_latency = {name: _finite(value, f"stage_latency.{name}") for name, value in stages.items()}
        negative = next((name for name, value in stage_latency.items() if value < 0.0), None)
        if negative is not None:
            raise _bad(f"stage_latency.{negative}", "must be at least 0 (milliseconds)")
    metrics: dict[str, Any] = {}
    for name, value in _object(document.get("metrics") or {}, "metrics").items():
        if item.metrics is not None and name not in item.metrics:
            declared = ", ".join(item.metrics) or "none"
            raise _bad(f"metrics.{name}", f"the study declares no metric {name!r}; declared: {declared}")
        keep = isinstance(value, str | bool | int)  # text, flags and whole numbers as they are
        metrics[name] = value if keep else _finite(value, f"metrics.{name}")
    return objectives, stage_latency, metrics


def _objective_values(values: Any, names: Sequence[str]) -> tuple[float, ...]:
    if isinstance(values, list):
        if len(values) != len(names):
            raise _bad(
                "objectives", f"the study has {len(names)} objectives ({', '.join(names)}); got {len(values)}"
            )
        return tuple(_finite(value, f"objectives[{i}]") for i, value in enumerate(values))
    by_name = _object(values, "objectives")
    for name in by_name:
        if name not in names:
            raise _bad(
                f"objectives.{name}", f"the study has no such objective; its objectives: {', '.join(names)}"
            )
    missing = next((name for name in names if name not in by_name), None)
    if missing is not None:
        raise _bad(f"objectives.{missing}", "is missing: every objective of the study needs a value")
    return tuple(_finite(by_name[name], f"objectives.{name}") for name in names)


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(field, f"must be a JSON object, got {_kind(value)}")
    return value


def _finite(value: Any, field: str) -> float:
    number = finite_or_none(value)
    if number is None:
        words = (
            "must be a finite number" if isinstance(value, float) else f"must be a number, got {_kind(value)}"
        )
        raise _bad(field, words)
    return number


def _bad(field: str, message: str) -> BadResult:
    return BadResult(f"bad result: {field} {message}")


def _kind(value: Any) -> str:
    """The JSON name of ``value``'s type, as the command's author wrote it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}" if isinstance(value, float) else "a whole number"
    if isinstance(value, str):
        return f"the string {value[:50]!r}"
    return "a list" if isinstance(value, list) else "an object"


class _Log:
    """The log file of one evaluation; each run of the command on it appends a section."""

    def __init__(self, path: Path, settings: CommandSettings, stdin_text: str) -> None:
        self.path = path
        self.settings = settings
        self.stdin_text = stdin_text
        self.started = datetime.now(UTC)

    def write(self, run: _Run | None, folder: Path, outcome: str) -> Path | None:
        """Append the run, its whole output read from ``folder``; None (not raised) if the disk refuses."""
        if run is None:
            ending, duration = "did not start", "-"
        else:
            ending = "stopped" if run.exit_code is None else f"exit status {run.exit_code}"
            duration = f"{run.seconds:.3f} s"
        header = [
            f"=== {self.started.isoformat(timespec='seconds')} {self.path.stem} ===",
            f"command: {shlex.join(self.settings.argv)}",
            f"working directory: {self.settings.workdir}",
            f"ended: {ending}",
            f"duration: {duration}",
            f"outcome: {outcome.splitlines()[0]}",  # a failure's stderr tail follows in full below
            "--- standard input ---",
            self.stdin_text,
        ]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                handle.write(("\n".join(header) + "\n").encode("utf-8"))
                for title, name in (("standard output", "stdout"), ("standard error", "stderr")):
                    handle.write(f"--- {title} ---\n".encode())
                    _copy_into(folder / name, handle)
                if run is not None and run.result_file is not None:
                    handle.write(f"--- result file ---\n{run.result_file}\n".encode())
        except OSError:
            return None
        return self.path


def _copy_into(source: Path, handle: IO[bytes]) -> None:
    """Append ``source``'s bytes (nothing if it is absent), ending with a newline."""
    if not source.is_file():
        return
    with source.open("rb") as data:
        shutil.copyfileobj(data, handle)
        size = data.tell()
        if size:
            data.seek(size - 1)
            if data.read(1) != b"\n":
                handle.write(b"\n")
