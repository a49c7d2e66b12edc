"""api_tokens.expires_at: optional expiry of ingest API tokens

Issue #11 (finding 9): API tokens never expired. A token may now carry an expiry (NULL: none,
as every existing token); an expired token is refused like a revoked one. ``last_used_at``
(from 0003) is listed beside it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 19:50:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('api_tokens', sa.Column('expires_at', sa.DateTime(timezone=True),
                                          nullable=True))


def downgrade() -> None:
    op.drop_column('api_tokens', 'expires_at')
