"""Running totals per campaign and day (issue #14): a custom date range's per-campaign totals
become two rows' difference per campaign instead of a sum over every day of the range. At
100,000 campaigns a 90-day range read 826,000 daily rollup rows (aggregated, sorted on disk:
~0.5 s); from the running totals it reads one row per campaign of the range and one per
campaign running the day before it. Built per company and history version by the worker
(``db.queries.campaign_cumulative.rebuild``); ``campaign_cumulative_state`` says for which.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 11:20:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0023'
down_revision: Union[str, None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'campaign_cumulative_daily',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('last', sa.Boolean(), nullable=False),
        sa.Column('active_days', sa.BigInteger(), nullable=False),
        sa.Column('impressions', sa.BigInteger(), nullable=False),
        sa.Column('clicks', sa.BigInteger(), nullable=False),
        sa.Column('ad_conversions', sa.BigInteger(), nullable=False),
        sa.Column('spend_units', sa.BigInteger(), nullable=False),
        sa.Column('ad_revenue_units', sa.BigInteger(), nullable=False),
        sa.Column('sales_conversions', sa.BigInteger(), nullable=False),
        sa.Column('sales_revenue_units', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('company_id', 'day', 'campaign_id'),
    )
    op.create_index('ix_campaign_cumulative_daily_last', 'campaign_cumulative_daily',
                    ['company_id', 'day'], postgresql_where=sa.text('last'))
    op.create_table(
        'campaign_cumulative_state',
        sa.Column('company_id', sa.Integer(), primary_key=True),
        sa.Column('history_version', sa.BigInteger(), nullable=False),
        sa.Column('through', sa.Date(), nullable=False),
        sa.Column('rows', sa.BigInteger(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('built_at', sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_table('campaign_cumulative_state')
    op.drop_index('ix_campaign_cumulative_daily_last', 'campaign_cumulative_daily')
    op.drop_table('campaign_cumulative_daily')
