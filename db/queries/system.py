"""System-health reads: data freshness per company from indexed lookups, never a full scan."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def data_freshness(session: Session, company_id: int | None = None,
                   models: tuple[str, ...] = ()) -> list[dict]:
    """Per company: the newest ad event and when it was ingested (both kept in data_versions
    by every writer of events), the last ingest (data_versions.updated_at, bumped by every
    ingest), and its stored insight models: when the newest was fitted and whether all fit
    the current history (of the models whose names start with one of ``models``; all when
    empty). ``company_id`` keeps that company only."""
    rows = session.execute(text("""
        SELECT c.slug, c.name, dv.newest_event_at AS occurred_at,
               dv.newest_event_ingested_at AS ingested_at,
               dv.updated_at AS last_ingest, models.fitted_at AS models_fitted_at,
               models.current AS models_current
        FROM companies c
        LEFT JOIN data_versions dv ON dv.company_id = c.id
        LEFT JOIN LATERAL (
            SELECT MAX(i.computed_at) AS fitted_at,
                   bool_and(i.history_version = dv.history_version
                            AND i.through = (now() AT TIME ZONE 'UTC')::date - 1) AS current
            FROM insight_results i WHERE i.company_id = c.id
              AND (cardinality(CAST(:models AS text[])) = 0
                   OR i.name LIKE ANY (CAST(:models AS text[])))
        ) models ON TRUE
        WHERE CAST(:company AS integer) IS NULL OR c.id = :company
        ORDER BY c.name"""), {"company": company_id,
                              "models": [f"{prefix}%" for prefix in models]}).all()
    return [dict(row._mapping) for row in rows]


def database_now(session: Session):
    return session.execute(text("SELECT now()")).scalar_one()
