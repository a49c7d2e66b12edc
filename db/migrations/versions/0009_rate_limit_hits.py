"""rate_limit_hits: login rate limits counted in PostgreSQL while Redis is down

Issue #11 (finding 6): with Redis down the limit was not enforced (25 wrong passwords in
3.7 s, none refused). ``services/ratelimit.py`` now counts here when Redis is unreachable:
one row per bucket and fixed window, shared by every worker and host. UNLOGGED: counters need
no crash safety, so they write no WAL; ended windows are deleted as new ones start.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 19:55:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute("""
        CREATE UNLOGGED TABLE rate_limit_hits (
            bucket varchar(300) NOT NULL,
            window_no bigint NOT NULL,
            hits integer NOT NULL,
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (bucket, window_no)
        )""")


def downgrade() -> None:
    op.drop_table('rate_limit_hits')
