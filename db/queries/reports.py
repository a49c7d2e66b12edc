"""SQL of scheduled reports (issue #17): schedules, runs claimed once per (schedule, due
time), deliveries claimed once per (run, channel, target), allowed outside addresses."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text
from sqlalchemy.orm import Session

SCHEDULE_COLUMNS = """s.id, s.company_id, s.owner_id, s.view, s.name, s.sections, s.filters,
    s.formats, s.recipients, s.cadence, s.day, s.local_time, s.timezone, s.cron,
    s.skip_if_empty, s.slack, s.notify, s.active, s.next_run_at, s.created_at, s.updated_at,
    u.email AS owner_email, u.name AS owner_name, u.role AS owner_role,
    u.active AS owner_active, u.company_id AS owner_company_id"""
RUN_COLUMNS = """r.id, r.schedule_id, r.company_id, r.due_at, r.kind, r.status, r.detail,
    r.started_at, r.finished_at, r.attempts, r.next_attempt_at, r.recipients, r.sizes,
    r.render_ms, r.deliver_ms, r.requested_by"""


def _rows(result) -> list[dict]:
    return [dict(row._mapping) for row in result]


def schedules(session: Session, company_id: int, owner_id: int | None = None) -> list[dict]:
    """The company's schedules (one owner's when given) with their last run."""
    return _rows(session.execute(text(f"""
        SELECT {SCHEDULE_COLUMNS}, last.status AS last_status, last.due_at AS last_due_at,
               last.detail AS last_detail, last.finished_at AS last_finished_at
        FROM report_schedules s JOIN users u ON u.id = s.owner_id
        LEFT JOIN LATERAL (SELECT status, due_at, detail, finished_at FROM report_runs r
                           WHERE r.schedule_id = s.id ORDER BY due_at DESC LIMIT 1) last ON true
        WHERE s.company_id = :c AND (CAST(:o AS int) IS NULL OR s.owner_id = :o)
        ORDER BY s.name, s.id"""), {"c": company_id, "o": owner_id}))


def schedule(session: Session, company_id: int, schedule_id: int) -> dict | None:
    row = session.execute(text(f"""
        SELECT {SCHEDULE_COLUMNS} FROM report_schedules s JOIN users u ON u.id = s.owner_id
        WHERE s.id = :id AND s.company_id = :c"""), {"id": schedule_id, "c": company_id}).first()
    return dict(row._mapping) if row else None


def schedule_any_company(session: Session, schedule_id: int) -> dict | None:
    """The worker's read: a due schedule by id (its company comes with it)."""
    row = session.execute(text(f"""
        SELECT {SCHEDULE_COLUMNS} FROM report_schedules s JOIN users u ON u.id = s.owner_id
        WHERE s.id = :id"""), {"id": schedule_id}).first()
    return dict(row._mapping) if row else None


_WRITABLE = ("name", "view", "sections", "filters", "formats", "recipients", "cadence", "day",
             "local_time", "timezone", "cron", "skip_if_empty", "slack", "notify", "active",
             "next_run_at")


def _params(values: dict) -> dict:
    params = {key: values[key] for key in _WRITABLE}
    params["filters"] = json.dumps(values["filters"])
    return params


def insert_schedule(session: Session, company_id: int, owner_id: int, values: dict) -> int:
    return session.execute(text("""
        INSERT INTO report_schedules (company_id, owner_id, name, view, sections, filters,
            formats, recipients, cadence, day, local_time, timezone, cron, skip_if_empty,
            slack, notify, active, next_run_at)
        VALUES (:c, :o, :name, :view, :sections, CAST(:filters AS jsonb), :formats,
            :recipients, :cadence, :day, :local_time, :timezone, :cron, :skip_if_empty,
            :slack, :notify, :active, :next_run_at)
        RETURNING id"""), {"c": company_id, "o": owner_id, **_params(values)}).scalar()


def update_schedule(session: Session, company_id: int, schedule_id: int, values: dict) -> bool:
    return session.execute(text("""
        UPDATE report_schedules SET name = :name, view = :view, sections = :sections,
            filters = CAST(:filters AS jsonb), formats = :formats, recipients = :recipients,
            cadence = :cadence, day = :day, local_time = :local_time, timezone = :timezone,
            cron = :cron, skip_if_empty = :skip_if_empty, slack = :slack, notify = :notify,
            active = :active, next_run_at = :next_run_at, updated_at = now()
        WHERE id = :id AND company_id = :c"""),
        {"id": schedule_id, "c": company_id, **_params(values)}).rowcount == 1


def delete_schedule(session: Session, company_id: int, schedule_id: int) -> bool:
    session.execute(text("""DELETE FROM report_runs WHERE schedule_id = :id AND company_id = :c"""),
                    {"id": schedule_id, "c": company_id})
    return session.execute(text("DELETE FROM report_schedules WHERE id = :id AND company_id = :c"),
                           {"id": schedule_id, "c": company_id}).rowcount == 1


def company_users(session: Session, company_id: int) -> list[dict]:
    return _rows(session.execute(text("""
        SELECT id, email, name, role, active FROM users WHERE company_id = :c ORDER BY email"""),
        {"c": company_id}))


def allowed_addresses(session: Session, company_id: int) -> list[str]:
    return [row[0] for row in session.execute(text("""
        SELECT address FROM report_allowed_recipients WHERE company_id = :c ORDER BY address"""),
        {"c": company_id})]


def allow_address(session: Session, company_id: int, address: str, user_id: int | None) -> None:
    session.execute(text("""
        INSERT INTO report_allowed_recipients (company_id, address, allowed_by)
        VALUES (:c, :a, :u) ON CONFLICT DO NOTHING"""),
        {"c": company_id, "a": address.lower(), "u": user_id})


# --------------------------------------------------------------------------- the worker


def lock_due_schedules(session: Session, now: dt.datetime, limit: int) -> list[dict]:
    """Up to ``limit`` due schedules, locked until the transaction ends; rows another worker
    holds are skipped, so workers take different batches (the unique run still decides)."""
    return _rows(session.execute(text(f"""
        SELECT {SCHEDULE_COLUMNS} FROM report_schedules s JOIN users u ON u.id = s.owner_id
        WHERE s.active AND s.next_run_at IS NOT NULL AND s.next_run_at <= :now
        ORDER BY s.next_run_at, s.id LIMIT :limit
        FOR UPDATE OF s SKIP LOCKED"""), {"now": now, "limit": limit}))


def claim_run(session: Session, schedule_id: int, company_id: int, due_at: dt.datetime,
              kind: str, requested_by: int | None = None) -> int | None:
    """The new run's id, or None when a run of that schedule and due time exists (another
    worker claimed it): the unique (schedule_id, due_at) index decides."""
    return session.execute(text("""
        INSERT INTO report_runs (schedule_id, company_id, due_at, kind, status, started_at,
                                 requested_by, attempts)
        VALUES (:s, :c, :due, :kind, 'working', now(), :by, 1)
        ON CONFLICT (schedule_id, due_at) DO NOTHING RETURNING id"""),
        {"s": schedule_id, "c": company_id, "due": due_at, "kind": kind,
         "by": requested_by}).scalar()


def advance_schedule(session: Session, schedule_id: int, was: dt.datetime,
                     next_run_at: dt.datetime) -> bool:
    """Move the schedule's next due time on, only from the value read (compare and set)."""
    return session.execute(text("""
        UPDATE report_schedules SET next_run_at = :next
        WHERE id = :id AND next_run_at = :was"""),
        {"id": schedule_id, "was": was, "next": next_run_at}).rowcount == 1


def retry_runs(session: Session, now: dt.datetime, limit: int) -> list[int]:
    return [row[0] for row in session.execute(text("""
        SELECT id FROM report_runs WHERE status = 'retrying' AND next_attempt_at <= :now
        ORDER BY next_attempt_at LIMIT :limit"""), {"now": now, "limit": limit})]


def claim_retry(session: Session, run_id: int, now: dt.datetime) -> bool:
    return session.execute(text("""
        UPDATE report_runs SET status = 'working', attempts = attempts + 1, started_at = now(),
                               next_attempt_at = NULL
        WHERE id = :id AND status = 'retrying' AND next_attempt_at <= :now"""),
        {"id": run_id, "now": now}).rowcount == 1


def release_stale(session: Session, before: dt.datetime, now: dt.datetime) -> int:
    """Runs left 'working' by a worker that stopped: retried (deliveries already claimed
    are not sent again)."""
    return session.execute(text("""
        UPDATE report_runs SET status = 'retrying', next_attempt_at = :now,
            detail = 'the worker stopped while working on this run; retrying'
        WHERE status = 'working' AND started_at < :before"""),
        {"before": before, "now": now}).rowcount


def finish_run(session: Session, run_id: int, values: dict) -> None:
    session.execute(text("""
        UPDATE report_runs SET status = :status, detail = :detail, finished_at = now(),
            recipients = :recipients, sizes = CAST(:sizes AS jsonb), render_ms = :render_ms,
            deliver_ms = :deliver_ms, next_attempt_at = :next_attempt_at
        WHERE id = :id"""),
        {"id": run_id, "status": values["status"], "detail": values.get("detail"),
         "recipients": values.get("recipients") or [],
         "sizes": json.dumps(values.get("sizes") or {}), "render_ms": values.get("render_ms"),
         "deliver_ms": values.get("deliver_ms"),
         "next_attempt_at": values.get("next_attempt_at")})


def run(session: Session, run_id: int) -> dict | None:
    row = session.execute(text(f"SELECT {RUN_COLUMNS} FROM report_runs r WHERE r.id = :id"),
                          {"id": run_id}).first()
    return dict(row._mapping) if row else None


def runs(session: Session, company_id: int, schedule_id: int | None = None,
         limit: int = 50) -> list[dict]:
    return _rows(session.execute(text(f"""
        SELECT {RUN_COLUMNS}, s.name AS schedule_name FROM report_runs r
        JOIN report_schedules s ON s.id = r.schedule_id
        WHERE r.company_id = :c AND (CAST(:s AS int) IS NULL OR r.schedule_id = :s)
        ORDER BY r.due_at DESC, r.id DESC LIMIT :limit"""),
        {"c": company_id, "s": schedule_id, "limit": limit}))


def claim_delivery(session: Session, run_id: int, channel: str, target: str) -> bool:
    """True when this worker may send to ``target``: a new claim, or one that failed before
    (a retry). A delivery already sent, or being sent, is never sent again."""
    return session.execute(text("""
        INSERT INTO report_deliveries (run_id, channel, target, status)
        VALUES (:r, :ch, :t, 'sending')
        ON CONFLICT (run_id, channel, target) DO UPDATE SET status = 'sending', at = now()
            WHERE report_deliveries.status = 'failed'
        RETURNING run_id"""), {"r": run_id, "ch": channel, "t": target}).first() is not None


def finish_delivery(session: Session, run_id: int, channel: str, target: str, status: str,
                    detail: str | None) -> None:
    session.execute(text("""
        UPDATE report_deliveries SET status = :st, detail = :d, at = now()
        WHERE run_id = :r AND channel = :ch AND target = :t"""),
        {"r": run_id, "ch": channel, "t": target, "st": status, "d": detail})


def deliveries(session: Session, run_id: int) -> list[dict]:
    return _rows(session.execute(text("""
        SELECT channel, target, status, detail, at FROM report_deliveries WHERE run_id = :r
        ORDER BY channel, target"""), {"r": run_id}))


def insert_notification(session: Session, company_id: int, user_id: int | None,
                        message: str) -> None:
    session.execute(text("""
        INSERT INTO notifications (company_id, user_id, message, read, severity)
        VALUES (:c, :u, :m, false, 'low')"""), {"c": company_id, "u": user_id, "m": message})


def slack_webhook(session: Session, company_id: int) -> str | None:
    return session.execute(text("""
        SELECT slack_webhook_url FROM alert_settings WHERE company_id = :c"""),
        {"c": company_id}).scalar()
