"""Read-model queries behind the executive view's time series, funnel, channel and campaign
tables. Every function takes the tenant as a required argument and reads rollups or daily and
monthly fact tables (rollup_campaign_daily, ad_stats_daily, rollup_sales_daily,
web_traffic_daily, business_metrics_monthly, lead_status_changes), never raw events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

AD_DEVICES = ("desktop", "mobile", "tablet")


def _ad_source(device: str | None) -> tuple[str, dict]:
    """The daily ad table to read: the device-split one only when a device is asked for."""
    if device is None:
        return "rollup_campaign_daily", {}
    if device not in AD_DEVICES:
        raise ValueError(f"unknown device {device!r}")
    return "ad_stats_daily", {"device": device}


def ad_daily(session: Session, company_id: int, start: dt.date, end: dt.date, *,
             by_channel: bool = False, device: str | None = None) -> list[dict]:
    """Daily ad totals of a company over [start, end], optionally per channel and for one
    device. Rows: day, [channel], impressions, clicks, conversions, spend, revenue."""
    table, params = _ad_source(device)
    device_filter = "AND r.device = :device" if device else ""
    channel_col = ", ch.name AS channel" if by_channel else ""
    channel_join = "JOIN channels ch ON ch.id = r.channel_id" if by_channel else ""
    group = "r.day, ch.name" if by_channel else "r.day"
    rows = session.execute(
        text(f"""
            SELECT r.day{channel_col},
                   SUM(r.impressions)::bigint AS impressions,
                   SUM(r.clicks)::bigint AS clicks,
                   SUM(r.conversions)::bigint AS conversions,
                   SUM(r.spend)::float8 AS spend,
                   SUM(r.revenue)::float8 AS revenue
            FROM {table} r {channel_join}
            WHERE r.company_id = :company AND r.day BETWEEN :start AND :end {device_filter}
            GROUP BY {group} ORDER BY {group}"""),
        {"company": company_id, "start": start, "end": end, **params},
    ).mappings().all()
    return [dict(row) for row in rows]


def sales_daily(session: Session, company_id: int, start: dt.date, end: dt.date) -> list[dict]:
    """CRM conversions plus e-commerce orders per day: each source is its own rollup row, so
    summing them per day joins nothing (no fan-out)."""
    rows = session.execute(
        text("""
            SELECT day, SUM(conversions)::bigint AS conversions,
                   SUM(revenue)::float8 AS revenue
            FROM rollup_sales_daily
            WHERE company_id = :company AND day BETWEEN :start AND :end
            GROUP BY day ORDER BY day"""),
        {"company": company_id, "start": start, "end": end},
    ).mappings().all()
    return [dict(row) for row in rows]


def web_daily(session: Session, company_id: int, start: dt.date, end: dt.date, *,
              device: str | None = None, visitor_type: str | None = None) -> list[dict]:
    """Website sessions and conversions per day, optionally for one device or visitor type."""
    rows = session.execute(
        text("""
            SELECT day, SUM(sessions)::bigint AS sessions, SUM(conversions)::bigint AS conversions,
                   SUM(bounces)::bigint AS bounces
            FROM web_traffic_daily
            WHERE company_id = :company AND day BETWEEN :start AND :end
              AND (CAST(:device AS text) IS NULL OR device = :device)
              AND (CAST(:visitor AS text) IS NULL OR visitor_type = :visitor)
            GROUP BY day ORDER BY day"""),
        {"company": company_id, "start": start, "end": end, "device": device,
         "visitor": visitor_type},
    ).mappings().all()
    return [dict(row) for row in rows]


def business_monthly(session: Session, company_id: int) -> list[dict]:
    """The company's monthly business metrics (MRR, customers, churn, NPS, market share)."""
    rows = session.execute(
        text("""
            SELECT month, mrr::float8 AS mrr, customers, new_customers, churned_customers,
                   nps, brand_awareness_pct, market_share_pct
            FROM business_metrics_monthly WHERE company_id = :company ORDER BY month"""),
        {"company": company_id},
    ).mappings().all()
    return [dict(row) for row in rows]


def monthly_spend(session: Session, company_id: int, start: dt.date, end: dt.date) -> list[dict]:
    """Ad spend per calendar month (for acquisition cost against new customers)."""
    rows = session.execute(
        text("""
            SELECT date_trunc('month', day)::date AS month, SUM(spend)::float8 AS spend
            FROM rollup_campaign_daily
            WHERE company_id = :company AND day BETWEEN :start AND :end
            GROUP BY 1 ORDER BY 1"""),
        {"company": company_id, "start": start, "end": end},
    ).mappings().all()
    return [dict(row) for row in rows]


def lead_flow(session: Session, company_id: int, start: dt.date, end: dt.date) -> dict:
    """Leads created within [start, end], and how many of them reached an opportunity and a
    customer (their furthest stage, ``db.rollups.LEAD_STAGES``), from the lead rollup."""
    row = session.execute(text("""
        SELECT COALESCE(SUM(leads), 0) AS leads,
               COALESCE(SUM(leads) FILTER (WHERE stage >= 1), 0) AS opportunities,
               COALESCE(SUM(leads) FILTER (WHERE stage >= 2), 0) AS customers
        FROM rollup_leads_daily
        WHERE company_id = :company AND day BETWEEN :start AND :end"""),
        {"company": company_id, "start": start, "end": end}).one()
    return {"leads": int(row.leads), "opportunities": int(row.opportunities),
            "customers": int(row.customers)}


def campaign_totals(session: Session, company_id: int, start: dt.date, end: dt.date, *,
                    device: str | None = None, with_sales: bool = True) -> list[dict]:
    """Totals per campaign over [start, end], with its channel and target segment. Revenue
    and conversions are the campaign's ad revenue plus its CRM conversions and completed
    e-commerce orders (DESIGN.md), each source summed on its own rollup before the union, so
    nothing fans out; ``ad_conversions`` and ``ad_revenue`` keep the ads' part. With a device
    only ads count (CRM and e-commerce are not split by device), and without ``with_sales``
    (callers that need ad figures only). Campaigns with sales but no ad activity in the
    period are included."""
    table, params = _ad_source(device)
    device_filter = "AND r.device = :device" if device else ""
    sales = "" if device or not with_sales else """
                  UNION ALL
                  SELECT campaign_id, 0, 0, 0, SUM(conversions), 0, 0, SUM(revenue)
                  FROM rollup_sales_daily
                  WHERE company_id = :company AND day BETWEEN :start AND :end
                        AND campaign_id <> 0
                  GROUP BY campaign_id"""
    rows = session.execute(
        text(f"""
            SELECT c.id AS campaign_id, c.name AS campaign, ch.name AS channel,
                   s.name AS segment, c.status,
                   SUM(t.impressions)::bigint AS impressions, SUM(t.clicks)::bigint AS clicks,
                   (SUM(t.ad_conversions) + SUM(t.sales_conversions))::bigint AS conversions,
                   SUM(t.ad_conversions)::bigint AS ad_conversions,
                   SUM(t.spend)::float8 AS spend,
                   (SUM(t.ad_revenue) + SUM(t.sales_revenue))::float8 AS revenue,
                   SUM(t.ad_revenue)::float8 AS ad_revenue
            FROM (SELECT r.campaign_id, SUM(r.impressions) AS impressions,
                         SUM(r.clicks) AS clicks, SUM(r.conversions) AS ad_conversions,
                         0 AS sales_conversions, SUM(r.spend) AS spend,
                         SUM(r.revenue) AS ad_revenue, 0 AS sales_revenue
                  FROM {table} r
                  WHERE r.company_id = :company AND r.day BETWEEN :start AND :end
                        {device_filter}
                  GROUP BY r.campaign_id{sales}) t
            JOIN campaigns c ON c.id = t.campaign_id AND c.company_id = :company
            JOIN channels ch ON ch.id = c.channel_id
            LEFT JOIN segments s ON s.id = c.segment_id
            GROUP BY c.id, ch.name, s.name
            ORDER BY c.id"""),
        {"company": company_id, "start": start, "end": end, **params},
    ).mappings().all()
    return [dict(row) for row in rows]


def unattributed_sales(session: Session, company_id: int, start: dt.date,
                       end: dt.date) -> dict:
    """CRM conversions and completed e-commerce orders with no campaign, over [start, end]:
    the part of company revenue no channel or campaign owns."""
    row = session.execute(
        text("""
            SELECT COALESCE(SUM(conversions), 0)::bigint AS conversions,
                   COALESCE(SUM(revenue), 0)::float8 AS revenue
            FROM rollup_sales_daily
            WHERE company_id = :company AND day BETWEEN :start AND :end
                  AND campaign_id = 0"""),
        {"company": company_id, "start": start, "end": end},
    ).one()
    return {"conversions": int(row.conversions), "revenue": float(row.revenue)}


def kpi_targets(session: Session, company_id: int) -> list[dict]:
    rows = session.execute(
        text("SELECT metric, period, target, direction FROM kpi_targets "
             "WHERE company_id = :company"),
        {"company": company_id},
    ).mappings().all()
    return [dict(row) for row in rows]


def first_day(session: Session, company_id: int) -> dt.date | None:
    """The oldest day with ad activity for the company."""
    return session.execute(
        text("SELECT MIN(day) FROM rollup_campaign_daily WHERE company_id = :company"),
        {"company": company_id},
    ).scalar()
