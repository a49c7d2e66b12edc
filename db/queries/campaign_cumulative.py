"""Running totals per campaign and day (``campaign_cumulative_daily``, migration 0023): built
per company for one history version, read by the campaign explorer's period sums
(``db.queries.campaigns.signed_rows``).

A campaign has a row on every day from its first day with ads or sales to its last (days
without activity repeat the totals so far), so for a range [start, end] its totals are the
row of ``end`` (or of its last day, when that falls inside the range) minus the row of the
day before ``start`` (none: nothing before). ``active_days`` counts the days that had rows
in the daily rollups, so "had activity in the range" is a difference above zero."""

from __future__ import annotations

import datetime as dt
import time
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

# Money in units of 0.0001 (Money's scale): sums and differences exact in bigint, and a
# figure's float is units / 10000, the same double as the numeric sum's cast to float8.
MEASURES = ("active_days", "impressions", "clicks", "ad_conversions", "spend_units",
            "ad_revenue_units", "sales_conversions", "sales_revenue_units")


def daily_rows(days: str) -> str:
    """The rows of both daily rollups (the ads' and the sales') on the days of the
    condition ``days``, as (campaign_id, day, *MEASURES[1:])."""
    return f"""
        SELECT campaign_id, day, impressions, clicks, conversions AS ad_conversions,
               (spend * 10000)::bigint AS spend_units,
               (revenue * 10000)::bigint AS ad_revenue_units, 0::bigint AS sales_conversions,
               0::bigint AS sales_revenue_units
        FROM rollup_campaign_daily
        WHERE company_id = :company AND {days}
        UNION ALL
        SELECT campaign_id, day, 0, 0, 0, 0, 0, conversions, (revenue * 10000)::bigint
        FROM rollup_sales_daily
        WHERE company_id = :company AND campaign_id <> 0 AND {days}"""


_REBUILD_LOCK_KEY = 72_410_023  # with the company id: one rebuild of a company at a time


def lock(session: Session, company_id: int) -> None:
    """Wait for any other rebuild of the company's running totals; held to the end of the
    transaction (two workers would otherwise insert the same rows)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k, :c)"),
                    {"k": _REBUILD_LOCK_KEY, "c": company_id})


class State(NamedTuple):
    history_version: int
    through: dt.date


def state(session: Session, company_id: int) -> State | None:
    """The history version and last day the company's running totals were built for."""
    row = session.execute(text("""
        SELECT history_version, through FROM campaign_cumulative_state
        WHERE company_id = :company"""), {"company": company_id}).first()
    return State(int(row[0]), row[1]) if row else None


_SUMS = ", ".join(f"SUM(p.{name}) OVER w" for name in MEASURES[1:])

# Per campaign and day of activity through :through, the ads' and the sales' sums; then each
# campaign's days from its first to its last, with the running sums.
_REBUILD = f"""
    INSERT INTO campaign_cumulative_daily (company_id, day, campaign_id, last,
                                           {", ".join(MEASURES)})
    WITH per_day AS (
        SELECT campaign_id, day, {", ".join(f"SUM({m}) AS {m}" for m in MEASURES[1:])}
        FROM ({daily_rows("day <= :through")}) AS sources
        GROUP BY campaign_id, day),
    spans AS (
        SELECT campaign_id, MIN(day) AS first_day, MAX(day) AS last_day
        FROM per_day GROUP BY campaign_id),
    days AS (
        SELECT s.campaign_id, g.day::date AS day, g.day::date = s.last_day AS last
        FROM spans s
        CROSS JOIN LATERAL generate_series(s.first_day, s.last_day, interval '1 day') AS g(day))
    SELECT :company, d.day, d.campaign_id, d.last, COUNT(p.day) OVER w, {_SUMS}
    FROM days d
    LEFT JOIN per_day p ON p.campaign_id = d.campaign_id AND p.day = d.day
    WINDOW w AS (PARTITION BY d.campaign_id ORDER BY d.day)
    ORDER BY d.last DESC, d.day, d.campaign_id"""


def rebuild(conn: Connection, company_id: int, history_version: int,
            through: dt.date) -> int:
    """Replace the company's running totals by those of the daily rollups through
    ``through``, as of ``history_version`` (the caller read it before, in this transaction:
    a later change of the history leaves the state behind, so no request trusts it). Returns
    the rows written."""
    started = time.perf_counter()
    conn.execute(text("DELETE FROM campaign_cumulative_daily WHERE company_id = :company"),
                 {"company": company_id})
    rows = conn.execute(text(_REBUILD), {"company": company_id, "through": through}).rowcount
    conn.execute(text("""
        INSERT INTO campaign_cumulative_state (company_id, history_version, through, rows,
                                               seconds, built_at)
        VALUES (:company, :version, :through, :rows, :seconds, now())
        ON CONFLICT (company_id) DO UPDATE
            SET history_version = EXCLUDED.history_version, through = EXCLUDED.through,
                rows = EXCLUDED.rows, seconds = EXCLUDED.seconds,
                built_at = EXCLUDED.built_at"""),
        {"company": company_id, "version": history_version, "through": through, "rows": rows,
         "seconds": time.perf_counter() - started})
    return rows
