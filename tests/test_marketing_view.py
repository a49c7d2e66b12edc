"""The marketing view over HTTP: the API equals the section services, callbacks answer only for
the open tab, the leads CSV holds exactly the leads the card counts, drill-down names a
retailer the services check, and another company's retailer or project is refused without a
word of that company. Roles per view and resource: tests/test_access.py (registry-driven)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text

from conftest import PASSWORD, callback_payload, login
from services import marketing
from services.access import CLI_USER, choose_company, system_scope

JEWELLER = "bellini-gioielli"
SECTIONS = {"traffic": marketing.traffic, "leads": marketing.leads,
            "content": marketing.content, "email-funnel": marketing.email_funnel,
            "retailers": marketing.retailers}


@pytest.fixture(scope="module")
def jeweller_manager(ctx, companies):
    from services.users import create_user

    return create_user(ctx, "manager@jeweller.test", PASSWORD, "marketing_manager",
                       JEWELLER).email


@pytest.fixture(scope="module")
def jeweller_retailers(ctx):
    with ctx.session() as session:
        return session.execute(text("""
            SELECT r.id, r.name FROM retailers r JOIN companies c ON c.id = r.company_id
            WHERE c.slug = :s ORDER BY r.id"""), {"s": JEWELLER}).all()


def _bar(company=None, range_name="year", tab="leads", **extra) -> dict:
    values = {"marketing-company.value": company, "marketing-range.value": range_name,
              "marketing-compare.value": "previous", "marketing-channel.value": "all",
              "marketing-segment.value": "all", "marketing-project.value": "all",
              "marketing-tabs.active_tab": tab, "marketing-retailer.value": "all",
              "marketing-region.value": "all"}
    values.update(extra)
    return values


@pytest.mark.parametrize("resource", list(SECTIONS))
def test_the_api_returns_exactly_what_the_section_shows(server, ctx, jeweller_manager,
                                                        resource):
    client = server.test_client()
    login(client, jeweller_manager)
    answer = client.get(f"/api/v1/{resource}?range=quarter&compare=year")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    scope = system_scope(ctx, choose_company(ctx, CLI_USER, JEWELLER).id)
    expected = SECTIONS[resource](ctx, scope, {"range": "quarter", "compare": "year"})
    body = answer.json
    assert body.pop("company")["slug"] == JEWELLER
    assert body == json.loads(json.dumps(expected))


def test_a_bad_filter_is_a_clear_400(client_for):
    client = client_for("marketing_manager")
    answer = client.get("/api/v1/leads?compare=decade")
    assert answer.status_code == 400
    assert "unknown compare 'decade'" in answer.json["message"]
    answer = client.get("/api/v1/traffic?range=custom&start=2026-02-01")
    assert answer.status_code == 400 and "custom range needs both" in answer.json["message"]


def test_another_companys_retailer_is_refused_without_its_names(client_for, dash_app,
                                                                 jeweller_retailers):
    client = client_for("marketing_manager")  # of companies[0], not the jeweller
    names = [name for _, name in jeweller_retailers]
    forged = str(jeweller_retailers[0].id)
    for resource in ("email-funnel", "retailers"):
        answer = client.get(f"/api/v1/{resource}?retailer={forged}")
        assert answer.status_code == 400
        assert "not a retailer of this company" in answer.json["message"]
        assert not any(name in answer.get_data(as_text=True) for name in names)
    for output in ("marketing-email-cards", "marketing-retailer-board"):
        body = client.post("/_dash-update-component", json=callback_payload(
            dash_app, output, _bar(tab="email", **{
                "marketing-retailer.value": forged}))).get_data(as_text=True)
        assert "not a retailer of this company" in body, output
        assert not any(name in body for name in names), output


def test_sections_compute_only_for_the_open_tab(client_for, dash_app):
    client = client_for("marketing_manager")
    closed = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "marketing-leads-cards", _bar(tab="traffic")))
    assert closed.status_code == 204
    opened = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "marketing-leads-cards", _bar(tab="leads")))
    assert opened.status_code == 200
    assert "marketing-kpi-cpl" in opened.get_data(as_text=True)


def test_the_leads_csv_holds_exactly_the_leads_the_card_counts(client_for, dash_app, ctx,
                                                              companies):
    client = client_for("marketing_manager")
    payload = callback_payload(dash_app, "marketing-leads-download", _bar(**{
        "marketing-leads-download-button.n_clicks": 1}))
    payload["changedPropIds"] = ["marketing-leads-download-button.n_clicks"]
    answer = client.post("/_dash-update-component", json=payload)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    download = answer.json["response"]["marketing-leads-download"]["data"]
    rows = list(csv.DictReader(io.StringIO(download["content"])))
    scope = system_scope(ctx, choose_company(ctx, CLI_USER, companies[0]).id)
    card = next(c for c in marketing.leads(ctx, scope, {"range": "year"})["cards"]
                if c["metric"] == "leads")
    assert len(rows) == card["value"] > 0
    assert download["filename"].startswith(f"leads-{companies[0]}-")
    assert set(rows[0]) >= {"lead_id", "created_at", "status", "campaign", "project"}


def test_drilling_down_on_a_retailer_narrows_the_whole_section(server, dash_app,
                                                               jeweller_manager,
                                                               jeweller_retailers):
    client = server.test_client()
    login(client, jeweller_manager)
    retailer_id = jeweller_retailers[0].id
    pick = {"output": "marketing-retailer.value",
            "outputs": {"id": "marketing-retailer", "property": "value"},
            "inputs": [[{"id": {"index": retailer_id, "type": "marketing-retailer-pick"},
                         "property": "n_clicks", "value": 1}]],
            "changedPropIds": [json.dumps({"index": retailer_id,
                                           "type": "marketing-retailer-pick"},
                                          separators=(",", ":")) + ".n_clicks"]}
    picked = client.post("/_dash-update-component", json=pick)
    assert picked.status_code == 200, picked.get_data(as_text=True)
    assert picked.json["response"]["marketing-retailer"]["value"] == str(retailer_id)
    answer = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "marketing-retailer-board", _bar(tab="email", **{
            "marketing-retailer.value": str(retailer_id)}))).json["response"]
    board = json.dumps(answer["marketing-retailer-board"])
    assert jeweller_retailers[0].name in board
    assert not any(name in board for _, name in jeweller_retailers[1:])
    url = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "marketing-company-name", _bar(tab="email", **{
            "marketing-retailer.value": str(retailer_id)}))).json
    assert f"retailer={retailer_id}" in url["response"]["marketing-url"]["search"]
