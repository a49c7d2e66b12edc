"""The competitive view's numbers against pandas over the stored rows of the demo data:
market share and spend as the stored ranges (the company's own from its business metrics and
rollups), shares of voice recomputed from the voice volumes, gaps and threats recomputed
independently here; no competitor estimate is ever a point."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from layouts import format as fmt
from services import competitive
from services.access import CLI_USER, choose_company, system_scope

JEWELLER = "bellini-gioielli"
RAW = {"range": "year"}


def _frame(ctx, sql: str, **params) -> pd.DataFrame:
    with ctx.session() as session:
        return pd.read_sql_query(text(sql), session.connection(), params=params)


@pytest.fixture(scope="module")
def jeweller(ctx, companies):
    return system_scope(ctx, choose_company(ctx, CLI_USER, JEWELLER).id)


@pytest.fixture(scope="module")
def estimates(ctx, jeweller) -> pd.DataFrame:
    frame = _frame(ctx, "SELECT * FROM competitor_estimates WHERE company_id = :c",
                   c=jeweller.company_id)
    frame["month"] = frame["month"].astype(str)
    return frame


def test_market_share_and_spend_are_the_stored_ranges_and_the_companys_own_data(
        ctx, jeweller, estimates):
    shares = competitive.market_share(ctx, jeweller, RAW)
    spend = competitive.spend_estimates(ctx, jeweller, RAW)
    assert shares["has_data"] and len(shares["months"]) == 12
    own_share = _frame(ctx, "SELECT month::text, market_share_pct FROM "
                            "business_metrics_monthly WHERE company_id = :c",
                       c=jeweller.company_id).set_index("month")["market_share_pct"]
    ads = _frame(ctx, """SELECT to_char(day, 'YYYY-MM-01') AS month, SUM(spend)::float8 AS s
                         FROM rollup_campaign_daily WHERE company_id = :c GROUP BY 1""",
                 c=jeweller.company_id).set_index("month")["s"]
    for result, metric in ((shares, "market_share"), (spend, "ad_spend")):
        for brand in result["brands"]:
            for point in brand["series"]:
                if brand["own"]:
                    expected = (own_share if metric == "market_share" else ads)[point["month"]]
                    assert point["low"] == point["high"] == pytest.approx(expected)
                    assert point["exact"]
                    continue
                row = estimates[(estimates.competitor_id == brand["id"])
                                & (estimates.metric == metric)
                                & (estimates.month == point["month"])].iloc[0]
                assert (point["low"], point["high"]) == pytest.approx((row.low, row.high))
                assert point["low"] < point["high"] and not point["exact"]
                assert "–" in fmt.value_range(point, "%")  # shown as a range, never a point
            if not brand["own"]:
                assert brand["method"] and brand["source"]


def test_share_of_voice_is_recomputed_from_the_volumes_of_the_named_brands(ctx, jeweller,
                                                                          estimates):
    result = competitive.share_of_voice(ctx, jeweller, RAW)
    voice = estimates[estimates.metric == "voice"]
    names = {0: jeweller.company.name, **{c["id"]: c["name"] for c in
                                          competitive.list_competitors(ctx, jeweller)[
                                              "competitors"]}}
    assert {c["channel"] for c in result["channels"]} == set(voice.channel)
    for channel in result["channels"]:
        for denominator in channel["denominators"]:
            month = voice[(voice.channel == channel["channel"])
                          & (voice.month == denominator["month"])]
            assert sorted(denominator["brands"]) == sorted(names[b] for b in month.competitor_id)
            assert denominator["total_low"] == pytest.approx(month.low.sum())
            assert channel["channel"] in denominator["text"]
        for brand in channel["brands"]:
            for point in brand["series"]:
                month = voice[(voice.channel == channel["channel"])
                              & (voice.month == point["month"])].set_index("competitor_id")
                own = month.loc[brand["id"]]
                others = month.drop(brand["id"])
                low = own.low / (own.low + others.high.sum()) * 100
                high = own.high / (own.high + others.low.sum()) * 100
                assert (point["low"], point["high"]) == pytest.approx((low, high))
                assert point["low"] < point["high"]


def test_gaps_are_recomputed_independently(ctx, jeweller, estimates):
    result = competitive.gaps(ctx, jeweller, RAW)
    month = result["reference_month"]
    assert month == "2026-06-01"
    own_share = _frame(ctx, "SELECT market_share_pct FROM business_metrics_monthly "
                            "WHERE company_id = :c AND month = :m", c=jeweller.company_id,
                       m=month).iloc[0, 0]
    checked = 0
    for row in result["rows"]:
        if row["metric"] not in ("market_share", "social_followers"):
            continue
        them = estimates[(estimates.competitor_id == row["competitor_id"])
                         & (estimates.metric == row["metric"]) & (estimates.month == month)
                         ].iloc[0]
        if row["metric"] == "market_share":
            own_low = own_high = own_share
        else:
            own = estimates[(estimates.competitor_id == 0)
                            & (estimates.metric == "social_followers")
                            & (estimates.month == month)].iloc[0]
            own_low, own_high = own.low, own.high
        gap_low, gap_high = own_low - them.high, own_high - them.low
        assert (row["gap"]["low"], row["gap"]["high"]) == pytest.approx((gap_low, gap_high))
        expected = "leads" if gap_low > 0 else "trails" if gap_high < 0 else "level"
        assert row["verdict"] == expected
        checked += 1
    assert checked >= 6


def test_threats_are_ranked_by_a_score_recomputed_from_midpoints(ctx, jeweller, estimates):
    result = competitive.threats(ctx, jeweller, RAW)
    month, before = result["reference_month"], result["compared_from"]
    assert (month, before) == ("2026-06-01", "2026-03-01")

    def mid(cid, metric, when):
        row = estimates[(estimates.competitor_id == cid) & (estimates.metric == metric)
                        & (estimates.month == when) & (estimates.channel == "all")].iloc[0]
        return (row.low + row.high) / 2

    sov = competitive.share_of_voice(ctx, jeweller, RAW)
    for threat in result["threats"]:
        cid = threat["competitor_id"]
        share = mid(cid, "market_share", month) - mid(cid, "market_share", before)
        spend = (mid(cid, "ad_spend", month) / mid(cid, "ad_spend", before) - 1) * 100
        changes = []
        for channel in sov["channels"]:
            series = {p["month"]: p for p in next(b for b in channel["brands"]
                                                  if b["id"] == cid)["series"]}
            changes.append((series[month]["low"] + series[month]["high"]) / 2
                           - (series[before]["low"] + series[before]["high"]) / 2)
        score = 2 * share + sum(changes) / len(changes) + spend / 10
        assert threat["score"] == pytest.approx(score)
        assert threat["share_change_pp"] == pytest.approx(share)
        assert threat["level"] == competitive.level_of(score)
        assert threat["competitor"] in threat["sentence"] and threat["evidence"]
    scores = [t["score"] for t in result["threats"]]
    assert scores == sorted(scores, reverse=True)
    # The demo data's surging competitor leads, with its announcements as evidence.
    assert result["threats"][0]["level"] == "critical"
    assert any("national TV" in line for line in result["threats"][0]["evidence"])
    assert 2 <= len(result["recommendations"]) <= 3
    assert all(r["evidence"] for r in result["recommendations"])
