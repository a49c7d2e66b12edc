"""SQL of the data-quality report (``services.data_quality``, issue #12 step 6): per company
and source, the rows, the newest data, the non-null share of each required field and the rows
that repeat another in every column, computed from the facts themselves (``table_quality``)
and kept in the rollup ``data_quality_sources`` (``refresh``, ``stored_quality``); and what
imports rejected, from ``import_runs``. ``company_ids`` None: every company (an admin of the
installation)."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

_COMPANIES = "(CAST(:companies AS int[]) IS NULL OR {column} = ANY(CAST(:companies AS int[])))"

# Per fact table: the source of a row (SQL), its time (newest data), its required fields as
# (name, SQL true when present), and the columns that make two rows the same.
TABLES = {
    "ad_events": {
        # the details' companies named too, so a company's report reads one partition of
        # each table on a layout by company (db.partition)
        "from": ("ad_events f LEFT JOIN campaigns k ON k.id = f.campaign_id "
                 "LEFT JOIN ad_event_details d ON d.company_id = f.company_id "
                 "AND d.event_id = f.id AND " + _COMPANIES.format(column="d.company_id")),
        "source": "COALESCE(k.source, 'live')",
        "time": "f.occurred_at",
        "fields": (("campaign_id", "f.campaign_id IS NOT NULL"),
                   ("occurred_at", "f.occurred_at IS NOT NULL"),
                   ("location_id", "f.location_id IS NOT NULL"),
                   ("device", "f.device <> 'unknown'")),
        "same": ("f.campaign_id", "f.occurred_at", "f.location_id", "f.device",
                 "f.impressions", "f.clicks", "f.conversions", "f.cost", "f.revenue",
                 "d.ad_set", "d.banner", "d.placement", "d.user_engagement"),
    },
    "web_traffic_daily": {
        "from": "web_traffic_daily f",
        # The GA daily-sessions import has no split: its rows are all 'unknown'.
        "source": ("CASE WHEN f.source = 'unknown' AND f.device = 'unknown' AND "
                   "f.visitor_type = 'unknown' THEN 'ga-daily-sessions' ELSE 'web' END"),
        # a day's data ends at its end (today's: now)
        "time": "LEAST((f.day + 1)::timestamp AT TIME ZONE 'UTC', now())",
        "fields": (("sessions", "f.sessions IS NOT NULL"),
                   ("bounces", "f.bounces IS NOT NULL"),
                   ("duration_seconds", "f.duration_seconds IS NOT NULL"),
                   ("pageviews", "f.pageviews IS NOT NULL"),
                   ("conversions", "f.conversions IS NOT NULL")),
        "same": ("f.day", "f.source", "f.device", "f.visitor_type", "f.sessions", "f.bounces",
                 "f.duration_seconds", "f.pageviews", "f.conversions"),
    },
    "leads": {
        "from": "leads f",
        "source": "COALESCE(f.source, 'crm')",
        "time": "f.created_at",
        "fields": (("campaign_id", "f.campaign_id IS NOT NULL"),
                   ("channel_id", "f.channel_id IS NOT NULL"),
                   ("segment_id", "f.segment_id IS NOT NULL"),
                   ("created_at", "f.created_at IS NOT NULL")),
        "same": ("f.source_key", "f.campaign_id", "f.channel_id",
                 "f.segment_id", "f.created_at", "f.status", "f.value"),
    },
    "touchpoints": {
        "from": "touchpoints f",
        "source": "COALESCE(f.source, 'journeys')",
        "time": "f.touched_at",
        "fields": (("channel_id", "f.channel_id IS NOT NULL"),
                   ("campaign_id", "f.campaign_id IS NOT NULL"),
                   ("touched_at", "f.touched_at IS NOT NULL")),
        "same": ("f.journey_id", "f.position", "f.channel_id", "f.campaign_id", "f.touched_at",
                 "f.converted", "f.conversion_value"),
    },
}


def table_quality(session: Session, table: str, company_ids: list[int] | None) -> list[dict]:
    """Per (company, source) of one fact table: rows, newest time, present values per
    required field, and duplicates (rows beyond the first of a group equal in every
    column that ``same`` names). One scan of the table and one of its duplicates."""
    spec = TABLES[table]
    same = [f"{column} AS s{i}" for i, column in enumerate(spec["same"])]
    companies = None if company_ids is None else "{" + ",".join(map(str, company_ids)) + "}"
    rows = session.execute(text(f"""
        WITH facts AS (
            SELECT f.company_id, {spec["source"]} AS source, {spec["time"]} AS at,
                   {", ".join(same)},
                   {", ".join(f"{present} AS {name}_present"
                              for name, present in spec["fields"])}
            FROM {spec["from"]}
            WHERE {_COMPANIES.format(column="f.company_id")}),
        totals AS (
            SELECT company_id, source, COUNT(*) AS rows, MAX(at) AS newest,
                   {", ".join(f"COUNT(*) FILTER (WHERE {name}_present) AS {name}"
                              for name, _ in spec["fields"])}
            FROM facts GROUP BY 1, 2),
        repeats AS (
            SELECT company_id, source, SUM(n - 1) AS duplicates
            FROM (SELECT company_id, source, COUNT(*) AS n FROM facts
                  GROUP BY company_id, source,
                           {", ".join(f"s{i}" for i in range(len(same)))}
                  HAVING COUNT(*) > 1) groups
            GROUP BY 1, 2)
        SELECT t.*, COALESCE(r.duplicates, 0) AS duplicates
        FROM totals t LEFT JOIN repeats r USING (company_id, source)
        ORDER BY 1, 2"""), {"companies": companies}).mappings().all()
    return [dict(row) for row in rows]


def import_validity(session: Session, company_ids: list[int] | None) -> list[dict]:
    """Per (company, import format): the rows imports read and rejected, and the last
    import. A run's rows are its summary's ``rows`` when it has one (unchanged rows are
    neither accepted nor rejected), else accepted + rejected."""
    companies = None if company_ids is None else "{" + ",".join(map(str, company_ids)) + "}"
    rows = session.execute(text(f"""
        SELECT company_id, COALESCE(format, kind) AS format,
               SUM(COALESCE((summary ->> 'rows')::bigint, rows_accepted + rows_rejected))
                   AS rows_read,
               SUM(rows_rejected) AS rows_rejected, COUNT(*) AS imports,
               MAX(COALESCE(finished_at, started_at)) AS last_import
        FROM import_runs
        WHERE company_id IS NOT NULL AND status <> 'running'
          AND {_COMPANIES.format(column="company_id")}
        GROUP BY 1, 2 ORDER BY 1, 2"""), {"companies": companies}).mappings().all()
    return [dict(row) for row in rows]


def companies(session: Session, company_ids: list[int] | None) -> dict[int, dict]:
    rows = session.execute(text(f"""
        SELECT id, slug, name FROM companies WHERE {_COMPANIES.format(column="id")}
        ORDER BY name"""),
        {"companies": None if company_ids is None
         else "{" + ",".join(map(str, company_ids)) + "}"}).mappings().all()
    return {row["id"]: dict(row) for row in rows}


def database_now(session: Session):
    return session.execute(text("SELECT now()")).scalar()


# --------------------------------------------------------------------------- the rollup

_REFRESH_LOCK_KEY = 72_410_019


def _ids(company_ids) -> str:
    return "{" + ",".join(str(int(c)) for c in company_ids) + "}"


def refresh(session: Session, company_ids: list[int]) -> None:
    """Recompute these companies' rows of ``data_quality_sources`` from the facts (one scan of
    each fact table's rows of these companies) and note the data version they were computed
    at. Serialised per company, so two refreshes do not insert the same rows."""
    company_ids = sorted({int(c) for c in company_ids})
    if not company_ids:
        return
    for company_id in company_ids:
        session.execute(text("SELECT pg_advisory_xact_lock(:k, :c)"),
                        {"k": _REFRESH_LOCK_KEY, "c": company_id})
    # the version first: data stored while the scan runs makes the rows stale, not current
    session.execute(text("""
        INSERT INTO data_quality_refreshed (company_id, version, refreshed_at)
        SELECT c, COALESCE(v.version, 0), now()
        FROM unnest(CAST(:companies AS int[])) AS c
        LEFT JOIN data_versions v ON v.company_id = c
        ON CONFLICT (company_id) DO UPDATE
            SET version = EXCLUDED.version, refreshed_at = EXCLUDED.refreshed_at"""),
        {"companies": _ids(company_ids)})
    session.execute(text("DELETE FROM data_quality_sources "
                         "WHERE company_id = ANY(CAST(:companies AS int[]))"),
                    {"companies": _ids(company_ids)})
    rows = []
    for table, spec in TABLES.items():
        for row in table_quality(session, table, company_ids):
            rows.append({"company": row["company_id"], "table": table, "source": row["source"],
                         "rows": row["rows"], "newest": row["newest"],
                         "present": json.dumps({name: int(row[name])
                                                for name, _ in spec["fields"]}),
                         "duplicates": int(row["duplicates"])})
    if rows:
        session.execute(text("""
            INSERT INTO data_quality_sources (company_id, table_name, source, rows, newest,
                                              present, duplicates)
            VALUES (:company, :table, :source, :rows, :newest, CAST(:present AS jsonb),
                    :duplicates)"""), rows)


def stored_quality(session: Session, company_ids: list[int] | None) -> list[dict]:
    """The rollup's rows, shaped as ``table_quality``'s (one column per required field) plus
    ``table`` and ``refreshed_at``."""
    companies = None if company_ids is None else _ids(company_ids)
    rows = session.execute(text(f"""
        SELECT s.company_id, s.table_name, s.source, s.rows, s.newest, s.present,
               s.duplicates, r.refreshed_at
        FROM data_quality_sources s
        LEFT JOIN data_quality_refreshed r USING (company_id)
        WHERE {_COMPANIES.format(column="s.company_id")}
        ORDER BY 1, 2, 3"""), {"companies": companies}).mappings().all()
    return [{"company_id": row["company_id"], "table": row["table_name"],
             "source": row["source"], "rows": row["rows"], "newest": row["newest"],
             "duplicates": row["duplicates"], "refreshed_at": row["refreshed_at"],
             **row["present"]} for row in rows]


def never_refreshed(session: Session, company_ids: list[int] | None) -> list[int]:
    """The companies (of ``company_ids``, or all) whose rows were never computed."""
    companies = None if company_ids is None else _ids(company_ids)
    return list(session.execute(text(f"""
        SELECT c.id FROM companies c
        WHERE {_COMPANIES.format(column="c.id")}
          AND NOT EXISTS (SELECT 1 FROM data_quality_refreshed r WHERE r.company_id = c.id)
        ORDER BY 1"""), {"companies": companies}).scalars())


def stale(session: Session, min_age_s: float) -> list[int]:
    """The companies whose data changed since their rows were computed (their data version
    moved on) at least ``min_age_s`` seconds ago, or that were never computed."""
    return list(session.execute(text("""
        SELECT c.id FROM companies c
        LEFT JOIN data_quality_refreshed r ON r.company_id = c.id
        LEFT JOIN data_versions v ON v.company_id = c.id
        WHERE r.company_id IS NULL
           OR (COALESCE(v.version, 0) <> r.version
               AND r.refreshed_at <= now() - make_interval(secs => :age))
        ORDER BY 1"""), {"age": float(min_age_s)}).scalars())
