"""history version and stored insight results

Issue #6: a second per-company counter, bumped only when the days before today change, so the
history models (anomalies, trend changes, forecasts) are not refitted for every streamed event;
and a table of their results per history version, filled by the worker, so a cache miss reads
a stored result instead of fitting the models on a web request.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:20:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('data_versions', sa.Column('history_version', sa.BigInteger(),
                                             server_default='1', nullable=False))
    op.create_table('insight_results',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('history_version', sa.BigInteger(), nullable=False),
    sa.Column('through', sa.Date(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('company_id', 'name')
    )


def downgrade() -> None:
    op.drop_table('insight_results')
    op.drop_column('data_versions', 'history_version')
