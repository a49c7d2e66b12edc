"""The deterministic demo-data generator (db.seed), against the real PostgreSQL.

The shape, rate and pattern checks run on a private database seeded exactly like the shared
``database_url`` fixture (same seed, events and end date), so other tests that write to the
shared warehouse cannot disturb the exact counts checked here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from conftest import SEED, SEED_END_DATE, SEED_EVENTS
from db.seed import PATTERN_FREE, SCALES, bulk, email_funnel, injected_patterns, seed
from db.seed.dimensions import N_DAYS, TRACKS
from db.seed.generate import WAREHOUSE_TABLES

ANOMALY_TOLERANCE = 0.35  # observed multiplier within 35 % of the documented one
FREE_MAX_LOG_DEVIATION = np.log(1.6)  # pattern-free series never move this far from baseline


def _engine(url: str):
    return create_engine(url, poolclass=NullPool)


def _digests(url: str) -> dict[str, str]:
    engine = _engine(url)
    with engine.connect() as conn:
        out = {t: conn.execute(text(
            f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {t} t")).scalar()
            for t in WAREHOUSE_TABLES + ("companies",)}
    engine.dispose()
    return out


def _frame(url: str, sql: str, **params) -> pd.DataFrame:
    engine = _engine(url)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(text(sql), params).mappings().all())
    engine.dispose()
    return df


def _scalar(url: str, sql: str, **params):
    engine = _engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql), params).scalar()
    engine.dispose()
    return value


@pytest.fixture(scope="module")
def seeded(empty_database_factory):
    url = empty_database_factory("seed_a")
    report = seed(url, events=SEED_EVENTS, seed=SEED, end_date=SEED_END_DATE, progress=False)
    return url, report


# --------------------------------------------------------------------------- determinism


def test_same_inputs_give_identical_tables_and_reseed_replaces(seeded, empty_database_factory):
    url_a, _ = seeded
    url_b = empty_database_factory("seed_b")
    seed(url_b, events=SEED_EVENTS, seed=SEED, end_date=SEED_END_DATE, progress=False)
    a, b = _digests(url_a), _digests(url_b)
    # every table filled, but the hourly rollup: it keeps the last days only
    # (rollups.HOURLY_DAYS), and the seed ends on SEED_END_DATE
    assert all(a[t] is not None for t in a if t != "rollup_campaign_hourly"), \
        [t for t in a if a[t] is None]
    assert a == b

    # Re-seeding an existing database with another seed replaces the demo data, keeps the
    # company ids (users keep their tenant) and leaves users alone.
    engine = _engine(url_b)
    with engine.begin() as conn:
        companies = dict(conn.execute(text("SELECT slug, id FROM companies")).all())
        conn.execute(text(
            "INSERT INTO users (email, name, password_hash, role, company_id, active) "
            "VALUES ('exec@example.com', 'Exec', 'x', 'executive', :c, true)"),
            {"c": companies["northwind-outfitters"]})
    seed(url_b, events=SEED_EVENTS, seed=SEED + 1, end_date=SEED_END_DATE, progress=False)
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT slug, id FROM companies")).all()) == companies
        assert conn.execute(text("SELECT company_id FROM users")).scalar() == companies[
            "northwind-outfitters"]
        assert conn.execute(text("SELECT count(*) FROM ad_events")).scalar() + conn.execute(
            text("SELECT count(*) FROM email_sends")).scalar() == SEED_EVENTS
    engine.dispose()
    assert _digests(url_b)["ad_events"] != a["ad_events"]


def test_injected_patterns_is_pure_and_documented():
    pats = injected_patterns(SEED_END_DATE)
    assert pats == injected_patterns(SEED_END_DATE)
    anomalies = [p for p in pats if p.kind == "anomaly"]
    trends = [p for p in pats if p.kind == "trend_change"]
    assert 6 <= len(anomalies) <= 10 and 3 <= len(trends) <= 4
    assert len({p.company for p in anomalies}) >= 4
    start = SEED_END_DATE - dt.timedelta(days=N_DAYS - 1)
    for p in anomalies:
        assert (p.start_day - start).days >= 60
        assert (SEED_END_DATE - p.end_day).days >= 7
        assert 1 <= (p.end_day - p.start_day).days + 1 <= 3
        assert 0.4 <= p.magnitude <= 0.6 or 1.8 <= p.magnitude <= 3.0
        for q in anomalies:
            if q is not p and q.company == p.company:
                assert q.end_day < p.start_day or q.start_day > p.end_day
    for p in trends:
        assert p.metric in ("revenue", "conversions")
        assert np.sign(p.slope_before) != np.sign(p.slope_after)
        assert p.magnitude == pytest.approx(p.slope_after - p.slope_before)
    assert len(PATTERN_FREE) >= 2
    assert not set(PATTERN_FREE) & {p.company for p in pats}


def test_too_few_events_is_refused():
    with pytest.raises(ValueError, match="events must be at least"):
        seed("postgresql+psycopg2://unused@127.0.0.1:1/none", events=1_000, progress=False)
    assert SCALES == {"small": 200_000, "medium": 2_000_000, "large": 10_000_000}


# --------------------------------------------------------------------------- counts and shape


def test_counts_and_dimensions(seeded):
    url, report = seeded
    ad = _scalar(url, "SELECT count(*) FROM ad_events")
    sends = _scalar(url, "SELECT count(*) FROM email_sends")
    assert ad + sends == SEED_EVENTS == report.events
    assert (ad, sends) == (report.ad_events, report.email_sends)
    assert sends <= 0.4 * SEED_EVENTS

    comp = _frame(url, "SELECT slug, industry FROM companies ORDER BY id")
    assert len(comp) >= 8 and comp.industry.nunique() >= 4
    assert "Luxury goods" in set(comp.industry)
    assert sorted(report.companies) == sorted(comp.slug)

    per = _frame(url, "SELECT company_id, count(*) AS n FROM campaigns GROUP BY 1")
    assert per.n.between(8, 20).all()
    status = _frame(url, "SELECT status, count(*) AS n FROM campaigns GROUP BY 1").set_index(
        "status").n
    assert status["completed"] > status["active"] >= 5
    assert status.get("paused", 0) >= 1 and status.get("draft", 0) >= 1
    assert _scalar(url, "SELECT count(*) FROM campaigns WHERE status = 'active' AND "
                        "(end_date IS NULL OR end_date > :e)", e=SEED_END_DATE) >= 5
    assert _scalar(url, "SELECT count(*) FROM campaigns WHERE start_date < :s",
                   s=SEED_END_DATE - dt.timedelta(days=N_DAYS - 1)) == 0

    channels = _frame(url, "SELECT name, kind FROM channels")
    assert {"Google Ads", "Facebook", "LinkedIn", "Instagram", "YouTube", "Email",
            "Website"} <= set(channels.name)
    locs = _frame(url, "SELECT region FROM locations")
    assert 15 <= len(locs) <= 25 and set(locs.region) == {"East", "Central", "West", "South"}
    segs = set(_frame(url, "SELECT name FROM segments").name)
    assert {"Young Professionals", "Families", "Tech Enthusiasts", "Retirees", "Students",
            "Small Business Owners"} <= segs

    ret = _frame(url, "SELECT r.name, r.region FROM retailers r JOIN companies c "
                      "ON c.id = r.company_id WHERE c.industry = 'Luxury goods'")
    assert len(ret) == 15 and set(ret.region) == {"East", "Central", "West"}
    assert {"Betteridge NY", "Tourneau Times Square", "Ben Bridge Jeweler"} <= set(ret.name)

    # 18 months of daily data, end_date included
    days = _frame(url, "SELECT min(day) AS lo, max(day) AS hi, count(DISTINCT day) AS n "
                       "FROM rollup_campaign_daily").iloc[0]
    assert days.hi == SEED_END_DATE and days.n == N_DAYS
    assert (SEED_END_DATE - days.lo).days >= 18 * 30

    for table in ("leads", "lead_status_changes", "web_traffic_daily", "touchpoints",
                  "business_metrics_monthly", "competitor_estimates", "competitor_updates",
                  "kpi_targets", "content_items", "injected_patterns"):
        assert _scalar(url, f"SELECT count(*) FROM {table}") > 0, table
    assert _scalar(url, "SELECT min(c) FROM (SELECT count(*) AS c FROM competitors "
                        "GROUP BY company_id) x") >= 3
    assert set(_frame(url, "SELECT DISTINCT source FROM web_traffic_daily").source) == {
        "organic", "paid", "email", "social", "referral", "direct"}
    assert _scalar(url, "SELECT max(position) FROM touchpoints") == 6
    assert set(_frame(url, "SELECT DISTINCT period FROM kpi_targets").period) == {"day", "month"}


def test_ad_events_are_valid_increments(seeded):
    url, _ = seeded
    bad = _scalar(url, """
        SELECT count(*) FROM ad_events
        WHERE impressions < 0 OR clicks < 0 OR conversions < 0 OR cost < 0 OR revenue < 0
           OR device NOT IN ('desktop', 'mobile', 'tablet') OR location_id IS NULL
           OR ingested_at < occurred_at OR occurred_at >= CAST(:after AS date)""",
                  after=SEED_END_DATE + dt.timedelta(days=1))
    assert bad == 0
    # the events belong to their campaign's company and channel
    assert _scalar(url, "SELECT count(*) FROM ad_events e JOIN campaigns c ON c.id = "
                        "e.campaign_id WHERE c.company_id <> e.company_id "
                        "OR c.channel_id <> e.channel_id") == 0
    # channel-typical CTR and CPC over the whole history
    ch = _frame(url, """
        SELECT c.name, SUM(e.clicks)::float / SUM(e.impressions) AS ctr,
               SUM(e.cost)::float / SUM(e.clicks) AS cpc
        FROM ad_events e JOIN channels c ON c.id = e.channel_id GROUP BY 1""").set_index("name")
    assert 0.025 < ch.ctr["Google Ads"] < 0.07 and 1.5 < ch.cpc["Google Ads"] < 5
    assert 0.005 < ch.ctr["Facebook"] < 0.013 and ch.cpc["LinkedIn"] > 4
    assert ch.ctr["YouTube"] < ch.ctr["Instagram"] < ch.ctr["Google Ads"]


@pytest.mark.parametrize("events", [20_000, 200_000, 2_000_000, 10_000_000])
def test_email_sends_grow_with_the_requested_events(events):
    """A bench's email funnel is at the scale of its ad events: about 30 % of the events are
    sends at every size, from a small demo to the 10 million events of the bench."""
    plan = email_funnel.plan_email(events, len(TRACKS) * N_DAYS)
    assert 0.25 * events <= plan.sends <= 0.30 * events
    assert plan.per_retailer >= email_funnel.SENDS_PER_RETAILER or plan.campaigns == 1


def test_email_funnel_rates(seeded):
    url, _ = seeded
    per = _frame(url, """
        SELECT c.id, count(e.id) AS n, array_agg(e.sequence ORDER BY e.sequence) AS seqs
        FROM campaigns c JOIN channels ch ON ch.id = c.channel_id
        JOIN companies co ON co.id = c.company_id
        LEFT JOIN email_campaigns e ON e.campaign_id = c.id
        WHERE ch.name = 'Email' AND co.industry = 'Luxury goods' GROUP BY 1""")
    assert len(per) >= 1
    assert all(list(s) == [1, 2, 3] for s in per.seqs)

    r = _frame(url, """
        SELECT count(*) AS sent, count(*) FILTER (WHERE status = 'delivered') AS delivered,
               count(opened_at) AS opened, count(clicked_at) AS clicked,
               count(*) FILTER (WHERE opened_at IS NOT NULL AND status <> 'delivered') AS odd
        FROM email_sends""").iloc[0]
    assert r.odd == 0
    assert abs(r.opened / r.delivered - 0.43) <= 0.015
    assert abs(r.clicked / r.delivered - 0.032) <= 0.015
    assert 0.95 < r.delivered / r.sent < 1.0
    assert _scalar(url, "SELECT count(*) FROM email_sends WHERE clicked_at < opened_at "
                        "OR opened_at < delivered_at OR delivered_at < sent_at") == 0

    conv = _frame(url, """
        SELECT conversion_type AS t, count(*) AS n, min(conversion_value) AS lo,
               max(conversion_value) AS hi FROM crm_conversions GROUP BY 1""").set_index("t")
    total = int(conv.n.sum())
    tol = 0.02 + 1.0 / total
    for kind, share, lo, hi in (("sale", 0.7, 2000, 10000), ("lead", 0.2, 500, 2000),
                                ("signup", 0.1, 100, 400)):
        assert abs(conv.n[kind] / total - share) <= tol, kind
        assert lo <= conv.lo[kind] and conv.hi[kind] <= hi
    assert _scalar(url, """
        SELECT count(*) FROM crm_conversions c JOIN email_sends s ON s.id = c.email_send_id
        WHERE s.clicked_at IS NULL OR c.retailer_id <> s.retailer_id
           OR c.converted_at < s.clicked_at""") == 0

    orders = _frame(url, "SELECT attributed_to_email AS a, campaign_id FROM ecommerce_orders")
    assert len(orders) >= 15
    assert abs(orders.a.mean() - 0.60) <= 0.08
    assert (orders.campaign_id.notna() == orders.a).all()


# --------------------------------------------------------------------------- patterns


def _company_series(url: str, company: str, channel: str | None) -> pd.DataFrame:
    df = _frame(url, """
        SELECT r.day, SUM(r.impressions)::float AS impressions, SUM(r.clicks)::float AS clicks,
               SUM(r.conversions)::float AS conversions, SUM(r.spend)::float AS spend,
               SUM(r.revenue)::float AS revenue
        FROM rollup_campaign_daily r JOIN companies c ON c.id = r.company_id
        JOIN channels ch ON ch.id = r.channel_id
        WHERE c.slug = :slug AND (CAST(:channel AS text) IS NULL OR ch.name = :channel)
        GROUP BY 1 ORDER BY 1""", slug=company, channel=channel)
    df["ctr"] = df.clicks / df.impressions
    df = df.set_index("day")
    assert len(df) == N_DAYS
    return df


def _weekday_baseline(x: pd.Series, day: dt.date) -> float:
    """Median of the same weekday over the 4 weeks before and after."""
    near = [day + dt.timedelta(days=7 * k) for k in (-4, -3, -2, -1, 1, 2, 3, 4)]
    return float(np.median([x[d] for d in near if d in x.index]))


def test_stored_patterns_match_the_documented_list(seeded):
    url, _ = seeded
    stored = _frame(url, """
        SELECT c.slug AS company, p.kind, p.metric, ch.name AS channel, p.start_day,
               p.end_day, p.magnitude FROM injected_patterns p
        JOIN companies c ON c.id = p.company_id LEFT JOIN channels ch ON ch.id = p.channel_id
        ORDER BY p.id""")
    documented = injected_patterns(SEED_END_DATE)
    assert len(stored) == len(documented)
    for row, p in zip(stored.itertuples(), documented, strict=True):
        assert (row.company, row.kind, row.metric, row.start_day, row.end_day) == (
            p.company, p.kind, p.metric, p.start_day, p.end_day)
        assert (row.channel if isinstance(row.channel, str) else None) == p.channel
        assert row.magnitude == pytest.approx(p.magnitude)


def test_injected_anomalies_are_where_the_list_says(seeded):
    url, _ = seeded
    for p in injected_patterns(SEED_END_DATE):
        if p.kind != "anomaly":
            continue
        x = _company_series(url, p.company, p.channel)[p.metric]
        days = pd.date_range(p.start_day, p.end_day).date
        ratio = np.mean([x[d] / _weekday_baseline(x, d) for d in days])
        assert abs(ratio / p.magnitude - 1) <= ANOMALY_TOLERANCE, (p, ratio)


def test_injected_trend_changes_turn_where_the_list_says(seeded):
    url, _ = seeded
    for p in injected_patterns(SEED_END_DATE):
        if p.kind != "trend_change":
            continue
        x = _company_series(url, p.company, None)[p.metric]
        days = list(x.index)
        i = days.index(p.start_day)
        before = x.iloc[i - 56: i].to_numpy().reshape(8, 7).sum(axis=1)
        after = x.iloc[i: i + 56].to_numpy().reshape(8, 7).sum(axis=1)
        s1 = np.polyfit(np.arange(8), before, 1)[0]
        s2 = np.polyfit(np.arange(8), after, 1)[0]
        assert np.sign(s1) == np.sign(p.slope_before) and np.sign(s2) == np.sign(p.slope_after), p
        assert np.sign(s2 / after.mean() - s1 / before.mean()) == np.sign(p.magnitude)


def test_pattern_free_companies_have_no_outlying_days(seeded):
    url, _ = seeded
    for company in PATTERN_FREE:
        df = _company_series(url, company, None)
        for metric in ("spend", "clicks", "impressions", "conversions", "revenue", "ctr"):
            x = df[metric]
            worst = max(abs(np.log(x[d] / _weekday_baseline(x, d))) for d in x.index[:-1])
            assert worst < FREE_MAX_LOG_DEVIATION, (company, metric, worst)


# --------------------------------------------------------------------------- rollups


def test_rollups_equal_pandas_over_raw_events(seeded):
    url, _ = seeded
    raw = _frame(url, """
        SELECT company_id, campaign_id, channel_id, occurred_at, impressions, clicks,
               conversions, cost, revenue FROM ad_events""")
    raw["day"] = pd.to_datetime(raw.occurred_at, utc=True).dt.date
    for col in ("cost", "revenue"):
        raw[col] = raw[col].map(lambda v: int(round(v * 10000)))
    expected = raw.groupby(["campaign_id", "day"]).agg(
        company_id=("company_id", "first"), channel_id=("channel_id", "first"),
        impressions=("impressions", "sum"), clicks=("clicks", "sum"),
        conversions=("conversions", "sum"), spend=("cost", "sum"), revenue=("revenue", "sum"),
        events=("impressions", "size")).sort_index()
    got = _frame(url, """
        SELECT campaign_id, day, company_id, channel_id, impressions, clicks, conversions,
               spend, revenue, events FROM rollup_campaign_daily""")
    for col in ("spend", "revenue"):
        got[col] = got[col].map(lambda v: int(round(v * 10000)))
    got = got.set_index(["campaign_id", "day"]).sort_index()[expected.columns]
    pd.testing.assert_frame_equal(got.astype("int64"), expected.astype("int64"))
    # the hourly rollup keeps the recent hours only (rollups.HOURLY_DAYS)
    from db.rollups import HOURLY_FROM_SQL

    hourly = _scalar(url, "SELECT SUM(events) FROM rollup_campaign_hourly")
    assert (hourly or 0) == _scalar(url, f"SELECT COUNT(*) FROM ad_events "
                                         f"WHERE occurred_at >= {HOURLY_FROM_SQL}")
    assert _scalar(url, f"SELECT COUNT(*) FROM rollup_campaign_hourly "
                        f"WHERE hour < {HOURLY_FROM_SQL}") == 0
    sales = _frame(url, """
        SELECT (SELECT SUM(revenue) FROM rollup_sales_daily WHERE source = 'crm') AS crm,
               (SELECT SUM(conversion_value) FROM crm_conversions) AS crm_raw,
               (SELECT SUM(revenue) FROM rollup_sales_daily WHERE source = 'ecommerce') AS eco,
               (SELECT SUM(order_value) FROM ecommerce_orders
                WHERE order_status = 'completed') AS eco_raw""").iloc[0]
    assert sales.crm == sales.crm_raw and sales.eco == sales.eco_raw


# --------------------------------------------------------------------------- CSV encoder


def test_csv_encoder_round_trips():
    ints = np.array([0, 7, 10, 123456789012])
    money = np.array([0, 5, 123456, -10_000])  # 1/10000 units
    secs = np.array([0, 951782400 + 3723, 1782777599, 4102444800])  # incl. a leap day
    null = np.array([False, True, False, False])
    data = bulk.encode_rows([
        bulk.uint_block(ints), bulk.fixed_block(money, 4), bulk.timestamp_block(secs, null=null),
        bulk.cat_block([0, 1, 2, 0], ["plain", 'a "quoted", text', "{x,y}"]),
        bulk.date_block(secs // 86400),
    ]).decode()
    rows = list(csv.reader(io.StringIO(data)))
    assert [r[0] for r in rows] == ["0", "7", "10", "123456789012"]
    assert [r[1] for r in rows] == ["0.0000", "0.0005", "12.3456", "-1.0000"]
    assert rows[1][2] == ""
    for r, s in zip(rows, secs, strict=True):
        if r[2]:
            when = dt.datetime.fromtimestamp(int(s), dt.timezone.utc)
            assert r[2] == when.strftime("%Y-%m-%d %H:%M:%S+00")
        assert r[4] == dt.datetime.fromtimestamp(int(s), dt.timezone.utc).date().isoformat()
    assert [r[3] for r in rows] == ["plain", 'a "quoted", text', "{x,y}", "plain"]
