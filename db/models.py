"""SQLAlchemy 2 models of the warehouse (star schema) and the app's own tables.

Money is NUMERIC(14, 4) so sums are exact; queries cast aggregates to float only at the edge.
Every fact carries ``company_id`` (the tenant) so a query can always filter on it first.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Money = Numeric(14, 4)


class Base(DeclarativeBase):
    pass


def _now_column() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


# --------------------------------------------------------------------------- dimensions


class Company(Base):
    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = _now_column()


class Channel(Base):
    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # paid_search, social, video, email, web


class Segment(Base):
    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    region: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    name: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(String(32))  # awareness, traffic, leads, sales
    status: Mapped[str] = mapped_column(String(16))  # draft, active, paused, completed
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    budget_allocated: Mapped[Decimal] = mapped_column(Money)
    daily_budget: Mapped[Decimal] = mapped_column(Money)
    language: Mapped[str] = mapped_column(String(16), default="English")
    project: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    created_at: Mapped[dt.datetime] = _now_column()
    # Imported campaigns (issue #12, migration 0007): the export and its campaign id there,
    # unique per company, and attributes of the Kaggle export with no other place.
    source: Mapped[str | None] = mapped_column(String(64))
    source_key: Mapped[str | None] = mapped_column(String(200))
    target_audience: Mapped[str | None] = mapped_column(String(100))
    engagement_score: Mapped[int | None] = mapped_column(SmallInteger)
    __table_args__ = (
        CheckConstraint("status IN ('draft','active','paused','completed')", name="status_known"),
        Index("ux_campaigns_source_key", "company_id", "source", "source_key", unique=True,
              postgresql_where=text("source_key IS NOT NULL")),
        # the filter bar's options probe these (migration 0017)
        Index("ix_campaigns_company_channel", "company_id", "channel_id"),
        Index("ix_campaigns_company_segment", "company_id", "segment_id"),
        Index("ix_campaigns_company_project", "company_id", "project"),
    )


class Retailer(Base):
    """A company's partner account (e.g. a jeweller receiving the brand's emails)."""

    __tablename__ = "retailers"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(32))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))


class Competitor(Base):
    __tablename__ = "competitors"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(64))
    website: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[dt.datetime] = _now_column()
    __table_args__ = (Index("ux_competitors_company_name", "company_id", text("lower(name)"),
                            unique=True),)


class ContentItem(Base):
    __tablename__ = "content_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))  # blog, video, whitepaper, social post
    published_on: Mapped[dt.date] = mapped_column(Date)
    views: Mapped[int] = mapped_column(Integer, default=0)
    engagements: Mapped[int] = mapped_column(Integer, default=0)


# --------------------------------------------------------------------------- ad facts


class AdEvent(Base):
    """The real-time stream: one reported increment of activity for a campaign.

    An event carries counts rather than a single impression because ad platforms report in
    increments; the rollups below sum them.

    No foreign keys (migration 0005): their per-row lookups cost most of the COPY time of the
    ingest path, which guarantees the references itself (the tenant is the caller's, the
    campaign must be one of its, the channel is the campaign's, the location must exist) and
    writes the rollup rows in the same transaction (whose foreign keys 0018 dropped too).

    No (company_id, occurred_at) index either (migration 0006): it cost ~45 ms of each 50,000-row
    COPY, and the company's newest event it served is kept in ``DataVersion`` instead.
    """

    __tablename__ = "ad_events"
    # (id, company_id): every fact's key holds the tenant (migration 0020)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # checked by ingest
    campaign_id: Mapped[int] = mapped_column(Integer)  # campaigns.id of that company
    channel_id: Mapped[int] = mapped_column(Integer)  # channels.id, the campaign's
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    location_id: Mapped[int] = mapped_column(Integer)  # locations.id
    device: Mapped[str] = mapped_column(String(16))  # desktop, mobile, tablet
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    conversions: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[Decimal] = mapped_column(Money, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=0)
    ingested_at: Mapped[dt.datetime] = _now_column()
    __table_args__ = (
        CheckConstraint("cost >= 0 AND revenue >= 0", name="money_not_negative"),
        CheckConstraint(
            "impressions >= 0 AND clicks >= 0 AND conversions >= 0", name="counts_not_negative"
        ),
    )


class AdStatsDaily(Base):
    """Daily ad activity by campaign, location and device (maintained from events and imports).

    No foreign keys, like the two rollups below (migration 0018): the events they sum carry
    references the ingest path checked (see ``AdEvent``), and the per-row lookups were most
    of an import's rollup work (~5 of ~8 s for 55,000 rows of a year of events)."""

    __tablename__ = "ad_stats_daily"
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # companies.id
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # campaigns.id
    channel_id: Mapped[int] = mapped_column(Integer)  # channels.id
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    location_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # locations.id
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    spend: Mapped[Decimal] = mapped_column(Money, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=0)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        Index("ix_ad_stats_daily_company_day", "company_id", "day"),
        # A device segment's reads, index-only (migration 0021).
        Index("ix_ad_stats_daily_company_device_day", "company_id", "device", "day",
              postgresql_include=["campaign_id", "channel_id", "impressions", "clicks",
                                  "conversions", "spend", "revenue"]),
    )


class RollupCampaignDaily(Base):
    """Rollup per company x campaign x channel x day; what dashboards read."""

    __tablename__ = "rollup_campaign_daily"
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # companies.id, no FK
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # campaigns.id
    channel_id: Mapped[int] = mapped_column(Integer)  # channels.id
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    spend: Mapped[Decimal] = mapped_column(Money, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        Index(
            "ix_rollup_campaign_daily_company_day",
            "company_id",
            "day",
            postgresql_include=["campaign_id", "channel_id", "spend", "revenue", "conversions",
                                "clicks", "impressions"],
        ),
    )


class RollupCampaignHourly(Base):
    """Rollup per company x campaign x channel x hour (the real-time view reads today's and the
    week before; kept for the last ``db.rollups.HOURLY_DAYS`` days only)."""

    __tablename__ = "rollup_campaign_hourly"
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # companies.id, no FK
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # campaigns.id
    channel_id: Mapped[int] = mapped_column(Integer)  # channels.id
    hour: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    spend: Mapped[Decimal] = mapped_column(Money, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (Index("ix_rollup_campaign_hourly_company_hour", "company_id", "hour"),)


class CampaignCumulativeDaily(Base):
    """Running totals per campaign and day (migration 0023, issue #14): on each day from a
    campaign's first day with ads or sales to its last, the sums of every day so far, so a
    date range's per-campaign totals are two rows' difference (the range's last day, or the
    campaign's last day in it, minus the day before the range) instead of a sum over every day
    of the range. Built per company by the worker for one history version through its
    ``CampaignCumulativeState.through`` (``db.queries.campaign_cumulative``); days after it
    are read from the daily rollups."""

    __tablename__ = "campaign_cumulative_daily"
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # companies.id, no FK
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # campaigns.id
    last: Mapped[bool] = mapped_column(Boolean)  # the campaign's last day with activity
    active_days: Mapped[int] = mapped_column(BigInteger)  # days with ads or sales so far
    impressions: Mapped[int] = mapped_column(BigInteger)
    clicks: Mapped[int] = mapped_column(BigInteger)
    ad_conversions: Mapped[int] = mapped_column(BigInteger)
    spend_units: Mapped[int] = mapped_column(BigInteger)  # money in units of 0.0001: exact
    ad_revenue_units: Mapped[int] = mapped_column(BigInteger)
    sales_conversions: Mapped[int] = mapped_column(BigInteger)
    sales_revenue_units: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_campaign_cumulative_daily_last", "company_id", "day",
                            postgresql_where=text("last")),)


class CampaignCumulativeState(Base):
    """What a company's ``campaign_cumulative_daily`` rows hold: the history version they were
    built from and the last day they cover (a request uses them only for that version)."""

    __tablename__ = "campaign_cumulative_state"
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # companies.id, no FK
    history_version: Mapped[int] = mapped_column(BigInteger)
    through: Mapped[dt.date] = mapped_column(Date)
    rows: Mapped[int] = mapped_column(BigInteger)
    seconds: Mapped[float] = mapped_column(Float)
    built_at: Mapped[dt.datetime] = _now_column()


# --------------------------------------------------------------------------- email funnel


class EmailCampaign(Base):
    __tablename__ = "email_campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1st, 2nd, 3rd email of the campaign
    subject: Mapped[str] = mapped_column(String(500))
    sender_email: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    total_recipients: Mapped[int] = mapped_column(Integer, default=0)


class EmailSend(Base):
    """One email to one recipient at a retailer, with its delivery and engagement times."""

    __tablename__ = "email_sends"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    email_campaign_id: Mapped[int] = mapped_column(ForeignKey("email_campaigns.id"))
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"))
    recipient_email: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    clicked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # delivered, bounced
    __table_args__ = (
        Index("ix_email_sends_company_sent", "company_id", "sent_at"),
        Index("ix_email_sends_email_campaign", "email_campaign_id", "retailer_id"),
    )


class CrmConversion(Base):
    __tablename__ = "crm_conversions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    retailer_id: Mapped[int | None] = mapped_column(ForeignKey("retailers.id"))
    email_send_id: Mapped[int | None] = mapped_column(BigInteger)  # of the same company
    conversion_type: Mapped[str] = mapped_column(String(16))  # sale, lead, signup
    conversion_value: Mapped[Decimal] = mapped_column(Money)
    converted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    product_category: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (
        Index("ix_crm_conversions_company_time", "company_id", "converted_at"),
        # the send is the same company's; its key holds the tenant (migration 0020)
        ForeignKeyConstraint(["company_id", "email_send_id"],
                             ["email_sends.company_id", "email_sends.id"],
                             name="crm_conversions_email_send_id_fkey"),
        CheckConstraint("conversion_value >= 0", name="value_not_negative"),
    )


class EcommerceOrder(Base):
    __tablename__ = "ecommerce_orders"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    retailer_id: Mapped[int | None] = mapped_column(ForeignKey("retailers.id"))
    order_value: Mapped[Decimal] = mapped_column(Money)
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    product_count: Mapped[int] = mapped_column(Integer, default=1)
    order_status: Mapped[str] = mapped_column(String(16), default="completed")
    attributed_to_email: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        Index("ix_ecommerce_orders_company_time", "company_id", "ordered_at"),
        CheckConstraint("order_value >= 0", name="value_not_negative"),
    )


class RollupSalesDaily(Base):
    """CRM conversions and e-commerce orders per company x campaign x day, each source on its
    own row, so revenue is summed per source before anything is joined (no fan-out)."""

    __tablename__ = "rollup_sales_daily"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0 = unattributed
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)  # crm, ecommerce
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=0)
    __table_args__ = (Index("ix_rollup_sales_daily_company_day", "company_id", "day"),)


class RollupEmailDaily(Base):
    """Sends per email x retailer x UTC day of sending (migration 0012): the email funnel."""

    __tablename__ = "rollup_email_daily"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    email_campaign_id: Mapped[int] = mapped_column(ForeignKey("email_campaigns.id"),
                                                   primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    opened: Mapped[int] = mapped_column(BigInteger, default=0)
    clicked: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (Index("ix_rollup_email_daily_company_day", "company_id", "day"),)


class RollupEmailEngagement(Base):
    """Opens and clicks per email x retailer x whole hours after sending (72: 72 or more)."""

    __tablename__ = "rollup_email_engagement"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True,
                                            index=True)
    email_campaign_id: Mapped[int] = mapped_column(ForeignKey("email_campaigns.id"),
                                                   primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"), primary_key=True)
    hours_since_send: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    opens: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupRetailerSalesDaily(Base):
    """CRM conversions and completed orders naming a campaign and a retailer, per campaign x
    retailer x email (0: none) x day x source, summed per source (no fan-out)."""

    __tablename__ = "rollup_retailer_sales_daily"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"), primary_key=True)
    email_campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=0)
    __table_args__ = (Index("ix_rollup_retailer_sales_daily_company_day", "company_id", "day"),)


class RollupLeadsDaily(Base):
    """Leads per campaign (0: none) x UTC day created x current status x furthest funnel
    stage reached (0 lead, 1 opportunity, 2 customer)."""

    __tablename__ = "rollup_leads_daily"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    stage: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    leads: Mapped[int] = mapped_column(BigInteger, default=0)
    value: Mapped[Decimal] = mapped_column(Money, default=0)


class RollupLeadChangesDaily(Base):
    """Lead status changes per campaign (0: none) x UTC day x new status."""

    __tablename__ = "rollup_lead_changes_daily"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    to_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, default=0)


# --------------------------------------------------------------------------- leads, web, journeys


class Lead(Base):
    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # new, contacted, qualified, opportunity, won, lost
    status: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal] = mapped_column(Money, default=0)
    # Imported leads (issue #12, migration 0011): the export and the lead's id there.
    source: Mapped[str | None] = mapped_column(String(64))
    source_key: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (
        Index("ix_leads_company_created", "company_id", "created_at"),
        Index("ux_leads_source_key", "company_id", "source", "source_key", unique=True,
              postgresql_where=text("source_key IS NOT NULL")),
    )


class LeadStatusChange(Base):
    __tablename__ = "lead_status_changes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    lead_id: Mapped[int] = mapped_column(BigInteger, index=True)  # of the same company
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        Index("ix_lead_status_changes_company_time", "company_id", "changed_at"),
        ForeignKeyConstraint(["company_id", "lead_id"], ["leads.company_id", "leads.id"],
                             name="lead_status_changes_lead_id_fkey"),
    )


class WebTrafficDaily(Base):
    __tablename__ = "web_traffic_daily"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)  # organic, paid, email, ...
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    # new, returning; unknown: an export without the split (GA daily sessions, migration 0011)
    visitor_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer)
    # NULL when the export has no such field (never 0, migration 0011)
    bounces: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[int | None] = mapped_column(BigInteger)  # summed over sessions
    pageviews: Mapped[int | None] = mapped_column(Integer)
    conversions: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("visitor_type IN ('new','returning','unknown')",
                                      name="visitor_known"),)


class Touchpoint(Base):
    """One step of a customer journey, for multi-touch attribution."""

    __tablename__ = "touchpoints"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    # NULL when the export has no times or values (channel sequences, migration 0011)
    touched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    converted: Mapped[bool] = mapped_column(Boolean, default=False)
    conversion_value: Mapped[Decimal | None] = mapped_column(Money, default=0)
    source: Mapped[str | None] = mapped_column(String(64))  # the export of an imported journey
    __table_args__ = (
        Index("ix_touchpoints_company_journey", "company_id", "journey_id"),
        Index("ux_touchpoints_source_journey", "company_id", "source", "journey_id", "position",
              unique=True, postgresql_where=text("source IS NOT NULL")),
    )


class BusinessMetricsMonthly(Base):
    __tablename__ = "business_metrics_monthly"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # first day of the month
    mrr: Mapped[Decimal] = mapped_column(Money)
    customers: Mapped[int] = mapped_column(Integer)
    new_customers: Mapped[int] = mapped_column(Integer)
    churned_customers: Mapped[int] = mapped_column(Integer)
    nps: Mapped[float] = mapped_column(Float)
    brand_awareness_pct: Mapped[float] = mapped_column(Float)
    market_share_pct: Mapped[float] = mapped_column(Float)


# Competitive intelligence (migration 0013).
ESTIMATE_METRICS = ("market_share", "ad_spend", "avg_cpc", "social_followers", "voice")
UPDATE_KINDS = ("pricing", "product", "campaign", "partnership", "hiring", "positioning",
                "other")


class CompetitorEstimate(Base):
    """One figure of one brand for one month, as a range with the method that produced it
    and its source (``low`` equals ``high`` when the source gives one value it calls exact).
    ``competitor_id`` 0 is the company itself. ``voice`` is a volume (mentions, impressions)
    in one ``channel``; shares of voice are computed from the volumes of the named brands."""

    __tablename__ = "competitor_estimates"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    competitor_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True, server_default="all")
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    __table_args__ = (
        CheckConstraint("low >= 0 AND low <= high", name="ck_competitor_estimates_range"),
        CheckConstraint("metric IN ('market_share', 'ad_spend', 'avg_cpc', "
                        "'social_followers', 'voice')", name="ck_competitor_estimates_metric"),
    )


class CompetitorUpdate(Base):
    __tablename__ = "competitor_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    competitor_id: Mapped[int] = mapped_column(ForeignKey("competitors.id"), index=True)
    observed_on: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))  # UPDATE_KINDS
    summary: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(200))
    source_key: Mapped[str | None] = mapped_column(String(300))  # e.g. an RSS entry's id
    created_at: Mapped[dt.datetime] = _now_column()
    __table_args__ = (
        CheckConstraint("kind IN ('pricing', 'product', 'campaign', 'partnership', 'hiring', "
                        "'positioning', 'other')", name="ck_competitor_updates_kind"),
        Index("ix_competitor_updates_company_observed", "company_id", "observed_on"),
        Index("ux_competitor_updates_source_key", "company_id", "source_key", unique=True),
    )


class KpiTarget(Base):
    __tablename__ = "kpi_targets"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    metric: Mapped[str] = mapped_column(String(32))  # spend, revenue, roas, conversions, ...
    period: Mapped[str] = mapped_column(String(8))  # day, month
    target: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(8), default="higher")  # higher / lower is better
    __table_args__ = (UniqueConstraint("company_id", "metric", "period"),)


class InjectedPattern(Base):
    """Ground truth: anomalies and trend changes the demo generator put into the data."""

    __tablename__ = "injected_patterns"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    kind: Mapped[str] = mapped_column(String(16))  # anomaly, trend_change
    metric: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    start_day: Mapped[dt.date] = mapped_column(Date)
    end_day: Mapped[dt.date] = mapped_column(Date)
    magnitude: Mapped[float] = mapped_column(Float)  # multiplier (anomaly) or slope change
    description: Mapped[str] = mapped_column(Text)


# --------------------------------------------------------------------------- app tables


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = _now_column()
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin','executive','marketing_manager','campaign_specialist','analyst')",
            name="role_known",
        ),
    )


class UserSession(Base):
    """A login. The cookie holds only this id, so logout or deactivation ends it at once."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = _now_column()
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The idle limit's clock (written at most once a minute); created_at is the lifetime's.
    last_seen_at: Mapped[dt.datetime] = _now_column()


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = _now_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_email: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str | None] = mapped_column(String(255))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_action", "action"),
        Index("ix_audit_log_actor_email_at", "actor_email", "at"),
    )


class PasswordToken(Base):
    """A one-time set-password link (new user or reset). Only the SHA-256 of the token is
    stored; the link works once and until ``expires_at``."""

    __tablename__ = "password_tokens"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # invite, reset
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = _now_column()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AlertRule(Base):
    __tablename__ = "alert_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(32))
    comparison: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    actions: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Real-time alerting (issue #4): which built-in check this is, how long a breach must
    # last before it fires, the hysteresis band that must be crossed to resolve, and the
    # minimum volume (clicks) below which a rate is too noisy to judge.
    rule_key: Mapped[str] = mapped_column(String(32), server_default="custom")
    pending_s: Mapped[int] = mapped_column(Integer, server_default="120")
    hysteresis: Mapped[float] = mapped_column(Float, server_default="0.1")
    min_volume: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[dt.datetime] = _now_column()
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    __table_args__ = (UniqueConstraint("company_id", "rule_key", name="uq_alert_rules_key"),)


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    state: Mapped[str] = mapped_column(String(16))  # pending, firing, resolved
    severity: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[dt.datetime] = _now_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # State machine (issue #4): pending -> firing -> resolved, or pending -> cancelled.
    subject: Mapped[str] = mapped_column(String(200), server_default="")
    threshold: Mapped[float | None] = mapped_column(Float)
    last_evaluated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    fired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        # De-duplication: at most one open alert per rule and subject, whatever the workers do.
        Index("ux_alerts_open_subject", "rule_id", func.coalesce(campaign_id, 0), unique=True,
              postgresql_where=text("state IN ('pending', 'firing')")),
        Index("ix_alerts_company_state", "company_id", "state", "started_at"),
    )


class ReportSchedule(Base):
    """A scheduled report (issue #17, migration 0014): what (sections, filters, formats), when
    (cadence at a local time in an IANA zone, or cron), to whom."""

    __tablename__ = "report_schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    view: Mapped[str] = mapped_column(String(32))
    cron: Mapped[str | None] = mapped_column(String(64))
    recipients: Mapped[list[str]] = mapped_column(ARRAY(String(255)), default=list)
    name: Mapped[str] = mapped_column(String(200))
    sections: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    filters: Mapped[dict] = mapped_column(JSONB, default=dict)
    formats: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    cadence: Mapped[str] = mapped_column(String(16))  # daily weekdays weekly monthly cron
    day: Mapped[int | None] = mapped_column(SmallInteger)  # ISO weekday, or day of month
    local_time: Mapped[dt.time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    skip_if_empty: Mapped[bool] = mapped_column(Boolean, default=False)
    slack: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _now_column()
    updated_at: Mapped[dt.datetime] = _now_column()


class ReportRun(Base):
    """One run of a schedule, unique per (schedule, due time): claimed once."""

    __tablename__ = "report_runs"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("report_schedules.id"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16), default="scheduled")  # or manual
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ran_at: Mapped[dt.datetime] = _now_column()
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    recipients: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    sizes: Mapped[dict] = mapped_column(JSONB, default=dict)
    render_ms: Mapped[int | None] = mapped_column(Integer)
    deliver_ms: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ux_report_runs_schedule_due", "schedule_id", "due_at",
                            unique=True),)


class UserPreference(Base):
    __tablename__ = "user_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    default_range: Mapped[str] = mapped_column(String(16), default="30d")
    kpi_cards: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    landing_view: Mapped[str | None] = mapped_column(String(32))
    # IANA zone times of day are shown in (migration 0016); charts' days stay UTC.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = _now_column()
    message: Mapped[str] = mapped_column(Text)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    severity: Mapped[str | None] = mapped_column(String(8))


class ImportRun(Base):
    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[dt.datetime] = _now_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    format: Mapped[str | None] = mapped_column(String(64))  # recognised format (issue #12)
    summary: Mapped[dict | None] = mapped_column(JSONB)  # ignored columns, unchanged rows, ...


class RejectedRow(Base):
    __tablename__ = "rejected_rows"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # import_runs.id, of the run whose transaction wrote the row (no foreign key: 0018)
    import_run_id: Mapped[int] = mapped_column(BigInteger, index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class DataQualitySource(Base):
    """Per company, fact table and source: what the data-quality report reads (migration
    0019), refreshed from the facts by the worker (``services.data_quality``)."""

    __tablename__ = "data_quality_sources"
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    rows: Mapped[int] = mapped_column(BigInteger)
    newest: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    present: Mapped[dict] = mapped_column(JSONB)  # required field -> rows that have it
    duplicates: Mapped[int] = mapped_column(BigInteger)


class DataQualityRefreshed(Base):
    """When a company's data-quality rows were computed, and at which data version."""

    __tablename__ = "data_quality_refreshed"
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ImportKey(Base):
    """One imported source row by its natural key (issue #12): the hash of the values it was
    stored with and the ad event holding them, so a re-import skips unchanged rows and
    replaces restated ones."""

    __tablename__ = "import_keys"
    # no foreign keys (migration 0018): the importer writes the ids it just created
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # companies.id
    source: Mapped[str] = mapped_column(String(64), primary_key=True)  # the format
    natural_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    row_hash: Mapped[int] = mapped_column(BigInteger)
    campaign_id: Mapped[int | None] = mapped_column(Integer)  # campaigns.id
    event_id: Mapped[int | None] = mapped_column(BigInteger)  # ad_events.id
    import_run_id: Mapped[int | None] = mapped_column(BigInteger)  # import_runs.id
    updated_at: Mapped[dt.datetime] = _now_column()


class AdEventDetail(Base):
    """What an imported ad event carries that ``ad_events`` has no column for (issue #12,
    migration 0011): LeadSmart's ad set and reach (reach is also summed into
    ``ad_stats_daily.reach``), the online advertising export's banner, placement, user
    engagement and its ``revenue`` column (``publisher_revenue``: not the ROAS revenue). Deleted
    with its event when a restated row replaces it."""

    __tablename__ = "ad_event_details"
    # no foreign keys (migration 0018): the importer writes the ids it just created
    company_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # companies.id
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # ad_events.id
    campaign_id: Mapped[int] = mapped_column(Integer)  # campaigns.id
    day: Mapped[dt.date] = mapped_column(Date)  # the event's UTC day
    ad_set: Mapped[str | None] = mapped_column(String(64))
    banner: Mapped[str | None] = mapped_column(String(32))
    placement: Mapped[str | None] = mapped_column(String(32))
    user_engagement: Mapped[str | None] = mapped_column(String(16))
    reach: Mapped[int | None] = mapped_column(BigInteger)
    publisher_revenue: Mapped[Decimal | None] = mapped_column(Money)
    __table_args__ = (Index("ix_ad_event_details_company_campaign_day", "company_id",
                            "campaign_id", "day"),)


class DataVersion(Base):
    """Counters per company, part of every cache key. ``version`` is bumped by every ingest;
    ``history_version`` only when the days before today change (events for a past day, the
    first events of a new day, a bulk load), so models fitted to the history stay valid while
    today's events stream in.

    ``newest_event_at`` is the company's newest ad event and ``newest_event_ingested_at`` when
    the ingest that raised it ran (real-time "data as of", admin data freshness). Every writer
    of events keeps them current (ingest with its version bump, ``db.rollups.rebuild``, the
    bench's removal of its events), so ad_events needs no (company_id, occurred_at) index."""

    __tablename__ = "data_versions"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    history_version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    updated_at: Mapped[dt.datetime] = _now_column()
    newest_event_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    newest_event_ingested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class InsightResult(Base):
    """A history model's result (anomalies, trend changes, forecast), stored for the history it
    was fitted to: the worker fills it when the history changes, so a request whose Redis entry
    is gone reads it instead of fitting the models again."""

    __tablename__ = "insight_results"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"),
                                            primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # function and arguments
    history_version: Mapped[int] = mapped_column(BigInteger)
    through: Mapped[dt.date] = mapped_column(Date)  # the last complete day the model saw
    seconds: Mapped[float] = mapped_column(Float)  # what fitting it cost
    computed_at: Mapped[dt.datetime] = _now_column()
    payload: Mapped[dict] = mapped_column(JSONB)


# --------------------------------------------------------------------------- real time (issue #4)


class ApiToken(Base):
    """A per-company ingest token for POST /api/v1/events. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell tokens apart
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = _now_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # None: never


class AlertSettings(Base):
    """Where a company's alert emails and Slack messages go."""

    __tablename__ = "alert_settings"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    email_recipients: Mapped[list[str]] = mapped_column(ARRAY(String(255)), default=list)
    slack_webhook_url: Mapped[str | None] = mapped_column(String(500))


class AlertEvaluation(Base):
    """One evaluation of one rule over all its subjects (kept a week by the worker)."""

    __tablename__ = "alert_evaluations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    subjects: Mapped[int] = mapped_column(Integer)
    breaching: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict] = mapped_column(JSONB)  # values of the breaching subjects, changes
    __table_args__ = (Index("ix_alert_evaluations_rule_time", "rule_id", "evaluated_at"),)


class AlertDelivery(Base):
    """One action of one alert; the unique key makes a second sender fail instead of resend."""

    __tablename__ = "alert_deliveries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    action: Mapped[str] = mapped_column(String(16))  # notify, email, slack, pause
    status: Mapped[str] = mapped_column(String(16))  # sending, sent, failed, skipped
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = _now_column()
    __table_args__ = (UniqueConstraint("alert_id", "action", name="uq_alert_deliveries_action"),)
