"""Read-model queries behind the real-time view. Every function takes the tenant as a required
argument and reads rollups, or (``newest_event_at``) the company's data_versions row."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

_MEASURES = """COALESCE(SUM(impressions), 0)::bigint AS impressions,
               COALESCE(SUM(clicks), 0)::bigint AS clicks,
               COALESCE(SUM(conversions), 0)::bigint AS conversions,
               COALESCE(SUM(spend), 0)::float8 AS spend,
               COALESCE(SUM(revenue), 0)::float8 AS revenue"""


def hourly_totals(session: Session, company_id: int, start: dt.datetime,
                  end: dt.datetime) -> list[dict]:
    """Company totals per clock hour with hour in [start, end)."""
    rows = session.execute(text(f"""
        SELECT hour, {_MEASURES}
        FROM rollup_campaign_hourly
        WHERE company_id = :company AND hour >= :start AND hour < :end
        GROUP BY hour ORDER BY hour"""), {"company": company_id, "start": start, "end": end})
    return [dict(row._mapping) for row in rows]


def hour_of_day_totals(session: Session, company_id: int, start: dt.datetime,
                       end: dt.datetime) -> list[dict]:
    """Company totals per hour of day (0-23, UTC) summed over [start, end)."""
    rows = session.execute(text(f"""
        SELECT EXTRACT(HOUR FROM hour AT TIME ZONE 'UTC')::int AS hour_of_day, {_MEASURES}
        FROM rollup_campaign_hourly
        WHERE company_id = :company AND hour >= :start AND hour < :end
        GROUP BY 1 ORDER BY 1"""), {"company": company_id, "start": start, "end": end})
    return [dict(row._mapping) for row in rows]


def newest_event_at(session: Session, company_id: int,
                    not_after: dt.datetime) -> dt.datetime | None:
    """When the company's newest event happened, kept in data_versions by every writer of
    events (``db.rollups``), never later than ``not_after``.

    Ingest accepts events stamped at most 5 minutes ahead of its clock, so the stored value is
    past ``not_after`` (the caller's now + 5 minutes) only for those few minutes, and only
    when such an event was ingested. It is then capped at ``not_after``: the events up to it
    are not known without an index, and a newest event at least that new still reads as
    live."""
    return session.execute(text("""
        SELECT LEAST(newest_event_at, :not_after) FROM data_versions
        WHERE company_id = :company"""),
        {"company": company_id, "not_after": not_after}).scalar()


def locations_on(session: Session, company_id: int, day: dt.date) -> list[dict]:
    """Spend, conversions and clicks per location on one day."""
    rows = session.execute(text(f"""
        SELECT l.id AS location_id, l.name, l.region, l.latitude, l.longitude, {_MEASURES}
        FROM ad_stats_daily s JOIN locations l ON l.id = s.location_id
        WHERE s.company_id = :company AND s.day = :day
        GROUP BY l.id ORDER BY spend DESC"""), {"company": company_id, "day": day})
    return [dict(row._mapping) for row in rows]


def campaigns_on(session: Session, company_id: int, day: dt.date) -> list[dict]:
    """Active campaigns, and any other campaign with activity on ``day``, with that day's
    totals and the campaign's daily budget."""
    rows = session.execute(text("""
        SELECT c.id, c.name, c.status, ch.name AS channel, c.daily_budget::float8 AS daily_budget,
               COALESCE(r.impressions, 0)::bigint AS impressions,
               COALESCE(r.clicks, 0)::bigint AS clicks,
               COALESCE(r.conversions, 0)::bigint AS conversions,
               COALESCE(r.spend, 0)::float8 AS spend,
               COALESCE(r.revenue, 0)::float8 AS revenue
        FROM campaigns c
        JOIN channels ch ON ch.id = c.channel_id
        LEFT JOIN rollup_campaign_daily r
            ON r.company_id = :company AND r.campaign_id = c.id AND r.day = :day
        WHERE c.company_id = :company AND (c.status = 'active' OR r.campaign_id IS NOT NULL)
        ORDER BY COALESCE(r.spend, 0) DESC, c.name"""), {"company": company_id, "day": day})
    return [dict(row._mapping) for row in rows]


def campaign_for_update(session: Session, company_id: int, campaign_id: int) -> dict | None:
    """A campaign of this company, locked for a status change."""
    row = session.execute(text("""
        SELECT id, name, status FROM campaigns
        WHERE id = :campaign AND company_id = :company FOR UPDATE"""),
        {"campaign": campaign_id, "company": company_id}).first()
    return dict(row._mapping) if row else None


def set_campaign_status(session: Session, company_id: int, campaign_id: int,
                        status: str) -> None:
    session.execute(text("""
        UPDATE campaigns SET status = :status WHERE id = :campaign AND company_id = :company"""),
        {"status": status, "campaign": campaign_id, "company": company_id})

