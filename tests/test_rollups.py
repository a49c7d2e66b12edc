"""Rollup maintenance: after any sequence of ingests the rollups equal a fresh aggregation of
the raw events (db.rollups.apply_event_batch and apply_event_totals against db.rollups.rebuild
and against pandas)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from db import rollups

ROLLUPS = {
    "rollup_campaign_daily": "company_id, campaign_id, channel_id, day",
    "rollup_campaign_hourly": "company_id, campaign_id, channel_id, hour",
    "ad_stats_daily": "company_id, campaign_id, channel_id, day, location_id, device",
}
# Around a UTC midnight and a half-hour-offset local midnight, so day and hour buckets are
# tested where a session time zone could move them; a few days ago, so the hours are among
# those the hourly rollup keeps (rollups.HOURLY_DAYS).
BASE = (dt.datetime.now(dt.timezone.utc).replace(hour=22, minute=0, second=0, microsecond=0)
        - dt.timedelta(days=3))
TIMEZONES = ["UTC", "Asia/Kolkata", "America/New_York"]


@pytest.fixture(scope="module")
def engine(empty_database_factory):
    url = empty_database_factory("rollups")
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO companies (id, slug, name, industry) VALUES
                (1, 'a', 'A', 'retail'), (2, 'b', 'B', 'travel');
            INSERT INTO channels (id, name, kind) VALUES (1, 'Email', 'email'),
                (2, 'Google Ads', 'paid_search');
            INSERT INTO locations (id, name, region, country, latitude, longitude) VALUES
                (1, 'Paris', 'EU', 'FR', 48.8, 2.3), (2, 'Austin', 'US', 'US', 30.3, -97.7);
            INSERT INTO campaigns (id, company_id, channel_id, name, goal, status, start_date,
                                   budget_allocated, daily_budget, language, tags) VALUES
                (1, 1, 1, 'c1', 'sales', 'active', '2026-01-01', 1000, 10, 'English', '{}'),
                (2, 1, 2, 'c2', 'leads', 'active', '2026-01-01', 1000, 10, 'English', '{}'),
                (3, 2, 2, 'c3', 'sales', 'active', '2026-01-01', 1000, 10, 'English', '{}')"""))
    yield engine
    engine.dispose()


CAMPAIGNS = {1: (1, 1), 2: (1, 2), 3: (2, 2)}  # campaign -> (company, channel)

event = st.fixed_dictionaries({
    "campaign_id": st.sampled_from(sorted(CAMPAIGNS)),
    "minutes": st.integers(min_value=0, max_value=26 * 60),
    "location_id": st.sampled_from([1, 2]),
    "device": st.sampled_from(["desktop", "mobile", "tablet"]),
    "impressions": st.integers(0, 10_000),
    "clicks": st.integers(0, 500),
    "conversions": st.integers(0, 50),
    "cost": st.decimals(0, 1000, places=4),
    "revenue": st.decimals(0, 5000, places=4),
})
batch = st.tuples(st.sampled_from(TIMEZONES), st.lists(event, min_size=1, max_size=12))


def _insert(conn, events: list[dict]) -> tuple[int, int]:
    ids = []
    for e in events:
        company, channel = CAMPAIGNS[e["campaign_id"]]
        ids.append(conn.execute(text("""
            INSERT INTO ad_events (company_id, campaign_id, channel_id, occurred_at, location_id,
                                   device, impressions, clicks, conversions, cost, revenue)
            VALUES (:company, :campaign_id, :channel, :at, :location_id, :device, :impressions,
                    :clicks, :conversions, :cost, :revenue) RETURNING id"""),
            {**e, "company": company, "channel": channel,
             "at": BASE + dt.timedelta(minutes=e["minutes"])}).scalar())
    return min(ids), max(ids)


DEVICES = ("desktop", "mobile", "tablet")


def _stored(first: int, events: list[dict]) -> dict:
    """The events as the ingest path hands them to apply_event_totals."""
    def ints(values):
        return np.array(list(values), dtype=np.int64)

    micros = [int((BASE - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)).total_seconds())
              * 1_000_000 + e["minutes"] * 60_000_000 for e in events]
    return {
        "id": ints(range(first, first + len(events))),
        "company_id": ints(CAMPAIGNS[e["campaign_id"]][0] for e in events),
        "campaign_id": ints(e["campaign_id"] for e in events),
        "channel_id": ints(CAMPAIGNS[e["campaign_id"]][1] for e in events),
        "occurred_at_us": ints(micros),
        "location_id": ints(e["location_id"] for e in events),
        "device_code": ints(DEVICES.index(e["device"]) for e in events),
        **{name: ints(e[name] for e in events)
           for name in ("impressions", "clicks", "conversions")},
        **{f"{name}_units": ints(int(e[name] * 10_000) for e in events)
           for name in ("cost", "revenue")},
    }


def _apply(conn, path: str, first: int, last: int, events: list[dict]) -> None:
    if path == "ids":
        rollups.apply_event_batch(conn, first, last)
    else:
        rollups.apply_event_totals(conn, _stored(first, events), DEVICES)


ONE_EVENT = {"campaign_id": 1, "minutes": 5, "location_id": 1, "device": "mobile",
             "impressions": 10, "clicks": 2, "conversions": 1, "cost": Decimal("1.5"),
             "revenue": Decimal("9")}


def _empty(conn) -> None:
    conn.execute(text("TRUNCATE ad_events, rollup_campaign_daily, rollup_campaign_hourly,"
                      " ad_stats_daily"))


def _table(conn, name: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY {ROLLUPS[name]}"))]


def _pandas_daily(conn) -> list[tuple]:
    events = pd.read_sql(text("SELECT id, company_id, campaign_id, channel_id, occurred_at, "
                              "impressions, clicks, conversions, cost::text AS cost, "
                              "revenue::text AS revenue FROM ad_events"), conn)
    if events.empty:
        return []
    for money in ("cost", "revenue"):  # exact sums, as NUMERIC
        events[money] = events[money].map(Decimal)
    events["day"] = pd.to_datetime(events["occurred_at"], utc=True).dt.date
    grouped = events.groupby(["company_id", "campaign_id", "channel_id", "day"]).agg(
        impressions=("impressions", "sum"), clicks=("clicks", "sum"),
        conversions=("conversions", "sum"), spend=("cost", lambda v: sum(v, Decimal(0))),
        revenue=("revenue", lambda v: sum(v, Decimal(0))),
        events=("id", "count")).reset_index()
    return [(int(r.company_id), int(r.campaign_id), int(r.channel_id), r.day,
             int(r.impressions), int(r.clicks), int(r.conversions), r.spend, r.revenue,
             int(r.events)) for r in grouped.itertuples()]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(batch, min_size=1, max_size=5))
@pytest.mark.parametrize("path", ["ids", "totals"])
def test_incremental_rollups_equal_a_fresh_aggregation(engine, path, batches):
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            _empty(conn)
            for timezone, events in batches:
                # Each ingest may run in a session with another time zone setting.
                conn.execute(text(f"SET LOCAL TIME ZONE '{timezone}'"))
                first, last = _insert(conn, events)
                _apply(conn, path, first, last, events)
                rollups.bump_data_version(conn, sorted({CAMPAIGNS[e["campaign_id"]][0]
                                                        for e in events}))
            conn.execute(text("SET LOCAL TIME ZONE 'UTC'"))
            incremental = {name: _table(conn, name) for name in ROLLUPS}
            assert incremental["rollup_campaign_daily"] == _pandas_daily(conn)
            rollups.rebuild(conn, [1, 2])
            for name in ROLLUPS:
                assert incremental[name] == _table(conn, name), name
            hours = conn.execute(text(
                "SELECT DISTINCT EXTRACT(minute FROM hour AT TIME ZONE 'UTC') "
                "FROM rollup_campaign_hourly")).scalars().all()
            assert set(hours) <= {0}, "hour buckets must be UTC hours"
            versions = dict(conn.execute(
                text("SELECT company_id, version FROM data_versions")).all())
            touched = [{CAMPAIGNS[e["campaign_id"]][0] for e in events} for _, events in batches]
            for company in (1, 2):
                assert versions.get(company, 0) == sum(company in t for t in touched)
        finally:
            trans.rollback()


def test_a_batch_applied_twice_is_counted_twice_and_other_ids_are_untouched(engine):
    """apply_event_batch adds exactly the id range it is given (the caller owns the range)."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            _empty(conn)
            e = ONE_EVENT
            first, last = _insert(conn, [e])
            _insert(conn, [e])  # a later event outside the range
            rollups.apply_event_batch(conn, first, last)
            rollups.apply_event_batch(conn, first, last)
            row = conn.execute(text("SELECT impressions, events FROM rollup_campaign_daily")).one()
            assert tuple(row) == (20, 2)
        finally:
            trans.rollback()


def test_totals_whose_sums_could_overflow_are_summed_by_postgresql(engine):
    """apply_event_totals falls back to the stored events (by id range) when an int64 sum of
    the given values could overflow; here the given values are absurd on purpose, so the
    rollups show the stored ones only if the fallback was taken."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            _empty(conn)
            e = ONE_EVENT
            first, last = _insert(conn, [e, e])
            stored = _stored(first, [e, e])
            stored["impressions"] = np.array([2**62, 2**62], dtype=np.int64)
            rollups.apply_event_totals(conn, stored, DEVICES)
            row = conn.execute(text("SELECT impressions, spend, events "
                                    "FROM rollup_campaign_daily")).one()
            assert tuple(row) == (20, Decimal("3.0000"), 2)
        finally:
            trans.rollback()


def test_a_buffer_of_many_batches_equals_a_rebuild_and_old_hours_are_not_kept(engine):
    """An import's RollupBuffer (batches summed, reach added, written once) gives the rollups
    a rebuild gives; events older than the kept hours reach the daily rollups only, and
    prune_hourly removes hours that aged out."""
    old = {**ONE_EVENT, "minutes": -(rollups.HOURLY_DAYS + 2) * 24 * 60}
    batches = [[ONE_EVENT, {**ONE_EVENT, "campaign_id": 3, "device": "tablet"}],
               [old, {**ONE_EVENT, "minutes": 90, "location_id": 2}], [ONE_EVENT, old]]
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            _empty(conn)
            buffer = rollups.RollupBuffer(max_rows=3)  # flushed in between too
            for events in batches:
                first, _ = _insert(conn, events)
                buffer.add(conn, _stored(first, events), DEVICES)
            buffer.flush(conn)
            incremental = {name: _table(conn, name) for name in ROLLUPS}
            assert incremental["rollup_campaign_daily"] == _pandas_daily(conn)
            hours = conn.execute(text("SELECT MIN(hour) FROM rollup_campaign_hourly")).scalar()
            assert hours == BASE
            rollups.rebuild(conn, [1, 2])
            for name in ROLLUPS:
                assert incremental[name] == _table(conn, name), name
            conn.execute(text(f"""
                INSERT INTO rollup_campaign_hourly SELECT company_id, campaign_id, channel_id,
                    hour - interval '{rollups.HOURLY_DAYS + 1} days', impressions, clicks,
                    conversions, spend, revenue, events FROM rollup_campaign_hourly"""))
            assert rollups.prune_hourly(conn) == len(incremental["rollup_campaign_hourly"])
            assert _table(conn, "rollup_campaign_hourly") == incremental["rollup_campaign_hourly"]
        finally:
            trans.rollback()
