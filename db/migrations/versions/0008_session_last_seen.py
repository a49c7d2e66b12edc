"""user_sessions.last_seen_at: the idle limit enforced from the session row

Issue #11 (finding 5): the idle limit lived only in the re-signed cookie and nothing bounded
a session's total life, so a back-dated row stayed valid. ``last_seen_at`` (written at most
once a minute per session) carries the idle limit; ``created_at`` the absolute lifetime.
Existing sessions count as seen at their creation.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 19:45:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('user_sessions', sa.Column('last_seen_at', sa.DateTime(timezone=True),
                                             server_default=sa.text('now()'), nullable=False))
    op.execute("UPDATE user_sessions SET last_seen_at = created_at")


def downgrade() -> None:
    op.drop_column('user_sessions', 'last_seen_at')
