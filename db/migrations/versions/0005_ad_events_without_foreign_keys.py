"""ad_events without foreign keys

Issue #6 (ingest of 300,000 events a second): the four foreign keys of ``ad_events``
(company_id, campaign_id, channel_id, location_id) fire one referential-integrity lookup per
key per row on COPY; at 10M events they took ~580 of ~815 ms per 50,000-row COPY.

Dropping them is safe because the ingest path (``services.ingest``), the only writer of
events besides the seed, guarantees the same references itself:
- company_id is the authenticated tenant the batch is ingested for (not taken from the rows);
- campaign_id must be one of that company's campaigns, else the row is rejected;
- channel_id is derived from the campaign, never taken from the rows;
- location_id must name or number an existing location, or defaults to the campaign's.
The app never deletes companies, campaigns, channels or locations (the seed truncates them
together with the events), and every ingested event lands in the rollups in the same
transaction, whose foreign keys (kept: rollup_campaign_daily, rollup_campaign_hourly,
ad_stats_daily) still refuse a dangling campaign, channel, company or location. The seed's
bulk loader reads the constraints it drops and recreates from the catalog, so it simply finds
none on ad_events. The indexes stay: the primary key (the rollup upserts read the batch by id
range) and (company_id, occurred_at) (data freshness, newest event per company); 0006 later
replaced the latter by per-company values kept by ingest and dropped it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 02:00:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (column, referenced table) of the dropped keys; PostgreSQL's default names.
_KEYS = (("company_id", "companies"), ("campaign_id", "campaigns"),
         ("channel_id", "channels"), ("location_id", "locations"))


def upgrade() -> None:
    for column, _ in _KEYS:
        op.execute(f"ALTER TABLE ad_events DROP CONSTRAINT IF EXISTS ad_events_{column}_fkey")


def downgrade() -> None:
    for column, table in _KEYS:
        op.create_foreign_key(f"ad_events_{column}_fkey", "ad_events", table, [column], ["id"])
