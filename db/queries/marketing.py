"""Read-model queries behind the marketing view: web traffic, leads, content and the retailer
email funnel. Every function takes the tenant as a required argument and reads rollups (or
the small dimension and daily tables), never email sends, leads or status changes row by row;
``lead_rows`` (the CSV download) is the one exception and reads by the company's time index.

``CampaignFilter`` narrows ad, lead and email figures to the campaigns of a channel, a target
segment and a project (names, as the filter bar shows them); rows without a campaign (e.g.
leads nobody attributed) count only while no campaign filter is set.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class CampaignFilter:
    channel: str | None = None
    segment: str | None = None
    project: str | None = None

    @property
    def active(self) -> bool:
        return any((self.channel, self.segment, self.project))

    def params(self, company_id: int) -> dict:
        return {"company": company_id, "filtered": self.active, "channel": self.channel,
                "segment": self.segment, "project": self.project}


# The campaigns a filter keeps, as a condition on ``<alias>.campaign_id``.
def _in_campaigns(alias: str) -> str:
    return f"""(NOT CAST(:filtered AS boolean) OR {alias}.campaign_id IN (
        SELECT c.id FROM campaigns c
        LEFT JOIN channels ch ON ch.id = c.channel_id
        LEFT JOIN segments sg ON sg.id = c.segment_id
        WHERE c.company_id = :company
          AND (CAST(:channel AS text) IS NULL OR ch.name = :channel)
          AND (CAST(:segment AS text) IS NULL OR sg.name = :segment)
          AND (CAST(:project AS text) IS NULL OR c.project = :project)))"""


def _rows(session: Session, sql: str, params: dict) -> list[dict]:
    return [dict(row) for row in session.execute(text(sql), params).mappings().all()]


# --------------------------------------------------------------------------- filter options


def filter_options(session: Session, company_id: int) -> dict:
    """What the filter bar offers this company: channels and segments of its campaigns, its
    projects, retailers and their regions."""
    params = {"company": company_id}
    # Probes of the (company, dimension) indexes: a few milliseconds at 100,000 campaigns,
    # where SELECT DISTINCT over the company's campaigns took tens.
    channels = session.execute(text("""
        SELECT ch.name FROM channels ch
        WHERE EXISTS (SELECT 1 FROM campaigns c
                      WHERE c.company_id = :company AND c.channel_id = ch.id)
        ORDER BY 1"""), params).scalars().all()
    segments = session.execute(text("""
        SELECT sg.name FROM segments sg
        WHERE EXISTS (SELECT 1 FROM campaigns c
                      WHERE c.company_id = :company AND c.segment_id = sg.id)
        ORDER BY 1"""), params).scalars().all()
    # A skip scan of the (company, project) index: one probe per distinct project.
    projects = session.execute(text("""
        WITH RECURSIVE found(project) AS (
            (SELECT project FROM campaigns
             WHERE company_id = :company AND project IS NOT NULL ORDER BY project LIMIT 1)
            UNION ALL
            SELECT (SELECT c.project FROM campaigns c
                    WHERE c.company_id = :company AND c.project > found.project
                    ORDER BY c.project LIMIT 1)
            FROM found WHERE found.project IS NOT NULL)
        SELECT project FROM found WHERE project IS NOT NULL ORDER BY 1"""),
        params).scalars().all()
    retailers = _rows(session, """
        SELECT id, name, region FROM retailers WHERE company_id = :company ORDER BY name""",
                      params)
    return {"channels": list(channels), "segments": list(segments), "projects": list(projects),
            "retailers": retailers,
            "regions": sorted({r["region"] for r in retailers if r["region"]})}


def newest_marketing_day(session: Session, company_id: int) -> dt.date | None:
    """The newest day with ad, web, lead or email data: what the named ranges end on."""
    return session.execute(text("""
        SELECT GREATEST(
            (SELECT MAX(day) FROM rollup_campaign_daily WHERE company_id = :company),
            (SELECT MAX(day) FROM web_traffic_daily WHERE company_id = :company),
            (SELECT MAX(day) FROM rollup_leads_daily WHERE company_id = :company),
            (SELECT MAX(day) FROM rollup_email_daily WHERE company_id = :company))"""),
        {"company": company_id}).scalar()


# --------------------------------------------------------------------------- traffic

# A measure some rows lack (an export without bounces, e.g. GA daily sessions) is unknown for
# the whole group: NULL, shown as a dash, never a partial sum.
def _known_sum(column: str) -> str:
    return f"CASE WHEN COUNT({column}) = COUNT(*) THEN SUM({column}) END::float8"


def traffic_daily(session: Session, company_id: int, start: dt.date, end: dt.date) -> list[dict]:
    """Sessions per day, new and returning, with bounces, time on site, pageviews and site
    conversions (NULL when any row of the day lacks them)."""
    return _rows(session, f"""
        SELECT day, SUM(sessions)::float8 AS sessions,
               (SUM(sessions) FILTER (WHERE visitor_type = 'new'))::float8 AS new_sessions,
               (SUM(sessions) FILTER (WHERE visitor_type = 'returning'))::float8
                   AS returning_sessions,
               {_known_sum('bounces')} AS bounces,
               {_known_sum('duration_seconds')} AS duration_seconds,
               {_known_sum('pageviews')} AS pageviews,
               {_known_sum('conversions')} AS site_conversions
        FROM web_traffic_daily
        WHERE company_id = :company AND day BETWEEN :start AND :end
        GROUP BY day ORDER BY day""",
                 {"company": company_id, "start": start, "end": end})


def traffic_split(session: Session, company_id: int, start: dt.date, end: dt.date) -> list[dict]:
    """Sessions in [start, end] by source, by device and by visitor type."""
    return _rows(session, """
        SELECT CASE WHEN GROUPING(source) = 0 THEN 'source'
                    WHEN GROUPING(device) = 0 THEN 'device' ELSE 'visitor_type' END
                   AS dimension,
               COALESCE(source, device, visitor_type) AS value,
               SUM(sessions)::float8 AS sessions
        FROM web_traffic_daily
        WHERE company_id = :company AND day BETWEEN :start AND :end
        GROUP BY GROUPING SETS ((source), (device), (visitor_type))
        ORDER BY 1, 3 DESC""",
                 {"company": company_id, "start": start, "end": end})


# --------------------------------------------------------------------------- leads


def ads_daily(session: Session, company_id: int, start: dt.date, end: dt.date,
              campaigns: CampaignFilter) -> list[dict]:
    """Spend, impressions and clicks per day of the filtered campaigns."""
    return _rows(session, f"""
        SELECT day, SUM(spend)::float8 AS spend, SUM(impressions)::float8 AS impressions,
               SUM(clicks)::float8 AS clicks
        FROM rollup_campaign_daily r
        WHERE company_id = :company AND day BETWEEN :start AND :end
          AND {_in_campaigns('r')}
        GROUP BY day ORDER BY day""",
                 {**campaigns.params(company_id), "start": start, "end": end})


def leads_daily(session: Session, company_id: int, start: dt.date, end: dt.date,
                campaigns: CampaignFilter) -> list[dict]:
    """Leads created per day, current status and furthest funnel stage reached."""
    return _rows(session, f"""
        SELECT day, status, stage, SUM(leads)::float8 AS leads
        FROM rollup_leads_daily r
        WHERE company_id = :company AND day BETWEEN :start AND :end
          AND {_in_campaigns('r')}
        GROUP BY day, status, stage ORDER BY day""",
                 {**campaigns.params(company_id), "start": start, "end": end})


def lead_changes_daily(session: Session, company_id: int, start: dt.date, end: dt.date,
                       campaigns: CampaignFilter) -> list[dict]:
    """Status changes per day and new status."""
    return _rows(session, f"""
        SELECT day, to_status, SUM(changes)::float8 AS changes
        FROM rollup_lead_changes_daily r
        WHERE company_id = :company AND day BETWEEN :start AND :end
          AND {_in_campaigns('r')}
        GROUP BY day, to_status ORDER BY day""",
                 {**campaigns.params(company_id), "start": start, "end": end})


# What a split by campaign attribute groups on (a fixed expression per name, never input).
SPLITS = {"project": "c.project", "channel": "ch.name"}


def by_campaign_attribute(session: Session, company_id: int, start: dt.date, end: dt.date,
                          campaigns: CampaignFilter, split: str) -> list[dict]:
    """Spend, impressions, clicks and leads per project or channel (``value`` NULL: campaigns
    without one; leads without a campaign on a row of their own, ``no_campaign``)."""
    column = SPLITS[split]
    return _rows(session, f"""
        SELECT value, no_campaign, SUM(spend)::float8 AS spend,
               SUM(impressions)::float8 AS impressions, SUM(clicks)::float8 AS clicks,
               SUM(leads)::float8 AS leads
        FROM (
            SELECT {column} AS value, false AS no_campaign, r.spend, r.impressions, r.clicks,
                   0 AS leads
            FROM rollup_campaign_daily r JOIN campaigns c ON c.id = r.campaign_id
            LEFT JOIN channels ch ON ch.id = c.channel_id
            WHERE r.company_id = :company AND r.day BETWEEN :start AND :end
              AND {_in_campaigns('r')}
            UNION ALL
            SELECT {column}, r.campaign_id = 0, 0, 0, 0, r.leads
            FROM rollup_leads_daily r LEFT JOIN campaigns c ON c.id = r.campaign_id
            LEFT JOIN channels ch ON ch.id = c.channel_id
            WHERE r.company_id = :company AND r.day BETWEEN :start AND :end
              AND {_in_campaigns('r')}) parts
        GROUP BY value, no_campaign""",
                 {**campaigns.params(company_id), "start": start, "end": end})


LEAD_ROWS_LIMIT = 200_000


def lead_rows(session: Session, company_id: int, start: dt.date, end: dt.date,
              campaigns: CampaignFilter, limit: int = LEAD_ROWS_LIMIT) -> list[dict]:
    """The leads created in [start, end] of the filtered campaigns, oldest first (the CSV
    download: exactly the leads the view counts)."""
    return _rows(session, f"""
        SELECT l.id AS lead_id, l.created_at, l.status, l.value::float8 AS value,
               c.name AS campaign, ch.name AS channel, sg.name AS segment, c.project
        FROM leads l
        LEFT JOIN campaigns c ON c.id = l.campaign_id
        LEFT JOIN channels ch ON ch.id = c.channel_id
        LEFT JOIN segments sg ON sg.id = c.segment_id
        WHERE l.company_id = :company
          AND l.created_at >= CAST(:start AS date) AND l.created_at < CAST(:end AS date) + 1
          AND {_in_campaigns('l')}
        ORDER BY l.created_at, l.id
        LIMIT :limit""",
                 {**campaigns.params(company_id), "start": start, "end": end, "limit": limit})


# --------------------------------------------------------------------------- content


def content_items(session: Session, company_id: int, start: dt.date, end: dt.date,
                  channel: str | None) -> list[dict]:
    """Content published in [start, end] (on a channel, when one is chosen)."""
    return _rows(session, """
        SELECT ci.id, ci.title, ci.kind, ci.published_on, ci.views::float8 AS views,
               ci.engagements::float8 AS engagements, ch.name AS channel
        FROM content_items ci LEFT JOIN channels ch ON ch.id = ci.channel_id
        WHERE ci.company_id = :company AND ci.published_on BETWEEN :start AND :end
          AND (CAST(:channel AS text) IS NULL OR ch.name = :channel)
        ORDER BY ci.published_on""",
                 {"company": company_id, "start": start, "end": end, "channel": channel})


# --------------------------------------------------------------------------- email funnel


@dataclass(frozen=True)
class RetailerFilter:
    retailer_id: int | None = None
    region: str | None = None

    def condition(self, alias: str) -> str:
        return f"""(CAST(:retailer AS int) IS NULL OR {alias}.retailer_id = :retailer)
          AND (CAST(:region AS text) IS NULL OR {alias}.retailer_id IN (
              SELECT id FROM retailers WHERE company_id = :company AND region = :region))"""

    def params(self) -> dict:
        return {"retailer": self.retailer_id, "region": self.region}


def email_sends(session: Session, company_id: int, start: dt.date, end: dt.date,
                campaigns: CampaignFilter, retailers: RetailerFilter) -> list[dict]:
    """Sent, delivered, opened and clicked per email and retailer, for mail sent in
    [start, end]."""
    return _rows(session, f"""
        SELECT r.email_campaign_id, r.retailer_id, SUM(r.sent)::float8 AS sent,
               SUM(r.delivered)::float8 AS delivered, SUM(r.opened)::float8 AS opened,
               SUM(r.clicked)::float8 AS clicked
        FROM rollup_email_daily r JOIN email_campaigns e ON e.id = r.email_campaign_id
        WHERE r.company_id = :company AND r.day BETWEEN :start AND :end
          AND {_in_campaigns('e')} AND {retailers.condition('r')}
        GROUP BY 1, 2""",
                 {**campaigns.params(company_id), **retailers.params(), "start": start,
                  "end": end})


def retailer_sales(session: Session, company_id: int, start: dt.date, end: dt.date,
                   campaigns: CampaignFilter, retailers: RetailerFilter) -> list[dict]:
    """CRM conversions and completed orders in [start, end] per campaign, retailer, email
    (0: an order, which names no email) and source."""
    return _rows(session, f"""
        SELECT r.campaign_id, r.retailer_id, r.email_campaign_id, r.source,
               SUM(r.conversions)::float8 AS conversions, SUM(r.revenue)::float8 AS revenue
        FROM rollup_retailer_sales_daily r
        WHERE r.company_id = :company AND r.day BETWEEN :start AND :end
          AND {_in_campaigns('r')} AND {retailers.condition('r')}
        GROUP BY 1, 2, 3, 4""",
                 {**campaigns.params(company_id), **retailers.params(), "start": start,
                  "end": end})


def email_catalog(session: Session, company_id: int) -> list[dict]:
    """The company's emails with their campaign: subject, order in the campaign, send time,
    the campaign's name, allocated budget and recorded ad spend."""
    return _rows(session, """
        SELECT e.id AS email_campaign_id, e.campaign_id, e.sequence, e.subject, e.sent_at,
               c.name AS campaign, c.budget_allocated::float8 AS budget,
               (SELECT COALESCE(SUM(spend), 0)::float8 FROM rollup_campaign_daily r
                WHERE r.company_id = :company AND r.campaign_id = e.campaign_id) AS spend
        FROM email_campaigns e JOIN campaigns c ON c.id = e.campaign_id
        WHERE e.company_id = :company ORDER BY e.sent_at, e.id""", {"company": company_id})


def engagement_by_hour(session: Session, company_id: int, start: dt.date, end: dt.date,
                       campaigns: CampaignFilter, retailers: RetailerFilter) -> list[dict]:
    """Opens and clicks by whole hours after sending, for emails sent in [start, end]."""
    return _rows(session, f"""
        SELECT r.hours_since_send AS hours, SUM(r.opens)::float8 AS opens,
               SUM(r.clicks)::float8 AS clicks
        FROM rollup_email_engagement r JOIN email_campaigns e ON e.id = r.email_campaign_id
        WHERE r.company_id = :company
          AND e.sent_at >= CAST(:start AS date) AND e.sent_at < CAST(:end AS date) + 1
          AND {_in_campaigns('e')} AND {retailers.condition('r')}
        GROUP BY 1 ORDER BY 1""",
                 {**campaigns.params(company_id), **retailers.params(), "start": start,
                  "end": end})
