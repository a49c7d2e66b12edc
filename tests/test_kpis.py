"""KPI numbers against pandas over the raw rows, tenancy, and undefined ratios."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import create_engine

from conftest import callback_payload
from layouts.format import DASH
from services.access import CLI_USER, choose_company, system_scope
from services.kpis import executive_kpis
from services.periods import Period


def _company_id(ctx, slug):
    return choose_company(ctx, CLI_USER, slug).id


def kpi_summary(ctx, company_id, *period) -> dict:
    """The executive cards (what the view and /api/v1/kpis show), headline ones as ``kpis``."""
    summary = executive_kpis(ctx, system_scope(ctx, company_id), *period)
    return {**summary, "kpis": [c for c in summary["cards"] if c["metric"] in HEADLINE]}


# The cards pandas_kpis computes independently.
HEADLINE = ("spend", "revenue", "roas", "conversions")


def pandas_kpis(database_url: str, company_id: int, period: Period) -> dict:
    """Independent computation from the raw fact rows (no rollups), DESIGN.md formulas."""
    engine = create_engine(database_url)
    params = {"c": company_id}
    ads = pd.read_sql("SELECT occurred_at, cost, revenue, conversions FROM ad_events "
                      "WHERE company_id = %(c)s", engine, params=params)
    crm = pd.read_sql("SELECT converted_at, conversion_value FROM crm_conversions "
                      "WHERE company_id = %(c)s", engine, params=params)
    orders = pd.read_sql("SELECT ordered_at, order_value FROM ecommerce_orders "
                         "WHERE company_id = %(c)s AND order_status = 'completed'", engine,
                         params=params)
    engine.dispose()

    def within(frame, column):
        days = pd.to_datetime(frame[column], utc=True).dt.date
        return frame[(days >= period.start) & (days <= period.end)]

    ads, crm, orders = within(ads, "occurred_at"), within(crm, "converted_at"), \
        within(orders, "ordered_at")
    spend = ads["cost"].astype(float).sum()
    revenue = (ads["revenue"].astype(float).sum() + crm["conversion_value"].astype(float).sum()
               + orders["order_value"].astype(float).sum())
    return {
        "spend": spend,
        "revenue": revenue,
        "roas": revenue / spend if spend else None,
        "conversions": int(ads["conversions"].sum()) + len(crm) + len(orders),
    }


@pytest.mark.parametrize("range_name", ["7d", "30d", "quarter", "year"])
def test_kpis_equal_pandas_over_the_raw_rows(ctx, config, companies, range_name):
    for slug in companies:
        company_id = _company_id(ctx, slug)
        summary = kpi_summary(ctx, company_id, range_name)
        period = Period(dt.date.fromisoformat(summary["period"]["start"]),
                        dt.date.fromisoformat(summary["period"]["end"]))
        expected = pandas_kpis(config.database_url, company_id, period)
        previous = pandas_kpis(config.database_url, company_id, period.previous())
        for kpi in summary["kpis"]:
            metric = kpi["metric"]
            assert kpi["value"] == pytest.approx(expected[metric], rel=1e-9), (slug, metric)
            if not summary["previous_complete"]:
                # A previous period reaching before the history is not an equal period.
                assert kpi["previous"] is None and kpi["change_pct"] is None
                continue
            assert kpi["previous"] == pytest.approx(previous[metric], rel=1e-9), (slug, metric)
            if expected[metric] is not None and previous[metric]:
                change = (expected[metric] - previous[metric]) / abs(previous[metric]) * 100
                assert kpi["change_pct"] == pytest.approx(change, rel=1e-9)


def test_the_jewellery_brand_revenue_includes_crm_and_orders(ctx, config, companies):
    """The email-funnel company's revenue is mostly CRM and e-commerce: it must be counted."""
    from sqlalchemy import text

    with ctx.session() as session:
        slug = session.execute(text(
            "SELECT c.slug FROM companies c JOIN crm_conversions x ON x.company_id = c.id "
            "GROUP BY c.slug ORDER BY COUNT(*) DESC LIMIT 1")).scalar()
    company_id = _company_id(ctx, slug)
    summary = kpi_summary(ctx, company_id, "custom", "2025-01-01", "2026-06-30")
    expected = pandas_kpis(config.database_url, company_id,
                           Period(dt.date(2025, 1, 1), dt.date(2026, 6, 30)))
    revenue = next(k for k in summary["kpis"] if k["metric"] == "revenue")
    assert revenue["value"] == pytest.approx(expected["revenue"], rel=1e-9)


def test_zero_denominator_period_shows_a_dash(ctx, companies, client_for, dash_app):
    company_id = _company_id(ctx, companies[0])
    summary = kpi_summary(ctx, company_id, "custom", "2001-01-01", "2001-01-31")
    by_metric = {k["metric"]: k for k in summary["kpis"]}
    # A period before the company's history has no numbers: dashes, never zeros.
    assert by_metric["spend"]["value"] is None and by_metric["spend"]["target"] is None
    assert by_metric["roas"]["value"] is None
    assert by_metric["roas"]["change_pct"] is None

    payload = callback_payload(dash_app, "executive-kpi-cards", {
        "executive-range.value": "custom",
        "executive-dates.start_date": "2001-01-01",
        "executive-dates.end_date": "2001-01-31",
    })
    body = client_for("executive").post("/_dash-update-component", json=payload).json
    cards = body["response"]["executive-kpi-cards"]["children"]
    roas_card = str(cards[2])
    assert DASH in roas_card and "ROAS" in roas_card
    assert "inf" not in roas_card.lower()


def test_api_and_callback_show_the_same_numbers(client_for, dash_app, ctx, companies):
    client = client_for("executive")
    api = client.get("/api/v1/kpis?range=30d").json
    assert api["company"]["slug"] == companies[0]
    payload = callback_payload(dash_app, "executive-kpi-cards", {"executive-range.value": "30d"})
    cards = str(client.post("/_dash-update-component", json=payload).json)
    from layouts.format import by_unit

    assert len(api["cards"]) >= 10
    for kpi in api["cards"]:
        assert by_unit(kpi["value"], kpi["unit"]) in cards


def test_two_companies_never_see_each_others_numbers(client_for, companies):
    a = client_for("executive").get("/api/v1/kpis?range=year").json
    b = client_for("executive_b").get("/api/v1/kpis?range=year").json
    assert a["company"]["slug"] == companies[0] and b["company"]["slug"] == companies[1]
    assert a["cards"] != b["cards"]
    # A user with a company who asks for another one is refused (twice: cached too).
    for _ in range(2):
        sneaky = client_for("executive").get(f"/api/v1/kpis?range=year&company={companies[1]}")
        assert sneaky.status_code == 404
        assert companies[1] not in sneaky.get_data(as_text=True).replace(
            f"no company '{companies[1]}'", "")


def test_a_user_without_company_may_pick_one(client_for, companies):
    client = client_for("analyst_free")
    first = client.get(f"/api/v1/kpis?range=year&company={companies[0]}").json
    second = client.get(f"/api/v1/kpis?range=year&company={companies[1]}").json
    assert first["company"]["slug"] == companies[0]
    assert second["company"]["slug"] == companies[1]
    assert client.get("/api/v1/kpis?company=nope").status_code == 404


@pytest.mark.parametrize("query,message", [
    ("range=fortnight", "unknown range"),
    ("range=custom&start=2026-01-01", "needs both"),
    ("range=custom&start=2026-02-01&end=2026-01-01", "on or before"),
    ("range=custom&start=yesterday&end=2026-01-01", "YYYY-MM-DD"),
])
def test_bad_parameters_get_a_clear_400(client_for, query, message):
    response = client_for("executive").get(f"/api/v1/kpis?{query}")
    assert response.status_code == 400
    assert message in response.json["message"]


def test_a_reversed_range_from_a_link_says_what_is_wrong_and_keeps_the_company(
        client_for, dash_app, companies, ctx):
    payload = callback_payload(dash_app, "executive-kpi-cards", {
        "executive-range.value": "custom",
        "executive-dates.start_date": "2026-05-01",
        "executive-dates.end_date": "2026-04-01",
    })
    body = client_for("executive").post("/_dash-update-component", json=payload).json
    response = body["response"]
    assert "start date is after the end date" in str(response["executive-message"])
    with ctx.session() as session:
        from sqlalchemy import text

        name = session.execute(text("SELECT name FROM companies WHERE slug = :s"),
                               {"s": companies[0]}).scalar()
    assert response["executive-company-name"]["children"] == name
