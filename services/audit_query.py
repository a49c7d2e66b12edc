"""Reading the audit log: filter by user, action and date; export as CSV.

Writing stays in services.audit.record (append-only). Usage note for other services: stage the
audit row on the same session as the change it describes, so both commit or neither does:

    from services import audit
    with ctx.session() as session:
        rule = ...                       # the change
        audit.record(session, "alert_rule_update", user_id=actor.id,
                     actor_email=actor.email, target=f"alert rule {rule.id}",
                     remote_addr=remote_addr, before=old_values, after=new_values)

Action names in use (KNOWN_ACTIONS): sign-in events (login, login_failed, logout, denied),
user administration (user_created, user_role_changed, user_company_changed, user_deactivated,
user_activated, password_reset, password_set, preferences_changed), real time and alerts
(alert_rule_update, alert_settings_update, alert_acknowledge, campaign_pause,
api_token_create, api_token_revoke) and ``import`` for data imports. ``before`` and ``after``
are small JSON dicts of the fields that matter, never secrets.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from db.models import AuditLog
from db.queries import audit as queries
from services.context import ServiceContext
from services.errors import ValidationError
from services.periods import parse_day

KNOWN_ACTIONS = (
    "login", "login_failed", "logout", "denied", "user_created", "user_role_changed",
    "user_company_changed", "user_deactivated", "user_activated", "password_reset",
    "password_set", "preferences_changed", "alert_rule_update", "alert_settings_update",
    "alert_acknowledge", "campaign_pause", "api_token_create", "api_token_revoke", "import",
)
PAGE_SIZE = 500
MAX_OFFSET = 10**9
EXPORT_LIMIT = 100_000
CSV_COLUMNS = ("id", "at", "actor_email", "user_id", "action", "target", "remote_addr",
               "before", "after")
# A cell starting with one of these is a formula to a spreadsheet (CSV injection); the actor of
# a failed login is whatever the visitor typed, so such cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _date(value: str | dt.date | None, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return parse_day(str(value)[:10], name)


def filters(actor: str | None = None, action: str | None = None, start=None,
            end=None, company_id: int | None = None) -> dict:
    """Validated query filters; ``start`` and ``end`` are inclusive days (UTC); ``company_id``
    (an admin with a company) keeps that company's users' rows only."""
    for name, value in (("user", actor), ("action", action)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{name} must be text")
    first, last = _date(start, "start"), _date(end, "end")
    if first and last and first > last:
        raise ValidationError("the start date must be on or before the end date")
    utc = dt.timezone.utc
    return {
        "actor": (actor or "").strip() or None,
        "action": (action or "").strip() or None,
        "start": dt.datetime.combine(first, dt.time(), utc) if first else None,
        "end": dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), utc) if last
        else None,
        "company_id": company_id,
    }


def row_dict(row: AuditLog) -> dict:
    return {"id": row.id, "at": row.at.isoformat(), "actor_email": row.actor_email,
            "user_id": row.user_id, "action": row.action, "target": row.target,
            "remote_addr": row.remote_addr, "before": row.before, "after": row.after}


def search_audit(ctx: ServiceContext, actor: str | None = None, action: str | None = None,
                 start=None, end=None, limit: int = PAGE_SIZE, offset: int = 0, *,
                 company_id: int | None = None) -> dict:
    """Matching rows, newest first, with the total count."""
    where = filters(actor, action, start, end, company_id)
    limit = max(1, min(int(limit), PAGE_SIZE))
    if not 0 <= int(offset) <= MAX_OFFSET:
        raise ValidationError(f"offset must be between 0 and {MAX_OFFSET:,}")
    with ctx.session() as session:
        rows = queries.search(session, limit, max(0, int(offset)), **where)
        total = queries.count(session, **where)
        return {"rows": [row_dict(row) for row in rows], "total": total, "limit": limit,
                "offset": offset}


def audit_actions(ctx: ServiceContext) -> list[str]:
    """Actions to filter by: the known ones and any other found in the log."""
    with ctx.session() as session:
        found = queries.actions(session)
    return sorted(set(KNOWN_ACTIONS) | set(found))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def audit_csv(ctx: ServiceContext, actor: str | None = None, action: str | None = None,
              start=None, end=None, *, company_id: int | None = None) -> str:
    """The matching rows (newest first, at most EXPORT_LIMIT) as CSV text."""
    where = filters(actor, action, start, end, company_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    with ctx.session() as session:
        for row in queries.search(session, EXPORT_LIMIT, 0, **where):
            data = row_dict(row)
            writer.writerow([_cell(data[column]) for column in CSV_COLUMNS])
    return out.getvalue()
