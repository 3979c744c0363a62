"""Django's Redis cache, made safe to lose: while Redis is away, every read is a miss and every write a no-op.

The cache only speeds things up (the database is the source of truth), so a Redis outage must cost
time, never a 500. Three things make that hold:

- short socket timeouts (``OPTIONS``: ``socket_timeout``, ``socket_connect_timeout``) and no
  client-side retries, so a dead server costs at most one timeout;
- a breaker per process: after an error the cache is skipped for ``retry_after`` seconds (no
  request waits on a server that just failed), then one request tries again;
- writes that failed (a set or a delete) are remembered, and those keys are deleted as soon as
  Redis answers again: a value written before the outage (a session that was logged out meanwhile,
  say) never comes back from the cache once the database has moved on.

``max_timeout`` caps how long any value lives, which bounds a stale value's life when even that
fails (the process remembering the keys died). Both options are read from ``OPTIONS`` and not passed
on to redis-py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_REMEMBERED_KEYS = 10_000
"""Failed writes remembered per process; beyond, the oldest are forgotten (``max_timeout`` bounds them)."""


class _NoRetryClient(RedisCacheClient):
    """Django's client with redis-py's retries off (one attempt, then the breaker decides), made once.

    Django builds a new ``redis.Redis`` object for every operation, which costs more than a round trip
    to a local server; the object is thread-safe (its pool hands out connections), so one per pool will do.
    """

    # Set by Django's RedisCacheClient, which its type stubs leave out.
    _client: type[redis.Redis]
    _get_connection_pool: Callable[[bool], redis.ConnectionPool]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: str | bytes | memoryview | None = None, *, write: bool = False) -> redis.Redis:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool, retry=Retry(NoBackoff(), 0))
        return client


class _Health:
    """Breaker and failed writes of one cache (server and key prefix), shared by the threads of a process.

    Django makes one cache object per thread; the breaker must not wait for every thread to time out.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.stale: dict[str, None] = {}  # keys whose write failed, oldest first


_HEALTH: dict[tuple[str, str], _Health] = {}
_HEALTH_LOCK = threading.Lock()


class ResilientRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that treats Redis errors as misses (see module)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("retry_after", 5.0))
        self.max_timeout: int | None = options.pop("max_timeout", None)
        options.setdefault("socket_timeout", 0.5)
        options.setdefault("socket_connect_timeout", 0.5)
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = _NoRetryClient
        with _HEALTH_LOCK:
            self._health = _HEALTH.setdefault((str(server), self.key_prefix), _Health())

    @property
    def available(self) -> bool:
        """False while the breaker is open (an error happened less than ``retry_after`` seconds ago)."""
        return time.monotonic() >= self._health.down_until

    def get_backend_timeout(self, timeout: float | None = DEFAULT_TIMEOUT) -> int | None:
        value = super().get_backend_timeout(timeout)  # whole seconds (RedisCache rounds down), or None
        if self.max_timeout is not None and (value is None or value > self.max_timeout):
            return int(self.max_timeout)
        return None if value is None else int(value)

    def _call(self, operation: Callable[[], T], fallback: T, failed_keys: Iterable[str] = ()) -> T:
        """Run one Redis operation; on a Redis error open the breaker and return ``fallback``."""
        if not self.available:
            self._remember(failed_keys)
            return fallback
        try:
            self._forget_stale()
            return operation()
        except redis.RedisError as error:
            with self._health.lock:
                first = self.available
                self._health.down_until = time.monotonic() + self.retry_after
            if first:
                logger.warning(
                    "cache unavailable for %.0f s (%s): using the database", self.retry_after, error
                )
            self._remember(failed_keys)
            return fallback

    def _remember(self, keys: Iterable[str]) -> None:
        health = self._health
        with health.lock:
            for key in keys:
                health.stale.pop(key, None)
                health.stale[key] = None
            while len(health.stale) > MAX_REMEMBERED_KEYS:
                health.stale.pop(next(iter(health.stale)))

    def _forget_stale(self) -> None:
        """Delete the keys whose writes failed, now that Redis answers (raises if it does not)."""
        health = self._health
        if not health.stale:
            return
        with health.lock:
            keys, health.stale = list(health.stale), {}
        try:
            self._cache.delete_many(keys)
        except redis.RedisError:
            self._remember(keys)
            raise

    def _keys(self, keys: Iterable[str], version: int | None) -> list[str]:
        return [self.make_and_validate_key(key, version=version) for key in keys]

    def add(
        self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._call(
            lambda: bool(super(ResilientRedisCache, self).add(key, value, timeout, version)), False
        )

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self._call(lambda: super(ResilientRedisCache, self).get(key, default, version), default)

    def set(
        self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._call(
            lambda: super(ResilientRedisCache, self).set(key, value, timeout, version),
            None,
            self._keys([key], version),
        )

    def touch(self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(lambda: bool(super(ResilientRedisCache, self).touch(key, timeout, version)), False)

    def delete(self, key: str, version: int | None = None) -> bool:
        return self._call(
            lambda: bool(super(ResilientRedisCache, self).delete(key, version)),
            False,
            self._keys([key], version),
        )

    def get_many(self, keys: Iterable[str], version: int | None = None) -> dict[str, Any]:
        return self._call(lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._call(lambda: bool(super(ResilientRedisCache, self).has_key(key, version)), False)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        # No number to fall back on: a caller of incr must handle ValueError (a missing key) anyway.
        result = self._call(lambda: int(super(ResilientRedisCache, self).incr(key, delta, version)), None)
        if result is None:
            raise ValueError(f"key {key!r} not found (cache unavailable)")
        return result

    def set_many(
        self, data: dict[str, Any], timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[str]:
        keys = list(data)
        return self._call(
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version),
            keys,
            self._keys(keys, version),
        )

    def delete_many(self, keys: Iterable[str], version: int | None = None) -> None:
        keys = list(keys)
        self._call(
            lambda: super(ResilientRedisCache, self).delete_many(keys, version),
            None,
            self._keys(keys, version),
        )

    # Django's RedisCache.clear returns whether Redis confirmed (its stubs say None, BaseCache's type).
    def clear(self) -> bool:  # type: ignore[override]
        """Delete this cache's keys only (its ``KEY_PREFIX``): the Redis database may hold the queues too."""

        def clear_prefix() -> bool:
            client = self._cache.get_client(None, write=True)
            keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
            return True

        if not self.key_prefix:
            raise ValueError("ResilientRedisCache.clear() needs a KEY_PREFIX (it never flushes the database)")
        return self._call(clear_prefix, False)
