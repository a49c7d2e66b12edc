"""The executive view's numbers: every KPI card of a company over a period with the change
against the previous equal period, and the breakdowns that split those totals (funnel,
channels, campaigns). Formulas and change units are the metric catalogue's
(``services.metrics``); revenue = ad revenue + CRM conversions + completed e-commerce orders,
each summed on its own; every split adds up to its card, with an explicit "unattributed"
part where revenue has no campaign. ``/api/v1/kpis`` returns ``executive_kpis`` itself."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from db.queries import kpis as queries
from db.queries import timeseries as ts_queries
from services.access import Scope
from services.cache import cached
from services.context import ServiceContext
from services.errors import one_of
from services.filters import COMPARE_LABELS, DEFAULT_COMPARE, compare_period
from services.metrics import (
    METRICS,
    change,
    change_pct,
    metric_value,
    metric_values,
    ratio,
)
from services.periods import Period, resolve_period, utc_today
from services.series import daily_frames, to_weekly

# Every executive card, in the view's order; a user may pin any of them first (preferences).
CARDS = ("revenue", "spend", "roas", "conversions", "conversion_rate", "ctr", "campaigns",
         "mrr", "customers", "cac", "ltv", "ltv_cac", "market_share", "nps", "churn_rate")
KPI_LABELS = {key: (METRICS[key].label, METRICS[key].unit) for key in CARDS}


# --------------------------------------------------------------------------- executive view

SEGMENTS = {
    "all": "All visitors",
    "new": "New visitors",
    "returning": "Returning visitors",
    "mobile": "Mobile",
    "desktop": "Desktop",
}
DEVICE_SEGMENTS = ("mobile", "desktop")
VISITOR_SEGMENTS = ("new", "returning")
# The LTV:CAC rule of thumb (3:1) stands in for a target the warehouse does not hold.
LTV_CAC_TARGET = 3.0
AMBER_BAND = 0.9  # within 10 % of target: amber; further: red


def normalize_compare(compare: str | None) -> str:
    return one_of(compare, "compare", COMPARE_LABELS, DEFAULT_COMPARE)


def normalize_segment(segment: str | None) -> str:
    segment = one_of(segment, "segment", SEGMENTS, "all")
    return segment


def target_status(value: float | None, target: float | None, direction: str) -> str:
    """green / amber / red against a target; 'neutral' without one."""
    if value is None or target is None or target == 0:
        return "neutral"
    score = value / target if direction == "higher" else (target / value if value else 0.0)
    if score >= 1:
        return "green"
    return "amber" if score >= AMBER_BAND else "red"


def roi_tier(roi_pct: float | None) -> str | None:
    """DESIGN.md: High ROI >= 100, Good ROI >= 50, else Standard; None (a dash) where ROI is
    undefined (no spend: an e-mail campaign's revenue is not a return on nothing)."""
    if roi_pct is None:
        return None
    return "High ROI" if roi_pct >= 100 else "Good ROI" if roi_pct >= 50 else "Standard"


def _month_pair(months: list[dict], period: Period) -> tuple[dict | None, dict | None]:
    """The latest month starting on or before the period's end, and the one for the previous
    period (a different, earlier month)."""
    current = [m for m in months if m["month"] <= period.end]
    if not current:
        return None, None
    this = current[-1]
    before = [m for m in months if m["month"] <= period.previous().end and m["month"] <
              this["month"]]
    return this, (before[-1] if before else None)


def _business_values(month: dict | None, spend: float | None) -> dict:
    if month is None:
        return {k: None for k in ("mrr", "customers", "cac", "ltv", "ltv_cac", "churn_rate",
                                  "nps", "market_share")}
    opening = month["customers"] - month["new_customers"] + month["churned_customers"]
    churn = month["churned_customers"] / opening if opening else None
    arpu = month["mrr"] / month["customers"] if month["customers"] else None
    cac = ratio(spend, month["new_customers"]) if spend is not None else None
    ltv = arpu / churn if arpu is not None and churn else None
    return {
        "mrr": month["mrr"], "customers": month["customers"], "cac": cac, "ltv": ltv,
        "ltv_cac": ratio(ltv, cac) if ltv is not None and cac else None,
        "churn_rate": churn * 100 if churn is not None else None,
        "nps": month["nps"], "market_share": month["market_share_pct"],
    }


def _card(metric, value, previous, *, target=None, direction=None, sparkline=None,
          note=None) -> dict:
    """One card: the catalogue's label, unit, good direction and definition, the value, the
    previous period's, the change (``change`` in ``change_unit``: pp for rates, % else;
    ``change_pct`` always relative) and the status against a target."""
    spec = METRICS[metric]
    direction = direction or ("lower" if spec.good < 0 else "higher")
    return {"metric": metric, "label": spec.label, "unit": spec.unit,
            "definition": spec.definition, "value": value, "previous": previous,
            "change": change(metric, value, previous), "change_unit": spec.change_unit,
            "change_pct": change_pct(value, previous),
            "target": target, "direction": direction, "good": spec.good,
            "status": target_status(value, target, direction),
            "sparkline": sparkline or [], "note": note}


def _company_daily(frames: dict) -> pd.DataFrame:
    """The company's daily totals with ad conversions (the channels' sum) beside them."""
    total = frames[None]
    total["ad_conversions"] = sum((f["ad_conversions"] for k, f in frames.items()
                                   if k is not None), start=total["ad_conversions"] * 0)
    return total


def _sparkline(values) -> list:
    return [None if v is None or (isinstance(v, float) and not math.isfinite(v))
            else round(float(v), 6) for v in values]


@cached()
def executive_kpis(ctx: ServiceContext, scope: Scope, range_name: str | None = None,
                   start: str | None = None, end: str | None = None,
                   segment: str | None = None, compare: str | None = None) -> dict:
    """Every KPI card of the executive view: value, the compared equal period (the previous
    one, or ``compare="year"`` the same dates a year earlier), change, target and its
    green/amber/red status, and a sparkline over the period. Ad metrics follow a device
    segment (mobile, desktop); CRM, e-commerce and business metrics are company-wide."""
    company_id = scope.company_id
    segment = normalize_segment(segment)
    compare = normalize_compare(compare)
    device = segment if segment in DEVICE_SEGMENTS else None
    with ctx.session() as session:
        anchor = queries.latest_day(session, company_id) or dt.date.today()
        period = resolve_period(range_name, anchor, start, end)
        prev = compare_period(period, compare)
        # Two windows when the compared period is a year earlier: the year between them is
        # never read (a 30-day period otherwise read 425 days).
        windows = ([(prev.start, period.end)] if prev.end + dt.timedelta(days=1) == period.start
                   else [(prev.start, prev.end), (period.start, period.end)])
        total = pd.concat([_company_daily(daily_frames(session, company_id, first, last,
                                                        device=device))
                           for first, last in windows])
        targets = {(t["metric"], t["period"]): t for t in ts_queries.kpi_targets(session,
                                                                                company_id)}
        # Active campaigns are counted by spend: the ads' rollup alone answers that.
        campaigns_now = ts_queries.campaign_totals(session, company_id, period.start,
                                                   period.end, device=device, with_sales=False)
        campaigns_before = ts_queries.campaign_totals(session, company_id, prev.start,
                                                      prev.end, device=device,
                                                      with_sales=False)
        months = ts_queries.business_monthly(session, company_id)
        month_now, month_before = _month_pair(months, period)
        first = ts_queries.first_day(session, company_id)
        spend_by_month = {row["month"]: row["spend"] for row in ts_queries.monthly_spend(
            session, company_id, dt.date(1900, 1, 1), period.end)}
    now = total[total.index >= pd.Timestamp(period.start)]
    before = total[(total.index >= pd.Timestamp(prev.start))
                   & (total.index <= pd.Timestamp(prev.end))]
    sums_now, sums_before = now.sum().to_dict(), before.sum().to_dict()
    # Today is a partial day: counted in the totals, left out of the sparklines (a trend
    # would end in a cliff). Weekly sparklines keep complete weeks only.
    partial_day = period.end >= utc_today()
    complete = now[now.index < pd.Timestamp(utc_today())] if partial_day else now
    daily = complete if period.days <= 92 else to_weekly(complete)
    previous_complete = first is not None and prev.start >= first
    # A period with no history in it (before the first day of data, or after the newest)
    # has no ad numbers: dashes, not zeros, and no target to be off.
    covered = first is not None and period.end >= first and period.start <= anchor

    def spark(metric):
        return _sparkline(metric_values(daily, metric).tolist())

    def target(metric, scale=1.0, additive=False):
        row = targets.get((metric, "day"))
        if row is None or (device and additive):  # company targets are not per device
            return None, "higher" if row is None else row["direction"]
        value = row["target"] * (period.days if additive else scale)
        return value, row["direction"]

    cards = []
    seg_note = f"{SEGMENTS[segment]} (ads)" if device else None
    for metric, additive in (("revenue", True), ("spend", True), ("roas", False),
                             ("conversions", True), ("conversion_rate", False),
                             ("ctr", False)):
        value_now = metric_value(sums_now, metric) if covered else None
        # A previous period reaching before the history is not an equal period: no change.
        value_before = metric_value(sums_before, metric) if previous_complete else None
        goal, direction = target(metric, METRICS[metric].scale, additive)
        goal = goal if covered else None
        cards.append(_card(metric, value_now, value_before, target=goal,
                           direction=direction, sparkline=spark(metric), note=seg_note))
    active_now = sum(1 for c in campaigns_now if c["spend"] > 0)
    active_before = sum(1 for c in campaigns_before if c["spend"] > 0)
    cards.append(_card("campaigns", active_now if covered else None,
                       active_before if previous_complete else None, note=seg_note))

    spend_now = spend_by_month.get(month_now["month"]) if month_now else None
    spend_before = spend_by_month.get(month_before["month"]) if month_before else None
    biz_now = _business_values(month_now, spend_now)
    biz_before = _business_values(month_before, spend_before)
    month_note = (f"{month_now['month'].strftime('%B %Y')} vs "
                  f"{month_before['month'].strftime('%B %Y')}"
                  if month_now and month_before else None)
    history = [m for m in months if month_now and m["month"] <= month_now["month"]][-12:]
    history_values = [_business_values(m, spend_by_month.get(m["month"])) for m in history]
    for metric in ("mrr", "customers", "cac", "ltv", "ltv_cac", "market_share", "nps",
                   "churn_rate"):
        cards.append(_card(metric, biz_now[metric], biz_before[metric],
                           target=LTV_CAC_TARGET if metric == "ltv_cac" else None,
                           note=month_note,
                           sparkline=_sparkline([h[metric] for h in history_values])))
    return {"company_id": company_id, "as_of": anchor, "segment": segment,
            "period": period.as_dict(), "previous_period": prev.as_dict(),
            "compare": compare,
            "previous_complete": previous_complete, "covered": covered,
            "partial_day": partial_day,
            "month": month_now["month"].isoformat() if month_now else None,
            "cards": cards}


def roi_pct(revenue: float, spend: float) -> float | None:
    """DESIGN.md: (revenue - spend) / spend x 100; None without spend."""
    value = ratio(revenue - spend, spend)
    return None if value is None else value * 100


def _split_row(totals: dict) -> dict:
    roi = roi_pct(totals["revenue"], totals["spend"])
    return {"spend": totals["spend"], "revenue": totals["revenue"],
            "conversions": int(totals["conversions"]),
            "roas": ratio(totals["revenue"], totals["spend"]), "roi_pct": roi,
            "tier": roi_tier(roi)}


def _sum(rows: list[dict]) -> dict:
    return {key: sum(row[key] for row in rows) for key in ("spend", "revenue", "conversions")}


# Where each funnel stage is counted (shown under the funnel).
FUNNEL_SOURCES = ("Visitors: website sessions · leads, opportunities, won leads: CRM status "
                  "changes in the period.")


@cached()
def executive_breakdowns(ctx: ServiceContext, scope: Scope, range_name: str | None = None,
                         start: str | None = None, end: str | None = None,
                         segment: str | None = None, top: int = 10) -> dict:
    """The acquisition funnel (visitors, leads, opportunities, won leads and each step's
    rate), ROAS and ROI % per channel, and the top campaigns by revenue with their ROI tier.

    Channel = the sum of its campaigns; the campaign table's top rows are followed by an
    "other campaigns" row and an "unattributed" row (CRM and e-commerce revenue with no
    campaign), so the table adds up to the revenue, spend and conversions cards. With a device
    segment, CRM and e-commerce (not split by device) are left out, as on the cards."""
    company_id = scope.company_id
    segment = normalize_segment(segment)
    device = segment if segment in DEVICE_SEGMENTS else None
    visitor = segment if segment in VISITOR_SEGMENTS else None
    with ctx.session() as session:
        anchor = queries.latest_day(session, company_id) or dt.date.today()
        period = resolve_period(range_name, anchor, start, end)
        web = ts_queries.web_daily(session, company_id, period.start, period.end,
                                   device=device, visitor_type=visitor)
        flow = ts_queries.lead_flow(session, company_id, period.start, period.end)
        campaigns = ts_queries.campaign_totals(session, company_id, period.start, period.end,
                                               device=device)
        unattributed = {"spend": 0.0, **ts_queries.unattributed_sales(
            session, company_id, period.start, period.end)} if device is None else None
    visitors = sum(int(row["sessions"]) for row in web)
    steps = [("Visitors", visitors), ("Leads", flow["leads"]),
             ("Opportunities", flow["opportunities"]), ("Won leads", flow["customers"])]
    funnel = []
    for i, (stage, value) in enumerate(steps):
        rate = ratio(value, steps[i - 1][1]) if i else None
        funnel.append({"stage": stage, "value": value,
                       "rate_pct": rate * 100 if rate is not None else None})

    by_channel: dict[str, list[dict]] = {}
    for row in campaigns:
        by_channel.setdefault(row["channel"], []).append(row)
    channel_rows = [{**_split_row(_sum(rows)), "channel": name}
                    for name, rows in by_channel.items()]
    channel_rows.sort(key=lambda r: (r["roas"] is None, -(r["roas"] or 0)))

    # The top campaigns by revenue; campaigns without revenue are no "top performers": they
    # are counted in the "other campaigns" row.
    ranked = sorted(campaigns, key=lambda r: (-r["revenue"], -r["spend"], r["campaign_id"]))
    leaders = [row for row in ranked if row["revenue"] > 0][:top]
    campaign_rows = [{**_split_row(row), "campaign": row["campaign"],
                      "channel": row["channel"], "segment": row["segment"],
                      "status": row["status"]} for row in leaders]
    others = ranked[len(leaders):]
    if others:
        campaign_rows.append({**_split_row(_sum(others)), "row": "other",
                              "campaign": f"Other campaigns ({len(others):,})",
                              "channel": None, "segment": None, "status": None})
    if unattributed and (unattributed["revenue"] or unattributed["conversions"]):
        campaign_rows.append({**_split_row(unattributed), "row": "unattributed",
                              "campaign": "Unattributed (CRM and e-commerce, no campaign)",
                              "channel": None, "segment": None, "status": None})
    totals = _sum(campaign_rows)
    return {"company_id": company_id, "period": period.as_dict(), "segment": segment,
            "funnel": funnel,
            "funnel_note": FUNNEL_SOURCES + (" Visitors follow the segment; the CRM stages "
                                             "are company-wide." if segment != "all" else ""),
            "channels": channel_rows, "campaigns": campaign_rows,
            "unattributed": unattributed,
            "totals": {**totals, "roas": ratio(totals["revenue"], totals["spend"]),
                       "roi_pct": roi_pct(totals["revenue"], totals["spend"])}}
