"""What a service call needs from the outside: where the database and the cache are.

Built once per app (or CLI command) and handed to services explicitly, so tests can point the
same code at their own PostgreSQL and Redis without patching anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from sqlalchemy.orm import Session

from db.engine import session_scope

log = logging.getLogger(__name__)

# After a Redis failure, skip Redis for this long instead of paying a timeout on every call.
REDIS_RETRY_AFTER_S = 5.0


@dataclass
class ServiceContext:
    database_url: str
    redis_url: str | None
    namespace: str = "campaign-dash"
    # Per-statement limits of this context's database sessions (ms; None: none). The web app
    # sets them, so one stuck query or a held lock cannot stall every request.
    statement_timeout_ms: int | None = None
    lock_timeout_ms: int | None = None
    _redis: redis.Redis | None = field(default=None, init=False, repr=False)
    _redis_down_until: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.database_url, self.statement_timeout_ms,
                           self.lock_timeout_ms) as session:
            yield session

    def redis(self) -> redis.Redis | None:
        """A Redis client, or None while Redis is known to be unreachable."""
        if not self.redis_url or time.monotonic() < self._redis_down_until:
            return None
        with self._lock:
            if self._redis is None:
                self._redis = redis.Redis.from_url(
                    self.redis_url,
                    socket_timeout=0.25,
                    socket_connect_timeout=0.25,
                    health_check_interval=15,
                )
            return self._redis

    def close(self) -> None:
        """Drop the Redis connections (before a fork: a child must open its own)."""
        with self._lock:
            if self._redis is not None:
                self._redis.close()
                self._redis.connection_pool.disconnect()
                self._redis = None

    def redis_failed(self, error: Exception) -> None:
        """Note an outage: callers fall back to PostgreSQL until the retry time."""
        if time.monotonic() >= self._redis_down_until:
            log.warning("Redis unreachable (%s); serving uncached for %.0fs", error,
                        REDIS_RETRY_AFTER_S)
        self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_S

    def key(self, *parts: object) -> str:
        return ":".join([self.namespace, *map(str, parts)])
