"""Answers many requests share: built once per key, kept in process memory and in the shared cache.

Keys name their content exactly (a study and the versions an answer spans), so an answer never goes
stale and any copy is as good as another: a process first looks in its own small LRU, then in the
shared cache (Redis: what another process built), and only then builds it, one thread per key at a
time, so a burst of identical requests costs one build per process. When the shared cache is down
the LRU alone still serves the burst.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.core.cache import caches


class SharedAnswers:
    """``get_or_build(key, build)`` over an in-process LRU of ``local_size`` and a Django cache alias."""

    def __init__(self, alias: str = "default", local_size: int = 64, timeout: int = 120) -> None:
        self.alias = alias
        self.local_size = local_size
        self.timeout = timeout
        self._local: OrderedDict[str, Any] = OrderedDict()
        self._guard = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def get_or_build(self, key: str, build: Callable[[], Any]) -> Any:
        """The answer stored under ``key``, built by ``build()`` (never None) when nobody has it yet."""
        value = self._lookup(key)
        if value is not None:
            return value
        with self._guard:
            lock = self._building.setdefault(key, threading.Lock())
        try:
            with lock:
                value = self._lookup(key)  # another thread may have built it while this one waited
                if value is None:
                    value = build()
                    caches[self.alias].set(key, value, self.timeout)
                    self._remember(key, value)
        finally:
            with self._guard:
                self._building.pop(key, None)
        return value

    def _lookup(self, key: str) -> Any:
        with self._guard:
            if key in self._local:
                self._local.move_to_end(key)
                return self._local[key]
        value = caches[self.alias].get(key)
        if value is not None:
            self._remember(key, value)
        return value

    def _remember(self, key: str, value: Any) -> None:
        with self._guard:
            self._local[key] = value
            self._local.move_to_end(key)
            while len(self._local) > self.local_size:
                self._local.popitem(last=False)

    def clear_local(self) -> None:
        """Forget this process's copies (tests)."""
        with self._guard:
            self._local.clear()
