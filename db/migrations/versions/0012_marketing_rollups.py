"""Marketing rollups: the retailer email funnel, retailer sales and leads, per day

Issue #13: the marketing view reads these instead of email_sends (30 % of all events),
crm_conversions, ecommerce_orders, leads and lead_status_changes. ``db.rollups`` rebuilds them
from the facts after a seed or an import (``rebuild`` and ``rebuild_marketing``).

- rollup_email_daily: per email (email_campaigns row) x retailer x UTC day of sending: sent,
  delivered, opened, clicked.
- rollup_email_engagement: per email x retailer x whole hours from sending to the open or
  click (72 and more in one bucket): opens, clicks.
- rollup_retailer_sales_daily: CRM conversions and completed e-commerce orders that name a
  campaign and a retailer, per campaign x retailer x email (0: none) x day x source.
- rollup_leads_daily: leads per campaign (0: none) x UTC day created x current status x the
  furthest funnel stage the lead reached (0 lead, 1 opportunity, 2 customer; the statuses
  that mean a stage are ``db.rollups.LEAD_STAGES``).
- rollup_lead_changes_daily: status changes per campaign (0: none) x UTC day x new status.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 22:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _company():
    return sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), nullable=False)


def _count(name):
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default='0')


def upgrade() -> None:
    op.create_table(
        'rollup_email_daily', _company(),
        sa.Column('email_campaign_id', sa.Integer(), sa.ForeignKey('email_campaigns.id'),
                  primary_key=True),
        sa.Column('retailer_id', sa.Integer(), sa.ForeignKey('retailers.id'), primary_key=True),
        sa.Column('day', sa.Date(), primary_key=True),
        _count('sent'), _count('delivered'), _count('opened'), _count('clicked'))
    op.create_index('ix_rollup_email_daily_company_day', 'rollup_email_daily',
                    ['company_id', 'day'])
    op.create_table(
        'rollup_email_engagement', _company(),
        sa.Column('email_campaign_id', sa.Integer(), sa.ForeignKey('email_campaigns.id'),
                  primary_key=True),
        sa.Column('retailer_id', sa.Integer(), sa.ForeignKey('retailers.id'), primary_key=True),
        sa.Column('hours_since_send', sa.SmallInteger(), primary_key=True),
        _count('opens'), _count('clicks'))
    op.create_index('ix_rollup_email_engagement_company', 'rollup_email_engagement',
                    ['company_id'])
    op.create_table(
        'rollup_retailer_sales_daily', _company(),
        sa.Column('campaign_id', sa.Integer(), sa.ForeignKey('campaigns.id'), primary_key=True),
        sa.Column('retailer_id', sa.Integer(), sa.ForeignKey('retailers.id'), primary_key=True),
        sa.Column('email_campaign_id', sa.Integer(), primary_key=True),  # 0: no email
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('source', sa.String(16), primary_key=True),  # crm, ecommerce
        _count('conversions'),
        sa.Column('revenue', sa.Numeric(14, 4), nullable=False, server_default='0'))
    op.create_index('ix_rollup_retailer_sales_daily_company_day', 'rollup_retailer_sales_daily',
                    ['company_id', 'day'])
    op.create_table(
        'rollup_leads_daily',
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), primary_key=True),
        sa.Column('campaign_id', sa.Integer(), primary_key=True),  # 0: no campaign
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('status', sa.String(16), primary_key=True),
        sa.Column('stage', sa.SmallInteger(), primary_key=True),
        _count('leads'),
        sa.Column('value', sa.Numeric(14, 4), nullable=False, server_default='0'))
    op.create_table(
        'rollup_lead_changes_daily',
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), primary_key=True),
        sa.Column('campaign_id', sa.Integer(), primary_key=True),  # 0: no campaign
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('to_status', sa.String(16), primary_key=True),
        _count('changes'))


def downgrade() -> None:
    for table in ('rollup_lead_changes_daily', 'rollup_leads_daily',
                  'rollup_retailer_sales_daily', 'rollup_email_engagement',
                  'rollup_email_daily'):
        op.drop_table(table)
