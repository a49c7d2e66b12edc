"""Server-side session limits (issue #11, finding 5): the session row, not the re-signed
cookie, decides when a login has been idle too long or lived too long."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from conftest import login
from services import sessions


def _logged_in(server, email):
    client = server.test_client()
    assert login(client, email).status_code == 302
    assert client.get("/api/v1/kpis").status_code == 200
    return client


def _session_id(ctx, email) -> str:
    with ctx.session() as session:
        return session.execute(text("""
            SELECT s.id FROM user_sessions s JOIN users u ON u.id = s.user_id
            WHERE u.email = :e AND s.revoked_at IS NULL
            ORDER BY s.created_at DESC LIMIT 1"""), {"e": email}).scalar()


def _backdate(ctx, session_id, column, by: dt.timedelta) -> None:
    with ctx.session() as session:
        session.execute(text(f"UPDATE user_sessions SET {column} = now() - :by WHERE id = :id"),
                        {"by": by, "id": session_id})


def test_sess001_session_older_than_its_lifetime_is_refused(server, users, ctx):
    """A session row created 13 hours ago is dead although the cookie is fresh and the user
    was active a moment ago (the default absolute lifetime is 12 hours)."""
    client = _logged_in(server, users["analyst"])
    _backdate(ctx, _session_id(ctx, users["analyst"]), "created_at", dt.timedelta(hours=13))
    assert client.get("/api/v1/kpis").status_code == 401
    assert client.get("/executive").status_code == 302  # to the login page


def test_sess002_session_idle_past_the_limit_is_refused(server, users, ctx):
    client = _logged_in(server, users["executive"])
    session_id = _session_id(ctx, users["executive"])
    _backdate(ctx, session_id, "last_seen_at", dt.timedelta(minutes=61))
    assert client.get("/api/v1/kpis").status_code == 401
    with ctx.session() as session:  # the row is ended, not just skipped
        assert session.execute(text("SELECT revoked_at FROM user_sessions WHERE id = :id"),
                               {"id": session_id}).scalar() is not None


def test_sess003_activity_keeps_a_session_alive_until_its_lifetime(server, users, ctx):
    client = _logged_in(server, users["marketing_manager"])
    session_id = _session_id(ctx, users["marketing_manager"])
    _backdate(ctx, session_id, "last_seen_at", dt.timedelta(minutes=50))
    _backdate(ctx, session_id, "created_at", dt.timedelta(hours=11))
    assert client.get("/api/v1/kpis").status_code == 200
    with ctx.session() as session:  # the request counted as activity
        idle = session.execute(text(
            "SELECT now() - last_seen_at FROM user_sessions WHERE id = :id"),
            {"id": session_id}).scalar()
    assert idle < dt.timedelta(minutes=1)


def test_sess004_limits_are_configurable(ctx, users):
    with ctx.session() as session:
        user_id = session.execute(text("SELECT id FROM users WHERE email = :e"),
                                  {"e": users["analyst"]}).scalar()
    session_id = sessions.start_session(ctx, user_id, "127.0.0.1")
    _backdate(ctx, session_id, "created_at", dt.timedelta(minutes=90))
    assert sessions.user_for_session(ctx, session_id, idle=dt.timedelta(minutes=5),
                                     lifetime=dt.timedelta(hours=2)) is not None
    assert sessions.user_for_session(ctx, session_id, idle=dt.timedelta(minutes=5),
                                     lifetime=dt.timedelta(hours=1)) is None


def test_sess005_config_reads_the_limits_from_the_environment(monkeypatch):
    from dashapp.config import Config

    monkeypatch.setenv("CAMPAIGN_DASH_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("CAMPAIGN_DASH_SESSION_MAX_HOURS", "8")
    config = Config.from_env()
    assert (config.session_idle_minutes, config.session_max_hours) == (15, 8)
    assert Config().session_max_hours == 12
