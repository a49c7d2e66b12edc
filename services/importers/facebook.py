"""The Kaggle "Facebook ad conversions" export (``KAG_conversion_data.csv``: ad_id,
xyz_campaign_id, fb_campaign_id, age, gender, interest, Impressions, Clicks, Spent,
Total_Conversion, Approved_Conversion). One row is one ad's totals; the file has no dates and
no location, so the import asks for them (``--start``, ``--location``). The mapping is
documented in README.md ("Facebook ad conversions")."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from services.errors import ValidationError
from services.importers import base
from services.importers.reading import Table
from services.ingest import LIMITS, _Reasons

SOURCE = "facebook-ad-conversions"
REQUIRED = {"ad_id", "xyz_campaign_id", "fb_campaign_id", "impressions", "clicks", "spent",
            "total_conversion"}
OPTIONAL = ("age", "gender", "interest")


def _day(value, flag: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{flag} must be YYYY-MM-DD, got {value!r}") from None


class FacebookAdConversions(base.Format):
    name = SOURCE
    title = "Facebook ad conversions (Kaggle)"
    fixes = (
        ("Spent must", "write Spent as an amount, e.g. 1.43"),
        ("missing ad_id", "give every row its ad_id (the row's natural key)"),
    )

    def fits(self, columns: set[str]) -> bool:
        return REQUIRED <= columns

    def map(self, table: Table, options: dict) -> base.Mapped:
        start = _day(options.get("start"), "--start")
        end = _day(options.get("end"), "--end")
        if start is None:
            raise ValidationError(
                f"{table.path.name} has no dates: pass --start {dt.date.today():%Y-%m-%d} (the "
                "day its totals are stored on; --end for the campaigns' last day)")
        if not options.get("location"):
            raise ValidationError(
                f"{table.path.name} has no location: pass --location NAME (a location the "
                "warehouse knows, e.g. 'New York'; every event needs one)")
        if end is not None and end < start:
            raise ValidationError(f"--end {end} is before --start {start}")
        found = base.column_index(table)
        frame = table.frame
        reasons = _Reasons(frame.index)

        def col(name):
            return frame[found[name]] if name in found else None

        ad = base.required_text(col("ad_id"), "ad_id", reasons, 200)
        parent = base.required_text(col("xyz_campaign_id"), "xyz_campaign_id", reasons, 80)
        ad_set = base.required_text(col("fb_campaign_id"), "fb_campaign_id", reasons, 200)
        age = base.optional_text(col("age"), frame.index, "age", reasons, 40)
        gender = base.optional_text(col("gender"), frame.index, "gender", reasons, 40)
        interest = base.optional_text(col("interest"), frame.index, "interest", reasons, 100)
        impressions = base.numbers(col("impressions"), "Impressions", reasons, whole=True,
                                   maximum=LIMITS["impressions"])
        clicks = base.numbers(col("clicks"), "Clicks", reasons, whole=True,
                              maximum=LIMITS["clicks"])
        spent = base.numbers(col("spent"), "Spent", reasons, money=True,
                             maximum=LIMITS["cost"]).round(4)
        conversions = base.numbers(col("total_conversion"), "Total_Conversion", reasons,
                                   whole=True, maximum=LIMITS["conversions"])
        approved = None
        if col("approved_conversion") is not None:
            approved = base.numbers(col("approved_conversion"), "Approved_Conversion",
                                    reasons, whole=True, required=False)
            over = (approved > conversions).fillna(False).to_numpy()
            reasons.add(over, "Approved_Conversion is above Total_Conversion")

        segment = (age.fillna("") + " " + gender.fillna("")).str.strip()
        segment = segment.mask(segment == "")
        rows = pd.DataFrame({
            "campaign_key": ad_set,
            "campaign_name": "Facebook ad set " + ad_set + " (campaign " + parent + ")",
            "channel": "Facebook",
            "goal": "unspecified",
            "segment": segment,
            "target_audience": ("interest " + interest).where(interest.notna()),
            "location": options.get("location"),
            "language": None,
            "start_date": start,
            "end_date": end,
            "engagement_score": pd.Series(pd.NA, index=frame.index, dtype="Int64"),
            "budget_allocated": 0.0,
            "daily_budget": 0.0,
            "project": "Facebook campaign " + parent,
            "occurred_at": pd.Timestamp(start, tz="UTC"),
            "device": "unknown",
            "impressions": impressions,
            "clicks": clicks,
            "conversions": conversions,
            "cost": spent,
            "revenue": 0.0,
            "natural_key": ad,
        }, index=frame.index)
        used = [found[n] for n in (*REQUIRED, *OPTIONAL) if n in found]
        notes = [f"the file has no dates: each ad's totals are stored as one event on {start} "
                 "(--start)",
                 "the file has no location: every event is in "
                 f"{options.get('location')!r} (--location)",
                 "revenue is not in the export: stored as 0, so ROAS is 0 for these ads",
                 "budget allocated and daily budget are not in the export (stored as 0)"]
        if approved is not None:
            notes.append("Approved_Conversion is not stored (ad_events has one conversion "
                         "count: Total_Conversion); it is checked to be at most "
                         "Total_Conversion")
        return base.Mapped(rows, reasons, used, notes)
