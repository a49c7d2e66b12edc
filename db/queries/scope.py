"""Lookups that resolve a record id from a request inside one company (services.access)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def campaign(session: Session, company_id: int, campaign_id: int) -> dict | None:
    row = session.execute(
        text("SELECT id, name, status FROM campaigns WHERE id = :id AND company_id = :company"),
        {"id": campaign_id, "company": company_id},
    ).mappings().first()
    return dict(row) if row else None


def alert_exists(session: Session, company_id: int, alert_id: int) -> bool:
    return session.execute(
        text("SELECT 1 FROM alerts WHERE id = :id AND company_id = :company"),
        {"id": alert_id, "company": company_id},
    ).first() is not None


def user_company(session: Session, user_id: int) -> tuple[bool, int | None]:
    """(whether the user exists, their company id)."""
    row = session.execute(text("SELECT company_id FROM users WHERE id = :id"),
                          {"id": user_id}).first()
    return (row is not None, row.company_id if row else None)
