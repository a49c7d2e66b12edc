"""The real-time monitor: today so far against the same time yesterday, today's hours against
the last 7 days, locations, campaigns with budget pacing, freshness, and the pause action.

Times are UTC (the rollups' days and hours are UTC). Everything the view shows comes from one
``snapshot`` call, cached in Redis under the company's data version: 1,000 viewers of one
company cost one computation per data version (and per minute, as "now" moves on).
"""

from __future__ import annotations

import datetime as dt

from db import rollups
from db.queries import realtime as queries
from services import audit, registry
from services.access import Scope, campaign_in_scope, require
from services.cache import cached, forget_data_version
from services.context import ServiceContext
from services.errors import NotFound
from services.metrics import change_pct, ratio

REFRESH_S = 30
# The view warns when the newest event is older than this; the stale-data alert waits 2 hours.
STALE_AFTER_S = 300
# A refresh that finds no new data still re-renders this often, so "now" moves on.
RERENDER_AFTER_S = 300
# Events stamped further than this in the future are not "the newest event".
FUTURE_TOLERANCE = dt.timedelta(minutes=5)

LIVE_METRICS = (
    ("spend", "Spend", "USD"),
    ("impressions", "Impressions", "count"),
    ("clicks", "Clicks", "count"),
    ("conversions", "Conversions", "count"),
    ("cpc", "CPC", "USD"),
    ("ctr", "CTR", "%"),
)
TREND_METRICS = ("spend", "clicks", "conversions", "ctr")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def can_act(role: str | None) -> bool:
    """May this role pause campaigns and acknowledge alerts? (Analysts only read.)"""
    return registry.can_take(role, "pause_campaign")


def _aware(now: dt.datetime | None) -> dt.datetime:
    now = now or utcnow()
    return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)


def _day_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def _hour_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)


def _zero() -> dict:
    return {"impressions": 0, "clicks": 0, "conversions": 0, "spend": 0.0, "revenue": 0.0}


def _add(total: dict, row: dict, weight: float = 1.0) -> None:
    for key in total:
        total[key] += row[key] * weight


def derived(totals: dict) -> dict:
    """CPC = spend / clicks; CTR = clicks / impressions (in %); CVR = conversions / clicks (%);
    CPA = spend / conversions. A zero denominator gives None (shown as a dash)."""
    ctr = ratio(totals["clicks"], totals["impressions"])
    cvr = ratio(totals["conversions"], totals["clicks"])
    return {
        **totals,
        "cpc": ratio(totals["spend"], totals["clicks"]),
        "ctr": None if ctr is None else ctr * 100.0,
        "cvr": None if cvr is None else cvr * 100.0,
        "cpa": ratio(totals["spend"], totals["conversions"]),
    }


def live_metrics(session, company_id: int, now: dt.datetime) -> dict:
    """Today so far against the same time yesterday. Yesterday's current hour counts in
    proportion to the part of this hour that has passed (hourly rollups have no minutes)."""
    today, hour = _day_start(now), _hour_start(now)
    yesterday = today - dt.timedelta(days=1)
    rows = queries.hourly_totals(session, company_id, yesterday, hour + dt.timedelta(hours=1))
    current, previous = _zero(), _zero()
    fraction = (now - hour).total_seconds() / 3600.0
    for row in rows:
        if row["hour"] >= today:
            _add(current, row)
        elif row["hour"] < hour - dt.timedelta(days=1):
            _add(previous, row)
        elif row["hour"] == hour - dt.timedelta(days=1):
            _add(previous, row, fraction)
    current, previous = derived(current), derived(previous)
    return {
        "metrics": [
            {"metric": metric, "label": label, "unit": unit, "value": current[metric],
             "previous": previous[metric], "change_pct": change_pct(current[metric],
                                                                    previous[metric])}
            for metric, label, unit in LIVE_METRICS
        ],
        "has_data": bool(current["impressions"] or current["spend"] or current["clicks"]),
    }


def hourly_trends(session, company_id: int, now: dt.datetime) -> dict:
    """Today's spend, clicks, conversions and CTR by hour against the average of each hour
    over the 7 days before today (days without data count as zero)."""
    today = _day_start(now)
    by_hour = {row["hour"].astimezone(dt.timezone.utc).hour: derived(row)
               for row in queries.hourly_totals(session, company_id, today,
                                                today + dt.timedelta(days=1))}
    week = {row["hour_of_day"]: row for row in queries.hour_of_day_totals(
        session, company_id, today - dt.timedelta(days=7), today)}
    current_hour = now.astimezone(dt.timezone.utc).hour
    result = {"hours": list(range(24)), "current_hour": current_hour, "today": {}, "avg7": {}}
    for metric in TREND_METRICS:
        today_values, avg_values = [], []
        for h in range(24):
            row = by_hour.get(h)
            if h > current_hour:
                today_values.append(None)
            elif row is None:
                today_values.append(None if metric == "ctr" else 0)
            else:
                today_values.append(row[metric])
            past = week.get(h)
            if past is None:
                avg_values.append(None if metric == "ctr" else 0)
            elif metric == "ctr":
                avg_values.append(derived(past)["ctr"])
            else:
                avg_values.append(past[metric] / 7.0)
        result["today"][metric] = today_values
        result["avg7"][metric] = avg_values
    return result


def locations(session, company_id: int, now: dt.datetime) -> list[dict]:
    """Today's spend, conversions and CPA (spend / conversions) per location."""
    return [
        {"location_id": row["location_id"], "name": row["name"], "region": row["region"],
         "latitude": row["latitude"], "longitude": row["longitude"], "spend": row["spend"],
         "clicks": row["clicks"], "conversions": row["conversions"],
         "cpa": ratio(row["spend"], row["conversions"])}
        for row in queries.locations_on(session, company_id, _day_start(now).date())
    ]


def campaigns(session, company_id: int, now: dt.datetime) -> list[dict]:
    """Active campaigns (and others with activity today) with today's pacing: spend / daily
    budget, CPC and conversion rate."""
    result = []
    for row in queries.campaigns_on(session, company_id, _day_start(now).date()):
        metrics = derived({k: row[k] for k in ("impressions", "clicks", "conversions", "spend",
                                                "revenue")})
        result.append({
            "id": row["id"], "name": row["name"], "status": row["status"],
            "channel": row["channel"], "daily_budget": row["daily_budget"],
            "spend": row["spend"], "clicks": row["clicks"], "conversions": row["conversions"],
            "pacing_pct": None if not row["daily_budget"] else
            row["spend"] / row["daily_budget"] * 100.0,
            "cpc": metrics["cpc"], "cvr": metrics["cvr"],
        })
    return result


def freshness(newest: dt.datetime | str | None, now: dt.datetime | None = None) -> dict:
    """How old the newest event is: live, stale (> STALE_AFTER_S), old (> 2 h) or none."""
    now = _aware(now)
    if isinstance(newest, str):
        newest = dt.datetime.fromisoformat(newest)
    if newest is None:
        return {"newest_event_at": None, "age_s": None, "level": "none"}
    age = max(0.0, (now - newest).total_seconds())
    level = "live" if age <= STALE_AFTER_S else "stale" if age <= 7200 else "old"
    return {"newest_event_at": newest.isoformat(), "age_s": age, "level": level}


@cached(ttl=900)
def snapshot(ctx: ServiceContext, scope: Scope, as_of: str) -> dict:
    """Everything the view shows at ``as_of`` (an ISO time, rounded to the minute by callers
    so viewers share cache entries)."""
    company_id = scope.company_id
    now = _aware(dt.datetime.fromisoformat(as_of))
    with ctx.session() as session:
        newest = queries.newest_event_at(session, company_id, now + FUTURE_TOLERANCE)
        return {
            "company_id": company_id,
            "as_of": now.isoformat(),
            "newest_event_at": newest.isoformat() if newest else None,
            "live": live_metrics(session, company_id, now),
            "hourly": hourly_trends(session, company_id, now),
            "locations": locations(session, company_id, now),
            "campaigns": campaigns(session, company_id, now),
        }


def minute(now: dt.datetime | None = None) -> str:
    """``now`` rounded down to the minute, as the cache-friendly ``as_of`` argument."""
    return _aware(now).astimezone(dt.timezone.utc).replace(second=0, microsecond=0).isoformat()


def current_snapshot(ctx: ServiceContext, scope: Scope,
                     now: dt.datetime | None = None) -> dict:
    """The snapshot for now, with its freshness computed at the exact time."""
    now = _aware(now)
    data = snapshot(ctx, scope, minute(now))
    # The minute-rounded snapshot may miss events from the last seconds: newest is a floor.
    return {**data, "freshness": freshness(data["newest_event_at"], now)}


def pause_campaign(ctx: ServiceContext, scope: Scope, campaign_id,
                   reason: str = "paused from the real-time view") -> dict:
    """Pause an active campaign of the scope's company (the alert worker acts in a system
    scope). Roles that may not act and campaigns outside the scope are refused, audited."""
    require(ctx, scope, "pause_campaign")
    campaign_id = campaign_in_scope(ctx, scope, campaign_id)["id"]
    company_id = scope.company_id
    with ctx.session() as session:
        campaign = queries.campaign_for_update(session, company_id, campaign_id)
        if campaign is None:  # gone since it was resolved
            raise NotFound(f"no campaign {campaign_id} in this company")
        if campaign["status"] != "active":
            return {"changed": False, "campaign_id": campaign_id, "name": campaign["name"],
                    "status": campaign["status"]}
        queries.set_campaign_status(session, company_id, campaign_id, "paused")
        audit.record(session, "campaign_pause", user_id=scope.audit_user_id,
                     actor_email=scope.user.email,
                     target=f"campaign:{campaign_id}", remote_addr=scope.remote_addr,
                     before={"status": campaign["status"]},
                     after={"status": "paused", "reason": reason})
        rollups.bump_data_version(session.connection(), [company_id], history=False)
    forget_data_version(ctx, [company_id])
    return {"changed": True, "campaign_id": campaign_id, "name": campaign["name"],
            "status": "paused"}
