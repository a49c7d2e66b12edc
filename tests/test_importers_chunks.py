"""Imports read in chunks (issue #12, step 7): a file imported in many chunks gives what it
gives in one (counts, rejected rows and their reasons, duplicates across chunks, stored
measures), a large file imports in bounded memory (peak resident memory of the import process
independent of the file's rows, rejected rows included), and the CLI's progress bar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from dashapp.cli import main
from services import importers

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
KAGGLE = DATA / "kaggle_marketing_campaign_performance_2200" / "marketing_campaign_dataset.csv"
ONLINE = DATA / "online_advertising_performance" / "online_advertising_performance_data.csv"


@pytest.fixture(scope="module")
def own_config(private_warehouse):
    return private_warehouse("import_chunks", 13)


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


def frame(ctx, sql: str, **params) -> pd.DataFrame:
    with ctx.session() as session:
        result = session.execute(text(sql), params)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def new_company(ctx, capsys, name: str) -> tuple[str, int]:
    assert main(["company", "add", name]) == 0
    capsys.readouterr()
    with ctx.session() as session:
        row = session.execute(text("SELECT slug, id FROM companies WHERE name = :n"),
                              {"n": name}).one()
    return row.slug, row.id


def kaggle_copy(tmp_path: Path, prefix: str) -> Path:
    """The 2,200-row Kaggle file under new campaign ids, with rows that test the chunk
    boundaries: a row repeating an earlier chunk's campaign (a duplicate natural key), a bad
    number, a row with an extra field, a repeated header line, a quoted line break."""
    lines = KAGGLE.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], [f"{prefix}{line}" for line in lines[1:]]

    def edit(row: str, index: int, value: str) -> str:
        fields = row.split(",")
        fields[index] = value
        return ",".join(fields)

    rows[700] = edit(rows[700], 3, '"Men\n18-24"')  # Target_Audience
    rows[1200] = edit(rows[1200], 11, "many")  # Clicks
    rows.insert(1500, rows[10])  # a duplicate of a row 4 chunks earlier
    rows.insert(900, rows[899] + ",extra")
    rows.insert(1800, header)
    path = tmp_path / f"kaggle_{prefix}.csv"
    path.write_text("\r\n".join([header, *rows]) + "\r\n", encoding="utf-8")
    return path


def stored(ctx, prefix: str) -> pd.DataFrame:
    got = frame(ctx, """
        SELECT substr(k.source_key, :n) AS key, k.start_date, k.end_date, k.name,
               SUM(e.impressions) AS impressions, SUM(e.clicks) AS clicks,
               SUM(e.conversions) AS conversions, SUM(e.cost) AS spend,
               SUM(e.revenue) AS revenue, COUNT(*) AS events
        FROM campaigns k JOIN ad_events e ON e.campaign_id = k.id
        WHERE k.source = 'kaggle-campaign-performance' AND k.source_key LIKE :p
        GROUP BY 1, 2, 3, 4 ORDER BY 1""", n=len(prefix) + 1, p=f"{prefix}%")
    got["name"] = got["name"].str.replace(prefix, "", regex=False)
    return got.set_index("key")


def comparable(summary: dict, prefix: str) -> dict:
    keep = ("rows", "imported", "replaced", "unchanged", "rejected", "ignored_columns",
            "campaigns_created", "campaigns_updated", "fixes")
    out = {k: summary[k] for k in keep}
    out["rejections"] = [(r["row"], r["reason"].replace(prefix, ""))
                         for r in summary["rejections"]]
    out["reasons"] = {k.replace(prefix, ""): v for k, v in summary["reasons"].items()}
    return out


def test_a_file_in_many_chunks_imports_as_in_one(own_ctx, tmp_path):
    whole = importers.import_file(own_ctx, kaggle_copy(tmp_path, "W1-"))
    chunked = importers.import_file(own_ctx, kaggle_copy(tmp_path, "C1-"), chunk_rows=300)
    assert comparable(chunked, "C1-") == comparable(whole, "W1-")
    assert whole["rejected"] == 4 and whole["imported"] == 2_199
    reasons = " ".join(r["reason"] for r in whole["rejections"])
    for part in ("duplicate natural key", "Clicks must be a number",
                 "fields where the header has", "a repeated header line"):
        assert part in reasons
    pd.testing.assert_frame_equal(stored(own_ctx, "C1-"), stored(own_ctx, "W1-"))
    # the rejected rows are all kept, with their reasons
    runs = frame(own_ctx, """
        SELECT r.import_run_id, COUNT(*) AS n, string_agg(r.reason, ' ') AS reasons
        FROM rejected_rows r WHERE r.import_run_id = ANY(:runs) GROUP BY 1""",
                 runs=[whole["import_run_id"], chunked["import_run_id"]])
    assert runs["n"].tolist() == [4, 4]
    status = frame(own_ctx, "SELECT status, rows_accepted, rows_rejected, summary FROM "
                            "import_runs WHERE id = :i", i=chunked["import_run_id"]).iloc[0]
    assert (status["status"], status["rows_accepted"], status["rows_rejected"]) == \
        ("partial", 2_199, 4)
    assert status["summary"]["imported"] == 2_199
    again = importers.import_file(own_ctx, kaggle_copy(tmp_path, "C1-"), chunk_rows=300)
    assert (again["imported"], again["replaced"], again["unchanged"]) == (0, 0, 2_199)


def test_keys_of_earlier_chunks_past_the_memory_bound(own_ctx):
    """Keys met by earlier chunks are kept in memory up to a bound, then in the import's
    temporary table: both give every row's count of earlier rows with its key and the first
    row that had it, across chunks."""
    from services.importers import base

    rng = np.random.default_rng(12)
    chunks = []
    for n in range(4):
        keys = pd.Series(rng.integers(0, 400, 300).astype(str), dtype=object)
        keys[rng.random(300) < 0.1] = None
        keys.index = pd.RangeIndex(n * 300 + 1, n * 300 + 301)
        chunks.append(keys)
    everything = pd.concat(chunks)
    want_before = everything.groupby(everything, sort=False).cumcount()
    want_first = pd.Series(everything.index, index=everything.index).groupby(
        everything, sort=False).transform("min")
    with own_ctx.session() as session:
        for bound in (10**6, 300):  # in memory throughout; moved to the table at chunk 2
            left = [len(chunks)]
            seen = base.Seen(session, more=lambda left=left: left[0] > 1, memory_keys=bound)
            for keys in chunks:
                before, first = seen.earlier("key", keys)
                have = keys.notna()
                assert (before[have] == want_before[keys.index[have]]).all()
                assert (first[have] == want_first[keys.index[have]]).all()
                assert (before[~have] == 0).all() and (first[~have] == keys.index[~have]).all()
                left[0] -= 1
            assert seen.spilled == (bound == 300)
        session.rollback()


def test_repeated_lines_and_campaign_dates_across_chunks(own_ctx, capsys, cli):
    """The online advertising file's 5 repeated lines are found from other chunks, and each
    campaign runs from its first to its last day of the whole file."""
    slug, company_id = new_company(own_ctx, capsys, "Chunked Banners")
    summary = importers.import_file(own_ctx, ONLINE, company=slug, location="Boston",
                                    year=2020, chunk_rows=2_000)
    assert (summary["imported"], summary["rejected"]) == (15_403, 5)
    assert all("in every column" in r["reason"] for r in summary["rejections"])
    assert summary["campaigns_created"] == 3 and summary["campaigns_updated"] == 0
    raw = pd.read_csv(ONLINE)
    months = {"April": 4, "May": 5, "June": 6}
    raw["day_"] = pd.to_datetime(pd.DataFrame({"year": 2020, "month": raw["month"].map(months),
                                               "day": raw["day"]})).dt.date
    want = raw.groupby("campaign_number")["day_"].agg(["min", "max"])
    got = frame(own_ctx, "SELECT source_key, start_date, end_date FROM campaigns WHERE "
                         "company_id = :c", c=company_id).set_index("source_key")
    assert (got["start_date"] == want["min"]).all() and (got["end_date"] == want["max"]).all()
    spend = frame(own_ctx, "SELECT SUM(cost) AS s FROM ad_events WHERE company_id = :c",
                  c=company_id)["s"][0]
    assert round(float(spend), 2) == round(raw.drop_duplicates()["cost"].sum(), 2)
    again = importers.import_file(own_ctx, ONLINE, company=slug, location="Boston",
                                  year=2020, chunk_rows=2_000)
    assert (again["unchanged"], again["campaigns_updated"], again["rejected"]) == \
        (15_403, 0, 5)


def test_progress_bar_on_stderr(own_ctx, cli, capsys, tmp_path):
    path = tmp_path / "ga.csv"
    days = pd.date_range("2001-01-01", periods=2_500, freq="D")
    pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Sessions": 7}).to_csv(path, index=False)
    slug, _ = new_company(own_ctx, capsys, "Progress Sessions")
    assert main(["import", str(path), "--company", slug, "--json"]) == 0
    assert capsys.readouterr().err == ""  # --json is quiet
    assert main(["import", str(path), "--company", slug, "--json", "--progress",
                 "--chunk-rows", "1000"]) == 0  # three chunks
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["unchanged"] == 2_500
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith("ga.csv:   0% [") and "0 rows" in lines[0]
    assert lines[-1].startswith("ga.csv: 100% [########################] 2,500 rows, ")
    assert lines[-1].endswith(" rows/s")
    assert len(lines) == 4 and "1,000 rows" in lines[1] and "2,000 rows" in lines[2]


PEAKS = """
import contextlib, io, json, re, sys
from dashapp.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(['company', 'list'])  # imports, migrations, connections: not the imports
for argv in json.loads(sys.argv[1]):
    with open('/proc/self/clear_refs', 'w') as handle:
        handle.write('5')  # resets the peak resident memory (VmHWM)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(argv)
    status = open('/proc/self/status').read()
    peak = int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))
    print(json.dumps({'summary': json.loads(out.getvalue())[0], 'peak_kb': peak}))
"""


def imports_measured(config, runs: list[list[str]]) -> list[tuple[dict, float]]:
    """The imports one after the other in a process of their own: each one's summary and
    peak resident memory (MB) while it ran."""
    env = {**os.environ, "DATABASE_URL": config.database_url, "REDIS_URL": config.redis_url,
           "CAMPAIGN_DASH_CACHE_NAMESPACE": config.cache_namespace}
    done = subprocess.run([sys.executable, "-c", PEAKS, json.dumps(runs)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return [(r["summary"], r["peak_kb"] / 1024) for r in results]


def events_file(path: Path, rows: int, campaigns: list[int], bad: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    events = pd.DataFrame({
        "campaign_id": rng.choice(campaigns, rows),
        "occurred_at": (pd.Timestamp("2024-01-01", tz="UTC")
                        + pd.to_timedelta(rng.integers(0, 365 * 86_400, rows), unit="s")),
        "impressions": rng.integers(0, 1_000, rows),
        "clicks": rng.integers(0, 50, rows),
        "conversions": rng.integers(0, 5, rows),
        "cost": rng.integers(0, 100_000, rows) / 100,
        "revenue": rng.integers(0, 200_000, rows) / 100,
        "location": rng.choice(["Chicago", "Boston", "Atlanta"], rows),
        "device": rng.choice(["desktop", "mobile", "tablet"], rows),
    })
    if bad:
        events["clicks"] = "many"
    events.to_csv(path, index=False)
    return events


def test_a_large_file_imports_in_bounded_memory(own_config, own_ctx, tmp_path):
    """60,000 events (six chunks of 10,000) take no more memory than 20,000 (two chunks),
    accepted or rejected, and every row is counted. (Before chunked reading, 300,000 events
    took ~260 MB more than a small import when accepted and ~580 MB more when rejected.)"""
    company = frame(own_ctx, "SELECT c.id, c.slug FROM companies c ORDER BY c.id LIMIT 1").iloc[0]
    campaigns = frame(own_ctx, "SELECT id FROM campaigns WHERE company_id = :c",
                      c=int(company["id"]))["id"].tolist()
    before = frame(own_ctx, "SELECT COALESCE(SUM(clicks), 0) AS c, COUNT(*) AS n FROM "
                            "ad_events WHERE company_id = :c", c=int(company["id"])).iloc[0]
    cases = ((20_000, False), (60_000, False), (20_000, True), (60_000, True))
    runs, clicks = [], 0
    for rows, bad in cases:
        path = tmp_path / f"events_{rows}_{bad}.csv"
        events = events_file(path, rows, campaigns, bad)
        clicks += 0 if bad else int(events["clicks"].sum())
        runs.append(["import", str(path), "--company", company["slug"], "--json",
                     "--chunk-rows", "10000"])
    peaks = {}
    for (rows, bad), (summary, peak) in zip(cases, imports_measured(own_config, runs),
                                            strict=True):
        peaks[rows, bad] = peak
        assert summary["rows"] == rows
        if bad:
            assert (summary["imported"], summary["rejected"]) == (0, rows)
            assert summary["reasons"] == {"clicks must be a number": rows}
            assert len(summary["rejections"]) == 1_000
            kept = frame(own_ctx, "SELECT COUNT(*) AS n FROM rejected_rows WHERE "
                                  "import_run_id = :r", r=summary["import_run_id"])["n"][0]
            assert kept == rows
        else:
            assert (summary["imported"], summary["rejected"]) == (rows, 0)
    after = frame(own_ctx, "SELECT COALESCE(SUM(clicks), 0) AS c, COUNT(*) AS n FROM "
                           "ad_events WHERE company_id = :c", c=int(company["id"])).iloc[0]
    assert (after["n"] - before["n"], after["c"] - before["c"]) == (80_000, clicks)
    print("peak MB", peaks)
    assert peaks[60_000, False] < peaks[20_000, False] + 20, peaks
    assert peaks[60_000, True] < peaks[20_000, True] + 20, peaks
