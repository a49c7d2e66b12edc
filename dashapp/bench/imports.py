"""Rows per second of `campaign-dash import` over the real exports in ../shared/data and a few
generated larger files (issue #12). Each import runs as its own CLI process on a database
restored from a dump before the run, so two runs compare the same work.

    createdb cd_imp_bench && DATABASE_URL=... campaign-dash seed --events 14000
    pg_dump -Fc cd_imp_bench > /tmp/cd_imp_bench.dump
    DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/cd_imp_bench \\
        REDIS_URL=redis://127.0.0.1:6379/0 python -m dashapp.bench.imports /tmp/cd_imp_bench.dump

``--events``: the project's own events format instead, 300,000 rows accepted, 90 % and all
rejected. ``--kaggle``: the Kaggle campaign-performance layout scaled to 202,400 rows (the
2,200-row file 92 times under new campaign ids: one new campaign per row), imported new, again
(unchanged), then 90 % and all rejected.

Prints one line per import: rows, what happened, seconds and rows/s as the summary gives them,
the CPU seconds of the import (its process's and its PostgreSQL backends', see ``MEASURED``)
and the rows per CPU second, and the peak resident memory of the process (MB). The datasets
are only read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
# The CLI, with the CPU seconds of each import_file call: its own process's and those of the
# PostgreSQL backends it used (from /proc, when the server runs on this machine), so a run
# can be compared with another whatever else loads the machine (wall times moved by up to
# 2x from one run to the next at a load average of 2.5 to 4).
MEASURED = """
import os, resource, sys
from sqlalchemy import event
from sqlalchemy.pool import Pool
from dashapp.cli import main
from services import importers

inside, backend = [False], [0]

def ticks(pid):
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

def checkout(dbapi, record, proxy):
    if inside[0]:
        cursor = dbapi.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        cursor.close()
        try:
            record.info["bench"] = (pid, ticks(pid))
        except OSError:  # the server runs elsewhere
            pass

def checkin(dbapi, record):
    if "bench" in record.info:
        pid, start = record.info.pop("bench")
        backend[0] += ticks(pid) - start

event.listen(Pool, "checkout", checkout)
event.listen(Pool, "checkin", checkin)
plain = importers.import_file

def measured(*args, **kwargs):
    inside[0], backend[0] = True, 0
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        return plain(*args, **kwargs)
    finally:
        after = resource.getrusage(resource.RUSAGE_SELF)
        inside[0] = False
        own = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        print("CPU_S", own, backend[0] / os.sysconf("SC_CLK_TCK"), file=sys.stderr)

importers.import_file = measured
code = main(sys.argv[1:])
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""
CLI = [sys.executable, "-c", MEASURED]


HEADER = ("| import | rows | result | seconds | rows/s | CPU s (Python + PostgreSQL) | "
          "rows per CPU s | peak MB |\n| --- | --- | --- | --- | --- | --- | --- | --- |")


def restore(dump: str) -> None:
    url = urlparse(os.environ["DATABASE_URL"].replace("+psycopg2", ""))
    args = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres"]
    name = url.path.lstrip("/")
    subprocess.run(["dropdb", *args, "--if-exists", name], check=True)
    subprocess.run(["createdb", *args, name], check=True)
    subprocess.run(["pg_restore", *args, "-d", name, dump], check=True)


def run(label: str, *args) -> None:
    # BENCH_CODE: another checkout of the code to measure (e.g. the commit before a change)
    done = subprocess.run([*CLI, "import", *map(str, args), "--json"],
                          cwd=os.environ.get("BENCH_CODE", ROOT),
                          capture_output=True, text=True)
    peak = next((int(line.split()[1]) for line in done.stderr.splitlines()
                 if line.startswith("PEAK_KB")), 0) / 1024
    cpus = [tuple(map(float, line.split()[1:])) for line in done.stderr.splitlines()
            if line.startswith("CPU_S")]
    try:
        summaries = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"{label}: failed\n{done.stderr[-2000:]}")
        return
    for s, (own, backend) in zip(summaries, cpus or [(0.0, 0.0)] * len(summaries),
                                 strict=False):
        if "error" in s:
            print(f"| {label} | error: {s['error']} |")
            continue
        what = (f"{s['imported']:,} new, {s['replaced']:,} restated, "
                f"{s['unchanged']:,} unchanged, {s['rejected']:,} rejected")
        cpu = own + backend
        print(f"| {label} ({Path(s['file']).name}) | {s['rows']:,} | {what} | "
              f"{s['seconds']:.2f} | {s['rows_per_second'] or 0:,} | {own:.2f} + "
              f"{backend:.2f} | {round(s['rows'] / cpu) if cpu else 0:,} | {peak:.0f} |",
              flush=True)


def kaggle_times(folder: Path, times: int, prefix: str = "x", bad: float = 0) -> Path:
    """The 2,200-row Kaggle file repeated with new campaign ids; a fraction ``bad`` of the
    rows (every row but each tenth for 0.9) with text in Clicks."""
    raw = pd.read_csv(DATA / "kaggle_marketing_campaign_performance_2200"
                      / "marketing_campaign_dataset.csv", dtype=str)
    parts = []
    for n in range(times):
        part = raw.copy()
        part["Campaign_ID"] = f"{prefix}{n}-" + part["Campaign_ID"]
        parts.append(part)
    big = pd.concat(parts, ignore_index=True)
    if bad == 1:
        big["Clicks"] = "many"
    elif bad:
        big.loc[big.index % 10 != 0, "Clicks"] = "many"
    path = folder / f"kaggle_{prefix}{times}.csv"
    big.to_csv(path, index=False)
    return path


def events_file(folder: Path, rows: int, campaigns: list[int], bad: float = 0) -> Path:
    """The project's own events format: ``rows`` events of these campaigns over 2024 (a
    fraction ``bad`` of the rows with text in clicks: every row but each tenth for 0.9)."""
    import numpy as np

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "campaign_id": rng.choice(campaigns, rows),
        "occurred_at": (pd.Timestamp("2024-01-01", tz="UTC")
                        + pd.to_timedelta(rng.integers(0, 365 * 86400, rows), unit="s")),
        "impressions": rng.integers(0, 1000, rows),
        "clicks": rng.integers(0, 50, rows),
        "conversions": rng.integers(0, 5, rows),
        "cost": rng.integers(0, 100_000, rows) / 100,
        "revenue": rng.integers(0, 200_000, rows) / 100,
        "location": rng.choice(["Chicago", "Boston", "Atlanta"], rows),
        "device": rng.choice(["desktop", "mobile", "tablet"], rows),
    })
    if bad == 1:
        frame["clicks"] = "many"
    elif bad:
        frame["clicks"] = frame["clicks"].astype(object)
        frame.loc[frame.index % 10 != 0, "clicks"] = "many"
    path = folder / f"events_{rows}_{'bad' + str(bad) if bad else 'good'}.csv"
    frame.to_csv(path, index=False)
    return path


def company_campaigns(slug: str) -> list[int]:
    from sqlalchemy import create_engine, text

    with create_engine(os.environ["DATABASE_URL"]).connect() as conn:
        return list(conn.execute(text(
            "SELECT k.id FROM campaigns k JOIN companies c ON c.id = k.company_id "
            "WHERE c.slug = :slug"), {"slug": slug}).scalars())


def main() -> None:
    dump = sys.argv[1]
    restore(dump)
    if "--events" in sys.argv:
        with tempfile.TemporaryDirectory() as folder:
            campaigns = company_campaigns("harbor-trust-bank")
            print(HEADER)
            for bad, label in ((0, ""), (0.9, ", 90 % rejected"), (1, ", all rejected")):
                run(f"events 300k{label}", events_file(Path(folder), 300_000, campaigns, bad),
                    "--company", "harbor-trust-bank")
        return
    if "--kaggle" in sys.argv:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            print(HEADER)
            big = kaggle_times(folder, 92)
            run("Kaggle x92 new ids", big)
            run("Kaggle x92 again", big)
            run("Kaggle x92, 90 % rejected", kaggle_times(folder, 92, "n", 0.9))
            run("Kaggle x92, all rejected", kaggle_times(folder, 92, "r", 1))
        return
    k900 = DATA / "kaggle_marketing_campaign_performance" / "marketing_campaign_dataset.csv"
    k2200 = DATA / "kaggle_marketing_campaign_performance_2200" / "marketing_campaign_dataset.csv"
    lead = DATA / "leadsmart_assessment"
    print(HEADER)
    run("Kaggle 900", k900)
    run("Kaggle 2,200 after the 900", k2200)
    run("Facebook", DATA / "fb_ad_conversions_kag" / "KAG_conversion_data.csv",
        "--company", "cartwheel-home", "--start", "2017-08-17", "--location", "Chicago")
    run("LeadSmart campaigns", lead / "campaigns_cleaned.csv", "--company", "stackline-cloud",
        "--location", "New York")
    run("LeadSmart insights", lead / "insights_cleaned.csv", "--company", "stackline-cloud",
        "--location", "New York")
    run("LeadSmart insights again", lead / "insights_cleaned.csv", "--company",
        "stackline-cloud", "--location", "New York")
    run("LeadSmart lead status changes", lead / "lead_status_changes_cleaned.csv",
        "--company", "stackline-cloud")
    run("GA sessions", DATA / "ga_daily_sessions_forecastga" / "ga_sessions.csv", "--company",
        "pipewise-analytics")
    run("Online advertising", DATA / "online_advertising_performance"
        / "online_advertising_performance_data.csv", "--company", "bluewave-resorts",
        "--year", "2020", "--location", "Boston")
    run("Journeys", DATA / "channel_attribution_journeys" / "Channel_attribution.csv",
        "--company", "summit-wealth")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        big = kaggle_times(folder, 46)
        run("Kaggle x46 new ids", big)
        run("Kaggle x46 again", big)
        run("Kaggle x46, 90 % rejected", kaggle_times(folder, 46, "n", 0.9))
        run("Kaggle x46, all rejected", kaggle_times(folder, 46, "r", 1))


if __name__ == "__main__":
    main()
