"""The marketing view's numbers against pandas over the raw rows (email sends, CRM conversions,
e-commerce orders, leads, ad events, web traffic, content) of the demo data: the email funnel
and retailer leaderboard without fan-out, leads, spend, CPL and CTR by project, sessions and
their splits; every split adds up to its card; the compared period has the same length;
filters are checked inside the company."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

from services import filters, marketing
from services.access import CLI_USER, choose_company, system_scope
from services.errors import ValidationError
from services.filters import compare_period
from services.periods import Period

JEWELLER = "bellini-gioielli"


def _frame(ctx, sql: str, **params) -> pd.DataFrame:
    with ctx.session() as session:
        return pd.read_sql_query(text(sql), session.connection(), params=params)


def _scope(ctx, slug):
    return system_scope(ctx, choose_company(ctx, CLI_USER, slug).id)


def _in_period(frame: pd.DataFrame, column: str, period: dict) -> pd.DataFrame:
    days = pd.to_datetime(frame[column], utc=True).dt.strftime("%Y-%m-%d")
    return frame[(days >= period["start"]) & (days <= period["end"])]


def _cards(result: dict) -> dict:
    return {card["metric"]: card for card in result["cards"]}


@pytest.fixture(scope="module")
def jeweller(ctx, companies):
    assert JEWELLER in companies
    return _scope(ctx, JEWELLER)


def test_the_email_funnel_and_campaign_revenue_equal_pandas_without_fan_out(ctx, jeweller):
    result = marketing.email_funnel(ctx, jeweller, {"range": "year"})
    period = result["filters"]["period"]
    company = jeweller.company_id
    sends = _in_period(_frame(ctx, "SELECT * FROM email_sends WHERE company_id = :c",
                              c=company), "sent_at", period)
    crm = _in_period(_frame(ctx, """SELECT * FROM crm_conversions WHERE company_id = :c
                                    AND campaign_id IS NOT NULL AND retailer_id IS NOT NULL""",
                            c=company), "converted_at", period)
    orders = _in_period(_frame(ctx, """SELECT * FROM ecommerce_orders WHERE company_id = :c
                                       AND order_status = 'completed'
                                       AND campaign_id IS NOT NULL
                                       AND retailer_id IS NOT NULL""", c=company),
                        "ordered_at", period)
    assert len(sends) > 1000 and len(crm) > 10 and len(orders) > 5  # the test means something
    totals = result["totals"]
    assert totals["sent"] == len(sends)
    assert totals["delivered"] == sends["delivered_at"].notna().sum()
    assert totals["opened"] == sends["opened_at"].notna().sum()
    assert totals["clicked"] == sends["clicked_at"].notna().sum()
    assert totals["email_conversions"] == len(crm) + len(orders)
    revenue = float(crm["conversion_value"].sum()) + float(orders["order_value"].sum())
    assert totals["email_revenue"] == pytest.approx(revenue, abs=0.01)
    cards = _cards(result)
    delivered = sends["delivered_at"].notna().sum()
    assert cards["click_rate"]["value"] == pytest.approx(
        sends["clicked_at"].notna().sum() / delivered * 100)
    assert cards["click_to_open"]["value"] == pytest.approx(
        sends["clicked_at"].notna().sum() / sends["opened_at"].notna().sum() * 100)
    assert cards["delivery_rate"]["value"] == pytest.approx(delivered / len(sends) * 100)

    # Each campaign with many sends, several conversions and orders: revenue is conversions
    # plus orders, each summed on its own; a join of sends, conversions and orders multiplies.
    for row in result["campaigns"]:
        own_crm = crm[crm["campaign_id"] == row["campaign_id"]]
        own_orders = orders[orders["campaign_id"] == row["campaign_id"]]
        expected = float(own_crm["conversion_value"].sum()) + float(
            own_orders["order_value"].sum())
        assert row["revenue"] == pytest.approx(expected, abs=0.01)
        assert row["conversions"] == len(own_crm) + len(own_orders)
        fanned = own_crm.merge(own_orders, on=["campaign_id", "retailer_id"])
        if len(own_orders) > 1 and len(fanned):
            joined = fanned["conversion_value"].sum() + fanned["order_value"].sum()
            assert joined > expected  # what the fan-out would have shown
        if row["cost"]:
            assert row["roi"] == pytest.approx((expected - row["cost"]) / row["cost"] * 100)
            assert row["tier"] == ("High ROI" if row["roi"] >= 100 else
                                   "Good ROI" if row["roi"] >= 50 else "Standard")
    assert sum(r["revenue"] for r in result["campaigns"]) == pytest.approx(revenue, abs=0.01)
    # Opens and clicks by hour add up to the opens and clicks of the emails sent.
    assert sum(h["opens"] for h in result["hours"]) == totals["opened"]
    assert sum(h["clicks"] for h in result["hours"]) == totals["clicked"]


def test_the_retailer_leaderboard_and_regions_add_up_and_equal_pandas(ctx, jeweller):
    funnel = marketing.email_funnel(ctx, jeweller, {"range": "year"})
    board = marketing.retailers(ctx, jeweller, {"range": "year"})
    period = board["filters"]["period"]
    sends = _in_period(_frame(ctx, """SELECT s.*, r.name FROM email_sends s
                                      JOIN retailers r ON r.id = s.retailer_id
                                      WHERE s.company_id = :c""", c=jeweller.company_id),
                       "sent_at", period)
    expected = sends.groupby("name").agg(delivered=("delivered_at", "count"),
                                         clicked=("clicked_at", "count"))
    assert len(board["retailers"]) == len(expected) >= 3
    for row in board["retailers"]:
        want = expected.loc[row["retailer"]]
        assert row["click_rate"] == pytest.approx(want["clicked"] / want["delivered"] * 100)
    assert [r["rank"] for r in board["retailers"]] == list(range(1, len(expected) + 1))
    revenues = [r["revenue"] for r in board["retailers"]]
    assert revenues == sorted(revenues, reverse=True)
    for column in ("sent", "clicked", "conversions", "revenue"):
        total = funnel["totals"]["email_revenue" if column == "revenue" else
                                 "email_conversions" if column == "conversions" else column]
        assert sum(r[column] for r in board["retailers"]) == pytest.approx(total, abs=0.01)
        assert sum(r[column] for r in board["regions"]) == pytest.approx(total, abs=0.01)
        assert board["total"][column] == pytest.approx(total, abs=0.01)


def test_a_region_or_retailer_narrows_the_funnel_to_its_retailers(ctx, jeweller):
    board = marketing.retailers(ctx, jeweller, {"range": "year"})
    region = board["regions"][0]
    narrowed = marketing.email_funnel(ctx, jeweller, {"range": "year",
                                                      "region": region["region"]})
    assert narrowed["totals"]["sent"] == region["sent"]
    assert narrowed["totals"]["email_revenue"] == pytest.approx(region["revenue"], abs=0.01)
    top = board["retailers"][0]
    one = marketing.retailers(ctx, jeweller, {"range": "year",
                                              "retailer": str(top["retailer_id"])})
    assert [r["retailer_id"] for r in one["retailers"]] == [top["retailer_id"]]


def test_leads_spend_cpl_and_ctr_by_project_equal_pandas(ctx, companies):
    slug = companies[0]
    scope = _scope(ctx, slug)
    result = marketing.leads(ctx, scope, {"range": "quarter"})
    period = result["filters"]["period"]
    company = scope.company_id
    events = _in_period(_frame(ctx, """
        SELECT e.occurred_at, e.cost, e.clicks, e.impressions, c.project, ch.name AS channel
        FROM ad_events e JOIN campaigns c ON c.id = e.campaign_id
        JOIN channels ch ON ch.id = c.channel_id
        WHERE e.company_id = :c""", c=company), "occurred_at", period)
    leads = _in_period(_frame(ctx, """
        SELECT l.created_at, l.status, c.project FROM leads l
        LEFT JOIN campaigns c ON c.id = l.campaign_id WHERE l.company_id = :c""", c=company),
        "created_at", period)
    assert len(events) > 100 and len(leads) > 10
    spend = events.groupby("project")[["cost", "clicks", "impressions"]].sum()
    count = leads.groupby("project").size()
    by_project = {row["filter_value"]: row for row in result["projects"]}
    for project in set(spend.index) | set(count.index):
        row = by_project[project]
        project_spend = float(spend["cost"].get(project, 0.0))
        project_leads = int(count.get(project, 0))
        assert row["spend"] == pytest.approx(project_spend, abs=0.01), project
        assert row["leads"] == project_leads, project
        expected_cpl = project_spend / project_leads if project_leads else None
        assert row["cpl"] == pytest.approx(expected_cpl), project
        clicks, shown = spend["clicks"].get(project, 0), spend["impressions"].get(project, 0)
        assert row["ctr"] == pytest.approx(clicks / shown * 100 if shown else None), project
    cards = _cards(result)
    assert cards["leads"]["value"] == len(leads)
    assert cards["spend"]["value"] == pytest.approx(float(events["cost"].sum()), abs=0.01)
    assert cards["cpl"]["value"] == pytest.approx(float(events["cost"].sum()) / len(leads))
    # Splits add up: projects and statuses to the cards.
    assert sum(r["leads"] for r in result["projects"]) == cards["leads"]["value"]
    assert sum(r["spend"] for r in result["projects"]) == pytest.approx(
        cards["spend"]["value"], abs=0.01)
    assert sum(r["leads"] for r in result["statuses"]) == cards["leads"]["value"]
    by_channel = events.groupby("channel")["cost"].sum()
    channels = {r["filter_value"]: r for r in result["channels"]}
    for channel, spent in by_channel.items():
        assert channels[channel]["spend"] == pytest.approx(spent, abs=0.01), channel
    assert sum(r["leads"] for r in result["channels"]) == cards["leads"]["value"]
    statuses = leads.groupby("status").size().to_dict()
    assert {r["status"]: r["leads"] for r in result["statuses"]} == statuses
    assert sum(d["leads"] for d in result["daily"]) == cards["leads"]["value"]
    # The funnel follows these leads: those that ever reached an opportunity, and a win.
    changes = _frame(ctx, """
        SELECT l.id, c.to_status FROM leads l JOIN lead_status_changes c ON c.lead_id = l.id
        WHERE l.company_id = :c AND l.created_at >= CAST(:s AS date)
          AND l.created_at < CAST(:e AS date) + 1""", c=company, s=period["start"],
                     e=period["end"])
    reached = changes.groupby("id")["to_status"].agg(set)
    funnel = {step["stage"]: step["count"] for step in result["funnel"]}
    assert funnel["Leads"] == len(leads)
    assert funnel["Opportunities"] == reached.map(lambda s: bool(s & {"opportunity", "won"})
                                                  ).sum()
    assert funnel["Customers"] == reached.map(lambda s: "won" in s).sum() > 0


def test_a_channel_filter_keeps_that_channels_campaigns_only(ctx, companies):
    scope = _scope(ctx, companies[0])
    assert not filters.resolve(ctx, scope, {}).campaigns.active
    options = filters.options(ctx, scope)
    name = options["channels"][0]
    result = marketing.leads(ctx, scope, {"range": "quarter", "channel": name})
    period = result["filters"]["period"]
    leads = _in_period(_frame(ctx, """
        SELECT l.created_at FROM leads l JOIN campaigns c ON c.id = l.campaign_id
        JOIN channels ch ON ch.id = c.channel_id
        WHERE l.company_id = :c AND ch.name = :n""", c=scope.company_id, n=name),
        "created_at", period)
    assert _cards(result)["leads"]["value"] == len(leads)
    assert result["funnel_note"]  # visitors stay site-wide, and the view says so


def test_sessions_and_their_splits_equal_pandas(ctx, companies):
    scope = _scope(ctx, companies[0])
    result = marketing.traffic(ctx, scope, {"range": "30d", "compare": "year"})
    period = result["filters"]["period"]
    web = _frame(ctx, "SELECT * FROM web_traffic_daily WHERE company_id = :c",
                 c=scope.company_id)
    web["day"] = web["day"].astype(str)
    now = web[(web["day"] >= period["start"]) & (web["day"] <= period["end"])]
    cards = _cards(result)
    assert cards["sessions"]["value"] == now["sessions"].sum()
    assert cards["new_sessions"]["value"] == now.loc[now["visitor_type"] == "new",
                                                     "sessions"].sum()
    assert cards["bounce_rate"]["value"] == pytest.approx(
        now["bounces"].sum() / now["sessions"].sum() * 100)
    assert cards["avg_session_duration"]["value"] == pytest.approx(
        now["duration_seconds"].sum() / now["sessions"].sum())
    for split in ("sources", "devices", "visitor_types"):
        assert sum(r["sessions"] for r in result[split]) == cards["sessions"]["value"]
    by_source = now.groupby("source")["sessions"].sum().to_dict()
    assert {r["value"]: r["sessions"] for r in result["sources"]} == by_source
    compare = result["filters"]["compare"]
    assert compare["days"] == period["days"]
    earlier = web[(web["day"] >= compare["start"]) & (web["day"] <= compare["end"])]
    assert cards["sessions"]["previous"] == earlier["sessions"].sum()
    assert len(result["compare_daily"]) == len(result["daily"]) == period["days"]


def test_content_equals_pandas(ctx, companies):
    scope = _scope(ctx, companies[0])
    result = marketing.content(ctx, scope, {"range": "year"})
    period = result["filters"]["period"]
    items = _frame(ctx, "SELECT * FROM content_items WHERE company_id = :c",
                   c=scope.company_id)
    items["published_on"] = items["published_on"].astype(str)
    now = items[(items["published_on"] >= period["start"])
                & (items["published_on"] <= period["end"])]
    assert len(now) > 0
    cards = _cards(result)
    assert cards["views"]["value"] == now["views"].sum()
    assert cards["engagement_rate"]["value"] == pytest.approx(
        now["engagements"].sum() / now["views"].sum() * 100)
    assert sum(k["views"] for k in result["by_kind"]) == cards["views"]["value"]
    assert result["top_by_views"][0]["views"] == now["views"].max()


@pytest.mark.parametrize("start,end", [("2024-02-01", "2024-03-31"), ("2025-03-01", "2025-03-31"),
                                       ("2024-01-01", "2024-12-31"),
                                       ("2023-01-01", "2025-06-30")])
def test_the_compared_period_has_the_same_length(start, end):
    period = Period(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    for mode in ("previous", "year"):
        other = compare_period(period, mode)
        assert other.days == period.days
        assert other.end < period.start


def test_filters_are_checked_inside_the_company(ctx, companies, jeweller):
    other = _scope(ctx, companies[0])
    assert other.company_id != jeweller.company_id
    theirs = marketing.retailers(ctx, jeweller, {"range": "year"})["retailers"][0]
    with pytest.raises(ValidationError, match="not a retailer of this company"):
        marketing.email_funnel(ctx, other, {"retailer": str(theirs["retailer_id"])})
    with pytest.raises(ValidationError, match="unknown project"):
        marketing.leads(ctx, other, {"project": "'; DROP TABLE leads; --"})
    with pytest.raises(ValidationError, match="unknown compare"):
        marketing.traffic(ctx, other, {"compare": "decade"})
    for forged in ({"compare": ["year"]}, {"channel": {"id": 1}}, {"retailer": [1]},
                   {"range": ["30d"]}, {"project": 7}):
        with pytest.raises(ValidationError):  # what a forged callback may send
            marketing.leads(ctx, other, forged)
    with pytest.raises(ValidationError):
        marketing.content(ctx, other, {"range": "custom", "start": "2026-02-01",
                                       "end": "2026-01-01"})
