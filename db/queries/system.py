"""System-health reads: data freshness per company from indexed lookups, never a full scan."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def data_freshness(session: Session) -> list[dict]:
    """Per company: the newest ad event (by the (company_id, occurred_at) index), when it was
    ingested, the last ingest (data_versions.updated_at, bumped by every ingest), and its stored
    insight models: when the newest was fitted and whether all fit the current history."""
    rows = session.execute(text("""
        SELECT c.slug, c.name, newest.occurred_at, newest.ingested_at,
               dv.updated_at AS last_ingest, models.fitted_at AS models_fitted_at,
               models.current AS models_current
        FROM companies c
        LEFT JOIN LATERAL (
            SELECT e.occurred_at, e.ingested_at FROM ad_events e
            WHERE e.company_id = c.id ORDER BY e.occurred_at DESC LIMIT 1
        ) newest ON TRUE
        LEFT JOIN data_versions dv ON dv.company_id = c.id
        LEFT JOIN LATERAL (
            SELECT MAX(i.computed_at) AS fitted_at,
                   bool_and(i.history_version = dv.history_version
                            AND i.through = (now() AT TIME ZONE 'UTC')::date - 1) AS current
            FROM insight_results i WHERE i.company_id = c.id
        ) models ON TRUE
        ORDER BY c.name""")).all()
    return [dict(row._mapping) for row in rows]


def database_now(session: Session):
    return session.execute(text("SELECT now()")).scalar_one()
