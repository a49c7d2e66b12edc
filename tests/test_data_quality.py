"""Data quality per company and source (issue #12, step 6): freshness, completeness, validity
and duplicates equal pandas over the raw rows; /api/v1/data-quality for admins only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from dashapp.cli import main
from services import data_quality

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GA = DATA / "ga_daily_sessions_forecastga" / "ga_sessions.csv"
ONLINE = DATA / "online_advertising_performance" / "online_advertising_performance_data.csv"


@pytest.fixture(scope="module")
def own_config(private_warehouse):
    return private_warehouse("data_quality", 17)


@pytest.fixture(scope="module")
def own_ctx(own_config):
    from dashapp.runtime import service_context

    return service_context(own_config)


def frame(ctx, sql: str, **params) -> pd.DataFrame:
    with ctx.session() as session:
        result = session.execute(text(sql), params)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


@pytest.fixture(scope="module")
def company(own_config, own_ctx, tmp_path_factory):
    """A company with GA sessions, the online advertising file (5 repeated lines rejected)
    and live events three hours old, one line of them twice and one rejected."""
    folder = tmp_path_factory.mktemp("quality")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", own_config.database_url)
        patch.setenv("REDIS_URL", own_config.redis_url)
        assert main(["company", "add", "Quality Check Ltd"]) == 0
        assert main(["campaign", "add", "Live one", "--company", "quality-check-ltd",
                     "--channel", "Google Ads", "--goal", "sales", "--start", "2024-01-01",
                     "--budget", "100"]) == 0
        company_id, campaign = frame(own_ctx, """
            SELECT c.id, k.id AS campaign FROM companies c JOIN campaigns k
            ON k.company_id = c.id WHERE c.slug = 'quality-check-ltd'""").iloc[0].tolist()
        when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
        events = pd.DataFrame({
            "campaign_id": campaign,
            "occurred_at": [(when - dt.timedelta(minutes=i)).isoformat() for i in range(40)],
            "impressions": range(100, 140), "clicks": 3, "conversions": 1, "cost": 2.5,
            "revenue": 4.0, "location": "Boston",
            "device": ["mobile", "desktop", "unknown", "tablet"] * 10})
        events = pd.concat([events, events.iloc[[7]]], ignore_index=True)  # a line twice
        events["clicks"] = events["clicks"].astype(object)
        events.loc[len(events)] = [campaign, when.isoformat(), 1, "many", 0, 1, 1, "Boston",
                                   "mobile"]
        path = folder / "events.csv"
        events.to_csv(path, index=False)
        for args in ([str(GA), "--company", "quality-check-ltd"],
                     [str(ONLINE), "--company", "quality-check-ltd", "--year", "2020",
                      "--location", "Boston"],
                     [str(path), "--company", "quality-check-ltd"]):
            main(["import", *args, "--json"])
    return int(company_id)


def expected(ctx, company_id: int) -> dict[str, dict]:
    """The report's numbers, computed by pandas over the raw rows of the company."""
    now = pd.Timestamp(frame(ctx, "SELECT now() AS now")["now"][0])
    out = {}
    events = frame(ctx, """
        SELECT COALESCE(k.source, 'live') AS source, f.campaign_id, f.occurred_at,
               f.location_id, f.device, f.impressions, f.clicks, f.conversions, f.cost,
               f.revenue, d.ad_set, d.banner, d.placement, d.user_engagement
        FROM ad_events f LEFT JOIN campaigns k ON k.id = f.campaign_id
        LEFT JOIN ad_event_details d ON d.event_id = f.id WHERE f.company_id = :c""",
                   c=company_id)
    for source, rows in events.groupby("source"):
        newest = rows["occurred_at"].max()
        out[source] = {"rows": len(rows), "age_hours": (now - newest).total_seconds() / 3600,
                       "completeness": (3 + (rows["device"] != "unknown").mean()) / 4,
                       "duplicates": int(rows.drop(columns="source")
                                         .duplicated(keep="first").sum())}
    web = frame(ctx, "SELECT * FROM web_traffic_daily WHERE company_id = :c", c=company_id)
    measures = ["sessions", "bounces", "duration_seconds", "pageviews", "conversions"]
    out["ga-daily-sessions"] = {
        "rows": len(web), "completeness": web[measures].notna().to_numpy().mean(),
        "duplicates": int(web.duplicated().sum()),
        "age_hours": (now - (pd.Timestamp(web["day"].max(), tz="UTC")
                             + pd.Timedelta(days=1))).total_seconds() / 3600}
    runs = frame(ctx, "SELECT COALESCE(format, kind) AS format, rows_accepted, rows_rejected, "
                      "summary FROM import_runs WHERE company_id = :c", c=company_id)
    runs["rows"] = [s["rows"] if s and "rows" in s else a + r for s, a, r in
                    zip(runs["summary"], runs["rows_accepted"], runs["rows_rejected"],
                        strict=True)]
    runs["source"] = runs["format"].replace({"events": "live"})
    for source, rows in runs.groupby("source"):
        out[source]["validity"] = rows["rows_rejected"].sum() / rows["rows"].sum()
    return out


@pytest.fixture(scope="module")
def computed(own_ctx, company):
    """The worker's step run once over every company (requests never compute the rows)."""
    data_quality.refresh_stale(own_ctx, min_age_s=0)
    return company


def test_a_company_is_pending_until_the_worker_computes_its_rows(own_config, own_ctx):
    """A request never scans the facts (seconds at 10 million events): a company the worker
    has not reached yet is reported pending, with what its imports say, until
    ``refresh_stale`` computes it."""
    from db.queries import data_quality as queries

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", own_config.database_url)
        patch.setenv("REDIS_URL", own_config.redis_url)
        assert main(["company", "add", "Pending Quality Co"]) == 0
    new = int(frame(own_ctx, "SELECT id FROM companies WHERE slug = 'pending-quality-co'")
              ["id"][0])
    [entry] = data_quality.data_quality(own_ctx, company_id=new)["companies"]
    assert entry["pending"] and entry["sources"] == []
    with own_ctx.session() as session:
        assert queries.never_refreshed(session, [new]) == [new]  # the request computed nothing
    assert new in data_quality.refresh_stale(own_ctx, min_age_s=0)
    [entry] = data_quality.data_quality(own_ctx, company_id=new)["companies"]
    assert not entry["pending"]
    with own_ctx.session() as session:
        assert queries.never_refreshed(session, [new]) == []


def test_the_report_equals_pandas_over_the_raw_rows(own_ctx, computed):
    company = computed
    report = data_quality.data_quality(own_ctx, company_id=company)
    [entry] = report["companies"]
    got = {s["source"]: s for s in entry["sources"]}
    want = expected(own_ctx, company)
    assert set(got) == set(want) == {"live", "online-advertising-performance",
                                     "ga-daily-sessions"}
    for source, numbers in want.items():
        for key, value in numbers.items():
            assert got[source][key] == pytest.approx(value, abs=0.01), (source, key)
    # what the files are known to hold
    assert got["ga-daily-sessions"]["completeness"] == pytest.approx(0.2)
    assert got["ga-daily-sessions"]["fields"]["bounces"] == 0.0
    assert got["online-advertising-performance"]["validity"] == pytest.approx(5 / 15_408)
    assert got["online-advertising-performance"]["rows_read"] == 15_408
    assert got["live"]["duplicates"] == 1 and got["live"]["rows"] == 41
    assert got["live"]["validity"] == pytest.approx(1 / 42)
    assert got["live"]["fields"]["device"] == pytest.approx(31 / 41)
    # a streaming source three hours behind is late; imports are not streams
    assert got["live"]["streaming"] and got["live"]["late"]
    assert not got["online-advertising-performance"]["late"]
    assert any(s["company_id"] == company and s["source"] == "live"
               for s in data_quality.late_streams(own_ctx))


def test_every_company_for_an_admin_without_one(own_ctx, computed):
    report = data_quality.data_quality(own_ctx)
    slugs = [c["slug"] for c in report["companies"]]
    assert "quality-check-ltd" in slugs and len(slugs) > 1
    seeded = next(c for c in report["companies"] if c["slug"] != "quality-check-ltd")
    assert {s["source"] for s in seeded["sources"]} >= {"live", "web", "crm", "journeys"}
    json.dumps(report)  # serialisable as the API sends it


def test_api_for_admins_only(client_for, ctx):
    data_quality.refresh_stale(ctx, min_age_s=0)  # the worker's step
    admin = client_for("admin").get("/api/v1/data-quality")
    assert admin.status_code == 200 and admin.json["late_after_hours"] == 2
    assert admin.json["companies"] and "sources" in admin.json["companies"][0]
    assert client_for("analyst").get("/api/v1/data-quality").status_code == 403
    assert client_for(None).get("/api/v1/data-quality").status_code == 401


def test_admin_health_tab_shows_the_table(client_for, dash_app, ctx):
    from conftest import callback_payload

    data_quality.refresh_stale(ctx, min_age_s=0)  # the worker's step

    payload = callback_payload(dash_app, "admin-health-quality",
                               {"admin-tabs.active_tab": "health"})
    answer = client_for("admin").post("/_dash-update-component", json=payload)
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert "Complete" in body and "live (stream)" in body
    assert client_for("analyst").post("/_dash-update-component",
                                      json=payload).status_code == 403


def _by_source(rows, tables) -> dict:
    return {(row["company_id"], table, row["source"]): (
        int(row["rows"]), row["newest"], int(row["duplicates"]),
        {name: int(row[name]) for name, _ in tables[table]["fields"]}) for table, row in rows}


def test_the_rollup_equals_the_raw_computation_and_the_worker_refreshes_it(own_ctx, company):
    """The report reads data_quality_sources (computed once, then by the worker when the
    data changed): equal to the raw computation over the facts for every company, stale
    after new events until ``refresh_stale`` recomputes it."""
    from db.queries import data_quality as queries
    from services.ingest import ingest_events

    def stored_and_raw():
        with own_ctx.session() as session:
            stored = [(row["table"], row) for row in queries.stored_quality(session, None)]
            raw = [(table, row) for table in queries.TABLES
                   for row in queries.table_quality(session, table, None)]
        return _by_source(stored, queries.TABLES), _by_source(raw, queries.TABLES)

    data_quality.refresh_stale(own_ctx, min_age_s=0)  # every company's rows computed
    stored, raw = stored_and_raw()
    assert stored == raw and len({key[0] for key in raw}) > 1
    campaign = int(frame(own_ctx, "SELECT id FROM campaigns WHERE company_id = :c AND "
                                  "source IS NULL", c=company)["id"][0])
    now = dt.datetime.now(dt.timezone.utc)
    result = ingest_events(own_ctx, company, [
        {"campaign_id": campaign, "occurred_at": (now - dt.timedelta(minutes=i)).isoformat(),
         "impressions": 5, "clicks": 1, "conversions": 0, "cost": 1, "revenue": 0,
         "location": "Boston", "device": "unknown"} for i in range(3)], source="test")
    assert result["accepted"] == 3
    stored, raw = stored_and_raw()
    live = (company, "ad_events", "live")
    assert stored[live][0] == 41 and raw[live][0] == 44  # stale until the worker's step
    assert data_quality.refresh_stale(own_ctx, min_age_s=0) == [company]
    stored, raw = stored_and_raw()
    assert stored == raw
    report = data_quality.data_quality(own_ctx, company_id=company)
    got = {s["source"]: s for s in report["companies"][0]["sources"]}
    assert got["live"]["rows"] == 44 and not got["live"]["late"]
    assert got["live"]["fields"]["device"] == pytest.approx(31 / 44)
    assert got["live"]["computed_at"] is not None
    assert data_quality.refresh_stale(own_ctx, min_age_s=0) == []  # nothing changed since
