"""``seed()``: replace the demo data of a migrated warehouse, in one transaction.

Order: upsert companies by slug (ids stay stable, users keep their tenant), truncate every
warehouse dimension, fact and rollup table, COPY the dimensions, the ad events (with the
non-primary-key indexes and foreign keys of ``ad_events`` dropped and recreated around the
load, their definitions read from the catalog), the email funnel and the other facts; then
rebuild the rollups, bump the data versions, commit and ANALYZE.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from tqdm import tqdm

from db import rollups
from db.seed import ads, bulk, crm_web, email_funnel, market
from db.seed.campaigns import campaign_table, finalize_rows, plan_campaigns
from db.seed.dimensions import (
    CHANNEL_INDEX,
    CHANNELS,
    COMPANIES,
    COMPANY_INDEX,
    JEWELLERY,
    LOCATION_INDEX,
    LOCATIONS,
    N_DAYS,
    RETAILERS,
    SEGMENTS,
    TRACKS,
    Calendar,
)
from db.seed.patterns import injected_patterns

log = logging.getLogger(__name__)

SCALES = {"small": 200_000, "medium": 2_000_000, "large": 10_000_000}  # total events
# Leads grow with the history beyond the small scale, so a bench of 10 million events holds
# over a million leads (and three times as many status changes), not the small demo's 24,000.
LEADS_SCALE_FROM = SCALES["small"]

# Truncated (RESTART IDENTITY) on every seed. CASCADE also empties app tables that point at
# campaigns (alerts). Not here: companies, users, audit_log, user_preferences and the rest of
# the app's own tables.
WAREHOUSE_TABLES = (
    "channels", "segments", "locations", "campaigns", "retailers", "competitors",
    "content_items", "ad_events", "ad_stats_daily", "rollup_campaign_daily",
    "rollup_campaign_hourly", "email_campaigns", "email_sends", "crm_conversions",
    "ecommerce_orders", "rollup_sales_daily", "leads", "lead_status_changes",
    "web_traffic_daily", "touchpoints", "business_metrics_monthly", "competitor_estimates",
    "competitor_updates", "kpi_targets", "injected_patterns",
)
# The imported rows' keys and details point at campaigns and events the seed replaces: emptied
# with them (a CASCADE did it while they had foreign keys, before migration 0018).
IMPORTED_ROW_TABLES = ("import_keys", "ad_event_details")
_SERIAL_TABLES = ("channels", "segments", "locations", "campaigns", "retailers", "competitors",
                  "content_items", "ad_events", "email_campaigns", "email_sends",
                  "crm_conversions", "ecommerce_orders", "leads", "lead_status_changes",
                  "touchpoints", "competitor_updates", "kpi_targets", "injected_patterns")


class _Phases:
    """Logs how long each phase of a seed took, at INFO level."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        log.info("seed: %s took %.2f s", name, now - self.last)
        self.last = now


@dataclass
class SeedReport:
    events: int  # ad_events rows + email_sends rows
    ad_events: int
    email_sends: int
    seconds: float
    companies: list[str]  # slugs


def _cutoff(end_date: dt.date, now: dt.datetime) -> int:
    if end_date != now.date():
        return 86400
    return max(1, now.hour * 3600 + now.minute * 60 + now.second)


def seed(database_url: str, *, events: int, seed: int = 42, end_date: dt.date | None = None,
         progress: bool = True) -> SeedReport:
    """Replace the demo data with a deterministic history of ``events`` events."""
    started = time.perf_counter()
    now = dt.datetime.now(dt.timezone.utc)
    end_date = end_date or now.date()
    cal = Calendar(end_date, _cutoff(end_date, now))
    patterns = injected_patterns(end_date)
    plan = plan_campaigns(cal, seed)
    design = ads.design(cal, seed, patterns)
    finalize_rows(cal, plan, ads.expected_campaign_spend(plan, design))
    ep = email_funnel.plan_email(events, len(TRACKS) * N_DAYS)
    email_idx = email_funnel.add_email_campaigns(cal, seed, plan, ep)
    ad_rows = events - ep.sends
    phase = _Phases()

    engine = create_engine(database_url, poolclass=NullPool)
    # The bar covers the whole seed: the events, then the rollups, indexes and statistics
    # built after them (weighted as a fifth of the work), so it reaches 100 % once, at the end.
    finish = {"rollups": events // 10, "indexes": events // 20}
    finish["analyze"] = events // 5 - sum(finish.values())
    bar = tqdm(total=events + sum(finish.values()), desc=f"seed {events:,} events",
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}",
               disable=not progress)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            company_ids = _upsert_companies(conn, cal)
            conn.execute(text(f"TRUNCATE {', '.join(WAREHOUSE_TABLES + IMPORTED_ROW_TABLES)} "
                              "RESTART IDENTITY CASCADE"))
            # Bulk-load without secondary indexes and foreign keys; both come back (and the
            # keys are validated in one pass each) at the end of the transaction.
            indexes, fkeys = _drop_indexes_and_keys(conn, WAREHOUSE_TABLES)
            cur = conn.connection.dbapi_connection.cursor()
            ids = _load_dimensions(cur, cal, seed, plan, company_ids)
            channel_ids, segment_ids, location_ids, retailer_ids = ids
            phase("truncate and dimensions")

            # ad events: the bulk of the data
            rows = ads.AdRows(cal, seed, design, plan, ad_rows, company_ids, channel_ids,
                              location_ids)
            bulk.copy_chunks(cur, "ad_events", ads.AD_COLUMNS, bulk.background(rows),
                             freeze=True, on_chunk=bar.update)
            phase("ad_events")

            tables = email_funnel.build(cal, seed, plan, email_idx, ep, company_ids,
                                        retailer_ids)
            bulk.copy_bytes(cur, "email_campaigns", *tables.email_campaigns)
            bulk.copy_chunks(cur, "email_sends", *tables.email_sends, freeze=True)
            for name in ("crm_conversions", "ecommerce_orders"):
                bulk.copy_bytes(cur, name, *getattr(tables, name))
            bar.update(tables.sends)
            phase("email funnel")

            lead_csv, change_csv, _ = crm_web.leads(cal, seed, plan, company_ids, channel_ids,
                                                    segment_ids,
                                                    max(1.0, events / LEADS_SCALE_FROM))
            bulk.copy_chunks(cur, "leads", crm_web.LEAD_COLUMNS, lead_csv, freeze=True)
            bulk.copy_chunks(cur, "lead_status_changes", crm_web.CHANGE_COLUMNS, change_csv,
                             freeze=True)
            web_csv, _ = crm_web.web_traffic(cal, seed, company_ids)
            bulk.copy_bytes(cur, "web_traffic_daily", crm_web.WEB_COLUMNS, web_csv)
            touch_csv, _ = crm_web.touchpoints(cal, seed, plan, email_idx, company_ids,
                                               channel_ids)
            bulk.copy_bytes(cur, "touchpoints", crm_web.TOUCH_COLUMNS, touch_csv)
            bulk.copy_bytes(cur, "business_metrics_monthly", market.BUSINESS_COLUMNS,
                            market.business_metrics(cal, seed, company_ids))
            comps, estimates, updates = market.competitors(cal, seed, company_ids)
            bulk.copy_bytes(cur, "competitors", market.COMPETITOR_COLUMNS, comps)
            bulk.copy_bytes(cur, "competitor_estimates", market.ESTIMATE_COLUMNS, estimates)
            bulk.copy_bytes(cur, "competitor_updates", market.COMPETITOR_UPDATE_COLUMNS, updates)
            bulk.copy_bytes(cur, "kpi_targets", market.KPI_COLUMNS,
                            market.kpi_targets(design, company_ids))
            bulk.copy_bytes(cur, "content_items", market.CONTENT_COLUMNS,
                            market.content_items(cal, seed, company_ids, channel_ids))
            bulk.copy_bytes(cur, "injected_patterns",
                            ["id", "company_id", "kind", "metric", "channel_id", "start_day",
                             "end_day", "magnitude", "description"],
                            bulk.rows_csv(
                                [i + 1, company_ids[COMPANY_INDEX[p.company]], p.kind, p.metric,
                                 channel_ids[CHANNEL_INDEX[p.channel]] if p.channel else None,
                                 p.start_day, p.end_day, repr(float(p.magnitude)),
                                 p.description]
                                for i, p in enumerate(patterns)))
            phase("other facts")
            for table in _SERIAL_TABLES:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE(MAX(id), 0) + 1, false) FROM {table}"))
            bar.set_postfix_str("rollups")
            rollups.rebuild(conn, company_ids)  # also each company's newest event
            bar.update(finish["rollups"])
            phase("rollups")
            bar.set_postfix_str("indexes")
            _restore_indexes_and_keys(conn, indexes, fkeys)
            bar.update(finish["indexes"])
            phase("indexes and foreign keys")
            rollups.bump_data_version(conn, company_ids)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            bar.set_postfix_str("statistics")
            conn.execute(text("ANALYZE " + ", ".join(WAREHOUSE_TABLES + ("companies",))))
        bar.update(finish["analyze"])
        bar.set_postfix_str("done")
        phase("commit and analyze")
    finally:
        bar.close()
        engine.dispose()
    return SeedReport(events=ad_rows + ep.sends, ad_events=ad_rows, email_sends=ep.sends,
                      seconds=time.perf_counter() - started,
                      companies=[c.slug for c in COMPANIES])


def _upsert_companies(conn, cal: Calendar) -> list[int]:
    created = dt.datetime.combine(cal.start_date - dt.timedelta(days=365), dt.time(9),
                                  tzinfo=dt.timezone.utc)
    ids = []
    for c in COMPANIES:
        ids.append(conn.execute(text("""
            INSERT INTO companies (slug, name, industry, created_at)
            VALUES (:slug, :name, :industry, :created)
            ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, industry = EXCLUDED.industry
            RETURNING id"""), {"slug": c.slug, "name": c.name, "industry": c.industry,
                               "created": created}).scalar_one())
    return ids


def _load_dimensions(cur, cal, seed, plan, company_ids):
    channel_ids = list(range(1, len(CHANNELS) + 1))
    bulk.copy_bytes(cur, "channels", ["id", "name", "kind"],
                    bulk.rows_csv([i + 1, c.name, c.kind] for i, c in enumerate(CHANNELS)))
    segment_ids = list(range(1, len(SEGMENTS) + 1))
    bulk.copy_bytes(cur, "segments", ["id", "name", "description"],
                    bulk.rows_csv([i + 1, s[0], s[1]] for i, s in enumerate(SEGMENTS)))
    location_ids = list(range(1, len(LOCATIONS) + 1))
    bulk.copy_bytes(cur, "locations", ["id", "name", "region", "country", "latitude",
                                       "longitude"],
                    bulk.rows_csv([i + 1, loc[0], loc[1], "US", loc[2], loc[3]]
                                  for i, loc in enumerate(LOCATIONS)))
    retailer_ids = list(range(1, len(RETAILERS) + 1))
    jid = company_ids[COMPANY_INDEX[JEWELLERY]]
    bulk.copy_bytes(cur, "retailers", ["id", "company_id", "name", "region", "location_id"],
                    bulk.rows_csv([i + 1, jid, r[0], r[1], location_ids[LOCATION_INDEX[r[2]]]]
                                  for i, r in enumerate(RETAILERS)))
    cols, rows = campaign_table(plan, company_ids, channel_ids, segment_ids, location_ids)
    bulk.copy_bytes(cur, "campaigns", cols, bulk.rows_csv(rows))
    return channel_ids, segment_ids, location_ids, retailer_ids


def _drop_indexes_and_keys(conn, tables) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Drop the secondary indexes (not those behind a primary key or unique constraint) and
    the foreign keys of ``tables``; return their definitions, read from the catalog so they
    stay in sync with the migrations."""
    params = {"tables": list(tables)}
    indexes = conn.execute(text("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                          WHERE k.conindid = to_regclass(quote_ident(i.indexname)))
        ORDER BY i.tablename, i.indexname"""), params).all()
    fkeys = conn.execute(text("""
        SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.contype = 'f' AND c.relname = ANY(:tables) AND k.conparentid = 0
          AND c.relnamespace = current_schema()::regnamespace
        ORDER BY c.relname, k.conname"""), params).all()
    for table, name, _ in fkeys:
        conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    return [d for _, d in indexes], [tuple(k) for k in fkeys]


def _restore_indexes_and_keys(conn, indexes: list[str], fkeys: list[tuple[str, str, str]]) -> None:
    for definition in indexes:
        # a partitioned table's index prints as ON ONLY (its partitions' indexes apart)
        conn.execute(text(definition.replace(" ON ONLY ", " ON ", 1)))
    for table, name, definition in fkeys:
        conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))
