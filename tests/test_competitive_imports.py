"""Competitive intelligence through `campaign-dash import` (issue #16): monthly competitor
figures as ranges (stored values equal pandas over the CSV; a single value only when the
source calls it exact), competitor updates from RSS, Atom and JSON lines (a re-import adds
nothing), and the "New competitor updates" alert rule firing on news and resolving a day
later. Files are written here, in a temporary folder; nothing is fetched from the network."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from sqlalchemy import text

from dashapp.cli import main
from services import alerts, competitive
from services.access import CLI_USER, choose_company, system_scope

JEWELLER = "bellini-gioielli"

METRICS_CSV = """competitor,month,metric,channel,low,high,value,exact,method,source
Aurora Jewels,2026-05,market_share,,3.5,4.5,,,share of category sales (panel),Market panel
Aurora Jewels,2026-05,ad_spend,,40000,65000,,,impressions x benchmark CPM,Ad library
Aurora Jewels,2026-05,voice,Social,1200,1500,,,mentions counted by keyword,Social listening
Aurora Jewels,2026-05-17,social_followers,,,,52000,yes,follower count on the profile,Profile
Bellini Gioielli,2026-05,voice,Social,2100,2300,,,mentions counted by keyword,Social listening
Aurora Jewels,2026-04,market_share,,,,3.9,,analyst estimate,Analyst note
Aurora Jewels,2026-04,ad_spend,,70000,50000,,,impressions x benchmark CPM,Ad library
Aurora Jewels,2026-04,reach,,1,2,,,guess,Nobody
Aurora Jewels,2026-04,voice,,10,20,,,mentions,Social listening
Aurora Jewels,May 2026,avg_cpc,,1.1,1.4,,,auction insights,Search console
"""

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Aurora Jewels newsroom</title>
<link>https://aurora.example/news</link><description>News</description>
<item><title>Aurora cuts prices on bridal rings</title>
<link>https://aurora.example/news/bridal-prices</link>
<guid>https://aurora.example/news/bridal-prices</guid>
<category>pricing</category><pubDate>Tue, 05 May 2026 09:00:00 GMT</pubDate>
<description>&lt;p&gt;Bridal rings &lt;b&gt;20 %&lt;/b&gt; off until June.&lt;/p&gt;</description>
</item>
<item><title>Aurora opens a studio in Milan</title>
<link>https://aurora.example/news/milan</link><guid>aurora-milan-2026</guid>
<category>retail</category><pubDate>Mon, 11 May 2026 10:00:00 GMT</pubDate>
</item>
<item><title>A script link</title><link>javascript:alert(1)</link><guid>bad-link</guid>
<pubDate>Tue, 12 May 2026 10:00:00 GMT</pubDate></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Lumen careers</title>
<id>urn:lumen:news</id><updated>2026-05-20T00:00:00Z</updated>
<entry><title>Lumen hires a new head of digital</title><id>urn:lumen:hire-1</id>
<link href="https://lumen.example/careers/head-of-digital"/>
<category term="hiring"/><updated>2026-05-20T08:00:00Z</updated>
<summary>Formerly at a large retailer.</summary></entry>
</feed>
"""


@pytest.fixture(scope="module")
def own_ctx(private_warehouse):
    from dashapp.runtime import service_context

    config = private_warehouse("competitive_imports", 5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", config.database_url)
        patch.setenv("REDIS_URL", config.redis_url)
        yield service_context(config)


@pytest.fixture(scope="module")
def jeweller(own_ctx):
    return system_scope(own_ctx, choose_company(own_ctx, CLI_USER, JEWELLER).id)


def run_import(capsys, *args) -> tuple[int, dict]:
    code = main(["import", *map(str, args), "--company", JEWELLER, "--json"])
    summaries = json.loads(capsys.readouterr().out)
    assert len(summaries) == 1
    return code, summaries[0]


def frame(ctx, sql: str, **params) -> pd.DataFrame:
    with ctx.session() as session:
        result = session.execute(text(sql), params)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def test_competitor_metrics_are_stored_as_their_ranges(own_ctx, jeweller, capsys, tmp_path):
    path = tmp_path / "competitor_metrics.csv"
    path.write_text(METRICS_CSV)
    code, summary = run_import(capsys, path)
    assert code == 0 and summary["format"] == "competitor-metrics"
    # Bellini's own Social voice for May 2026 was estimated by the demo data: restated.
    assert (summary["imported"], summary["replaced"], summary["rejected"]) == (4, 1, 5)
    assert summary["competitors_created"] == 1
    reasons = " | ".join(r["reason"] for r in summary["rejections"])
    assert "a single value is kept only when the source calls it exact" in reasons
    assert "low is above high" in reasons and "'reach' is not a metric" in reasons
    assert "voice needs a channel" in reasons and "'May 2026'" in reasons
    assert summary["fixes"]

    # Every valid row stored as given: pandas over the CSV, on the month's first day.
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    valid = raw.loc[[0, 1, 2, 3, 4]].copy()
    valid["low"] = pd.to_numeric(valid["low"]).fillna(pd.to_numeric(valid["value"]))
    valid["high"] = pd.to_numeric(valid["high"]).fillna(pd.to_numeric(valid["value"]))
    stored = frame(own_ctx, """
        SELECT coalesce(c.name, 'Bellini Gioielli') AS competitor, e.competitor_id, e.metric,
               e.channel, e.low, e.high, e.method, e.source
        FROM competitor_estimates e LEFT JOIN competitors c
          ON c.id = e.competitor_id AND c.company_id = e.company_id
        WHERE e.company_id = :c AND e.month = '2026-05-01'
          AND (c.name = 'Aurora Jewels' OR e.competitor_id = 0)""", c=jeweller.company_id)
    for _, row in valid.iterrows():
        got = stored[(stored.competitor == row.competitor) & (stored.metric == row.metric)
                     & (stored.channel == (row.channel or "all"))]
        assert len(got) == 1, row.to_dict()
        got = got.iloc[0]
        assert (got.low, got.high) == pytest.approx((row.low, row.high))
        assert (got.method, got.source) == (row.method, row.source)
    assert stored[stored.competitor == "Bellini Gioielli"].competitor_id.eq(0).all()
    assert len(stored[stored.competitor == "Aurora Jewels"]) == 4

    # The view shows the imported range for May 2026, never a point.
    shares = competitive.market_share(own_ctx, jeweller,
                                      {"range": "custom", "start": "2026-05-01",
                                       "end": "2026-05-31"})
    aurora = next(b for b in shares["brands"] if b["name"] == "Aurora Jewels")
    may = next(p for p in aurora["series"] if p["month"] == "2026-05-01")
    assert (may["low"], may["high"]) == pytest.approx((3.5, 4.5))

    # Importing again changes nothing; a restated figure replaces the stored one.
    code, again = run_import(capsys, path)
    assert (again["imported"], again["replaced"], again["unchanged"]) == (0, 0, 5)
    path.write_text(METRICS_CSV.replace("40000,65000", "42000,61000"))
    code, restated = run_import(capsys, path)
    assert (restated["imported"], restated["replaced"], restated["unchanged"]) == (0, 1, 4)
    spend = frame(own_ctx, """SELECT low, high FROM competitor_estimates e
                              JOIN competitors c ON c.id = e.competitor_id
                              WHERE e.company_id = :c AND c.name = 'Aurora Jewels'
                                AND metric = 'ad_spend' AND month = '2026-05-01'""",
                  c=jeweller.company_id)
    assert (spend.low[0], spend.high[0]) == (42000, 61000)


def test_an_rss_feed_adds_its_entries_once(own_ctx, jeweller, capsys, tmp_path):
    path = tmp_path / "aurora.xml"
    path.write_text(RSS)
    code, summary = run_import(capsys, path, "--competitor", "Aurora Jewels")
    assert code == 0 and summary["format"] == "competitor-updates"
    assert summary["notes"][0].startswith("read as an RSS/Atom feed of 3 entries")
    assert (summary["imported"], summary["rejected"]) == (2, 1)
    assert "url must start with http" in summary["rejections"][0]["reason"]
    stored = frame(own_ctx, """
        SELECT u.observed_on::text AS day, u.kind, u.summary, u.url, u.source, u.source_key
        FROM competitor_updates u JOIN competitors c ON c.id = u.competitor_id
        WHERE u.company_id = :c AND c.name = 'Aurora Jewels' ORDER BY u.observed_on""",
                   c=jeweller.company_id)
    assert stored.day.tolist() == ["2026-05-05", "2026-05-11"]
    assert stored.kind.tolist() == ["pricing", "other"]  # "retail" names no kind
    assert stored.summary[0] == ("Aurora cuts prices on bridal rings: Bridal rings 20 % off "
                                 "until June.")
    assert stored.source.unique().tolist() == ["Aurora Jewels newsroom"]
    assert stored.source_key.tolist() == ["https://aurora.example/news/bridal-prices",
                                          "aurora-milan-2026"]

    code, again = run_import(capsys, path, "--competitor", "Aurora Jewels")
    assert (again["imported"], again["replaced"], again["unchanged"]) == (0, 0, 2)
    assert frame(own_ctx, "SELECT COUNT(*) AS n FROM competitor_updates WHERE company_id = :c "
                          "AND source = 'Aurora Jewels newsroom'",
                 c=jeweller.company_id).n[0] == 2


def test_a_feed_needs_its_competitor_and_atom_and_json_lines_import_too(
        own_ctx, jeweller, capsys, tmp_path):
    atom = tmp_path / "lumen.atom"
    atom.write_text(ATOM)
    code, missing = run_import(capsys, atom)
    assert missing["imported"] == 0 and missing["rejected"] == 1
    assert "missing competitor" in missing["rejections"][0]["reason"]
    assert any("--competitor" in fix for fix in missing["fixes"])
    code, summary = run_import(capsys, atom, "--competitor", "Lumen")
    assert summary["imported"] == 1
    kind = frame(own_ctx, "SELECT kind FROM competitor_updates WHERE company_id = :c "
                          "AND source_key = 'urn:lumen:hire-1'", c=jeweller.company_id)
    assert kind.kind.tolist() == ["hiring"]

    lines = tmp_path / "updates.jsonl"
    lines.write_text("\n".join(json.dumps(row) for row in [
        {"competitor": "Lumen", "date": "2026-05-21", "kind": "campaign",
         "title": "Lumen launches a summer campaign", "url": "https://lumen.example/summer"},
        {"competitor": "Lumen", "date": "2026-05-22", "kind": "rumour",
         "title": "Lumen may merge"},
    ]) + "\n")
    code, summary = run_import(capsys, lines)
    assert summary["format"] == "competitor-updates"
    assert (summary["imported"], summary["rejected"]) == (1, 1)
    assert "'rumour' is not a kind" in summary["rejections"][0]["reason"]


def test_new_updates_raise_the_competitor_news_alert_and_it_resolves_a_day_later(
        own_ctx, jeweller, capsys, tmp_path):
    company_id = jeweller.company_id
    alerts.ensure_default_rules(own_ctx, company_id)
    now = dt.datetime.now(dt.timezone.utc)
    path = tmp_path / "news.csv"
    path.write_text("competitor,date,kind,title\n"
                    "Aurora Jewels,2026-05-30,product,Aurora launches a lab-grown line\n")
    run_import(capsys, path)
    fired = alerts.evaluate_company(own_ctx, company_id, now + dt.timedelta(minutes=1))
    news = [m for m in fired["fired"] if m.startswith("New competitor updates")]
    assert len(news) == 1, fired
    recorded = frame(own_ctx, """SELECT COUNT(*) AS n FROM competitor_updates
                                 WHERE company_id = :c AND created_at >= :since""",
                     c=company_id, since=now - dt.timedelta(hours=24)).n[0]
    assert news[0].endswith(f"at {recorded:,}")
    later = alerts.evaluate_company(own_ctx, company_id, now + dt.timedelta(hours=25))
    assert any(m.startswith("Resolved: New competitor updates") for m in later["resolved"])
