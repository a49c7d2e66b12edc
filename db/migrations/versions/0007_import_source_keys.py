"""source keys for imported campaigns and rows (issue #12: real exports, idempotent re-imports)

- ``campaigns.source`` / ``source_key``: the export a campaign came from and its id there
  (Kaggle's ``Campaign_ID``, Facebook's ``xyz_campaign_id``), unique per company, so a
  re-import finds the campaign instead of making another; plus the two Kaggle campaign
  attributes the table had no place for: ``target_audience`` and ``engagement_score``.
- ``import_keys``: one row per imported source row, by its natural key: the hash of the values
  it was stored with and the ad event that holds them. A re-import skips rows whose hash is
  unchanged and replaces the event of a row whose values changed (a restatement).
- ``import_runs.format`` / ``summary``: the format recognised and the run's summary
  (ignored columns, unchanged and replaced rows, created companies and campaigns).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 19:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('campaigns', sa.Column('source', sa.String(64), nullable=True))
    op.add_column('campaigns', sa.Column('source_key', sa.String(200), nullable=True))
    op.add_column('campaigns', sa.Column('target_audience', sa.String(100), nullable=True))
    op.add_column('campaigns', sa.Column('engagement_score', sa.SmallInteger(), nullable=True))
    op.create_index('ux_campaigns_source_key', 'campaigns',
                    ['company_id', 'source', 'source_key'], unique=True,
                    postgresql_where=sa.text('source_key IS NOT NULL'))
    op.create_table(
        'import_keys',
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), nullable=False),
        sa.Column('source', sa.String(64), nullable=False),
        sa.Column('natural_key', sa.String(200), nullable=False),
        sa.Column('row_hash', sa.BigInteger(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), sa.ForeignKey('campaigns.id'), nullable=True),
        sa.Column('event_id', sa.BigInteger(), nullable=True),
        sa.Column('import_run_id', sa.BigInteger(), sa.ForeignKey('import_runs.id'),
                  nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint('company_id', 'source', 'natural_key'),
    )
    op.add_column('import_runs', sa.Column('format', sa.String(64), nullable=True))
    op.add_column('import_runs', sa.Column('summary', postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column('import_runs', 'summary')
    op.drop_column('import_runs', 'format')
    op.drop_table('import_keys')
    op.drop_index('ux_campaigns_source_key', table_name='campaigns')
    for column in ('engagement_score', 'target_audience', 'source_key', 'source'):
        op.drop_column('campaigns', column)
