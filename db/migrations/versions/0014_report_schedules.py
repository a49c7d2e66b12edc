"""Scheduled reports (issue #17): what a schedule sends, when, to whom; runs claimed once per
(schedule, due time); deliveries claimed once per (run, channel, recipient)

- report_schedules: ``name``, ``sections`` (report section keys), ``filters`` (the raw filter
  dict of a view's URL), ``formats`` (pdf, html, csv), ``cadence`` (daily, weekdays, weekly,
  monthly, cron) with ``day`` (ISO weekday 1-7 for weekly, day of month 1-28 for monthly) or
  ``cron`` (cron only), ``local_time`` in the IANA ``timezone``, ``skip_if_empty``, ``slack``
  (post to the company's Slack webhook), ``notify`` (in-app notification), ``active``,
  ``next_run_at`` (the next due instant, UTC: the worker's index) and timestamps. ``view`` is
  the view the schedule was made from. ``cron`` becomes nullable.
- report_runs: ``company_id`` (tenant), ``due_at`` (unique with the schedule: two workers
  claiming the same due time, one wins), ``kind`` (scheduled, manual), ``requested_by``,
  ``started_at``, ``finished_at``, ``attempts`` and ``next_attempt_at`` (retries with
  backoff), ``recipients``, ``sizes`` (bytes per file), ``render_ms``, ``deliver_ms``;
  ``detail`` holds the real error of a failed run.
- report_deliveries (new): one row per (run, channel, target), inserted before sending, so
  neither a second worker nor a retry sends the same report to the same recipient twice.
- report_allowed_recipients (new): addresses outside the company an admin allowed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 02:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CADENCES = ('daily', 'weekdays', 'weekly', 'monthly', 'cron')
RUN_STATUSES = ('working', 'retrying', 'sent', 'partial', 'failed', 'skipped')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    text_array = postgresql.ARRAY(sa.Text())
    op.add_column('report_schedules', sa.Column('name', sa.String(200), nullable=False,
                                                server_default='Report'))
    op.add_column('report_schedules', sa.Column('sections', text_array, nullable=False,
                                                server_default='{}'))
    op.add_column('report_schedules', sa.Column('filters', postgresql.JSONB(), nullable=False,
                                                server_default='{}'))
    op.add_column('report_schedules', sa.Column('formats', text_array, nullable=False,
                                                server_default='{pdf}'))
    op.add_column('report_schedules', sa.Column('cadence', sa.String(16), nullable=False,
                                                server_default='cron'))
    op.add_column('report_schedules', sa.Column('day', sa.SmallInteger()))
    op.add_column('report_schedules', sa.Column('local_time', sa.Time(), nullable=False,
                                                server_default='08:00'))
    op.add_column('report_schedules', sa.Column('timezone', sa.String(64), nullable=False,
                                                server_default='UTC'))
    for name, default in (('skip_if_empty', 'false'), ('slack', 'false'), ('notify', 'true'),
                          ('active', 'true')):
        op.add_column('report_schedules', sa.Column(name, sa.Boolean(), nullable=False,
                                                    server_default=sa.text(default)))
    op.add_column('report_schedules', sa.Column('next_run_at', sa.DateTime(timezone=True)))
    for name in ('created_at', 'updated_at'):
        op.add_column('report_schedules', sa.Column(name, sa.DateTime(timezone=True),
                                                    nullable=False, server_default=sa.func.now()))
    op.alter_column('report_schedules', 'cron', nullable=True)
    op.create_check_constraint('ck_report_schedules_cadence', 'report_schedules',
                               _in('cadence', CADENCES))
    op.create_index('ix_report_schedules_company', 'report_schedules', ['company_id'])
    op.create_index('ix_report_schedules_due', 'report_schedules', ['next_run_at'],
                    postgresql_where=sa.text('active'))

    op.add_column('report_runs', sa.Column('company_id', sa.Integer(),
                                           sa.ForeignKey('companies.id')))
    op.execute("""UPDATE report_runs r SET company_id = s.company_id
                  FROM report_schedules s WHERE s.id = r.schedule_id""")
    op.alter_column('report_runs', 'company_id', nullable=False)
    op.add_column('report_runs', sa.Column('due_at', sa.DateTime(timezone=True)))
    op.execute("UPDATE report_runs SET due_at = ran_at")
    op.alter_column('report_runs', 'due_at', nullable=False)
    op.add_column('report_runs', sa.Column('kind', sa.String(16), nullable=False,
                                           server_default='scheduled'))
    op.add_column('report_runs', sa.Column('requested_by', sa.Integer(),
                                           sa.ForeignKey('users.id')))
    op.add_column('report_runs', sa.Column('started_at', sa.DateTime(timezone=True)))
    op.add_column('report_runs', sa.Column('finished_at', sa.DateTime(timezone=True)))
    op.add_column('report_runs', sa.Column('attempts', sa.Integer(), nullable=False,
                                           server_default='1'))
    op.add_column('report_runs', sa.Column('next_attempt_at', sa.DateTime(timezone=True)))
    op.add_column('report_runs', sa.Column('recipients', text_array, nullable=False,
                                           server_default='{}'))
    op.add_column('report_runs', sa.Column('sizes', postgresql.JSONB(), nullable=False,
                                           server_default='{}'))
    op.add_column('report_runs', sa.Column('render_ms', sa.Integer()))
    op.add_column('report_runs', sa.Column('deliver_ms', sa.Integer()))
    op.execute(f"UPDATE report_runs SET status = 'failed' WHERE NOT {_in('status', RUN_STATUSES)}")
    op.create_check_constraint('ck_report_runs_status', 'report_runs',
                               _in('status', RUN_STATUSES))
    op.create_index('ux_report_runs_schedule_due', 'report_runs', ['schedule_id', 'due_at'],
                    unique=True)
    op.create_index('ix_report_runs_company', 'report_runs', ['company_id', 'due_at'])
    op.create_index('ix_report_runs_retry', 'report_runs', ['next_attempt_at'],
                    postgresql_where=sa.text("status IN ('retrying', 'working')"))

    op.create_table(
        'report_deliveries',
        sa.Column('run_id', sa.BigInteger(), sa.ForeignKey('report_runs.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('channel', sa.String(16), primary_key=True),  # email, slack, notification
        sa.Column('target', sa.String(255), primary_key=True),
        sa.Column('status', sa.String(16), nullable=False),  # sending, sent, failed
        sa.Column('detail', sa.Text()),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    op.create_table(
        'report_allowed_recipients',
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), primary_key=True),
        sa.Column('address', sa.String(255), primary_key=True),  # lower case
        sa.Column('allowed_by', sa.Integer(), sa.ForeignKey('users.id')),
        sa.Column('allowed_at', sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()))


def downgrade() -> None:
    op.drop_table('report_allowed_recipients')
    op.drop_table('report_deliveries')
    op.drop_index('ix_report_runs_retry', 'report_runs')
    op.drop_index('ix_report_runs_company', 'report_runs')
    op.drop_index('ux_report_runs_schedule_due', 'report_runs')
    op.drop_constraint('ck_report_runs_status', 'report_runs')
    for column in ('deliver_ms', 'render_ms', 'sizes', 'recipients', 'next_attempt_at',
                   'attempts', 'finished_at', 'started_at', 'requested_by', 'kind', 'due_at',
                   'company_id'):
        op.drop_column('report_runs', column)
    op.drop_index('ix_report_schedules_due', 'report_schedules')
    op.drop_index('ix_report_schedules_company', 'report_schedules')
    op.drop_constraint('ck_report_schedules_cadence', 'report_schedules')
    op.execute("UPDATE report_schedules SET cron = '0 8 * * *' WHERE cron IS NULL")
    op.alter_column('report_schedules', 'cron', nullable=False)
    for column in ('updated_at', 'created_at', 'next_run_at', 'active', 'notify', 'slack',
                   'skip_if_empty', 'timezone', 'local_time', 'day', 'cadence', 'formats',
                   'filters', 'sections', 'name'):
        op.drop_column('report_schedules', column)
