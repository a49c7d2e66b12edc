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
        SELECT company_id, campaign_id, channel_id, date_trunc('hour', occurred_at),
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


def apply_event_batch(conn: Connection, first_id: int, last_id: int) -> None:
    """Add ad events with ids in [first_id, last_id] to the rollups (ingest path)."""
    batch = "FROM ad_events WHERE id BETWEEN :first AND :last"
    params = {"first": first_id, "last": last_id}
    conn.execute(text(f"""
        INSERT INTO rollup_campaign_daily AS r (company_id, campaign_id, channel_id, day,
                                                {_AD_MEASURES}, events)
        SELECT company_id, campaign_id, channel_id, (occurred_at AT TIME ZONE 'UTC')::date,
               SUM(impressions), SUM(clicks), SUM(conversions), SUM(cost), SUM(revenue), COUNT(*)
        {batch} GROUP BY 1, 2, 3, 4
        ON CONFLICT (campaign_id, day) DO UPDATE SET
            impressions = r.impressions + EXCLUDED.impressions,
            clicks = r.clicks + EXCLUDED.clicks,
            conversions = r.conversions + EXCLUDED.conversions,
            spend = r.spend + EXCLUDED.spend,
            revenue = r.revenue + EXCLUDED.revenue,
            events = r.events + EXCLUDED.events"""), params)
    conn.execute(text(f"""
        INSERT INTO rollup_campaign_hourly AS r (company_id, campaign_id, channel_id, hour,
                                                 {_AD_MEASURES}, events)
        SELECT company_id, campaign_id, channel_id, date_trunc('hour', occurred_at),
               SUM(impressions), SUM(clicks), SUM(conversions), SUM(cost), SUM(revenue), COUNT(*)
        {batch} GROUP BY 1, 2, 3, 4
        ON CONFLICT (campaign_id, hour) DO UPDATE SET
            impressions = r.impressions + EXCLUDED.impressions,
            clicks = r.clicks + EXCLUDED.clicks,
            conversions = r.conversions + EXCLUDED.conversions,
            spend = r.spend + EXCLUDED.spend,
            revenue = r.revenue + EXCLUDED.revenue,
            events = r.events + EXCLUDED.events"""), params)
    conn.execute(text(f"""
        INSERT INTO ad_stats_daily AS r (company_id, campaign_id, channel_id, day, location_id,
                                         device, {_AD_MEASURES}, reach)
        SELECT company_id, campaign_id, channel_id, (occurred_at AT TIME ZONE 'UTC')::date,
               location_id, device,
               SUM(impressions), SUM(clicks), SUM(conversions), SUM(cost), SUM(revenue), 0
        {batch} GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (campaign_id, day, location_id, device) DO UPDATE SET
            impressions = r.impressions + EXCLUDED.impressions,
            clicks = r.clicks + EXCLUDED.clicks,
            conversions = r.conversions + EXCLUDED.conversions,
            spend = r.spend + EXCLUDED.spend,
            revenue = r.revenue + EXCLUDED.revenue"""), params)


def bump_data_version(conn: Connection, company_ids: list[int]) -> None:
    """Invalidate cached aggregates of these companies (the version is part of every key)."""
    conn.execute(text("""
        INSERT INTO data_versions (company_id, version, updated_at)
        SELECT unnest(CAST(:companies AS int[])), 1, now()
        ON CONFLICT (company_id) DO UPDATE
            SET version = data_versions.version + 1, updated_at = now()"""),
        {"companies": company_ids})
