"""The Kaggle "Marketing Campaign Performance" export, both variants seen in the wild: the
original (``Acquisition_Cost`` as ``"$16,174.00"``, ``Language``, ``Date``) and the
reformatted one (plain numbers, ``Languages``, ``Dates``). One row is one campaign with its
totals; the mapping is documented in README.md ("Kaggle campaign performance")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.importers import base
from services.importers.reading import Table
from services.ingest import LIMITS, _Reasons

SOURCE = "kaggle-campaign-performance"
REQUIRED = {"campaign_id", "company", "campaign_type", "channel_used", "conversion_rate",
            "acquisition_cost", "roi", "clicks", "impressions", "duration"}
DATE_COLUMNS = ("date", "dates")
LANGUAGE_COLUMNS = ("language", "languages")


class KaggleCampaigns(base.Format):
    name = SOURCE
    title = "Kaggle marketing campaign performance"
    has_company_column = True
    fixes = (
        ("missing Date", "give every row its Date (YYYY-MM-DD): the campaign's start"),
        ("is not a date (YYYY-MM-DD)", "write dates as YYYY-MM-DD"),
        ("Duration must", "write Duration as a number of days, e.g. '30 days'"),
        ("Acquisition_Cost must", "write Acquisition_Cost as an amount, e.g. 16174.00 or "
                                  "\"$16,174.00\""),
        ("Conversion_Rate is above", "write Conversion_Rate as a fraction of clicks (0.04 for "
                                     "4 %)"),
    )

    def fits(self, columns: set[str]) -> bool:
        return REQUIRED <= columns and bool(columns & set(DATE_COLUMNS))

    def map(self, table: Table, options: dict) -> base.Mapped:
        found = base.column_index(table)
        frame = table.frame
        reasons = _Reasons(frame.index)

        def col(name):
            return frame[found[name]] if name in found else None

        date_name = next(n for n in DATE_COLUMNS if n in found)
        language_name = next((n for n in LANGUAGE_COLUMNS if n in found), None)
        date_label = found[date_name]

        campaign_key = base.required_text(col("campaign_id"), "Campaign_ID", reasons, 200)
        company = base.required_text(col("company"), "Company", reasons, 200)
        campaign_type = base.required_text(col("campaign_type"), "Campaign_Type", reasons, 32)
        channel = base.required_text(col("channel_used"), "Channel_Used", reasons, 64)
        audience = base.optional_text(col("target_audience"), frame.index, "Target_Audience",
                                      reasons, 100)
        segment = base.optional_text(col("customer_segment"), frame.index, "Customer_Segment",
                                     reasons, 100)
        location = base.optional_text(col("location"), frame.index, "Location", reasons, 100)
        language = base.optional_text(col(language_name) if language_name else None,
                                      frame.index, "Language", reasons, 16)
        days = base.durations(col("duration"), "Duration", reasons)
        start = base.dates(col(date_name), date_label, reasons)
        rate = base.numbers(col("conversion_rate"), "Conversion_Rate", reasons, maximum=1)
        cost = base.numbers(col("acquisition_cost"), "Acquisition_Cost", reasons, money=True,
                            maximum=LIMITS["cost"])
        roi = base.numbers(col("roi"), "ROI", reasons, minimum=-1)
        clicks = base.numbers(col("clicks"), "Clicks", reasons, whole=True,
                              maximum=LIMITS["clicks"])
        impressions = base.numbers(col("impressions"), "Impressions", reasons, whole=True,
                                   maximum=LIMITS["impressions"])
        engagement = None
        if col("engagement_score") is not None:
            engagement = base.numbers(col("engagement_score"), "Engagement_Score", reasons,
                                      whole=True, required=False, maximum=32767)

        # conversions = Conversion_Rate x Clicks, rounded half up. The rate is read to 4
        # decimals and the product taken in integers, so 0.05 x 50 is 2.5 exactly -> 3.
        rate_units = np.rint(rate.fillna(0).to_numpy() * 10_000).astype(np.int64)
        click_counts = clicks.fillna(0).to_numpy().astype(np.int64)
        conversions = (rate_units * click_counts + 5_000) // 10_000
        # revenue = cost x (1 + ROI): ROI is (revenue - cost) / cost as a ratio (6.29 = 629 %).
        revenue = (cost * (1 + roi)).round(4)
        reasons.add((revenue > LIMITS["revenue"]).fillna(False).to_numpy(),
                    f"revenue from Acquisition_Cost x (1 + ROI) is too large (at most "
                    f"{LIMITS['revenue']:,})")
        end = start + pd.to_timedelta(days.astype("float64") - 1, unit="D")
        rows = pd.DataFrame({
            base.COMPANY: company,
            "campaign_key": campaign_key,
            "campaign_name": campaign_type + " campaign " + campaign_key,
            "channel": channel,
            "goal": campaign_type,
            "segment": segment,
            "target_audience": audience,
            "location": location,
            "language": language,
            "start_date": start.dt.date,
            "end_date": end.dt.date,
            "engagement_score": (engagement.astype("Int64") if engagement is not None
                                 else pd.Series(pd.NA, index=frame.index, dtype="Int64")),
            "budget_allocated": 0.0,
            "daily_budget": 0.0,
            "project": None,
            "occurred_at": start.dt.tz_localize("UTC"),
            "device": "unknown",
            "impressions": impressions,
            "clicks": clicks,
            "conversions": pd.Series(conversions, index=frame.index, dtype="float64"),
            "cost": cost,
            "revenue": revenue,
            "natural_key": campaign_key,
        }, index=frame.index)
        used = [found[n] for n in (*REQUIRED, date_name, "target_audience", "customer_segment",
                                    "location", "engagement_score",
                                    *([language_name] if language_name else []))
                if n in found]
        notes = ["each row is one campaign's totals, stored as one event on its "
                 f"{date_label} (the export has no daily split)",
                 "budget allocated and daily budget are not in the export (stored as 0)"]
        return base.Mapped(rows, reasons, used, notes)
