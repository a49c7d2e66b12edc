"""The attribution view over HTTP and its stored results: the API returns exactly the service's
result (JSON and CSV), bad parameters are a 400 with the reason, the callbacks answer with
the chart, table, advice and the empty state, the worker stores each company's result per
history version and requests read it (a missing one is computed and stored). Roles per view
and resource: tests/test_access.py; forged requests: tests/test_forged_requests.py."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text

from conftest import callback_payload
from services import attribution
from services.access import system_scope
from services.insights.store import history_through

NAME = "attribution.company_attribution%"


@pytest.fixture(scope="module")
def company(ctx, companies):
    with ctx.session() as session:
        return session.execute(text("SELECT id, slug FROM companies WHERE slug = :s"),
                               {"s": companies[0]}).one()


def test_the_api_returns_exactly_what_the_view_shows(client_for, ctx, company):
    client = client_for("marketing_manager")
    answer = client.get("/api/v1/attribution?range=year&level=campaign&lookback=60")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    expected = attribution.attribution(ctx, system_scope(ctx, company.id),
                                       {"range": "year", "level": "campaign",
                                        "lookback": "60"})
    body = answer.json
    assert body.pop("company")["slug"] == company.slug
    assert body == json.loads(json.dumps(expected))
    assert body["options"]["level"] == "campaign" and body["options"]["lookback"] == 60


def test_staff_pick_the_company_and_one_model_and_the_csv_export(client_for, company):
    staff = client_for("analyst_free")  # no company of their own: picks one
    picked = staff.get(f"/api/v1/attribution?company={company.slug}")
    assert picked.status_code == 200 and picked.json["company"]["slug"] == company.slug
    assert staff.get("/api/v1/attribution?company=no-such-company").status_code == 404
    client = client_for("analyst")
    one = client.get("/api/v1/attribution?model=shapley").json
    assert [m["key"] for m in one["models"]] == ["last_touch", "shapley"]
    assert set(one["rows"][0]["conversions"]) == {"last_touch", "shapley"}
    answer = client.get("/api/v1/attribution?format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    total = rows[-1]
    assert total[0] == "Total"
    conversions = [float(x) for x in total[1:8]]
    assert len(set(conversions)) == 1  # every model's column adds up to the same total
    body = [[float(x) for x in row[1:8]] for row in rows[1:-1]]
    for column in range(7):
        assert round(sum(row[column] for row in body), 2) == conversions[column]


@pytest.mark.parametrize("query,word", [
    ("level=brand", "level"), ("lookback=abc", "lookback"), ("lookback=0", "lookback"),
    ("direct=maybe", "direct"), ("model=magic", "model"), ("order=1.5", "order"),
    ("half_life=-1", "half_life"), ("format=xml", "format"), ("range=decade", "range")])
def test_bad_parameters_are_a_clear_400(client_for, query, word):
    answer = client_for("marketing_manager").get(f"/api/v1/attribution?{query}")
    assert answer.status_code == 400
    assert answer.json["error"] == "invalid" and word in answer.json["message"]


def _post(client, dash_app, output: str, values: dict) -> dict:
    body = callback_payload(dash_app, output, values)
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return answer.json["response"]


BAR = {"attribution-range.value": "year", "attribution-compare.value": "previous",
       "attribution-level.value": "channel", "attribution-lookback.value": 30,
       "attribution-direct.value": "yes", "attribution-measure.value": "conversions"}


def test_callbacks_show_credit_advice_and_the_empty_state(client_for, dash_app):
    client = client_for("campaign_specialist")
    credit = _post(client, dash_app, "attribution-credit-chart", BAR)
    figure = credit["attribution-credit-chart"]["figure"]
    assert len(figure["data"]) == 7 and figure["layout"]["barmode"] == "group"
    assert "Total" in json.dumps(credit["attribution-credit-table"])
    verdicts = _post(client, dash_app, "attribution-verdicts", BAR)
    assert "attribution-advice" in verdicts
    markov = _post(client, dash_app, "attribution-removal-chart", BAR)
    assert markov["attribution-transitions"]["figure"]["data"][0]["type"] == "heatmap"
    journeys = _post(client, dash_app, "attribution-lengths", BAR)
    assert "Markov chain of order 1" in json.dumps(journeys["attribution-data-note"])
    assert journeys["attribution-paths"]  # the top converting paths table
    empty = {**BAR, "attribution-range.value": "custom",
             "attribution-dates.start_date": "2001-01-01",
             "attribution-dates.end_date": "2001-03-31"}
    shown = _post(client, dash_app, "attribution-company-name", empty)
    assert "No customer journeys end between 2001-01-01 and 2001-03-31" in json.dumps(shown)
    assert "Pick a longer date range" in json.dumps(shown)
    assert shown["attribution-content"]["style"] == {"display": "none"}
    chart = _post(client, dash_app, "attribution-credit-chart", empty)
    assert chart["attribution-credit-chart"]["figure"]["data"] == []


def _stored(ctx, company_id: int) -> list:
    with ctx.session() as session:
        return session.execute(text("""
            SELECT i.name, i.computed_at, i.history_version = v.history_version AS current,
                   i.through FROM insight_results i JOIN data_versions v USING (company_id)
            WHERE i.company_id = :c AND i.name LIKE :n ORDER BY i.name"""),
            {"c": company_id, "n": NAME}).all()


def test_the_worker_stores_results_and_requests_read_them(ctx, company):
    with ctx.session() as session:
        session.execute(text("DELETE FROM insight_results WHERE company_id = :c "
                             "AND name LIKE :n"), {"c": company.id, "n": NAME})
    seconds = attribution.refresh(ctx, [company.id])
    assert set(seconds) == {company.id}
    stored = _stored(ctx, company.id)
    assert len(stored) == 4  # channel and campaign level, the year and the default range
    assert all(row.current and row.through == history_through() for row in stored)
    scope = system_scope(ctx, company.id)
    attribution.attribution(ctx, scope, {})  # the default view: read, not recomputed
    attribution.attribution(ctx, scope, {"level": "campaign", "range": "30d"})
    assert _stored(ctx, company.id) == stored
    attribution.refresh(ctx, [company.id])  # current: nothing recomputed
    assert _stored(ctx, company.id) == stored
    # a request whose result is missing computes and stores it
    result = attribution.attribution(ctx, scope, {"lookback": "14", "direct": "no"})
    assert result["options"]["lookback"] == 14 and result["options"]["direct"] == "no"
    assert len(_stored(ctx, company.id)) == 5


def test_axis_labels_are_cut_but_stay_unique():
    from callbacks.attribution import short

    names = ["Valentine's Edit 2026 | Google Ads", "Valentine's Edit 2026 | Instagram",
             "Valentine's Edit 2026 | Instagram Stories", "Email"]
    cut = short(names, 20)
    assert len(set(cut)) == len(names) and all(len(c) <= 22 for c in cut)
    assert cut[0].endswith("Google Ads") and cut[3] == "Email"


def test_a_company_without_journeys_is_told_how_to_get_them(empty_database_factory, config):
    from dataclasses import replace

    from callbacks.attribution import _empty_text
    from dashapp.runtime import service_context
    from services.catalog import add_company

    own = service_context(replace(config, database_url=empty_database_factory("atr_empty"),
                                  cache_namespace=f"{config.cache_namespace}-atr-empty"))
    made = add_company(own, "No Journeys Co")
    result = attribution.attribution(own, system_scope(own, made["id"]), {})
    assert result["empty"] and not result["has_journeys"]
    assert result["rows"] == [] and result["totals"]["conversions"] == 0
    assert _empty_text(result) == "No customer journeys for this company yet"


def _row(label, last, markov, shapley, spend_share):
    share = {"last_touch": last, "markov": markov, "shapley": shapley}
    return {"label": label, "share": share,
            "change_pp": {m: v - last for m, v in share.items()},
            "conversions": {m: v for m, v in share.items()},  # of 100 conversions
            "spend": spend_share * 1000.0 if spend_share is not None else None,
            "spend_share": spend_share}


def test_undervalued_needs_both_data_driven_models_and_advice_names_its_evidence():
    rows = [_row("Email", 12, 21, 19, 6), _row("Display", 30, 20, 22, 40),
            _row("Search", 40, 35, 45, 54), _row("Website", 18, 24, 14, None)]
    verdicts = attribution.valued(rows)
    assert [i["label"] for i in verdicts["undervalued"]] == ["Email"]
    # Search: Markov lower, Shapley higher; Website: the other way: no claim either way
    assert [i["label"] for i in verdicts["overvalued"]] == ["Display"]
    advice = attribution.advice(rows, verdicts)
    assert advice[0]["text"] == (
        "Email gets 12% of conversions under last touch and 21% under the Markov model "
        "(19% under Shapley) while taking 6% of spend: consider moving budget from Display "
        "(40% of spend, 20% of Markov credit).")
    assert "spend: $6,000.00 (6%)" in advice[0]["evidence"]
    assert advice[1]["label"] == "Display" and "touches before it" in advice[1]["text"]
