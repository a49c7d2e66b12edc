"""Numbers agree everywhere: every split of the executive view adds up to its card, a
campaign's CRM and e-commerce revenue shows in the campaign table, the channel chart and the
card alike, and the API equals the cards. On the demo data and on a hand-made company whose
every number is known."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import text

from conftest import callback_payload, login
from db import rollups
from services.access import CLI_USER, choose_company, system_scope
from services.kpis import executive_breakdowns, executive_kpis


def _cards(summary: dict) -> dict:
    return {card["metric"]: card for card in summary["cards"]}


def _sum(rows: list[dict], key: str) -> float:
    return sum(row[key] for row in rows)


@pytest.mark.parametrize("range_name", ["30d", "year"])
def test_every_split_adds_up_to_its_card_on_the_demo_data(ctx, companies, range_name):
    for slug in companies:
        company_id = choose_company(ctx, CLI_USER, slug).id
        cards = _cards(executive_kpis(ctx, system_scope(ctx, company_id), range_name))
        parts = executive_breakdowns(ctx, system_scope(ctx, company_id), range_name)
        unattributed = parts["unattributed"]
        for key in ("revenue", "spend", "conversions"):
            card = cards[key]["value"]
            assert _sum(parts["campaigns"], key) == pytest.approx(card, abs=0.005), (slug, key)
            assert parts["totals"][key] == pytest.approx(card, abs=0.005), (slug, key)
            channels = _sum(parts["channels"], key) + unattributed[key]
            assert channels == pytest.approx(card, abs=0.005), (slug, key)
        assert parts["totals"]["roas"] == pytest.approx(cards["roas"]["value"], rel=1e-9)


def test_the_api_returns_exactly_the_cards(client_for, ctx, companies):
    api = client_for("executive").get("/api/v1/kpis?range=quarter&segment=mobile").json
    company_id = choose_company(ctx, CLI_USER, companies[0]).id
    scope = system_scope(ctx, company_id)
    assert api["cards"] == executive_kpis(ctx, scope, "quarter", None, None, "mobile")["cards"]


def test_rates_change_in_points_and_amounts_in_percent(ctx, companies):
    company_id = choose_company(ctx, CLI_USER, companies[0]).id
    cards = _cards(executive_kpis(ctx, system_scope(ctx, company_id), "30d"))
    ctr, revenue = cards["ctr"], cards["revenue"]
    assert ctr["change_unit"] == "pp"
    assert ctr["change"] == pytest.approx(ctr["value"] - ctr["previous"])
    assert revenue["change_unit"] == "%"
    assert revenue["change"] == pytest.approx(
        (revenue["value"] - revenue["previous"]) / revenue["previous"] * 100)
    assert all(card["definition"] for card in cards.values())


# --------------------------------------------------------------------------- a hand-made company

DAY = dt.date(2026, 3, 10)
AD_REVENUE, SPEND = 50.00, 100.00
CRM_VALUE, ORDER_VALUE, PENDING_ORDER, NO_CAMPAIGN = 6650.75, 120.50, 999.00, 25.25


@pytest.fixture(scope="module")
def handmade(empty_database_factory, config):
    """One company: campaign "Search" (Google Ads) with ad activity, a CRM conversion, a
    completed and a pending order; campaign "Newsletter" (Email) with a CRM conversion and no
    ads; one CRM conversion with no campaign."""
    from dashapp.runtime import service_context
    from db.engine import get_engine

    url = empty_database_factory("recon")
    at = dt.datetime.combine(DAY, dt.time(12), dt.timezone.utc)
    with get_engine(url).begin() as conn:
        def one(sql, **params):
            return conn.execute(text(sql), params).scalar()

        company = one("INSERT INTO companies (slug, name, industry) VALUES "
                      "('handmade', 'Handmade Ltd', 'retail') RETURNING id")
        google = one("INSERT INTO channels (name, kind) VALUES ('Google Ads', 'paid_search') "
                     "RETURNING id")
        email = one("INSERT INTO channels (name, kind) VALUES ('Email', 'email') RETURNING id")
        location = one("INSERT INTO locations (name, region, country, latitude, longitude) "
                       "VALUES ('Austin', 'South', 'US', 30.27, -97.74) RETURNING id")
        campaign_sql = ("INSERT INTO campaigns (company_id, channel_id, name, goal, status, "
                        "start_date, budget_allocated, daily_budget, language, tags) VALUES "
                        "(:c, :ch, :n, 'sales', 'active', :d, 1000, 50, 'English', '{}') "
                        "RETURNING id")
        search = one(campaign_sql, c=company, ch=google, n="Search", d=DAY)
        newsletter = one(campaign_sql, c=company, ch=email, n="Newsletter", d=DAY)
        conn.execute(text(
            "INSERT INTO ad_events (company_id, campaign_id, channel_id, occurred_at, "
            "location_id, device, impressions, clicks, conversions, cost, revenue) VALUES "
            "(:c, :k, :ch, :at, :loc, 'desktop', 1000, 40, 2, :spend, :rev)"),
            {"c": company, "k": search, "ch": google, "at": at, "loc": location,
             "spend": SPEND, "rev": AD_REVENUE})
        crm = ("INSERT INTO crm_conversions (company_id, campaign_id, conversion_type, "
               "conversion_value, converted_at) VALUES (:c, :k, 'sale', :v, :at)")
        conn.execute(text(crm), {"c": company, "k": search, "v": CRM_VALUE, "at": at})
        conn.execute(text(crm), {"c": company, "k": newsletter, "v": 10.0, "at": at})
        conn.execute(text(crm), {"c": company, "k": None, "v": NO_CAMPAIGN, "at": at})
        order = ("INSERT INTO ecommerce_orders (company_id, campaign_id, order_value, "
                 "ordered_at, product_count, order_status, attributed_to_email) VALUES "
                 "(:c, :k, :v, :at, 1, :s, false)")
        conn.execute(text(order), {"c": company, "k": search, "v": ORDER_VALUE, "at": at,
                                   "s": "completed"})
        conn.execute(text(order), {"c": company, "k": search, "v": PENDING_ORDER, "at": at,
                                   "s": "pending"})
        rollups.rebuild(conn, [company])
        rollups.bump_data_version(conn, [company])
    made = replace(config, database_url=url, cache_namespace=f"{config.cache_namespace}-recon")
    return made, service_context(made), company


def test_a_campaigns_crm_and_order_revenue_is_its_revenue_everywhere(handmade):
    config, ctx, company = handmade
    period = ("custom", DAY.isoformat(), DAY.isoformat())
    cards = _cards(executive_kpis(ctx, system_scope(ctx, company), *period))
    parts = executive_breakdowns(ctx, system_scope(ctx, company), *period)
    search_revenue = AD_REVENUE + CRM_VALUE + ORDER_VALUE  # the pending order does not count
    total = search_revenue + 10.0 + NO_CAMPAIGN
    assert cards["revenue"]["value"] == pytest.approx(total)
    assert cards["conversions"]["value"] == 2 + 1 + 1 + 1 + 1

    rows = {row["campaign"]: row for row in parts["campaigns"]}
    search = rows["Search"]
    assert search["revenue"] == pytest.approx(search_revenue)
    assert search["conversions"] == 2 + 1 + 1
    assert search["roas"] == pytest.approx(search_revenue / SPEND)
    assert search["roi_pct"] == pytest.approx((search_revenue - SPEND) / SPEND * 100)
    assert search["tier"] == "High ROI"
    assert rows["Newsletter"]["revenue"] == pytest.approx(10.0)  # sales, no ads
    unattributed = next(row for row in parts["campaigns"] if row.get("row") == "unattributed")
    assert unattributed["revenue"] == pytest.approx(NO_CAMPAIGN)
    channels = {row["channel"]: row for row in parts["channels"]}
    assert channels["Google Ads"]["revenue"] == pytest.approx(search_revenue)
    assert channels["Email"]["revenue"] == pytest.approx(10.0)
    assert parts["totals"]["revenue"] == pytest.approx(total)


def test_the_page_shows_the_same_campaign_revenue(handmade):
    """The campaign table and the channel chart as the browser gets them."""
    from dashapp.app import create_app
    from services.users import create_user

    config, ctx, company = handmade
    server = create_app(config)
    user = create_user(ctx, "exec@handmade.test", "correct-horse-battery-staple", "executive",
                       "handmade")
    client = server.test_client()
    assert login(client, user.email).status_code == 302
    dash_app = server.extensions["dash_app"]
    body = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "executive-funnel", {
            "executive-range.value": "custom",
            "executive-dates.start_date": DAY.isoformat(),
            "executive-dates.end_date": DAY.isoformat()})).json["response"]
    table = str(body["executive-campaigns"]["children"])
    assert "$6,821" in table  # Search: 50.00 + 6,650.75 + 120.50
    assert "Unattributed" in table and "$25" in table
    assert "$6,856" in table  # the total row: the revenue card
    chart = body["executive-channels"]["figure"]["data"][0]
    google = chart["x"].index("Google Ads")
    assert chart["y"][google] == pytest.approx((AD_REVENUE + CRM_VALUE + ORDER_VALUE) / SPEND)


@pytest.mark.parametrize("range_name", ["30d", "year"])
def test_the_executive_and_marketing_funnels_agree(ctx, companies, range_name):
    """Visitors, leads, opportunities and customers: the same counts on both views."""
    from services.marketing import leads

    for slug in companies:
        scope = system_scope(ctx, choose_company(ctx, CLI_USER, slug).id)
        executive = executive_breakdowns(ctx, scope, range_name)
        marketing = leads(ctx, scope, {"range": range_name})
        if executive["period"] != marketing["filters"]["period"]:
            continue  # the views end on different newest days (no ads, newer web data)
        assert [s["value"] for s in executive["funnel"]] == [
            s["count"] or 0 for s in marketing["funnel"]], slug


def test_compared_to_a_year_earlier_the_cards_show_that_periods_values(ctx, companies):
    """compare=year: each card's previous value is the value the same card shows for the
    same dates a year earlier, a period of the same length."""
    scope = system_scope(ctx, choose_company(ctx, CLI_USER, companies[0]).id)
    summary = executive_kpis(ctx, scope, "30d", None, None, None, "year")
    earlier = summary["previous_period"]
    assert summary["compare"] == "year"
    assert earlier["days"] == summary["period"]["days"]
    assert earlier["end"] < summary["period"]["start"]
    then = _cards(executive_kpis(ctx, scope, "custom", earlier["start"], earlier["end"]))
    for card in summary["cards"][:7]:  # the daily cards (monthly ones compare months)
        assert card["previous"] == pytest.approx(then[card["metric"]]["value"]), card["metric"]
