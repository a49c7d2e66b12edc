"""The LeadSmart assessment export, three files (``campaigns_cleaned.csv``,
``insights_cleaned.csv``, ``lead_status_changes_cleaned.csv``), each recognised by its own
header, imported together or one at a time (campaigns first: the insights name them). The
fourth file of the export, ``campaign_leads.csv`` (which lead came from which campaign), is
missing from the dataset, so leads are stored without a campaign. The mapping is documented in
README.md ("LeadSmart")."""

from __future__ import annotations

import pandas as pd

from db.queries import importers as queries
from services.errors import ValidationError
from services.importers import base
from services.importers.reading import Table
from services.ingest import LIMITS, _Reasons

SOURCE = "leadsmart"  # campaigns.source and leads.source of all three files
CAMPAIGNS = "leadsmart-campaigns"
INSIGHTS = "leadsmart-insights"
LEAD_STATUS_CHANGES = "leadsmart-lead-status-changes"
NO_CAMPAIGN_LINK = ("leads are stored without a campaign: the export's campaign_leads.csv "
                    "(which lead came from which campaign) is missing from the dataset, so "
                    "CPL is known per company, not per campaign")


def _location(table: Table, options: dict) -> str:
    if not options.get("location"):
        raise ValidationError(
            f"{table.path.name} has no location: pass --location NAME (a location the "
            "warehouse knows, e.g. 'New York', or one added with `campaign-dash location "
            "add`; every ad event needs one)")
    return options["location"]


def _columns(table: Table):
    found = base.column_index(table)
    frame = table.frame

    def col(name):
        return frame[found[name]] if name in found else None

    return found, frame, col


def _repeats(frame: pd.DataFrame, reasons: _Reasons, seen: base.Seen | None) -> None:
    earlier = base.exact_repeats(frame, seen)
    repeated = earlier.notna().to_numpy()
    reasons.add(repeated, "repeats row " + earlier.astype(str) + " in every column (a "
                "duplicated line)")


class LeadSmartCampaigns(base.Format):
    name = CAMPAIGNS
    title = "LeadSmart campaigns (campaigns_cleaned.csv)"
    target = "campaigns"
    order = 0  # before the insights, which name these campaigns
    REQUIRED = {"id", "daily_budget", "start_time", "stop_time", "project_name"}
    fixes = (
        ("stop_time is before start_time", "check the campaign's start_time and stop_time"),
        ("daily_budget must", "write daily_budget as an amount, e.g. 1200"),
    )

    def fits(self, columns: set[str]) -> bool:
        return self.REQUIRED <= columns

    def map(self, table: Table, options: dict) -> base.Mapped:
        found, frame, col = _columns(table)
        reasons = _Reasons(frame.index)
        key = base.required_text(col("id"), "id", reasons, 200)
        budget = base.numbers(col("daily_budget"), "daily_budget", reasons, money=True,
                              maximum=LIMITS["cost"])
        start = base.dates(col("start_time"), "start_time", reasons)
        stop = base.dates(col("stop_time"), "stop_time", reasons)
        reasons.add((stop < start).fillna(False).to_numpy(), "stop_time is before start_time")
        project = base.required_text(col("project_name"), "project_name", reasons, 100)
        rows = pd.DataFrame({
            "campaign_key": key,
            "campaign_name": "LeadSmart campaign " + key + " (" + project + ")",
            "channel": "Facebook",
            "goal": "leads",
            "segment": None,
            "target_audience": None,
            "location": options.get("location"),
            "language": None,
            "start_date": start.dt.date,
            "end_date": stop.dt.date,
            "engagement_score": pd.Series(pd.NA, index=frame.index, dtype="Int64"),
            "budget_allocated": 0.0,
            "daily_budget": budget,
            "project": project,
            "natural_key": key,
        }, index=frame.index)
        used = [found[n] for n in self.REQUIRED]
        notes = ["each row is one campaign (source leadsmart, keyed by its id); channel "
                 "Facebook (its insights have ad sets and reach: Meta ads), goal leads",
                 "start and end dates are the days of start_time and stop_time",
                 "budget allocated is not in the export (stored as 0)",
                 "user_id (the LeadSmart account that ran the campaign) has no warehouse "
                 "field: listed as ignored"]
        if not options.get("location"):
            notes.append("no --location: the campaigns have none (their insights need one)")
        return base.Mapped(rows, reasons, used, notes)


class LeadSmartInsights(base.Format):
    name = INSIGHTS
    title = "LeadSmart daily ad insights (insights_cleaned.csv)"
    existing_campaigns = CAMPAIGNS
    REQUIRED = {"ad_set_id", "campaign_id", "reach", "spend", "clicks", "impressions",
                "created_at"}
    unknown_campaign = "unknown LeadSmart campaign "
    unknown_campaign_why = " (not in a campaigns file imported into this company)"
    fixes = (
        ("unknown LeadSmart campaign", "import campaigns_cleaned.csv first, or together with "
                                       "this file: campaign-dash import campaigns_cleaned.csv "
                                       "insights_cleaned.csv --company SLUG --location NAME"),
        ("created_at is not a date", "write created_at as YYYY-MM-DD (or YYYY-MM-DD 00:00:00)"),
        ("spend must", "write spend as an amount, e.g. 164.62"),
    )

    def fits(self, columns: set[str]) -> bool:
        return self.REQUIRED <= columns

    def map(self, table: Table, options: dict) -> base.Mapped:
        location = _location(table, options)
        found, frame, col = _columns(table)
        reasons = _Reasons(frame.index)
        ad_set = base.required_text(col("ad_set_id"), "ad_set_id", reasons, 64)
        campaign = base.required_text(col("campaign_id"), "campaign_id", reasons, 200)
        reach = base.numbers(col("reach"), "reach", reasons, whole=True, maximum=2**62)
        spend = base.numbers(col("spend"), "spend", reasons, money=True,
                             maximum=LIMITS["cost"]).round(4)
        clicks = base.numbers(col("clicks"), "clicks", reasons, whole=True,
                              maximum=LIMITS["clicks"])
        impressions = base.numbers(col("impressions"), "impressions", reasons, whole=True,
                                   maximum=LIMITS["impressions"])
        # 'YYYY-MM-DD' and 'YYYY-MM-DD 00:00:00' both occur: the day is what counts.
        day = base.dates(col("created_at"), "created_at", reasons).dt.normalize()
        seen = options.get("seen")
        _repeats(frame[[found[n] for n in sorted(self.REQUIRED)]], reasons, seen)
        key = ad_set + "|" + day.dt.strftime("%Y-%m-%d")
        natural_key = base.occurrence_keys(key, seen)
        repeated_grain = int(((natural_key != key) & ~reasons.bad).sum())
        rows = pd.DataFrame({
            "campaign_key": campaign,
            "location": location,
            "occurred_at": day.dt.tz_localize("UTC"),
            "device": "unknown",
            "impressions": impressions,
            "clicks": clicks,
            "conversions": 0.0,
            "cost": spend,
            "revenue": 0.0,
            "ad_set": ad_set,
            "reach": reach,
            "natural_key": natural_key,
        }, index=frame.index)
        used = [found[n] for n in self.REQUIRED]
        notes = ["each row is one ad set's day: one event at 00:00 UTC of created_at's day "
                 f"in {location!r} (--location), campaign by campaign_id; ad set and reach "
                 "kept in ad_event_details, reach also in ad_stats_daily",
                 "created_at is read as a day: both YYYY-MM-DD and YYYY-MM-DD 00:00:00 occur",
                 "the insights have no conversions and no revenue: stored as 0 (leads are "
                 "not linked to campaigns: campaign_leads.csv is missing)"]
        if repeated_grain:
            notes.append(f"{repeated_grain:,} rows report an ad set's day a second time with "
                         "other values; each is kept as its own report (key suffixed #2)")
        return base.Mapped(rows, reasons, used, notes)


class LeadSmartLeadStatusChanges(base.Format):
    name = LEAD_STATUS_CHANGES
    title = "LeadSmart lead status changes (lead_status_changes_cleaned.csv)"
    target = "leads"
    REQUIRED = {"lead_id", "status", "created_at"}
    fixes = (
        ("created_at is not a date", "write created_at as YYYY-MM-DD HH:MM:SS"),
        ("status is longer", "statuses are stored in 16 characters at most"),
    )

    def fits(self, columns: set[str]) -> bool:
        return self.REQUIRED <= columns and "campaign_id" not in columns

    def map(self, table: Table, options: dict) -> base.Mapped:
        found, frame, col = _columns(table)
        reasons = _Reasons(frame.index)
        lead = base.required_text(col("lead_id"), "lead_id", reasons, 200)
        status = base.required_text(col("status"), "status", reasons, 16)
        changed = base.dates(col("created_at"), "created_at", reasons)
        changed = changed.dt.tz_localize("UTC") if changed.dt.tz is None else changed
        rows = pd.DataFrame({
            "lead_key": lead,
            "to_status": status,
            "changed_at": changed,
            "natural_key": lead + "|" + changed.dt.strftime("%Y-%m-%d %H:%M:%S"),
        }, index=frame.index)
        used = [found[n] for n in self.REQUIRED]
        notes = ["one lead per lead_id (created at its first change, status = its latest "
                 "status as written, e.g. NEW_LEAD, DONE_DEAL) and one status change per "
                 "row (from = the lead's previous status); times read as UTC",
                 NO_CAMPAIGN_LINK,
                 "the export has no lead value: leads.value is stored as 0"]
        return base.Mapped(rows, reasons, used, notes)

    def store(self, session, company_id: int, rows: pd.DataFrame, options: dict) -> dict:
        """Merged with the leads' changes stored before (by earlier imports, or by earlier
        chunks of this one), by (lead, time): a new change is added, a change whose status
        differs replaces it, an equal one is unchanged. Only leads with a new or restated
        change are rewritten; the lead rollups are rebuilt once, by ``finish``."""
        keys = rows["lead_key"].unique().tolist()
        old = queries.lead_changes(session, company_id, SOURCE, keys)
        new = rows[["lead_key", "changed_at", "to_status"]]
        before = new.merge(old[["lead_key", "changed_at", "to_status"]],
                           on=["lead_key", "changed_at"], how="left",
                           suffixes=("", "_before"))
        known = before["to_status_before"].notna().to_numpy()
        same = known & (before["to_status"] == before["to_status_before"]).to_numpy()
        changed_leads = set(before.loc[~same, "lead_key"])
        merged = (pd.concat([old[["lead_key", "changed_at", "to_status"]], new])
                  .drop_duplicates(["lead_key", "changed_at"], keep="last"))
        merged = merged[merged["lead_key"].isin(changed_leads)]
        merged = merged.sort_values(["lead_key", "changed_at"], kind="stable")
        merged["from_status"] = merged.groupby("lead_key")["to_status"].shift()
        grouped = merged.groupby("lead_key", sort=False)
        leads = pd.DataFrame({"created_at": grouped["changed_at"].min(),
                              "status": grouped["to_status"].last()})
        created = updated = 0
        if len(leads):
            ids, created, updated = queries.upsert_leads(
                session, company_id, SOURCE, leads.index.tolist(),
                leads["created_at"].tolist(), leads["status"].tolist())
            merged["lead_id"] = merged["lead_key"].map(ids)
            queries.replace_lead_changes(session, company_id, merged)
        # Leads met in an earlier chunk of the file are not counted again.
        seen = options.get("seen") or base.Seen()
        first_time = seen.earlier("lead", pd.Series(keys, index=pd.RangeIndex(len(keys)))
                                  .map(lambda k: f"{company_id}|{k}"))[0] == 0
        return {"imported": int((~known).sum()), "replaced": int((known & ~same).sum()),
                "unchanged": int(same.sum()), "leads_created": created,
                "leads_updated": updated, "leads": int(first_time.sum())}

    def finish(self, session, company_ids: list[int], options: dict) -> None:
        for company_id in company_ids:  # the lead rollups, once per import
            queries.lead_facts_changed(session, company_id)
