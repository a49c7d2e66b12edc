"""The warehouse laid out by company: PostgreSQL's hash partitioning on ``company_id`` (issue
#19, item 5), the stand-in that runs on one server for the shards of Citus.

``partition_by_company(conn, n)`` rebuilds every table of ``PARTITIONED_TABLES`` as
``PARTITION BY HASH (company_id)`` with ``n`` partitions ``<table>_p0`` .. ``<table>_p<n-1>``,
in the caller's transaction: the rows are copied, and the table's keys, indexes, check
constraints, defaults, serial sequences and the foreign keys pointing at it come back under
the same names, read from the catalog (so they follow the migrations). Tables already hash
partitioned on ``company_id`` into ``n`` partitions are left alone; any other layout is
refused (``PartitionError``) before anything changes.

Migration 0020 put ``company_id`` into every one of these tables' primary keys, which both
PostgreSQL (a partitioned table's unique keys must hold the partition column) and Citus (the
distribution column) require. Dimension and app tables (companies, channels, segments,
locations, campaigns, users, sessions, ...) stay as they are: they are small, and on Citus
they become reference tables or stay on the coordinator (README, "Sharding by company").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

# The big fact and rollup tables, in an order where a referenced table comes before the
# tables whose foreign keys point at it (email_sends before crm_conversions, leads before
# lead_status_changes); the order does not matter for correctness, only for readability.
PARTITIONED_TABLES = (
    "ad_events",
    "ad_event_details",
    "import_keys",
    "ad_stats_daily",
    "rollup_campaign_daily",
    "rollup_campaign_hourly",
    "campaign_cumulative_daily",
    "email_sends",
    "crm_conversions",
    "ecommerce_orders",
    "rollup_sales_daily",
    "rollup_email_daily",
    "rollup_email_engagement",
    "rollup_retailer_sales_daily",
    "leads",
    "lead_status_changes",
    "rollup_leads_daily",
    "rollup_lead_changes_daily",
    "touchpoints",
    "web_traffic_daily",
)

COLUMN = "company_id"


class PartitionError(RuntimeError):
    """The database is laid out otherwise than asked; nothing was changed."""


@dataclass(frozen=True)
class TableLayout:
    table: str
    partitions: int  # 0: a plain table
    rows: int | None = None  # rows copied (None: left as it was)


def layout(conn: Connection, table: str) -> tuple[str | None, int]:
    """(partition key as PostgreSQL prints it, or None for a plain table; partitions)."""
    row = conn.execute(text("""
        SELECT pg_get_partkeydef(c.oid),
               (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)
        FROM pg_class c
        WHERE c.oid = to_regclass(:t)"""), {"t": table}).first()
    if row is None:
        raise PartitionError(f"no table {table} (is the database migrated?)")
    return row[0], int(row[1])


def partition_layouts(conn: Connection) -> dict[str, int]:
    """Partitions per table of ``PARTITIONED_TABLES`` (0: not partitioned)."""
    return {table: (layout(conn, table)[1] if layout(conn, table)[0] else 0)
            for table in PARTITIONED_TABLES}


def _check(conn: Connection, partitions: int) -> list[str]:
    """The tables still to rebuild; refuses any layout other than ours with ``partitions``."""
    if partitions < 2:
        raise PartitionError("--partitions must be 2 or more")
    todo = []
    for table in PARTITIONED_TABLES:
        key, count = layout(conn, table)
        if key is None:
            todo.append(table)
        elif key != f"HASH ({COLUMN})":
            raise PartitionError(f"{table} is partitioned by {key}, not HASH ({COLUMN}); "
                                 "nothing was changed")
        elif count != partitions:
            raise PartitionError(
                f"{table} is already hash partitioned by {COLUMN} into {count} partitions, "
                f"not {partitions}; nothing was changed (changing the count means rebuilding "
                f"the tables: run with --partitions {count}, or restore a plain copy first)")
    return todo


def _catalog(conn: Connection, table: str) -> dict:
    """What the rebuild must put back, as PostgreSQL prints it."""
    params = {"t": table}
    own = conn.execute(text("""
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = to_regclass(:t) AND contype IN ('p', 'u', 'f', 'x')
          AND conparentid = 0
        ORDER BY contype = 'f', conname"""), params).all()
    incoming = conn.execute(text("""
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE confrelid = to_regclass(:t) AND conrelid <> confrelid AND contype = 'f'
          AND conparentid = 0
        ORDER BY 1, 2"""), params).all()
    indexes = conn.execute(text("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = to_regclass(:t)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY 1"""), params).all()
    sequences = conn.execute(text("""
        SELECT s.oid::regclass::text, a.attname FROM pg_depend d
        JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.refobjid = to_regclass(:t) AND d.deptype = 'a'"""), params).all()
    return {"own": own, "incoming": incoming, "indexes": indexes, "sequences": sequences}


def _rebuild(conn: Connection, table: str, partitions: int) -> int:
    saved = _catalog(conn, table)
    run = conn.exec_driver_sql
    for other, name, _ in saved["incoming"]:
        run(f'ALTER TABLE {other} DROP CONSTRAINT "{name}"')
    for sequence, _ in saved["sequences"]:
        run(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    staging = f"{table}__by_company"
    # LIKE brings the columns in order, NOT NULLs, defaults (nextval of the same sequences)
    # and check constraints with their names; keys and indexes are added after the copy.
    run(f"CREATE TABLE {staging} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        f"INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS) "
        f"PARTITION BY HASH ({COLUMN})")
    for remainder in range(partitions):
        run(f"CREATE TABLE {table}_p{remainder} PARTITION OF {staging} "
            f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {remainder})")
    rows = run(f"INSERT INTO {staging} SELECT * FROM {table}").rowcount
    run(f"DROP TABLE {table}")
    run(f"ALTER TABLE {staging} RENAME TO {table}")
    for name, definition in saved["own"]:
        run(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in saved["indexes"]:
        run(definition)
    for sequence, column in saved["sequences"]:
        run(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{column}")
    for other, name, definition in saved["incoming"]:
        run(f'ALTER TABLE {other} ADD CONSTRAINT "{name}" {definition}')
    return rows


def partition_by_company(conn: Connection, partitions: int) -> list[TableLayout]:
    """Lay ``PARTITIONED_TABLES`` out as ``partitions`` hash partitions of ``company_id``,
    in the caller's transaction (all or nothing). Idempotent for the same count."""
    todo = _check(conn, partitions)
    done = []
    for table in PARTITIONED_TABLES:
        if table in todo:
            done.append(TableLayout(table, partitions, _rebuild(conn, table, partitions)))
        else:
            done.append(TableLayout(table, partitions))
    if todo:
        conn.exec_driver_sql("ANALYZE " + ", ".join(todo))
    return done


def partition_database(database_url: str, partitions: int) -> list[TableLayout]:
    """``partition_by_company`` in one transaction of its own, holding the migrations' lock
    so no migration runs meanwhile."""
    from db.engine import get_engine
    from db.migrate import _MIGRATION_LOCK_KEY

    with get_engine(database_url).begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        return partition_by_company(conn, partitions)


def partitions_of(conn: Connection) -> dict[str, str]:
    """Partition name -> its parent table, for every partition of ``PARTITIONED_TABLES``."""
    rows = conn.execute(text("""
        SELECT i.inhrelid::regclass::text, i.inhparent::regclass::text FROM pg_inherits i
        WHERE i.inhparent::regclass::text = ANY(:tables)"""),
        {"tables": list(PARTITIONED_TABLES)}).all()
    return dict(rows)
