"""Tables uploaded with a study form that came back with errors, kept for that form's next post.

A browser cannot send a file again by itself, so when the study form is shown again, every table
it read is kept on the server for ``KEPT_SECONDS``: in the cache, under a key made from the signed-in
session's key and a random token of that form (the page carries the token in a hidden input, never
the file), one entry per upload slot. The next post of the same form in the same session uses what
is still kept, unless a new file replaces it or its "remove" box is ticked; a token from another
session finds nothing. Each entry is one table within ``MAX_TABLE_UPLOAD_BYTES``, so a form keeps at
most ``TABLE_SLOTS`` of them, a session at most ``FORMS_PER_SESSION`` forms' worth, and each lives
``KEPT_SECONDS`` after the post that kept it.
The cache is Redis: while it is away nothing is kept, and the form asks for the tables again.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache

from search_engine.errors import DataError
from search_engine.finite_numbers import parse_finite
from search_engine.measured_csv import read_records

KEPT_SECONDS = 3600
"""How long a kept table waits for the form's next post."""

FORMS_PER_SESSION = 3
"""Forms of one session that keep tables at once; keeping a new one's drops the oldest's."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class KeptTable:
    """A table read from an upload: its file name, text and number of data rows."""

    name: str
    text: str
    rows: int

    @classmethod
    def of(cls, name: str, text: str) -> KeptTable:
        return cls(name, text, data_rows(text))


def data_rows(text: str) -> int:
    """The CSV's records that are not its header (a first record with a cell that is not a number)."""
    try:
        records = read_records(text)
    except DataError:
        return 0
    if not records:
        return 0
    try:
        for cell in records[0].cells:
            parse_finite(cell)
    except ValueError:
        return len(records) - 1
    return len(records)


class KeptTables:
    """The tables kept for one study form of one session, by upload slot (0-based)."""

    def __init__(self, session_key: str, token: str | None, slots: int) -> None:
        """``token`` as the form posted it; a missing or malformed one starts a new, empty set."""
        self.token = token if token and _TOKEN.fullmatch(token) else secrets.token_urlsafe(24)
        self._session_key = session_key
        self._slots = slots
        self._keys = self._slot_keys(self.token)
        self._forms_key = f"study-form-tables-of:{_digest(session_key)}"

    def _slot_keys(self, token: str) -> dict[int, str]:
        # Hashed: the session's key is a secret and must not appear in the cache's key space.
        return {
            slot: f"study-form-table:{_digest(f'{self._session_key}:{token}:{slot}')}"
            for slot in range(self._slots)
        }

    def tables(self) -> dict[int, KeptTable]:
        """What is still kept, by slot."""
        found = cache.get_many(list(self._keys.values()))
        by_key = {key: slot for slot, key in self._keys.items()}
        return {by_key[key]: value for key, value in found.items() if isinstance(value, KeptTable)}

    def keep(self, changes: Mapping[int, KeptTable | None]) -> dict[int, KeptTable]:
        """Keep (or, for None, drop) the table of each slot in ``changes``; returns what is kept now.

        Every kept table's life starts again, so a form being corrected keeps all of them together.
        """
        merged: dict[int, KeptTable | None] = {**self.tables(), **changes}
        kept = {slot: table for slot, table in merged.items() if table is not None and slot in self._keys}
        dropped = [self._keys[slot] for slot in self._keys if slot not in kept]
        tokens = [t for t in cache.get(self._forms_key) or [] if t != self.token] + (
            [self.token] if kept else []
        )
        for oldest in tokens[:-FORMS_PER_SESSION]:
            dropped += self._slot_keys(oldest).values()
        cache.delete_many(dropped)
        cache.set(self._forms_key, tokens[-FORMS_PER_SESSION:], KEPT_SECONDS)
        cache.set_many({self._keys[slot]: table for slot, table in kept.items()}, KEPT_SECONDS)
        return kept

    def forget(self) -> None:
        """Drop every kept table (the study was created)."""
        cache.delete_many(list(self._keys.values()))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
