"""SQL of the company calendar (issue #20): annotated events and the holiday country."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

EVENT_COLUMNS = "e.id, e.start_day, e.end_day, e.kind, e.title, e.created_at, u.email AS created_by"


def events(session: Session, company_id: int) -> list[dict]:
    """The company's events, newest first."""
    return [dict(row._mapping) for row in session.execute(text(f"""
        SELECT {EVENT_COLUMNS} FROM company_events e LEFT JOIN users u ON u.id = e.created_by
        WHERE e.company_id = :company ORDER BY e.start_day DESC, e.id DESC"""),
        {"company": company_id})]


def event(session: Session, company_id: int, event_id: int) -> dict | None:
    row = session.execute(text(f"""
        SELECT {EVENT_COLUMNS} FROM company_events e LEFT JOIN users u ON u.id = e.created_by
        WHERE e.company_id = :company AND e.id = :id"""),
        {"company": company_id, "id": event_id}).first()
    return dict(row._mapping) if row else None


def insert_event(session: Session, company_id: int, start_day: dt.date, end_day: dt.date,
                 kind: str, title: str, created_by: int | None) -> int:
    return session.execute(text("""
        INSERT INTO company_events (company_id, start_day, end_day, kind, title, created_by)
        VALUES (:company, :start, :end, :kind, :title, :by) RETURNING id"""),
        {"company": company_id, "start": start_day, "end": end_day, "kind": kind,
         "title": title, "by": created_by}).scalar_one()


def delete_event(session: Session, company_id: int, event_id: int) -> bool:
    return session.execute(text(
        "DELETE FROM company_events WHERE company_id = :company AND id = :id"),
        {"company": company_id, "id": event_id}).rowcount > 0


def holiday_country(session: Session, company_id: int) -> str | None:
    """The company's chosen country, else the country of most of its campaigns' locations."""
    return session.execute(text("""
        SELECT COALESCE(
            (SELECT holiday_country FROM company_calendars WHERE company_id = :company),
            (SELECT l.country FROM campaigns c JOIN locations l ON l.id = c.location_id
             WHERE c.company_id = :company
             GROUP BY l.country ORDER BY count(*) DESC, l.country LIMIT 1))"""),
        {"company": company_id}).scalar()


def set_holiday_country(session: Session, company_id: int, country: str) -> None:
    session.execute(text("""
        INSERT INTO company_calendars (company_id, holiday_country) VALUES (:company, :country)
        ON CONFLICT (company_id) DO UPDATE SET holiday_country = EXCLUDED.holiday_country,
            updated_at = now()"""), {"company": company_id, "country": country})
