"""realtime alerts and api tokens

Issue #4: per-company ingest tokens (hashed), alert settings (email recipients, Slack
webhook), the alert state machine's columns (pending period, hysteresis, minimum volume;
subject, fired/acknowledged times), a partial unique index that keeps one open alert per
rule and subject, per-rule evaluation records and per-action deliveries (unique per alert
and action, so two workers never send the same alert twice).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 22:20:14.860019
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('alert_settings',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('email_recipients', postgresql.ARRAY(sa.String(length=255)), nullable=False),
    sa.Column('slack_webhook_url', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.PrimaryKeyConstraint('company_id')
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_api_tokens_company_id'), 'api_tokens', ['company_id'], unique=False)
    op.create_table('alert_evaluations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subjects', sa.Integer(), nullable=False),
    sa.Column('breaching', sa.Integer(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_alert_evaluations_rule_time', 'alert_evaluations', ['rule_id', 'evaluated_at'], unique=False)
    op.create_table('alert_deliveries',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('alert_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alert_id', 'action', name='uq_alert_deliveries_action')
    )
    op.add_column('alert_rules', sa.Column('rule_key', sa.String(length=32), server_default='custom', nullable=False))
    op.add_column('alert_rules', sa.Column('pending_s', sa.Integer(), server_default='120', nullable=False))
    op.add_column('alert_rules', sa.Column('hysteresis', sa.Float(), server_default='0.1', nullable=False))
    op.add_column('alert_rules', sa.Column('min_volume', sa.Integer(), server_default='0', nullable=False))
    op.add_column('alert_rules', sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False))
    op.add_column('alert_rules', sa.Column('updated_by', sa.Integer(), nullable=True))
    op.create_unique_constraint('uq_alert_rules_key', 'alert_rules', ['company_id', 'rule_key'])
    op.create_foreign_key('alert_rules_updated_by_fkey', 'alert_rules', 'users', ['updated_by'], ['id'])
    op.add_column('alerts', sa.Column('subject', sa.String(length=200), server_default='', nullable=False))
    op.add_column('alerts', sa.Column('threshold', sa.Float(), nullable=True))
    op.add_column('alerts', sa.Column('last_evaluated_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('alerts', sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('alerts', sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_alerts_company_state', 'alerts', ['company_id', 'state', 'started_at'], unique=False)
    op.create_index('ux_alerts_open_subject', 'alerts', ['rule_id', sa.literal_column('coalesce(campaign_id, 0)')], unique=True, postgresql_where=sa.text("state IN ('pending', 'firing')"))
    op.add_column('notifications', sa.Column('alert_id', sa.BigInteger(), nullable=True))
    op.add_column('notifications', sa.Column('severity', sa.String(length=8), nullable=True))
    op.create_foreign_key('notifications_alert_id_fkey', 'notifications', 'alerts', ['alert_id'], ['id'])


def downgrade() -> None:
    op.drop_constraint('notifications_alert_id_fkey', 'notifications', type_='foreignkey')
    op.drop_column('notifications', 'severity')
    op.drop_column('notifications', 'alert_id')
    op.drop_index('ux_alerts_open_subject', table_name='alerts', postgresql_where=sa.text("state IN ('pending', 'firing')"))
    op.drop_index('ix_alerts_company_state', table_name='alerts')
    op.drop_column('alerts', 'acknowledged_at')
    op.drop_column('alerts', 'fired_at')
    op.drop_column('alerts', 'last_evaluated_at')
    op.drop_column('alerts', 'threshold')
    op.drop_column('alerts', 'subject')
    op.drop_constraint('alert_rules_updated_by_fkey', 'alert_rules', type_='foreignkey')
    op.drop_constraint('uq_alert_rules_key', 'alert_rules', type_='unique')
    op.drop_column('alert_rules', 'updated_by')
    op.drop_column('alert_rules', 'updated_at')
    op.drop_column('alert_rules', 'min_volume')
    op.drop_column('alert_rules', 'hysteresis')
    op.drop_column('alert_rules', 'pending_s')
    op.drop_column('alert_rules', 'rule_key')
    op.drop_table('alert_deliveries')
    op.drop_index('ix_alert_evaluations_rule_time', table_name='alert_evaluations')
    op.drop_table('alert_evaluations')
    op.drop_index(op.f('ix_api_tokens_company_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('alert_settings')
