"""`campaign-dash import FILE...` over the real exports in ../shared/data (issue #12): the
format recognised from the header, every valid row in, KPIs equal to pandas over the raw file
(DESIGN.md formulas), re-imports idempotent and restatements replacing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from dashapp.cli import main
from services import importers
from services.errors import ValidationError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
KAGGLE_900 = DATA / "kaggle_marketing_campaign_performance" / "marketing_campaign_dataset.csv"
KAGGLE_2200 = (DATA / "kaggle_marketing_campaign_performance_2200"
               / "marketing_campaign_dataset.csv")
SOURCE = "kaggle-campaign-performance"


@pytest.fixture(scope="module")
def own_config(private_warehouse):
    """A warehouse of this module's own (the imports add companies and campaigns)."""
    return private_warehouse("importers", 5)


@pytest.fixture(scope="module")
def own_ctx(own_config):
    from dashapp.runtime import service_context

    return service_context(own_config)


@pytest.fixture(scope="module")
def cli(own_config):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", own_config.database_url)
        patch.setenv("REDIS_URL", own_config.redis_url)
        yield


def run_cli(capsys, *args) -> tuple[int, list[dict]]:
    code = main(["import", *map(str, args), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def kaggle_expected(path: Path) -> pd.DataFrame:
    """Per Campaign_ID, the measures as README.md derives them, computed by pandas over the
    raw CSV."""
    raw = pd.read_csv(path)
    cost = pd.to_numeric(raw["Acquisition_Cost"].astype(str)
                         .str.replace(r"[$,]", "", regex=True))
    rate_hundredths = (raw["Conversion_Rate"] * 100).round().astype("int64")
    return pd.DataFrame({
        "company": raw["Company"],
        "impressions": raw["Impressions"].astype("int64"),
        "clicks": raw["Clicks"].astype("int64"),
        "conversions": (rate_hundredths * raw["Clicks"] + 50) // 100,
        "spend": cost,
        "revenue": cost * (1 + raw["ROI"]),
    }).set_axis(raw["Campaign_ID"].astype(str))


def stored_per_campaign(ctx, keys: list[str]) -> dict[str, pd.DataFrame]:
    """The same measures per source campaign id, from the events and from the daily rollup
    the dashboards read."""
    out = {}
    for name, table, spend in (("events", "ad_events", "cost"),
                               ("rollup", "rollup_campaign_daily", "spend")):
        with ctx.session() as session:
            rows = session.execute(text(f"""
                SELECT k.source_key, co.name AS company, SUM(t.impressions) AS impressions,
                       SUM(t.clicks) AS clicks, SUM(t.conversions) AS conversions,
                       SUM(t.{spend}) AS spend, SUM(t.revenue) AS revenue
                FROM campaigns k JOIN companies co ON co.id = k.company_id
                JOIN {table} t ON t.company_id = k.company_id AND t.campaign_id = k.id
                WHERE k.source = :source AND k.source_key = ANY(:keys)
                GROUP BY 1, 2"""), {"source": SOURCE, "keys": keys}).all()
        frame = pd.DataFrame(rows, columns=["key", "company", "impressions", "clicks",
                                            "conversions", "spend", "revenue"])
        out[name] = frame.set_index("key")
    return out


def ratios(frame) -> dict:
    """CTR, CPC, CPA, conversion rate and ROAS with DESIGN.md's formulas."""
    total = {m: float(frame[m].sum()) for m in ("impressions", "clicks", "conversions",
                                                 "spend", "revenue")}
    return {"ctr": total["clicks"] / total["impressions"],
            "cpc": total["spend"] / total["clicks"],
            "cpa": total["spend"] / total["conversions"],
            "conversion_rate": total["conversions"] / total["clicks"],
            "roas": total["revenue"] / total["spend"]}


def assert_matches_pandas(ctx, path: Path) -> None:
    expected = kaggle_expected(path)
    for name, got in stored_per_campaign(ctx, expected.index.tolist()).items():
        got = got.reindex(expected.index)
        assert got["impressions"].notna().all(), f"{name}: campaigns missing"
        assert (got["company"] == expected["company"]).all()
        for measure in ("impressions", "clicks", "conversions"):
            assert (got[measure].astype("int64") == expected[measure]).all(), (name, measure)
            assert int(got[measure].sum()) == int(expected[measure].sum())
        for measure in ("spend", "revenue"):  # to the cent, per campaign and overall
            cents = (got[measure].astype(float) * 100).round().astype("int64")
            want = (expected[measure] * 100).round().astype("int64")
            assert (cents == want).all(), (name, measure)
            assert cents.sum() == want.sum()
        assert ratios(got.astype({m: float for m in ("spend", "revenue")})) == \
            pytest.approx(ratios(expected), rel=1e-12)
        # per company too (the tenant's totals)
        by_company = got.groupby("company")[["impressions", "clicks", "conversions"]].sum()
        want_company = expected.groupby("company")[["impressions", "clicks",
                                                    "conversions"]].sum()
        assert (by_company.astype("int64").sort_index() == want_company.sort_index()).all().all()


def assert_rollups_agree(ctx) -> None:
    """The three rollups hold exactly the imported campaigns' events (after replacements;
    the hourly one those of the hours it keeps, rollups.HOURLY_FROM_SQL)."""
    from db.rollups import HOURLY_FROM_SQL

    sums = "SUM(impressions), SUM(clicks), SUM(conversions), SUM({money}), SUM(revenue)"
    with ctx.session() as session:
        per_table = {}
        for table, money, where in (
                ("ad_events", "cost", ""), ("rollup_campaign_daily", "spend", ""),
                ("rollup_campaign_hourly", "spend", ""), ("ad_stats_daily", "spend", ""),
                ("recent ad_events", "cost", f"AND t.occurred_at >= {HOURLY_FROM_SQL}")):
            per_table[table] = sorted(session.execute(text(f"""
                SELECT t.campaign_id, {sums.format(money=money)}
                FROM {table.removeprefix("recent ")} t
                JOIN campaigns k ON k.id = t.campaign_id WHERE k.source IS NOT NULL {where}
                GROUP BY 1""")).all())
        empty = session.execute(text("""
            SELECT (SELECT COUNT(*) FROM rollup_campaign_daily WHERE events <= 0)
                 + (SELECT COUNT(*) FROM rollup_campaign_hourly WHERE events <= 0)""")).scalar()
    first = per_table.pop("ad_events")
    assert per_table.pop("rollup_campaign_hourly") == per_table.pop("recent ad_events")
    assert first and all(rows == first for rows in per_table.values())
    assert empty == 0


def counts(ctx) -> dict:
    with ctx.session() as session:
        return dict(session.execute(text("""
            SELECT (SELECT COUNT(*) FROM ad_events) AS events,
                   (SELECT COUNT(*) FROM import_keys) AS keys,
                   (SELECT COUNT(*) FROM campaigns) AS campaigns,
                   (SELECT COUNT(*) FROM companies) AS companies,
                   (SELECT SUM(version) FROM data_versions) AS versions,
                   (SELECT SUM(spend) FROM rollup_campaign_daily) AS spend""")).one()._mapping)


def test_the_format_is_recognised_from_the_header(tmp_path):
    from services.importers.reading import read_table

    for path in (KAGGLE_900, KAGGLE_2200):
        assert importers.choose_format(read_table(path), None).name == SOURCE
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("when,what,how_much\n2024-01-01,x,3\n")
    with pytest.raises(ValidationError, match="no known format fits its header"):
        importers.choose_format(read_table(unknown), None)


def test_kaggle_900_imports_every_row_and_matches_pandas(own_ctx, cli, capsys):
    before = counts(own_ctx)
    code, [summary] = run_cli(capsys, KAGGLE_900)
    assert code == 0, summary
    assert summary["format"] == SOURCE and summary["rows"] == 900
    assert (summary["imported"], summary["rejected"]) == (900, 0)
    assert summary["ignored_columns"] == []
    assert sorted(c["name"] for c in summary["companies_created"]) == [
        "Alpha Innovations", "DataTech Solutions", "Innovate Industries", "NexGen Systems",
        "TechCorp"]
    assert summary["campaigns_created"] == 900
    after = counts(own_ctx)
    assert after["events"] - before["events"] == 900
    assert_matches_pandas(own_ctx, KAGGLE_900)
    with own_ctx.session() as session:
        campaign = session.execute(text("""
            SELECT k.name, k.goal, ch.name AS channel, s.name AS segment, k.target_audience,
                   l.name AS location, k.language, k.start_date, k.end_date,
                   k.engagement_score, k.status
            FROM campaigns k JOIN channels ch ON ch.id = k.channel_id
            JOIN segments s ON s.id = k.segment_id JOIN locations l ON l.id = k.location_id
            WHERE k.source = :s AND k.source_key = '1'"""), {"s": SOURCE}).one()
    assert tuple(campaign) == ("Email campaign 1", "Email", "Google Ads", "Health & Wellness",
                               "Men 18-24", "Chicago", "Spanish", dt.date(2021, 1, 1),
                               dt.date(2021, 1, 30), 6, "completed")


def test_reimporting_the_same_file_changes_nothing(own_ctx, cli, capsys):
    before = counts(own_ctx)
    code, [summary] = run_cli(capsys, KAGGLE_900)
    assert code == 0
    assert (summary["imported"], summary["replaced"], summary["unchanged"]) == (0, 0, 900)
    assert summary["campaigns_created"] == summary["campaigns_updated"] == 0
    assert counts(own_ctx) == before  # no event, key, campaign or data version changed


def test_kaggle_2200_restates_the_900_and_matches_pandas(own_ctx, cli, capsys):
    before = counts(own_ctx)
    code, [summary] = run_cli(capsys, KAGGLE_2200)
    assert code == 0, summary
    # rows 1-900 are the same campaigns with ROI rounded to 1 decimal: restated where the
    # rounding changed the revenue, unchanged where it did not
    raw900, raw2200 = pd.read_csv(KAGGLE_900), pd.read_csv(KAGGLE_2200)
    changed = int((raw900["ROI"] != raw2200["ROI"].iloc[:900]).sum())
    assert summary["imported"] == 1300 and summary["rejected"] == 0
    assert (summary["replaced"], summary["unchanged"]) == (changed, 900 - changed)
    assert counts(own_ctx)["events"] - before["events"] == 1300
    assert_matches_pandas(own_ctx, KAGGLE_2200)
    assert_rollups_agree(own_ctx)


def test_a_restated_file_replaces_the_rows_it_restates(own_ctx, cli, capsys, tmp_path):
    raw = pd.read_csv(KAGGLE_2200)
    corrected = raw.copy()
    corrected.loc[[0, 5, 7], "Acquisition_Cost"] += 1000.25
    corrected.loc[10, "Clicks"] += 3
    path = tmp_path / "corrected.csv"
    corrected.to_csv(path, index=False)
    before = counts(own_ctx)
    with own_ctx.session() as session:
        versions = dict(session.execute(text(
            "SELECT c.name, v.version FROM data_versions v JOIN companies c "
            "ON c.id = v.company_id")).all())
    code, [summary] = run_cli(capsys, path)
    assert code == 0
    assert (summary["imported"], summary["replaced"], summary["unchanged"]) == (0, 4, 2196)
    after = counts(own_ctx)
    assert after["events"] == before["events"]  # replaced, not added
    assert_matches_pandas(own_ctx, path)
    with own_ctx.session() as session:
        bumped = dict(session.execute(text(
            "SELECT c.name, v.version FROM data_versions v JOIN companies c "
            "ON c.id = v.company_id")).all())
    restated_companies = set(raw.loc[[0, 5, 7, 10], "Company"])
    for name, version in bumped.items():
        assert (version > versions[name]) == (name in restated_companies), name
    # the original again: the four rows go back
    code, [summary] = run_cli(capsys, KAGGLE_2200)
    assert (summary["replaced"], summary["unchanged"]) == (4, 2196)
    assert_matches_pandas(own_ctx, KAGGLE_2200)
    assert_rollups_agree(own_ctx)


def test_bad_rows_are_kept_with_reasons_and_the_fix_is_named(own_ctx, cli, capsys,
                                                              tmp_path):
    raw = pd.read_csv(KAGGLE_900, dtype=str)
    bad = raw.copy()
    bad.loc[0, "Clicks"] = "many"
    bad.loc[1, "Date"] = "01/02/2021"
    bad.loc[2, "Location"] = "Atlantis"
    bad.loc[3, "Acquisition_Cost"] = "1e30"
    bad.loc[4, "Company"] = ""
    bad.loc[5, "Duration"] = "a month"
    bad.loc[6, ["Campaign_ID", "Company"]] = bad.loc[7, ["Campaign_ID", "Company"]]
    bad["Campaign_ID"] = "bad-" + bad["Campaign_ID"]  # campaigns of their own
    bad["Extra"] = "x"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    before = counts(own_ctx)
    code, [summary] = run_cli(capsys, path, "--dry-run")
    assert summary["dry_run"] and counts(own_ctx) == before  # a dry run stores nothing
    code, [summary] = run_cli(capsys, path)
    assert code == 0
    assert summary["rejected"] == 7 and summary["imported"] == 893
    reasons = {r["row"]: r["reason"] for r in summary["rejections"]}
    assert reasons[1] == "Clicks must be a number, got 'many'"
    assert reasons[2].startswith("Date is not a date (YYYY-MM-DD), got '01/02/2021'")
    assert reasons[3] == "unknown location 'Atlantis'"
    assert "Acquisition_Cost is above" in reasons[4]
    assert reasons[5] == "missing Company"
    assert reasons[6].startswith("Duration must be a number of days")
    assert reasons[8].startswith("duplicate natural key")
    assert summary["ignored_columns"] == ["Extra"]
    fixes = " | ".join(summary["fixes"])
    assert "YYYY-MM-DD" in fixes and "use a location the warehouse knows" in fixes
    with own_ctx.session() as session:
        kept = session.execute(text(
            "SELECT row_number, reason, raw FROM rejected_rows WHERE import_run_id = :r "
            "ORDER BY row_number"), {"r": summary["import_run_id"]}).all()
    assert [k.row_number for k in kept] == [1, 2, 3, 4, 5, 6, 8]
    assert kept[0].raw.startswith("bad-1,Innovate Industries,Email,")


def test_company_scope_keeps_other_companies_rows_out(own_ctx, cli, capsys):
    with own_ctx.session() as session:
        slug = session.execute(text(
            "SELECT slug FROM companies WHERE name = 'TechCorp'")).scalar()
    code, [summary] = run_cli(capsys, KAGGLE_900, "--company", slug, "--dry-run")
    raw = pd.read_csv(KAGGLE_900)
    others = int((raw["Company"] != "TechCorp").sum())
    assert summary["rejected"] == others
    # its campaigns hold the 2,200-row file's values now: restated or unchanged, none new
    assert summary["imported"] == 0
    assert summary["unchanged"] + summary["replaced"] == len(raw) - others
    assert "import without --company" in " ".join(summary["fixes"])


def test_cli_text_summary_says_what_it_recognised(own_ctx, cli, capsys, tmp_path):
    assert main(["import", str(KAGGLE_900), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "recognised as Kaggle marketing campaign performance" in out
    assert "--format kaggle-campaign-performance" in out and "dry run" in out
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("when,what,how_much\n2024-01-01,x,3\n")
    assert main(["import", str(unknown), "--company", "x"]) == 1
    assert "no known format fits" in capsys.readouterr().err


def test_rows_per_second_is_reported(own_ctx, cli, capsys):
    code, [summary] = run_cli(capsys, KAGGLE_2200, "--dry-run")
    assert summary["rows_per_second"] > 0 and np.isfinite(summary["seconds"])


FACEBOOK = DATA / "fb_ad_conversions_kag" / "KAG_conversion_data.csv"
FB_SOURCE = "facebook-ad-conversions"


def test_facebook_asks_for_a_date_and_a_location(own_ctx, cli, capsys):
    code, [summary] = run_cli(capsys, FACEBOOK, "--company", "techcorp")
    assert code == 1 and "has no dates: pass --start" in summary["error"]
    code, [summary] = run_cli(capsys, FACEBOOK, "--company", "techcorp", "--start",
                              "2017-08-17")
    assert "has no location: pass --location" in summary["error"]
    code, [summary] = run_cli(capsys, FACEBOOK, "--start", "2017-08-17", "--location",
                              "Chicago")
    assert "no company column: pass --company SLUG" in summary["error"]


def test_facebook_imports_every_ad_and_matches_pandas(own_ctx, cli, capsys):
    raw = pd.read_csv(FACEBOOK, encoding="utf-8-sig")
    args = (FACEBOOK, "--company", "techcorp", "--start", "2017-08-17", "--end",
            "2017-08-30", "--location", "Chicago")
    before = counts(own_ctx)
    code, [summary] = run_cli(capsys, *args)
    assert code == 0, summary
    assert summary["format"] == FB_SOURCE and summary["encoding"].startswith("utf-8-sig")
    assert summary["line_ending"] == "CRLF"
    assert (summary["imported"], summary["rejected"]) == (len(raw), 0) == (1143, 0)
    assert summary["ignored_columns"] == ["Approved_Conversion"]
    assert summary["campaigns_created"] == raw["fb_campaign_id"].nunique()
    assert counts(own_ctx)["events"] - before["events"] == 1143

    with own_ctx.session() as session:
        stored = pd.DataFrame(session.execute(text("""
            SELECT k.source_key, k.project, s.name AS segment, k.target_audience,
                   k.start_date, k.end_date, SUM(r.impressions) AS impressions,
                   SUM(r.clicks) AS clicks, SUM(r.conversions) AS conversions,
                   SUM(r.spend) AS spend
            FROM campaigns k JOIN companies c ON c.id = k.company_id
            JOIN segments s ON s.id = k.segment_id
            JOIN rollup_campaign_daily r ON r.campaign_id = k.id
            WHERE c.slug = 'techcorp' AND k.source = :s GROUP BY 1, 2, 3, 4, 5, 6"""),
            {"s": FB_SOURCE}).all()).set_index("source_key")
    raw["key"] = raw["fb_campaign_id"].astype(str)
    spent = raw["Spent"].round(4)  # NUMERIC(14, 4), as README.md says
    want = raw.assign(spent=spent).groupby("key").agg(
        impressions=("Impressions", "sum"), clicks=("Clicks", "sum"),
        conversions=("Total_Conversion", "sum"), spend=("spent", "sum"),
        project=("xyz_campaign_id", "first"), age=("age", "first"),
        gender=("gender", "first"), interest=("interest", "first"))
    stored = stored.reindex(want.index)
    for measure in ("impressions", "clicks", "conversions"):
        assert (stored[measure].astype("int64") == want[measure]).all(), measure
    cents = (stored["spend"].astype(float) * 100).round().astype("int64")
    assert (cents == (want["spend"] * 100).round().astype("int64")).all()
    assert abs(float(stored["spend"].astype(float).sum()) - raw["Spent"].sum()) < 0.01
    assert (stored["project"] == "Facebook campaign " + want["project"].astype(str)).all()
    assert (stored["segment"] == want["age"] + " " + want["gender"]).all()
    assert (stored["target_audience"] == "interest " + want["interest"].astype(str)).all()
    assert set(stored["start_date"]) == {dt.date(2017, 8, 17)}
    assert set(stored["end_date"]) == {dt.date(2017, 8, 30)}
    # per Facebook campaign (our project) and overall, with DESIGN.md's ratios
    by_project = stored.groupby("project")[["impressions", "clicks", "conversions"]].sum()
    want_project = raw.groupby("Facebook campaign " + raw["xyz_campaign_id"].astype(str))[
        ["Impressions", "Clicks", "Total_Conversion"]].sum()
    assert by_project.astype("int64").to_numpy().tolist() == \
        want_project.reindex(by_project.index).to_numpy().tolist()
    got_ratios = ratios(stored.assign(revenue=0.0, spend=stored["spend"].astype(float)))
    want_ratios = ratios(pd.DataFrame({"impressions": raw["Impressions"],
                                       "clicks": raw["Clicks"],
                                       "conversions": raw["Total_Conversion"],
                                       "spend": spent, "revenue": 0.0}))
    assert got_ratios == pytest.approx(want_ratios, rel=1e-12)

    # the same file again changes nothing
    before = counts(own_ctx)
    code, [summary] = run_cli(capsys, *args)
    assert (summary["imported"], summary["replaced"], summary["unchanged"]) == (0, 0, 1143)
    assert counts(own_ctx) == before


def _kaggle_copy(tmp_path, name: str, prefix: str) -> tuple[Path, list[str]]:
    """The 900-row file's lines (LF), with campaign ids of their own."""
    lines = KAGGLE_900.read_text(encoding="utf-8").splitlines()
    lines = [lines[0]] + [f"{prefix}{line}" for line in lines[1:]]
    return tmp_path / name, lines


@pytest.mark.parametrize("case", ["truncated", "encoding", "numbers", "header", "long_line",
                                  "extra_field", "empty", "header_only", "multiline_cell"])
def test_corrupted_copies_give_clear_messages_and_lose_no_valid_row(own_ctx, cli, capsys,
                                                                     tmp_path, case):
    path, lines = _kaggle_copy(tmp_path, f"{case}.csv", f"{case}-")
    expect_rejected: dict[int, str] = {}
    encoding = "utf-8"
    if case == "truncated":
        lines[-1] = lines[-1][:30]
        expect_rejected[900] = "missing"
    elif case == "encoding":
        lines[1] = lines[1].replace("Innovate Industries", "Café Crème")
        encoding = "cp1252"
    elif case == "numbers":
        lines[1] = lines[1].replace(",506,1922,", ",99999999999,1922,")
        expect_rejected[1] = "Clicks is above"
    elif case == "header":
        lines.insert(401, lines[0])
        expect_rejected[401] = "a repeated header line"
    elif case == "long_line":
        lines[2] = lines[2].replace("NexGen Systems", "N" * 10_000_000)
        expect_rejected[2] = "Company is longer than 200 characters"
    elif case == "extra_field":
        lines[3] = lines[3].replace("Los Angeles", "Los Angeles, CA")
        expect_rejected[3] = "17 fields where the header has 16"
    elif case == "multiline_cell":
        lines[4] = lines[4].replace("DataTech Solutions", '"DataTech\nSolutions"')
        lines[4] = lines[4].replace(",217,1820,", ",x,1820,")
        expect_rejected[4] = "Clicks must be a number"
    elif case == "empty":
        lines = []
    elif case == "header_only":
        lines = lines[:1]
    path.write_bytes(("\n".join(lines) + ("\n" if lines else "")).encode(encoding))

    code = main(["import", str(path), "--dry-run", "--json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    [summary] = json.loads(captured.out)
    if case == "empty":
        assert code == 1 and summary["error"] == "empty.csv is empty: nothing to import"
        return
    assert code == 0, summary
    lost = 0 if case == "header" else len(expect_rejected)  # a header line is no data row
    valid = 0 if case == "header_only" else 900 - lost
    assert summary["imported"] == valid  # every valid row would go in
    assert {r["row"]: r["reason"] for r in summary["rejections"]}.keys() == \
        expect_rejected.keys()
    for rejection in summary["rejections"]:
        assert expect_rejected[rejection["row"]] in rejection["reason"]
        assert len(rejection["raw"]) <= 2000
    if case == "encoding":
        assert summary["encoding"] == "cp1252"
        assert any("not UTF-8" in note for note in summary["notes"])
        assert "Café Crème" in {c["name"] for c in summary["companies_created"]}
    if case == "multiline_cell":  # the rejected row kept whole, its line break quoted
        assert summary["rejections"][0]["raw"].startswith(
            'multiline_cell-4,"DataTech\nSolutions",Display,')
    if case in ("header", "extra_field"):
        assert summary["fixes"], {k: summary[k] for k in ("fixes", "reasons", "rejected")}


def test_two_imports_of_one_file_at_once_store_it_once(own_ctx, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path, lines = _kaggle_copy(tmp_path, "twice.csv", "twice-")
    path.write_text("\n".join(lines[:301]) + "\n")
    before = counts(own_ctx)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: importers.import_file(own_ctx, path), range(2)))
    assert sorted((r["imported"], r["unchanged"]) for r in results) == [(0, 300), (300, 0)]
    assert counts(own_ctx)["events"] - before["events"] == 300


def test_a_header_two_formats_fit_asks_for_format(own_ctx, cli, capsys, tmp_path):
    raw = pd.read_csv(KAGGLE_900, dtype=str).head(20)
    raw["Campaign_ID"] = "both-" + raw["Campaign_ID"]
    for extra in ("cost", "revenue", "conversions", "device", "occurred_at", "location_id",
                  "event_time"):
        raw[extra] = ""
    path = tmp_path / "both.csv"
    raw.to_csv(path, index=False)
    code, [summary] = run_cli(capsys, path, "--dry-run")
    assert code == 1
    assert summary["error"].endswith("its header fits several formats: pass --format "
                                     "kaggle-campaign-performance or --format events")
    code, [summary] = run_cli(capsys, path, "--dry-run", "--format",
                              "kaggle-campaign-performance")
    assert code == 0 and summary["imported"] == 20
    assert summary["ignored_columns"] == ["cost", "revenue", "conversions", "device",
                                          "occurred_at", "location_id", "event_time"]


def test_our_own_events_format_is_recognised(own_ctx, cli, capsys, tmp_path):
    with own_ctx.session() as session:
        slug, campaign = session.execute(text("""
            SELECT c.slug, k.id FROM companies c JOIN campaigns k ON k.company_id = c.id
            WHERE k.source IS NULL ORDER BY k.id LIMIT 1""")).one()
    path = tmp_path / "events.csv"
    path.write_text("campaign_id,occurred_at,impressions,clicks,cost,location,device,note\n"
                    f"{campaign},2026-01-05T10:00:00Z,100,3,1.25,Boston,mobile,x\n"
                    f"{campaign},not a time,100,3,1.25,Boston,mobile,y\n")
    code, [summary] = run_cli(capsys, path, "--company", slug)
    assert code == 0
    assert summary["format"] == "events"
    assert (summary["imported"], summary["rejected"]) == (1, 1)
    assert summary["ignored_columns"] == ["note"]
