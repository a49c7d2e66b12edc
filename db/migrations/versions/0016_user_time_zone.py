"""The user's time zone (issue #18): times of day (data as of, alerts fired, imports started)
are shown in it; days and hours of the charts stay UTC, the warehouse's days. UTC by default.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 03:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0016'
down_revision: Union[str, None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('user_preferences', sa.Column('time_zone', sa.String(64), nullable=False,
                                                server_default='UTC'))


def downgrade() -> None:
    op.drop_column('user_preferences', 'time_zone')
