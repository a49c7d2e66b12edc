"""Companies, campaigns and the small dimensions they point at (channels, segments,
locations): lookups and writes for ``services.catalog`` and the importers. The caller's
session owns the transaction; campaign reads and writes take the company (tenant)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session


def companies(session: Session) -> list[dict]:
    rows = session.execute(text("""
        SELECT c.id, c.slug, c.name, c.industry,
               (SELECT COUNT(*) FROM campaigns k WHERE k.company_id = c.id) AS campaigns
        FROM companies c ORDER BY c.name, c.id"""))
    return [dict(row._mapping) for row in rows]


def company_ids_by_name(session: Session) -> dict[str, tuple[int, str]]:
    """Lower-case company name -> (id, slug)."""
    rows = session.execute(text("SELECT id, slug, name FROM companies"))
    return {row.name.strip().lower(): (row.id, row.slug) for row in rows}


def slugs(session: Session) -> set[str]:
    return {row[0] for row in session.execute(text("SELECT slug FROM companies"))}


def insert_company(session: Session, slug: str, name: str, industry: str) -> int:
    return int(session.execute(text("""
        INSERT INTO companies (slug, name, industry) VALUES (:slug, :name, :industry)
        RETURNING id"""), {"slug": slug, "name": name, "industry": industry}).scalar())


def channels(session: Session) -> dict[str, int]:
    """Lower-case channel name -> id."""
    return {row.name.lower(): row.id
            for row in session.execute(text("SELECT id, name FROM channels"))}


def insert_channel(session: Session, name: str, kind: str) -> int:
    return int(session.execute(text("""
        INSERT INTO channels (name, kind) VALUES (:name, :kind)
        ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id"""),
        {"name": name, "kind": kind}).scalar())


def segments(session: Session) -> dict[str, int]:
    return {row.name.lower(): row.id
            for row in session.execute(text("SELECT id, name FROM segments"))}


def insert_segment(session: Session, name: str) -> int:
    return int(session.execute(text("""
        INSERT INTO segments (name) VALUES (:name)
        ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id"""),
        {"name": name}).scalar())


def locations(session: Session) -> dict[str, int]:
    return {row.name.lower(): row.id
            for row in session.execute(text("SELECT id, name FROM locations"))}


def location_rows(session: Session) -> list[dict]:
    rows = session.execute(text("""
        SELECT id, name, region, country, latitude, longitude FROM locations ORDER BY name"""))
    return [dict(row._mapping) for row in rows]


def insert_location(session: Session, values: dict) -> int:
    return int(session.execute(text("""
        INSERT INTO locations (name, region, country, latitude, longitude)
        VALUES (:name, :region, :country, :latitude, :longitude) RETURNING id"""),
        values).scalar())


def campaigns(session: Session, company_id: int) -> list[dict]:
    rows = session.execute(text("""
        SELECT k.id, k.name, ch.name AS channel, k.goal, k.status, k.start_date, k.end_date,
               k.budget_allocated, k.daily_budget, k.language, l.name AS location,
               s.name AS segment
        FROM campaigns k JOIN channels ch ON ch.id = k.channel_id
        LEFT JOIN locations l ON l.id = k.location_id
        LEFT JOIN segments s ON s.id = k.segment_id
        WHERE k.company_id = :company ORDER BY k.start_date, k.id"""), {"company": company_id})
    return [dict(row._mapping) for row in rows]


def campaign_named(session: Session, company_id: int, name: str) -> int | None:
    return session.execute(text("""
        SELECT id FROM campaigns WHERE company_id = :company AND lower(name) = lower(:name)
        LIMIT 1"""), {"company": company_id, "name": name}).scalar()


def insert_campaign(session: Session, company_id: int, values: dict) -> int:
    return int(session.execute(text("""
        INSERT INTO campaigns (company_id, channel_id, segment_id, location_id, name, goal,
                               status, start_date, end_date, budget_allocated, daily_budget,
                               language, project, tags)
        VALUES (:company, :channel_id, :segment_id, :location_id, :name, :goal, :status,
                :start_date, :end_date, :budget_allocated, :daily_budget, :language,
                :project, CAST(:tags AS varchar(32)[]))
        RETURNING id"""), {"company": company_id, **values}).scalar())


def today(session: Session) -> dt.date:
    return session.execute(text("SELECT CURRENT_DATE")).scalar()
