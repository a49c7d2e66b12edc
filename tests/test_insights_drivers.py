"""The drivers of a change (issue #20): contributions by group that sum exactly to the change,
split into mix and rate for ratios, on hand-made cases with known effects and on the demo
data (checked against pandas over the rollup rows)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from services.access import system_scope
from services.errors import ValidationError
from services.insights import drivers


def _frame(rows: dict) -> pd.DataFrame:
    base = {column: 0.0 for column in drivers.BASE}
    return pd.DataFrame({group: {**base, **values} for group, values in rows.items()}).T


def test_a_pure_mix_change():
    # Impressions move from Google (CTR 5 %) to Facebook (CTR 1 %); neither CTR changes.
    before = _frame({"Google": {"impressions": 1000, "clicks": 50},
                     "Facebook": {"impressions": 1000, "clicks": 10}})
    after = _frame({"Google": {"impressions": 500, "clicks": 25},
                    "Facebook": {"impressions": 1500, "clicks": 15}})
    result = drivers.decompose(before, after, "ctr")
    assert (result["before"], result["after"]) == pytest.approx((3.0, 2.0))
    assert result["change"] == pytest.approx(-1.0)
    by = {r["group"]: r for r in result["drivers"]}
    assert by["Google"]["rate"] == pytest.approx(0) and by["Facebook"]["rate"] == pytest.approx(0)
    # Share -25 points of a channel 2.5 pp above the mean, +25 of one 1.5 pp below.
    assert by["Google"]["mix"] == pytest.approx(-0.625)
    assert by["Facebook"]["mix"] == pytest.approx(-0.375)
    assert sum(r["contribution"] for r in result["drivers"]) == pytest.approx(-1.0, abs=1e-12)
    assert result["mix_total"] == pytest.approx(-1.0) and result["rate_total"] == pytest.approx(0)
    assert drivers.driver_sentence(result) == (
        "Mostly because impressions moved away from Google (mix, -0.62 pp).")


def test_a_pure_rate_change():
    before = _frame({"Google": {"clicks": 100, "ad_conversions": 10},
                     "Facebook": {"clicks": 100, "ad_conversions": 10}})
    after = _frame({"Google": {"clicks": 100, "ad_conversions": 10},
                    "Facebook": {"clicks": 100, "ad_conversions": 4}})
    result = drivers.decompose(before, after, "conversion_rate")
    assert result["change"] == pytest.approx(-3.0)  # 10 % -> 7 %
    (top, other) = result["drivers"]
    assert top["group"] == "Facebook" and top["rate"] == pytest.approx(-3.0)
    assert top["mix"] == pytest.approx(0) and other["contribution"] == pytest.approx(0)
    assert drivers.driver_sentence(result) == (
        "Mostly because the conversion rate of Facebook fell (rate, -3.00 pp).")


def test_mix_and_rate_together_and_the_issue_sentence():
    # Clicks move to Facebook, whose conversion rate is below the mean and also falls.
    before = _frame({"Google": {"clicks": 800, "ad_conversions": 80},
                     "Facebook": {"clicks": 200, "ad_conversions": 10}})
    after = _frame({"Google": {"clicks": 400, "ad_conversions": 40},
                    "Facebook": {"clicks": 600, "ad_conversions": 18}})
    result = drivers.decompose(before, after, "conversion_rate")
    assert result["change"] == pytest.approx(5.8 - 9.0)
    by = {r["group"]: r for r in result["drivers"]}
    # By hand: shares 0.8 -> 0.4 and 0.2 -> 0.6; rates 10 -> 10 and 5 -> 3; mean 7.4.
    assert by["Facebook"]["rate"] == pytest.approx((3 - 5) * 0.4)
    assert by["Facebook"]["mix"] == pytest.approx(0.4 * (4 - 7.4))
    assert by["Google"]["mix"] == pytest.approx(-0.4 * (10 - 7.4))
    assert by["Google"]["rate"] == pytest.approx(0)
    total = sum(r["contribution"] for r in result["drivers"])
    assert total == pytest.approx(result["change"], abs=1e-12)
    assert drivers.driver_sentence(result) == (
        "Mostly because clicks moved to Facebook (mix, -1.36 pp), whose conversion rate "
        "also fell (rate, -0.80 pp).")


def test_a_group_that_appears_is_all_mix_and_a_sum_splits_by_its_own_change():
    before = _frame({"Google": {"spend": 100.0, "clicks": 50}})
    after = _frame({"Google": {"spend": 100.0, "clicks": 50},
                    "TikTok": {"spend": 60.0, "clicks": 10}})
    result = drivers.decompose(before, after, "cpc")
    (tiktok,) = [r for r in result["drivers"] if r["group"] == "TikTok"]
    assert tiktok["rate"] == 0 and tiktok["before"] is None
    assert sum(r["contribution"] for r in result["drivers"]) == pytest.approx(
        160 / 60 - 2.0, abs=1e-12)
    spend = drivers.decompose(before, after, "spend")
    assert spend["change"] == 60.0 and spend["drivers"][0]["group"] == "TikTok"
    assert drivers.driver_sentence(spend) == "Mostly because spend on TikTok rose (+$60.00 " \
        "of the +$60.00 change)."


@pytest.fixture(scope="module")
def rollup(config, companies):
    engine = create_engine(config.database_url)
    with engine.connect() as conn:
        rows = pd.read_sql(text("""
            SELECT r.company_id, r.day, r.impressions, r.clicks, r.conversions, r.spend,
                   r.revenue, ch.name AS channel, c.location_id
            FROM rollup_campaign_daily r JOIN campaigns c ON c.id = r.campaign_id
            JOIN channels ch ON ch.id = c.channel_id"""), conn)
    engine.dispose()
    return rows


@pytest.mark.parametrize("metric", ["ctr", "conversion_rate", "ad_roas", "spend"])
def test_on_the_demo_data_the_drivers_sum_to_the_change(ctx, rollup, metric):
    company_id = int(rollup["company_id"].min())
    last = rollup[rollup.company_id == company_id]["day"].max()
    after = {"start": (last - dt.timedelta(days=29)).isoformat(), "end": last.isoformat()}
    before = {"start": (last - dt.timedelta(days=59)).isoformat(),
              "end": (last - dt.timedelta(days=30)).isoformat()}
    scope = system_scope(ctx, company_id)
    rows = rollup[rollup.company_id == company_id]
    for period, key in ((before, "before"), (after, "after")):
        part = rows[(rows.day >= dt.date.fromisoformat(period["start"]))
                    & (rows.day <= dt.date.fromisoformat(period["end"]))]
        independent = {"ctr": part.clicks.sum() / part.impressions.sum() * 100,
                       "conversion_rate": part.conversions.sum() / part.clicks.sum() * 100,
                       "ad_roas": float(part.revenue.sum()) / float(part.spend.sum()),
                       "spend": float(part.spend.sum())}[metric]
        for dimension in drivers.DIMENSIONS:
            result = drivers.change_drivers(ctx, scope, metric, before, after, dimension)
            assert result[key] == pytest.approx(independent, rel=1e-9)
    for dimension in drivers.DIMENSIONS:
        result = drivers.change_drivers(ctx, scope, metric, before, after, dimension)
        total = sum(r["contribution"] for r in result["drivers"])
        tolerance = 0.005 if metric == "spend" else 1e-9  # to the cent, or 1e-9 for ratios
        assert total == pytest.approx(result["change"], abs=tolerance)
        if result["mix_total"] is not None:
            assert result["mix_total"] + result["rate_total"] == pytest.approx(
                result["change"], abs=1e-9)
    channels = drivers.change_drivers(ctx, scope, metric, before, after, "channel")
    assert {r["group"] for r in channels["drivers"]} == set(rows.channel)
    print(f"\n{metric}: {channels['before']:.4f} -> {channels['after']:.4f}; "
          f"{drivers.driver_sentence(channels)}")


def test_bad_requests_are_clear(ctx, companies):
    scope = system_scope(ctx, 1)
    period = {"start": "2026-01-01", "end": "2026-01-31"}
    with pytest.raises(ValidationError):
        drivers.change_drivers(ctx, scope, "nps", period, period)
    with pytest.raises(ValidationError):
        drivers.change_drivers(ctx, scope, "ctr", period, period, "weather")
    with pytest.raises(ValidationError):
        drivers.change_drivers(ctx, scope, "ctr", {"start": "soon"}, period)


def test_change_sentences_name_their_drivers_with_the_cards_numbers(ctx, companies):
    from services.insights.sentences import company_insights
    from services.kpis import executive_kpis

    with ctx.session() as session:
        ids = session.execute(text("SELECT id FROM companies ORDER BY id")).scalars().all()
    explained = 0
    for company_id in ids:
        scope = system_scope(ctx, company_id)
        for range_name in ("30d", "quarter", "year"):
            kpis = executive_kpis(ctx, scope, range_name)
            cards = {c["metric"]: c for c in kpis["cards"]}
            for insight in company_insights(ctx, scope, range_name)["insights"]:
                evidence = insight["evidence"]
                if insight["kind"] != "change" or not evidence.get("drivers"):
                    continue
                result = drivers.change_drivers(ctx, scope, evidence["metric"],
                                                kpis["previous_period"], kpis["period"])
                card = cards[evidence["metric"]]
                assert result["after"] == pytest.approx(card["value"], rel=1e-9)
                assert result["before"] == pytest.approx(card["previous"], rel=1e-9)
                assert insight["text"].endswith(drivers.driver_sentence(result))
                assert evidence["drivers"] == result["drivers"][:3]
                explained += 1
                print(f"\n{insight['text']}")
    assert explained >= 1


def test_the_api_serves_an_insights_drivers_and_refuses_the_rest(client_for, companies):
    client = client_for("admin")  # staff: any company with ?company=
    change = other = None
    for slug in companies:
        for range_name in ("30d", "quarter"):
            query = f"range={range_name}&company={slug}"
            listed = client.get(f"/api/v1/insights?{query}")
            assert listed.status_code == 200
            for insight in listed.json["insights"]:
                if insight["kind"] == "change" and insight["evidence"].get("drivers"):
                    change = change or (query, insight)
                elif insight["kind"] in ("benchmark", "segment"):
                    other = other or (query, insight)
        if change and other:
            break
    assert change and other
    query, insight = change
    answer = client.get(f"/api/v1/insights/{insight['id']}/drivers?{query}&dimension=campaign")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    body = answer.json
    assert body["insight"]["text"] == insight["text"] and body["dimension"] == "campaign"
    assert sum(r["contribution"] for r in body["drivers"]) == pytest.approx(body["change"],
                                                                            abs=1e-9)
    query, insight = other
    refused = client.get(f"/api/v1/insights/{insight['id']}/drivers?{query}")
    assert refused.status_code == 400 and "splits exactly" in refused.json["message"]
    assert client.get(f"/api/v1/insights/insight-99/drivers?{query}").status_code == 404
    query, insight = change
    bad = client.get(f"/api/v1/insights/{insight['id']}/drivers?{query}&dimension=weather")
    assert bad.status_code == 400
