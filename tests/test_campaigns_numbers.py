"""The campaigns view's numbers (issue #14) on the imported Kaggle campaign-performance export
against pandas over the raw file: per campaign, per segment, per channel, per duration band
and goal x segment; the CSV export of a filter equals pandas filtered the same way;
benchmarks never show fewer than 3 other companies; clusters are deterministic for a seed and
put every campaign in exactly one cluster."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from test_importers import KAGGLE_900, kaggle_expected

from dashapp.cli import main
from services import campaign_stats as stats
from services import campaigns
from services.access import CLI_USER, choose_company, system_scope
from services.errors import NotFound, ValidationError

YEAR = {"range": "custom", "start": "2021-01-01", "end": "2021-12-31"}
COMPANY = "Innovate Industries"
OTHER = "TechCorp"


@pytest.fixture(scope="module")
def warehouse(private_warehouse):
    """A warehouse of this module's own, with the Kaggle export imported into it."""
    config = private_warehouse("campaigns", 7)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", config.database_url)
        patch.setenv("REDIS_URL", config.redis_url)
        assert main(["import", str(KAGGLE_900), "--json"]) == 0
    return config


@pytest.fixture(scope="module")
def ctx(warehouse):
    from dashapp.runtime import service_context

    return service_context(warehouse)


def _scope(ctx, name: str):
    with ctx.session() as session:
        slug = session.execute(text("SELECT slug FROM companies WHERE name = :n"),
                               {"n": name}).scalar_one()
    return system_scope(ctx, choose_company(ctx, CLI_USER, slug).id)


@pytest.fixture(scope="module")
def scope(ctx):
    return _scope(ctx, COMPANY)


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """Every row of the file with its dimensions and measures, computed by pandas alone."""
    file = pd.read_csv(KAGGLE_900)
    measures = kaggle_expected(KAGGLE_900)
    days = file["Duration"].str.extract(r"(\d+)")[0].astype(int)
    frame = pd.DataFrame({
        "key": file["Campaign_ID"].astype(str), "company": file["Company"],
        "channel": file["Channel_Used"], "goal": file["Campaign_Type"],
        "segment": file["Customer_Segment"], "location": file["Location"],
        "language": file["Language"], "date": file["Date"],
        "band": days.map({15: "15–29 days", 30: "30–44 days", 45: "45–59 days",
                          60: "60–89 days"}),
        "duration_days": days})
    for name in ("impressions", "clicks", "conversions", "spend", "revenue"):
        frame[name] = measures[name].to_numpy().astype(float)
    return frame


def expected_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """DESIGN.md's formulas over summed columns; undefined (NaN) for a zero denominator."""
    def div(a, b):
        return frame[a] / frame[b].where(frame[b] != 0)

    return pd.DataFrame({"ctr": div("clicks", "impressions") * 100,
                         "conversion_rate": div("conversions", "clicks") * 100,
                         "cpa": div("spend", "conversions"), "roas": div("revenue", "spend"),
                         "roi_pct": (frame["revenue"] - frame["spend"])
                         / frame["spend"].where(frame["spend"] != 0) * 100},
                        index=frame.index)


def grouped(frame: pd.DataFrame, by) -> pd.DataFrame:
    sums = frame.groupby(by)[["impressions", "clicks", "conversions", "spend",
                              "revenue"]].sum()
    sums["campaigns"] = frame.groupby(by).size()
    return pd.concat([sums, expected_ratios(sums)], axis=1)


def close(got, want) -> bool:
    if want is None or (isinstance(want, float) and np.isnan(want)):
        return got is None
    return got == pytest.approx(float(want), rel=1e-9, abs=1e-9)


RATIOS = ("ctr", "conversion_rate", "cpa", "roas", "roi_pct")


def assert_rows(rows: list[dict], expected: pd.DataFrame, key: str) -> None:
    assert sorted(str(r[key]) for r in rows) == sorted(map(str, expected.index))
    for row in rows:
        want = expected.loc[row[key]]
        for name in ("impressions", "clicks", "conversions", "spend", "revenue", *RATIOS):
            assert close(row[name], want[name]), (row[key], name, row[name], want[name])
        if "campaigns" in row:
            assert row["campaigns"] == want["campaigns"]


def _all_rows(ctx, scope, **extra) -> list[dict]:
    page = campaigns.explorer(ctx, scope, {**YEAR, "limit": 1000, **extra})
    assert page["total"] == len(page["rows"])
    return page["rows"]


def test_per_campaign_values_equal_pandas(ctx, scope, raw):
    mine = raw[raw["company"] == COMPANY].set_index("key")
    want = pd.concat([mine, expected_ratios(mine)], axis=1)
    with ctx.session() as session:
        keys = dict(session.execute(text(
            "SELECT id, source_key FROM campaigns WHERE company_id = :c"),
            {"c": scope.company_id}).all())
    rows = _all_rows(ctx, scope)
    assert len(rows) == len(mine) == 191
    for row in rows:
        expected = want.loc[keys[row["campaign_id"]]]
        for name in ("impressions", "clicks", "conversions", "spend", "revenue", *RATIOS):
            assert close(row[name], expected[name]), (row["campaign_id"], name)
        for name in ("channel", "goal", "segment", "location", "language", "duration_days"):
            assert row[name] == expected[name if name != "duration_days" else name]
        assert row["duration_band"] == expected["band"]
        roi = expected["roi_pct"]
        assert row["tier"] == ("High ROI" if roi >= 100 else "Good ROI" if roi >= 50
                               else "Standard")
    page = campaigns.explorer(ctx, scope, {**YEAR, "sort": "roas", "order": "asc",
                                           "offset": 10, "limit": 20})
    assert [r["campaign_id"] for r in page["rows"]] == \
        [r["campaign_id"] for r in sorted(rows, key=lambda r: (r["roas"], r["campaign_id"]))
         ][10:30]
    totals = page["totals"]
    assert close(totals["revenue"], mine["revenue"].sum())
    assert close(totals["roas"], mine["revenue"].sum() / mine["spend"].sum())


def test_segments_channels_durations_and_goal_by_segment_equal_pandas(ctx, scope, raw):
    mine = raw[raw["company"] == COMPANY]
    segments = campaigns.segments(ctx, scope, YEAR)
    assert_rows(segments["segments"], grouped(mine, "segment"), "segment")
    channels = campaigns.channels(ctx, scope, YEAR)
    assert_rows(channels["channels"], grouped(mine, "channel"), "channel")

    duration = campaigns.campaign_duration(ctx, scope)
    assert duration["campaigns"] == len(mine)
    assert_rows(duration["bands"], grouped(mine, "band"), "duration_band")
    by_channel = grouped(mine, ["channel", "band"])
    for entry in duration["by_channel"]:
        cells = by_channel.loc[entry["channel"]]
        assert entry["campaigns"] == cells["campaigns"].sum()
        eligible = cells[cells["campaigns"] >= campaigns.MIN_BAND_CAMPAIGNS]
        assert entry["best"]["duration_band"] == eligible["roas"].idxmax()
        assert close(entry["best"]["roas"], eligible["roas"].max())

    matrix = campaigns.performance_matrix(ctx, scope, YEAR, "conversion_rate")
    want = grouped(mine, ["goal", "segment"])
    assert len(matrix["cells"]) == len(want)
    for cell in matrix["cells"]:
        expected = want.loc[(cell["goal"], cell["segment"])]
        assert cell["campaigns"] == expected["campaigns"]
        assert close(cell["value"], expected["conversion_rate"])
    assert sum(c["campaigns"] for c in matrix["cells"]) == len(mine)


def test_best_segment_sentence_has_its_evidence(ctx, scope, raw):
    mine = raw[raw["company"] == COMPANY]
    segments = grouped(mine, "segment")
    company_rate = mine["conversions"].sum() / mine["clicks"].sum() * 100
    best = campaigns.segments(ctx, scope, YEAR)["best"]
    top = segments["conversion_rate"].idxmax()
    assert best["name"] == top
    assert best["ratio"] == pytest.approx(segments.loc[top, "conversion_rate"] / company_rate)
    assert best["sentence"].startswith(f"Your best performing segment is {top}, with ")
    assert f"{segments.loc[top, 'clicks']:,.0f} clicks" in best["evidence"][0]


def test_csv_export_of_a_filter_equals_pandas_filtered_the_same_way(ctx, scope, raw):
    chosen = {"channel": "Instagram", "duration": "30–44 days", "sort": "revenue",
              "order": "desc"}
    text_out = campaigns.explorer_csv(ctx, scope, {**YEAR, **chosen})
    got = pd.read_csv(io.StringIO(text_out))
    mine = raw[(raw["company"] == COMPANY) & (raw["channel"] == "Instagram")
               & (raw["band"] == "30–44 days")].sort_values("revenue", ascending=False)
    assert len(got) == len(mine) > 3
    assert list(got["Campaign"].str.split().str[-1]) == list(mine["key"])
    for column, name in (("Spend (USD)", "spend"), ("Revenue (USD)", "revenue"),
                         ("Clicks", "clicks"), ("Conversions", "conversions"),
                         ("Impressions", "impressions")):
        assert got[column].to_numpy() == pytest.approx(mine[name].to_numpy(), rel=1e-12)
    want = expected_ratios(mine)
    for column, name in (("CTR (%)", "ctr"), ("Conversion rate (%)", "conversion_rate"),
                         ("CPA (USD)", "cpa"), ("ROAS (x)", "roas"), ("ROI (%)", "roi_pct")):
        assert got[column].to_numpy() == pytest.approx(want[name].to_numpy(), rel=1e-12,
                                                       nan_ok=True)
    assert set(got["Channel"]) == {"Instagram"} and set(got["Duration band"]) == \
        {"30–44 days"}
    # the same filter's explorer page counts the same rows
    page = campaigns.explorer(ctx, scope, {**YEAR, **chosen})
    assert page["total"] == len(mine)


def _peer_expected(raw: pd.DataFrame, start: str, end: str, group: str) -> pd.DataFrame:
    """Per group: the other companies with activity and the mean of their ad ratios."""
    window = raw[(raw["date"] >= start) & (raw["date"] <= end) & (raw["company"] != COMPANY)]
    per_company = window.groupby([group, "company"])[["impressions", "clicks", "conversions",
                                                      "spend", "revenue"]].sum()
    ratios = pd.DataFrame({
        "conversion_rate": per_company["conversions"] / per_company["clicks"] * 100,
        "ctr": per_company["clicks"] / per_company["impressions"] * 100,
        "ad_cpa": per_company["spend"] / per_company["conversions"].where(
            per_company["conversions"] != 0),
        "ad_roas": per_company["revenue"] / per_company["spend"]})
    out = ratios.groupby(level=0).mean()
    out["peers"] = per_company.groupby(level=0).size()
    return out


@pytest.mark.parametrize("start, end", [("2021-01-01", "2021-12-31"),
                                        ("2021-03-01", "2021-03-04")])
def test_benchmarks_never_reveal_a_single_other_company(ctx, scope, raw, start, end):
    period = {"range": "custom", "start": start, "end": end}
    want = _peer_expected(raw, start, end, "segment")
    result = campaigns.segments(ctx, scope, period)
    seen = {"ok": 0, "withheld": 0}
    for row in result["segments"]:
        for metric, cell in row["cells"].items():
            peers = int(want.loc[row["segment"], "peers"]) if row["segment"] in want.index \
                else 0
            assert cell["peers"] == peers
            if peers < 3:
                assert cell["average"] is None and cell["status"] == "fewer than 3 peers"
                seen["withheld"] += 1
            else:
                assert close(cell["average"], want.loc[row["segment"], metric])
                seen["ok"] += 1
    # the whole year has 4 peers per segment; four days leave at most 2 per segment
    assert seen["ok" if start.endswith("01-01") else "withheld"] > 0
    assert not json.dumps(result).count(OTHER)
    channels = campaigns.channels(ctx, scope, period)
    want = _peer_expected(raw, start, end, "channel")
    for row in channels["channels"]:
        for cell in row["cells"].values():
            # all other companies: the seeded demo companies share channel names too
            assert cell["peers"] >= (want.loc[row["channel"], "peers"]
                                     if row["channel"] in want.index else 0)
            if cell["peers"] < 3:
                assert cell["average"] is None


def test_clusters_are_deterministic_and_every_campaign_is_in_exactly_one(ctx, scope):
    frame = campaigns._history_frame(ctx, scope.company_id)
    first = stats.cluster_labels(frame, seed=3)
    again = stats.cluster_labels(frame, seed=3)
    assert first["k"] == again["k"] and first["silhouette"] == again["silhouette"]
    assert (first["labels"] == again["labels"]).all()
    assert len(first["labels"]) == len(frame) == 191
    assert set(first["labels"]) == set(range(first["k"]))
    result = campaigns.campaign_clusters(ctx, scope)
    assert result["campaigns"] == len(frame)
    assert sum(c["size"] for c in result["clusters"]) == len(frame)
    assert -1 <= result["silhouette"] <= 1 and 2 <= result["k"] <= 8
    assert result == campaigns.clusters_of(frame) | {"through": result["through"],
                                                     "campaigns": len(frame)}


def test_inputs_outside_the_scope_or_the_options_are_refused(ctx, scope):
    other = _scope(ctx, OTHER)
    with ctx.session() as session:
        foreign = session.execute(text("SELECT id FROM campaigns WHERE company_id = :c "
                                       "LIMIT 1"), {"c": other.company_id}).scalar()
    with pytest.raises(NotFound):
        campaigns.campaign_detail(ctx, scope, YEAR, foreign)
    for bad in ({"channel": "Telegraph"}, {"sort": "password"}, {"limit": "9999"},
                {"order": "up"}, {"tier": "Gold"}):
        with pytest.raises(ValidationError):
            campaigns.explorer(ctx, scope, {**YEAR, **bad})
    with pytest.raises(ValidationError):
        campaigns.top_bottom(ctx, scope, YEAR, "roas", "campaign", "-5")


def test_campaign_detail_against_its_channel_and_segment(ctx, scope, raw):
    row = _all_rows(ctx, scope, sort="revenue")[0]
    detail = campaigns.campaign_detail(ctx, scope, YEAR, row["campaign_id"])
    mine = raw[raw["company"] == COMPANY]
    by_channel = grouped(mine, "channel").loc[row["channel"]]
    by_segment = grouped(mine, "segment").loc[row["segment"]]
    for entry in detail["compare"]:
        assert close(entry["campaign"], row[entry["metric"]])
        assert close(entry["channel"], by_channel[entry["metric"]])
        assert close(entry["segment"], by_segment[entry["metric"]])
    assert sum(d["revenue"] for d in detail["daily"]) == pytest.approx(row["revenue"])


def test_top_and_bottom_respect_the_minimum_spend(ctx, scope, raw):
    mine = raw[raw["company"] == COMPANY]
    result = campaigns.top_bottom(ctx, scope, YEAR, "roas", "segment", "0")
    want = grouped(mine, "segment").sort_values("roas", ascending=False)
    assert [r["segment"] for r in result["top"]] == list(want.index[:5])
    floor = float(mine["spend"].quantile(0.9))
    result = campaigns.top_bottom(ctx, scope, YEAR, "roas", "campaign", floor)
    assert result["eligible"] == int((mine["spend"] >= floor).sum())
    assert all(r["spend"] >= floor for r in result["top"] + result["bottom"])


def test_top_and_bottom_rank_as_sorting_the_groups_would(ctx, scope):
    """The ranks come from ``stats.ranked_rows`` (a lexsort): the same rows, in the same
    order, as sorting the eligible groups with ``sort_rows``, for every metric and grouping."""
    frame = campaigns.period_frame(ctx, scope, dt.date(2021, 1, 1),
                                   dt.date(2021, 12, 31)).frame
    for by, tie in campaigns.RANK_BY.items():
        groups = frame if by == "campaign" else stats.group_totals(frame, by)
        for metric in campaigns.RANK_METRICS:
            descending = stats.good_direction(metric) > 0
            for floor in (0.0, float(groups["spend"].median())):
                result = campaigns.top_bottom(ctx, scope, YEAR, metric, by, floor)
                eligible = groups[(groups["spend"] >= floor) & groups[metric].notna()]
                ordered = stats.sort_rows(eligible, metric, descending, tie)
                top = ordered.head(campaigns.TOP_N)
                bottom = ordered.iloc[len(top):].tail(campaigns.TOP_N).iloc[::-1]
                assert result["eligible"] == len(eligible)
                assert [r[tie] for r in result["top"]] == top[tie].tolist()
                assert [r[tie] for r in result["bottom"]] == bottom[tie].tolist()
            assert np.array_equal(
                stats.ranked_rows(groups, metric, descending, tie),
                stats.sort_rows(groups[groups[metric].notna()], metric, descending,
                                tie).index.to_numpy())


@pytest.fixture(scope="module")
def api_client(warehouse, ctx):
    """A marketing manager of the Kaggle company, logged in to an app on this warehouse."""
    from conftest import PASSWORD, login
    from dashapp.app import create_app
    from services.users import create_user

    with ctx.session() as session:
        slug = session.execute(text("SELECT slug FROM companies WHERE name = :n"),
                               {"n": COMPANY}).scalar_one()
    email = create_user(ctx, "manager@kaggle.test", PASSWORD, "marketing_manager", slug).email
    client = create_app(warehouse).test_client()
    assert login(client, email).status_code == 302
    return client


def test_the_api_answers_what_the_services_compute(api_client, ctx, scope):
    query = "range=custom&start=2021-01-01&end=2021-12-31"
    for path, section in (("segments", campaigns.segments), ("channels", campaigns.channels),
                          ("performance-matrix", campaigns.performance_matrix),
                          ("top-bottom", campaigns.top_bottom)):
        answer = api_client.get(f"/api/v1/{path}?{query}")
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
        body = answer.json
        assert body.pop("company")["name"] == COMPANY
        assert body == json.loads(json.dumps(section(ctx, scope, YEAR)))
    chosen = "&channel=Instagram&duration=30%E2%80%9344+days&sort=revenue&order=desc"
    csv_answer = api_client.get(f"/api/v1/campaigns?{query}{chosen}&format=csv")
    assert csv_answer.status_code == 200 and csv_answer.mimetype == "text/csv"
    assert csv_answer.get_data(as_text=True) == campaigns.explorer_csv(
        ctx, scope, {**YEAR, "channel": "Instagram", "duration": "30–44 days",
                     "sort": "revenue", "order": "desc"})
    page = api_client.get(f"/api/v1/campaigns?{query}&limit=5&offset=5&sort=roas").json
    assert [r["campaign_id"] for r in page["rows"]] == [
        r["campaign_id"] for r in campaigns.explorer(
            ctx, scope, {**YEAR, "limit": 5, "offset": 5, "sort": "roas"})["rows"]]
    clusters = api_client.get("/api/v1/campaign-clusters").json
    assert clusters["k"] == campaigns.campaign_clusters(ctx, scope)["k"]


def test_bad_api_parameters_are_a_clear_400_and_foreign_ids_a_404(api_client, ctx):
    for bad in ("limit=5000", "limit=ten", "sort=password", "order=sideways",
                "channel=Telegraph", "format=xml", "range=custom&start=2021-13-01&end=x"):
        answer = api_client.get(f"/api/v1/campaigns?{bad}")
        assert answer.status_code == 400, bad
        assert answer.json["error"] == "invalid" and answer.json["message"]
    assert api_client.get("/api/v1/top-bottom?min_spend=-1").status_code == 400
    assert api_client.get("/api/v1/performance-matrix?metric=magic").status_code == 400
    other = _scope(ctx, OTHER)
    with ctx.session() as session:
        foreign, name = session.execute(text(
            "SELECT id, name FROM campaigns WHERE company_id = :c LIMIT 1"),
            {"c": other.company_id}).one()
    answer = api_client.get(f"/api/v1/campaigns/{foreign}")
    assert answer.status_code == 404 and name not in answer.get_data(as_text=True)


# --------------------------------------------------------------------------- snapshots

def test_snapshot_round_trip_keeps_every_value_and_type():
    from services import campaign_frames as frames

    frame = pd.DataFrame({
        "campaign_id": np.array([1, 2, 3_000_000_000], dtype="int64"),
        "spend": [0.1 + 0.2, -0.0, 7.0], "clicks": [3.0, 0.0, 2.0**40],
        "roas": [np.nan, 1.5, np.inf], "campaign": ["Größe €", None, "b"],
        "tier": [None, "High ROI", None]})
    order = np.array([2, 0, 1])
    back, extra, arrays, texts = frames.decode(frames.encode(frame, {"options": {"a": ["x"]}},
                                                             {"order": order}))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert np.signbit(back["spend"][1]) and back["spend"][0] == 0.1 + 0.2
    assert pd.isna(back["campaign"][1]) and back["campaign"][0] == "Größe €"
    assert extra == {"options": {"a": ["x"]}} and list(arrays["order"]) == [2, 0, 1]
    assert texts["tier"][0].tolist() == [-1, 0, -1] and texts["tier"][1].tolist() == ["High ROI"]

    # many rows of few values (taken from the distinct values), a value holding a NUL (kept
    # in the header instead), a column with none at all
    many = pd.DataFrame({"channel": ["Email", None, "Social", "Email"] * 50,
                         "name": ["a\x00b", "", "c", None] * 50,
                         "none": np.array([None] * 200, dtype=object)})
    back, _extra, _arrays, texts = frames.decode(frames.encode(many))
    pd.testing.assert_frame_equal(back, many, check_exact=True)
    assert back["name"][0] == "a\x00b" and back["name"][1] == ""
    assert texts["none"][1].tolist() == [] and set(texts["none"][0]) == {-1}


def test_the_worker_writes_the_dimensions_snapshot_with_one_digest(ctx, scope, monkeypatch):
    """A worker pass finding no dimensions snapshot writes it, from its memo or from
    PostgreSQL, asking the campaigns' digest once; another process reads the same
    dimensions from it."""
    from services import campaign_frames as frames

    company = scope.company_id
    digests, real = [], campaigns.queries.campaigns_digest

    def counted(*args):
        digests.append(args)
        return real(*args)

    monkeypatch.setattr(campaigns.queries, "campaigns_digest", counted)
    for memo_kept in (False, True):
        campaigns._DIMENSION_KEYS.clear()
        campaigns._DIMENSIONS.clear()
        if memo_kept:
            campaigns._dimensions(ctx, company)
        key = campaigns._dimensions_key(ctx, company)
        ctx.redis().delete(key)
        digests.clear()
        campaigns.warm_frames(ctx, company)
        assert len(digests) == 0 and frames.exists(ctx, key)  # the key's digest is kept
        assert _same_dimensions(campaigns._dimensions_from_snapshot(frames.read(ctx, key)),
                                campaigns._dimensions(ctx, company))


def test_the_worker_snapshot_serves_a_new_process_the_same_pages(ctx, scope):
    from db.queries.marketing import newest_marketing_day
    from services import campaign_frames as frames
    from services.cache import data_version, forget_data_version

    with ctx.session() as session:
        newest = newest_marketing_day(session, scope.company_id)
    version = data_version(ctx, scope.company_id)
    keys = [frames.snapshot_key(ctx, scope.company_id, version,
                                newest - pd.Timedelta(days=days - 1).to_pytimedelta(), newest)
            for days in (7, 30, 91, 365)]
    for key in keys:
        ctx.redis().delete(key)
    assert campaigns.warm_frames(ctx, scope.company_id) == 4
    assert all(frames.exists(ctx, key) for key in keys)
    assert campaigns.warm_frames(ctx, scope.company_id) == 0  # current: nothing rebuilt

    request = {"range": "year", "channel": "Instagram", "sort": "roas", "order": "asc",
               "offset": 3, "limit": 20}
    campaigns._PERIOD_FRAMES.clear()
    by_name = {"range": "year", "sort": "campaign", "order": "desc", "limit": 50}
    from_snapshot = (campaigns.explorer(ctx, scope, request),
                     campaigns.explorer_csv(ctx, scope, {"range": "year"}),
                     campaigns.explorer(ctx, scope, by_name))
    for key in keys:
        ctx.redis().delete(key)
    campaigns._PERIOD_FRAMES.clear()
    built = (campaigns.explorer(ctx, scope, request),
             campaigns.explorer_csv(ctx, scope, {"range": "year"}),
             campaigns.explorer(ctx, scope, by_name))
    assert from_snapshot == built and from_snapshot[0]["rows"]
    assert from_snapshot[1] == built[1]  # the CSV byte for byte

    # a new data version never reads the old snapshot
    with ctx.session() as session:
        session.execute(text("UPDATE data_versions SET version = version + 1 "
                             "WHERE company_id = :c"), {"c": scope.company_id})
    forget_data_version(ctx, [scope.company_id])
    assert data_version(ctx, scope.company_id) == version + 1
    assert not frames.exists(ctx, frames.snapshot_key(ctx, scope.company_id, version + 1,
                                                      newest - pd.Timedelta(days=364)
                                                      .to_pytimedelta(), newest))


def _fresh_period(ctx, scope, start: dt.date, end: dt.date) -> str:
    """The sums key of [start, end], with no snapshot, no sums, no claim and no process
    memo of it."""
    from services import campaign_frames as frames
    from services.cache import data_version

    version = data_version(ctx, scope.company_id)
    key = frames.sums_key(ctx, scope.company_id, version, start, end)
    snapshot = frames.snapshot_key(ctx, scope.company_id, version, start, end)
    ctx.redis().delete(key, f"{key}:building", snapshot, f"{snapshot}:building")
    campaigns._PERIOD_FRAMES.clear()
    return key


def test_a_new_period_asked_by_many_callbacks_at_once_is_read_once(ctx, scope, monkeypatch):
    """A custom range's first request: every section of the page asks for the same period
    at once; one thread reads its sums and builds it, the others are handed that frame."""
    start, end = dt.date(2021, 2, 1), dt.date(2021, 3, 14)
    _fresh_period(ctx, scope, start, end)
    reads, real_read = [], campaigns._read_sums

    def counted_read(*args):
        reads.append(args)
        return real_read(*args)

    monkeypatch.setattr(campaigns, "_read_sums", counted_read)
    barrier = threading.Barrier(6)
    found = []

    def section():
        barrier.wait()
        found.append(campaigns.period_frame(ctx, scope, start, end))

    threads = [threading.Thread(target=section) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(found) == 6 and len(reads) == 1
    assert all(frame is found[0] for frame in found)
    assert len(found[0].frame) == len(campaigns._build(ctx, scope.company_id, start,
                                                       end).frame) > 0


def test_a_process_waits_for_the_sums_another_process_is_reading(ctx, scope):
    from services import campaign_frames as frames

    company = scope.company_id
    start, end = dt.date(2021, 4, 1), dt.date(2021, 5, 9)
    key = _fresh_period(ctx, scope, start, end)
    assert frames.claim(ctx, key)  # another process is reading [start, end]
    assert not frames.claim(ctx, key)
    result = {}
    waiting = threading.Thread(target=lambda: result.update(
        kept=campaigns.period_frame(ctx, scope, start, end)))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive()
    # What the other process writes is what this one joins to its dimensions: here a
    # recognisable year's sums, so sums read here instead would show.
    stamp, dimensions, year = campaigns._read_sums(ctx, company, dt.date(2021, 1, 1),
                                                   dt.date(2021, 12, 31))
    frames.write(ctx, key, campaigns._sums_snapshot(stamp, year))
    frames.release(ctx, key)
    waiting.join(10)
    assert not waiting.is_alive()
    expected = campaigns._frame_of(ctx, company, start, end, year, dimensions)
    pd.testing.assert_frame_equal(result["kept"].frame, expected.frame, check_exact=True)

    # The other process gave up (its claim gone, no sums): this one reads the period and
    # leaves its sums for the others.
    key = _fresh_period(ctx, scope, start, end)
    assert frames.claim(ctx, key)
    waiting = threading.Thread(target=lambda: result.update(
        kept=campaigns.period_frame(ctx, scope, start, end)))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive()
    frames.release(ctx, key)
    waiting.join(10)
    own = campaigns._build(ctx, company, start, end)
    pd.testing.assert_frame_equal(result["kept"].frame, own.frame)
    assert len(own.frame) < len(expected.frame)
    assert frames.exists(ctx, key) and not ctx.redis().exists(f"{key}:building")


def test_a_process_given_the_sums_builds_the_frame_the_reader_built(ctx, scope):
    """The sums a process leaves (with the key of the dimensions it read them with) give
    another process the same frame: with the dimensions in its memo, from their snapshot,
    or, both gone, the current ones; no whole-frame snapshot is written for a custom range."""
    from services import campaign_frames as frames
    from services.cache import data_version

    company = scope.company_id
    start, end = dt.date(2021, 6, 1), dt.date(2021, 7, 20)
    key = _fresh_period(ctx, scope, start, end)
    read_here = campaigns.period_frame(ctx, scope, start, end)
    stamp, sums = campaigns._sums_from_snapshot(frames.read(ctx, key))
    assert stamp == campaigns._dimensions_key(ctx, company) and len(sums["campaign_id"])
    assert not frames.exists(ctx, frames.snapshot_key(ctx, company, data_version(ctx, company),
                                                      start, end))
    for forget_snapshot in (False, True):
        campaigns._PERIOD_FRAMES.clear()  # another process
        campaigns._DIMENSIONS.clear()
        if forget_snapshot:
            ctx.redis().delete(stamp)
        pd.testing.assert_frame_equal(campaigns.period_frame(ctx, scope, start, end).frame,
                                      read_here.frame, check_exact=True)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's values as Python objects, None where missing: pandas infers a text
    column's dtype (and so its missing value) from the values it was built from, here every
    campaign's, there the period's."""
    return frame.astype(object).where(frame.notna(), None).reset_index(drop=True)


def _same_dimensions(one, other) -> bool:
    return (one.numbers.keys() == other.numbers.keys() and one.texts.keys() == other.texts.keys()
            and all(np.array_equal(one.numbers[n], other.numbers[n], equal_nan=True)
                    for n in one.numbers)
            and all(np.array_equal(one.texts[n][0], other.texts[n][0])
                    and list(one.texts[n][1]) == list(other.texts[n][1]) for n in one.texts))


def test_running_totals_give_every_range_the_sums_of_its_days(ctx):
    """A period's per-campaign totals from the running totals (through a day inside the
    data, the later days from the daily rollups) equal those summed over the daily rollups,
    for every company (the demo's have ads and CRM/e-commerce sales over multi-day campaigns;
    the Kaggle ones a day each) and ranges around every edge: before the first day, across
    the running totals' last day, after it, single days, a campaign's first and last day."""
    from db.queries import campaign_cumulative as cumulative
    from db.queries import campaigns as queries

    with ctx.session() as session:
        spans = session.execute(text("""
            SELECT company_id, MIN(day), MAX(day) FROM rollup_campaign_daily
            GROUP BY company_id ORDER BY company_id""")).all()
    assert len(spans) >= 5
    rng = np.random.default_rng(14)
    checked = 0
    try:
        for company_id, first, last in spans:
            through = first + (last - first) * 2 // 3
            with ctx.session() as session:
                assert cumulative.rebuild(session.connection(), company_id, 1, through) > 0
                edges = [first - dt.timedelta(days=3), first, through, last,
                         through + dt.timedelta(days=1), last + dt.timedelta(days=2)]
                ranges = [(a, b) for a in edges for b in edges if a <= b]
                for _ in range(25):
                    a = first + dt.timedelta(days=int(rng.integers(-5, (last - first).days)))
                    ranges.append((a, a + dt.timedelta(days=int(rng.integers(0, 120)))))
                dimensions = stats.Dimensions.of(stats.dimension_frame(
                    queries.campaign_dimensions(session, company_id),
                    queries.DIMENSION_COLUMNS, {}))
                # as another process reads them from the snapshot
                assert _same_dimensions(campaigns._dimensions_from_snapshot(
                    campaigns._dimensions_snapshot(dimensions)), dimensions)
                for a, b in ranges:
                    summed = queries.campaign_totals(session, company_id, a, b)
                    # the ads' figures against PostgreSQL's own numeric sums
                    plain = dict((row[0], tuple(row[1:])) for row in session.execute(text("""
                        SELECT campaign_id, SUM(impressions)::bigint, SUM(spend)::float8,
                               SUM(revenue)::float8
                        FROM rollup_campaign_daily
                        WHERE company_id = :c AND day BETWEEN :a AND :b
                        GROUP BY campaign_id"""), {"c": company_id, "a": a, "b": b}))
                    mine = {row[0]: (row[12], row[16], row[17]) for row in summed
                            if row[0] in plain}
                    assert mine == plain
                    # the same frame joined to the dimensions in Python, either way
                    expected = stats.campaign_frame(summed, queries.TOTAL_COLUMNS)
                    for kept in (None, through):
                        sums = queries.sums_of([queries.signed_rows(
                            session, company_id, a, b, cumulative_through=kept)])
                        # read in two halves by id (a large company's rows, at once)
                        ids = dimensions.numbers["campaign_id"]
                        middle = int(ids[int(rng.integers(0, len(ids)))])
                        halves = queries.sums_of([queries.signed_rows(
                            session, company_id, a, b, cumulative_through=kept, ids=bounds)
                            for bounds in ((middle, None), (None, middle))])
                        assert halves.keys() == sums.keys() and all(
                            np.array_equal(halves[name], sums[name]) for name in sums)
                        period = stats.period_campaigns(
                            dimensions, queries.DIMENSION_COLUMNS, sums, a, b)
                        joined = period.frame
                        pd.testing.assert_frame_equal(_plain(joined.drop(columns="anomaly")),
                                                      _plain(expected))
                        for (column, descending), order in period.orders.items():
                            sorted_rows = stats.sort_rows(joined, column, descending)
                            assert np.array_equal(order, sorted_rows.index.to_numpy())
                        for column, (codes, distinct) in period.texts.items():
                            assert _plain(pd.DataFrame({column: stats.text_values(
                                codes, distinct)})).equals(_plain(joined[[column]]))
                    # what the codes give the filters' options and the snapshot
                    built = campaigns.PeriodFrame(joined, campaigns._options(
                        joined, period.texts), stats.totals(joined), texts=period.texts)
                    assert built.options == campaigns._options(joined)
                    for column in ("spend", "roas", "clicks", "campaign_id"):  # sort_rows' order
                        for descending in (False, True):
                            assert np.array_equal(
                                built.order(column, descending),
                                stats.sort_rows(joined, column, descending).index.to_numpy())
                    back = campaigns._from_snapshot(campaigns._to_snapshot(built))
                    pd.testing.assert_frame_equal(_plain(back.frame), _plain(joined))
                    # groups by the codes (as built, as read back): pandas' groups, order
                    # and doubles
                    for by in ("segment", "channel", ["goal", "segment"], ["tier", "status"]):
                        plain_groups = _plain(stats.group_totals(joined, by))
                        for kept_texts in (period.texts, back.texts):
                            pd.testing.assert_frame_equal(
                                _plain(stats.group_totals(joined, by, kept_texts)),
                                plain_groups, check_exact=True)
                    checked += bool(summed)
    finally:
        with ctx.session() as session:
            session.execute(text("DELETE FROM campaign_cumulative_daily"))
            session.execute(text("DELETE FROM campaign_cumulative_state"))
    assert checked > 100


def test_the_worker_keeps_running_totals_for_the_current_history_only(ctx, scope):
    """Built once per history version and day; a frame reads them only while they belong to
    the company's current history, and is the same either way."""
    from db.queries import campaign_cumulative as cumulative
    from services.cache import forget_data_version

    start, end = dt.date(2021, 3, 1), dt.date(2021, 9, 30)
    today = dt.date(2022, 6, 1)
    try:
        assert campaigns.refresh_cumulative(ctx, scope.company_id, today)
        assert not campaigns.refresh_cumulative(ctx, scope.company_id, today)
        with ctx.session() as session:
            kept = cumulative.state(session, scope.company_id)
        assert kept.through == dt.date(2022, 5, 31)
        from_totals = campaigns._build(ctx, scope.company_id, start, end)

        calls = []
        real = campaigns.queries.signed_rows

        def spy(*args, **kwargs):
            calls.append(kwargs.get("cumulative_through"))
            return real(*args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(campaigns.queries, "signed_rows", spy)
            campaigns._build(ctx, scope.company_id, start, end)
            with ctx.session() as session:  # the history changes: the totals are left behind
                session.execute(text("UPDATE data_versions SET history_version = "
                                     "history_version + 1 WHERE company_id = :c"),
                                {"c": scope.company_id})
            forget_data_version(ctx, [scope.company_id])
            summed = campaigns._build(ctx, scope.company_id, start, end)
        assert calls == [kept.through, None]
        pd.testing.assert_frame_equal(summed.frame, from_totals.frame)
        assert campaigns.refresh_cumulative(ctx, scope.company_id, today)  # the new history
        assert campaigns.refresh_cumulative(ctx, scope.company_id, today + dt.timedelta(1))
    finally:
        with ctx.session() as session:
            session.execute(text("DELETE FROM campaign_cumulative_state"))


# --------------------------------------------------------------------------- anomalies

def _days(rng, campaign_id, latest, n_days, spend, impressions, clicks, conversions):
    """``n_days`` ordinary days before ``latest`` (seeded noise), then ``latest`` itself."""
    import datetime as dt

    rows = []
    for back in range(n_days, 0, -1):
        rows.append((campaign_id, latest - dt.timedelta(days=back),
                     float(rng.integers(9_000, 11_000)), float(rng.integers(180, 220)),
                     float(rng.integers(18, 22)), float(rng.normal(100, 5))))
    rows.append((campaign_id, latest, impressions, clicks, conversions, spend))
    return rows


def test_anomalies_flag_a_campaigns_unusual_day_against_its_own_history():
    import datetime as dt

    latest = dt.date(2026, 6, 30)
    rng = np.random.default_rng(14)
    rows = (_days(rng, 1, latest, 28, 400.0, 10_000, 200, 20)      # spend spike
            + _days(rng, 2, latest, 28, 101.0, 10_000, 201, 20)    # an ordinary day
            + _days(rng, 3, latest, 28, 100.0, 10_000, 20, 2)      # CTR collapse
            + _days(rng, 4, latest, 10, 900.0, 10_000, 200, 20)    # too little history
            + _days(rng, 5, latest, 28, 100.0, 50, 40, 4)          # CTR of 50 impressions
            + _days(rng, 6, latest - dt.timedelta(days=1), 28, 100.0, 10_000, 200, 20))
    days = pd.DataFrame(rows, columns=["campaign_id", "day", "impressions", "clicks",
                                       "ad_conversions", "spend"])
    found = stats.campaign_anomalies(days, latest)
    assert set(found) == {1, 3}
    # robust z computed independently: (x - median) / (1.4826 * MAD) over the 28 days before
    base = days[(days["campaign_id"] == 1) & (days["day"] < latest)]["spend"].to_numpy()
    mad = np.median(np.abs(base - np.median(base)))
    spend = {m["metric"]: m for m in found[1]["metrics"]}["spend"]
    assert spend["z"] == pytest.approx((400 - np.median(base)) / (1.4826 * mad))
    assert spend["typical"] == pytest.approx(np.median(base))
    assert "Spend $400.00 on 2026-06-30, far above" in found[1]["reason"]
    ctr = {m["metric"]: m for m in found[3]["metrics"]}["ctr"]
    assert ctr["value"] == pytest.approx(0.2) and ctr["z"] < -stats.ANOMALY_Z
    assert "CTR 0.20 % on 2026-06-30, far below" in found[3]["reason"]
    assert stats.campaign_anomalies(days.iloc[0:0], latest) == {}


def test_the_explorer_highlights_an_anomalous_campaign_with_its_reason(ctx):
    import datetime as dt

    from services.insights.store import history_through

    latest = history_through()
    with ctx.session() as session:
        company = session.execute(text("""INSERT INTO companies (slug, name, industry)
            VALUES ('anomaly-co', 'Anomaly Co', 'retail') RETURNING id""")).scalar()
        ids = session.execute(text("""
            INSERT INTO campaigns (company_id, channel_id, name, goal, status, start_date,
                                   end_date, budget_allocated, daily_budget, language, tags)
            SELECT :c, (SELECT MIN(id) FROM channels), 'Constructed ' || g, 'sales', 'active',
                   :start, :end, 1000, 50, 'English', '{}'
            FROM generate_series(1, 2) g RETURNING id"""),
            {"c": company, "start": latest - dt.timedelta(days=40), "end": latest}).scalars().all()
        rng = np.random.default_rng(3)
        rows = (_days(rng, ids[0], latest, 28, 500.0, 10_000, 200, 20)
                + _days(rng, ids[1], latest, 28, 100.0, 10_000, 200, 20))
        session.execute(text("""
            INSERT INTO rollup_campaign_daily (company_id, campaign_id, channel_id, day,
                impressions, clicks, conversions, spend, revenue, events)
            VALUES (:company, :campaign, (SELECT MIN(id) FROM channels), :day, :impressions,
                    :clicks, :conversions, :spend, 0, 1)"""),
            [{"company": company, "campaign": c, "day": d, "impressions": i, "clicks": k,
              "conversions": v, "spend": s} for c, d, i, k, v, s in rows])
    scope = system_scope(ctx, company)
    campaigns.anomalies_model.refit_if_stale(ctx, company)
    page = campaigns.explorer(ctx, scope, {
        "range": "custom", "start": (latest - dt.timedelta(days=28)).isoformat(),
        "end": latest.isoformat()})
    reasons = {row["campaign_id"]: row["anomaly"] for row in page["rows"]}
    assert reasons[ids[1]] is None
    assert reasons[ids[0]].startswith(f"Spend $500.00 on {latest.isoformat()}, far above")
    from callbacks.campaigns import grid_row

    shown = grid_row(next(r for r in page["rows"] if r["campaign_id"] == ids[0]))
    assert shown["anomaly"] == reasons[ids[0]] and shown["campaign"].startswith("⚠")


def test_a_campaigns_detail_has_its_email_funnel_and_retailers_where_it_has_any(ctx):
    import datetime as dt

    from callbacks.campaigns import detail_body
    from services.insights.store import history_through

    day = history_through()
    with ctx.session() as session:
        company = session.execute(text("""INSERT INTO companies (slug, name, industry)
            VALUES ('email-co', 'Email Co', 'retail') RETURNING id""")).scalar()
        mailed, plain = session.execute(text("""
            INSERT INTO campaigns (company_id, channel_id, name, goal, status, start_date,
                                   end_date, budget_allocated, daily_budget, language, tags)
            SELECT :c, (SELECT MIN(id) FROM channels), 'Mail ' || g, 'sales', 'active',
                   :day, :day, 1000, 50, 'English', '{}'
            FROM generate_series(1, 2) g RETURNING id"""), {"c": company, "day": day}
        ).scalars().all()
        shops = session.execute(text("""
            INSERT INTO retailers (company_id, name, region)
            VALUES (:c, 'North Shop', 'North'), (:c, 'South Shop', 'South'),
                   (:c, 'Idle Shop', 'East') RETURNING id"""), {"c": company}).scalars().all()
        emails = session.execute(text("""
            INSERT INTO email_campaigns (company_id, campaign_id, sequence, subject,
                                         sender_email, sent_at, total_recipients)
            VALUES (:c, :k, 1, 'One', 'a@b.c', :at, 0), (:c, :k, 2, 'Two', 'a@b.c', :at, 0)
            RETURNING id"""), {"c": company, "k": mailed,
                                "at": dt.datetime.combine(day, dt.time(9))}).scalars().all()
        sends = [(emails[0], shops[0], 1000, 950, 400, 80),
                 (emails[1], shops[0], 500, 490, 150, 20),
                 (emails[0], shops[1], 300, 290, 100, 40)]
        session.execute(text("""
            INSERT INTO rollup_email_daily (company_id, email_campaign_id, retailer_id, day,
                                            sent, delivered, opened, clicked)
            VALUES (:c, :e, :r, :day, :s, :d, :o, :k)"""),
            [{"c": company, "e": e, "r": r, "day": day, "s": s, "d": d, "o": o, "k": k}
             for e, r, s, d, o, k in sends])
        sales = [(shops[0], emails[0], "crm", 5, 250.0), (shops[1], 0, "ecommerce", 7, 900.0)]
        session.execute(text("""
            INSERT INTO rollup_retailer_sales_daily (company_id, campaign_id, retailer_id,
                email_campaign_id, day, source, conversions, revenue)
            VALUES (:c, :k, :r, :e, :day, :src, :n, :rev)"""),
            [{"c": company, "k": mailed, "r": r, "e": e, "day": day, "src": src, "n": n,
              "rev": rev} for r, e, src, n, rev in sales])
        session.execute(text("""
            INSERT INTO rollup_campaign_daily (company_id, campaign_id, channel_id, day,
                impressions, clicks, conversions, spend, revenue, events)
            SELECT :c, id, channel_id, :day, 1000, 50, 2, 100, 80, 1 FROM campaigns
            WHERE company_id = :c"""), {"c": company, "day": day})
    scope = system_scope(ctx, company)
    raw = {"range": "7d"}
    detail = campaigns.campaign_detail(ctx, scope, raw, mailed)
    funnel = {step["key"]: step["count"] for step in detail["email"]["funnel"]}
    assert funnel == {"sent": 1800, "delivered": 1730, "opened": 650, "clicked": 140,
                      "conversions": 12}
    rates = {r["metric"]: r["value"] for r in detail["email"]["rates"]}
    assert rates["delivery_rate"] == pytest.approx(1730 / 1800 * 100)
    assert rates["open_rate"] == pytest.approx(650 / 1730 * 100)
    assert rates["click_rate"] == pytest.approx(140 / 1730 * 100)
    assert rates["click_to_open"] == pytest.approx(140 / 650 * 100)
    by_name = [(r["retailer"], r["sent"], r["conversions"], r["revenue"])
               for r in detail["retailers"]]
    assert by_name == [("South Shop", 300, 7, 900.0), ("North Shop", 1500, 5, 250.0)]
    assert detail["retailers"][1]["click_rate"] == pytest.approx(100 / 1440 * 100)
    detail_body(detail)  # draws
    other = campaigns.campaign_detail(ctx, scope, raw, plain)
    assert other["email"] is None and other["retailers"] == []
    detail_body(other)


# --------------------------------------------------------------------------- forecasts

def test_segment_forecasts_come_from_the_engine_with_their_bands():
    import datetime as dt

    from services.insights import forecast

    start, end = dt.date(2025, 1, 6), dt.date(2025, 10, 26)  # Monday .. Sunday: 42 weeks
    days = pd.date_range(start, end, freq="D")
    rng = np.random.default_rng(8)
    rows = []
    for name, level in (("Foodies", 1000.0), ("Tech", 300.0)):
        for day in days:
            rows.append({"grp": name, "day": day.date(), "impressions": 1000.0,
                         "clicks": 50.0, "conversions": 5.0, "spend": 100.0,
                         "revenue": level * (1 + rng.normal(0, 0.05))})
    rows.append({"grp": "Sparse", "day": start, "impressions": 10.0, "clicks": 1.0,
                 "conversions": 0.0, "spend": 5.0, "revenue": 9.0})
    for day in days[70:]:  # starts in week 11: forecast from its 32 active weeks
        rows.append({"grp": "Late", "day": day.date(), "impressions": 1000.0, "clicks": 50.0,
                     "conversions": 5.0, "spend": 100.0, "revenue": 500 + rng.normal(0, 20)})
    daily = pd.DataFrame(rows)
    found = campaigns.group_forecasts(daily, start, end, "revenue")
    assert [g["group"] for g in found] == ["Foodies", "Late", "Tech", "Sparse"]
    late = found[1]
    assert late["weeks_used"] == 32 and len(late["forecast"]) == campaigns.FORECAST_WEEKS
    assert late["history"][0]["value"] == 0 and found[0]["weeks_used"] == 42
    foodies = found[0]
    weekly = daily[daily["grp"] == "Foodies"].assign(day=lambda f: pd.to_datetime(f["day"]))
    weekly = weekly.set_index("day")["revenue"].resample("W-SUN").sum()
    assert [h["value"] for h in foodies["history"]] == pytest.approx(weekly.to_numpy())
    mondays = pd.Series(weekly.to_numpy(), index=weekly.index - pd.Timedelta(days=6))
    expected = forecast.forecast_weekly(mondays, campaigns.FORECAST_WEEKS, foodies["model"])
    assert len(foodies["forecast"]) == campaigns.FORECAST_WEEKS
    assert [f["mean"] for f in foodies["forecast"]] == pytest.approx(expected["mean"].to_numpy())
    assert all(f["lower"] < f["mean"] < f["upper"] for f in foodies["forecast"])
    assert foodies["forecast"][0]["week"] == "2025-10-27"  # the Monday after the history
    # a group whose weeks are mostly empty: no forecast, and why
    assert found[3]["forecast"] == [] and "positive history" in found[3]["message"]
    from callbacks.campaigns import forecast_cards

    drawn = str(forecast_cards({"groups": found, "label": "Revenue", "unit": "USD"}))
    assert "Foodies" in drawn and "No forecast for this group." in drawn


def test_segment_and_channel_forecasts_read_the_stored_model(ctx, scope):
    result = campaigns.segment_channel_forecasts(ctx, scope, None, "channel", "revenue")
    assert result["by"] == "channel" and result["interval"] == 0.95
    assert {g["group"] for g in result["groups"]} >= {"Email", "Instagram"}
    with pytest.raises(ValidationError):
        campaigns.segment_channel_forecasts(ctx, scope, None, "location", "revenue")
    with pytest.raises(ValidationError):
        campaigns.segment_channel_forecasts(ctx, scope, None, "segment", "roas")


def test_a_period_with_activity_of_a_campaign_missing_from_the_dimensions():
    """Activity of a campaign the dimensions do not know (created since they were read, or
    gone): None, so the caller reads the dimensions again; then left out, as the join with
    the campaigns leaves it out of ``campaign_totals``."""
    from db.queries import campaigns as queries

    rows = [(1, "A", "Email", "sales", None, "Paris", "English", "active", "2024-01-01",
             "2024-01-31", 31, 100.0),
            (3, "C", "Search", "leads", "Youth", None, "German", "completed", "2023-01-01",
             "2023-02-01", 32, 50.0)]
    dimensions = stats.Dimensions.of(stats.dimension_frame(rows, queries.DIMENSION_COLUMNS, {}))
    sums = {"campaign_id": np.array([2, 1]), **{name: np.array([5.0, 7.0])
                                               for name in queries.SUM_COLUMNS}}
    start, end = dt.date(2024, 1, 10), dt.date(2024, 1, 20)
    columns = queries.DIMENSION_COLUMNS
    assert stats.period_campaigns(dimensions, columns, sums, start, end) is None
    period = stats.period_campaigns(dimensions, columns, sums, start, end, strict=False)
    assert period.frame["campaign_id"].tolist() == [1]
    assert period.frame["spend"].tolist() == [7.0]
    assert period.frame["segment"].tolist() == ["(none)"]
    empty = stats.Dimensions.of(stats.dimension_frame([], columns, {}))
    assert stats.period_campaigns(empty, columns, sums, start, end) is None
    assert stats.period_campaigns(empty, columns, sums, start, end, strict=False).frame.empty


def test_a_large_company_reads_a_period_in_two_halves_at_once(ctx, scope, monkeypatch):
    """From ``SPLIT_FROM`` campaigns a period's rows come in two halves by id, on two
    connections; the frame is the one read at once."""
    start, end = dt.date(2021, 2, 1), dt.date(2021, 11, 30)
    whole = campaigns._build(ctx, scope.company_id, start, end)
    bounds, real = [], campaigns.queries.signed_rows

    def spy(*args, **kwargs):
        bounds.append(kwargs["ids"])
        return real(*args, **kwargs)

    monkeypatch.setattr(campaigns.queries, "signed_rows", spy)
    monkeypatch.setattr(campaigns, "SPLIT_FROM", 1)
    halves = campaigns._build(ctx, scope.company_id, start, end)
    middle = max(bound for pair in bounds for bound in pair if bound is not None)
    assert len(bounds) == 2 and set(bounds) == {(None, middle), (middle, None)}
    assert len(whole.frame) > 10
    pd.testing.assert_frame_equal(halves.frame, whole.frame, check_exact=True)


def test_groups_by_codes_are_pandas_groups_of_the_values():
    """``group_totals`` with the frame's codes: the groups, their order (missing last) and
    every double of pandas grouping the values, on rows in any order (pandas sums rows
    already in group order another way) and values whose sum depends on the order."""
    for seed in range(200):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 300))
        vocabulary = np.array(["b", "a", "c", None, "Zed", "é"], dtype=object)
        frame = pd.DataFrame({"x": rng.choice(vocabulary[:int(rng.integers(1, 7))], n),
                              "y": rng.choice(vocabulary[:3], n)})
        if seed % 2:
            frame = frame.sort_values(["x", "y"], na_position="last").reset_index(drop=True)
        for name in stats.BASES:
            frame[name] = rng.choice([0.1, 0.3, 1e6 + 1e-4, 7e-5, 302621.5319, 168975.9377],
                                     n) * rng.integers(1, 1000, n)
        texts = {}
        for column in ("x", "y"):
            codes, distinct = pd.factorize(frame[column].to_numpy(object))
            texts[column] = (np.asarray(codes), np.asarray(distinct, dtype=object))
        for by in (["x", "y"], ["y", "x"], "x"):
            pd.testing.assert_frame_equal(_plain(stats.group_totals(frame, by, texts)),
                                          _plain(stats.group_totals(frame, by)),
                                          check_exact=True)


def test_the_dimensions_outlive_a_data_version_but_not_a_change_of_a_campaign(ctx, scope):
    """Events streaming in (a new data version) leave the campaigns' dimensions as they are;
    a renamed campaign is read again."""
    from services.cache import forget_data_version

    def bump():
        with ctx.session() as session:
            session.execute(text("UPDATE data_versions SET version = version + 1 "
                                 "WHERE company_id = :c"), {"c": scope.company_id})
        forget_data_version(ctx, [scope.company_id])

    company = scope.company_id
    with ctx.session() as session:
        campaign_id, name = session.execute(text(
            "SELECT id, name FROM campaigns WHERE company_id = :c ORDER BY id LIMIT 1"),
            {"c": company}).one()
    first, key = campaigns._dimensions(ctx, company), campaigns._dimensions_key(ctx, company)
    bump()
    assert campaigns._dimensions_key(ctx, company) == key
    assert campaigns._dimensions(ctx, company) is first
    try:
        with ctx.session() as session:
            session.execute(text("UPDATE campaigns SET name = :n WHERE id = :id"),
                            {"n": f"{name} (renamed)", "id": campaign_id})
        bump()
        assert campaigns._dimensions_key(ctx, company) != key
        names = campaigns._dimensions(ctx, company).texts["campaign"][1]
        assert f"{name} (renamed)" in set(names) and name not in set(names)
    finally:
        with ctx.session() as session:
            session.execute(text("UPDATE campaigns SET name = :n WHERE id = :id"),
                            {"n": name, "id": campaign_id})
        bump()
