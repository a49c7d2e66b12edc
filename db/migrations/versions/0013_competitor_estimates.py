"""Competitive intelligence (issue #16): estimates as ranges with their method and source, the
share of voice from voice volumes, and dated competitor updates with links

- competitors: ``added_at``, and one name per company (case-insensitive).
- competitor_estimates (new): one figure of one brand for one month, as a range (``low`` to
  ``high``; equal when the source gives one value it calls exact) with the ``method`` that
  produced it ("impressions x benchmark CPM") and its ``source``. ``competitor_id`` 0 is the
  company itself (its own voice and followers, measured the same way as its competitors').
  ``metric``: market_share (%), ad_spend (USD a month), avg_cpc (USD), social_followers
  (count at the month's end), voice (mentions or impressions in one ``channel``: the share of
  voice is computed from these volumes, so its denominator is always the named brands).
- competitor_metrics is replaced: its single values move into competitor_estimates as exact
  figures named so; its share-of-voice percentages cannot name their denominator and are not
  moved (re-seed or import the volumes).
- competitor_updates: ``company_id`` (tenant), ``url`` (the source link), ``source``,
  ``source_key`` (an RSS entry's id: re-imports add nothing) and ``created_at`` (when it was
  recorded, for notifications); the kinds are checked.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

METRICS = ('market_share', 'ad_spend', 'avg_cpc', 'social_followers', 'voice')
KINDS = ('pricing', 'product', 'campaign', 'partnership', 'hiring', 'positioning', 'other')
LEGACY_METHOD = 'single value stored before ranges (treated as exact)'


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column('competitors', sa.Column('added_at', sa.DateTime(timezone=True),
                                           server_default=sa.func.now(), nullable=False))
    op.create_index('ux_competitors_company_name', 'competitors',
                    ['company_id', sa.text('lower(name)')], unique=True)

    op.create_table(
        'competitor_estimates',
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), primary_key=True),
        sa.Column('competitor_id', sa.Integer(), primary_key=True),  # 0: the company itself
        sa.Column('month', sa.Date(), primary_key=True),  # first day of the month
        sa.Column('metric', sa.String(32), primary_key=True),
        sa.Column('channel', sa.String(32), primary_key=True, server_default='all'),
        sa.Column('low', sa.Float(), nullable=False),
        sa.Column('high', sa.Float(), nullable=False),
        sa.Column('method', sa.String(200), nullable=False),
        sa.Column('source', sa.String(200), nullable=False),
        sa.CheckConstraint('low >= 0 AND low <= high', name='ck_competitor_estimates_range'),
        sa.CheckConstraint(_in('metric', METRICS), name='ck_competitor_estimates_metric'))
    op.execute(f"""
        INSERT INTO competitor_estimates (company_id, competitor_id, month, metric, channel,
                                          low, high, method, source)
        SELECT c.company_id, m.competitor_id, m.month, v.metric, 'all', v.value, v.value,
               '{LEGACY_METHOD}', 'competitor_metrics'
        FROM competitor_metrics m JOIN competitors c ON c.id = m.competitor_id
        CROSS JOIN LATERAL (VALUES ('market_share', m.market_share_pct),
                                   ('ad_spend', m.estimated_ad_spend::float8),
                                   ('avg_cpc', m.avg_cpc::float8),
                                   ('social_followers', m.social_followers::float8))
            AS v(metric, value)
        WHERE v.value IS NOT NULL AND v.value >= 0""")
    op.drop_table('competitor_metrics')

    op.add_column('competitor_updates', sa.Column('company_id', sa.Integer(),
                                                  sa.ForeignKey('companies.id')))
    op.execute("""UPDATE competitor_updates u SET company_id = c.company_id
                  FROM competitors c WHERE c.id = u.competitor_id""")
    op.alter_column('competitor_updates', 'company_id', nullable=False)
    op.add_column('competitor_updates', sa.Column('url', sa.String(500)))
    op.add_column('competitor_updates', sa.Column('source', sa.String(200)))
    op.add_column('competitor_updates', sa.Column('source_key', sa.String(300)))
    op.add_column('competitor_updates', sa.Column('created_at', sa.DateTime(timezone=True),
                                                  server_default=sa.func.now(),
                                                  nullable=False))
    op.execute(f"UPDATE competitor_updates SET kind = 'other' WHERE NOT {_in('kind', KINDS)}")
    op.create_check_constraint('ck_competitor_updates_kind', 'competitor_updates',
                               _in('kind', KINDS))
    op.create_index('ix_competitor_updates_company_observed', 'competitor_updates',
                    ['company_id', 'observed_on'])
    op.create_index('ux_competitor_updates_source_key', 'competitor_updates',
                    ['company_id', 'source_key'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_competitor_updates_source_key', 'competitor_updates')
    op.drop_index('ix_competitor_updates_company_observed', 'competitor_updates')
    op.drop_constraint('ck_competitor_updates_kind', 'competitor_updates')
    for column in ('created_at', 'source_key', 'source', 'url', 'company_id'):
        op.drop_column('competitor_updates', column)
    op.create_table(
        'competitor_metrics',
        sa.Column('competitor_id', sa.Integer(), sa.ForeignKey('competitors.id'),
                  primary_key=True),
        sa.Column('month', sa.Date(), primary_key=True),
        sa.Column('market_share_pct', sa.Float(), nullable=False),
        sa.Column('estimated_ad_spend', sa.Numeric(14, 4), nullable=False),
        sa.Column('share_of_voice_pct', sa.Float(), nullable=False),
        sa.Column('avg_cpc', sa.Numeric(14, 4)),
        sa.Column('social_followers', sa.Integer(), nullable=False))
    # Midpoints of the ranges; the share of voice had no single-brand value: 0.
    op.execute("""
        INSERT INTO competitor_metrics
        SELECT e.competitor_id, e.month,
               MAX((low + high) / 2) FILTER (WHERE metric = 'market_share'),
               MAX((low + high) / 2) FILTER (WHERE metric = 'ad_spend'), 0,
               MAX((low + high) / 2) FILTER (WHERE metric = 'avg_cpc'),
               MAX((low + high) / 2) FILTER (WHERE metric = 'social_followers')::int
        FROM competitor_estimates e JOIN competitors c ON c.id = e.competitor_id
        GROUP BY e.competitor_id, e.month
        HAVING COUNT(*) FILTER (WHERE metric IN ('market_share', 'ad_spend',
                                                 'social_followers')) = 3""")
    op.drop_table('competitor_estimates')
    op.drop_index('ux_competitors_company_name', 'competitors')
    op.drop_column('competitors', 'added_at')
