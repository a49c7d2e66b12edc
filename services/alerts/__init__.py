"""Real-time alerting: rules (``rules``), the state machine (``evaluation``), actions
(``actions``), the feed the view shows, acknowledgement, settings and one worker pass (the
loop is ``services.worker``)."""

from __future__ import annotations

import datetime as dt
import logging

from db import rollups
from db.queries import alerts as queries
from services import audit
from services.access import Scope, alert_in_scope, require
from services.alerts.actions import DeliveryConfig, deliver_pending, validate_webhook_url
from services.alerts.evaluation import evaluate_company
from services.alerts.rules import (
    DEFAULT_RULES,
    ensure_default_rules,
    list_rules,
    update_rule,
)
from services.cache import cached, forget_data_version
from services.context import ServiceContext
from services.errors import ValidationError
from services.users import EMAIL_RE

__all__ = [
    "DEFAULT_RULES", "DeliveryConfig", "acknowledge_alert", "deliver_pending",
    "ensure_default_rules", "evaluate_company", "get_alert_settings", "list_rules",
    "open_alerts", "prune_evaluations", "run_once", "set_alert_settings", "update_rule",
]
log = logging.getLogger(__name__)
EVALUATION_RETENTION = dt.timedelta(days=7)


@cached(ttl=900)
def open_alerts(ctx: ServiceContext, scope: Scope, limit: int = 50) -> list[dict]:
    """Firing alerts, newest first."""
    company_id = scope.company_id
    with ctx.session() as session:
        return queries.firing_alerts(session, company_id, limit)


def acknowledge_alert(ctx: ServiceContext, scope: Scope, alert_id) -> dict:
    """Mark a firing alert of the scope's company as seen (roles that may act only); refusals
    and foreign ids are audited."""
    require(ctx, scope, "acknowledge_alert")
    alert_id = alert_in_scope(ctx, scope, alert_id)
    company_id = scope.company_id
    with ctx.session() as session:
        row = queries.acknowledge(session, company_id, alert_id, scope.audit_user_id)
        if row is None:
            return {"changed": False, "alert_id": alert_id}
        audit.record(session, "alert_acknowledge", user_id=scope.audit_user_id,
                     actor_email=scope.user.email,
                     target=f"alert:{alert_id}", remote_addr=scope.remote_addr,
                     before={"acknowledged": False}, after={"acknowledged": True})
        rollups.bump_data_version(session.connection(), [company_id], history=False)
    forget_data_version(ctx, [company_id])
    return {"changed": True, "alert_id": alert_id, "message": row["message"]}


def get_alert_settings(ctx: ServiceContext, company_id: int) -> dict:
    with ctx.session() as session:
        return queries.alert_settings(session, company_id)


def set_alert_settings(ctx: ServiceContext, scope: Scope, email_recipients: list[str],
                       slack_webhook_url: str | None,
                       config: DeliveryConfig | None = None) -> dict:
    """Where the scope's company's alerts go (marketing managers and admins, the CLI)."""
    require(ctx, scope, "edit_alert_settings")
    company_id = scope.company_id
    emails = [e.strip() for e in email_recipients or [] if e and e.strip()]
    bad = [e for e in emails if not EMAIL_RE.match(e)]
    if bad:
        raise ValidationError(f"not email addresses: {', '.join(bad)}")
    url = validate_webhook_url(slack_webhook_url, config or DeliveryConfig()) \
        if slack_webhook_url else None
    with ctx.session() as session:
        before = queries.alert_settings(session, company_id)
        queries.save_alert_settings(session, company_id, emails, url)
        audit.record(session, "alert_settings_update",
                     user_id=scope.audit_user_id, actor_email=scope.user.email,
                     target=f"company:{company_id}",
                     before={"emails": before["email_recipients"],
                             "slack": bool(before["slack_webhook_url"])},
                     after={"emails": emails, "slack": bool(url)})
    return {"email_recipients": emails, "slack_webhook_url": url}


def run_once(ctx: ServiceContext, config: DeliveryConfig, now: dt.datetime | None = None,
             company_ids: list[int] | None = None) -> dict:
    """One worker pass: default rules, every company evaluated, queued actions performed."""
    with ctx.session() as session:
        companies = company_ids or queries.company_ids(session)
    summaries = {}
    for company_id in companies:
        ensure_default_rules(ctx, company_id)
        summaries[company_id] = evaluate_company(ctx, company_id, now)
    deliveries = deliver_pending(ctx, config)
    return {"companies": summaries, "deliveries": deliveries}


def prune_evaluations(ctx: ServiceContext) -> None:
    """Forget rule evaluations older than ``EVALUATION_RETENTION``."""
    with ctx.session() as session:
        queries.prune_evaluations(session, dt.datetime.now(dt.timezone.utc) - EVALUATION_RETENTION)
