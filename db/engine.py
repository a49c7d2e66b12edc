"""Engine and sessions. One engine per database URL per process; sessions are short-lived and
opened by the caller (a request, a CLI command), never kept in module state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}
_lock = threading.Lock()


def get_engine(database_url: str) -> Engine:
    with _lock:
        engine = _engines.get(database_url)
        if engine is None:
            # Sized for a 2-core box: a few gunicorn workers x threads, one connection each.
            engine = create_engine(
                database_url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800
            )
            _engines[database_url] = engine
            _factories[database_url] = sessionmaker(bind=engine, expire_on_commit=False)
        return engine


@contextmanager
def session_scope(database_url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    get_engine(database_url)
    session = _factories[database_url]()
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
