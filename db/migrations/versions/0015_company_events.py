"""Company calendar (issue #20): annotated events and the holiday country

- company_events: a company's own dated events (a launch, an outage, a sale...) from
  ``start_day`` to ``end_day`` (inclusive); an anomaly on one of its days is explained by it.
- company_calendars: the country whose public holidays the anomaly detector knows for the
  company; without a row, the country of most of its campaigns' locations.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 02:45:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0015'
down_revision: Union[str, None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

KINDS = ('launch', 'outage', 'sale', 'campaign', 'other')


def upgrade() -> None:
    op.create_table(
        'company_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('start_day', sa.Date(), nullable=False),
        sa.Column('end_day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL')),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.CheckConstraint('end_day >= start_day', name='ck_company_events_days'),
        sa.CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})",
                           name='ck_company_events_kind'),
    )
    op.create_index('ix_company_events_company_day', 'company_events',
                    ['company_id', 'start_day'])
    op.create_table(
        'company_calendars',
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('holiday_country', sa.String(2), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_table('company_calendars')
    op.drop_index('ix_company_events_company_day', table_name='company_events')
    op.drop_table('company_events')
