"""The executive view's company events dialog and the drivers waterfall (issue #20), through
the Dash endpoint as each role: add and remove events and set the holiday country go through
the same checks as the API (a forged click by a read-only role, or another company's event id,
changes nothing); a change asks the worker for a prompt refit; clicking an insight opens a
waterfall whose numbers are the API's."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from services import registry
from services.access import system_scope
from services.insights import events, precompute
from services.insights.anomalies import company_anomalies

EVENTS = "executive-events-list"


def _payload(dash_app, prefix: str, values: dict, trigger: str, removes=None) -> dict:
    """The body Dash posts for the callback whose first output starts with ``prefix``, with
    ``trigger`` ('id.property', or a pattern id's JSON + '.n_clicks') as the changed input."""
    for key, spec in dash_app.callback_map.items():
        if not key.lstrip(".").startswith(prefix):
            continue

        def item(dep):
            if dep["id"].startswith("{"):
                return [{"id": {"type": json.loads(dep["id"])["type"], "index": index},
                         "property": dep["property"], "value": clicks}
                        for index, clicks in (removes or [])]
            return {"id": dep["id"], "property": dep["property"],
                    "value": values.get(f"{dep['id']}.{dep['property']}")}

        outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        return {"output": key,
                "outputs": [{"id": o.component_id, "property": o.component_property}
                            for o in outputs],
                "inputs": [item(dep) for dep in spec["inputs"]],
                "state": [item(dep) for dep in spec["state"]],
                "changedPropIds": [trigger]}
    raise KeyError(prefix)


def _remove_trigger(event_id: int) -> str:
    return json.dumps({"index": event_id, "type": "executive-event-remove"},
                      separators=(",", ":")) + ".n_clicks"


SLUG = {}  # company A's slug: an admin with no company picks it


def _post(client, dash_app, values, trigger, removes=None):
    values = {"executive-company.value": SLUG.get("a"), **values}
    return client.post("/_dash-update-component",
                       json=_payload(dash_app, EVENTS, values, trigger, removes))


def _form(title="Spring launch", start="2026-03-02", end=None, kind="launch", country=None):
    return {"executive-event-add.n_clicks": 1, "executive-event-start.date": start,
            "executive-event-end.date": end, "executive-event-kind.value": kind,
            "executive-event-title.value": title, "executive-holiday-country.value": country,
            "executive-holiday-save.n_clicks": 1, "executive-events-version.data": 3,
            "executive-events-modal.is_open": True}


@pytest.fixture(scope="module")
def company_a(ctx, companies) -> int:
    SLUG["a"] = companies[0]
    with ctx.session() as session:
        return session.execute(text("SELECT id FROM companies WHERE slug = :s"),
                               {"s": companies[0]}).scalar()


def _titles(ctx, company_id) -> list[str]:
    with ctx.session() as session:
        return session.execute(text("SELECT title FROM company_events WHERE company_id = :c "
                                    "ORDER BY id"), {"c": company_id}).scalars().all()


@pytest.mark.parametrize("role", registry.ROLES)
def test_adding_an_event_by_role(client_for, dash_app, ctx, company_a, role):
    before = _titles(ctx, company_a)
    response = _post(client_for(role), dash_app, _form(title=f"Launch by {role}"),
                     "executive-event-add.n_clicks")
    if not registry.can_open(role, "executive"):
        assert response.status_code == 403
        assert _titles(ctx, company_a) == before
        return
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.json["response"]
    shown = json.dumps(body["executive-events-list"]["children"])
    message = json.dumps(body["executive-events-message"]["children"])
    if registry.can_take(role, "annotate_events"):
        assert f"Launch by {role}" in message and "refitted" in message
        assert _titles(ctx, company_a) == before + [f"Launch by {role}"]
        assert body["executive-events-version"]["data"] == 4  # the chart redraws
        assert f"Launch by {role}" in shown and "executive-event-remove" in shown
        made = events.list_events(ctx, system_scope(ctx, company_a))["events"][0]
        events.remove_event(ctx, system_scope(ctx, company_a), made["id"])
    else:  # the button is not offered, and a forged click is refused by the service
        assert "may not annotate company events" in message
        assert _titles(ctx, company_a) == before
        assert "executive-events-version" not in body
        assert "executive-event-remove" not in shown


def test_the_dialog_validates_with_clear_messages(client_for, dash_app, ctx, company_a):
    client = client_for("analyst")
    before = _titles(ctx, company_a)
    for form, expected in ((_form(start="2026-03-05", end="2026-03-01"),
                            "end on or after its start"),
                           (_form(title="  "), "the title must be 1 to 200"),
                           (_form(start=None), "the start must be a date"),
                           (_form(kind="party"), "the kind must be one of")):
        body = _post(client, dash_app, form, "executive-event-add.n_clicks").json["response"]
        assert expected in json.dumps(body["executive-events-message"]["children"]).lower()
    assert _titles(ctx, company_a) == before


def test_removing_checks_the_role_and_the_company(client_for, dash_app, ctx, companies,
                                                  company_a):
    scope = system_scope(ctx, company_a)
    with ctx.session() as session:
        company_b = session.execute(text("SELECT id FROM companies WHERE slug = :s"),
                                    {"s": companies[1]}).scalar()
    mine = events.add_event(ctx, scope, "2026-02-02", None, "outage", "Checkout down")
    theirs = events.add_event(ctx, system_scope(ctx, company_b), "2026-02-03", None, "sale",
                              "B's secret sale")
    try:
        # An executive's forged click on a remove button: refused, nothing removed.
        body = _post(client_for("executive"), dash_app, _form(), _remove_trigger(mine["id"]),
                     [(mine["id"], 1)]).json["response"]
        assert "may not annotate" in json.dumps(body["executive-events-message"])
        assert "Checkout down" in _titles(ctx, company_a)
        # Another company's event id: unknown here, nothing of it shown or removed.
        answer = _post(client_for("analyst"), dash_app, _form(),
                       _remove_trigger(theirs["id"]), [(theirs["id"], 1)])
        assert f"No event {theirs['id']} in this company" in answer.get_data(as_text=True)
        assert "secret" not in answer.get_data(as_text=True)
        assert "B's secret sale" in _titles(ctx, company_b)
        # A new button's first render (no click yet) removes nothing.
        _post(client_for("analyst"), dash_app, _form(), _remove_trigger(mine["id"]),
              [(mine["id"], 0)])
        assert "Checkout down" in _titles(ctx, company_a)
        body = _post(client_for("marketing_manager"), dash_app, _form(),
                     _remove_trigger(mine["id"]), [(mine["id"], 1)]).json["response"]
        assert "Removed \u2018Checkout down\u2019" in json.dumps(
            body["executive-events-message"]["children"], ensure_ascii=False)
        assert "Checkout down" not in _titles(ctx, company_a)
    finally:
        events.remove_event(ctx, system_scope(ctx, company_b), theirs["id"])
        if "Checkout down" in _titles(ctx, company_a):
            events.remove_event(ctx, scope, mine["id"])


def test_the_holiday_country_is_set_by_admins_and_marketing_managers(client_for, dash_app,
                                                                     ctx, company_a):
    def country():
        return events.list_events(ctx, system_scope(ctx, company_a))["holiday_country"]

    assert country() == "US"  # the default: the country of the company's locations
    try:
        for role in ("analyst", "executive"):
            body = _post(client_for(role), dash_app, _form(country="DE"),
                         "executive-holiday-save.n_clicks").json["response"]
            assert "may not change the company's holiday country" in json.dumps(
                body["executive-events-message"]["children"])
        assert country() == "US"
        body = _post(client_for("marketing_manager"), dash_app, _form(country="XX"),
                     "executive-holiday-save.n_clicks").json["response"]
        assert "two-letter iso code" in json.dumps(body["executive-events-message"]).lower()
        body = _post(client_for("marketing_manager"), dash_app, _form(country="DE"),
                     "executive-holiday-save.n_clicks").json["response"]
        assert body["executive-holiday-country"]["value"] == "DE" and country() == "DE"
    finally:
        events.set_holiday_country(ctx, system_scope(ctx, company_a), "US")


def test_a_change_asks_the_worker_for_a_prompt_refit(ctx, company_a):
    precompute.take_refit_requests(ctx)  # nothing left over from other tests
    anomalies = company_anomalies.refit_if_stale(ctx, company_a)["anomalies"]
    day = next(a["date"] for a in anomalies if a["grain"] == "day")
    with ctx.session() as session:
        version = session.execute(text("SELECT version, history_version FROM data_versions "
                                       "WHERE company_id = :c"), {"c": company_a}).one()
    made = events.add_event(ctx, system_scope(ctx, company_a), day, None, "launch",
                            "Prompt launch")
    try:
        assert precompute.take_refit_requests(ctx) == [company_a]
        precompute.request_refit(ctx, company_a)
        # The worker's poll: refit now, then move the data version on for cached answers.
        assert list(precompute.refit_requested(ctx)) == [company_a]
        with ctx.session() as session:
            after = session.execute(text("SELECT version, history_version FROM data_versions "
                                         "WHERE company_id = :c"), {"c": company_a}).one()
        assert after.history_version == version.history_version + 1
        assert after.version == version.version + 2  # the event, then the refit
        served = company_anomalies(ctx, company_a)["anomalies"]  # what a request reads
        assert any(a["explained"] and a["event"]["title"] == "Prompt launch" for a in served
                   if a["date"] == day)
        assert precompute.refit_requested(ctx) == {}
    finally:
        events.remove_event(ctx, system_scope(ctx, company_a), made["id"])
        precompute.refit_requested(ctx)


def _drivers_payload(dash_app, rank, dimension="channel", trigger="executive-selected.data"):
    values = {"executive-selected.data": {"rank": rank, "date": None},
              "executive-drivers-dimension.value": dimension,
              "executive-range.value": "year", "executive-segment.value": "all"}
    return _payload(dash_app, "executive-drivers-modal", values, trigger)


def test_clicking_an_insight_opens_a_waterfall_with_the_apis_numbers(client_for, dash_app,
                                                                      company_a):
    client = client_for("executive")
    insights = client.get("/api/v1/insights?range=year").json["insights"]
    split = [i for i in insights if i["evidence"].get("drivers")]
    assert any(i["kind"] in ("anomaly", "trend_change", "explained") for i in split)
    for insight in split:
        body = client.post("/_dash-update-component", json=_drivers_payload(
            dash_app, insight["rank"])).json["response"]
        assert body["executive-drivers-modal"]["is_open"] is True
        (trace,) = body["executive-drivers-chart"]["figure"]["data"]
        api = client.get(f"/api/v1/insights/{insight['id']}/drivers?range=year").json
        assert trace["type"] == "waterfall" and trace["orientation"] == "h"
        assert body["executive-drivers-dimension"]["value"] == api["dimension"]
        measures, values = trace["measure"], trace["x"]
        assert measures[0] == "absolute" and measures[-1] == "total"
        assert values[0] == pytest.approx(api["before"], rel=1e-12)
        assert values[-1] == pytest.approx(api["after"], rel=1e-12)
        shown = api["drivers"][:8]
        assert values[1:1 + len(shown)] == pytest.approx([r["contribution"] for r in shown],
                                                         rel=1e-12)
        relative = [v for v, m in zip(values, measures, strict=True) if m == "relative"]
        assert values[0] + sum(relative) == pytest.approx(api["after"], abs=1e-9)
        layout = body["executive-drivers-chart"]["figure"]["layout"]
        assert layout["xaxis"]["title"]["text"].startswith(api["label"])
        assert "(" in layout["xaxis"]["title"]["text"]  # with its unit
        assert layout["yaxis"]["title"]["text"] == f"Contribution by {api['dimension']}"
        assert insight["text"] in json.dumps(body["executive-drivers-note"], ensure_ascii=False)
    # Another split of the same insight, on request.
    body = client.post("/_dash-update-component", json=_drivers_payload(
        dash_app, split[0]["rank"], "location", "executive-drivers-dimension.value")).json
    (trace,) = body["response"]["executive-drivers-chart"]["figure"]["data"]
    api = client.get(f"/api/v1/insights/{split[0]['id']}/drivers?range=year"
                     "&dimension=location").json
    assert trace["x"][0] == pytest.approx(api["before"]) and api["dimension"] == "location"
    # An insight with nothing to split (a benchmark) opens no dialog.
    plain = next((i for i in insights if not i["evidence"].get("drivers")), None)
    if plain is not None:
        body = client.post("/_dash-update-component", json=_drivers_payload(
            dash_app, plain["rank"])).json["response"]
        assert body["executive-drivers-modal"]["is_open"] is False
