"""The competitive view over HTTP: the API equals the section services; an executive reads the
competitor list but cannot change it, a marketing manager can (audited); another company's
competitor id is refused in the API and in callbacks without a word of that company. Roles per
view and resource: tests/test_access.py; forged requests: tests/test_forged_requests.py."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from conftest import PASSWORD, callback_payload, login
from services import competitive
from services.access import CLI_USER, choose_company, system_scope

JEWELLER = "bellini-gioielli"
SECTIONS = {"market-share": competitive.market_share,
            "share-of-voice": competitive.share_of_voice,
            "spend-estimates": competitive.spend_estimates,
            "positioning": competitive.positioning, "gaps": competitive.gaps,
            "threats": competitive.threats, "updates": competitive.updates}


@pytest.fixture(scope="module")
def jeweller_users(ctx, companies):
    from services.users import create_user

    return {role: create_user(ctx, f"{role}@cmp-jeweller.test", PASSWORD, role,
                              JEWELLER).email
            for role in ("executive", "marketing_manager")}


def _client(server, email):
    client = server.test_client()
    assert login(client, email).status_code == 302
    return client


def _other_company_competitors(ctx, slug):
    with ctx.session() as session:
        return session.execute(text("""
            SELECT k.id, k.name FROM competitors k JOIN companies c ON c.id = k.company_id
            WHERE c.slug <> :s ORDER BY k.id"""), {"s": slug}).all()


@pytest.mark.parametrize("section", list(SECTIONS))
def test_the_api_returns_exactly_what_the_section_shows(server, ctx, jeweller_users, section):
    client = _client(server, jeweller_users["executive"])
    answer = client.get(f"/api/v1/competitive/{section}?range=year&compare=year")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    scope = system_scope(ctx, choose_company(ctx, CLI_USER, JEWELLER).id)
    expected = SECTIONS[section](ctx, scope, {"range": "year", "compare": "year"})
    body = answer.json
    assert body.pop("company")["slug"] == JEWELLER
    assert body == json.loads(json.dumps(expected))


def test_an_executive_reads_but_cannot_manage_competitors(server, ctx, jeweller_users):
    client = _client(server, jeweller_users["executive"])
    listed = client.get("/api/v1/competitors")
    assert listed.status_code == 200 and listed.json["count"] >= 3
    first = listed.json["competitors"][0]
    added = client.post("/api/v1/competitors", json={"name": "Sneaky Rival"})
    assert added.status_code == 403 and "manage competitors" in added.json["message"]
    removed = client.delete(f"/api/v1/competitors/{first['id']}")
    assert removed.status_code == 403
    assert client.get("/api/v1/competitors").json["count"] == listed.json["count"]


def test_a_marketing_manager_adds_and_removes_a_competitor_with_audit_rows(server, ctx,
                                                                         jeweller_users):
    client = _client(server, jeweller_users["marketing_manager"])
    before = client.get("/api/v1/competitors").json["count"]
    made = client.post("/api/v1/competitors", json={"name": "Gemma Nova",
                                                    "website": "https://gemmanova.example"})
    assert made.status_code == 201, made.get_data(as_text=True)
    again = client.post("/api/v1/competitors", json={"name": "gemma nova"})
    assert again.status_code == 400 and "already a competitor" in again.json["message"]
    bad = client.post("/api/v1/competitors", json={"name": "X", "website": "javascript:x"})
    assert bad.status_code == 400 and "https://" in bad.json["message"]
    assert client.get("/api/v1/competitors").json["count"] == before + 1
    gone = client.delete(f"/api/v1/competitors/{made.json['competitor']['id']}")
    assert gone.status_code == 200 and gone.json["removed"]["name"] == "Gemma Nova"
    assert client.get("/api/v1/competitors").json["count"] == before
    with ctx.session() as session:
        actions = session.execute(text("""
            SELECT action FROM audit_log WHERE target = :t ORDER BY id"""),
            {"t": f"competitor:{made.json['competitor']['id']}"}).scalars().all()
    assert actions == ["competitor_add", "competitor_remove"]


def test_another_companys_competitor_is_refused_without_its_names(server, ctx, dash_app,
                                                                 jeweller_users):
    client = _client(server, jeweller_users["marketing_manager"])
    others = _other_company_competitors(ctx, JEWELLER)
    names = [name for _, name in others if name not in
             {c["name"] for c in client.get("/api/v1/competitors").json["competitors"]}]
    forged = others[0].id
    for answer in (client.get(f"/api/v1/competitive/updates?competitor={forged}"),
                   client.delete(f"/api/v1/competitors/{forged}")):
        assert answer.status_code == 404
        assert "in this company" in answer.json["message"]
        assert not any(name in answer.get_data(as_text=True) for name in names)
    assert any(row.id == forged for row in _other_company_competitors(ctx, JEWELLER))

    with ctx.session() as session:
        denied = session.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'denied' "
                                      "AND target = :t"), {"t": f"competitor:{forged}"}).scalar()
    remove = {"type": "competitive-remove-competitor", "index": forged}
    payload = callback_payload(dash_app, "competitive-manage-message", {})
    payload["inputs"][1] = [{"id": remove, "property": "n_clicks", "value": 1}]
    payload["changedPropIds"] = [json.dumps(remove, sort_keys=True, separators=(",", ":"))
                                 + ".n_clicks"]
    answer = client.post("/_dash-update-component", json=payload).get_data(as_text=True)
    assert "in this company" in answer
    assert not any(name in answer for name in names)
    feed = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "competitive-feed", {"competitive-range.value": "year",
                                       "competitive-compare.value": "previous",
                                       "competitive-feed-competitor.value": str(forged),
                                       "competitive-feed-kind.value": "all"}))
    assert "in this company" in feed.get_data(as_text=True)
    with ctx.session() as session:
        assert session.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'denied' "
                                    "AND target = :t"), {"t": f"competitor:{forged}"}
                               ).scalar() == denied + 2


def test_an_unknown_update_kind_is_a_clear_400(client_for):
    answer = client_for("executive").get("/api/v1/competitive/updates?kind=gossip")
    assert answer.status_code == 400 and "unknown update kind 'gossip'" in answer.json["message"]
