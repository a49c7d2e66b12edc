"""Event ingest: validation with reasons, atomic storage of the valid rows, rollups and data
version kept current, the token-authenticated API and file imports of the shared datasets."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from services import api_tokens
from services.cache import data_version
from services.errors import Forbidden
from services.ingest import RowError, ingest_events, parse_json_lines

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FB_FILE = DATA / "fb_ad_conversions_kag" / "KAG_conversion_data.csv"
ONLINE_FILE = DATA / "online_advertising_performance" / "online_advertising_performance_data.csv"


@pytest.fixture(scope="module")
def company(live_ctx):
    """(company id, two active campaign ids, a campaign of another company)."""
    with live_ctx.session() as session:
        company_id = session.execute(text("SELECT MIN(id) FROM companies")).scalar()
        mine = [row[0] for row in session.execute(text(
            "SELECT id FROM campaigns WHERE company_id = :c AND status = 'active' ORDER BY id"),
            {"c": company_id})]
        other = session.execute(text(
            "SELECT MIN(id) FROM campaigns WHERE company_id <> :c"), {"c": company_id}).scalar()
    return company_id, mine[:2], other


def _rollup_totals(ctx, campaign_id: int, day: dt.date) -> dict:
    with ctx.session() as session:
        daily = session.execute(text("""
            SELECT COALESCE(SUM(spend), 0)::float8, COALESCE(SUM(clicks), 0)::bigint
            FROM rollup_campaign_daily WHERE campaign_id = :c AND day = :d"""),
            {"c": campaign_id, "d": day}).one()
        hourly = session.execute(text("""
            SELECT COALESCE(SUM(spend), 0)::float8, COALESCE(SUM(clicks), 0)::bigint
            FROM rollup_campaign_hourly WHERE campaign_id = :c
              AND hour >= :d AND hour < :d + interval '1 day'"""),
            {"c": campaign_id, "d": day}).one()
    return {"daily": tuple(daily), "hourly": tuple(hourly)}


def test_bad_rows_are_refused_with_reasons_and_good_rows_kept(live_ctx, company):
    company_id, (campaign, _), other = company
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    day = now.date()
    before = _rollup_totals(live_ctx, campaign, day)
    version = data_version(live_ctx, company_id)
    lines = [
        json.dumps({"campaign_id": campaign, "occurred_at": now.isoformat(), "impressions": 400,
                    "clicks": 12, "conversions": 1, "cost": 7.25, "revenue": 40,
                    "location": "Boston", "device": "mobile"}),
        json.dumps({"campaign_id": 987654, "occurred_at": now.isoformat(), "cost": 1}),
        json.dumps({"campaign_id": other, "occurred_at": now.isoformat(), "cost": 1}),
        json.dumps({"campaign_id": campaign, "occurred_at": now.isoformat(), "cost": -3}),
        json.dumps({"campaign_id": campaign, "cost": 2, "clicks": 1}),
        '{"campaign_id": ' + str(campaign) + ', "cost": 2,',  # malformed JSON
        json.dumps({"campaign_id": campaign, "occurred_at": "not a time", "clicks": 1.5}),
        json.dumps({"campaign_id": campaign, "occurred_at": now.isoformat(), "clicks": 3,
                    "cost": "1.75", "location_id": 3}),
    ]
    result = ingest_events(live_ctx, company_id, parse_json_lines(lines), source="test")

    assert result["accepted"] == 2
    reasons = {r["row"]: r["reason"] for r in result["rejections"]}
    assert set(reasons) == {2, 3, 4, 5, 6, 7}
    assert "unknown campaign 987654" in reasons[2]
    assert f"unknown campaign {other}" in reasons[3]  # another company's campaign
    assert reasons[4] == "negative cost"
    assert reasons[5] == "missing timestamp (occurred_at)"
    assert reasons[6].startswith("malformed JSON")
    assert "unparseable timestamp 'not a time'" in reasons[7]
    assert "clicks must be a whole number" in reasons[7]

    after = _rollup_totals(live_ctx, campaign, day)
    for kind in ("daily", "hourly"):
        assert after[kind][0] == pytest.approx(before[kind][0] + 9.0)
        assert after[kind][1] == before[kind][1] + 15
    assert data_version(live_ctx, company_id) > version  # Redis shortcut forgotten at once
    with live_ctx.session() as session:
        run = session.execute(text(
            "SELECT rows_accepted, rows_rejected, status FROM import_runs WHERE id = :r"),
            {"r": result["import_run_id"]}).one()
        stored = session.execute(text(
            "SELECT row_number, reason FROM rejected_rows WHERE import_run_id = :r "
            "ORDER BY row_number"), {"r": result["import_run_id"]}).all()
    assert tuple(run) == (2, 6, "partial")
    assert [row.row_number for row in stored] == [2, 3, 4, 5, 6, 7]


def test_a_batch_with_only_bad_rows_stores_nothing(live_ctx, company):
    company_id, (campaign, _), _ = company
    with live_ctx.session() as session:
        events_before = session.execute(text("SELECT COUNT(*) FROM ad_events")).scalar()
    result = ingest_events(live_ctx, company_id, [RowError("{", "malformed JSON"), 42,
                                                  {"campaign_id": campaign}])
    assert result["accepted"] == 0 and result["rejected"] == 3
    assert [r["reason"] for r in result["rejections"]][1] == "not a JSON object"
    with live_ctx.session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM ad_events")).scalar() == events_before


def _freshness(ctx, company_id: int) -> tuple:
    """(real-time view's newest event, admin health's newest event and its ingest time, the
    newest stored event and its ingest time by a scan)."""
    from db.queries.realtime import newest_event_at
    from services.request_metrics import data_freshness

    with ctx.session() as session:
        slug = session.execute(text("SELECT slug FROM companies WHERE id = :c"),
                               {"c": company_id}).scalar()
    health = next(row for row in data_freshness(ctx) if row["company"] == slug)
    with ctx.session() as session:
        realtime = newest_event_at(session, company_id,
                                   dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5))
        truth = session.execute(text("""
            SELECT occurred_at, ingested_at FROM ad_events WHERE company_id = :c
            ORDER BY occurred_at DESC, ingested_at DESC LIMIT 1"""), {"c": company_id}).one()
    return (realtime, health["newest_event"], health["newest_ingested"], tuple(truth))


def test_the_newest_event_is_kept_current_by_ingest(live_ctx, company):
    """The real-time view's "data as of" and the admin health's freshness read the newest
    event kept in data_versions (no index on ad_events): an ingested newer event raises it,
    with its ingest time; an older one leaves both."""
    company_id, (campaign, _), _ = company
    _, _, _, (newest_before, _) = _freshness(live_ctx, company_id)
    newer = max(newest_before, dt.datetime.now(dt.timezone.utc)) + dt.timedelta(seconds=2)
    ingest_events(live_ctx, company_id, [
        {"campaign_id": campaign, "occurred_at": newer.isoformat(), "clicks": 1},
        {"campaign_id": campaign, "occurred_at": (newer - dt.timedelta(minutes=3)).isoformat(),
         "clicks": 1}], source="test")
    realtime, newest, ingested, (true_newest, true_ingested) = _freshness(live_ctx, company_id)
    assert true_newest == newer
    assert realtime == newer
    assert newest == newer.isoformat() and ingested == true_ingested.isoformat()

    older = newer - dt.timedelta(hours=5)
    ingest_events(live_ctx, company_id, [
        {"campaign_id": campaign, "occurred_at": older.isoformat(), "clicks": 1}], source="test")
    assert _freshness(live_ctx, company_id) == (realtime, newest, ingested,
                                                (true_newest, true_ingested))


def test_stored_events_are_the_valid_rows_exactly_and_oversized_values_are_refused(
        live_ctx, company):
    """The binary COPY stores the validated values as given (money to 4 decimals,
    microseconds, normalised devices); values past INTEGER or NUMERIC(14, 4) are refused rows,
    not a failed batch."""
    company_id, (campaign, _), _ = company
    at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).replace(microsecond=123456)
    rows = [
        {"campaign_id": campaign, "occurred_at": at.isoformat(), "impressions": 2**31 - 1,
         "clicks": 3, "cost": 1234.56789, "revenue": 0.0001, "device": " Mobile ",
         "location": "Boston"},
        {"campaign_id": campaign, "occurred_at": at.isoformat(), "impressions": 2**31},
        {"campaign_id": campaign, "occurred_at": at.isoformat(), "cost": 1e10},
        {"campaign_id": campaign, "occurred_at": at.isoformat(), "revenue": 99999999.9999,
         "device": None},
    ]
    result = ingest_events(live_ctx, company_id, rows, source="test")
    assert result["accepted"] == 2
    reasons = {r["row"]: r["reason"] for r in result["rejections"]}
    assert reasons == {2: "impressions is too large (at most 2,147,483,647)",
                       3: "cost is too large (at most 9,999,999,999.9999)"}
    with live_ctx.session() as session:
        stored = session.execute(text("""
            SELECT e.campaign_id, e.occurred_at, e.impressions, e.clicks, e.cost::text,
                   e.revenue::text, e.device, l.name
            FROM ad_events e JOIN locations l ON l.id = e.location_id
            WHERE e.id BETWEEN :a AND :b ORDER BY e.impressions DESC"""),
            {"a": result["first_id"], "b": result["last_id"]}).all()
    assert len(stored) == 2
    assert tuple(stored[0])[:7] == (campaign, at, 2**31 - 1, 3, "1234.5679", "0.0001", "mobile")
    assert stored[0].name == "Boston"
    assert tuple(stored[1])[:7] == (campaign, at, 0, 0, "0.0000", "99999999.9999", "unknown")


def test_rollups_match_pandas_over_the_same_rows(live_ctx, company):
    """A bigger batch through the DataFrame path: hourly rollups equal pandas' sums."""
    company_id, campaigns, _ = company
    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).replace(
        minute=0, second=0, microsecond=0)
    frame = pd.DataFrame({
        "campaign_id": [campaigns[i % 2] for i in range(3000)],
        "occurred_at": [start + dt.timedelta(seconds=7 * i) for i in range(3000)],
        "impressions": [100 + i % 7 for i in range(3000)],
        "clicks": [i % 5 for i in range(3000)],
        "conversions": [i % 2 for i in range(3000)],
        "cost": [round(0.37 * (i % 11), 2) for i in range(3000)],
        "revenue": [float(i % 3) for i in range(3000)],
        "location_id": [1 + i % 4 for i in range(3000)],
        "device": ["desktop", "mobile", "tablet"] * 1000,
    })
    with live_ctx.session() as session:
        before = pd.read_sql(text("""
            SELECT campaign_id, hour, spend::float8 AS spend, clicks FROM rollup_campaign_hourly
            WHERE campaign_id = ANY(:c) AND hour >= :s AND hour < :e"""), session.connection(),
            params={"c": campaigns, "s": start, "e": start + dt.timedelta(hours=6)})
    result = ingest_events(live_ctx, company_id, frame, source="test")
    assert result["accepted"] == 3000 and result["rejected"] == 0
    with live_ctx.session() as session:
        after = pd.read_sql(text("""
            SELECT campaign_id, hour, spend::float8 AS spend, clicks FROM rollup_campaign_hourly
            WHERE campaign_id = ANY(:c) AND hour >= :s AND hour < :e"""), session.connection(),
            params={"c": campaigns, "s": start, "e": start + dt.timedelta(hours=6)})
    frame["hour"] = frame["occurred_at"].dt.floor("h")
    expected = frame.groupby(["campaign_id", "hour"]).agg(spend=("cost", "sum"),
                                                          clicks=("clicks", "sum"))
    merged = after.set_index(["campaign_id", "hour"]).sub(
        before.set_index(["campaign_id", "hour"]), fill_value=0)
    merged.index = merged.index.set_levels(
        merged.index.levels[1].tz_convert("UTC").as_unit("us"), level=1)
    expected.index = expected.index.set_levels(
        expected.index.levels[1].tz_convert("UTC").as_unit("us"), level=1)
    joined = expected.join(merged.add_suffix("_db"))
    assert (joined["clicks"] == joined["clicks_db"]).all()
    assert joined["spend"].to_numpy() == pytest.approx(joined["spend_db"].to_numpy())


def test_api_events_need_a_company_token(live_server, live_ctx, live_users, live_client_for,
                                         company):
    company_id, (campaign, _), other = company
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    events = [{"campaign_id": campaign, "occurred_at": now, "clicks": 2, "cost": 1.5},
              {"campaign_id": other, "occurred_at": now, "cost": 1}]
    anonymous = live_server.test_client()
    assert anonymous.post("/api/v1/events", json=events).status_code == 401
    # A login session is not an API token.
    assert live_client_for("admin").post("/api/v1/events", json=events).status_code == 401
    with pytest.raises(Forbidden):
        api_tokens.create_token(live_ctx, live_users["marketing_manager"], company_id, "x")
    made = api_tokens.create_token(live_ctx, live_users["admin"], company_id, "feed")
    headers = {"Authorization": f"Bearer {made['token']}"}

    response = anonymous.post("/api/v1/events", json={"events": events}, headers=headers)
    assert response.status_code == 207
    assert response.json["accepted"] == 1 and response.json["rejected"] == 1
    assert "not a campaign of this company" in response.json["rejections"][0]["reason"]

    ndjson = json.dumps(events[0]) + "\n{not json\n"
    response = anonymous.post("/api/v1/events", data=ndjson, headers=headers,
                              content_type="application/x-ndjson")
    assert response.status_code == 207
    assert response.json["rejections"][0]["reason"].startswith("malformed JSON")
    assert anonymous.post("/api/v1/events", data="{oops", headers=headers,
                          content_type="application/json").status_code == 400

    api_tokens.revoke_token(live_ctx, None, company_id, made["id"])
    assert anonymous.post("/api/v1/events", json=events, headers=headers).status_code == 401
    with live_ctx.session() as session:
        stored = session.execute(text("SELECT token_hash FROM api_tokens WHERE id = :i"),
                                 {"i": made["id"]}).scalar()
    assert stored != made["token"] and len(stored) == 64  # only the hash is kept


def test_import_the_facebook_ads_dataset(live_ctx, company):
    """As-is it has no campaign and no time: every row is refused, with clear reasons; with
    a campaign and a time for its rows it imports completely and the money adds up."""
    company_id, (campaign, _), _ = company
    refused = ingest_events(live_ctx, company_id, pd.read_csv(FB_FILE, encoding="utf-8-sig"),
                            source="file:fb")
    raw = pd.read_csv(FB_FILE, encoding="utf-8-sig")
    assert refused["accepted"] == 0 and refused["rejected"] == len(raw) == 1143
    assert refused["rejections"][0]["reason"] == \
        "missing campaign_id; missing timestamp (occurred_at)"

    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).isoformat()
    from services.ingest import import_event_file

    # From the file, each rejected row is kept as its CSV line
    refused = import_event_file(live_ctx, company_id, FB_FILE)
    assert refused["rejected"] == 1143 and len(refused["rejections"]) == 1000
    lines = list(csv.reader(r["raw"] for r in refused["rejections"]))
    assert all(len(line) == len(raw.columns) for line in lines)
    assert [int(line[0]) for line in lines] == raw["ad_id"].head(1000).tolist()

    result = import_event_file(live_ctx, company_id, FB_FILE,
                               defaults={"campaign_id": campaign, "occurred_at": when})
    assert result["accepted"] == 1143 and result["rejected"] == 0
    with live_ctx.session() as session:
        spend = session.execute(text("""
            SELECT SUM(cost)::float8, SUM(impressions), SUM(conversions) FROM ad_events
            WHERE id BETWEEN :a AND :b"""), {"a": result["first_id"], "b": result["last_id"]}).one()
    assert spend[0] == pytest.approx(raw["Spent"].round(4).sum(), abs=0.01)
    assert spend[1] == raw["Impressions"].sum()
    assert spend[2] == raw["Total_Conversion"].sum()


def test_cli_imports_the_online_advertising_dataset(live_config, live_ctx, company, monkeypatch,
                                                    capsys):
    """Month and day columns become dates with --year; its sales amount is the revenue."""
    from dashapp.cli import main

    company_id, (campaign, _), _ = company
    with live_ctx.session() as session:
        slug = session.execute(text("SELECT slug FROM companies WHERE id = :c"),
                               {"c": company_id}).scalar()
    monkeypatch.setenv("DATABASE_URL", live_config.database_url)
    monkeypatch.setenv("REDIS_URL", live_config.redis_url)
    code = main(["import", "events", str(ONLINE_FILE), "--company", slug, "--campaign",
                 str(campaign), "--year", "2025"])
    out = capsys.readouterr().out
    raw = pd.read_csv(ONLINE_FILE)
    assert code == 0, out
    assert f"{len(raw):,} events imported, 0 rejected" in out


def test_an_import_writes_one_audit_row(live_ctx, live_users):
    from sqlalchemy import text

    from services.ingest import ingest_events

    live_company = live_users["executive"].company_id
    with live_ctx.session() as session:
        campaign_id = session.execute(text(
            "SELECT id FROM campaigns WHERE company_id = :c ORDER BY id LIMIT 1"),
            {"c": live_company}).scalar()
        before = session.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'import'"
                                      )).scalar()
    result = ingest_events(live_ctx, live_company, [
        {"campaign_id": campaign_id, "occurred_at": "2026-01-05T10:00:00Z", "impressions": 10,
         "clicks": 1, "cost": 0.5, "location_id": 1, "device": "mobile"},
        {"campaign_id": campaign_id, "cost": -1},
    ], source="file:audit-check.csv")
    with live_ctx.session() as session:
        rows = session.execute(text(
            "SELECT actor_email, after FROM audit_log WHERE action = 'import' ORDER BY id"
        )).all()
    assert len(rows) == before + 1
    actor, after = rows[-1]
    assert actor == "file:audit-check.csv"
    assert after == {"import_run_id": result["import_run_id"], "accepted": result["accepted"],
                     "rejected": result["rejected"]}
