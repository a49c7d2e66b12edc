"""The "Online advertising performance" export (``online_advertising_performance_data.csv``:
month, day, campaign_number, user_engagement, banner, placement, displays, cost, clicks,
revenue, post_click_conversions, post_click_sales_amount). One row is one day of one banner
in one placement for one engagement level of a campaign; the file has no year and no
location, so the import asks for them (``--year``, ``--location``). The mapping is documented
in README.md ("Online advertising performance")."""

from __future__ import annotations

import pandas as pd

from services.errors import ValidationError
from services.importers import base
from services.importers.reading import Table
from services.ingest import LIMITS, MONTHS, _Reasons

SOURCE = "online-advertising-performance"
REQUIRED = {"month", "day", "campaign_number", "displays", "cost", "clicks", "revenue",
            "post_click_conversions", "post_click_sales_amount"}
OPTIONAL = ("user_engagement", "banner", "placement")
NOT_AVAILABLE = {"#N/A", "N/A", "#NA"}  # a spreadsheet's "not available"


class OnlineAdvertising(base.Format):
    name = SOURCE
    title = "Online advertising performance (banner campaigns)"
    widen_campaign_dates = True
    fixes = (
        ("month is not", "write month as an English month name, e.g. April"),
        ("is not a day of", "check month and day: the date does not exist in that year"),
        ("repeats row", "remove the duplicated lines (the first of each was imported)"),
    )

    def fits(self, columns: set[str]) -> bool:
        return REQUIRED <= columns

    def map(self, table: Table, options: dict) -> base.Mapped:
        year = options.get("year")
        if not year:
            raise ValidationError(
                f"{table.path.name} has months and days but no year: pass --year YYYY (e.g. "
                "--year 2020, the year its April to June ran)")
        if not options.get("location"):
            raise ValidationError(
                f"{table.path.name} has no location: pass --location NAME (a location the "
                "warehouse knows, e.g. 'New York'; every event needs one)")
        found = base.column_index(table)
        frame = table.frame
        reasons = _Reasons(frame.index)

        def col(name):
            return frame[found[name]] if name in found else None

        month_text = base.required_text(col("month"), "month", reasons, 20)
        month = month_text.str.lower().map(MONTHS)
        reasons.add((month_text.notna() & month.isna()).to_numpy(),
                    "month is not a month name, got " + month_text.astype(str).map(repr))
        day_number = base.numbers(col("day"), "day", reasons, whole=True, minimum=1,
                                  maximum=31)
        day = pd.to_datetime(pd.DataFrame({"year": int(year), "month": month,
                                           "day": day_number}), errors="coerce")
        reasons.add((month.notna() & day_number.notna() & day.isna()).to_numpy(),
                    "day " + col("day").astype(str) + " is not a day of "
                    + month_text.astype(str) + f" {year}")
        campaign = base.required_text(col("campaign_number"), "campaign_number", reasons, 150)
        engagement = base.optional_text(col("user_engagement"), frame.index,
                                        "user_engagement", reasons, 16)
        banner = base.optional_text(col("banner"), frame.index, "banner", reasons, 32)
        placement = base.optional_text(col("placement"), frame.index, "placement", reasons, 32)
        not_available = placement.isin(NOT_AVAILABLE)
        displays = base.numbers(col("displays"), "displays", reasons, whole=True,
                                maximum=LIMITS["impressions"])
        clicks = base.numbers(col("clicks"), "clicks", reasons, whole=True,
                              maximum=LIMITS["clicks"])
        cost = base.numbers(col("cost"), "cost", reasons, money=True,
                            maximum=LIMITS["cost"]).round(4)
        publisher_revenue = base.numbers(col("revenue"), "revenue", reasons, money=True,
                                         maximum=LIMITS["revenue"]).round(4)
        conversions = base.numbers(col("post_click_conversions"), "post_click_conversions",
                                   reasons, whole=True, maximum=LIMITS["conversions"])
        sales = base.numbers(col("post_click_sales_amount"), "post_click_sales_amount",
                             reasons, money=True, maximum=LIMITS["revenue"]).round(4)
        seen = options.get("seen")
        earlier = base.exact_repeats(frame, seen)
        reasons.add(earlier.notna().to_numpy(), "repeats row " + earlier.astype(str)
                    + " in every column (a duplicated line)")

        # A campaign runs from its first to its last day in the file (valid rows; a file read
        # in chunks widens the campaign's dates chunk by chunk: ``widen_campaign_dates``).
        valid_day = day.where(~pd.Series(reasons.bad, index=frame.index))
        start = valid_day.groupby(campaign).transform("min")
        end = valid_day.groupby(campaign).transform("max")
        key = (campaign + "|" + day.dt.strftime("%Y-%m-%d") + "|" + engagement.fillna("")
               + "|" + banner.fillna("") + "|" + placement.fillna(""))
        rows = pd.DataFrame({
            "campaign_key": campaign,
            "campaign_name": "Banner campaign " + campaign,
            "channel": "Display",
            "goal": "unspecified",
            "segment": None,
            "target_audience": None,
            "location": options["location"],
            "language": None,
            "start_date": start.dt.date,
            "end_date": end.dt.date,
            "engagement_score": pd.Series(pd.NA, index=frame.index, dtype="Int64"),
            "budget_allocated": 0.0,
            "daily_budget": 0.0,
            "project": None,
            "occurred_at": day.dt.tz_localize("UTC"),
            "device": "unknown",
            "impressions": displays,
            "clicks": clicks,
            "conversions": conversions,
            "cost": cost,
            "revenue": sales,
            "banner": banner,
            "placement": placement.mask(not_available),
            "user_engagement": engagement,
            "publisher_revenue": publisher_revenue,
            "natural_key": base.occurrence_keys(key, seen),
        }, index=frame.index)
        used = [found[n] for n in (*REQUIRED, *OPTIONAL) if n in found]
        notes = [f"the file has no year: its days are in {year} (--year); each row is one "
                 "event at 00:00 UTC of its day",
                 f"the file has no location: every event is in {options['location']!r} "
                 "(--location)",
                 "one campaign per campaign_number (channel Display); banner, placement and "
                 "user engagement kept in ad_event_details",
                 "revenue for ROAS is post_click_sales_amount (the advertiser's sales after a "
                 "click); the file's revenue column is kept as publisher_revenue (what "
                 "serving the ads earned the publisher, 1.58 x cost overall), not used for "
                 "ROAS",
                 "displays are impressions; post_click_conversions are conversions",
                 "budget allocated and daily budget are not in the export (stored as 0)"]
        if not_available.any():
            notes.append(f"placement '#N/A' ({int(not_available.sum()):,} rows) stored as NULL "
                         "(a spreadsheet's 'not available')")
        return base.Mapped(rows, reasons, used, notes)
