"""newest ad event per company kept in data_versions; ad_events (company_id, occurred_at) index dropped

Issue #6 (ingest of 300,000 events a second): the (company_id, occurred_at) index of
``ad_events`` cost ~45 of ~110 ms per 50,000-row COPY, and it served only two reads: the
real-time view's "data as of" (the company's newest event) and the admin health's data
freshness (that event's ingest time). Both now read two columns of ``data_versions``, the row
every ingest already updates in the same statement as its version bump:

- ``newest_event_at``: the company's newest ad event (``occurred_at``);
- ``newest_event_ingested_at``: when the ingest that raised it ran.

Every writer of events keeps them current: ingest (GREATEST with the batch's newest), the
seed and ``db.rollups.rebuild`` (recomputed from the events), the bench's event removal
(recomputed). Backfilled here in one scan of ``ad_events``. A company with events but no
``data_versions`` row gets one with version 0, which is what a missing row reads as.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 02:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('data_versions', sa.Column('newest_event_at', sa.DateTime(timezone=True),
                                             nullable=True))
    op.add_column('data_versions', sa.Column('newest_event_ingested_at',
                                             sa.DateTime(timezone=True), nullable=True))
    # MAX over [occurred_at, ingested_at] arrays: the newest event and its ingest time in one
    # hash-aggregated scan (arrays compare element by element).
    op.execute("""
        INSERT INTO data_versions (company_id, version, history_version, updated_at,
                                   newest_event_at, newest_event_ingested_at)
        SELECT company_id, 0, 0, now(), newest[1], newest[2]
        FROM (SELECT company_id, MAX(ARRAY[occurred_at, ingested_at]) AS newest
              FROM ad_events GROUP BY company_id) n
        WHERE company_id IN (SELECT id FROM companies)
        ON CONFLICT (company_id) DO UPDATE
            SET newest_event_at = EXCLUDED.newest_event_at,
                newest_event_ingested_at = EXCLUDED.newest_event_ingested_at""")
    op.drop_index('ix_ad_events_company_time', table_name='ad_events')


def downgrade() -> None:
    op.create_index('ix_ad_events_company_time', 'ad_events', ['company_id', 'occurred_at'],
                    unique=False)
    op.drop_column('data_versions', 'newest_event_ingested_at')
    op.drop_column('data_versions', 'newest_event_at')
