"""Read-model queries behind the KPI figures. Every function takes the tenant as a required
argument and reads rollups only, never raw events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session


def latest_day(session: Session, company_id: int) -> dt.date | None:
    """The newest day with ad activity for the company."""
    return session.execute(
        text("SELECT MAX(day) FROM rollup_campaign_daily WHERE company_id = :company"),
        {"company": company_id},
    ).scalar()
