"""Rollup maintenance. Dashboards read these tables, never raw events.

``rebuild`` recomputes the rollups of some companies from the facts (after a bulk load);
``apply_event_batch`` adds a batch of freshly ingested events incrementally, in the ingest's
own transaction, with upserts that sum into existing rows.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_AD_MEASURES = "impressions, clicks, conversions, spend, revenue"

_REBUILD_FROM_EVENTS = {
    "ad_stats_daily": """
        INSERT INTO ad_stats_daily (company_id, campaign_id, channel_id, day, location_id, device,
                                    impressions, clicks, conversions, spend, revenue, reach)
        SELECT company_id, campaign_id, channel_id, (occurred_at AT TIME ZONE 'UTC')::date,
               location_id, device, SUM(impressions), SUM(clicks), SUM(conversions),
               SUM(cost), SUM(revenue), 0
        FROM ad_events WHERE company_id = ANY(:companies)
        GROUP BY 1, 2, 3, 4, 5, 6""",
    "rollup_campaign_daily": """
        INSERT INTO rollup_campaign_daily (company_id, campaign_id, channel_id, day,
                                           impressions, clicks, conversions, spend, revenue, events)
        SELECT company_id, campaign_id, channel_id, (occurred_at AT TIME ZONE 'UTC')::date,
               SUM(impressions), SUM(clicks), SUM(conversions), SUM(cost), SUM(revenue), COUNT(*)
        FROM ad_events WHERE company_id = ANY(:companies)
        GROUP BY 1, 2, 3, 4""",
    "rollup_campaign_hourly": """
        INSERT INTO rollup_campaign_hourly (company_id, campaign_id, channel_id, hour,
                                            impressions, clicks, conversions, spend, revenue,
                                            events)
        SELECT company_id, campaign_id, channel_id, date_trunc('hour', occurred_at, 'UTC'),
               SUM(impressions), SUM(clicks), SUM(conversions), SUM(cost), SUM(revenue), COUNT(*)
        FROM ad_events WHERE company_id = ANY(:companies)
        GROUP BY 1, 2, 3, 4""",
    "rollup_sales_daily": """
        INSERT INTO rollup_sales_daily (company_id, campaign_id, day, source, conversions, revenue)
        SELECT company_id, COALESCE(campaign_id, 0), (converted_at AT TIME ZONE 'UTC')::date,
               'crm', COUNT(*), SUM(conversion_value)
        FROM crm_conversions WHERE company_id = ANY(:companies) GROUP BY 1, 2, 3
        UNION ALL
        SELECT company_id, COALESCE(campaign_id, 0), (ordered_at AT TIME ZONE 'UTC')::date,
               'ecommerce', COUNT(*), SUM(order_value)
        FROM ecommerce_orders
        WHERE company_id = ANY(:companies) AND order_status = 'completed' GROUP BY 1, 2, 3""",
}


def rebuild(conn: Connection, company_ids: list[int]) -> None:
    """Recompute every rollup of these companies from their facts."""
    for table, insert_sql in _REBUILD_FROM_EVENTS.items():
        conn.execute(text(f"DELETE FROM {table} WHERE company_id = ANY(:companies)"),
                     {"companies": company_ids})
        conn.execute(text(insert_sql), {"companies": company_ids})


_DAY = "(occurred_at AT TIME ZONE 'UTC')::date"
# UTC hours whatever the session's TimeZone: date_trunc without a zone truncates in the session
# zone, so ingests from sessions in different zones (a half-hour offset) split an hour in two.
_HOUR = "date_trunc('hour', occurred_at, 'UTC')"
_SUMS = "SUM(impressions), SUM(clicks), SUM(conversions), SUM(cost), SUM(revenue)"

# Each rollup the ingest path maintains: its grain (target column -> expression over
# ad_events), the primary key it conflicts on, and whether it counts events (ad_stats_daily
# has no event count; its reach is not derivable from events and stays 0 for them).
_INCREMENTAL_ROLLUPS = (
    ("rollup_campaign_daily", {"day": _DAY}, "campaign_id, day", True),
    ("rollup_campaign_hourly", {"hour": _HOUR},
     "campaign_id, hour", True),
    ("ad_stats_daily", {"day": _DAY, "location_id": "location_id", "device": "device"},
     "campaign_id, day, location_id, device", False),
)


def _upsert_sql(table: str, grain: dict[str, str], conflict: str, counts_events: bool) -> str:
    columns = ["company_id", "campaign_id", "channel_id", *grain, *_AD_MEASURES.split(", ")]
    values = ["company_id", "campaign_id", "channel_id", *grain.values(), _SUMS]
    group_by = ", ".join(str(i) for i in range(1, 4 + len(grain)))
    if table == "ad_stats_daily":
        columns.append("reach")
        values.append("0")
    if counts_events:
        columns.append("events")
        values.append("COUNT(*)")
    summed = [*_AD_MEASURES.split(", "), *(["events"] if counts_events else [])]
    return f"""
        INSERT INTO {table} AS r ({", ".join(columns)})
        SELECT {", ".join(values)}
        FROM ad_events WHERE id BETWEEN :first AND :last
        GROUP BY {group_by}
        ON CONFLICT ({conflict}) DO UPDATE SET
            {", ".join(f"{c} = r.{c} + EXCLUDED.{c}" for c in summed)}"""


_INCREMENTAL_SQL = [text(_upsert_sql(*spec)) for spec in _INCREMENTAL_ROLLUPS]


def apply_event_batch(conn: Connection, first_id: int, last_id: int) -> None:
    """Add ad events with ids in [first_id, last_id] to the rollups (ingest path)."""
    for statement in _INCREMENTAL_SQL:
        conn.execute(statement, {"first": first_id, "last": last_id})


def bump_data_version(conn: Connection, company_ids: list[int], *, history: bool = True) -> None:
    """Invalidate cached aggregates of these companies (the version is part of every key).
    ``history=False`` when only today's data changed (see ``DataVersion``): the history
    models keep their results."""
    conn.execute(text(f"""
        INSERT INTO data_versions (company_id, version, history_version, updated_at)
        SELECT unnest(CAST(:companies AS int[])), 1, 1, now()
        ON CONFLICT (company_id) DO UPDATE
            SET version = data_versions.version + 1,
                {"history_version = data_versions.history_version + 1," if history else ""}
                updated_at = now()"""),
        {"companies": company_ids})
