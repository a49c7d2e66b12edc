"""The executive view's callbacks as each role and tenant, and the API beside them."""

from __future__ import annotations

import json

import pytest

from conftest import callback_payload
from services.access import CLI_USER, choose_company, system_scope
from services.insights.sentences import company_insights
from services.kpis import executive_breakdowns
from services.registry import ROLES, can_open


def resolve_tenant(ctx, _user_company, slug):
    return choose_company(ctx, CLI_USER, slug)

CALLBACKS = ("executive-kpi-cards", "executive-revenue-chart", "executive-insight-1",
             "executive-funnel")


def _post(client, dash_app, prefix, values):
    return client.post("/_dash-update-component", json=callback_payload(dash_app, prefix, values))


def _values(company=None, range_name="year", segment="all"):
    return {"executive-range.value": range_name, "executive-company.value": company,
            "executive-segment.value": segment, "executive-horizon.value": "3"}


@pytest.mark.parametrize("role", ROLES)
def test_every_callback_answers_by_role(client_for, dash_app, role):
    client = client_for(role)
    for prefix in CALLBACKS:
        response = _post(client, dash_app, prefix, _values())
        if can_open(role, "executive"):
            assert response.status_code == 200, (prefix, response.get_data(as_text=True)[:300])
        else:
            assert response.status_code == 403


def test_insights_follow_the_users_company_whatever_is_asked(client_for, dash_app, ctx,
                                                             companies):
    own = resolve_tenant(ctx, None, companies[0])
    expected = company_insights(ctx, system_scope(ctx, own.id), "year")["insights"]
    assert expected
    client = client_for("executive")
    body = _post(client, dash_app, "executive-insight-1", _values(None)).json["response"]
    store = body["executive-insight-store"]["data"]
    assert [s["evidence"] for s in store] == [i["evidence"] for i in expected]
    assert expected[0]["text"] in json.dumps(body["executive-insight-1"]["children"])
    # A user with a company cannot pick another one: refused, with nothing of the other's.
    other = resolve_tenant(ctx, None, companies[1])
    theirs = company_insights(ctx, system_scope(ctx, other.id), "year")["insights"]
    body = _post(client, dash_app, "executive-insight-1", _values(companies[1])).json
    assert body["response"]["executive-insight-store"]["data"] is None
    assert not any(i["text"] in json.dumps(body) for i in theirs)
    assert client.get(f"/api/v1/insights?range=year&company={companies[1]}").status_code == 404
    api = client.get("/api/v1/insights?range=year").json
    assert api["company"]["slug"] == companies[0]
    assert [i["text"] for i in api["insights"]] == [i["text"] for i in expected]


def test_a_user_without_company_picks_one(client_for, dash_app, ctx, companies):
    other = resolve_tenant(ctx, None, companies[1])
    expected = executive_breakdowns(ctx, system_scope(ctx, other.id), "year")
    body = _post(client_for("analyst_free"), dash_app, "executive-funnel",
                 _values(companies[1])).json["response"]
    figure = body["executive-funnel"]["figure"]
    funnel = figure["data"][0]
    assert funnel["type"] == "bar" and "type" not in figure["layout"]["xaxis"]  # linear
    assert funnel["x"] == [step["value"] for step in expected["funnel"]]
    names = body["executive-channels"]["figure"]["data"][0]["x"]
    assert sorted(names) == sorted(c["channel"] for c in expected["channels"]
                                   if c["roas"] is not None)


def test_the_chart_marks_insights_and_the_forecast(client_for, dash_app):
    body = _post(client_for("executive"), dash_app, "executive-revenue-chart",
                 _values()).json["response"]
    names = [trace.get("name") for trace in body["executive-revenue-chart"]["figure"]["data"]]
    assert "Forecast" in names and "95% prediction interval" in names
    assert "Anomaly" in names
    assert any(name and "trend" in name for name in names)  # the peers' benchmark line
    backtest = json.dumps(body["executive-backtest"]["children"])
    assert "How far to trust it" in backtest and "same week last year" in backtest
    assert "MAPE" in backtest  # named on hover, not in the sentence


def test_clicking_an_insight_selects_its_evidence(client_for, dash_app, ctx, companies):
    own = resolve_tenant(ctx, None, companies[0])
    insights = company_insights(ctx, system_scope(ctx, own.id), "year")["insights"]
    store = [{"rank": i["rank"], "kind": i["kind"], "evidence": i["evidence"]} for i in insights]
    payload = callback_payload(dash_app, "executive-selected",
                               {"executive-insight-store.data": store,
                                "executive-insight-1.n_clicks": 1})
    client = client_for("executive")
    response = client.post("/_dash-update-component", json=payload)
    date = insights[0]["evidence"].get("date")
    assert response.json["response"]["executive-selected"]["data"] == {"rank": 1, "date": date}

    # Every insight, dated or not (a benchmark), shows its evidence, looked up on the server:
    # a forged store with other numbers changes nothing of what is shown.
    benchmark = next(i for i in insights if i["kind"] == "benchmark")
    detail = callback_payload(dash_app, "executive-insight-detail", {
        "executive-selected.data": {"rank": benchmark["rank"], "date": None},
        "executive-range.value": "year", "executive-company.value": None,
        "executive-segment.value": "all"})
    detail["changedPropIds"] = ["executive-selected.data"]
    shown = json.dumps(client.post("/_dash-update-component", json=detail).json)
    assert f"Evidence: {benchmark['evidence']['label']}" in shown
    assert f"Peers: {benchmark['evidence']['peers']} companies" in shown


def test_segment_and_range_are_kept_in_the_url(client_for, dash_app):
    body = _post(client_for("analyst_free"), dash_app, "executive-kpi-cards",
                 _values("northwind-outfitters", "quarter", "mobile")).json["response"]
    assert body["executive-url"]["search"] == \
        "?range=quarter&segment=mobile&company=northwind-outfitters"


@pytest.mark.parametrize("resource", ["timeseries", "insights", "forecast", "benchmarks"])
def test_api_resources_answer_with_the_users_company(client_for, companies, resource):
    body = client_for("executive_b").get(f"/api/v1/{resource}?range=quarter").json
    assert body["company"]["slug"] == companies[1]


@pytest.mark.parametrize("query,message", [
    ("forecast?horizon=13", "between 1 and 12"),
    ("forecast?metric=nope", "cannot forecast"),
    ("insights?segment=martians", "unknown segment"),
])
def test_bad_parameters_get_a_clear_400(client_for, query, message):
    response = client_for("executive").get(f"/api/v1/{query}")
    assert response.status_code == 400
    assert message in response.json["message"]


@pytest.mark.parametrize("left_high,right_low,right_high", [
    (9.9, 0.0, 871.0), (2.5, -60.0, 150.0), (0.5, -85.0, 1.0), (1.0, -0.4, 0.3)])
def test_the_roi_chart_axes_share_zero(left_high, right_low, right_high):
    """ROAS and ROI % bars stand on one zero line: both axes put zero at the same height,
    with round steps, and cover their data."""
    from callbacks.executive import _shared_zero_axes

    left, right = _shared_zero_axes(left_high, right_low, right_high)
    (l_low, l_high), (r_low, r_high) = left["range"], right["range"]
    assert l_low / (l_high - l_low) == pytest.approx(r_low / (r_high - r_low))
    assert l_high >= left_high and r_low <= right_low and r_high >= right_high
    for axis in (left, right):
        steps = (axis["range"][1] - axis["range"][0]) / axis["dtick"]
        assert steps == pytest.approx(round(steps))
