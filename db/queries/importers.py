"""SQL of the file importers (``services.importers``): imported campaigns by source key, the
natural keys of imported rows, and the removal of restated events with their rollups. Every
function takes the company (tenant); the caller's session owns the transaction."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from db import rollups
from db.queries.ingest import _copy_text


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


def copy_text_rows(session: Session, table: str, columns: list[str],
                   values: list[list], texts: set[str] = frozenset()) -> None:
    """Rows into ``table`` with one COPY of the text format: ``values`` holds one list per
    column (None is NULL; the columns in ``texts`` are escaped, the others written as
    ``str`` gives them: numbers, dates). One COPY of 100,000 rows takes a fraction of an
    INSERT ... SELECT FROM unnest(...) of the same rows, whose array literals cost as much to
    build in Python as to parse on the server."""
    if not values or not len(values[0]):
        return
    cells = []
    for name, column in zip(columns, values, strict=True):
        if name in texts:
            joined = "\x01".join(str(v) for v in column if v is not None)
            if any(c in joined for c in "\\\t\n\r\x00"):
                column = [None if v is None else _copy_text(str(v)) for v in column]
        cells.append(["\\N" if v is None else str(v) for v in column])
    data = "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n"
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN",
                       io.BytesIO(data.encode("utf-8")), size=1 << 20)


def upsert_campaigns(session: Session, source: str, columns: dict[str, list], *,
                     widen: bool = False) -> pd.DataFrame:
    """Insert or update campaigns of ``source`` by (company, source key): equal-length lists
    per column of ``_CAMPAIGN_COLUMNS`` and ``company_id``, a key at most once. The rows go
    into a temporary table with one COPY, then into ``campaigns`` with one INSERT ... ON
    CONFLICT in key order (two imports into one company are serialised by its lock; the
    order keeps any other writer from deadlocking with them). A campaign whose values are
    unchanged is not written. ``widen``: a stored campaign's start and end dates are only
    ever widened (the earlier start, the later end; its status follows the end), for formats
    whose campaigns run from their first to their last row.

    Returns every given campaign: company_id, source_key, id, channel_id, location_id (as
    stored), created (True: inserted, False: updated, None: unchanged)."""
    names = [name for name, _ in _CAMPAIGN_COLUMNS]
    updated_columns = [name for name in names if name != "source_key"]
    new = {c: f"EXCLUDED.{c}" for c in updated_columns}
    if widen:
        new["start_date"] = "LEAST(k.start_date, EXCLUDED.start_date)"
        new["end_date"] = "GREATEST(k.end_date, EXCLUDED.end_date)"
        new["status"] = (f"CASE WHEN {new['end_date']} < CURRENT_DATE THEN 'completed' "
                         "ELSE 'active' END")
    session.execute(text(f"""
        CREATE TEMPORARY TABLE IF NOT EXISTS import_campaigns (
            company_id int, {", ".join(f"{name} {kind}" for name, kind in _CAMPAIGN_COLUMNS)})
        ON COMMIT DROP"""))
    session.execute(text("TRUNCATE import_campaigns"))
    copy_text_rows(session, "import_campaigns", ["company_id", *names],
                   [columns["company_id"], *(columns[name] for name in names)],
                   {name for name, kind in _CAMPAIGN_COLUMNS if kind == "text"})
    written = session.execute(text(f"""
        INSERT INTO campaigns AS k (company_id, source, {", ".join(names)}, tags)
        SELECT t.company_id, :source, {", ".join(f"t.{name}" for name in names)}, '{{}}'
        FROM import_campaigns t ORDER BY t.company_id, t.source_key
        ON CONFLICT (company_id, source, source_key) WHERE source_key IS NOT NULL
        DO UPDATE SET {", ".join(f"{c} = {new[c]}" for c in updated_columns)}
        WHERE ({", ".join(f"k.{c}" for c in updated_columns)})
              IS DISTINCT FROM ({", ".join(new[c] for c in updated_columns)})
        RETURNING k.company_id, k.source_key, k.id, k.channel_id, k.location_id,
                  (xmax = 0) AS created"""), {"source": source}).all()
    out = ["company_id", "source_key", "id", "channel_id", "location_id", "created"]
    frame = _frame(written, out)
    if len(frame) < len(columns["source_key"]):  # the unchanged ones
        same = session.execute(text("""
            SELECT c.company_id, c.source_key, c.id, c.channel_id, c.location_id,
                   NULL AS created
            FROM import_campaigns t
            JOIN campaigns c ON c.company_id = t.company_id AND c.source = :source
                            AND c.source_key = t.source_key"""), {"source": source}).all()
        same = _frame(same, out)
        same = same[~same["id"].isin(frame["id"])]
        frame = pd.concat([frame, same], ignore_index=True) if len(frame) else same
    return frame


def campaigns_by_key(session: Session, source: str, company_ids: list[int],
                     keys: list[str]) -> pd.DataFrame:
    """Stored campaigns of ``source`` by (company, source key) pairs: company_id,
    source_key, id, channel_id, location_id."""
    rows = session.execute(text("""
        SELECT c.company_id, c.source_key, c.id, c.channel_id, c.location_id
        FROM unnest(CAST(:companies AS int[]), CAST(:keys AS text[])) AS t(company_id, k)
        JOIN campaigns c ON c.company_id = t.company_id AND c.source = :source
                        AND c.source_key = t.k"""),
        {"source": source, "companies": array_literal(company_ids, quote=False),
         "keys": array_literal(keys)}).all()
    return _frame(rows, ["company_id", "source_key", "id", "channel_id", "location_id"])


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    """Result rows as a frame, column by column (a frame built from 100,000 Row objects
    costs ~0.5 s of attribute lookups)."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({name: list(column) for name, column in zip(columns, values,
                                                                     strict=True)})


def campaign_ids(session: Session, company_id: int, source: str,
                 keys: list[str]) -> dict[str, int]:
    """source key -> campaign id of this company's campaigns of ``source`` among ``keys``."""
    rows = session.execute(text("""
        SELECT source_key, id FROM campaigns
        WHERE company_id = :company AND source = :source
          AND source_key = ANY(CAST(:keys AS text[]))"""),
        {"company": company_id, "source": source, "keys": array_literal(keys)})
    return {row.source_key: row.id for row in rows}


def seen_keys(session: Session, kind: str, hashes: list[int], counts: list[int],
              first_rows: list[int], *, earlier: bool = True,
              later: bool = True) -> dict[int, tuple[int, int]]:
    """Keys one import has met in its chunks so far (a temporary table of the import's
    transaction, so a file's duplicates are found across chunks in bounded memory): this
    chunk's keys (64-bit hashes, each with how often and from which row it occurs in the
    chunk). Returns, per hash met before, (its count including this chunk, the first row that
    had it); hashes not returned are new. ``earlier``: chunks came before (else nothing is
    looked up); ``later``: chunks follow (else nothing is kept)."""
    params = {"kind": kind, "h": array_literal(hashes, quote=False),
              "n": array_literal(counts, quote=False),
              "r": array_literal(first_rows, quote=False)}
    rows = ()
    if not earlier:  # the first chunk: nothing to find, only to keep
        session.execute(text("""
            CREATE TEMPORARY TABLE IF NOT EXISTS import_seen (
                kind text, h bigint, n bigint, first_row bigint, PRIMARY KEY (kind, h))
            ON COMMIT DROP"""))
        session.execute(text("""
            INSERT INTO import_seen (kind, h, n, first_row)
            SELECT :kind, t.h, t.n, t.r
            FROM unnest(CAST(:h AS bigint[]), CAST(:n AS bigint[]), CAST(:r AS bigint[]))
                 AS t(h, n, r)"""), params)
    elif not later:  # the last chunk: only to find
        rows = session.execute(text("""
            SELECT s.h, s.n + t.n AS n, s.first_row
            FROM unnest(CAST(:h AS bigint[]), CAST(:n AS bigint[])) AS t(h, n)
            JOIN import_seen s ON s.kind = :kind AND s.h = t.h"""), params)
    else:
        rows = session.execute(text("""
            INSERT INTO import_seen AS s (kind, h, n, first_row)
            SELECT :kind, t.h, t.n, t.r
            FROM unnest(CAST(:h AS bigint[]), CAST(:n AS bigint[]), CAST(:r AS bigint[]))
                 AS t(h, n, r)
            ON CONFLICT (kind, h) DO UPDATE SET n = s.n + EXCLUDED.n
            RETURNING s.h, s.n, s.first_row"""), params)
    return {row.h: (row.n, row.first_row) for row in rows}


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
                     event_ids: list[int | None], new=None) -> None:
    """The natural keys of rows just stored. ``new``: a mask of the keys not stored before
    (``import_keys`` found none), which go in with one COPY; the others are upserted."""
    if new is not None and len(keys):
        new = np.asarray(new, dtype=bool)
        fresh = np.flatnonzero(new)
        if len(fresh):
            run = None if run_id is None else int(run_id)
            copy_text_rows(
                session, "import_keys",
                ["company_id", "source", "natural_key", "row_hash", "campaign_id",
                 "event_id", "import_run_id"],
                [[company_id] * len(fresh), [source] * len(fresh),
                 [keys[i] for i in fresh], [hashes[i] for i in fresh],
                 [campaign_ids[i] for i in fresh], [event_ids[i] for i in fresh],
                 [run] * len(fresh)],
                {"source", "natural_key"})
        rest = np.flatnonzero(~new)
        if not len(rest):
            return
        keys, hashes, campaign_ids, event_ids = (
            [values[i] for i in rest] for values in (keys, hashes, campaign_ids, event_ids))
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


def _subtract(table: str, keys: list[str], with_events: bool, extra: tuple = ()) -> str:
    measures = [*_SUMS, *(["events"] if with_events else []), *extra]
    select_keys = ", ".join(keys)
    return f"""
        UPDATE {table} r SET {", ".join(f"{m} = r.{m} - g.{m}" for m in measures)}
        FROM (SELECT {select_keys}, {", ".join(f"SUM({m}) AS {m}" for m in measures)}
              FROM grain GROUP BY {", ".join(str(i + 1) for i in range(len(keys)))}) g
        WHERE {" AND ".join(f"r.{k} = g.{k}" for k in keys)} RETURNING 1"""


_REMOVE_EVENTS_SQL = text(f"""
    WITH gone AS (
        DELETE FROM ad_events WHERE company_id = :company AND id = ANY(CAST(:ids AS bigint[]))
        RETURNING id, campaign_id, occurred_at, location_id, device, impressions, clicks,
                  conversions, cost, revenue),
    details AS (
        DELETE FROM ad_event_details
        WHERE company_id = :company AND event_id = ANY(CAST(:ids AS bigint[]))
        RETURNING event_id, reach),
    grain AS (
        SELECT campaign_id, date_trunc('hour', occurred_at, 'UTC') AS hour,
               (occurred_at AT TIME ZONE 'UTC')::date AS day, location_id, device,
               SUM(impressions) AS impressions, SUM(clicks) AS clicks,
               SUM(conversions) AS conversions, SUM(cost) AS spend, SUM(revenue) AS revenue,
               COUNT(*) AS events, MAX(occurred_at) AS newest,
               COALESCE(SUM(details.reach), 0) AS reach
        FROM gone LEFT JOIN details ON details.event_id = gone.id GROUP BY 1, 2, 3, 4, 5),
    daily AS ({_subtract("rollup_campaign_daily", ["campaign_id", "day"], True)}),
    hourly AS ({_subtract("rollup_campaign_hourly", ["campaign_id", "hour"], True)}),
    stats AS ({_subtract("ad_stats_daily", ["campaign_id", "day", "location_id", "device"],
                         False, ("reach",))})
    SELECT (SELECT MAX(newest) FROM grain) AS newest,
           (SELECT COALESCE(SUM(events), 0) FROM grain) AS removed,
           (SELECT array_agg(DISTINCT campaign_id) FROM grain) AS campaigns""")


def remove_events(session: Session, company_id: int, event_ids: list[int]) -> int:
    """Delete these events of the company (a restated row's old values) and their details
    (``ad_event_details``) and take them out of the three rollups (reach too); rollup rows
    left with nothing are deleted, and the company's newest event is recomputed when it was
    one of them. Returns the number of events removed."""
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


_DETAILS = (("ad_set", "text"), ("banner", "text"), ("placement", "text"),
            ("user_engagement", "text"), ("reach", "bigint"), ("publisher_revenue", "numeric"))


def save_event_details(session: Session, company_id: int, stored,
                       rollup: rollups.RollupBuffer | None = None) -> None:
    """``ad_event_details`` of just-stored events (``stored``: the import's rows with
    event_id, campaign_id, occurred_at, location_id, device and the detail columns it has),
    and their reach summed into ``ad_stats_daily`` (whose rows the events' ingest made), or
    into ``rollup`` when the events' totals wait there."""
    n = len(stored)
    values = {name: (stored[name].astype(object).where(stored[name].notna(), None).tolist()
                     if name in stored else [None] * n) for name, _ in _DETAILS}
    values["reach"] = [None if v is None else int(v) for v in values["reach"]]
    days = stored["occurred_at"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d").tolist()
    session.execute(text(f"""
        INSERT INTO ad_event_details (company_id, event_id, campaign_id, day,
                                      {", ".join(name for name, _ in _DETAILS)})
        SELECT :company, t.*
        FROM unnest(CAST(:events AS bigint[]), CAST(:campaigns AS int[]),
                    CAST(:days AS date[]),
                    {", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _DETAILS)})
             AS t"""),
        {"company": company_id,
         "events": array_literal(stored["event_id"].tolist(), quote=False),
         "campaigns": array_literal([int(c) for c in stored["campaign_id"]], quote=False),
         "days": array_literal(days, quote=False),
         **{name: array_literal(values[name], quote=kind == "text")
            for name, kind in _DETAILS}})
    if "reach" not in stored or not stored["reach"].notna().any():
        return
    if rollup is not None:
        has = stored[stored["reach"].notna()]
        stamps = has["occurred_at"].dt.tz_convert("UTC").dt.tz_localize(None) \
            .to_numpy(dtype="datetime64[D]").view("int64")
        devices = pd.Categorical(has["device"], categories=rollup.devices).codes
        known = devices >= 0  # stored events have one of the ingest path's devices
        rollup.add_reach(company_id, has["campaign_id"].astype("int64").to_numpy()[known],
                         stamps[known], has["location_id"].astype("int64").to_numpy()[known],
                         devices[known], has["reach"].astype("int64").to_numpy()[known])
        return
    grain = (stored.assign(day=days, location=stored["location_id"].astype("int64"),
                           campaign_id=stored["campaign_id"].astype("int64"))
             .groupby(["campaign_id", "day", "location", "device"], as_index=False)["reach"]
             .sum())
    session.execute(text("""
        UPDATE ad_stats_daily s SET reach = s.reach + t.reach
        FROM unnest(CAST(:campaigns AS int[]), CAST(:days AS date[]), CAST(:locations AS int[]),
                    CAST(:devices AS text[]), CAST(:reach AS bigint[]))
             AS t(campaign_id, day, location_id, device, reach)
        WHERE s.company_id = :company AND s.campaign_id = t.campaign_id AND s.day = t.day
          AND s.location_id = t.location_id AND s.device = t.device"""),
        {"company": company_id,
         "campaigns": array_literal(grain["campaign_id"].tolist(), quote=False),
         "days": array_literal(grain["day"].tolist(), quote=False),
         "locations": array_literal(grain["location"].tolist(), quote=False),
         "devices": array_literal(grain["device"].tolist()),
         "reach": array_literal([int(v) for v in grain["reach"]], quote=False)})


# --------------------------------------------------------------------------- leads


def lead_changes(session: Session, company_id: int, source: str, keys: list[str]):
    """The stored status changes of this company's leads of ``source`` among ``keys``: a
    DataFrame of lead_key, lead_id, changed_at, to_status."""
    rows = session.execute(text("""
        SELECT l.source_key AS lead_key, l.id AS lead_id, c.changed_at, c.to_status
        FROM leads l JOIN lead_status_changes c ON c.lead_id = l.id
        WHERE l.company_id = :company AND l.source = :source
          AND l.source_key = ANY(CAST(:keys AS text[]))"""),
        {"company": company_id, "source": source, "keys": array_literal(keys)}).all()
    frame = pd.DataFrame(rows, columns=["lead_key", "lead_id", "changed_at", "to_status"])
    frame["changed_at"] = pd.to_datetime(frame["changed_at"], utc=True)
    return frame


def _stamps(values) -> list[str]:
    return [v.isoformat() for v in values]


def upsert_leads(session: Session, company_id: int, source: str, keys: list[str],
                 created_at: list, status: list[str]) -> tuple[dict[str, int], int, int]:
    """Insert or update this company's leads of ``source`` by source key (no campaign,
    channel or segment: the export does not link them; value 0). Returns (source key ->
    lead id, created, updated)."""
    # New or not from the rows before the statement (its snapshot), not from xmax: a table
    # partitioned by company (db.partition) has no system columns to return.
    rows = session.execute(text("""
        WITH before AS (
            SELECT source_key FROM leads
            WHERE company_id = :company AND source = :source
              AND source_key = ANY(CAST(:keys AS text[]))),
        written AS (
            INSERT INTO leads AS l (company_id, source, source_key, created_at, status, value)
            SELECT :company, :source, t.k, t.c, t.s, 0
            FROM unnest(CAST(:keys AS text[]), CAST(:created AS timestamptz[]),
                        CAST(:status AS text[])) AS t(k, c, s)
            ON CONFLICT (company_id, source, source_key) WHERE source_key IS NOT NULL
            DO UPDATE SET created_at = EXCLUDED.created_at, status = EXCLUDED.status
            RETURNING l.source_key, l.id)
        SELECT w.source_key, w.id, b.source_key IS NULL AS created
        FROM written w LEFT JOIN before b USING (source_key)"""),
        {"company": company_id, "source": source, "keys": array_literal(keys),
         "created": array_literal(_stamps(created_at)), "status": array_literal(status)}).all()
    created = sum(1 for row in rows if row.created)
    return {row.source_key: row.id for row in rows}, created, len(rows) - created


def replace_lead_changes(session: Session, company_id: int, changes) -> None:
    """The status changes of these leads, replaced by ``changes`` (lead_id, changed_at,
    from_status, to_status: all of each lead's changes)."""
    lead_ids = [int(i) for i in changes["lead_id"].unique()]
    session.execute(text("""
        DELETE FROM lead_status_changes
        WHERE company_id = :company AND lead_id = ANY(CAST(:leads AS bigint[]))"""),
        {"company": company_id, "leads": array_literal(lead_ids, quote=False)})
    from_status = changes["from_status"].astype(object).where(changes["from_status"].notna(),
                                                              None)
    session.execute(text("""
        INSERT INTO lead_status_changes (company_id, lead_id, changed_at, from_status,
                                         to_status)
        SELECT :company, t.l, t.c, t.f, t.s
        FROM unnest(CAST(:leads AS bigint[]), CAST(:changed AS timestamptz[]),
                    CAST(:from_status AS text[]), CAST(:to_status AS text[])) AS t(l, c, f, s)
        ORDER BY t.l, t.c"""),
        {"company": company_id,
         "leads": array_literal([int(i) for i in changes["lead_id"]], quote=False),
         "changed": array_literal(_stamps(changes["changed_at"])),
         "from_status": array_literal(from_status.tolist()),
         "to_status": array_literal(changes["to_status"].tolist())})


def lead_facts_changed(session: Session, company_id: int) -> None:
    """After leads or status changes were written: the lead rollups rebuilt and the
    company's data version bumped.

    The two tables are analysed first (it sees this transaction's own rows): the rebuild
    joins each lead to its changes, and with no statistics for a company's first leads the
    planner expects one lead and joins them in a nested loop (26,000 LeadSmart leads took
    minutes instead of ~1 s)."""
    session.execute(text("ANALYZE leads, lead_status_changes"))
    conn = session.connection()
    rollups.rebuild_marketing(conn, [company_id])
    rollups.bump_data_version(conn, [company_id])


# --------------------------------------------------------------------------- web traffic


def upsert_web_sessions(session: Session, company_id: int, days: list, sessions: list[int],
                        unknown: str) -> dict:
    """Daily sessions of an export without any split: rows (day, source, device and visitor
    type ``unknown``) with every other measure NULL. A day whose row is equal is unchanged, a
    different one is replaced. Returns the counts."""
    rows = session.execute(text("""
        WITH t AS (
            SELECT * FROM unnest(CAST(:days AS date[]), CAST(:sessions AS int[])) AS t(d, s)),
        before AS (
            SELECT w.day, (w.sessions = t.s AND w.bounces IS NULL
                           AND w.duration_seconds IS NULL AND w.pageviews IS NULL
                           AND w.conversions IS NULL) AS same
            FROM web_traffic_daily w JOIN t ON t.d = w.day
            WHERE w.company_id = :company AND w.source = :unknown AND w.device = :unknown
              AND w.visitor_type = :unknown),
        written AS (
            INSERT INTO web_traffic_daily AS w (company_id, day, source, device, visitor_type,
                                                sessions, bounces, duration_seconds, pageviews,
                                                conversions)
            SELECT :company, t.d, :unknown, :unknown, :unknown, t.s, NULL, NULL, NULL, NULL
            FROM t LEFT JOIN before b ON b.day = t.d
            WHERE b.same IS NOT TRUE
            ON CONFLICT (company_id, day, source, device, visitor_type) DO UPDATE
                SET sessions = EXCLUDED.sessions, bounces = NULL, duration_seconds = NULL,
                    pageviews = NULL, conversions = NULL
            RETURNING 1)
        SELECT (SELECT COUNT(*) FROM before WHERE same) AS unchanged,
               (SELECT COUNT(*) FROM before WHERE NOT same) AS replaced,
               (SELECT COUNT(*) FROM written) AS written"""),
        {"company": company_id, "unknown": unknown,
         "days": array_literal([str(d) for d in days], quote=False),
         "sessions": array_literal(sessions, quote=False)}).one()
    if rows.written:
        rollups.bump_data_version(session.connection(), [company_id])
    return {"imported": int(rows.written - rows.replaced), "replaced": int(rows.replaced),
            "unchanged": int(rows.unchanged)}


# --------------------------------------------------------------------------- journeys


def journeys(session: Session, company_id: int, source: str,
             journey_ids: list[str]) -> dict[str, tuple[tuple[int, ...], bool]]:
    """journey id -> (channel ids in position order, converted) of imported journeys."""
    rows = session.execute(text("""
        SELECT journey_id, array_agg(channel_id ORDER BY position) AS channels,
               bool_or(converted) AS converted
        FROM touchpoints
        WHERE company_id = :company AND source = :source
          AND journey_id = ANY(CAST(:journeys AS text[]))
        GROUP BY journey_id"""),
        {"company": company_id, "source": source, "journeys": array_literal(journey_ids)})
    return {row.journey_id: (tuple(row.channels), bool(row.converted)) for row in rows}


def replace_journeys(session: Session, company_id: int, source: str,
                     journeys_by_id: dict[str, tuple[tuple[int, ...], bool]]) -> None:
    """These journeys' touchpoints replaced: one per channel, positions from 1, the last one
    converted when the journey converted; no time, no value (NULL), no campaign."""
    ids = list(journeys_by_id)
    session.execute(text("""
        DELETE FROM touchpoints
        WHERE company_id = :company AND source = :source
          AND journey_id = ANY(CAST(:journeys AS text[]))"""),
        {"company": company_id, "source": source, "journeys": array_literal(ids)})
    journey, position, channel, converted = [], [], [], []
    for journey_id, (channels, did_convert) in journeys_by_id.items():
        for number, channel_id in enumerate(channels, start=1):
            journey.append(journey_id)
            position.append(number)
            channel.append(channel_id)
            converted.append("t" if did_convert and number == len(channels) else "f")
    session.execute(text("""
        INSERT INTO touchpoints (company_id, source, journey_id, position, channel_id,
                                 campaign_id, touched_at, converted, conversion_value)
        SELECT :company, :source, t.j, t.p, t.c, NULL, NULL, t.v, NULL
        FROM unnest(CAST(:journeys AS text[]), CAST(:positions AS int[]),
                    CAST(:channels AS int[]), CAST(:converted AS boolean[])) AS t(j, p, c, v)"""),
        {"company": company_id, "source": source, "journeys": array_literal(journey),
         "positions": array_literal(position, quote=False),
         "channels": array_literal(channel, quote=False),
         "converted": array_literal(converted, quote=False)})
    rollups.bump_data_version(session.connection(), [company_id])
