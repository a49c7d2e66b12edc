"""The audit log: filters, CSV export, append-only in PostgreSQL, and the request-level events
(login, failed login, logout, denied) each writing one row."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from conftest import PASSWORD, login, logout
from services import audit, audit_query
from services.errors import ValidationError


def _add(ctx, action: str, actor: str, **extra) -> None:
    with ctx.session() as session:
        audit.record(session, action, actor_email=actor, **extra)


def test_filters_by_user_action_and_date(ctx):
    tag = uuid.uuid4().hex[:8]
    actor = f"filter-{tag}@audit.test"
    _add(ctx, "alert_rule_update", actor, target="rule 1", before={"threshold": 1},
         after={"threshold": 2})
    _add(ctx, "campaign_pause", actor, target="campaign 9")
    _add(ctx, "campaign_pause", f"other-{tag}@audit.test", target="campaign 9")

    mine = audit_query.search_audit(ctx, actor=f"filter-{tag}")
    assert mine["total"] == 2
    assert [r["action"] for r in mine["rows"]] == ["campaign_pause", "alert_rule_update"]
    paused = audit_query.search_audit(ctx, actor=tag, action="campaign_pause")
    assert paused["total"] == 2
    today = dt.datetime.now(dt.timezone.utc).date()
    assert audit_query.search_audit(ctx, actor=tag, start=today, end=today)["total"] == 3
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert audit_query.search_audit(ctx, actor=tag, start=tomorrow)["total"] == 0
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        audit_query.search_audit(ctx, start="last week")
    with pytest.raises(ValidationError, match="on or before"):
        audit_query.search_audit(ctx, start="2026-02-02", end="2026-02-01")


def test_csv_export_has_every_match_and_defuses_formulas(ctx):
    tag = uuid.uuid4().hex[:8]
    _add(ctx, "login_failed", f"=HYPERLINK(\"http://evil\")-{tag}")
    _add(ctx, "user_role_changed", f"csv-{tag}@audit.test", target="someone",
         before={"role": "analyst"}, after={"role": "admin"})
    rows = list(csv.DictReader(io.StringIO(audit_query.audit_csv(ctx, actor=tag))))
    assert len(rows) == 2
    assert rows[0]["action"] == "user_role_changed"
    assert rows[0]["before"] == '{"role": "analyst"}' and rows[0]["after"] == '{"role": "admin"}'
    assert rows[1]["actor_email"].startswith("'=HYPERLINK")
    assert list(rows[0]) == list(audit_query.CSV_COLUMNS)


def test_the_log_is_append_only_in_the_database(ctx):
    _add(ctx, "login", "append-only@audit.test")
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log",
                      "TRUNCATE audit_log"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            with ctx.session() as session:
                session.execute(text(statement))
    with ctx.session() as session:
        assert session.execute(text("SELECT count(*) FROM audit_log WHERE actor_email = "
                                    "'append-only@audit.test'")).scalar() == 1


def test_sign_in_events_write_one_row_each(server, ctx, users):
    def count(action: str, actor: str) -> int:
        with ctx.session() as session:
            return session.execute(text("SELECT count(*) FROM audit_log WHERE action = :a "
                                        "AND actor_email = :e"), {"a": action, "e": actor}
                                   ).scalar()

    email = users["analyst"]
    before = {a: count(a, email) for a in ("login", "login_failed", "logout", "denied")}
    client = server.test_client()
    login(client, email, "wrong-password-123")
    login(client, email, PASSWORD)
    client.get("/admin")  # analysts may not: denied
    logout(client)
    after = {a: count(a, email) for a in before}
    assert {a: after[a] - before[a] for a in before} == {
        "login": 1, "login_failed": 1, "logout": 1, "denied": 1}
