"""Alert rules, alerts, evaluations and deliveries; and the facts the rules judge (read from
rollups). Every function takes the tenant; the caller's session owns the transaction."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text
from sqlalchemy.orm import Session

# pg_try_advisory_xact_lock(_ALERT_LOCK_SPACE, company_id): one evaluator per company.
_ALERT_LOCK_SPACE = 72_410


def try_company_lock(session: Session, company_id: int) -> bool:
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:space, :company)"),
                                {"space": _ALERT_LOCK_SPACE, "company": company_id}).scalar())


# --------------------------------------------------------------------------- rules


def insert_missing_rules(session: Session, company_id: int, rules: list[dict]) -> int:
    inserted = 0
    for rule in rules:
        inserted += session.execute(text("""
            INSERT INTO alert_rules (company_id, rule_key, name, metric, comparison, threshold,
                                     severity, actions, enabled, pending_s, hysteresis,
                                     min_volume)
            VALUES (:company, :rule_key, :name, :metric, :comparison, :threshold, :severity,
                    :actions, true, :pending_s, :hysteresis, :min_volume)
            ON CONFLICT (company_id, rule_key) DO NOTHING"""),
            {"company": company_id, **rule}).rowcount
    return inserted


def rules_of(session: Session, company_id: int, enabled_only: bool = False) -> list[dict]:
    rows = session.execute(text(f"""
        SELECT id, rule_key, name, metric, comparison, threshold, severity, actions, enabled,
               pending_s, hysteresis, min_volume, updated_at
        FROM alert_rules WHERE company_id = :company {"AND enabled" if enabled_only else ""}
        ORDER BY id"""), {"company": company_id})
    return [dict(row._mapping) for row in rows]


def update_rule(session: Session, company_id: int, rule_key: str, changes: dict,
                user_id: int | None) -> dict | None:
    """Apply ``changes`` (column -> value) to the rule; returns the rule before the change."""
    before = session.execute(text("""
        SELECT id, name, threshold, severity, actions, enabled, pending_s, hysteresis,
               min_volume FROM alert_rules
        WHERE company_id = :company AND rule_key = :key FOR UPDATE"""),
        {"company": company_id, "key": rule_key}).first()
    if before is None:
        return None
    sets = ", ".join(f"{column} = :{column}" for column in changes)
    session.execute(text(f"""
        UPDATE alert_rules SET {sets}, updated_at = now(), updated_by = :user_id
        WHERE id = :id"""), {**changes, "user_id": user_id, "id": before.id})
    return dict(before._mapping)


def company_ids(session: Session) -> list[int]:
    return [row[0] for row in session.execute(text("SELECT id FROM companies ORDER BY id"))]


# --------------------------------------------------------------------------- facts


def campaigns_today(session: Session, company_id: int, day: dt.date) -> list[dict]:
    """Active campaigns with the day's totals and their daily budget."""
    rows = session.execute(text("""
        SELECT c.id, c.name, c.daily_budget::float8 AS daily_budget,
               COALESCE(r.clicks, 0)::bigint AS clicks,
               COALESCE(r.conversions, 0)::bigint AS conversions,
               COALESCE(r.impressions, 0)::bigint AS impressions,
               COALESCE(r.spend, 0)::float8 AS spend
        FROM campaigns c
        LEFT JOIN rollup_campaign_daily r ON r.campaign_id = c.id AND r.day = :day
        WHERE c.company_id = :company AND c.status = 'active'
        ORDER BY c.id"""), {"company": company_id, "day": day})
    return [dict(row._mapping) for row in rows]


def campaign_history(session: Session, company_id: int, start: dt.date,
                     end: dt.date) -> dict[int, dict]:
    """Clicks and conversions per campaign over [start, end]."""
    rows = session.execute(text("""
        SELECT campaign_id, SUM(clicks)::bigint AS clicks,
               SUM(conversions)::bigint AS conversions
        FROM rollup_campaign_daily
        WHERE company_id = :company AND day BETWEEN :start AND :end
        GROUP BY campaign_id"""), {"company": company_id, "start": start, "end": end})
    return {row.campaign_id: dict(row._mapping) for row in rows}


def clicks_in_hour(session: Session, company_id: int, hour: dt.datetime) -> int:
    return int(session.execute(text("""
        SELECT COALESCE(SUM(clicks), 0) FROM rollup_campaign_hourly
        WHERE company_id = :company AND hour = :hour"""),
        {"company": company_id, "hour": hour}).scalar())


def clicks_at_hours(session: Session, company_id: int, hours: list[dt.datetime]) -> int:
    return int(session.execute(text("""
        SELECT COALESCE(SUM(clicks), 0) FROM rollup_campaign_hourly
        WHERE company_id = :company AND hour = ANY(:hours)"""),
        {"company": company_id, "hours": hours}).scalar())


# --------------------------------------------------------------------------- alerts


def open_alerts_for_update(session: Session, company_id: int) -> list[dict]:
    rows = session.execute(text("""
        SELECT id, rule_id, campaign_id, state, started_at, fired_at, value
        FROM alerts WHERE company_id = :company AND state IN ('pending', 'firing')
        FOR UPDATE"""), {"company": company_id})
    return [dict(row._mapping) for row in rows]


def insert_alert(session: Session, company_id: int, rule: dict, campaign_id: int | None,
                 subject: str, state: str, value: float, message: str,
                 now: dt.datetime) -> int:
    return int(session.execute(text("""
        INSERT INTO alerts (company_id, rule_id, campaign_id, state, severity, message, value,
                            threshold, subject, started_at, last_evaluated_at, fired_at)
        VALUES (:company, :rule, :campaign, :state, :severity, :message, :value, :threshold,
                :subject, :now, :now,
                CASE WHEN :state = 'firing' THEN CAST(:now AS timestamptz) END)
        RETURNING id"""),
        {"company": company_id, "rule": rule["id"], "campaign": campaign_id, "state": state,
         "severity": rule["severity"], "message": message, "value": value,
         "threshold": rule["threshold"], "subject": subject[:200], "now": now}).scalar())


def update_alert(session: Session, alert_id: int, now: dt.datetime, *, state: str | None = None,
                 value: float | None = None, message: str | None = None) -> None:
    session.execute(text("""
        UPDATE alerts SET
            state = COALESCE(:state, state),
            value = COALESCE(:value, value),
            message = COALESCE(:message, message),
            last_evaluated_at = :now,
            fired_at = CASE WHEN :state = 'firing' THEN CAST(:now AS timestamptz) ELSE fired_at END,
            resolved_at = CASE WHEN :state IN ('resolved', 'cancelled')
                               THEN CAST(:now AS timestamptz) ELSE resolved_at END
        WHERE id = :id"""),
        {"id": alert_id, "now": now, "state": state, "value": value, "message": message})


def insert_deliveries(session: Session, alert_id: int, actions: list[str]) -> None:
    session.execute(text("""
        INSERT INTO alert_deliveries (alert_id, action, status)
        SELECT :alert, unnest(CAST(:actions AS varchar[])), 'pending'
        ON CONFLICT (alert_id, action) DO NOTHING"""),
        {"alert": alert_id, "actions": actions})


def insert_notification(session: Session, company_id: int, alert_id: int | None,
                        severity: str | None, message: str) -> None:
    session.execute(text("""
        INSERT INTO notifications (company_id, alert_id, severity, message, read)
        VALUES (:company, :alert, :severity, :message, false)"""),
        {"company": company_id, "alert": alert_id, "severity": severity, "message": message})


def insert_evaluation(session: Session, company_id: int, rule_id: int, now: dt.datetime,
                      subjects: int, breaching: int, details: dict) -> None:
    session.execute(text("""
        INSERT INTO alert_evaluations (company_id, rule_id, evaluated_at, subjects, breaching,
                                       details)
        VALUES (:company, :rule, :now, :subjects, :breaching, CAST(:details AS jsonb))"""),
        {"company": company_id, "rule": rule_id, "now": now, "subjects": subjects,
         "breaching": breaching, "details": json.dumps(details, default=str)})


def prune_evaluations(session: Session, before: dt.datetime) -> int:
    return session.execute(text("DELETE FROM alert_evaluations WHERE evaluated_at < :before"),
                           {"before": before}).rowcount


def firing_alerts(session: Session, company_id: int, limit: int) -> list[dict]:
    rows = session.execute(text("""
        SELECT a.id, a.state, a.severity, a.message, a.value, a.threshold, a.subject,
               a.campaign_id, a.started_at, a.fired_at, a.acknowledged_at,
               u.email AS acknowledged_by, r.rule_key, r.name AS rule_name, r.metric
        FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
        LEFT JOIN users u ON u.id = a.acknowledged_by
        WHERE a.company_id = :company AND a.state = 'firing'
        ORDER BY a.fired_at DESC, a.id DESC LIMIT :limit"""),
        {"company": company_id, "limit": limit})
    return [dict(row._mapping) for row in rows]


def acknowledge(session: Session, company_id: int, alert_id: int, user_id: int) -> dict | None:
    row = session.execute(text("""
        UPDATE alerts SET acknowledged_by = :user, acknowledged_at = now()
        WHERE id = :id AND company_id = :company AND acknowledged_at IS NULL
        RETURNING id, message"""),
        {"id": alert_id, "company": company_id, "user": user_id}).first()
    return dict(row._mapping) if row else None


def pending_deliveries(session: Session, limit: int) -> list[dict]:
    rows = session.execute(text("""
        SELECT d.id, d.action, a.id AS alert_id, a.company_id, a.campaign_id, a.message,
               a.severity, a.subject, r.name AS rule_name, c.name AS company_name
        FROM alert_deliveries d
        JOIN alerts a ON a.id = d.alert_id
        JOIN alert_rules r ON r.id = a.rule_id
        JOIN companies c ON c.id = a.company_id
        WHERE d.status = 'pending' ORDER BY d.id LIMIT :limit"""), {"limit": limit})
    return [dict(row._mapping) for row in rows]


def claim_delivery(session: Session, delivery_id: int) -> bool:
    """Atomically move a delivery from pending to sending; False if another worker did."""
    return session.execute(text("""
        UPDATE alert_deliveries SET status = 'sending', at = now()
        WHERE id = :id AND status = 'pending'"""), {"id": delivery_id}).rowcount == 1


def finish_delivery(session: Session, delivery_id: int, status: str, detail: str | None) -> None:
    session.execute(text("""
        UPDATE alert_deliveries SET status = :status, detail = :detail, at = now()
        WHERE id = :id"""), {"id": delivery_id, "status": status, "detail": detail})


def deliveries_of(session: Session, alert_id: int) -> list[dict]:
    rows = session.execute(text("""
        SELECT action, status, detail FROM alert_deliveries WHERE alert_id = :a ORDER BY action"""),
        {"a": alert_id})
    return [dict(row._mapping) for row in rows]


def alert_settings(session: Session, company_id: int) -> dict:
    row = session.execute(text("""
        SELECT email_recipients, slack_webhook_url FROM alert_settings WHERE company_id = :c"""),
        {"c": company_id}).first()
    return {"email_recipients": list(row.email_recipients or []) if row else [],
            "slack_webhook_url": row.slack_webhook_url if row else None}


def save_alert_settings(session: Session, company_id: int, email_recipients: list[str],
                        slack_webhook_url: str | None) -> None:
    session.execute(text("""
        INSERT INTO alert_settings (company_id, email_recipients, slack_webhook_url)
        VALUES (:c, :emails, :slack)
        ON CONFLICT (company_id) DO UPDATE
            SET email_recipients = EXCLUDED.email_recipients,
                slack_webhook_url = EXCLUDED.slack_webhook_url"""),
        {"c": company_id, "emails": email_recipients, "slack": slack_webhook_url})


def default_email_recipients(session: Session, company_id: int) -> list[str]:
    """Active marketing managers and campaign specialists of the company."""
    return [row[0] for row in session.execute(text("""
        SELECT email FROM users WHERE company_id = :c AND active
          AND role IN ('marketing_manager', 'campaign_specialist') ORDER BY email"""),
        {"c": company_id})]
