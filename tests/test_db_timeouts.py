"""Statement and lock timeouts per web request (issue #11, finding 7): a lock held elsewhere on
a hot table costs a request at most the timeout and a 503, and the site recovers when the lock
goes."""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from conftest import PASSWORD, login

# A request that has not answered by then counts as stalled (the bug); the lock is then let go
# so the test always ends.
STALL_S = 8.0


@contextmanager
def held_lock(database_url: str, table: str = "user_sessions"):
    """Another connection holding an ACCESS EXCLUSIVE lock on ``table`` until the block ends."""
    engine = create_engine(database_url, poolclass=NullPool)
    conn = engine.connect()
    trans = conn.begin()
    conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
    try:
        yield
    finally:
        trans.rollback()
        conn.close()
        engine.dispose()


def _timed(pool, call):
    started = time.monotonic()
    future = pool.submit(call)
    try:
        response = future.result(timeout=STALL_S)
    except FutureTimeout:
        return None, STALL_S, future
    return response, time.monotonic() - started, future


@pytest.mark.parametrize("timeouts", [
    {"db_lock_timeout_ms": 500, "db_statement_timeout_ms": 5000},   # the lock wait gives up
    {"db_lock_timeout_ms": 0, "db_statement_timeout_ms": 1000},     # the statement gives up
], ids=["lock_timeout", "statement_timeout"])
def test_dbt001_held_lock_on_user_sessions_answers_503_then_recovers(config, users, timeouts,
                                                                    caplog):
    from dashapp.app import create_app

    server = create_app(replace(config, **timeouts,
                                cache_namespace=f"{config.cache_namespace}-{uuid.uuid4().hex[:6]}"))
    limit_s = max(v for v in timeouts.values()) / 1000
    client = server.test_client()
    assert login(client, users["analyst"]).status_code == 302
    anonymous = server.test_client()
    csrf = anonymous.get("/login").get_data(as_text=True).split(
        'name="csrf_token" value="', 1)[1].split('"', 1)[0]

    caplog.set_level(logging.WARNING)
    pool = ThreadPoolExecutor(max_workers=2)
    with held_lock(config.database_url):
        api, api_s, api_future = _timed(pool, lambda: client.get("/api/v1/kpis"))
        page, page_s, page_future = _timed(pool, lambda: anonymous.post(
            "/login", data={"email": users["executive"], "password": PASSWORD,
                            "csrf_token": csrf, "next": "/"}))
    # The lock is gone: a stalled request (the bug) finishes now.
    api_future.result(timeout=60)
    page_future.result(timeout=60)
    pool.shutdown()

    assert api is not None and page is not None, f"stalled for {STALL_S}s behind the lock"
    assert api.status_code == 503 and api.get_json()["error"] == "database_busy"
    assert page.status_code == 503 and "try again" in page.get_data(as_text=True)
    assert api_s < limit_s + 2 and page_s < limit_s + 2
    assert any("database timeout" in r.getMessage() for r in caplog.records)

    assert client.get("/api/v1/kpis").status_code == 200  # recovered
    assert login(server.test_client(), users["executive"]).status_code == 302


def test_dbt002_timeouts_come_from_the_environment(monkeypatch):
    from dashapp.config import Config

    monkeypatch.setenv("CAMPAIGN_DASH_DB_STATEMENT_TIMEOUT_MS", "2500")
    monkeypatch.setenv("CAMPAIGN_DASH_DB_LOCK_TIMEOUT_MS", "0")
    config = Config.from_env()
    assert (config.db_statement_timeout_ms, config.db_lock_timeout_ms) == (2500, 0)


def test_dbt003_command_line_contexts_have_no_request_timeouts(config):
    """The worker, imports and migrations run long statements: the timeouts are the web's."""
    from dashapp.runtime import service_context

    with service_context(config).session() as session:
        assert session.execute(text("SHOW statement_timeout")).scalar() == "0"
