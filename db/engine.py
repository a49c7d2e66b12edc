"""Engine and sessions. One engine per database URL per process; sessions are short-lived and
opened by the caller (a request, a CLI command), never kept in module state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

_engines: dict[tuple, Engine] = {}
_factories: dict[tuple, sessionmaker[Session]] = {}
_lock = threading.Lock()


def _key(database_url: str, statement_timeout_ms: int | None,
         lock_timeout_ms: int | None) -> tuple:
    return database_url, statement_timeout_ms or 0, lock_timeout_ms or 0


def get_engine(database_url: str, statement_timeout_ms: int | None = None,
               lock_timeout_ms: int | None = None) -> Engine:
    """The process's engine for this URL and these timeouts (milliseconds; None or 0: none).

    The timeouts are set for the connection's whole life at connect time (libpq ``options``),
    so they cost no statement per request; the web app has its own pool with them, while the
    CLI, the worker and migrations, which run long statements, share one without."""
    key = _key(database_url, statement_timeout_ms, lock_timeout_ms)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            options = " ".join(f"-c {name}={value}" for name, value in (
                ("statement_timeout", key[1]), ("lock_timeout", key[2])) if value)
            # Sized for a 2-core box: a few gunicorn workers x threads, one connection each.
            engine = create_engine(
                database_url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800,
                connect_args={"options": options} if options else {},
            )
            _engines[key] = engine
            _factories[key] = sessionmaker(bind=engine, expire_on_commit=False)
        return engine


@contextmanager
def session_scope(database_url: str, statement_timeout_ms: int | None = None,
                  lock_timeout_ms: int | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    get_engine(database_url, statement_timeout_ms, lock_timeout_ms)
    session = _factories[_key(database_url, statement_timeout_ms, lock_timeout_ms)]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_all(close: bool = True) -> None:
    """Drop pooled connections (before a fork, or when a test's database goes away).

    ``close=False`` is for a forked child: it forgets the parent's connections without closing
    them, since closing would end the sessions the parent (or a sibling) still uses."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)
        _engines.clear()
        _factories.clear()
