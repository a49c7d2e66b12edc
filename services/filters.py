"""The filter bar's server side: what a view's filters (from the URL, the page or the API) mean
for one company, validated inside the request's scope.

A filter names a period (a named range ending on the newest day with data, or a custom
range), what to compare it with (the previous period of equal length, or the same dates a year
earlier, again of equal length), and optionally a channel, a target segment, a project, a
retailer and a region. Names are checked against what the company has (``options``): another
company's project or retailer id is refused like one that does not exist, so nothing the
browser sends reaches a query unchecked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from db.queries import marketing as queries
from db.queries.marketing import CampaignFilter, RetailerFilter
from services.access import Scope
from services.cache import cached
from services.context import ServiceContext
from services.errors import ValidationError, one_of
from services.periods import Period, resolve_period, utc_today

COMPARE_LABELS = {"previous": "Previous period", "year": "Same period a year earlier"}
DEFAULT_COMPARE = "previous"
# The query parameters a filter bar reads (URL, API), in the order a URL lists them.
FIELDS = ("company", "range", "start", "end", "compare", "channel", "segment", "project",
          "retailer", "region")


def year_earlier(day: dt.date) -> dt.date:
    """The same date a year earlier (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def compare_period(period: Period, mode: str) -> Period:
    """The period to compare with: always as many days as ``period``, and before it. A year
    earlier ends on the same date a year before (or just before the period, when the period
    is longer than a year)."""
    if mode == "year":
        end = min(year_earlier(period.end), period.start - dt.timedelta(days=1))
        return Period(end - dt.timedelta(days=period.days - 1), end)
    return period.previous()


@cached()
def options(ctx: ServiceContext, scope: Scope) -> dict:
    """What the company's filter bar offers, and the newest day with data (named ranges end
    there)."""
    with ctx.session() as session:
        found = queries.filter_options(session, scope.company_id)
        found["newest_day"] = queries.newest_marketing_day(session, scope.company_id)
    return found


@dataclass(frozen=True)
class Filters:
    period: Period
    compare: Period
    compare_mode: str
    range_name: str
    campaigns: CampaignFilter
    retailers: RetailerFilter
    newest_day: dt.date

    @property
    def partial_day(self) -> dt.date | None:
        """Today, when the period reaches it: a day still filling up."""
        today = utc_today()
        return today if self.period.start <= today <= self.period.end else None

    def describe(self) -> dict:
        """The filters as a result states them (JSON)."""
        return {
            "period": self.period.as_dict(), "compare": {**self.compare.as_dict(),
                                                         "mode": self.compare_mode},
            "range": self.range_name,
            "channel": self.campaigns.channel, "segment": self.campaigns.segment,
            "project": self.campaigns.project, "retailer": self.retailers.retailer_id,
            "region": self.retailers.region,
            "partial_day": self.partial_day.isoformat() if self.partial_day else None,
            "newest_day": self.newest_day.isoformat(),
        }


def _choice(value, name: str, allowed: list[str]) -> str | None:
    if value in (None, "", "all"):
        return None
    if not isinstance(value, str) or value not in allowed:
        shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
        raise ValidationError(f"unknown {name} {str(value)[:60]!r}; this company has: "
                              f"{shown or 'none'}")
    return value


def _retailer(value, retailers: list[dict]) -> int | None:
    if value in (None, "", "all"):
        return None
    try:
        retailer_id = int(value)
    except (TypeError, ValueError):
        retailer_id = None
    if retailer_id is None or retailer_id not in {r["id"] for r in retailers}:
        raise ValidationError(f"unknown retailer {str(value)[:40]!r}: not a retailer of "
                              "this company")
    return retailer_id


def resolve(ctx: ServiceContext, scope: Scope, raw: dict | None) -> Filters:
    """Validated filters for this company from raw parameters (strings or None)."""
    raw = raw if isinstance(raw, dict) else {}
    offered = options(ctx, scope)
    newest = offered["newest_day"]
    newest = dt.date.fromisoformat(newest) if newest else utc_today()
    range_name = raw.get("range") or "30d"
    period = resolve_period(range_name, newest, raw.get("start"), raw.get("end"))
    compare_mode = one_of(raw.get("compare"), "compare", COMPARE_LABELS, DEFAULT_COMPARE)
    campaigns = CampaignFilter(
        channel=_choice(raw.get("channel"), "channel", offered["channels"]),
        segment=_choice(raw.get("segment"), "segment", offered["segments"]),
        project=_choice(raw.get("project"), "project", offered["projects"]))
    retailers = RetailerFilter(
        retailer_id=_retailer(raw.get("retailer"), offered["retailers"]),
        region=_choice(raw.get("region"), "region", offered["regions"]))
    return Filters(period=period, compare=compare_period(period, compare_mode),
                   compare_mode=compare_mode,
                   range_name=range_name,
                   campaigns=campaigns, retailers=retailers, newest_day=newest)
