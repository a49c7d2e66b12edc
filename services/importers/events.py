"""The project's own event format (CSV; JSON lines go through ``import events``): columns
campaign_id, occurred_at, impressions, clicks, conversions, cost, revenue, location_id or
location, device, with the aliases of ``services.ingest.ALIASES``. Stored through the event
ingest path as it is; events have no natural key, so a re-import adds them again."""

from __future__ import annotations

from services.importers import base
from services.ingest import ALIASES

KNOWN = {"campaign_id", "occurred_at", "impressions", "clicks", "conversions", "cost",
         "revenue", "location_id", "location_name", "device", *ALIASES}
TIME = {"occurred_at", "timestamp", "time", "event_time", "date"}


class Events(base.Format):
    name = "events"
    title = "campaign-dash events"
    fixes = (
        ("unknown campaign", "use campaign ids from `campaign-dash campaign list --company "
                             "SLUG`, or create the campaign with `campaign-dash campaign add`"),
        ("missing timestamp", "give every row an occurred_at (ISO time), or use "
                              "`campaign-dash import events FILE --occurred-at TIME`"),
    )

    def fits(self, columns: set[str]) -> bool:
        known = columns & KNOWN
        return ({"campaign_id", "campaign"} & columns and TIME & columns
                and len(known) * 2 > len(columns)) or False

    def used(self, columns: list[str]) -> list[str]:
        from services.importers.reading import normalise

        return [c for c in columns if normalise(c) in KNOWN]
