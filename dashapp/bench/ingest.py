"""Ingest throughput and freshness through the real ingest path,
``services.ingest.ingest_events`` (validation, COPY, ``db.rollups.apply_event_totals``, data
version bump, commit, cache version forgotten), as the API, file import and simulator use it.

Events are stamped now (today's hourly and daily rollups) and removed again afterwards,
rollups included, so the bench database keeps exactly its N seeded events.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from db import rollups
from services.cache import forget_data_version
from services.context import ServiceContext

DEVICES = np.array(["desktop", "mobile", "tablet"])


def path_name() -> str:
    return "services.ingest.ingest_events (validate, COPY, rollups, version bump, commit)"


def _campaigns(conn, company_id: int | None = None) -> dict[int, list[int]]:
    where = "WHERE company_id = :c" if company_id else ""
    out: dict[int, list[int]] = {}
    for campaign_id, company in conn.execute(text(
            f"SELECT id, company_id FROM campaigns {where} ORDER BY id"), {"c": company_id}):
        out.setdefault(company, []).append(campaign_id)
    return out


def _locations(conn) -> list[int]:
    return [r[0] for r in conn.execute(text("SELECT id FROM locations ORDER BY id"))]


def make_frame(campaign_ids: list[int], locations: list[int], n: int,
               rng: np.random.Generator, now: dt.datetime) -> pd.DataFrame:
    """n events of one company, spread over its campaigns, locations and the last five
    minutes, as an ad platform's export would send them."""
    impressions = rng.integers(50, 500, n)
    clicks = rng.binomial(impressions, 0.03)
    conversions = rng.binomial(clicks, 0.05)
    return pd.DataFrame({
        "campaign_id": np.asarray(campaign_ids)[rng.integers(0, len(campaign_ids), n)],
        "occurred_at": pd.Timestamp(now) - pd.to_timedelta(rng.integers(0, 300, n), unit="s"),
        "location_id": np.asarray(locations)[rng.integers(0, len(locations), n)],
        "device": DEVICES[rng.integers(0, 3, n)],
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "cost": np.round(clicks * rng.uniform(0.2, 2.0, n), 4),
        "revenue": np.round(conversions * rng.uniform(20, 120, n), 4),
    })


def _ingest(ctx: ServiceContext, company_id: int, frame: pd.DataFrame) -> tuple[int, int]:
    from services.ingest import ingest_events

    result = ingest_events(ctx, company_id, frame, source="campaign-dash bench")
    if result["rejected"] or result["first_id"] is None:
        raise RuntimeError(f"the bench's events were rejected: {result['rejections'][:3]}")
    return result["first_id"], result["last_id"]


def measure_ingest(ctx: ServiceContext, total: int, batch: int = 50_000,
                   seed: int = 0) -> dict:
    """Events per second through the ingest path, batches of one company each, in turn."""
    engine = create_engine(ctx.database_url, poolclass=NullPool)
    rng = np.random.default_rng(seed)
    now = dt.datetime.now(dt.timezone.utc)
    ranges = []
    try:
        with engine.connect() as conn:
            campaigns = _campaigns(conn)
            locations = _locations(conn)
        companies = sorted(campaigns)
        plans = []
        for number, start in enumerate(range(0, total, batch)):
            company = companies[number % len(companies)]
            plans.append((company, make_frame(campaigns[company], locations,
                                              min(batch, total - start), rng, now)))
        started = time.perf_counter()
        for company, frame in plans:
            ranges.append(_ingest(ctx, company, frame))
        seconds = time.perf_counter() - started
    finally:
        remove_events(engine, ctx, ranges)
        engine.dispose()
    return {"events": total, "batch": batch, "seconds": seconds,
            "events_per_s": total / seconds if seconds else None, "path": path_name()}


def ingest_marker(ctx: ServiceContext, company_id: int, n: int = 1000) -> tuple[int, int, int]:
    """A small batch for one company through the ingest path: (first id, last id,
    impressions)."""
    engine = create_engine(ctx.database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            campaigns = _campaigns(conn, company_id)[company_id]
            locations = _locations(conn)
    finally:
        engine.dispose()
    frame = make_frame(campaigns, locations, n, np.random.default_rng(1),
                       dt.datetime.now(dt.timezone.utc))
    first, last = _ingest(ctx, company_id, frame)
    return first, last, int(frame["impressions"].sum())


_SUBTRACT = {
    "rollup_campaign_daily": ("(occurred_at AT TIME ZONE 'UTC')::date", "day"),
    "rollup_campaign_hourly": (
        "date_trunc('hour', occurred_at, 'UTC')", "hour"),
}


def remove_events(engine, ctx: ServiceContext, ranges: list[tuple[int, int]]) -> None:
    """Take ingested events out again: subtract them from the rollups, drop rows they alone
    created, delete the events, recompute the companies' newest events (they were the
    newest), bump the versions."""
    if not ranges:
        return
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):  # consecutive batches: one pass over their span
        if merged and first == merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    touched: set[int] = set()
    with engine.begin() as conn:
        # The ids just ingested lie beyond the table's statistics, so the planner expects one
        # row per batch and picks nested loops over ad_stats_daily (minutes at 10M events).
        conn.execute(text("SET LOCAL enable_nestloop = off"))
        for first, last in merged:
            params = {"a": first, "b": last}
            for table, (bucket, column) in _SUBTRACT.items():
                conn.execute(text(f"""
                    UPDATE {table} r SET impressions = r.impressions - b.impressions,
                        clicks = r.clicks - b.clicks, conversions = r.conversions - b.conversions,
                        spend = r.spend - b.spend, revenue = r.revenue - b.revenue,
                        events = r.events - b.events
                    FROM (SELECT campaign_id, {bucket} AS k, SUM(impressions) AS impressions,
                                 SUM(clicks) AS clicks, SUM(conversions) AS conversions,
                                 SUM(cost) AS spend, SUM(revenue) AS revenue, COUNT(*) AS events
                          FROM ad_events WHERE id BETWEEN :a AND :b GROUP BY 1, 2) b
                    WHERE r.campaign_id = b.campaign_id AND r.{column} = b.k"""), params)
                conn.execute(text(f"""
                    DELETE FROM {table} WHERE events = 0 AND campaign_id IN (
                        SELECT DISTINCT campaign_id FROM ad_events WHERE id BETWEEN :a AND :b)"""),
                    params)
            batch = """(SELECT campaign_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
                               location_id, device, SUM(impressions) AS impressions,
                               SUM(clicks) AS clicks, SUM(conversions) AS conversions,
                               SUM(cost) AS spend, SUM(revenue) AS revenue
                        FROM ad_events WHERE id BETWEEN :a AND :b GROUP BY 1, 2, 3, 4) b"""
            keys = """r.campaign_id = b.campaign_id AND r.day = b.day
                      AND r.location_id = b.location_id AND r.device = b.device"""
            conn.execute(text(f"""
                UPDATE ad_stats_daily r SET impressions = r.impressions - b.impressions,
                    clicks = r.clicks - b.clicks, conversions = r.conversions - b.conversions,
                    spend = r.spend - b.spend, revenue = r.revenue - b.revenue
                FROM {batch} WHERE {keys}"""), params)
            conn.execute(text(f"""
                DELETE FROM ad_stats_daily r USING {batch} WHERE {keys}
                  AND r.impressions = 0 AND r.clicks = 0 AND r.conversions = 0
                  AND r.spend = 0 AND r.revenue = 0 AND r.reach = 0"""), params)
            companies = [r[0] for r in conn.execute(text(
                "DELETE FROM ad_events WHERE id BETWEEN :a AND :b RETURNING company_id"), params)]
            touched.update(companies)
        # One scan of ad_events (~1.5 s at 10M): there is no (company_id, occurred_at) index.
        rollups.refresh_newest_events(conn, sorted(touched))
        rollups.bump_data_version(conn, sorted(touched))
    forget_data_version(ctx, sorted(touched))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Where autovacuum is off (this workplace's PostgreSQL) the deleted events would stay
        # as dead rows, a million more each run: later ingests get slower run after run and
        # every scan of ad_events reads them.
        conn.execute(text("VACUUM (ANALYZE) ad_events, rollup_campaign_daily, "
                          "rollup_campaign_hourly, ad_stats_daily"))


class BackgroundIngest:
    """Streams ``rate`` events a second (one batch a second, companies in turn) through the
    ingest path while the viewers run, so their refreshes see changing data; removes the
    events again at the end."""

    def __init__(self, ctx: ServiceContext, rate: int):
        import threading

        self.ctx, self.rate = ctx, rate
        self.ranges: list[tuple[int, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        engine = create_engine(self.ctx.database_url, poolclass=NullPool)
        with engine.connect() as conn:
            campaigns, locations = _campaigns(conn), _locations(conn)
        engine.dispose()
        companies = sorted(campaigns)
        rng = np.random.default_rng(3)
        tick = 0
        while not self.stop.wait(1.0):
            company = companies[tick % len(companies)]
            tick += 1
            frame = make_frame(campaigns[company], locations, self.rate, rng,
                               dt.datetime.now(dt.timezone.utc))
            self.ranges.append(_ingest(self.ctx, company, frame))

    def __enter__(self) -> BackgroundIngest:
        if self.rate:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.rate:
            self.stop.set()
            self.thread.join()
            engine = create_engine(self.ctx.database_url, poolclass=NullPool)
            remove_events(engine, self.ctx, self.ranges)
            engine.dispose()
