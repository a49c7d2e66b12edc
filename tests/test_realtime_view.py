"""The real-time view: numbers against pandas, an ingested event on the next refresh, an idle
refresh that costs nothing, freshness, and the pause action checked on the server."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from sqlalchemy import text

from conftest import callback_payload
from services import realtime
from services.access import system_scope
from services.ingest import ingest_events
from services.simulator import Simulator

INTERVAL = "realtime-interval.n_intervals"


@pytest.fixture(scope="module")
def first_company(live_ctx):
    with live_ctx.session() as session:
        company_id = session.execute(text("SELECT MIN(id) FROM companies")).scalar()
        campaign = session.execute(text("""
            SELECT MIN(id) FROM campaigns WHERE company_id = :c AND status = 'active'"""),
            {"c": company_id}).scalar()
    return company_id, campaign


def refresh_payload(dash_app, state=None, trigger=INTERVAL):
    payload = callback_payload(dash_app, "realtime-kpis", {
        INTERVAL: 1, "realtime-company.value": None, "realtime-state.data": state})
    payload["changedPropIds"] = [trigger]
    return payload


def _output(response, component: str, prop: str):
    return response.json["response"][component][prop]


def test_live_metrics_match_pandas(live_ctx):
    """Today so far vs the same time yesterday, against pandas over the same raw rows."""
    with live_ctx.session() as session:
        company_id = session.execute(text("SELECT id FROM companies ORDER BY id LIMIT 1 "
                                          "OFFSET 6")).scalar()
        campaign = session.execute(text("""
            SELECT MIN(id) FROM campaigns WHERE company_id = :c AND status = 'active'"""),
            {"c": company_id}).scalar()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    day = now.replace(hour=0, minute=0, second=0)
    seconds_today = int((now - day).total_seconds())
    rows = []
    for i in range(40):  # spread over today so far and all of yesterday
        at = day + dt.timedelta(seconds=seconds_today * i // 40)
        rows.append({"campaign_id": campaign, "occurred_at": at, "impressions": 1000 + i,
                     "clicks": 20 + i % 3, "conversions": i % 4, "cost": 10 + i * 0.25,
                     "location": "Chicago"})
        rows.append({"campaign_id": campaign, "occurred_at": at - dt.timedelta(days=1, hours=3),
                     "impressions": 900, "clicks": 18, "conversions": 1, "cost": 9.5,
                     "location": "Chicago"})
    frame = pd.DataFrame(rows)
    assert ingest_events(live_ctx, company_id, frame)["accepted"] == len(frame)
    with live_ctx.session() as session:
        raw = pd.read_sql(text("""
            SELECT occurred_at, impressions, clicks, conversions, cost::float8 AS cost
            FROM ad_events WHERE company_id = :c AND occurred_at >= :start"""),
            session.connection(), params={"c": company_id, "start": day - dt.timedelta(days=1)})
    snapshot = realtime.current_snapshot(live_ctx, system_scope(live_ctx, company_id), now)
    values = {m["metric"]: m for m in snapshot["live"]["metrics"]}
    today = raw[raw["occurred_at"] >= day]
    assert values["spend"]["value"] == pytest.approx(today["cost"].sum())
    assert values["clicks"]["value"] == today["clicks"].sum()
    assert values["cpc"]["value"] == pytest.approx(today["cost"].sum() / today["clicks"].sum())
    assert values["ctr"]["value"] == pytest.approx(
        today["clicks"].sum() / today["impressions"].sum() * 100)
    # Same time yesterday: whole hours before this hour, plus this hour's elapsed share.
    hour = now.replace(minute=0, second=0)
    yesterday = raw[(raw["occurred_at"] >= day - dt.timedelta(days=1))
                    & (raw["occurred_at"] < day)]
    whole = yesterday[yesterday["occurred_at"] < hour - dt.timedelta(days=1)]["cost"].sum()
    partial = yesterday[(yesterday["occurred_at"] >= hour - dt.timedelta(days=1))
                        & (yesterday["occurred_at"] < hour - dt.timedelta(hours=23))]["cost"]
    expected = whole + partial.sum() * (now - hour).total_seconds() / 3600
    assert values["spend"]["previous"] == pytest.approx(expected)
    hourly = snapshot["hourly"]
    assert sum(v or 0 for v in hourly["today"]["spend"]) == pytest.approx(today["cost"].sum())
    assert all(v is None for v in hourly["today"]["spend"][now.hour + 1:])
    chicago = next(loc for loc in snapshot["locations"] if loc["name"] == "Chicago")
    assert chicago["cpa"] == pytest.approx(today["cost"].sum() / today["conversions"].sum())


def test_an_ingested_event_shows_on_the_next_refresh(live_server, live_ctx, live_client_for,
                                                     first_company):
    company_id, campaign = first_company
    dash_app = live_server.extensions["dash_app"]
    client = live_client_for("campaign_specialist")
    first = client.post("/_dash-update-component", json=refresh_payload(dash_app))
    assert first.status_code == 200
    state = _output(first, "realtime-state", "data")
    assert state["company_id"] == company_id

    # Nothing new: the interval refresh answers "no update" (204) without computing.
    idle = client.post("/_dash-update-component", json=refresh_payload(dash_app, state))
    assert idle.status_code == 204

    ingest_events(live_ctx, company_id, [{
        "campaign_id": campaign, "occurred_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "impressions": 5000, "clicks": 77, "conversions": 3, "cost": 123456.78,
        "location": "Seattle"}])
    fresh = client.post("/_dash-update-component", json=refresh_payload(dash_app, state))
    assert fresh.status_code == 200
    body = json.dumps(fresh.json)
    assert "Seattle" in body
    new_state = _output(fresh, "realtime-state", "data")
    assert new_state["version"] > state["version"]
    snapshot = realtime.current_snapshot(live_ctx, system_scope(live_ctx, company_id))
    spend = next(m for m in snapshot["live"]["metrics"] if m["metric"] == "spend")["value"]
    assert f"${spend:,.0f}" in body


def test_freshness_goes_stale_when_the_simulator_stops(live_ctx, first_company):
    company_id, _ = first_company
    simulator = Simulator(live_ctx, rate=400, company_ids=[company_id], seed=3)
    assert simulator.tick(seconds=5) > 0
    now = dt.datetime.now(dt.timezone.utc)
    snapshot = realtime.current_snapshot(live_ctx, system_scope(live_ctx, company_id), now)
    assert snapshot["freshness"]["level"] == "live"
    newest = snapshot["newest_event_at"]
    later = now + dt.timedelta(seconds=realtime.STALE_AFTER_S + 60)
    assert realtime.freshness(newest, later)["level"] == "stale"
    assert realtime.freshness(newest, now + dt.timedelta(hours=3))["level"] == "old"
    assert realtime.freshness(None, now)["level"] == "none"


def test_pause_is_refused_on_the_server_for_analysts(live_server, live_ctx, live_client_for,
                                                     first_company):
    company_id, _ = first_company
    with live_ctx.session() as session:
        campaign = session.execute(text("""
            SELECT MAX(id) FROM campaigns WHERE company_id = :c AND status = 'active'"""),
            {"c": company_id}).scalar()
    dash_app = live_server.extensions["dash_app"]
    key = next(k for k in dash_app.callback_map if "realtime-confirm.is_open@" in k)
    payload = callback_payload(dash_app, key.lstrip("."), {
        "realtime-confirm-yes.n_clicks": 1,
        "realtime-pending-pause.data": {"campaign_id": campaign, "name": "x"}})
    payload["changedPropIds"] = ["realtime-confirm-yes.n_clicks"]

    refused = live_client_for("analyst").post("/_dash-update-component", json=payload)
    assert refused.status_code == 200
    assert "may not pause campaigns" in refused.get_data(as_text=True)
    with live_ctx.session() as session:
        assert session.execute(text("SELECT status FROM campaigns WHERE id = :c"),
                               {"c": campaign}).scalar() == "active"
        denied = session.execute(text("""
            SELECT COUNT(*) FROM audit_log WHERE action = 'denied'
              AND target = :t AND actor_email = 'analyst@live.test'"""),
            {"t": "pause_campaign"}).scalar()
    assert denied == 1

    allowed = live_client_for("campaign_specialist").post("/_dash-update-component",
                                                          json=payload)
    assert allowed.status_code == 200
    assert "Paused" in allowed.get_data(as_text=True)
    with live_ctx.session() as session:
        assert session.execute(text("SELECT status FROM campaigns WHERE id = :c"),
                               {"c": campaign}).scalar() == "paused"
        audit = session.execute(text("""
            SELECT before, after FROM audit_log WHERE action = 'campaign_pause'
              AND target = :t AND actor_email = 'campaign_specialist@live.test'"""),
            {"t": f"campaign:{campaign}"}).one()
    assert audit.before == {"status": "active"} and audit.after["status"] == "paused"


def test_api_realtime_snapshot(live_client_for, first_company):
    response = live_client_for("analyst").get("/api/v1/realtime")
    assert response.status_code == 200
    assert {m["metric"] for m in response.json["live"]["metrics"]} == \
        {"spend", "impressions", "clicks", "conversions", "cpc", "ctr"}
    assert response.json["freshness"]["level"] in ("live", "stale", "old", "none")


def test_locations_without_conversions_are_grey_not_the_worst_cpa():
    """A city with spend and no conversion has no CPA: it is drawn grey in a trace of its
    own, and the colour scale spans the cities that have one."""
    from callbacks.realtime import geo_figure

    def city(name, spend, conversions):
        return {"name": name, "latitude": 40.0, "longitude": -100.0, "spend": spend,
                "conversions": conversions, "cpa": spend / conversions if conversions else None}

    figure = geo_figure([city("A", 10.0, 2), city("B", 30.0, 0), city("C", 8.0, 1)])
    grey = next(t for t in figure["data"] if t["name"] == "No conversions yet")
    coloured = next(t for t in figure["data"] if t["name"] == "CPA")
    assert len(grey["lat"]) == 1 and grey["marker"]["color"] == "#adb5bd"
    assert coloured["marker"]["color"] == [5.0, 8.0]
    assert coloured["marker"]["cmax"] == 8.0
