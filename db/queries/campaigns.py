"""Read-model queries behind the campaigns view (issue #14). Every function takes the tenant
as a required argument and reads rollups and dimensions only, never raw events.

A campaign's revenue and conversions are its ads' plus its CRM conversions and completed
e-commerce orders (DESIGN.md); each source is summed on its own rollup before the join, so
nothing fans out."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from db import copy_binary
from db.queries import campaign_cumulative as cumulative
from db.queries.benchmarks import _RATIOS, _SUMS, peers_of

# Per campaign over [start, end]: what had activity in it, and its sums (the ads' and the
# sales' rows each on their own, so nothing fans out; money in units of 0.0001, as the
# running totals hold it, so both give the same doubles).
_MEASURES = cumulative.MEASURES
_PERIOD_SUMS = f"""
    WITH totals AS (
        SELECT campaign_id, {", ".join(f"SUM({m})::bigint AS {m}" for m in _MEASURES[1:])}
        FROM ({cumulative.daily_rows("day BETWEEN :start AND :end")}) AS days
        GROUP BY campaign_id)"""

# The explorer's dimensions of a campaign, in ``DIMENSION_COLUMNS`` order.
_DIMENSIONS = """
           c.id AS campaign_id, c.name AS campaign, ch.name AS channel, c.goal,
           sg.name AS segment, l.name AS location, c.language, c.status,
           c.start_date::text AS start_date, c.end_date::text AS end_date,
           (c.end_date - c.start_date + 1) AS duration_days,
           c.budget_allocated::float8 AS budget"""
_DIMENSION_JOINS = """
    FROM campaigns c
    JOIN channels ch ON ch.id = c.channel_id
    LEFT JOIN segments sg ON sg.id = c.segment_id
    LEFT JOIN locations l ON l.id = c.location_id"""
# A campaign's sums in ``SUM_COLUMNS`` order, from ``totals`` as ``t`` (NULL: none).
_SUMS_OF_T = """
           COALESCE(t.impressions, 0)::bigint AS impressions,
           COALESCE(t.clicks, 0)::bigint AS clicks,
           COALESCE(t.ad_conversions, 0)::bigint AS ad_conversions,
           (COALESCE(t.ad_conversions, 0) + COALESCE(t.sales_conversions, 0))::bigint
               AS conversions,
           COALESCE(t.spend_units, 0)::float8 / 10000 AS spend,
           COALESCE(t.ad_revenue_units, 0)::float8 / 10000 AS ad_revenue,
           (COALESCE(t.ad_revenue_units, 0) + COALESCE(t.sales_revenue_units, 0))::float8
               / 10000 AS revenue"""

_TOTALS = f"""{_PERIOD_SUMS}
    SELECT {_DIMENSIONS}, {_SUMS_OF_T}
    {_DIMENSION_JOINS}
    LEFT JOIN totals t ON t.campaign_id = c.id
    WHERE c.company_id = :company
      AND (t.campaign_id IS NOT NULL
           OR (c.start_date <= :end AND COALESCE(c.end_date, :end) >= :start))
    ORDER BY c.id"""

DIMENSION_COLUMNS = ("campaign_id", "campaign", "channel", "goal", "segment", "location",
                     "language", "status", "start_date", "end_date", "duration_days", "budget")
SUM_COLUMNS = ("impressions", "clicks", "ad_conversions", "conversions", "spend",
               "ad_revenue", "revenue")
TOTAL_COLUMNS = DIMENSION_COLUMNS + SUM_COLUMNS


def campaign_totals(session: Session, company_id: int, start: dt.date,
                    end: dt.date) -> list[tuple]:
    """Every campaign of the company that ran or had activity in [start, end], with its
    dimensions and its totals over the period (rows in ``TOTAL_COLUMNS`` order, by id),
    summed over the daily rollups: the whole history's frame, and what ``sums_of``
    is tested against."""
    return [tuple(row) for row in session.execute(
        text(_TOTALS), {"company": company_id, "start": start, "end": end}).all()]


def campaigns_digest(session: Session, company_id: int) -> str:
    """A digest of the company's campaigns and of the channel, segment and location names
    they show: it changes whenever what ``campaign_dimensions`` reads does. A campaign's
    row is stamped by the transaction that wrote it last (``xmin``): every insert, update
    or delete changes the count, the ids or the stamps (~12 ms at 100,000 campaigns; a
    hash of their values took ~120 ms)."""
    row = session.execute(text("""
        SELECT count(*), COALESCE(sum(c.id), 0), COALESCE(sum(c.xmin::text::bigint), 0),
               (SELECT COALESCE(sum(hashtextextended(x::text, 1)), 0) FROM channels x),
               (SELECT COALESCE(sum(hashtextextended(x::text, 2)), 0) FROM segments x),
               (SELECT COALESCE(sum(hashtextextended(x::text, 3)), 0) FROM locations x)
        FROM campaigns c WHERE c.company_id = :company"""), {"company": company_id}).one()
    return "-".join(str(value) for value in row)


def campaign_dimensions(session: Session, company_id: int) -> list[tuple]:
    """Every campaign of the company with its dimensions (``DIMENSION_COLUMNS``), by id."""
    return [tuple(row) for row in session.execute(text(f"""
        SELECT {_DIMENSIONS} {_DIMENSION_JOINS}
        WHERE c.company_id = :company ORDER BY c.id"""), {"company": company_id}).all()]


def _period_params(company_id: int, start: dt.date, end: dt.date,
                   cumulative_through: dt.date | None) -> dict:
    hist_end = None
    if cumulative_through is not None and start <= cumulative_through:
        hist_end = min(end, cumulative_through)
    recent_start = start if hist_end is None else hist_end + dt.timedelta(days=1)
    return {"company": company_id, "start": start, "end": end, "hist_end": hist_end,
            "recent_start": recent_start}


# ``signed_rows``: the running-total rows a range's sums are the difference of (the end rows
# with sign 1, the rows of the day before the range with sign -1), and the daily rollups'
# rows after the running totals' last day (sign 1, one active day each), of the campaigns
# with ids in [:ids_from, :ids_to) (NULL: no bound). "+ 0" makes the ids a filter on the rows
# the day's index finds: as an index condition the planner read the company's whole index
# (~120 ms instead of ~25).
_IDS = """(:ids_from IS NULL OR campaign_id + 0 >= :ids_from)
          AND (:ids_to IS NULL OR campaign_id + 0 < :ids_to)"""
_SIGNED_ROWS = f"""
    SELECT 1::bigint, campaign_id::bigint, {", ".join(_MEASURES)}
    FROM campaign_cumulative_daily
    WHERE company_id = :company AND {_IDS}
      AND ((day = :hist_end AND NOT last) OR (last AND day BETWEEN :start AND :hist_end))
    UNION ALL
    SELECT -1, campaign_id, {", ".join(_MEASURES)}
    FROM campaign_cumulative_daily
    WHERE company_id = :company AND {_IDS} AND day = CAST(:start AS date) - 1 AND NOT last
      AND :hist_end IS NOT NULL
    UNION ALL
    SELECT 1, campaign_id, 1, {", ".join(f"{m}::bigint" for m in _MEASURES[1:])}
    FROM ({cumulative.daily_rows("day BETWEEN :recent_start AND :end")}) AS days
    WHERE {_IDS}"""
_SIGNED_COLUMNS = ("sign", "campaign_id", *_MEASURES)


def signed_rows(session: Session, company_id: int, start: dt.date, end: dt.date, *,
                cumulative_through: dt.date | None = None,
                ids: tuple[int | None, int | None] = (None, None)) -> dict[str, np.ndarray]:
    """The rows ``sums_of`` adds up to the sums over [start, end] of the campaigns with ids
    in [ids[0], ids[1]) (None: no bound). ``cumulative_through``: the company's running
    totals are current through that day (the caller checked their history version); the
    days up to it are read from them, the later ones from the daily rollups.

    PostgreSQL only reads the rows; they come with COPY's binary format, whose fields here
    are all eight-byte integers (one numpy view of the bytes, ~3 ms for 40,000 rows against
    ~25 ms as Python values), and are summed per campaign in integers by ``sums_of``, which
    cost ~25 ms as joins and sums in the query."""
    params = {**_period_params(company_id, start, end, cumulative_through),
              "ids_from": ids[0], "ids_to": ids[1]}
    data = copy_binary.copy_out(session, _SIGNED_ROWS, params)
    return copy_binary.decode_fixed(data, [(name, ">i8") for name in _SIGNED_COLUMNS])


def sums_of(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The campaigns with activity and their sums, as columns (``campaign_id`` and
    ``SUM_COLUMNS``, by id), from ``signed_rows`` of disjoint id ranges: ``campaign_totals``'
    figures, the same doubles."""
    rows = {name: np.concatenate([part[name] for part in parts]) for name in _SIGNED_COLUMNS}
    order = np.argsort(rows["campaign_id"], kind="stable")
    ids = rows["campaign_id"][order]
    firsts = np.flatnonzero(np.diff(ids, prepend=-1))  # each campaign's first row (ids > 0)
    signed = {name: rows[name][order] * rows["sign"][order] for name in _MEASURES}
    summed = {name: np.add.reduceat(values, firsts) for name, values in signed.items()}
    active = summed["active_days"] > 0
    sums = {name: values[active] for name, values in summed.items()}
    return {"campaign_id": ids[firsts][active],
            "impressions": sums["impressions"], "clicks": sums["clicks"],
            "ad_conversions": sums["ad_conversions"],
            "conversions": sums["ad_conversions"] + sums["sales_conversions"],
            # float64 of the units / 10000: the double PostgreSQL's float8 arithmetic gives
            "spend": sums["spend_units"].astype(np.float64) / 10000,
            "ad_revenue": sums["ad_revenue_units"].astype(np.float64) / 10000,
            "revenue": (sums["ad_revenue_units"] + sums["sales_revenue_units"])
            .astype(np.float64) / 10000}


def first_day(session: Session, company_id: int) -> dt.date | None:
    """The first day with ad activity or sales."""
    return session.execute(text("""
        SELECT LEAST((SELECT MIN(day) FROM rollup_campaign_daily WHERE company_id = :company),
                     (SELECT MIN(day) FROM rollup_sales_daily WHERE company_id = :company))"""),
        {"company": company_id}).scalar()


def campaign_daily(session: Session, company_id: int, campaign_id: int, start: dt.date,
                   end: dt.date) -> list[dict]:
    """One campaign's days over [start, end]: the ads' sums and its sales, each summed on its
    own before the join."""
    rows = session.execute(text("""
        WITH ads AS (
            SELECT day, SUM(impressions) AS impressions, SUM(clicks) AS clicks,
                   SUM(conversions) AS conversions, SUM(spend) AS spend, SUM(revenue) AS revenue
            FROM rollup_campaign_daily
            WHERE company_id = :company AND campaign_id = :campaign
              AND day BETWEEN :start AND :end GROUP BY day),
        sales AS (
            SELECT day, SUM(conversions) AS conversions, SUM(revenue) AS revenue
            FROM rollup_sales_daily
            WHERE company_id = :company AND campaign_id = :campaign
              AND day BETWEEN :start AND :end GROUP BY day)
        SELECT COALESCE(a.day, s.day) AS day,
               COALESCE(a.impressions, 0)::bigint AS impressions,
               COALESCE(a.clicks, 0)::bigint AS clicks,
               COALESCE(a.conversions, 0)::bigint AS ad_conversions,
               (COALESCE(a.conversions, 0) + COALESCE(s.conversions, 0))::bigint AS conversions,
               COALESCE(a.spend, 0)::float8 AS spend,
               COALESCE(a.revenue, 0)::float8 AS ad_revenue,
               (COALESCE(a.revenue, 0) + COALESCE(s.revenue, 0))::float8 AS revenue
        FROM ads a FULL JOIN sales s ON s.day = a.day
        ORDER BY 1"""),
        {"company": company_id, "campaign": campaign_id, "start": start, "end": end})
    return [dict(row) for row in rows.mappings().all()]


# Peer groups (benchmarks): per group, the number of *other* companies with ad activity in
# the period and the equal-weight average of their per-company ad ratios
# (``db.queries.benchmarks``' definitions), never one company's row.
_PEER_GROUPS = {
    "segment": ("sg.name", "JOIN campaigns ca ON ca.id = r.campaign_id "
                           "JOIN segments sg ON sg.id = ca.segment_id"),
    "channel": ("ch.name", "JOIN channels ch ON ch.id = r.channel_id"),
}


def peer_ratios(session: Session, company_id: int, start: dt.date, end: dt.date, group: str,
                *, industry_only: bool) -> list[dict]:
    """Per segment or channel: how many other companies (of the asking company's industry,
    or all) had ad activity in it over [start, end], and the average of their ad ratios."""
    key, join = _PEER_GROUPS[group]
    # The planner cannot see which companies the peer list holds, so it expects every
    # company's rows of the period (a 100,000-campaign company: 200,000 where the peers had
    # 600) and starts two parallel workers: 8-10 ms of starting them for under 1 ms of work,
    # on the same two cores as the page's other queries. Serial for this transaction.
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    rows = session.execute(text(f"""
        WITH per_company AS (
            SELECT {key} AS grp, r.company_id, {_SUMS}
            FROM rollup_campaign_daily r
            JOIN companies co ON co.id = r.company_id {join}
            WHERE r.day BETWEEN :start AND :end AND {peers_of("r.company_id", industry_only)}
            GROUP BY 1, 2)
        SELECT grp, {_RATIOS} FROM per_company GROUP BY grp ORDER BY grp"""),
        {"company": company_id, "start": start, "end": end}).mappings().all()
    return [dict(row) for row in rows]


def campaign_days(session: Session, company_id: int, start: dt.date,
                  end: dt.date) -> list[tuple]:
    """Per campaign and day over [start, end], the ads' sums (campaign_id, day, impressions,
    clicks, ad_conversions, spend): the per-campaign anomaly check's input."""
    return [tuple(row) for row in session.execute(text("""
        SELECT campaign_id, day, SUM(impressions)::bigint, SUM(clicks)::bigint,
               SUM(conversions)::bigint, SUM(spend)::float8
        FROM rollup_campaign_daily
        WHERE company_id = :company AND day BETWEEN :start AND :end
        GROUP BY campaign_id, day"""),
        {"company": company_id, "start": start, "end": end}).all()]


DAY_COLUMNS = ("campaign_id", "day", "impressions", "clicks", "ad_conversions", "spend")


def campaign_email_retailers(session: Session, company_id: int, campaign_id: int,
                             start: dt.date, end: dt.date) -> list[dict]:
    """One campaign's email funnel and sales per retailer over [start, end]: its emails'
    sent, delivered, opened and clicked (mail sent in the period) and its CRM conversions and
    completed orders, each summed on its own rollup before the join. Retailer 0 (none) is
    an order or send that names no retailer."""
    rows = session.execute(text("""
        WITH mail AS (
            SELECT r.retailer_id, SUM(r.sent) AS sent, SUM(r.delivered) AS delivered,
                   SUM(r.opened) AS opened, SUM(r.clicked) AS clicked
            FROM rollup_email_daily r JOIN email_campaigns e ON e.id = r.email_campaign_id
            WHERE r.company_id = :company AND e.company_id = :company
              AND e.campaign_id = :campaign AND r.day BETWEEN :start AND :end
            GROUP BY 1),
        sales AS (
            SELECT retailer_id, SUM(conversions) AS conversions, SUM(revenue) AS revenue
            FROM rollup_retailer_sales_daily
            WHERE company_id = :company AND campaign_id = :campaign
              AND day BETWEEN :start AND :end
            GROUP BY 1)
        SELECT COALESCE(m.retailer_id, s.retailer_id) AS retailer_id,
               ret.name AS retailer, ret.region,
               COALESCE(m.sent, 0)::float8 AS sent, COALESCE(m.delivered, 0)::float8 AS delivered,
               COALESCE(m.opened, 0)::float8 AS opened, COALESCE(m.clicked, 0)::float8 AS clicked,
               COALESCE(s.conversions, 0)::float8 AS conversions,
               COALESCE(s.revenue, 0)::float8 AS revenue
        FROM mail m FULL JOIN sales s ON s.retailer_id = m.retailer_id
        LEFT JOIN retailers ret ON ret.id = COALESCE(m.retailer_id, s.retailer_id)
                               AND ret.company_id = :company
        ORDER BY revenue DESC, retailer"""),
        {"company": company_id, "campaign": campaign_id, "start": start, "end": end})
    return [dict(row) for row in rows.mappings().all()]


_GROUP_KEYS = {"segment": ("COALESCE(sg.name, '(none)')",
                           "JOIN campaigns c ON c.id = r.campaign_id "
                           "LEFT JOIN segments sg ON sg.id = c.segment_id"),
               "channel": ("ch.name", "JOIN channels ch ON ch.id = r.channel_id")}


def group_daily(session: Session, company_id: int, group: str, start: dt.date,
                end: dt.date) -> list[dict]:
    """Per segment or channel and day over [start, end], the ads' sums (the forecasts'
    input): grp, day, impressions, clicks, conversions, spend, revenue."""
    key, join = _GROUP_KEYS[group]
    rows = session.execute(text(f"""
        SELECT {key} AS grp, r.day, SUM(r.impressions)::float8 AS impressions,
               SUM(r.clicks)::float8 AS clicks, SUM(r.conversions)::float8 AS conversions,
               SUM(r.spend)::float8 AS spend, SUM(r.revenue)::float8 AS revenue
        FROM rollup_campaign_daily r {join}
        WHERE r.company_id = :company AND r.day BETWEEN :start AND :end
        GROUP BY 1, 2 ORDER BY 1, 2"""),
        {"company": company_id, "start": start, "end": end})
    return [dict(row) for row in rows.mappings().all()]
