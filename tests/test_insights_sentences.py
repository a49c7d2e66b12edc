"""Insight sentences carry numbers equal to the underlying service values, and evidence that
points at them; benchmarks never reveal a single other company's number."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from services.access import system_scope
from services.insights.anomalies import company_anomalies
from services.insights.benchmarks import MIN_PEERS, NOT_ENOUGH, company_benchmarks
from services.insights.sentences import company_insights, fmt_pct, fmt_value
from services.insights.trends import company_trend_changes
from services.kpis import executive_breakdowns, executive_kpis


@pytest.fixture(scope="module")
def company_ids(ctx):
    with ctx.session() as session:
        return [row[0] for row in session.execute(text("SELECT id FROM companies ORDER BY id"))]


def _check(insight, ctx, company_id, range_name):
    evidence, words = insight["evidence"], insight["text"]
    unit = evidence["unit"]
    if insight["kind"] == "anomaly":
        (match,) = [a for a in company_anomalies(ctx, company_id)["anomalies"]
                    if a["metric"] == evidence["metric"] and a["channel"] == evidence["channel"]
                    and a["date"] == evidence["date"] and a["grain"] == "day"]
        for key in ("actual", "expected", "expected_low", "expected_high", "change_pct"):
            assert evidence["value" if key == "actual" else key] == match[key]
        for value in (match["actual"], match["expected"], match["expected_low"],
                      match["expected_high"]):
            assert fmt_value(value, unit) in words
        assert fmt_pct(match["change_pct"]) in words
    elif insight["kind"] == "trend_change":
        (match,) = [t for t in company_trend_changes(ctx, company_id)["trend_changes"]
                    if t["metric"] == evidence["metric"] and t["date"] == evidence["date"]]
        assert evidence["slope_before_pct"] == match["slope_before_pct"]
        assert evidence["slope_after_pct"] == match["slope_after_pct"]
        assert f"{match['slope_before_pct']:+.1f}% a week" in words
        assert f"{match['slope_after_pct']:+.1f}% a week" in words
        assert f"After {round(match['weeks_before'] / (52 / 12))} months" in words
    elif insight["kind"] == "benchmark":
        bench = company_benchmarks(ctx, system_scope(ctx, company_id), range_name)
        (row,) = [m for m in bench["metrics"] if m["metric"] == evidence["metric"]]
        comparison = row[evidence["benchmark_scope"]]
        assert evidence["value"] == row["value"]
        assert evidence["benchmark"] == comparison["average"]
        assert comparison["peers"] >= MIN_PEERS
        assert fmt_value(row["value"], unit) in words
        assert fmt_value(comparison["average"], unit) in words
        assert fmt_pct(comparison["difference_pct"]) in words
    elif insight["kind"] == "change":
        cards = executive_kpis(ctx, system_scope(ctx, company_id), range_name)["cards"]
        (card,) = [c for c in cards if c["metric"] == evidence["metric"]]
        assert (evidence["value"], evidence["expected"]) == (card["value"], card["previous"])
        assert fmt_value(card["value"], unit) in words
        assert fmt_value(card["previous"], unit) in words
        assert fmt_pct(card["change_pct"]) in words
    elif insight["kind"] == "segment":
        bench = company_benchmarks(ctx, system_scope(ctx, company_id), range_name)
        (segment,) = [s for s in bench["segments"] if s["name"] == evidence["segment"]]
        rate = next(m for m in segment["metrics"] if m["metric"] == "conversion_rate")
        assert evidence["value"] == rate["value"]
        assert fmt_value(rate["value"], "%") in words
        assert f"{evidence['multiple']:,.2f}x" in words


@pytest.mark.parametrize("range_name", ["quarter", "year"])
def test_sentence_numbers_equal_the_service_values(ctx, company_ids, range_name):
    kinds = set()
    for company_id in company_ids:
        result = company_insights(ctx, system_scope(ctx, company_id), range_name)
        importance = [i["importance"] for i in result["insights"]]
        assert importance == sorted(importance, reverse=True)
        for insight in result["insights"]:
            kinds.add(insight["kind"])
            _check(insight, ctx, company_id, range_name)
            assert insight["evidence"]["metric"] and insight["evidence"]["period"]
        channels = executive_breakdowns(ctx, system_scope(ctx, company_id), range_name)["channels"]
        roas = {c["channel"]: c["roas"] for c in channels}
        for action in result["actions"]:
            if action["text"].startswith("Shift budget"):
                evidence = action["evidence"]
                assert evidence["from_roas"] == roas[evidence["from"]]
                assert evidence["to_roas"] == roas[evidence["to"]]
                assert f"({evidence['from']} (ROAS {evidence['from_roas']:,.1f})" \
                    in f"({action['text'][len('Shift budget from '):]}"
    if range_name == "year":
        assert {"anomaly", "trend_change", "benchmark"} <= kinds


def test_benchmarks_never_reveal_a_single_other_company(ctx, config, company_ids):
    """No average equals one other company's own ratio; small groups show no number."""
    engine = create_engine(config.database_url)
    for company_id in company_ids[:3]:
        bench = company_benchmarks(ctx, system_scope(ctx, company_id), "quarter")
        start, end = bench["period"]["start"], bench["period"]["end"]
        frame = pd.read_sql(
            "SELECT company_id, SUM(clicks)::float8 AS clicks, "
            "SUM(impressions)::float8 AS impressions, SUM(spend)::float8 AS spend, "
            "SUM(revenue)::float8 AS revenue, SUM(conversions)::float8 AS conversions "
            "FROM rollup_campaign_daily WHERE day BETWEEN %(s)s AND %(e)s "
            "AND company_id <> %(c)s GROUP BY company_id", engine,
            params={"s": start, "e": end, "c": company_id})
        singles = {
            "ctr": frame.clicks / frame.impressions * 100,
            "conversion_rate": frame.conversions / frame.clicks * 100,
            "cpc": frame.spend / frame.clicks, "ad_cpa": frame.spend / frame.conversions,
            "ad_roas": frame.revenue / frame.spend,
        }
        for row in bench["metrics"]:
            for scope in ("industry", "global"):
                comparison = row[scope]
                if comparison["peers"] < MIN_PEERS:
                    assert comparison["status"] == NOT_ENOUGH and comparison["average"] is None
                    continue
                for single in singles[row["metric"]]:
                    assert comparison["average"] != pytest.approx(single, rel=1e-9)
            if row["global"]["status"] == "ok":
                # the global average is the equal-weight mean over the other companies
                assert row["global"]["average"] == pytest.approx(
                    singles[row["metric"]].mean(), rel=1e-9)
    engine.dispose()
    # Industries of the demo hold two companies or fewer: never enough peers.
    bench = company_benchmarks(ctx, system_scope(ctx, company_ids[0]), "quarter")
    assert all(m["industry"]["status"] == NOT_ENOUGH for m in bench["metrics"])
