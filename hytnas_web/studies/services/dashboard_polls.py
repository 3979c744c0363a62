"""Dashboard versions and polls: what a client has seen, how often it asks, what a busy study answers.

A dashboard *version* names what a client has seen: the study's change counter (``Study.version``,
bumped by the jobs, see ``versions.py``), its newest evaluation id (rows created by other writers,
such as an import) and its last update time (lifecycle actions). A poll with the current version
costs one small query (``probe``) and gets nothing; ``dashboard.py`` builds the other answers.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Max, Q

from hytnas_web.studies.models import Evaluation, Study

POLL_SECONDS = 2.0
"""Seconds between two polls of a running study's dashboard (static/js/dashboard.js waits as long)."""

MAX_POLL_SECONDS = 10.0
"""Longest wait ``poll_interval`` asks for, however loaded the machine."""

BUSY_WATCHERS = 3
"""Watchers of one study (per web process) beyond which its version is held (``poll_target``)."""

WATCHER_SECONDS = 10.0
"""A client that has not polled for this long no longer counts as a watcher."""

HOLD_SECONDS = 1.0
"""How long a watched study's version is answered before a newer one is (``poll_target``)."""

RECENT_VERSIONS = 12
"""Versions of a watched study that answers start from; a client further behind gets everything.

Twelve held versions span more than MAX_POLL_SECONDS, so a client that waits as long as the server
asks still gets only the changes."""

ANSWER_CACHE_SECONDS = 120
"""How long a built answer is kept in the shared cache (it names its versions: it never goes stale)."""


@dataclass(frozen=True)
class Version:
    """What a client has seen: change counter, newest evaluation id, last update (µs since epoch)."""

    counter: int
    max_id: int
    updated: int

    def __str__(self) -> str:
        return f"{self.counter}.{self.max_id}.{self.updated}"

    @classmethod
    def parse(cls, text: str | None) -> Version | None:
        """The version a client sent, or None when missing or malformed (it then gets everything)."""
        parts = (text or "").split(".")
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 20 for p in parts):
            return None
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))

    def covers(self, other: Version) -> bool:
        """True when this version is at least as new as ``other`` in every part."""
        return self.counter >= other.counter and self.max_id >= other.max_id and self.updated >= other.updated


@dataclass(frozen=True)
class Probe:
    """A study's current version as a poll sees it, with what the answer cache keys need."""

    study_id: int
    owner_id: int
    created: int
    """µs since epoch: tells a study from an earlier one that had the same id."""
    version: Version
    at: float = 0.0
    """When it was read (``time.time()``)."""


def probe(study_id: int, owner_id: int) -> Probe:
    """The version of ``owner_id``'s study ``study_id``, in one query; ``Study.DoesNotExist`` for others.

    Every poll runs it, so it is one fixed statement rather than a queryset compiled each time (the
    ORM's compilation costs more than the query). The newest id comes from the index on study_id.
    """
    with connection.cursor() as cursor:
        cursor.execute(_PROBE_SQL, [study_id, study_id, owner_id])
        row = cursor.fetchone()
    if row is None:
        raise Study.DoesNotExist(f"no study {study_id} of user {owner_id}")
    counter, max_id, updated, created = row
    version = Version(int(counter), int(max_id or 0), _microseconds(_as_datetime(updated)))
    return Probe(study_id, owner_id, _microseconds(_as_datetime(created)), version, time.time())


_PROBE_SQL = (
    f"SELECT s.version, (SELECT MAX(e.id) FROM {Evaluation._meta.db_table} e WHERE e.study_id = %s),"
    f" s.updated_at, s.created_at FROM {Study._meta.db_table} s WHERE s.id = %s AND s.owner_id = %s"
)


def _as_datetime(value: Any) -> datetime.datetime:
    """A timestamp column as an aware datetime (SQLite returns text, PostgreSQL a datetime)."""
    moment = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class PollTarget:
    """What a poll is answered with: the version (``probe``) and the versions an answer may start from."""

    probe: Probe
    held: bool
    """True for a watched study (see ``poll_target``)."""
    recent: tuple[str, ...] = ()
    """The study's last versions answered while it was watched, newest last."""

    def since(self, since: str | None) -> str | None:
        """The version to answer from: ``since``, or None (the whole dashboard) when a watched study's
        client is further behind than the recent versions, so that no answer is built for it alone."""
        if self.held and since not in self.recent:
            return None
        return since


def poll_target(study_id: int, owner_id: int, watcher: str) -> PollTarget:
    """The version a poll is answered with: the current one, or for a watched study a recent one.

    Every poll reads the study's version (one query, which also checks the owner). With few
    watchers it is the answer's version, so a change shows at the next poll. When more than
    BUSY_WATCHERS clients (``watcher``: a session key) polled the study in the last WATCHER_SECONDS
    (in this process), the version read first is answered for HOLD_SECONDS, and a client gets
    either the changes since one of the last RECENT_VERSIONS versions answered or, further behind,
    the whole dashboard. Watchers then converge on a few versions whose answers are built once and
    shared, whatever their number, and see a change at most HOLD_SECONDS later than they could.
    State is kept per study *and* creation time: a reused id (a rolled-back test database) never
    inherits another study's versions.
    """
    current = probe(study_id, owner_id)
    incarnation = (study_id, current.created)
    if _WATCHERS.count(incarnation, watcher) <= BUSY_WATCHERS:
        return PollTarget(current, held=False)
    with _HELD_LOCK:
        versions = _HELD.setdefault(incarnation, deque(maxlen=RECENT_VERSIONS))
        held = versions[-1] if versions else None
        if held is None or not current.version.covers(held.version) or current.at - held.at >= HOLD_SECONDS:
            versions.append(current)
            held = current
        recent = tuple(str(p.version) for p in versions)
    return PollTarget(held, held=True, recent=recent)


def answer_key(target: Probe, since: str | None) -> str:
    """Cache key of the answer from ``since`` to ``target``: it names its content, so it never goes stale."""
    seen = Version.parse(since)
    return f"hytnas:dashboard-answer:{target.study_id}:{target.created}:{seen or 'full'}:{target.version}"


def poll_interval(base: float = POLL_SECONDS) -> float:
    """Seconds a watcher should wait before its next poll: ``base``, stretched when the machine is overloaded.

    The 1-minute load average per processor above 1 multiplies the wait (up to MAX_POLL_SECONDS):
    fewer polls when the machine has more work than processors, without a client noticing more
    than a slower refresh.
    """
    per_processor = os.getloadavg()[0] / _PROCESSORS
    return float(min(MAX_POLL_SECONDS, max(base, round(base * per_processor * 2) / 2)))


class _WatcherCounter:
    """Distinct clients that polled each study in the last WATCHER_SECONDS, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[int, int], dict[str, float]] = {}

    def count(self, study: tuple[int, int], watcher: str) -> int:
        """Note a poll of ``study`` (id, creation time) by ``watcher``; returns its watchers now."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(study, {})
            seen[watcher] = now
            if len(seen) > BUSY_WATCHERS:  # prune only when it matters
                for name, last in list(seen.items()):
                    if now - last > WATCHER_SECONDS:
                        del seen[name]
            return len(seen)


_WATCHERS = _WatcherCounter()
_PROCESSORS = max(1, os.cpu_count() or 1)
_HELD: dict[tuple[int, int], deque[Probe]] = {}
_HELD_LOCK = threading.Lock()


def _microseconds(moment: Any) -> int:
    return int(moment.timestamp() * 1_000_000)


def dashboard_version(study: Study) -> Version:
    """The study's current version (read before any row, so a reader never misses a change)."""
    max_id = study.evaluations.aggregate(m=Max("id"))["m"] or 0
    return Version(int(study.version), int(max_id), int(study.updated_at.timestamp() * 1_000_000))


def rows_seen_at(version: Version) -> Q:
    """Rows a client at ``version`` has seen: stamped no later, and no newer than its newest id.

    Answers are bounded by the version they carry, so the next poll (``since`` that version) sends
    exactly the rows stamped or created after it: none twice, none missed.
    """
    return Q(version__lte=version.counter, id__lte=version.max_id)
