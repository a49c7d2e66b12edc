"""the remaining real exports of issue #12: LeadSmart, GA sessions, online advertising, journeys

- ``ad_event_details``: what an imported ad event carries that ``ad_events`` has no column
  for, one row per event (deleted with it when a restated row replaces it): the ad set
  (LeadSmart insights), reach (LeadSmart; also summed into ``ad_stats_daily.reach``), banner,
  placement and user engagement, and the second money column of the online advertising
  export (``publisher_revenue``: its ``revenue``, not the ROAS revenue).
- ``leads.source`` / ``source_key``: the export a lead came from and its id there, unique per
  company, so a re-import finds the lead instead of making another (as campaigns, 0007).
- ``web_traffic_daily``: bounces, duration, pageviews and conversions nullable (an export
  with sessions only leaves them NULL, never 0); ``visitor_type`` may be ``unknown``.
- ``touchpoints``: ``touched_at`` and ``conversion_value`` nullable (journeys exported as
  channel sequences have neither), and ``source``: the export of an imported journey, unique
  with the company, journey and position, so a re-import replaces instead of adding.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 22:10:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_WEB_MEASURES = (('bounces', sa.Integer()), ('duration_seconds', sa.BigInteger()),
                 ('pageviews', sa.Integer()), ('conversions', sa.Integer()))


def upgrade() -> None:
    op.create_table(
        'ad_event_details',
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=False),  # ad_events.id
        sa.Column('campaign_id', sa.Integer(), sa.ForeignKey('campaigns.id'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),  # the event's UTC day
        sa.Column('ad_set', sa.String(64), nullable=True),
        sa.Column('banner', sa.String(32), nullable=True),
        sa.Column('placement', sa.String(32), nullable=True),
        sa.Column('user_engagement', sa.String(16), nullable=True),
        sa.Column('reach', sa.BigInteger(), nullable=True),
        sa.Column('publisher_revenue', sa.Numeric(14, 4), nullable=True),
        sa.PrimaryKeyConstraint('company_id', 'event_id'),
    )
    op.create_index('ix_ad_event_details_company_campaign_day', 'ad_event_details',
                    ['company_id', 'campaign_id', 'day'])

    op.add_column('leads', sa.Column('source', sa.String(64), nullable=True))
    op.add_column('leads', sa.Column('source_key', sa.String(200), nullable=True))
    op.create_index('ux_leads_source_key', 'leads', ['company_id', 'source', 'source_key'],
                    unique=True, postgresql_where=sa.text('source_key IS NOT NULL'))

    for name, kind in _WEB_MEASURES:
        op.alter_column('web_traffic_daily', name, existing_type=kind, nullable=True)
    op.drop_constraint('visitor_known', 'web_traffic_daily', type_='check')
    op.create_check_constraint('visitor_known', 'web_traffic_daily',
                               "visitor_type IN ('new','returning','unknown')")

    op.alter_column('touchpoints', 'touched_at', existing_type=sa.DateTime(timezone=True),
                    nullable=True)
    op.alter_column('touchpoints', 'conversion_value', existing_type=sa.Numeric(14, 4),
                    nullable=True)
    op.add_column('touchpoints', sa.Column('source', sa.String(64), nullable=True))
    op.create_index('ux_touchpoints_source_journey', 'touchpoints',
                    ['company_id', 'source', 'journey_id', 'position'], unique=True,
                    postgresql_where=sa.text('source IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ux_touchpoints_source_journey', table_name='touchpoints')
    op.execute("DELETE FROM touchpoints WHERE touched_at IS NULL OR conversion_value IS NULL")
    op.drop_column('touchpoints', 'source')
    op.alter_column('touchpoints', 'conversion_value', existing_type=sa.Numeric(14, 4),
                    nullable=False)
    op.alter_column('touchpoints', 'touched_at', existing_type=sa.DateTime(timezone=True),
                    nullable=False)

    op.execute("DELETE FROM web_traffic_daily WHERE visitor_type = 'unknown' OR bounces IS NULL"
               " OR duration_seconds IS NULL OR pageviews IS NULL OR conversions IS NULL")
    op.drop_constraint('visitor_known', 'web_traffic_daily', type_='check')
    op.create_check_constraint('visitor_known', 'web_traffic_daily',
                               "visitor_type IN ('new','returning')")
    for name, kind in _WEB_MEASURES:
        op.alter_column('web_traffic_daily', name, existing_type=kind, nullable=False)

    op.drop_index('ux_leads_source_key', table_name='leads')
    op.drop_column('leads', 'source_key')
    op.drop_column('leads', 'source')

    op.drop_index('ix_ad_event_details_company_campaign_day', table_name='ad_event_details')
    op.drop_table('ad_event_details')
