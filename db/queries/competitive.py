"""Read-model queries and writes behind the competitive view: a company's competitors, their
monthly estimates (ranges with method and source), the company's own figures beside them
(reported market share, ad spend and clicks from the rollups) and the competitor updates.
Every function takes the tenant as a required argument; a competitor id is only ever looked
up together with its company. The caller's session owns the transaction."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text
from sqlalchemy.orm import Session

# competitor_id of the company's own rows in competitor_estimates.
OWN = 0


def _rows(session: Session, sql: str, params: dict) -> list[dict]:
    return [dict(row) for row in session.execute(text(sql), params).mappings().all()]


# --------------------------------------------------------------------------- competitors


def competitors(session: Session, company_id: int) -> list[dict]:
    """The company's competitors by name, with how many months of estimates and updates
    each has."""
    return _rows(session, """
        SELECT c.id, c.name, c.website, c.industry, c.added_at,
               (SELECT COUNT(DISTINCT e.month) FROM competitor_estimates e
                WHERE e.company_id = c.company_id AND e.competitor_id = c.id) AS months,
               (SELECT COUNT(*) FROM competitor_updates u
                WHERE u.company_id = c.company_id AND u.competitor_id = c.id) AS updates
        FROM competitors c WHERE c.company_id = :company
        ORDER BY lower(c.name), c.id""", {"company": company_id})


def competitor(session: Session, company_id: int, competitor_id: int) -> dict | None:
    rows = _rows(session, """
        SELECT id, name, website, industry FROM competitors
        WHERE company_id = :company AND id = :id""",
                 {"company": company_id, "id": competitor_id})
    return rows[0] if rows else None


def competitor_by_name(session: Session, company_id: int, name: str) -> dict | None:
    rows = _rows(session, """
        SELECT id, name, website, industry FROM competitors
        WHERE company_id = :company AND lower(name) = lower(:name)""",
                 {"company": company_id, "name": name})
    return rows[0] if rows else None


def insert_competitor(session: Session, company_id: int, name: str, website: str | None,
                      industry: str) -> int:
    return int(session.execute(text("""
        INSERT INTO competitors (company_id, name, website, industry)
        VALUES (:company, :name, :website, :industry) RETURNING id"""),
        {"company": company_id, "name": name, "website": website,
         "industry": industry}).scalar())


def delete_competitor(session: Session, company_id: int, competitor_id: int) -> dict:
    """Delete a competitor of the company with its estimates and updates; the counts."""
    params = {"company": company_id, "id": competitor_id}
    estimates = session.execute(text("""
        DELETE FROM competitor_estimates
        WHERE company_id = :company AND competitor_id = :id"""), params).rowcount
    updates = session.execute(text("""
        DELETE FROM competitor_updates
        WHERE company_id = :company AND competitor_id = :id"""), params).rowcount
    session.execute(text("DELETE FROM competitors WHERE company_id = :company AND id = :id"),
                    params)
    return {"estimates": estimates, "updates": updates}


# --------------------------------------------------------------------------- figures


def estimates(session: Session, company_id: int, first: dt.date, last: dt.date) -> list[dict]:
    """Every estimate of the company's brands (competitors and itself, id 0) for the months
    from ``first`` to ``last`` (first days of months)."""
    return _rows(session, """
        SELECT e.competitor_id, e.month, e.metric, e.channel, e.low, e.high, e.method,
               e.source
        FROM competitor_estimates e
        WHERE e.company_id = :company AND e.month BETWEEN :first AND :last
          AND (e.competitor_id = 0 OR EXISTS (
                SELECT 1 FROM competitors c
                WHERE c.company_id = e.company_id AND c.id = e.competitor_id))
        ORDER BY e.competitor_id, e.metric, e.channel, e.month""",
                 {"company": company_id, "first": first, "last": last})


def own_market_share(session: Session, company_id: int, first: dt.date,
                     last: dt.date) -> list[dict]:
    """The company's reported market share per month (business metrics)."""
    return _rows(session, """
        SELECT month, market_share_pct::float8 AS value FROM business_metrics_monthly
        WHERE company_id = :company AND month BETWEEN :first AND :last ORDER BY month""",
                 {"company": company_id, "first": first, "last": last})


def own_ads_monthly(session: Session, company_id: int, first: dt.date,
                    end: dt.date) -> list[dict]:
    """The company's ad spend, clicks and impressions per month from the daily rollup, for
    the days from ``first`` to ``end``, with the days each month has data for."""
    return _rows(session, """
        SELECT date_trunc('month', day)::date AS month, SUM(spend)::float8 AS spend,
               SUM(clicks)::float8 AS clicks, SUM(impressions)::float8 AS impressions,
               MAX(day) AS last_day
        FROM rollup_campaign_daily
        WHERE company_id = :company AND day BETWEEN :first AND :end
        GROUP BY 1 ORDER BY 1""", {"company": company_id, "first": first, "end": end})


def newest_estimate_month(session: Session, company_id: int) -> dt.date | None:
    return session.execute(text("""
        SELECT MAX(month) FROM competitor_estimates WHERE company_id = :company"""),
        {"company": company_id}).scalar()


# --------------------------------------------------------------------------- updates


def updates(session: Session, company_id: int, start: dt.date, end: dt.date, *,
            competitor_id: int | None = None, kind: str | None = None,
            limit: int = 100) -> list[dict]:
    """The company's competitor updates observed from ``start`` to ``end``, newest first,
    optionally of one competitor and one kind."""
    return _rows(session, """
        SELECT u.id, u.competitor_id, c.name AS competitor, u.observed_on, u.kind, u.summary,
               u.url, u.source, u.created_at
        FROM competitor_updates u
        JOIN competitors c ON c.id = u.competitor_id AND c.company_id = u.company_id
        WHERE u.company_id = :company AND u.observed_on BETWEEN :start AND :end
          AND (CAST(:competitor AS int) IS NULL OR u.competitor_id = :competitor)
          AND (CAST(:kind AS text) IS NULL OR u.kind = :kind)
        ORDER BY u.observed_on DESC, u.id DESC LIMIT :limit""",
                 {"company": company_id, "start": start, "end": end,
                  "competitor": competitor_id, "kind": kind, "limit": limit})


def update_count(session: Session, company_id: int, start: dt.date, end: dt.date, *,
                 competitor_id: int | None = None, kind: str | None = None) -> int:
    return int(session.execute(text("""
        SELECT COUNT(*) FROM competitor_updates u
        WHERE u.company_id = :company AND u.observed_on BETWEEN :start AND :end
          AND (CAST(:competitor AS int) IS NULL OR u.competitor_id = :competitor)
          AND (CAST(:kind AS text) IS NULL OR u.kind = :kind)"""),
        {"company": company_id, "start": start, "end": end, "competitor": competitor_id,
         "kind": kind}).scalar())


# --------------------------------------------------------------------------- imports


def upsert_estimates(session: Session, company_id: int, records: list[dict]) -> dict:
    """Store imported figures by their key (brand, month, metric, channel): new ones added,
    restated ones replaced, identical ones left alone. The counts of each."""
    if not records:
        return {"imported": 0, "replaced": 0, "unchanged": 0}
    result = session.execute(text("""
        WITH incoming AS (
            SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
                competitor_id int, month date, metric text, channel text, low float8,
                high float8, method text, source text)),
        old AS (
            SELECT e.* FROM competitor_estimates e JOIN incoming i USING (competitor_id,
                month, metric, channel) WHERE e.company_id = :company),
        written AS (
            INSERT INTO competitor_estimates (company_id, competitor_id, month, metric,
                                              channel, low, high, method, source)
            SELECT :company, competitor_id, month, metric, channel, low, high, method, source
            FROM incoming
            ON CONFLICT (company_id, competitor_id, month, metric, channel) DO UPDATE
            SET low = EXCLUDED.low, high = EXCLUDED.high, method = EXCLUDED.method,
                source = EXCLUDED.source
            WHERE (competitor_estimates.low, competitor_estimates.high,
                   competitor_estimates.method, competitor_estimates.source)
                  IS DISTINCT FROM (EXCLUDED.low, EXCLUDED.high, EXCLUDED.method,
                                    EXCLUDED.source)
            RETURNING competitor_id, month, metric, channel)
        SELECT (SELECT COUNT(*) FROM incoming) AS total,
               (SELECT COUNT(*) FROM written w JOIN old o USING (competitor_id, month, metric,
                                                                 channel)) AS replaced,
               (SELECT COUNT(*) FROM written) AS written"""),
        {"company": company_id, "rows": json.dumps(records, default=str)}).one()
    return {"imported": result.written - result.replaced, "replaced": result.replaced,
            "unchanged": result.total - result.written}


def upsert_updates(session: Session, company_id: int, records: list[dict]) -> dict:
    """Store imported competitor updates by their source key: new entries added (recorded
    now, so they count as new for notifications), restated ones replaced, identical ones
    left alone."""
    if not records:
        return {"imported": 0, "replaced": 0, "unchanged": 0}
    result = session.execute(text("""
        WITH incoming AS (
            SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
                competitor_id int, observed_on date, kind text, summary text, url text,
                source text, source_key text)),
        old AS (
            SELECT u.source_key FROM competitor_updates u JOIN incoming i USING (source_key)
            WHERE u.company_id = :company),
        written AS (
            INSERT INTO competitor_updates (company_id, competitor_id, observed_on, kind,
                                            summary, url, source, source_key)
            SELECT :company, competitor_id, observed_on, kind, summary, url, source,
                   source_key
            FROM incoming
            ON CONFLICT (company_id, source_key) DO UPDATE
            SET competitor_id = EXCLUDED.competitor_id, observed_on = EXCLUDED.observed_on,
                kind = EXCLUDED.kind, summary = EXCLUDED.summary, url = EXCLUDED.url,
                source = EXCLUDED.source
            WHERE (competitor_updates.competitor_id, competitor_updates.observed_on,
                   competitor_updates.kind, competitor_updates.summary, competitor_updates.url,
                   competitor_updates.source)
                  IS DISTINCT FROM (EXCLUDED.competitor_id, EXCLUDED.observed_on,
                                    EXCLUDED.kind, EXCLUDED.summary, EXCLUDED.url,
                                    EXCLUDED.source)
            RETURNING source_key)
        SELECT (SELECT COUNT(*) FROM incoming) AS total,
               (SELECT COUNT(*) FROM written JOIN old USING (source_key)) AS replaced,
               (SELECT COUNT(*) FROM written) AS written"""),
        {"company": company_id, "rows": json.dumps(records, default=str)}).one()
    return {"imported": result.written - result.replaced, "replaced": result.replaced,
            "unchanged": result.total - result.written}


def updates_recorded_since(session: Session, company_id: int, since: dt.datetime) -> int:
    """Competitor updates recorded (imported or added) since ``since``: the alert rule's
    measure of news."""
    return int(session.execute(text("""
        SELECT COUNT(*) FROM competitor_updates
        WHERE company_id = :company AND created_at >= :since"""),
        {"company": company_id, "since": since}).scalar())
