"""The app measuring itself: percentiles against numpy over the same durations, windows,
error and cache-hit rates, the request timer and the slow-query recorder."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
from sqlalchemy import text

from services import request_metrics as rm
from services.context import ServiceContext

TOLERANCE = 0.05  # a bucket's middle is within 4.5 % of anything in it


@pytest.fixture
def private_ctx(config):
    """Its own key namespace, so other tests' requests do not mix in."""
    return ServiceContext(config.database_url, config.redis_url,
                          f"{config.cache_namespace}-rm-{uuid.uuid4().hex[:6]}")


def test_percentiles_match_numpy_over_the_same_durations(private_ctx):
    rng = np.random.default_rng(5)
    now = 1_800_000_000.0
    durations = {"view:executive": rng.lognormal(3.0, 0.8, 1200),
                 "api:/api/v1/kpis": rng.gamma(2.0, 4.0, 600) + 0.2}
    for route, values in durations.items():
        for i, value in enumerate(values):
            status = 500 if route.startswith("api") and i % 50 == 0 else 200
            rm.record_request(private_ctx, route, status, float(value), now=now - i)
    summary = rm.latency_summary(private_ctx, "hour", now=now)
    by_route = {row["route"]: row for row in summary["routes"]}
    for route, values in durations.items():
        row = by_route[route]
        assert row["requests"] == len(values)
        for q in (50, 95, 99):
            exact = float(np.percentile(values, q, method="inverted_cdf"))
            assert row[f"p{q}"] == pytest.approx(exact, rel=TOLERANCE), (route, q)
    api = by_route["api:/api/v1/kpis"]
    assert api["errors"] == 12 and api["error_rate"] == pytest.approx(12 / 600)
    everything = np.concatenate(list(durations.values()))
    assert summary["total"]["requests"] == 1800
    assert summary["total"]["p95"] == pytest.approx(
        float(np.percentile(everything, 95, method="inverted_cdf")), rel=TOLERANCE)


def test_windows_keep_what_belongs_to_them(private_ctx):
    now = 1_800_000_000.0
    rm.record_request(private_ctx, "view:admin", 200, 10.0, now=now - 30)  # in the hour
    rm.record_request(private_ctx, "view:admin", 200, 10.0, now=now - 2 * 3600)  # day only
    rm.record_request(private_ctx, "view:admin", 200, 10.0, now=now - 30 * 3600)  # neither
    assert rm.latency_summary(private_ctx, "hour", now=now)["total"]["requests"] == 1
    assert rm.latency_summary(private_ctx, "day", now=now)["total"]["requests"] == 2
    with pytest.raises(ValueError):
        rm.latency_summary(private_ctx, "week", now=now)


def test_cache_hit_rate(private_ctx):
    assert rm.latency_summary(private_ctx)["cache"]["hit_rate"] is None
    for hit in (True, True, True, False):
        rm.record_cache(private_ctx, hit)
    cache = rm.latency_summary(private_ctx)["cache"]
    assert (cache["hits"], cache["misses"], cache["hit_rate"]) == (3, 1, 0.75)


def test_redis_down_records_nothing_and_says_so(config):
    down = ServiceContext(config.database_url, "redis://127.0.0.1:1/0", "cd-test-down")
    rm.record_request(down, "view:admin", 200, 5.0)
    summary = rm.latency_summary(down)
    assert summary["available"] is False and summary["routes"] == []
    assert rm.server_status(down)["redis"]["status"] == "down"
    assert rm.server_status(down)["database"]["status"] == "up"


def test_the_request_timer_counts_views_callbacks_and_api_routes(client_for, dash_app, ctx):
    from conftest import callback_payload

    client = client_for("admin")
    before = {row["route"]: row["requests"]
              for row in rm.latency_summary(ctx, "hour")["routes"]}
    client.get("/admin")
    client.get("/api/v1/kpis")
    client.post("/_dash-update-component", json=callback_payload(
        dash_app, "admin-users-grid.rowData"))
    client.get("/assets/10-app.css")  # static files are not counted
    after = {row["route"]: row["requests"] for row in rm.latency_summary(ctx, "hour")["routes"]}
    assert after["view:admin"] - before.get("view:admin", 0) == 2
    assert after["api:/api/v1/kpis"] - before.get("api:/api/v1/kpis", 0) == 1
    assert not any(route.startswith("page:/assets") for route in after)


def test_slow_queries_are_recorded_without_parameters(server, client_for, ctx):
    server.config["CAMPAIGN_DASH_SLOW_QUERY_MS"] = 50
    try:
        with server.test_request_context("/api/v1/kpis"):
            with ctx.session() as session:
                session.execute(text("SELECT pg_sleep(0.08), :secret"), {"secret": "hunter2"})
    finally:
        server.config["CAMPAIGN_DASH_SLOW_QUERY_MS"] = 100.0
    newest = rm.slow_queries(ctx, limit=1)[0]
    assert "pg_sleep" in newest["statement"] and newest["ms"] >= 75
    assert newest["route"] == "api:/api/v1/kpis"
    assert "hunter2" not in str(newest)
    assert time.time() - newest["at"] < 60


def test_data_freshness_per_company(ctx, companies):
    rows = rm.data_freshness(ctx)
    assert {row["company"] for row in rows} == set(companies)
    with ctx.session() as session:
        newest = dict(session.execute(text(
            "SELECT c.slug, max(e.occurred_at) FROM companies c JOIN ad_events e "
            "ON e.company_id = c.id GROUP BY c.slug")).all())
    for row in rows:
        if row["company"] in newest:
            assert row["newest_event"] == newest[row["company"]].isoformat()
            assert row["lag_seconds"] > 0


def test_a_slow_statement_is_named_in_words_with_its_sql_one_click_away():
    from layouts.admin import slow_table, statement_summary

    assert statement_summary("SELECT SUM(spend) FROM rollup_campaign_daily r "
                             "JOIN campaigns c ON c.id = r.campaign_id") == \
        "Read rollup_campaign_daily, campaigns"
    assert statement_summary("WITH grain AS (SELECT * FROM unnest(:a)) INSERT INTO "
                             "rollup_campaign_hourly AS r SELECT * FROM grain") == \
        "Write rollup_campaign_hourly"
    assert statement_summary("UPDATE data_versions SET version = version + 1") == \
        "Update data_versions"
    table = str(slow_table([{"ms": 812.0, "route": "/executive",
                             "statement": "SELECT 1 FROM ad_events"}], 500))
    assert "Read ad_events" in table and "SELECT 1 FROM ad_events" in table
