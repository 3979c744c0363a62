"""The spool: reports written to disk before they are sent, so an outage or a restart never loses one."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("search_engine.worker")  # one logger for the whole worker


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
