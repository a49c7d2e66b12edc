"""Read-model queries behind the attribution view: a company's customer journeys
(``touchpoints``) and its ad spend per channel and campaign from the rollups. Every function
takes the tenant as a required argument; the caller's session owns the transaction."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

# Channels that stand for direct visits (typed URLs, bookmarks): the "direct may take credit"
# option leaves them out of journeys that have another touch.
DIRECT_KINDS = ("web", "direct")
DIRECT_NAMES = ("direct", "(direct)", "website")

TOUCH_COLUMNS = ["journey", "position", "channel", "direct", "campaign", "time", "converted",
                 "value"]


def touches(session: Session, company_id: int, start: dt.date, end: dt.date
            ) -> pd.DataFrame:
    """One row per touch of the company's journeys that end (their last touch) between
    ``start`` and ``end``, plus every journey without times (imported channel sequences have
    none: no period can select them). A journey is keyed by its source and id."""
    rows = session.execute(text("""
        SELECT coalesce(t.source, '') || ':' || t.journey_id AS journey, t.position,
               ch.name AS channel,
               (ch.kind = ANY(:kinds) OR lower(ch.name) = ANY(:names)) AS direct,
               cp.name AS campaign, t.touched_at AS time, t.converted,
               t.conversion_value AS value
        FROM (SELECT *, max(touched_at) OVER (PARTITION BY source, journey_id) AS ended
              FROM touchpoints WHERE company_id = :company) t
        JOIN channels ch ON ch.id = t.channel_id
        LEFT JOIN campaigns cp ON cp.id = t.campaign_id AND cp.company_id = t.company_id
        WHERE t.ended IS NULL OR (t.ended >= CAST(:start AS date)
                                  AND t.ended < CAST(:end AS date) + 1)"""),
        {"company": company_id, "start": start, "end": end, "kinds": list(DIRECT_KINDS),
         "names": list(DIRECT_NAMES)}).all()
    frame = pd.DataFrame(rows, columns=TOUCH_COLUMNS)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def has_journeys(session: Session, company_id: int) -> bool:
    return session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM touchpoints WHERE company_id = :company)"),
        {"company": company_id}).scalar()


def spend(session: Session, company_id: int, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Ad spend per channel and campaign over the days, from the daily rollup."""
    rows = session.execute(text("""
        SELECT ch.name AS channel, cp.name AS campaign, SUM(r.spend) AS spend
        FROM rollup_campaign_daily r
        JOIN channels ch ON ch.id = r.channel_id
        JOIN campaigns cp ON cp.id = r.campaign_id AND cp.company_id = r.company_id
        WHERE r.company_id = :company AND r.day BETWEEN :start AND :end
        GROUP BY ch.name, cp.name"""),
        {"company": company_id, "start": start, "end": end}).all()
    frame = pd.DataFrame(rows, columns=["channel", "campaign", "spend"])
    frame["spend"] = pd.to_numeric(frame["spend"], errors="coerce").fillna(0.0)
    return frame
