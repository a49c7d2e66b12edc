"""The marketing view's numbers: web traffic, leads, content and the retailer email funnel, for
one company and the filter bar's filters (``services.filters``). Each section is one function,
and ``/api/v1/<section>`` returns exactly what the view shows. Ratios and period changes come
from the metric catalogue; every split carries the total it adds up to.

Web traffic is site-wide: channel, segment and project filters narrow ads, leads and email, not
sessions (the result says so). The lead funnel follows the leads created in the period: how
many of them reached an opportunity and a customer (``db.rollups.LEAD_STAGES``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from db.queries import marketing as queries
from db.queries.marketing import CampaignFilter, RetailerFilter
from services.access import Scope
from services.cache import cached
from services.context import ServiceContext
from services.filters import Filters, resolve
from services.kpis import roi_tier
from services.metrics import METRICS, change, metric_value, ratio
from services.periods import Period

TOP_CONTENT = 10
SITE_WIDE_NOTE = ("Traffic is site-wide: the channel, segment and project filters apply to ads, "
                  "leads and email, not to website sessions.")


def _card(metric: str, now: dict, before: dict | None) -> dict:
    spec = METRICS[metric]
    value = _value(now, metric)
    previous = _value(before, metric) if before is not None else None
    return {"metric": metric, "label": spec.label, "unit": spec.unit, "good": spec.good,
            "definition": spec.definition, "value": value, "previous": previous,
            "change": change(metric, value, previous), "change_unit": spec.change_unit}


def _value(totals: dict, metric: str) -> float | None:
    """A metric from summed quantities; None when a quantity it needs is unknown."""
    spec = METRICS[metric]
    needed = [spec.numerator, spec.denominator] if spec.numerator else [metric]
    if any(totals.get(name) is None for name in needed):
        return None
    return metric_value(totals, metric)


def _sum(rows: list[dict], columns: tuple[str, ...]) -> dict:
    """Column sums; None for a column any row lacks (unknown stays unknown)."""
    totals = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        totals[column] = None if any(v is None for v in values) else float(sum(values))
    return totals


def _days(period) -> list[str]:
    return [(period.start + dt.timedelta(days=i)).isoformat() for i in range(period.days)]


def _daily(rows: list[dict], period, columns: tuple[str, ...], derived: tuple[str, ...] = ()
           ) -> list[dict]:
    """One row per day of the period (0 on days without rows), with derived ratios."""
    by_day = {str(row["day"]): row for row in rows}
    out = []
    for day in _days(period):
        row = by_day.get(day)
        values = {c: (float(row[c]) if row[c] is not None else None) if row else 0.0
                  for c in columns}
        for metric in derived:
            values[metric] = _value(values, metric)
        out.append({"day": day, **values})
    return out


# --------------------------------------------------------------------------- traffic

_TRAFFIC_COLUMNS = ("sessions", "new_sessions", "returning_sessions", "bounces",
                    "duration_seconds", "pageviews", "site_conversions")
TRAFFIC_CARDS = ("sessions", "new_sessions", "returning_sessions", "bounce_rate",
                 "avg_session_duration", "pages_per_session", "visitor_to_lead")


def traffic(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    filters = resolve(ctx, scope, raw)
    return _traffic(ctx, scope, filters.describe())


@cached()
def _traffic(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    filters = _filters(described)
    company_id = scope.company_id
    with ctx.session() as session:
        now_rows = queries.traffic_daily(session, company_id, filters.period.start,
                                         filters.period.end)
        before_rows = queries.traffic_daily(session, company_id, filters.compare.start,
                                            filters.compare.end)
        splits = queries.traffic_split(session, company_id, filters.period.start,
                                       filters.period.end)
        # Visitor-to-lead: every lead of the site, like the sessions (no campaign filter).
        leads_now = queries.leads_daily(session, company_id, filters.period.start,
                                        filters.period.end, CampaignFilter())
        leads_before = queries.leads_daily(session, company_id, filters.compare.start,
                                           filters.compare.end, CampaignFilter())
    totals_now = {**_sum(now_rows, _TRAFFIC_COLUMNS), "leads": _leads_total(leads_now)}
    totals_before = {**_sum(before_rows, _TRAFFIC_COLUMNS), "leads": _leads_total(leads_before)}
    derived = ("bounce_rate", "avg_session_duration", "pages_per_session")
    breakdowns = defaultdict(list)
    for row in splits:
        breakdowns[row["dimension"]].append({"value": row["value"],
                                             "sessions": row["sessions"],
                                             "share": ratio(row["sessions"],
                                                            totals_now["sessions"])})
    return {
        "filters": described,
        "note": SITE_WIDE_NOTE if filters.campaigns.active else None,
        "has_data": bool(now_rows),
        "cards": [_card(metric, totals_now, totals_before if before_rows else None)
                  for metric in TRAFFIC_CARDS],
        "daily": _daily(now_rows, filters.period, _TRAFFIC_COLUMNS, derived),
        "compare_daily": _daily(before_rows, filters.compare, _TRAFFIC_COLUMNS, derived),
        "sources": breakdowns["source"], "devices": breakdowns["device"],
        "visitor_types": breakdowns["visitor_type"],
        "total_sessions": totals_now["sessions"],
    }


def _leads_total(rows: list[dict]) -> float:
    return float(sum(row["leads"] for row in rows))


def _filters(described: dict) -> Filters:
    """Filters back from their description (the cached functions take the description, so
    the cache key holds the normalized filters)."""
    def period(d):
        return Period(dt.date.fromisoformat(d["start"]), dt.date.fromisoformat(d["end"]))

    return Filters(period=period(described["period"]), compare=period(described["compare"]),
                   compare_mode=described["compare"]["mode"], range_name=described["range"],
                   campaigns=CampaignFilter(described["channel"], described["segment"],
                                            described["project"]),
                   retailers=RetailerFilter(described["retailer"], described["region"]),
                   newest_day=dt.date.fromisoformat(described["newest_day"]))


# --------------------------------------------------------------------------- leads

LEAD_CARDS = ("leads", "spend", "cpl", "ctr")


def leads(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    filters = resolve(ctx, scope, raw)
    return _leads(ctx, scope, filters.describe())


def _lead_totals(ads: list[dict], lead_rows: list[dict]) -> dict:
    return {**_sum(ads, ("spend", "impressions", "clicks")), "leads": _leads_total(lead_rows)}


@cached()
def _leads(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    filters = _filters(described)
    company_id, campaigns = scope.company_id, filters.campaigns
    period, compare = filters.period, filters.compare
    with ctx.session() as session:
        ads_now = queries.ads_daily(session, company_id, period.start, period.end, campaigns)
        ads_before = queries.ads_daily(session, company_id, compare.start, compare.end,
                                       campaigns)
        leads_now = queries.leads_daily(session, company_id, period.start, period.end,
                                        campaigns)
        leads_before = queries.leads_daily(session, company_id, compare.start, compare.end,
                                           campaigns)
        changes = queries.lead_changes_daily(session, company_id, period.start, period.end,
                                             campaigns)
        splits = {split: queries.by_campaign_attribute(session, company_id, period.start,
                                                       period.end, campaigns, split)
                  for split in queries.SPLITS}
        sessions = queries.traffic_daily(session, company_id, period.start, period.end)
    now, before = _lead_totals(ads_now, leads_now), _lead_totals(ads_before, leads_before)
    had_before = bool(ads_before or leads_before)

    per_day = defaultdict(float)
    statuses = defaultdict(float)
    for row in leads_now:
        per_day[str(row["day"])] += row["leads"]
        statuses[row["status"]] += row["leads"]
    per_day_before = defaultdict(float)
    for row in leads_before:
        per_day_before[str(row["day"])] += row["leads"]
    ads_by_day = {str(r["day"]): r for r in ads_now}
    ads_by_day_before = {str(r["day"]): r for r in ads_before}
    daily = [{"day": day, "leads": per_day[day],
              "spend": float(ads_by_day[day]["spend"]) if day in ads_by_day else 0.0}
             for day in _days(period)]
    compare_daily = [{"day": day, "leads": per_day_before[day],
                      "spend": float(ads_by_day_before[day]["spend"])
                      if day in ads_by_day_before else 0.0} for day in _days(compare)]

    reached = [float(sum(r["leads"] for r in leads_now if r["stage"] >= stage))
               for stage in (1, 2)]
    visitors = float(sum(row["sessions"] for row in sessions)) if sessions else None
    steps = [("Visitors", visitors), ("Leads", now["leads"]), ("Opportunities", reached[0]),
             ("Customers", reached[1])]
    funnel = []
    for i, (stage, count) in enumerate(steps):
        previous = steps[i - 1][1] if i else None
        funnel.append({"stage": stage, "count": count,
                       "rate": None if i == 0 else _pct(count, previous)})

    return {
        "filters": described,
        "has_data": bool(ads_now or leads_now),
        "cards": [_card(metric, now, before if had_before else None) for metric in LEAD_CARDS],
        "totals": {**now, "cpl": metric_value(now, "cpl"), "ctr": metric_value(now, "ctr")},
        "daily": daily, "compare_daily": compare_daily,
        "statuses": sorted(({"status": s, "leads": n} for s, n in statuses.items()),
                           key=lambda r: -r["leads"]),
        "status_changes": [{"day": str(r["day"]), "status": r["to_status"],
                            "changes": r["changes"]} for r in changes],
        "projects": _split_rows(splits["project"], "No project"),
        "channels": _split_rows(splits["channel"], "No channel"),
        "funnel": funnel,
        "funnel_note": SITE_WIDE_NOTE if filters.campaigns.active else None,
    }


def _split_rows(rows: list[dict], unnamed: str) -> list[dict]:
    """Rows of a split by project or channel, most spend first, each with its CPL and CTR;
    ``filter_value`` is what filtering by the row means (None: not a filter)."""
    out = []
    for row in rows:
        name = ("No campaign (leads not linked to a campaign)" if row["no_campaign"]
                else row["value"] or unnamed)
        out.append({"name": name, "filter_value": None if row["no_campaign"] else row["value"],
                    "spend": row["spend"], "impressions": row["impressions"],
                    "clicks": row["clicks"], "leads": row["leads"],
                    # Leads of no campaign: what they cost is unknown, not 0.
                    "cpl": None if row["no_campaign"] else metric_value(row, "cpl"),
                    "ctr": metric_value(row, "ctr")})
    out.sort(key=lambda r: (-r["spend"], -r["leads"], r["name"]))
    return out


def _pct(numerator: float | None, denominator: float | None) -> float | None:
    value = ratio(numerator, denominator)
    return None if value is None else value * 100.0


def lead_rows(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> tuple[list[dict],
                                                                                   bool]:
    """Exactly the leads the view counts (created in the period, of the filtered campaigns),
    for the CSV download; and whether the download limit cut them."""
    filters = resolve(ctx, scope, raw)
    with ctx.session() as session:
        rows = queries.lead_rows(session, scope.company_id, filters.period.start,
                                 filters.period.end, filters.campaigns,
                                 limit=queries.LEAD_ROWS_LIMIT + 1)
    return rows[:queries.LEAD_ROWS_LIMIT], len(rows) > queries.LEAD_ROWS_LIMIT


# --------------------------------------------------------------------------- content

CONTENT_CARDS = ("views", "engagements", "engagement_rate")


def content(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    filters = resolve(ctx, scope, raw)
    return _content(ctx, scope, filters.describe())


def _content_totals(items: list[dict]) -> dict:
    return {"views": float(sum(i["views"] for i in items)),
            "engagements": float(sum(i["engagements"] for i in items))}


@cached()
def _content(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    filters = _filters(described)
    channel = filters.campaigns.channel
    with ctx.session() as session:
        items = queries.content_items(session, scope.company_id, filters.period.start,
                                      filters.period.end, channel)
        earlier = queries.content_items(session, scope.company_id, filters.compare.start,
                                        filters.compare.end, channel)
    now, before = _content_totals(items), _content_totals(earlier)
    for item in items:
        item["published_on"] = str(item["published_on"])
        item["engagement_rate"] = metric_value(item, "engagement_rate")
    weekly = defaultdict(lambda: {"views": 0.0, "engagements": 0.0, "items": 0})
    kinds = defaultdict(lambda: {"views": 0.0, "engagements": 0.0, "items": 0})
    for item in items:
        day = dt.date.fromisoformat(item["published_on"])
        week = (day - dt.timedelta(days=day.weekday())).isoformat()
        for bucket in (weekly[week], kinds[item["kind"]]):
            bucket["views"] += item["views"]
            bucket["engagements"] += item["engagements"]
            bucket["items"] += 1
    by_kind = [{"kind": kind, **v, "engagement_rate": metric_value(v, "engagement_rate")}
               for kind, v in sorted(kinds.items(), key=lambda kv: -kv[1]["views"])]
    return {
        "filters": described,
        "has_data": bool(items),
        "items": len(items),
        "cards": [_card(metric, now, before if earlier else None) for metric in CONTENT_CARDS],
        "weekly": [{"week": week, **v} for week, v in sorted(weekly.items())],
        "by_kind": by_kind,
        "top_by_views": sorted(items, key=lambda i: (-i["views"], i["title"]))[:TOP_CONTENT],
        "top_by_engagement_rate": sorted(
            (i for i in items if i["engagement_rate"] is not None),
            key=lambda i: (-i["engagement_rate"], i["title"]))[:TOP_CONTENT],
    }


# --------------------------------------------------------------------------- email funnel

_FUNNEL = ("sent", "delivered", "opened", "clicked")
EMAIL_CARDS = ("sent", "delivery_rate", "open_rate", "click_rate", "click_to_open",
               "email_conversions", "email_revenue")


def email_funnel(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    filters = resolve(ctx, scope, raw)
    return _email_funnel(ctx, scope, filters.describe())


def _funnel_totals(sends: list[dict], sales: list[dict]) -> dict:
    totals = {column: float(sum(r[column] for r in sends)) for column in _FUNNEL}
    totals["email_conversions"] = float(sum(r["conversions"] for r in sales))
    totals["email_revenue"] = float(sum(r["revenue"] for r in sales))
    return totals


@cached()
def _email_funnel(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    filters = _filters(described)
    company_id, period, compare = scope.company_id, filters.period, filters.compare
    with ctx.session() as session:
        args = (filters.campaigns, filters.retailers)
        sends = queries.email_sends(session, company_id, period.start, period.end, *args)
        sends_before = queries.email_sends(session, company_id, compare.start, compare.end,
                                           *args)
        sales = queries.retailer_sales(session, company_id, period.start, period.end, *args)
        sales_before = queries.retailer_sales(session, company_id, compare.start, compare.end,
                                              *args)
        catalog = queries.email_catalog(session, company_id)
        hours = queries.engagement_by_hour(session, company_id, period.start, period.end,
                                           *args)
    now, before = _funnel_totals(sends, sales), _funnel_totals(sends_before, sales_before)
    emails = {row["email_campaign_id"]: row for row in catalog}

    per_email = defaultdict(lambda: dict.fromkeys((*_FUNNEL, "conversions", "revenue"), 0.0))
    for row in sends:
        for column in _FUNNEL:
            per_email[row["email_campaign_id"]][column] += row[column]
    for row in sales:
        if row["email_campaign_id"]:
            per_email[row["email_campaign_id"]]["conversions"] += row["conversions"]
            per_email[row["email_campaign_id"]]["revenue"] += row["revenue"]
    email_rows = []
    for email_id, values in per_email.items():
        info = emails[email_id]
        email_rows.append({
            "email_campaign_id": email_id, "subject": info["subject"],
            "campaign": info["campaign"], "sequence": info["sequence"],
            "sent_at": str(info["sent_at"]), **values,
            **{metric: metric_value(values, metric)
               for metric in ("delivery_rate", "open_rate", "click_rate", "click_to_open")},
        })
    email_rows.sort(key=lambda r: r["sent_at"])

    # Each campaign's revenue: its CRM conversions and its orders, each summed on its own.
    campaigns = defaultdict(lambda: {"conversions": 0.0, "revenue": 0.0, "crm_revenue": 0.0,
                                     "order_revenue": 0.0, "sent": 0.0, "emails": set()})
    for row in sales:
        bucket = campaigns[row["campaign_id"]]
        bucket["conversions"] += row["conversions"]
        bucket["revenue"] += row["revenue"]
        bucket["crm_revenue" if row["source"] == "crm" else "order_revenue"] += row["revenue"]
    for row in sends:
        bucket = campaigns[emails[row["email_campaign_id"]]["campaign_id"]]
        bucket["sent"] += row["sent"]
        bucket["emails"].add(row["email_campaign_id"])
    by_campaign_info = {row["campaign_id"]: row for row in catalog}
    campaign_rows = []
    for campaign_id, values in campaigns.items():
        info = by_campaign_info.get(campaign_id)
        if info is None:  # sales of a campaign with no email: not this funnel's
            continue
        cost = info["spend"] if info["spend"] else info["budget"]
        roi = (values["revenue"] - cost) / cost * 100.0 if cost else None
        campaign_rows.append({
            "campaign_id": campaign_id, "campaign": info["campaign"],
            "emails": len(values["emails"]), "sent": values["sent"],
            "conversions": values["conversions"], "crm_revenue": values["crm_revenue"],
            "order_revenue": values["order_revenue"], "revenue": values["revenue"],
            "cost": cost or None, "cost_basis": "spend" if info["spend"] else "budget",
            "roi": roi, "tier": roi_tier(roi),
        })
    campaign_rows.sort(key=lambda r: -r["revenue"])
    return {
        "filters": described,
        "has_data": bool(sends or sales),
        "cards": [_card(metric, now, before if (sends_before or sales_before) else None)
                  for metric in EMAIL_CARDS],
        "funnel": [{"stage": METRICS[c].label, "key": c, "count": now[c]} for c in _FUNNEL]
        + [{"stage": "Converted", "key": "email_conversions",
            "count": now["email_conversions"]}],
        "totals": now,
        "emails": email_rows,
        "campaigns": campaign_rows,
        "hours": [{"hours": r["hours"], "opens": r["opens"], "clicks": r["clicks"]}
                  for r in hours],
    }


# --------------------------------------------------------------------------- retailers


def retailers(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    filters = resolve(ctx, scope, raw)
    return _retailers(ctx, scope, filters.describe())


def _retailer_metrics(values: dict) -> dict:
    return {**values, "click_rate": metric_value(values, "click_rate"),
            "open_rate": metric_value(values, "open_rate")}


@cached()
def _retailers(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    filters = _filters(described)
    company_id, period = scope.company_id, filters.period
    with ctx.session() as session:
        args = (filters.campaigns, filters.retailers)
        sends = queries.email_sends(session, company_id, period.start, period.end, *args)
        sales = queries.retailer_sales(session, company_id, period.start, period.end, *args)
        known = queries.filter_options(session, company_id)["retailers"]
    info = {r["id"]: r for r in known}
    zero = dict.fromkeys((*_FUNNEL, "conversions", "revenue"), 0.0)
    per_retailer = defaultdict(lambda: dict(zero))
    for row in sends:
        for column in _FUNNEL:
            per_retailer[row["retailer_id"]][column] += row[column]
    for row in sales:
        per_retailer[row["retailer_id"]]["conversions"] += row["conversions"]
        per_retailer[row["retailer_id"]]["revenue"] += row["revenue"]
    rows = [{"retailer_id": rid, "retailer": info[rid]["name"], "region": info[rid]["region"],
             **_retailer_metrics(values)} for rid, values in per_retailer.items()]
    rows.sort(key=lambda r: (-r["revenue"], -(r["click_rate"] or 0), r["retailer"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    per_region = defaultdict(lambda: dict(zero))
    for row in rows:
        for column in zero:
            per_region[row["region"]][column] += row[column]
    regions = [{"region": region, **_retailer_metrics(values)}
               for region, values in sorted(per_region.items(), key=lambda kv: -kv[1]["revenue"])]
    total = dict(zero)
    for row in rows:
        for column in zero:
            total[column] += row[column]
    return {"filters": described, "has_data": bool(rows), "retailers": rows,
            "regions": regions, "total": _retailer_metrics(total)}
