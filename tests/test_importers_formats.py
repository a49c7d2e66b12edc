"""`campaign-dash import FILE...` over the remaining real exports of issue #12 (LeadSmart's
three files, GA daily sessions, online advertising performance, customer journeys): each
file's every measure, overall and per campaign (or day, or channel), equal to pandas over the
raw file; re-imports change nothing; the clear errors of what a file lacks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from dashapp.cli import main

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LEADSMART = DATA / "leadsmart_assessment"
CAMPAIGNS = LEADSMART / "campaigns_cleaned.csv"
INSIGHTS = LEADSMART / "insights_cleaned.csv"
CHANGES = LEADSMART / "lead_status_changes_cleaned.csv"
GA = DATA / "ga_daily_sessions_forecastga" / "ga_sessions.csv"
ONLINE = DATA / "online_advertising_performance" / "online_advertising_performance_data.csv"
JOURNEYS = DATA / "channel_attribution_journeys" / "Channel_attribution.csv"


@pytest.fixture(scope="module")
def own_config(private_warehouse):
    """A warehouse of this module's own (the imports add companies, campaigns, leads)."""
    return private_warehouse("import_formats", 11)


@pytest.fixture(scope="module")
def own_ctx(own_config):
    from dashapp.runtime import service_context

    return service_context(own_config)


@pytest.fixture(scope="module")
def cli(own_config):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", own_config.database_url)
        patch.setenv("REDIS_URL", own_config.redis_url)
        assert main(["location", "add", "Cairo", "--region", "Egypt", "--country", "EG",
                     "--latitude", "30.04", "--longitude", "31.24"]) == 0
        yield


def run_cli(capsys, *args) -> tuple[int, list[dict]]:
    code = main(["import", *map(str, args), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def new_company(own_ctx, capsys, name: str) -> tuple[str, int]:
    assert main(["company", "add", name]) == 0
    capsys.readouterr()
    with own_ctx.session() as session:
        row = session.execute(text("SELECT slug, id FROM companies WHERE name = :n"),
                              {"n": name}).one()
    return row.slug, row.id


def frame(ctx, sql: str, **params) -> pd.DataFrame:
    with ctx.session() as session:
        result = session.execute(text(sql), params)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def version(ctx, company_id: int) -> int:
    with ctx.session() as session:
        return session.execute(text(
            "SELECT version FROM data_versions WHERE company_id = :c"),
            {"c": company_id}).scalar()


def cents(series) -> pd.Series:
    return (series.astype(float) * 100).round().astype("int64")


def assert_same(got: pd.DataFrame, want: pd.DataFrame, money=(), label="") -> None:
    """Equal per row (index) and overall: counts exactly, money to the cent."""
    got = got.reindex(want.index)
    assert got.notna().all().all(), f"{label}: rows missing"
    for column in want.columns:
        if column in money:
            assert (cents(got[column]) == cents(want[column])).all(), (label, column)
            assert cents(got[column]).sum() == cents(want[column]).sum(), (label, column)
        else:
            assert (got[column].astype("int64") == want[column].astype("int64")).all(), \
                (label, column)


def ratios(totals: dict) -> dict:
    """DESIGN.md's formulas over whatever measures the totals have."""
    out = {}
    if totals.get("impressions"):
        out["ctr"] = totals["clicks"] / totals["impressions"]
    if totals.get("clicks"):
        out["cpc"] = totals["spend"] / totals["clicks"]
    if totals.get("conversions"):
        out["cpa"] = totals["spend"] / totals["conversions"]
        out["conversion_rate"] = totals["conversions"] / totals["clicks"]
    if totals.get("revenue") is not None and totals.get("spend"):
        out["roas"] = totals["revenue"] / totals["spend"]
    if totals.get("leads"):
        out["cpl"] = totals["spend"] / totals["leads"]
    return out


# --------------------------------------------------------------------------- LeadSmart


def leadsmart_stored(ctx, company_id: int) -> dict[str, pd.DataFrame]:
    """Per LeadSmart campaign id: the insights' measures from the events, the daily rollup
    and ad_stats_daily (with reach)."""
    with ctx.session() as session:
        # Statistics after the import: with the new company's 7,000 campaigns and 70,000
        # events unseen, the planner joined them by nested loop (minutes on a layout by
        # company, where no ad_events index leads with the partition's company_id).
        session.execute(text("ANALYZE campaigns, ad_events, rollup_campaign_daily, "
                             "ad_stats_daily"))
    out = {}
    for name, table, spend, reach in (
            ("events", "ad_events", "cost", None),
            ("rollup", "rollup_campaign_daily", "spend", None),
            ("stats", "ad_stats_daily", "spend", "reach")):
        extra = f", SUM(t.{reach}) AS reach" if reach else ""
        out[name] = frame(ctx, f"""
            SELECT k.source_key AS campaign_id, SUM(t.impressions) AS impressions,
                   SUM(t.clicks) AS clicks, SUM(t.{spend}) AS spend{extra}
            FROM campaigns k
            JOIN {table} t ON t.company_id = k.company_id AND t.campaign_id = k.id
            WHERE k.company_id = :c AND k.source = 'leadsmart-campaigns'
            GROUP BY 1""", c=company_id).set_index("campaign_id")
    return out


def leadsmart_expected() -> dict:
    insights = pd.read_csv(INSIGHTS, dtype={"campaign_id": str})
    per_campaign = insights.groupby("campaign_id")[["impressions", "clicks", "spend",
                                                    "reach"]].sum()
    changes = pd.read_csv(CHANGES, dtype={"lead_id": str}, parse_dates=["created_at"])
    return {"insights": insights, "per_campaign": per_campaign, "changes": changes,
            "campaigns": pd.read_csv(CAMPAIGNS, dtype={"id": str})}


def assert_leadsmart_matches_pandas(ctx, company_id: int) -> None:
    want = leadsmart_expected()
    per_campaign = want["per_campaign"]
    for name, got in leadsmart_stored(ctx, company_id).items():
        columns = ["impressions", "clicks", "spend", *(["reach"] if name == "stats" else [])]
        assert_same(got, per_campaign[columns], money=("spend",), label=name)
        assert len(got) == len(per_campaign)  # no campaign with activity the file lacks

    # campaigns: project, daily budget, dates, channel and goal
    campaigns = want["campaigns"].set_index("id")
    stored = frame(ctx, """
        SELECT k.source_key AS id, k.project, k.daily_budget, k.start_date, k.end_date,
               ch.name AS channel, k.goal
        FROM campaigns k JOIN channels ch ON ch.id = k.channel_id
        WHERE k.company_id = :c AND k.source = 'leadsmart-campaigns'""",
                   c=company_id).set_index("id").reindex(campaigns.index)
    # 265 project names end in a space: stored without it
    assert (stored["project"] == campaigns["project_name"].str.strip()).all()
    assert (cents(stored["daily_budget"]) == cents(campaigns["daily_budget"])).all()
    assert (stored["start_date"].astype(str) == campaigns["start_time"].str[:10]).all()
    assert (stored["end_date"].astype(str) == campaigns["stop_time"].str[:10]).all()
    assert set(stored["channel"]) == {"Facebook"} and set(stored["goal"]) == {"leads"}

    # leads: one per lead_id, created at its first change, status its latest
    changes = want["changes"].sort_values(["lead_id", "created_at"], kind="stable")
    expected_leads = changes.groupby("lead_id").agg(created_at=("created_at", "min"),
                                                     status=("status", "last"))
    leads = frame(ctx, """
        SELECT source_key AS lead_id, created_at, status, campaign_id FROM leads
        WHERE company_id = :c AND source = 'leadsmart'""", c=company_id).set_index("lead_id")
    leads = leads.reindex(expected_leads.index)
    assert len(leads) == changes["lead_id"].nunique() == 26_279
    assert leads["campaign_id"].isna().all()  # campaign_leads.csv is missing
    assert (leads["status"] == expected_leads["status"]).all()
    assert (pd.to_datetime(leads["created_at"], utc=True).dt.tz_localize(None)
            == expected_leads["created_at"]).all()
    stored_changes = frame(ctx, """
        SELECT l.source_key AS lead_id, c.changed_at, c.from_status, c.to_status
        FROM lead_status_changes c JOIN leads l ON l.id = c.lead_id
        WHERE c.company_id = :c AND l.source = 'leadsmart'
        ORDER BY 1, 2""", c=company_id)
    assert len(stored_changes) == len(changes) == 38_924
    previous = changes.groupby("lead_id")["status"].shift()
    assert (stored_changes["to_status"].to_numpy() == changes["status"].to_numpy()).all()
    assert (stored_changes["from_status"].fillna("").to_numpy()
            == previous.fillna("").to_numpy()).all()
    for status, count in changes["status"].value_counts().items():
        assert int((stored_changes["to_status"] == status).sum()) == count

    # the KPIs the files have: CTR, CPC overall and CPL (spend / leads, per company only)
    totals = {m: float(per_campaign[m].sum()) for m in ("impressions", "clicks", "spend")}
    got = leadsmart_stored(ctx, company_id)["rollup"]
    got_totals = {m: float(got[m].astype(float).sum()) for m in totals}
    assert ratios({**got_totals, "leads": len(leads)}) == pytest.approx(
        ratios({**totals, "leads": want["changes"]["lead_id"].nunique()}), rel=1e-9)


def assert_marketing_view_matches_leadsmart(ctx, company_id: int) -> None:
    """The marketing view's leads section over the imported files (issue #13): leads, spend,
    CPL and CTR by project equal pandas over the raw files."""
    from services.access import system_scope
    from services.marketing import leads

    want = leadsmart_expected()
    period = {"range": "custom", "start": "2024-06-01", "end": "2025-10-31"}
    result = leads(ctx, system_scope(ctx, company_id), period)
    insights = want["insights"].merge(
        want["campaigns"][["id", "project_name"]], left_on="campaign_id", right_on="id")
    insights["project"] = insights["project_name"].str.strip()
    days = insights["created_at"].str[:10]
    insights = insights[(days >= period["start"]) & (days <= period["end"])]
    by_project = insights.groupby("project")[["spend", "clicks", "impressions"]].sum()
    first = want["changes"].groupby("lead_id")["created_at"].min().dt.strftime("%Y-%m-%d")
    lead_count = int(((first >= period["start"]) & (first <= period["end"])).sum())
    assert lead_count == 26_279  # every lead falls in the period

    rows = {row["filter_value"]: row for row in result["projects"] if row["filter_value"]}
    assert set(rows) == set(by_project.index)
    for project, expected in by_project.iterrows():
        row = rows[project]
        assert row["spend"] == pytest.approx(expected["spend"], abs=0.005), project
        assert row["ctr"] == pytest.approx(expected["clicks"] / expected["impressions"] * 100
                                           if expected["impressions"] else None), project
        assert row["leads"] == 0 and row["cpl"] is None  # leads name no campaign
    unlinked = [row for row in result["projects"] if row["filter_value"] is None]
    assert [row["leads"] for row in unlinked] == [lead_count]
    cards = {card["metric"]: card for card in result["cards"]}
    spend = float(insights["spend"].sum())
    assert cards["leads"]["value"] == lead_count
    assert cards["spend"]["value"] == pytest.approx(spend, abs=0.01)
    assert cards["cpl"]["value"] == pytest.approx(spend / lead_count)
    assert cards["ctr"]["value"] == pytest.approx(
        insights["clicks"].sum() / insights["impressions"].sum() * 100)
    changes = want["changes"]  # every lead falls in the period: the funnel is all leads'
    reached = changes.groupby("lead_id")["status"].agg(set)
    opportunities = int(reached.map(lambda s: bool(s & {"MEETING_DONE", "HIGH_INTEREST",
                                                        "DONE_DEAL"})).sum())
    customers = int(reached.map(lambda s: "DONE_DEAL" in s).sum())
    assert [step["count"] for step in result["funnel"][1:]] == [lead_count, opportunities,
                                                                customers]
    assert opportunities >= customers > 0
    assert sum(row["leads"] for row in result["statuses"]) == lead_count


def test_leadsmart_insights_before_their_campaigns_are_rejected_with_the_fix(
        own_ctx, cli, capsys):
    slug, company_id = new_company(own_ctx, capsys, "LeadSmart Early")
    code, [summary] = run_cli(capsys, INSIGHTS, "--company", slug, "--location", "Cairo")
    assert code == 1  # every row rejected
    assert summary["format"] == "leadsmart-insights"
    assert summary["rejected"] == 68_717 and summary["imported"] == 0
    assert summary["rejections"][0]["reason"].startswith("unknown LeadSmart campaign '6493'")
    assert any("import campaigns_cleaned.csv first" in fix for fix in summary["fixes"])
    # and without --location, the import says what is missing
    assert main(["import", str(INSIGHTS), "--company", slug]) == 1
    assert "pass --location NAME" in capsys.readouterr().err


def test_leadsmart_three_files_import_and_match_pandas(own_ctx, cli, capsys):
    slug, company_id = new_company(own_ctx, capsys, "LeadSmart Homes")
    # given in any order: the campaigns go first
    code, summaries = run_cli(capsys, INSIGHTS, CHANGES, CAMPAIGNS, "--company", slug,
                              "--location", "Cairo")
    assert code == 0
    by_format = {s["format"]: s for s in summaries}
    assert [s["format"] for s in summaries][0] == "leadsmart-campaigns"
    campaigns = by_format["leadsmart-campaigns"]
    assert (campaigns["imported"], campaigns["rejected"]) == (7_364, 0)
    assert campaigns["ignored_columns"] == ["user_id"]
    insights = by_format["leadsmart-insights"]
    assert (insights["imported"], insights["rejected"], insights["ignored_columns"]) == \
        (68_717, 0, [])
    assert any("second time" in note for note in insights["notes"])  # the 4 repeated days
    changes = by_format["leadsmart-lead-status-changes"]
    assert (changes["imported"], changes["rejected"]) == (38_924, 0)
    assert changes["leads_created"] == 26_279
    assert any("campaign_leads.csv" in note and "missing" in note for note in changes["notes"])
    assert_leadsmart_matches_pandas(own_ctx, company_id)
    assert_marketing_view_matches_leadsmart(own_ctx, company_id)

    # importing the three again changes nothing, not even the data version
    before = version(own_ctx, company_id)
    code, summaries = run_cli(capsys, CAMPAIGNS, INSIGHTS, CHANGES, "--company", slug,
                              "--location", "Cairo")
    assert code == 0
    for summary in summaries:
        assert (summary["imported"], summary["replaced"], summary["rejected"]) == (0, 0, 0)
        assert summary["unchanged"] == summary["rows"]
    assert version(own_ctx, company_id) == before
    assert_leadsmart_matches_pandas(own_ctx, company_id)


def test_leadsmart_restated_insights_and_changes_replace(own_ctx, cli, capsys, tmp_path):
    slug, company_id = new_company(own_ctx, capsys, "LeadSmart Restated")
    assert run_cli(capsys, CAMPAIGNS, INSIGHTS, CHANGES, "--company", slug,
                   "--location", "Cairo")[0] == 0
    insights = pd.read_csv(INSIGHTS, dtype=str)
    insights.loc[0, ["spend", "reach"]] = ["1000.5", "999999"]
    path = tmp_path / "insights_cleaned.csv"
    insights.to_csv(path, index=False)
    code, [summary] = run_cli(capsys, path, "--company", slug, "--location", "Cairo")
    assert (summary["imported"], summary["replaced"], summary["unchanged"]) == \
        (0, 1, 68_716)
    stats = leadsmart_stored(own_ctx, company_id)["stats"]
    want = insights.astype({c: float for c in ("spend", "reach", "clicks", "impressions")}) \
        .groupby("campaign_id")[["impressions", "clicks", "spend", "reach"]].sum()
    assert_same(stats, want, money=("spend",), label="restated")

    changes = pd.read_csv(CHANGES, dtype=str)
    changes.loc[1, "status"] = "DONE_DEAL"  # lead 78536's latest: QUALIFIED -> DONE_DEAL
    path = tmp_path / "lead_status_changes_cleaned.csv"
    changes.to_csv(path, index=False)
    code, [summary] = run_cli(capsys, path, "--company", slug)
    assert (summary["imported"], summary["replaced"], summary["unchanged"]) == \
        (0, 1, 38_923)
    lead = frame(own_ctx, "SELECT status FROM leads WHERE company_id = :c "
                          "AND source_key = '78536'", c=company_id)
    assert lead["status"].tolist() == ["DONE_DEAL"]


# --------------------------------------------------------------------------- GA sessions


def test_ga_sessions_import_with_missing_fields_null_and_match_pandas(own_ctx, cli, capsys):
    slug, company_id = new_company(own_ctx, capsys, "GA Site")
    code, [summary] = run_cli(capsys, GA, "--company", slug)
    assert code == 0 and summary["format"] == "ga-daily-sessions"
    assert (summary["imported"], summary["rejected"]) == (1_827, 0)
    raw = pd.read_csv(GA)
    stored = frame(own_ctx, """
        SELECT day, source, device, visitor_type, sessions, bounces, duration_seconds,
               pageviews, conversions
        FROM web_traffic_daily WHERE company_id = :c ORDER BY day""", c=company_id)
    assert len(stored) == len(raw)
    assert (stored["day"].astype(str).to_numpy() == raw["Date"].to_numpy()).all()
    assert (stored["sessions"].to_numpy() == raw["Target"].astype("int64").to_numpy()).all()
    assert int(stored["sessions"].sum()) == int(raw["Target"].sum()) == 10_154_114
    per_year = stored.groupby(stored["day"].astype(str).str[:4])["sessions"].sum()
    assert (per_year == raw.groupby(raw["Date"].str[:4])["Target"].sum().astype("int64")).all()
    for missing in ("bounces", "duration_seconds", "pageviews", "conversions"):
        assert stored[missing].isna().all(), missing  # NULL, never 0
    assert set(stored["source"]) == set(stored["device"]) == set(stored["visitor_type"]) \
        == {"unknown"}
    # The marketing view's traffic section (issue #13): sessions as the file has them, a dash
    # (None) for what it lacks, the year before to compare.
    from services.access import system_scope
    from services.marketing import traffic

    result = traffic(own_ctx, system_scope(own_ctx, company_id),
                     {"range": "custom", "start": "2019-01-01", "end": "2019-12-31",
                      "compare": "year"})
    cards = {card["metric"]: card for card in result["cards"]}
    in_2019, in_2018 = (raw.loc[raw["Date"].str[:4] == year, "Target"].sum()
                        for year in ("2019", "2018"))
    assert cards["sessions"]["value"] == in_2019
    assert cards["sessions"]["previous"] == in_2018
    for missing in ("new_sessions", "bounce_rate", "avg_session_duration",
                    "pages_per_session"):
        assert cards[missing]["value"] is None, missing
    assert result["sources"] == [{"value": "unknown", "sessions": in_2019, "share": 1.0}]

    before = version(own_ctx, company_id)
    code, [summary] = run_cli(capsys, GA, "--company", slug)
    assert (summary["imported"], summary["replaced"], summary["unchanged"]) == (0, 0, 1_827)
    assert version(own_ctx, company_id) == before


# --------------------------------------------------------------------------- online ads


def online_expected() -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(ONLINE)
    kept = raw.drop_duplicates(keep="first")  # 5 lines repeat earlier ones exactly
    per_campaign = kept.groupby("campaign_number").agg(
        impressions=("displays", "sum"), clicks=("clicks", "sum"),
        conversions=("post_click_conversions", "sum"), spend=("cost", "sum"),
        revenue=("post_click_sales_amount", "sum"), publisher_revenue=("revenue", "sum"))
    return raw, per_campaign


def test_online_advertising_asks_for_a_year(own_ctx, cli, capsys):
    slug, _ = new_company(own_ctx, capsys, "Banner Ads Without Year")
    assert main(["import", str(ONLINE), "--company", slug, "--location", "Cairo"]) == 1
    assert "pass --year YYYY" in capsys.readouterr().err


def test_online_advertising_imports_and_matches_pandas(own_ctx, cli, capsys):
    slug, company_id = new_company(own_ctx, capsys, "Banner Ads")
    code, [summary] = run_cli(capsys, ONLINE, "--company", slug, "--location", "Cairo",
                              "--year", "2020")
    assert code == 0 and summary["format"] == "online-advertising-performance"
    raw, want = online_expected()
    assert (summary["imported"], summary["rejected"]) == (15_403, 5)
    assert {r["row"] for r in summary["rejections"]} == {15_404, 15_405, 15_406, 15_407,
                                                         15_408}
    assert all("in every column" in r["reason"] for r in summary["rejections"])
    assert summary["ignored_columns"] == [] and summary["campaigns_created"] == 3
    assert any("publisher_revenue" in n and "post_click_sales_amount" in n
               for n in summary["notes"])
    for table, spend in (("ad_events", "cost"), ("rollup_campaign_daily", "spend")):
        got = frame(own_ctx, f"""
            SELECT k.source_key AS campaign_number, SUM(t.impressions) AS impressions,
                   SUM(t.clicks) AS clicks, SUM(t.conversions) AS conversions,
                   SUM(t.{spend}) AS spend, SUM(t.revenue) AS revenue
            FROM campaigns k
            JOIN {table} t ON t.company_id = k.company_id AND t.campaign_id = k.id
            WHERE k.company_id = :c GROUP BY 1""", c=company_id).set_index("campaign_number")
        assert_same(got, want.drop(columns="publisher_revenue"),
                    money=("spend", "revenue"), label=table)
        totals = {m: float(got[m].astype(float).sum()) for m in got.columns}
        assert ratios(totals) == pytest.approx(
            ratios({m: float(want[m].sum()) for m in totals}), rel=1e-9)
    details = frame(own_ctx, """
        SELECT k.source_key AS campaign_number, SUM(d.publisher_revenue) AS publisher_revenue,
               COUNT(DISTINCT d.banner) AS banners, COUNT(*) FILTER (WHERE d.placement IS NULL)
               AS no_placement
        FROM ad_event_details d JOIN campaigns k ON k.id = d.campaign_id
        WHERE d.company_id = :c GROUP BY 1""", c=company_id).set_index("campaign_number")
    assert_same(details[["publisher_revenue"]], want[["publisher_revenue"]],
                money=("publisher_revenue",), label="details")
    kept = pd.read_csv(ONLINE, keep_default_na=False).drop_duplicates()  # '#N/A' as text
    assert (details["banners"] == kept.groupby("campaign_number")["banner"].nunique()).all()
    assert (details["no_placement"]
            == (kept["placement"] == "#N/A").groupby(kept["campaign_number"]).sum()).all()
    days = frame(own_ctx, "SELECT MIN(day) AS first, MAX(day) AS last FROM "
                          "rollup_campaign_daily WHERE company_id = :c", c=company_id)
    assert (str(days["first"][0]), str(days["last"][0])) == ("2020-04-01", "2020-06-30")

    before = version(own_ctx, company_id)
    code, [summary] = run_cli(capsys, ONLINE, "--company", slug, "--location", "Cairo",
                              "--year", "2020")
    assert (summary["imported"], summary["replaced"], summary["unchanged"]) == (0, 0, 15_403)
    assert version(own_ctx, company_id) == before


# --------------------------------------------------------------------------- journeys


CHANNEL_MAP = ",".join(f"{code}=Journey channel {code:02d}" for code in range(1, 21))


def journeys_expected() -> tuple[pd.DataFrame, pd.Series]:
    raw = pd.read_csv(JOURNEYS, dtype=str)
    positions = raw.columns[:-1]
    long = raw[positions].stack().dropna().astype(int).rename("code").reset_index()
    long.columns = ["row", "column", "code"]
    touches = long[long["code"] != 21]
    return raw, touches["code"].value_counts().sort_index()


def test_journeys_import_with_a_channel_map_and_match_pandas(own_ctx, cli, capsys):
    slug, company_id = new_company(own_ctx, capsys, "Journey Co")
    code, [summary] = run_cli(capsys, JOURNEYS, "--company", slug, "--channel-map",
                              CHANNEL_MAP)
    assert code == 0 and summary["format"] == "channel-journeys"
    raw, per_code = journeys_expected()
    assert (summary["imported"], summary["rejected"]) == (len(raw), 0) == (2_392, 0)
    assert summary["touchpoints"] == int(per_code.sum())
    stored = frame(own_ctx, """
        SELECT ch.name AS channel, COUNT(*) AS touches,
               COUNT(*) FILTER (WHERE t.converted) AS conversions,
               COUNT(*) FILTER (WHERE t.touched_at IS NOT NULL
                                   OR t.conversion_value IS NOT NULL) AS invented
        FROM touchpoints t JOIN channels ch ON ch.id = t.channel_id
        WHERE t.company_id = :c GROUP BY 1""", c=company_id).set_index("channel")
    want = per_code.rename(lambda code: f"Journey channel {code:02d}")
    assert (stored["touches"].reindex(want.index) == want).all()
    assert int(stored["invented"].sum()) == 0  # no times or values made up
    # every journey converts (ends with 21): one converted touch per journey, on its last
    assert int(stored["conversions"].sum()) == 2_392
    lasts = raw[raw.columns[:-1]].apply(lambda r: r.dropna().iloc[-2], axis=1).astype(int)
    want_conv = lasts.value_counts().rename(lambda code: f"Journey channel {code:02d}")
    assert (stored["conversions"].reindex(want_conv.index) == want_conv).all()
    lengths = frame(own_ctx, "SELECT journey_id, MAX(position) AS n FROM touchpoints "
                             "WHERE company_id = :c GROUP BY 1", c=company_id)
    assert int(lengths["n"].sum()) == int(per_code.sum())
    # New journeys move the history version on: attribution results are stored per version.
    history = frame(own_ctx, "SELECT history_version FROM data_versions WHERE company_id = :c",
                    c=company_id)
    assert len(history) == 1 and int(history["history_version"][0]) >= 1

    before = version(own_ctx, company_id)
    code, [summary] = run_cli(capsys, JOURNEYS, "--company", slug, "--channel-map",
                              CHANNEL_MAP)
    assert (summary["imported"], summary["replaced"], summary["unchanged"]) == (0, 0, 2_392)
    assert version(own_ctx, company_id) == before


def test_journeys_codes_missing_from_the_map_are_rejected(own_ctx, cli, capsys):
    slug, _ = new_company(own_ctx, capsys, "Journey Partial")
    code, [summary] = run_cli(capsys, JOURNEYS, "--company", slug, "--channel-map",
                              "1=Facebook,2=Google Ads", "--dry-run")
    raw = pd.read_csv(JOURNEYS, dtype=str)
    codes = raw[raw.columns[:-1]].apply(pd.to_numeric)
    only_mapped = codes.isin([1, 2, 21]) | codes.isna()
    assert summary["imported"] == int(only_mapped.all(axis=1).sum())
    assert summary["rejected"] == len(raw) - summary["imported"]
    assert any("not in --channel-map" in reason for reason in summary["reasons"])
    assert main(["import", str(JOURNEYS), "--company", slug, "--channel-map", "21=x"]) == 1
    assert "21 is the conversion" in capsys.readouterr().err
    assert np.isfinite(codes.max().max())
