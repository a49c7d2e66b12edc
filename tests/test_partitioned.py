"""The warehouse laid out by company (issue #19, item 5): ``campaign-dash db partition``
rebuilds the fact and rollup tables as hash partitions of company_id without losing a row,
once; every dashboard query of a company reads one partition of each table; and the access
and reconciliation tests pass on that layout (run again in a pytest of their own with
CAMPAIGN_DASH_TEST_PARTITIONS=4, which partitions every test database)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import SEED
from db.engine import get_engine
from db.partition import PARTITIONED_TABLES, PartitionError, partition_database

N = 4


def _counts(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in PARTITIONED_TABLES}


@pytest.fixture(scope="module")
def partitioned(empty_database_factory, config):
    """A small seeded warehouse, partitioned after the seed (the rows are copied), and
    its row counts before."""
    if os.environ.get("CAMPAIGN_DASH_TEST_PARTITIONS"):
        pytest.skip("the factory partitioned the database already")
    url = empty_database_factory("partitioned", seeded=(15_000, SEED))
    before = _counts(url)
    layout = partition_database(url, N)
    return replace(config, database_url=url,
                   cache_namespace=f"{config.cache_namespace}-partitioned"), before, layout


def test_the_tables_are_hash_partitions_of_company_with_every_row(partitioned):
    config, before, layout = partitioned
    assert [t.table for t in layout] == list(PARTITIONED_TABLES)
    assert {t.table: t.rows for t in layout} == before
    assert before["ad_events"] > 0 and before["rollup_campaign_daily"] > 0
    assert _counts(config.database_url) == before
    with get_engine(config.database_url).connect() as conn:
        for table in PARTITIONED_TABLES:
            key, parts, pkey = conn.execute(text("""
                SELECT pg_get_partkeydef(c.oid),
                       (SELECT count(*) FROM pg_inherits WHERE inhparent = c.oid),
                       (SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k
                        WHERE k.conrelid = c.oid AND k.contype = 'p')
                FROM pg_class c WHERE c.oid = to_regclass(:t)"""), {"t": table}).one()
            assert (key, parts) == ("HASH (company_id)", N), table
            assert "company_id" in pkey, table
            # each company's rows in one partition only
            spread = conn.execute(text(
                f"SELECT max(n) FROM (SELECT count(DISTINCT tableoid) AS n FROM {table} "
                "GROUP BY company_id) s")).scalar()
            assert spread in (None, 1), table
        # the serial ids go on from the same sequences
        assert conn.execute(text("SELECT pg_get_serial_sequence('ad_events', 'id')")).scalar()


def test_partitioning_again_changes_nothing_and_another_count_is_refused(partitioned):
    config, before, _ = partitioned
    again = partition_database(config.database_url, N)
    assert all(t.rows is None for t in again)
    with pytest.raises(PartitionError, match="already hash partitioned by company_id into 4"):
        partition_database(config.database_url, N + 4)
    assert _counts(config.database_url) == before


def test_every_dashboard_query_of_a_company_reads_one_partition(partitioned):
    """The statements every view sends (cold cache), EXPLAINed with their parameters: each
    read of a partitioned table names one partition, the company's; only the anonymous peer
    benchmarks read other companies' partitions, by design."""
    from dashapp.bench.pruning import CROSS_COMPANY, capture_dashboard_queries, explain, report
    from dashapp.views import BUILT
    from services.campaigns import refresh_cumulative
    from services.context import ServiceContext

    config, _, _ = partitioned
    with get_engine(config.database_url).connect() as conn:
        slug, company = conn.execute(text(
            "SELECT slug, id FROM companies ORDER BY id LIMIT 1")).one()
        own = conn.execute(text("SELECT tableoid::regclass::text FROM ad_events "
                                "WHERE company_id = :c LIMIT 1"), {"c": company}).scalar()
    # the worker's running totals, which a period's campaign sums read
    assert refresh_cumulative(ServiceContext(config.database_url, config.redis_url,
                                             config.cache_namespace), company)
    plans = explain(config.database_url, capture_dashboard_queries(config, slug))
    print(report(plans))
    assert not [p for p in plans if p.error], report(plans)
    # the views whose data lives in the facts all sent queries that were explained
    assert {"executive", "marketing", "realtime", "campaigns"} <= {p.query.view for p in plans}
    assert {"executive", "marketing", "realtime"} <= set(BUILT)
    own_partition = own.rsplit("_p", 1)[1]
    read = set()
    for plan in plans:
        if plan.query.source.startswith(CROSS_COMPANY):
            continue
        assert plan.pruned, (plan.query.source, plan.touched, plan.query.sql)
        for table, partitions in plan.touched.items():
            assert partitions == [f"{table}_p{own_partition}"], (plan.query.source, table)
            read.add(table)
    # the rollups behind the views, and the facts read per request where no rollup serves
    # (journeys for attribution; the data-quality report reads the worker's rows, never the
    # events and leads)
    assert {"rollup_campaign_daily", "rollup_campaign_hourly", "ad_stats_daily",
            "rollup_sales_daily", "rollup_email_daily", "rollup_leads_daily",
            "web_traffic_daily", "touchpoints", "campaign_cumulative_daily"} <= read
    assert not {"ad_events", "leads"} & read


def test_access_and_reconciliation_pass_on_the_partitioned_layout(tmp_path):
    """The reconciliation tests and the access matrix for the analyst (every view but the
    admin's, so every view's callbacks read the partitioned tables) and the campaign
    specialist (views allowed and refused), in a pytest of their own on partitioned
    databases. The whole suite runs on that layout the same way:
    CAMPAIGN_DASH_TEST_PARTITIONS=4 pytest tests/."""
    if os.environ.get("CAMPAIGN_DASH_TEST_PARTITIONS"):
        pytest.skip("this session runs on the partitioned layout already")
    here = Path(__file__).parent
    env = {**os.environ, "CAMPAIGN_DASH_TEST_PARTITIONS": str(N)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         f"--basetemp={tmp_path / 'inner'}", str(here / "test_reconciliation.py"),
         str(here / "test_access.py"), "-k",
         "reconciliation or analyst or specialist or forbidden or denied"],
        cwd=here.parent, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
