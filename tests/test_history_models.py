"""History models (anomalies, trend changes, forecasts): refitted only when the days before
today change, stored per history version so a cache flush does not refit them, and kept
current by the worker."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import text

from db.rollups import bump_data_version
from services import request_metrics
from services.access import system_scope
from services.cache import data_version, forget_data_version
from services.ingest import ingest_events
from services.insights import precompute
from services.insights.anomalies import company_anomalies
from services.insights.forecast import forecast_weekly, metric_forecast, weekly_series
from services.insights.store import STALE_SERVE_S, history_through
from services.periods import utc_today

MODELS = {"anomalies.company_anomalies", "trends.company_trend_changes",
          'forecast.forecast_model{"metric":"revenue"}'}


def _first_company(ctx) -> tuple[int, int]:
    with ctx.session() as session:
        return session.execute(text("""
            SELECT company_id, id FROM campaigns WHERE status = 'active'
            ORDER BY company_id, id LIMIT 1""")).one()


def _slug(ctx, company_id: int) -> str:
    with ctx.session() as session:
        return session.execute(text("SELECT slug FROM companies WHERE id = :c"),
                               {"c": company_id}).scalar()


def _event(campaign_id: int, at: dt.datetime) -> dict:
    return {"campaign_id": campaign_id, "occurred_at": at.isoformat(), "impressions": 100,
            "clicks": 3, "conversions": 0, "cost": 1.5, "revenue": 0}


def test_only_events_before_today_or_a_new_day_change_the_history(live_ctx):
    company_id, campaign_id = _first_company(live_ctx)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    if now.date() != utc_today():  # a second after midnight: "now" is yesterday
        now = dt.datetime.now(dt.timezone.utc)

    def versions():
        return (data_version(live_ctx, company_id),
                data_version(live_ctx, company_id, history=True))

    with live_ctx.session() as session:
        newest = session.execute(text(
            "SELECT newest_event_at FROM data_versions WHERE company_id = :c"),
            {"c": company_id}).scalar()
    first_today = newest is None or newest.astimezone(dt.timezone.utc).date() < utc_today()
    version, history = versions()
    ingest_events(live_ctx, company_id, [_event(campaign_id, now)], source="test")
    after_first = versions()
    assert after_first[0] == version + 1
    # The day's first events move the models' window up to yesterday.
    assert after_first[1] == history + (1 if first_today else 0)

    ingest_events(live_ctx, company_id, [_event(campaign_id, now)], source="test")
    assert versions() == (after_first[0] + 1, after_first[1])  # today only: history kept

    ingest_events(live_ctx, company_id, [_event(campaign_id, now - dt.timedelta(days=2))],
                  source="test")
    assert versions() == (after_first[0] + 2, after_first[1] + 1)  # a backfill


def _flush_history_cache(ctx, company_id):
    redis = ctx.redis()
    for key in redis.scan_iter(match=ctx.key("cache", "history", company_id, "*")):
        redis.delete(key)
    redis.delete(ctx.key("dv", company_id, "history"))


def test_a_stored_result_is_read_after_a_cache_flush_and_refitted_after_a_change(ctx):
    company_id, _ = _first_company(ctx)
    # Earlier tests may have changed the history: start from a current fit.
    _flush_history_cache(ctx, company_id)
    fitted = company_anomalies.refit_if_stale(ctx, company_id)
    version = data_version(ctx, company_id, history=True)
    with ctx.session() as session:
        row = session.execute(text("""
            SELECT history_version, through FROM insight_results
            WHERE company_id = :c AND name = 'anomalies.company_anomalies'"""),
            {"c": company_id}).one()
        assert tuple(row) == (version, history_through())
        # Mark the stored copy: what comes back after the flush must be it, not a refit.
        session.execute(text("""
            UPDATE insight_results SET payload = payload || '{"stored": true}'
            WHERE company_id = :c AND name = 'anomalies.company_anomalies'"""),
            {"c": company_id})
    _flush_history_cache(ctx, company_id)
    stored = company_anomalies(ctx, company_id)
    assert stored.pop("stored") is True
    assert stored == fitted

    # The history changes: the recent stored result is still served while the worker refits.
    with ctx.session() as session:
        bump_data_version(session.connection(), [company_id])
    _flush_history_cache(ctx, company_id)
    assert company_anomalies(ctx, company_id)["stored"] is True
    # Older than the grace period (no worker ran): the request refits.
    with ctx.session() as session:
        session.execute(text("""
            UPDATE insight_results SET computed_at = now() - make_interval(secs => :age)
            WHERE company_id = :c AND name = 'anomalies.company_anomalies'"""),
            {"c": company_id, "age": STALE_SERVE_S + 1})
    _flush_history_cache(ctx, company_id)
    refitted = company_anomalies(ctx, company_id)
    assert "stored" not in refitted and refitted == fitted  # same history, fitted again
    with ctx.session() as session:
        assert session.execute(text("""
            SELECT history_version FROM insight_results
            WHERE company_id = :c AND name = 'anomalies.company_anomalies'"""),
            {"c": company_id}).scalar() == version + 1


def test_the_forecast_is_fitted_once_and_cut_to_each_horizon(ctx):
    company_id, _ = _first_company(ctx)
    with ctx.session() as session:
        values = weekly_series(session, company_id, "revenue").fillna(0.0)
    for months, weeks in ((1, 4), (3, 13), (12, 52)):
        result = metric_forecast(ctx, system_scope(ctx, company_id), "revenue", months)
        direct = forecast_weekly(values, weeks, result["model"])  # the backtest's choice
        assert result["horizon_weeks"] == weeks
        assert [f["week"] for f in result["forecast"]] == \
            [day.date().isoformat() for day in direct.index]
        for column in ("mean", "lower", "upper"):
            np.testing.assert_allclose([f[column] for f in result["forecast"]],
                                       direct[column].to_numpy(), rtol=1e-9)


def test_the_worker_pass_stores_every_companys_models(ctx):
    with ctx.session() as session:
        companies = {row[0] for row in session.execute(text("SELECT id FROM companies"))}
    # Earlier tests bump versions straight in PostgreSQL; ingest would also forget the Redis
    # shortcut of the version (which otherwise lives 10 s).
    forget_data_version(ctx, sorted(companies))
    seconds = precompute.refresh(ctx)
    with ctx.session() as session:
        stored = session.execute(text("""
            SELECT i.company_id, i.name FROM insight_results i
            JOIN data_versions v USING (company_id)
            WHERE i.history_version = v.history_version AND i.through = :through"""),
            {"through": history_through()}).all()
    assert set(seconds) == companies
    for company_id in companies:
        assert {name for cid, name in stored if cid == company_id} >= MODELS
    def fitted_at():
        with ctx.session() as session:
            return session.execute(text(
                "SELECT company_id, name, computed_at FROM insight_results ORDER BY 1, 2")).all()

    before = fitted_at()
    precompute.refresh(ctx)  # all current: lookups only, nothing refitted
    assert fitted_at() == before
    # The admin's health tab shows it.
    assert all(row["models_current"] for row in request_metrics.data_freshness(ctx))

    # A history change: requests may serve the previous result a while, the worker refits.
    company_id, _ = _first_company(ctx)
    with ctx.session() as session:
        bump_data_version(session.connection(), [company_id])
    forget_data_version(ctx, [company_id])
    company_anomalies(ctx, company_id)  # a request: the previous result, now also in Redis
    assert not next(row["models_current"] for row in request_metrics.data_freshness(ctx)
                    if row["company"] == _slug(ctx, company_id))
    precompute.refresh(ctx, [company_id])
    assert all(row["models_current"] for row in request_metrics.data_freshness(ctx))


def test_non_finite_numbers_are_stored_as_null():
    from services.insights.store import json_safe

    assert json_safe({"mape": float("inf"), "xs": [1.0, float("nan")], "n": 3}) == \
        {"mape": None, "xs": [1.0, None], "n": 3}


def test_results_of_an_older_history_nobody_asked_for_in_a_week_are_pruned(ctx):
    from db.queries import insight_results

    company_id, _ = _first_company(ctx)
    version = data_version(ctx, company_id, history=True)
    through = history_through()
    rows = {  # name: (history version, days since computed)
        "test.prune{old-and-unasked}": (version - 1, 8),
        "test.prune{old-but-recent}": (version - 1, 2),
        "test.prune{current-and-quiet}": (version, 30),
    }
    with ctx.session() as session:
        for name, (history, days) in rows.items():
            session.execute(text("""
                INSERT INTO insight_results (company_id, name, history_version, through,
                                             seconds, computed_at, payload)
                VALUES (:c, :name, :v, :through, 0, now() - make_interval(days => :days),
                        '{}')
                ON CONFLICT (company_id, name) DO UPDATE SET
                    history_version = EXCLUDED.history_version,
                    computed_at = EXCLUDED.computed_at"""),
                {"c": company_id, "name": name, "v": history, "through": through,
                 "days": days})
    with ctx.session() as session:
        assert insight_results.prune(session) >= 1
    with ctx.session() as session:
        left = set(session.execute(text(
            "SELECT name FROM insight_results WHERE company_id = :c AND name LIKE 'test.prune%'"),
            {"c": company_id}).scalars())
        session.execute(text("DELETE FROM insight_results WHERE name LIKE 'test.prune%'"))
    # a result of the current history stays however quiet the company is; an older
    # history's result stays for a week after it was last computed
    assert left == {"test.prune{old-but-recent}", "test.prune{current-and-quiet}"}
