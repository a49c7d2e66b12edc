"""SQL of the file importers (``services.importers``): imported campaigns by source key, the
natural keys of imported rows, and the removal of restated events with their rollups. Every
function takes the company (tenant); the caller's session owns the transaction."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from db import rollups


def array_literal(values, quote: bool = True) -> str:
    """A Python list as one PostgreSQL array literal ('{1,NULL,"a b"}'): one bound value
    instead of an ARRAY[...] expression PostgreSQL parses element by element (~10x slower
    for 100,000 elements). ``quote=False`` for numbers and dates (nothing to escape)."""
    if not quote:
        return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        else:
            value = str(value).replace("\\", "\\\\").replace('"', '\\"')
            items.append(f'"{value}"')
    return "{" + ",".join(items) + "}"


_CAMPAIGN_COLUMNS = (
    ("source_key", "text"), ("channel_id", "int"), ("segment_id", "int"),
    ("location_id", "int"), ("name", "text"), ("goal", "text"), ("status", "text"),
    ("start_date", "date"), ("end_date", "date"), ("budget_allocated", "numeric"),
    ("daily_budget", "numeric"), ("language", "text"), ("project", "text"),
    ("target_audience", "text"), ("engagement_score", "int"),
)


def upsert_campaigns(session: Session, company_id: int, source: str,
                     columns: dict[str, list]) -> tuple[dict[str, int], int, int]:
    """Insert or update this company's campaigns of ``source`` by source key (equal-length
    lists per column of ``_CAMPAIGN_COLUMNS``). A campaign whose values are unchanged is not
    written. Returns (source key -> campaign id, created, updated)."""
    names = [name for name, _ in _CAMPAIGN_COLUMNS]
    unnest = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _CAMPAIGN_COLUMNS)
    updated_columns = [name for name in names if name != "source_key"]
    rows = session.execute(text(f"""
        INSERT INTO campaigns AS k (company_id, source, {", ".join(names)}, tags)
        SELECT :company, :source, {", ".join(f"t.{name}" for name in names)}, '{{}}'
        FROM unnest({unnest}) AS t({", ".join(names)})
        ON CONFLICT (company_id, source, source_key) WHERE source_key IS NOT NULL
        DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in updated_columns)}
        WHERE ({", ".join(f"k.{c}" for c in updated_columns)})
              IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in updated_columns)})
        RETURNING (xmax = 0) AS created"""),
        {"company": company_id, "source": source,
         **{name: array_literal(columns[name], quote=kind == "text")
            for name, kind in _CAMPAIGN_COLUMNS}})
    flags = [row.created for row in rows]
    ids = session.execute(text("""
        SELECT source_key, id FROM campaigns
        WHERE company_id = :company AND source = :source
          AND source_key = ANY(CAST(:keys AS text[]))"""),
        {"company": company_id, "source": source, "keys": array_literal(columns["source_key"])})
    return ({row.source_key: row.id for row in ids}, sum(flags), len(flags) - sum(flags))


_IMPORT_LOCK_KEY = 72_410_012


def lock_companies(session: Session, company_ids: list[int]) -> None:
    """Serialise imports into the same companies until the transaction ends: two imports of
    one file at once would both find its keys missing and store its rows twice. Taken in id
    order, so two imports never wait on each other crosswise."""
    for company_id in sorted(set(company_ids)):
        session.execute(text("SELECT pg_advisory_xact_lock(:k, :c)"),
                        {"k": _IMPORT_LOCK_KEY, "c": int(company_id)})


def import_keys(session: Session, company_id: int, source: str,
                keys: list[str]) -> dict[str, tuple[int, int | None]]:
    """natural key -> (row hash, event id) of rows of ``source`` imported before."""
    rows = session.execute(text("""
        SELECT natural_key, row_hash, event_id FROM import_keys
        WHERE company_id = :company AND source = :source
          AND natural_key = ANY(CAST(:keys AS text[]))"""),
        {"company": company_id, "source": source, "keys": array_literal(keys)})
    return {row.natural_key: (row.row_hash, row.event_id) for row in rows}


def save_import_keys(session: Session, company_id: int, source: str, run_id: int | None,
                     keys: list[str], hashes: list[int], campaign_ids: list[int | None],
                     event_ids: list[int | None]) -> None:
    session.execute(text("""
        INSERT INTO import_keys (company_id, source, natural_key, row_hash, campaign_id,
                                 event_id, import_run_id, updated_at)
        SELECT :company, :source, t.k, t.h, t.c, t.e, :run, now()
        FROM unnest(CAST(:keys AS text[]), CAST(:hashes AS bigint[]), CAST(:campaigns AS int[]),
                    CAST(:events AS bigint[])) AS t(k, h, c, e)
        ON CONFLICT (company_id, source, natural_key) DO UPDATE
            SET row_hash = EXCLUDED.row_hash, campaign_id = EXCLUDED.campaign_id,
                event_id = EXCLUDED.event_id, import_run_id = EXCLUDED.import_run_id,
                updated_at = now()"""),
        {"company": company_id, "source": source, "run": run_id, "keys": array_literal(keys),
         "hashes": array_literal(hashes, quote=False),
         "campaigns": array_literal(campaign_ids, quote=False),
         "events": array_literal(event_ids, quote=False)})


_SUMS = ("impressions", "clicks", "conversions", "spend", "revenue")


def _subtract(table: str, keys: list[str], with_events: bool) -> str:
    measures = [*_SUMS, *(["events"] if with_events else [])]
    select_keys = ", ".join(keys)
    return f"""
        UPDATE {table} r SET {", ".join(f"{m} = r.{m} - g.{m}" for m in measures)}
        FROM (SELECT {select_keys}, {", ".join(f"SUM({m}) AS {m}" for m in measures)}
              FROM grain GROUP BY {", ".join(str(i + 1) for i in range(len(keys)))}) g
        WHERE {" AND ".join(f"r.{k} = g.{k}" for k in keys)} RETURNING 1"""


_REMOVE_EVENTS_SQL = text(f"""
    WITH gone AS (
        DELETE FROM ad_events WHERE company_id = :company AND id = ANY(CAST(:ids AS bigint[]))
        RETURNING campaign_id, occurred_at, location_id, device, impressions, clicks,
                  conversions, cost, revenue),
    grain AS (
        SELECT campaign_id, date_trunc('hour', occurred_at, 'UTC') AS hour,
               (occurred_at AT TIME ZONE 'UTC')::date AS day, location_id, device,
               SUM(impressions) AS impressions, SUM(clicks) AS clicks,
               SUM(conversions) AS conversions, SUM(cost) AS spend, SUM(revenue) AS revenue,
               COUNT(*) AS events, MAX(occurred_at) AS newest
        FROM gone GROUP BY 1, 2, 3, 4, 5),
    daily AS ({_subtract("rollup_campaign_daily", ["campaign_id", "day"], True)}),
    hourly AS ({_subtract("rollup_campaign_hourly", ["campaign_id", "hour"], True)}),
    stats AS ({_subtract("ad_stats_daily", ["campaign_id", "day", "location_id", "device"],
                         False)})
    SELECT (SELECT MAX(newest) FROM grain) AS newest,
           (SELECT COALESCE(SUM(events), 0) FROM grain) AS removed,
           (SELECT array_agg(DISTINCT campaign_id) FROM grain) AS campaigns""")


def remove_events(session: Session, company_id: int, event_ids: list[int]) -> int:
    """Delete these events of the company (a restated row's old values) and take them out of
    the three rollups; rollup rows left with nothing are deleted, and the company's newest
    event is recomputed when it was one of them. Returns the number of events removed."""
    if not event_ids:
        return 0
    row = session.execute(_REMOVE_EVENTS_SQL, {"company": company_id,
                                               "ids": array_literal(event_ids, quote=False)}
                          ).one()
    if not row.removed:
        return 0
    params = {"company": company_id, "campaigns": list(row.campaigns)}
    for table in ("rollup_campaign_daily", "rollup_campaign_hourly"):
        session.execute(text(f"""
            DELETE FROM {table} WHERE company_id = :company AND campaign_id = ANY(:campaigns)
              AND events <= 0"""), params)
    session.execute(text("""
        DELETE FROM ad_stats_daily WHERE company_id = :company AND campaign_id = ANY(:campaigns)
          AND impressions = 0 AND clicks = 0 AND conversions = 0 AND spend = 0 AND revenue = 0
          AND reach = 0"""), params)
    newest = session.execute(text(
        "SELECT newest_event_at FROM data_versions WHERE company_id = :company"),
        {"company": company_id}).scalar()
    if newest is not None and row.newest >= newest:
        rollups.refresh_newest_events(session.connection(), [company_id])
    return int(row.removed)
