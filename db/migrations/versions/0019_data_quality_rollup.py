"""The data-quality rollup (issue #12, step 6, at scale): per company and source, what the
data-quality report needs (rows, newest data, present values per required field, duplicates),
computed from the facts by the worker (``services.data_quality.refresh_stale``) so the admin
system-health tab and /api/v1/data-quality read a few rows instead of scanning the facts
(ad_events: 10 million rows) on every request. ``data_quality_refreshed`` keeps, per
company, the data version the rows were computed at and when.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 05:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision: str = '0019'
down_revision: Union[str, None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'data_quality_sources',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('table_name', sa.String(64), nullable=False),
        sa.Column('source', sa.String(64), nullable=False),
        sa.Column('rows', sa.BigInteger(), nullable=False),
        sa.Column('newest', sa.DateTime(timezone=True)),
        sa.Column('present', JSONB(), nullable=False),
        sa.Column('duplicates', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('company_id', 'table_name', 'source'),
    )
    op.create_table(
        'data_quality_refreshed',
        sa.Column('company_id', sa.Integer(), primary_key=True),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('data_quality_refreshed')
    op.drop_table('data_quality_sources')
