"""Read-model queries behind the KPI figures. Every function takes the tenant as a required
argument and reads rollups only, never raw events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session


def ad_totals(session: Session, company_id: int, start: dt.date, end: dt.date) -> dict:
    """Ad spend, revenue and counts of a company over [start, end]."""
    row = session.execute(
        text("""
            SELECT COALESCE(SUM(spend), 0)::float8 AS spend,
                   COALESCE(SUM(revenue), 0)::float8 AS revenue,
                   COALESCE(SUM(impressions), 0)::bigint AS impressions,
                   COALESCE(SUM(clicks), 0)::bigint AS clicks,
                   COALESCE(SUM(conversions), 0)::bigint AS conversions
            FROM rollup_campaign_daily
            WHERE company_id = :company AND day BETWEEN :start AND :end"""),
        {"company": company_id, "start": start, "end": end},
    ).one()
    return dict(row._mapping)


def sales_totals(session: Session, company_id: int, start: dt.date, end: dt.date) -> dict:
    """CRM conversions and e-commerce orders, each summed on its own (no join, no fan-out)."""
    rows = session.execute(
        text("""
            SELECT source, COALESCE(SUM(conversions), 0)::bigint AS conversions,
                   COALESCE(SUM(revenue), 0)::float8 AS revenue
            FROM rollup_sales_daily
            WHERE company_id = :company AND day BETWEEN :start AND :end
            GROUP BY source"""),
        {"company": company_id, "start": start, "end": end},
    ).all()
    totals = {"crm": {"conversions": 0, "revenue": 0.0},
              "ecommerce": {"conversions": 0, "revenue": 0.0}}
    for source, conversions, revenue in rows:
        totals[source] = {"conversions": int(conversions), "revenue": float(revenue)}
    return totals


def latest_day(session: Session, company_id: int) -> dt.date | None:
    """The newest day with ad activity for the company."""
    return session.execute(
        text("SELECT MAX(day) FROM rollup_campaign_daily WHERE company_id = :company"),
        {"company": company_id},
    ).scalar()
