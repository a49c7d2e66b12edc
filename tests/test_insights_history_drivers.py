"""The drivers of anomalies and trend turns (issue #20): an anomaly's day(s) against its
baseline (the same weekday of earlier weeks, or the same holiday in other years), a trend
turn's latest weeks against the weeks before it, split exactly by channel, campaign, segment
and location, with mix and rate for ratios; the company's CRM and e-commerce part is its own
group. Checked against pandas over the rollups, and through the API."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from services.access import system_scope
from services.insights import drivers
from services.insights.sentences import company_insights

D = dt.date


def _frame(rows: dict) -> pd.DataFrame:
    base = {column: 0.0 for column in (*drivers.BASE, "revenue", "conversions")}
    return pd.DataFrame({group: {**base, **values} for group, values in rows.items()}).T


def test_revenue_with_no_spend_is_its_groups_own_effect_and_the_split_stays_exact():
    # ROAS = revenue / spend; CRM revenue has no spend: before 100 / 200, after 300 / 200.
    before = _frame({"Google": {"spend": 100, "revenue": 200},
                     drivers.OTHER: {"revenue": 100}})
    after = _frame({"Google": {"spend": 100, "revenue": 200},
                    drivers.OTHER: {"revenue": 300}})
    result = drivers.decompose(before, after, "roas")
    assert (result["before"], result["after"]) == pytest.approx((3.0, 5.0))
    by = {r["group"]: r for r in result["drivers"]}
    assert by[drivers.OTHER]["rate"] == pytest.approx(2.0)
    assert by[drivers.OTHER]["mix"] == pytest.approx(0.0)
    assert by["Google"]["contribution"] == pytest.approx(0.0)
    assert result["mix_total"] + result["rate_total"] == pytest.approx(2.0, abs=1e-12)
    # CPA = spend / conversions: CRM conversions cost nothing, a pure mix effect.
    before = _frame({"Google": {"spend": 100, "conversions": 10},
                     drivers.OTHER: {"conversions": 10}})
    after = _frame({"Google": {"spend": 100, "conversions": 10},
                    drivers.OTHER: {"conversions": 30}})
    cpa = drivers.decompose(before, after, "cpa")
    assert cpa["change"] == pytest.approx(2.5 - 5.0)
    assert sum(r["contribution"] for r in cpa["drivers"]) == pytest.approx(-2.5, abs=1e-12)
    assert {r["group"]: r["rate"] for r in cpa["drivers"]} == pytest.approx(
        {"Google": 0.0, drivers.OTHER: 0.0})


def test_an_anomalys_baseline_is_the_same_weekday_without_holidays_or_the_incident():
    named = {D(2026, 5, 25): "Memorial Day"}
    # Tuesday 2026-06-09 and Wednesday 06-10; a Monday holiday does not matter, 05-26 does not
    # either (a Tuesday, but no holiday): the four earlier Tuesdays and Wednesdays.
    days = [D(2026, 6, 9), D(2026, 6, 10)]
    base = drivers.baseline_days(days, D(2025, 1, 1), named)
    assert base == sorted([D(2026, 6, 9) - dt.timedelta(weeks=w) for w in range(1, 5)]
                          + [D(2026, 6, 10) - dt.timedelta(weeks=w) for w in range(1, 5)])
    # A Memorial Day is skipped and an older Monday taken instead.
    monday = drivers.baseline_days([D(2026, 6, 1)], D(2025, 1, 1), named)
    assert D(2026, 5, 25) not in monday and len(monday) == 4
    assert min(monday) == D(2026, 6, 1) - dt.timedelta(weeks=5)
    # Near the history's start fewer weeks, none before it.
    assert drivers.baseline_days([D(2025, 1, 15)], D(2025, 1, 1), {}) == [D(2025, 1, 1),
                                                                          D(2025, 1, 8)]
    # A holiday judged as one is compared with the same holiday in other years.
    christmases = {D(2024, 12, 25): "Christmas Day", D(2025, 12, 25): "Christmas Day",
                   D(2025, 12, 24): "Christmas Eve"}
    assert drivers.baseline_days([D(2025, 12, 25)], D(2024, 1, 1), christmases,
                                 "Christmas Day") == [D(2024, 12, 25)]


def test_a_trend_turns_periods_are_four_weeks_each_side():
    before, after = drivers.trend_periods(D(2026, 1, 5), 20)
    assert before == {"start": "2025-12-08", "end": "2026-01-04"}
    assert after == {"start": "2026-04-27", "end": "2026-05-24"}


@pytest.fixture(scope="module")
def rollups(config, companies):
    engine = create_engine(config.database_url)
    with engine.connect() as conn:
        ads = pd.read_sql(text("""
            SELECT r.company_id, r.day, ch.name AS channel, r.impressions, r.clicks,
                   r.conversions, r.spend, r.revenue
            FROM rollup_campaign_daily r JOIN campaigns c ON c.id = r.campaign_id
            JOIN channels ch ON ch.id = c.channel_id"""), conn)
        sales = pd.read_sql(text(
            "SELECT company_id, day, conversions, revenue FROM rollup_sales_daily"), conn)
    engine.dispose()
    return ads, sales


def _independent(ads, sales, company_id, channel, days, metric) -> float:
    """The metric over an average day of ``days``, from the raw rollups with pandas."""
    part = ads[(ads.company_id == company_id) & ads.day.isin(days)]
    if channel is not None:
        part = part[part.channel == channel]
    other = sales[(sales.company_id == company_id) & sales.day.isin(days)] \
        if channel is None else sales.iloc[0:0]
    n = len(days)
    sums = {"impressions": part.impressions.sum(), "clicks": part.clicks.sum(),
            "ad_conversions": part.conversions.sum(), "spend": float(part.spend.sum()),
            "ad_revenue": float(part.revenue.sum())}
    sums["revenue"] = sums["ad_revenue"] + float(other.revenue.sum())
    sums["conversions"] = sums["ad_conversions"] + float(other.conversions.sum())
    ratios = {"ctr": ("clicks", "impressions", 100), "conversion_rate":
              ("ad_conversions", "clicks", 100), "cpc": ("spend", "clicks", 1),
              "cpa": ("spend", "conversions", 1), "roas": ("revenue", "spend", 1)}
    if metric in ratios:
        num, den, scale = ratios[metric]
        return sums[num] / sums[den] * scale
    return sums[metric] / n


def _days(period: dict) -> list[dt.date]:
    return [D.fromisoformat(d) for d in period["days"]]


def test_anomaly_and_trend_insights_name_drivers_that_sum_to_the_change(ctx, companies,
                                                                         rollups):
    ads, sales = rollups
    with ctx.session() as session:
        ids = session.execute(text("SELECT id FROM companies ORDER BY id")).scalars().all()
    seen = {"anomaly": 0, "trend_change": 0}
    for company_id in ids:
        scope = system_scope(ctx, company_id)
        for insight in company_insights(ctx, scope, "year")["insights"]:
            evidence = insight["evidence"]
            if not evidence.get("drivers_periods"):
                continue
            kind = "trend_change" if insight["kind"] == "trend_change" else "anomaly"
            seen[kind] += 1
            periods = evidence["drivers_periods"]
            channel = evidence.get("channel")
            for dimension in drivers.DIMENSIONS:
                result = drivers.period_drivers(ctx, scope, evidence["drivers_metric"],
                                                periods["before"], periods["after"],
                                                dimension, channel)
                metric = result["metric"]
                for key, period in (("before", result["period_before"]),
                                    ("after", result["period_after"])):
                    assert result[key] == pytest.approx(_independent(
                        ads, sales, company_id, channel, _days(period), metric), rel=1e-9)
                total = sum(r["contribution"] for r in result["drivers"])
                tolerance = 0.005 if result["unit"] == "USD" and result["mix_total"] is None \
                    else 1e-9
                assert total == pytest.approx(result["change"], abs=tolerance)
                if result["mix_total"] is not None:
                    assert result["mix_total"] + result["rate_total"] == pytest.approx(
                        result["change"], abs=1e-9)
                if dimension == evidence["drivers_dimension"]:
                    assert evidence["drivers"] == result["drivers"][:3]
                    assert drivers.driver_sentence(result)[1:] in insight["text"]
            if kind == "anomaly" and channel is None and len(_days(
                    periods["after"] if "days" in periods["after"] else
                    result["period_after"])) == 1 and evidence["metric"] in (
                    "spend", "revenue", "clicks", "impressions", "conversions"):
                # One day of a sum: the split starts from exactly the anomaly's value.
                assert evidence["drivers_after"] == pytest.approx(evidence["value"],
                                                                  rel=1e-9)
            print(f"\n{insight['text']}")
    assert seen["anomaly"] >= 3 and seen["trend_change"] >= 1, seen


def test_the_api_answers_for_anomalies_and_trend_turns_with_the_same_numbers(
        client_for, companies):
    client = client_for("admin")
    checked = set()
    for slug in companies:
        query = f"range=year&company={slug}"
        for insight in client.get(f"/api/v1/insights?{query}").json["insights"]:
            evidence = insight["evidence"]
            if insight["kind"] == "change" or not evidence.get("drivers_periods"):
                continue
            answer = client.get(f"/api/v1/insights/{insight['id']}/drivers?{query}")
            assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
            body = answer.json
            assert body["dimension"] == evidence["drivers_dimension"]
            assert body["drivers"][:3] == evidence["drivers"]
            assert body["change"] == pytest.approx(evidence["drivers_change"], rel=1e-12)
            assert sum(r["contribution"] for r in body["drivers"]) == pytest.approx(
                body["change"], abs=0.005)
            by_location = client.get(
                f"/api/v1/insights/{insight['id']}/drivers?{query}&dimension=location").json
            assert by_location["change"] == pytest.approx(body["change"], rel=1e-9)
            checked.add(insight["kind"])
    assert {"anomaly", "trend_change"} <= checked


def test_the_worker_fits_the_drivers_requests_read(ctx, companies):
    """The drivers of the default period's anomalies and turns are a history model: the
    worker's pass stores them per history version, so the view's first request reads them."""
    from services.insights import precompute
    from services.insights.store import _name

    with ctx.session() as session:
        ids = session.execute(text("SELECT id FROM companies ORDER BY id")).scalars().all()
    warmed = 0
    for company_id in ids:
        precompute.refresh(ctx, [company_id])
        scope = system_scope(ctx, company_id)
        for insight in company_insights(ctx, scope, "30d")["insights"]:
            evidence = insight["evidence"]
            if not evidence.get("drivers_periods"):
                continue
            periods = evidence["drivers_periods"]
            name = _name(drivers.split_model.uncached, {
                "metric": evidence["drivers_metric"], "before": periods["before"],
                "after": periods["after"], "dimension": evidence["drivers_dimension"],
                "channel": evidence.get("channel")})
            with ctx.session() as session:
                stored = session.execute(text("""
                    SELECT r.history_version = v.history_version FROM insight_results r
                    JOIN data_versions v USING (company_id)
                    WHERE r.company_id = :c AND r.name = :n"""),
                    {"c": company_id, "n": name}).scalar()
            assert stored is True, (company_id, name)
            warmed += 1
    assert warmed >= 1
