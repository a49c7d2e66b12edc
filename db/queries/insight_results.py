"""Stored results of the history models (``insight_results``), per company."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session


def history_version(session: Session, company_id: int) -> int:
    return int(session.execute(
        text("SELECT history_version FROM data_versions WHERE company_id = :company"),
        {"company": company_id}).scalar() or 0)


def load(session: Session, company_id: int, name: str):
    """The stored result: (history_version, through, age in seconds, payload as JSON text),
    or None."""
    return session.execute(text("""
        SELECT history_version, through,
               EXTRACT(EPOCH FROM now() - computed_at)::float8 AS age_s, payload::text
        FROM insight_results WHERE company_id = :company AND name = :name"""),
        {"company": company_id, "name": name}).first()


# A stored result nobody asked for since its history changed is dropped after this long. Only
# such results go: the worker refits the models it serves on every history change, so what
# ages out is an option set a request asked for once (attribution's dates, a custom range).
STALE_AFTER = dt.timedelta(days=7)


def prune(session: Session, older_than: dt.timedelta = STALE_AFTER) -> int:
    """Delete results fitted to an older history of their company and not recomputed for
    ``older_than``; returns how many went."""
    return session.execute(text("""
        DELETE FROM insight_results r USING data_versions v
        WHERE v.company_id = r.company_id AND r.history_version < v.history_version
          AND r.computed_at < now() - CAST(:older_than AS interval)"""),
        {"older_than": older_than}).rowcount


def save(session: Session, company_id: int, name: str, version: int, through: dt.date,
         seconds: float, payload: str) -> None:
    """Keep the newest history's result: an older one computed late never replaces it."""
    session.execute(text("""
        INSERT INTO insight_results (company_id, name, history_version, through, seconds,
                                     computed_at, payload)
        VALUES (:company, :name, :version, :through, :seconds, now(), CAST(:payload AS jsonb))
        ON CONFLICT (company_id, name) DO UPDATE SET
            history_version = EXCLUDED.history_version, through = EXCLUDED.through,
            seconds = EXCLUDED.seconds, computed_at = EXCLUDED.computed_at,
            payload = EXCLUDED.payload
        WHERE (insight_results.through, insight_results.history_version)
              <= (EXCLUDED.through, EXCLUDED.history_version)"""),
        {"company": company_id, "name": name, "version": version, "through": through,
         "seconds": seconds, "payload": payload})

