"""Indexes for the filter bar's options at 100,000 campaigns (issue #14): the channels,
segments and projects a company's campaigns use are read by probing (company, dimension)
indexes instead of scanning every campaign of the company.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 04:30:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0017'
down_revision: Union[str, None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_campaigns_company_channel', 'campaigns', ['company_id', 'channel_id'])
    op.create_index('ix_campaigns_company_segment', 'campaigns', ['company_id', 'segment_id'])
    op.create_index('ix_campaigns_company_project', 'campaigns', ['company_id', 'project'])


def downgrade() -> None:
    op.drop_index('ix_campaigns_company_project', 'campaigns')
    op.drop_index('ix_campaigns_company_segment', 'campaigns')
    op.drop_index('ix_campaigns_company_channel', 'campaigns')
