"""Forged requests, driven by the view registry so every new view is covered: a user of
company A posts every callback of every view their role may open with each input and state
that can carry a company or record id (stores and pattern-matching ids included) set to
company B's values, and calls every API resource with B's ids. Nothing of B comes back,
nothing of B changes, no answer is a server error, and resolving a forged id is audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from conftest import PASSWORD, login
from services import registry

# Company A's users, one per role (the admin here has a company: it administers A only).
FORGER_ROLES = registry.ROLES


@pytest.fixture(scope="module")
def victim(ctx, companies) -> dict:
    """Company B's ids, and the names and numbers that must never reach A's users."""
    from services.alerts import ensure_default_rules
    from services.users import create_user

    slug = companies[1]
    user = create_user(ctx, "victim@b.test", PASSWORD, "marketing_manager", slug)
    with ctx.session() as session:
        company = session.execute(text("SELECT id, name FROM companies WHERE slug = :s"),
                                  {"s": slug}).one()
        campaigns = session.execute(text(
            "SELECT id, name FROM campaigns WHERE company_id = :c ORDER BY id"),
            {"c": company.id}).all()
        competitors = session.execute(text(
            "SELECT id, name FROM competitors WHERE company_id = :c ORDER BY id"),
            {"c": company.id}).all()
    ensure_default_rules(ctx, company.id)
    from services.access import system_scope
    from services.insights.events import add_event

    event = add_event(ctx, system_scope(ctx, company.id), "2026-02-03", None, "sale",
                      "Victim's secret sale")
    with ctx.session() as session:
        rule = session.execute(text("SELECT id FROM alert_rules WHERE company_id = :c LIMIT 1"),
                               {"c": company.id}).scalar()
        alert = session.execute(text("""
            INSERT INTO alerts (company_id, rule_id, campaign_id, state, severity, message)
            VALUES (:c, :r, :k, 'firing', 'high', :m) RETURNING id"""),
            {"c": company.id, "r": rule, "k": campaigns[0].id,
             "m": f"Overspend on {campaigns[0].name}"}).scalar()
    return {"slug": slug, "company_id": company.id, "name": company.name,
            "campaign_id": campaigns[0].id, "alert_id": alert, "user_id": user.id,
            "competitor_id": competitors[0].id, "event_id": event["id"],
            "secrets": [company.name, user.email, event["title"], *[c.name for c in campaigns],
                        *[c.name for c in competitors]]}


@pytest.fixture(scope="module")
def forgers(ctx, companies) -> dict:
    """{role: email} of company A."""
    from services.users import create_user

    return {role: create_user(ctx, f"forger-{role}@a.test", PASSWORD, role, companies[0]).email
            for role in FORGER_ROLES}


def _state_of_b(ctx, victim) -> list:
    """Everything of B a forged write could change."""
    with ctx.session() as session:
        return [
            session.execute(text("SELECT id, status FROM campaigns WHERE company_id = :c "
                                 "ORDER BY id"), {"c": victim["company_id"]}).all(),
            session.execute(text("SELECT id, state, acknowledged_by FROM alerts "
                                 "WHERE company_id = :c ORDER BY id"),
                            {"c": victim["company_id"]}).all(),
            session.execute(text("SELECT id, role, company_id, active, password_hash FROM users "
                                 "WHERE company_id = :c ORDER BY id"),
                            {"c": victim["company_id"]}).all(),
            session.execute(text("SELECT rule_key, threshold, enabled, actions FROM alert_rules "
                                 "WHERE company_id = :c ORDER BY rule_key"),
                            {"c": victim["company_id"]}).all(),
            session.execute(text("""SELECT c.id, c.name, COUNT(e.month) FROM competitors c
                                    LEFT JOIN competitor_estimates e
                                      ON e.company_id = c.company_id AND e.competitor_id = c.id
                                    WHERE c.company_id = :c GROUP BY 1, 2 ORDER BY 1"""),
                            {"c": victim["company_id"]}).all(),
            session.execute(text("SELECT id, start_day, title FROM company_events "
                                 "WHERE company_id = :c ORDER BY id"),
                            {"c": victim["company_id"]}).all(),
            session.execute(text("SELECT holiday_country FROM company_calendars "
                                 "WHERE company_id = :c"), {"c": victim["company_id"]}).all(),
        ]


def _forged_value(component_id: str, prop: str, victim: dict):
    if prop == "value" and component_id.endswith("company"):
        return victim["slug"]
    if prop == "data":  # a dcc.Store: every id a store could hold, set to B's
        return {"company_id": victim["company_id"], "campaign_id": victim["campaign_id"],
                "alert_id": victim["alert_id"], "user_id": victim["user_id"],
                "competitor_id": victim["competitor_id"],
                "slug": victim["slug"], "version": -1, "rendered_at": 0}
    if prop in ("selectedRows", "selected_rows"):
        return [{"id": victim["user_id"]}]
    if prop == "value" and component_id.endswith(("user", "-prefs-user")):
        return victim["user_id"]
    if prop == "value" and component_id.endswith("-competitor"):
        return str(victim["competitor_id"])
    if prop in ("n_clicks", "n_intervals"):
        return 1
    return None


def _index_for(kind: str, victim: dict) -> int:
    if "event" in kind:
        return victim["event_id"]
    if "competitor" in kind:
        return victim["competitor_id"]
    return victim["alert_id"] if "alert" in kind else victim["campaign_id"]


def forged_payloads(dash_app, view: str, victim: dict) -> list[tuple[str, dict]]:
    """(callback key, body) for every callback whose outputs belong to ``view``, each input
    triggered in turn, with B's ids in every field that can carry one."""
    bodies = []
    for key, spec in dash_app.callback_map.items():
        outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        if registry.view_of_component(str(outputs[0].component_id)) != view:
            continue

        def item(dep):
            if dep["id"].startswith("{"):  # a pattern-matching id: B's record as its index
                kind = json.loads(dep["id"])["type"]
                concrete = {"index": _index_for(kind, victim), "type": kind}
                return [{"id": concrete, "property": dep["property"], "value": 1}]
            return {"id": dep["id"], "property": dep["property"],
                    "value": _forged_value(dep["id"], dep["property"], victim)}

        def prop_id(dep):
            if dep["id"].startswith("{"):
                kind = json.loads(dep["id"])["type"]
                concrete = {"index": _index_for(kind, victim), "type": kind}
                return json.dumps(concrete, sort_keys=True, separators=(",", ":")) + \
                    "." + dep["property"]
            return f"{dep['id']}.{dep['property']}"

        for trigger in spec["inputs"]:
            bodies.append((key, {
                "output": key,
                "outputs": [{"id": o.component_id, "property": o.component_property}
                            for o in outputs] if isinstance(spec["output"], list) else
                {"id": outputs[0].component_id, "property": outputs[0].component_property},
                "inputs": [item(dep) for dep in spec["inputs"]],
                "state": [item(dep) for dep in spec["state"]],
                "changedPropIds": [prop_id(trigger)],
            }))
    return bodies


def _denied_count(ctx) -> int:
    with ctx.session() as session:
        return session.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'denied'")
                               ).scalar()


@pytest.mark.parametrize("view", [v.slug for v in registry.built_views()])
def test_forged_callbacks_leak_and_change_nothing_of_another_company(
        server, dash_app, ctx, victim, forgers, view):
    spec = registry.view(view)
    before = _state_of_b(ctx, victim)
    sent = 0
    for role in sorted(spec.roles):
        client = server.test_client()
        assert login(client, forgers[role]).status_code == 302
        for key, body in forged_payloads(dash_app, view, victim):
            response = client.post("/_dash-update-component", json=body)
            sent += 1
            answer = response.get_data(as_text=True)
            assert response.status_code in (200, 204, 400, 403, 404), (role, key, answer[:300])
            for secret in victim["secrets"]:
                assert secret not in answer, (role, key, secret)
    assert sent > 0
    assert _state_of_b(ctx, victim) == before


@pytest.mark.parametrize("field,values", [
    ("pause", lambda v: {"index": v["campaign_id"], "type": "realtime-pause-campaign"}),
    ("ack", lambda v: {"index": v["alert_id"], "type": "realtime-ack-alert"}),
])
def test_a_forged_record_id_is_a_refusal_with_an_audit_row(server, dash_app, ctx, victim,
                                                           forgers, field, values):
    """The exact leak that was found: B's campaign id in the pause button (and an alert id in
    the acknowledge button) answers with no name of B, and is audited."""
    bodies = [body for key, body in forged_payloads(dash_app, "realtime", victim)
              if json.dumps(values(victim), sort_keys=True, separators=(",", ":"))
              in body["changedPropIds"][0]]
    assert bodies
    for entry in bodies[0]["inputs"] + bodies[0]["state"]:  # only the record id is forged
        if isinstance(entry, dict) and entry["id"].endswith("company"):
            entry["value"] = None
    client = server.test_client()
    assert login(client, forgers["campaign_specialist"]).status_code == 302
    denied = _denied_count(ctx)
    answer = client.post("/_dash-update-component", json=bodies[0]).get_data(as_text=True)
    assert "in this company" in answer  # a clear refusal, not data
    assert not any(secret in answer for secret in victim["secrets"])
    assert _denied_count(ctx) == denied + 1


def test_a_forged_company_pick_is_refused_and_audited(server, dash_app, ctx, victim, forgers):
    body = next(body for key, body in forged_payloads(dash_app, "executive", victim)
                if key.startswith("..executive-kpi-cards"))
    client = server.test_client()
    assert login(client, forgers["executive"]).status_code == 302
    denied = _denied_count(ctx)
    answer = client.post("/_dash-update-component", json=body).get_data(as_text=True)
    assert f"no company '{victim['slug']}'" in answer
    assert _denied_count(ctx) == denied + 1


def _api_routes(server) -> list[tuple[str, str]]:
    """(method, path template) of every API route but token-authenticated event ingest."""
    routes = []
    for rule in server.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/events":
            routes += [(m, rule.rule) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_api_routes_with_another_companys_ids(server, ctx, victim, forgers):
    before = _state_of_b(ctx, victim)
    checked, clients = 0, {}
    for method, template in _api_routes(server):
        resource = template.removeprefix("/api/v1/").split("/")[0]
        view = registry.API_RESOURCES.get(resource)
        path = (template.replace("<int:user_id>", str(victim["user_id"]))
                .replace("<int:competitor_id>", str(victim["competitor_id"]))
                .replace("<int:event_id>", str(victim["event_id"]))
                .replace("<rule_key>", "budget_90"))
        for role in sorted(view.roles if view else []):
            if role not in clients:  # one signed-in browser per role, as an attacker has
                clients[role] = server.test_client()
                assert login(clients[role], forgers[role]).status_code == 302
            client = clients[role]
            query = {"company": victim["slug"], "user": victim["user_id"]}
            if method == "GET":
                response = client.get(path, query_string=query)
            else:
                response = client.open(path, method=method, query_string=query,
                                       json={"role": "admin", "company": victim["slug"],
                                             "active": False, "threshold": 1,
                                             "email": "new@b.test", "password": None})
            checked += 1
            answer = response.get_data(as_text=True)
            assert response.status_code < 500, (method, path, role, answer[:300])
            for secret in victim["secrets"]:
                assert secret not in answer, (method, path, role, secret)
    assert checked > 10
    assert _state_of_b(ctx, victim) == before
