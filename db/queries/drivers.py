"""SQL behind the drivers of a change (issue #20): the ads' base quantities per campaign with
its channel, segment and location, over one window, from the daily campaign rollup."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

_QUANTITIES = """
    SELECT c.id AS campaign_id, c.name AS campaign, ch.name AS channel,
           COALESCE(s.name, 'No segment') AS segment,
           COALESCE(l.name, 'No location') AS location,
           SUM(r.impressions)::float8 AS impressions, SUM(r.clicks)::float8 AS clicks,
           SUM(r.conversions)::float8 AS ad_conversions, SUM(r.spend)::float8 AS spend,
           SUM(r.revenue)::float8 AS ad_revenue
    FROM rollup_campaign_daily r
    JOIN campaigns c ON c.id = r.campaign_id AND c.company_id = :company
    JOIN channels ch ON ch.id = c.channel_id
    LEFT JOIN segments s ON s.id = c.segment_id
    LEFT JOIN locations l ON l.id = c.location_id
    WHERE r.company_id = :company AND {days}
    GROUP BY c.id, c.name, ch.name, s.name, l.name
    ORDER BY c.id"""


def campaign_quantities(session: Session, company_id: int, start: dt.date,
                        end: dt.date) -> list[dict]:
    rows = session.execute(text(_QUANTITIES.format(days="r.day BETWEEN :start AND :end")),
                           {"company": company_id, "start": start, "end": end})
    return [dict(row._mapping) for row in rows]


def campaign_quantities_on(session: Session, company_id: int,
                           days: list[dt.date]) -> list[dict]:
    """As ``campaign_quantities``, summed over the listed days (not necessarily adjacent:
    an anomaly's baseline is the same weekday of earlier weeks)."""
    rows = session.execute(text(_QUANTITIES.format(days="r.day = ANY(:days)")),
                           {"company": company_id, "days": list(days)})
    return [dict(row._mapping) for row in rows]


def sales_on(session: Session, company_id: int, days: list[dt.date]) -> dict:
    """CRM conversions plus completed e-commerce orders over the listed days: the part of
    the company's revenue and conversions that no campaign's ads carry."""
    row = session.execute(text("""
        SELECT SUM(conversions)::float8 AS conversions, SUM(revenue)::float8 AS revenue
        FROM rollup_sales_daily WHERE company_id = :company AND day = ANY(:days)"""),
        {"company": company_id, "days": list(days)}).first()
    return {"conversions": row.conversions or 0.0, "revenue": row.revenue or 0.0}
