"""Read-model queries behind the imports view: a company's past imports with who ran them, and
one import's rejected rows. Every function takes the tenant as a required argument; an import
run id is only ever looked up together with its company."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def past_imports(session: Session, company_id: int, limit: int) -> list[dict]:
    """The company's imports, newest first, with the actor from the audit log."""
    rows = session.execute(text("""
        SELECT r.id, r.source, r.format, r.kind, r.started_at, r.finished_at, r.status,
               r.rows_accepted, r.rows_rejected,
               COALESCE((r.summary ->> 'imported')::int, r.rows_accepted) AS imported,
               COALESCE((r.summary ->> 'replaced')::int, 0) AS replaced,
               COALESCE((r.summary ->> 'unchanged')::int, 0) AS unchanged,
               (SELECT a.actor_email FROM audit_log a
                WHERE a.action = 'import' AND (a.after ->> 'import_run_id')::bigint = r.id
                ORDER BY a.id LIMIT 1) AS actor
        FROM import_runs r
        WHERE r.company_id = :company
        ORDER BY r.started_at DESC, r.id DESC
        LIMIT :limit"""), {"company": company_id, "limit": limit})
    return [dict(row._mapping) for row in rows]


def import_run(session: Session, company_id: int, run_id: int) -> dict | None:
    row = session.execute(text("""
        SELECT id, source, format, status, rows_accepted, rows_rejected
        FROM import_runs WHERE company_id = :company AND id = :run"""),
        {"company": company_id, "run": run_id}).first()
    return dict(row._mapping) if row else None


def rejected_rows(session: Session, company_id: int, run_id: int) -> list[dict]:
    """The rejected rows of one of the company's imports, in file order."""
    rows = session.execute(text("""
        SELECT j.row_number, j.reason, j.raw
        FROM rejected_rows j JOIN import_runs r ON r.id = j.import_run_id
        WHERE r.company_id = :company AND j.import_run_id = :run
        ORDER BY j.row_number, j.id"""), {"company": company_id, "run": run_id})
    return [dict(row._mapping) for row in rows]
