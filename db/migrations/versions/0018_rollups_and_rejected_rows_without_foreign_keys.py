"""the event rollups and the imports' per-row tables without foreign keys

Issue #12 (imports at 100,000 rows a second): the foreign keys of ``ad_stats_daily``,
``rollup_campaign_daily`` and ``rollup_campaign_hourly`` fire one referential-integrity
lookup per key per inserted row. An import of 300,000 events over a year writes ~55,000
ad_stats_daily rows; their four lookups took ~5.7 of the ~8.5 s of its rollup upsert.

Safe for the reason 0005 gave for ``ad_events``: these rollups are written only from events
(``db.rollups``: the ingest path's totals, stored events by id range, rebuilds from
ad_events, and the importers' restatements, which subtract stored events), and every event's
references were checked by the ingest path (the tenant is the caller's, the campaign one of
its campaigns, the channel the campaign's, the location an existing one). The app deletes no
company, campaign, channel or location.

``rejected_rows.import_run_id``: one lookup per rejected row, about half the time of the COPY
that keeps a file's rejected rows (300,000 rows: a file of rejected rows imported at half
the rate of one of valid rows). Its only writer (``db.queries.ingest``) adds rows to the
import run its own transaction created, and import runs are never deleted. Likewise
``import_keys`` (company, campaign, import run: three lookups for every row of a keyed
import) and ``ad_event_details`` (company, campaign): their one writer
(``db.queries.importers``) stores them for the company it imports into, with the campaign
ids and the run it has just upserted or created.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 05:00:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0018'
down_revision: Union[str, None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (table, column, referenced table) of the dropped keys; PostgreSQL's default names.
_KEYS = tuple((table, column, target) for table, keys in (
    ("ad_stats_daily", (("company_id", "companies"), ("campaign_id", "campaigns"),
                        ("channel_id", "channels"), ("location_id", "locations"))),
    ("rollup_campaign_daily", (("company_id", "companies"), ("campaign_id", "campaigns"),
                               ("channel_id", "channels"))),
    ("rollup_campaign_hourly", (("company_id", "companies"), ("campaign_id", "campaigns"),
                                ("channel_id", "channels"))),
    ("rejected_rows", (("import_run_id", "import_runs"),)),
    ("import_keys", (("company_id", "companies"), ("campaign_id", "campaigns"),
                     ("import_run_id", "import_runs"))),
    ("ad_event_details", (("company_id", "companies"), ("campaign_id", "campaigns"))),
) for column, target in keys)


def upgrade() -> None:
    for table, column, _ in _KEYS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_fkey")


def downgrade() -> None:
    for table, column, target in _KEYS:
        op.create_foreign_key(f"{table}_{column}_fkey", table, target, [column], ["id"])
