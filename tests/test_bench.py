"""`campaign-dash bench` keeps working: a small run end to end (not a timed test).

It builds its own bench database of 20,000 events next to the test databases, serves the app
under gunicorn, measures every callback of every built view over HTTP as each allowed role,
ingest, freshness and the naive baseline, writes the JSON, then drops its database.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from dashapp.bench import BenchOptions, database, run_bench
from dashapp.views import BUILT


@pytest.fixture(scope="module")
def bench_config(config, server_url, tmp_path_factory):
    base = replace(config, database_url=server_url,
                   data_dir=tmp_path_factory.mktemp("bench"),
                   cache_namespace=f"cd-test-bench-{uuid.uuid4().hex[:8]}")
    seed = 900_000 + uuid.uuid4().int % 99_999  # a bench database of this run only
    yield base, seed
    database.drop_database(database.bench_config(base, 20_000, seed))


def test_bench_20000_events(bench_config, tmp_path):
    base, seed = bench_config
    out = tmp_path / "bench.json"
    lines = []
    result = run_bench(base, BenchOptions(events=20_000, seed=seed, json_path=str(out),
                                          repeats=2, view_repeats=1, users_per_role=1,
                                          ingest_events=5_000, attribution_journeys=20_000,
                                          naive_timeout_s=60, progress=False),
                       log=lines.append)
    data = json.loads(out.read_text())
    assert data["events"] == 20_000
    for key in ("callbacks", "views", "ingest_events_per_s", "freshness_s", "naive_ratio"):
        assert key in data
    views = {row["view"] for row in data["callbacks"]}
    assert set(BUILT) <= views
    for row in data["callbacks"]:
        assert {"view", "callback", "cold_p95_ms", "warm_p95_ms"} <= set(row)
        assert row["errors"] == 0, row
    assert {row["view"] for row in data["views"]} == set(BUILT)
    assert data["ingest_events_per_s"] > 0
    naive = result["naive"]
    assert naive["ours_wrong_campaigns"] == 0
    assert naive["naive_revenue_wrong"]  # the fan-out multiplies revenue
    assert naive["naive_matches_closed_form"]
    if "realtime" in BUILT:
        assert data["freshness_s"] is not None and data["freshness_s"] < 60
    assert "naive fan-out view" in "\n".join(lines)
    attribution = data["details"]["attribution"]
    assert attribution["journeys"] == 20_000
    assert all(m["credits_add_up"] for m in attribution["models"].values())
    assert "attribution over 20,000 journeys" in "\n".join(lines)

    # The ingested events were taken out again: the rollups equal a rebuild from the events.
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from db import rollups

    url = database.bench_config(base, 20_000, seed).database_url
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        trans = conn.begin()
        assert conn.execute(text("SELECT COUNT(*) FROM ad_events")).scalar() + \
            conn.execute(text("SELECT COUNT(*) FROM email_sends")).scalar() == 20_000
        tables = ("rollup_campaign_daily", "rollup_campaign_hourly", "ad_stats_daily")
        # A database seeded on an earlier day holds hours a rebuild today no longer keeps
        # (the worker prunes them hourly).
        rollups.prune_hourly(conn)
        # Every key column (ad_stats_daily: location and device too), else ties come back in
        # physical order, which VACUUM and the rebuild change.
        order = "ORDER BY 1, 2, 3, 4, 5, 6"
        before = {t: conn.execute(text(f"SELECT * FROM {t} {order}")).all() for t in tables}
        # ... and each company's newest event is the seeded one again.
        newest = dict(conn.execute(text(
            "SELECT company_id, newest_event_at FROM data_versions")).all())
        seeded = dict(conn.execute(text(
            "SELECT company_id, MAX(occurred_at) FROM ad_events GROUP BY 1")).all())
        assert {company: newest.get(company) for company in seeded} == seeded
        companies = conn.execute(text("SELECT id FROM companies")).scalars().all()
        rollups.rebuild(conn, companies)
        for table in tables:
            after = conn.execute(text(f"SELECT * FROM {table} {order}")).all()
            assert before[table] == after, table
        trans.rollback()
    engine.dispose()


def test_a_tab_section_is_measured_with_its_own_tab_open():
    """A callback that computes only while its tab is open answers nothing (204) with the
    tab closed: the bench opens the tab its outputs are drawn in, in every variation."""
    import datetime as dt
    import random

    from dashapp.bench.payloads import CallbackSpec, PageState, variations

    state = PageState()
    state.add_tree({"type": "Tabs", "props": {"id": "v-tabs", "active_tab": "a", "children": [
        {"type": "Tab", "props": {"tab_id": "a", "children": [
            {"type": "Div", "props": {"id": "v-a-cards"}}]}},
        {"type": "Tab", "props": {"tab_id": "b", "children": [
            {"type": "Div", "props": {"id": "v-b-cards"}}]}}]}})
    state.add_tree({"type": "Dropdown", "props": {"id": "v-range", "value": "30d",
                                                  "options": ["7d", "30d", "year"]}})
    spec = CallbackSpec(key="v-b-cards.children", name="b", view="v",
                        outputs=[{"id": "v-b-cards", "property": "children"}],
                        inputs=[{"id": "v-range", "property": "value"},
                                {"id": "v-tabs", "property": "active_tab"}],
                        state=[], multi=False)
    runs = variations(spec, state, dt.date(2026, 1, 1), 6, random.Random(1))
    assert len(runs) == 6
    assert all(values["v-tabs.active_tab"] == "b" for values, _ in runs)
    assert any("v-range.value" in values for values, _ in runs[1:])  # filters still vary
