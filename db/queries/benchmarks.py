"""Peer aggregates for benchmarks. Each function takes the asking company (the tenant) and
returns only aggregates over the *other* companies of a group (how many there are, and the
average of their per-company ratios), never a single other company's row; the service then
withholds any group with fewer than its minimum number of peers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

# Per-company ratios, averaged with equal weight per company (a big advertiser does not set
# the benchmark alone). NULLIF: a company with a zero denominator does not count.
_RATIOS = """
    COUNT(*) AS peers,
    AVG(clicks::float8 / NULLIF(impressions, 0)) * 100 AS ctr,
    AVG(conversions::float8 / NULLIF(clicks, 0)) * 100 AS conversion_rate,
    AVG(spend / NULLIF(clicks, 0)) AS cpc,
    AVG(spend / NULLIF(conversions, 0)) AS ad_cpa,
    AVG(revenue / NULLIF(spend, 0)) AS ad_roas
"""
_SUMS = """SUM(r.impressions)::bigint AS impressions, SUM(r.clicks)::bigint AS clicks,
           SUM(r.conversions)::bigint AS conversions, SUM(r.spend)::float8 AS spend,
           SUM(r.revenue)::float8 AS revenue"""



def peers_of(column: str, industry_only: bool) -> str:
    """SQL: ``column`` (a company id) is one of the asking company's peers (every other
    company, or the others of its industry). An id list, not ``<> :company``, so each peer's
    rows are read through the (company_id, day) index and the asking company's own rows,
    however many, are never scanned."""
    industry = ("AND industry = (SELECT industry FROM companies WHERE id = :company)"
                if industry_only else "")
    return f"{column} = ANY(ARRAY(SELECT id FROM companies WHERE id <> :company {industry}))"


_GROUPS = {
    # group key expression, extra join (the asking company's own sums, ``own_ad_totals``)
    "all": ("'all'", ""),
    "industry": ("co.industry", ""),
    "channel": ("ch.name", "JOIN channels ch ON ch.id = r.channel_id"),
    "segment": ("sg.name", "JOIN campaigns ca ON ca.id = r.campaign_id "
                           "JOIN segments sg ON sg.id = ca.segment_id"),
}
_PEER_SUMS = """SUM(impressions)::bigint AS impressions, SUM(clicks)::bigint AS clicks,
                SUM(conversions)::bigint AS conversions, SUM(spend)::float8 AS spend,
                SUM(revenue)::float8 AS revenue"""


def peer_ad_ratios(session: Session, company_id: int, start: dt.date,
                   end: dt.date) -> dict[str, list[dict]]:
    """Per kind of group ("all", "industry", "channel", "segment") and group: the number of
    other companies with activity and the average of their ad ratios over [start, end].
    Industry groups are restricted to the asking company's industry. The peers' rollup rows
    are read once, summed per campaign (exact numeric sums, so regrouping them changes no
    digit), and every group is built from those sums: one scan of a year of every peer's
    days instead of four."""
    rows = session.execute(
        text(f"""
            WITH per_campaign AS (
                SELECT r.company_id, r.campaign_id, r.channel_id,
                       SUM(r.impressions) AS impressions, SUM(r.clicks) AS clicks,
                       SUM(r.conversions) AS conversions, SUM(r.spend) AS spend,
                       SUM(r.revenue) AS revenue
                FROM rollup_campaign_daily r
                WHERE r.day BETWEEN :start AND :end AND {peers_of("r.company_id", False)}
                GROUP BY 1, 2, 3),
            per_company AS (
                SELECT 'all' AS kind, 'all' AS grp, company_id, {_PEER_SUMS}
                FROM per_campaign GROUP BY company_id
                UNION ALL
                SELECT 'industry', co.industry, p.company_id, {_PEER_SUMS}
                FROM per_campaign p JOIN companies co ON co.id = p.company_id
                WHERE co.industry = (SELECT industry FROM companies WHERE id = :company)
                GROUP BY 2, 3
                UNION ALL
                SELECT 'channel', ch.name, p.company_id, {_PEER_SUMS}
                FROM per_campaign p JOIN channels ch ON ch.id = p.channel_id
                GROUP BY 2, 3
                UNION ALL
                SELECT 'segment', sg.name, p.company_id, {_PEER_SUMS}
                FROM per_campaign p JOIN campaigns ca ON ca.id = p.campaign_id
                     JOIN segments sg ON sg.id = ca.segment_id
                GROUP BY 2, 3)
            SELECT kind, grp, {_RATIOS} FROM per_company GROUP BY kind, grp
            ORDER BY kind, grp"""),
        {"company": company_id, "start": start, "end": end},
    ).mappings().all()
    out: dict[str, list[dict]] = {kind: [] for kind in _GROUPS}
    for row in rows:
        row = dict(row)
        out[row.pop("kind")].append(row)
    return out


def own_ad_totals(session: Session, company_id: int, start: dt.date, end: dt.date,
                  group: str) -> list[dict]:
    """The asking company's own ad sums per group (same grouping as ``peer_ad_ratios``)."""
    key, join = _GROUPS[group]
    rows = session.execute(
        text(f"""
            SELECT {key} AS grp, {_SUMS}
            FROM rollup_campaign_daily r
            JOIN companies co ON co.id = r.company_id {join}
            WHERE r.day BETWEEN :start AND :end AND r.company_id = :company
            GROUP BY 1 ORDER BY 1"""),
        {"company": company_id, "start": start, "end": end},
    ).mappings().all()
    return [dict(row) for row in rows]


def peer_business(session: Session, company_id: int, month: dt.date, industry_only: bool) -> dict:
    """Average NPS, monthly churn rate (%) and market share (%) of the other companies (of the
    same industry, or all) for one month, with how many there are."""
    row = session.execute(
        text(f"""
            SELECT COUNT(*) AS peers, AVG(b.nps) AS nps,
                   AVG(b.churned_customers::float8 * 100 /
                       NULLIF(b.customers - b.new_customers + b.churned_customers, 0))
                       AS churn_rate,
                   AVG(b.market_share_pct) AS market_share_pct
            FROM business_metrics_monthly b JOIN companies co ON co.id = b.company_id
            WHERE b.month = :month AND {peers_of("b.company_id", industry_only)}"""),
        {"company": company_id, "month": month},
    ).mappings().one()
    return dict(row)


def peer_weekly_revenue(session: Session, company_id: int, start: dt.date, end: dt.date,
                        industry_only: bool) -> list[dict]:
    """Weekly ad revenue summed over the other companies (of the industry, or all), with how
    many companies each week's sum covers."""
    rows = session.execute(
        text(f"""
            SELECT date_trunc('week', r.day)::date AS week,
                   COUNT(DISTINCT r.company_id) AS peers, SUM(r.revenue)::float8 AS revenue
            FROM rollup_campaign_daily r JOIN companies co ON co.id = r.company_id
            WHERE r.day BETWEEN :start AND :end
                  AND {peers_of("r.company_id", industry_only)}
            GROUP BY 1 ORDER BY 1"""),
        {"company": company_id, "start": start, "end": end},
    ).mappings().all()
    return [dict(row) for row in rows]
