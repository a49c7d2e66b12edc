"""Every fact and rollup table has ``company_id`` in its primary key (issue #19, item 5), so
it can be laid out by company: PostgreSQL's hash partitioning (``campaign-dash db partition``)
or Citus shards both need the partition or distribution column in every primary key and
unique constraint.

- Tables keyed by a serial ``id`` get ``(id, company_id)``: ``id`` stays the leading column,
  so lookups and id ranges (the ingest path reads back the events it just wrote by id) use the
  same single index as before, and ingest maintains no extra one.
- Rollups keyed by campaign, email or retailer get ``company_id`` in front; their writers'
  ON CONFLICT targets name it too (``db.rollups``).
- The two foreign keys that pointed at a fact's ``id`` (a CRM conversion's email send, a
  status change's lead) become ``(company_id, ...)`` pairs: a partitioned or distributed
  table can only be referenced through a key that holds the partition column, and the pair
  also says the send or lead is the same company's.

Every other fact table (rollup_sales_daily, rollup_leads_daily, rollup_lead_changes_daily,
web_traffic_daily, import_keys, ad_event_details, business_metrics_monthly, ...) already had
``company_id`` first in its key. Only the keys' indexes are rebuilt: cheap on the test and
demo databases, one index build per table on a large warehouse.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 10:30:00
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0020'
down_revision: Union[str, None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# table -> (old key, new key)
KEYS = {
    'ad_events': ('id', 'id, company_id'),
    'email_sends': ('id', 'id, company_id'),
    'crm_conversions': ('id', 'id, company_id'),
    'ecommerce_orders': ('id', 'id, company_id'),
    'leads': ('id', 'id, company_id'),
    'lead_status_changes': ('id', 'id, company_id'),
    'touchpoints': ('id', 'id, company_id'),
    'ad_stats_daily': ('campaign_id, day, location_id, device',
                       'company_id, campaign_id, day, location_id, device'),
    'rollup_campaign_daily': ('campaign_id, day', 'company_id, campaign_id, day'),
    'rollup_campaign_hourly': ('campaign_id, hour', 'company_id, campaign_id, hour'),
    'rollup_email_daily': ('email_campaign_id, retailer_id, day',
                           'company_id, email_campaign_id, retailer_id, day'),
    'rollup_email_engagement': ('email_campaign_id, retailer_id, hours_since_send',
                                'company_id, email_campaign_id, retailer_id, hours_since_send'),
    'rollup_retailer_sales_daily': (
        'campaign_id, retailer_id, email_campaign_id, day, source',
        'company_id, campaign_id, retailer_id, email_campaign_id, day, source'),
}

# (table, constraint, old definition, new definition)
FOREIGN_KEYS = (
    ('crm_conversions', 'crm_conversions_email_send_id_fkey',
     'FOREIGN KEY (email_send_id) REFERENCES email_sends (id)',
     'FOREIGN KEY (company_id, email_send_id) REFERENCES email_sends (company_id, id)'),
    ('lead_status_changes', 'lead_status_changes_lead_id_fkey',
     'FOREIGN KEY (lead_id) REFERENCES leads (id)',
     'FOREIGN KEY (company_id, lead_id) REFERENCES leads (company_id, id)'),
)


def _rekey(new: bool) -> None:
    for table, name, *_ in FOREIGN_KEYS:
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT {name}')
    for table, keys in KEYS.items():
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, '
                   f'ADD CONSTRAINT {table}_pkey PRIMARY KEY ({keys[1 if new else 0]})')
    for table, name, old, fresh in FOREIGN_KEYS:
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT {name} {fresh if new else old}')


def upgrade() -> None:
    _rekey(True)


def downgrade() -> None:
    _rekey(False)
