"""The headline KPIs of a company over a period, with the change against the previous equal
period. Formulas are DESIGN.md's: ROAS = revenue / spend; revenue = ad-attributed revenue +
CRM conversions + e-commerce orders, each summed on its own; a zero denominator gives None."""

from __future__ import annotations

import datetime as dt

from db.queries import kpis as queries
from services.cache import cached
from services.context import ServiceContext
from services.periods import Period, resolve_period

KPI_LABELS = {
    "spend": ("Spend", "USD"),
    "revenue": ("Revenue", "USD"),
    "roas": ("ROAS", "x"),
    "conversions": ("Conversions", "count"),
}


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None (shown as a dash) when the denominator is zero."""
    return numerator / denominator if denominator else None


def change_pct(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * 100.0


def _totals(session, company_id: int, period: Period) -> dict:
    ads = queries.ad_totals(session, company_id, period.start, period.end)
    sales = queries.sales_totals(session, company_id, period.start, period.end)
    revenue = ads["revenue"] + sales["crm"]["revenue"] + sales["ecommerce"]["revenue"]
    conversions = (
        ads["conversions"] + sales["crm"]["conversions"] + sales["ecommerce"]["conversions"]
    )
    return {
        "spend": ads["spend"],
        "revenue": revenue,
        "roas": ratio(revenue, ads["spend"]),
        "conversions": conversions,
    }


def anchor_day(ctx: ServiceContext, company_id: int) -> dt.date:
    """Named ranges end on the newest day with data (today for a live warehouse)."""
    with ctx.session() as session:
        return queries.latest_day(session, company_id) or dt.date.today()


@cached()
def kpi_summary(ctx: ServiceContext, company_id: int, range_name: str | None = None,
                start: str | None = None, end: str | None = None) -> dict:
    """Spend, revenue, ROAS and conversions for the period and the previous equal period."""
    with ctx.session() as session:
        anchor = queries.latest_day(session, company_id) or dt.date.today()
        period = resolve_period(range_name, anchor, start, end)
        current = _totals(session, company_id, period)
        previous = _totals(session, company_id, period.previous())
    return {
        "company_id": company_id,
        "as_of": anchor,
        "period": period.as_dict(),
        "previous_period": period.previous().as_dict(),
        "kpis": [
            {
                "metric": metric,
                "label": label,
                "unit": unit,
                "value": current[metric],
                "previous": previous[metric],
                "change_pct": change_pct(current[metric], previous[metric]),
            }
            for metric, (label, unit) in KPI_LABELS.items()
        ],
    }


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


def normalize_segment(segment: str | None) -> str:
    from services.errors import ValidationError

    segment = segment or "all"
    if segment not in SEGMENTS:
        raise ValidationError(f"unknown segment {segment!r}; use one of: {', '.join(SEGMENTS)}")
    return segment


def target_status(value: float | None, target: float | None, direction: str) -> str:
    """green / amber / red against a target; 'neutral' without one."""
    if value is None or target is None or target == 0:
        return "neutral"
    score = value / target if direction == "higher" else (target / value if value else 0.0)
    if score >= 1:
        return "green"
    return "amber" if score >= AMBER_BAND else "red"


def roi_tier(roi_pct: float | None) -> str:
    """DESIGN.md: High ROI >= 100, Good ROI >= 50, else Standard."""
    if roi_pct is None:
        return "Standard"
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


def _card(metric, label, unit, value, previous, *, target=None, direction="higher",
          good=1, sparkline=None, note=None) -> dict:
    return {"metric": metric, "label": label, "unit": unit, "value": value,
            "previous": previous, "change_pct": change_pct(value, previous),
            "target": target, "direction": direction, "good": good,
            "status": target_status(value, target, direction),
            "sparkline": sparkline or [], "note": note}


def _sparkline(values) -> list:
    import math

    return [None if v is None or (isinstance(v, float) and not math.isfinite(v))
            else round(float(v), 6) for v in values]


@cached()
def executive_kpis(ctx: ServiceContext, company_id: int, range_name: str | None = None,
                   start: str | None = None, end: str | None = None,
                   segment: str | None = None) -> dict:
    """Every KPI card of the executive view: value, previous equal period, change, target and
    its green/amber/red status, and a sparkline over the period. Ad metrics follow a device
    segment (mobile, desktop); CRM, e-commerce and business metrics are company-wide."""
    import pandas as pd

    from db.queries import timeseries as ts_queries
    from services.insights.series import daily_frames, metric_value, to_weekly

    segment = normalize_segment(segment)
    device = segment if segment in DEVICE_SEGMENTS else None
    with ctx.session() as session:
        anchor = queries.latest_day(session, company_id) or dt.date.today()
        period = resolve_period(range_name, anchor, start, end)
        prev = period.previous()
        frames = daily_frames(session, company_id, prev.start, period.end, device=device)
        targets = {(t["metric"], t["period"]): t for t in ts_queries.kpi_targets(session,
                                                                                company_id)}
        campaigns_now = ts_queries.campaign_totals(session, company_id, period.start,
                                                   period.end, device=device)
        campaigns_before = ts_queries.campaign_totals(session, company_id, prev.start,
                                                      prev.end, device=device)
        months = ts_queries.business_monthly(session, company_id)
        month_now, month_before = _month_pair(months, period)
        first = ts_queries.first_day(session, company_id)
        spend_by_month = {row["month"]: row["spend"] for row in ts_queries.monthly_spend(
            session, company_id, dt.date(1900, 1, 1), period.end)}
    total = frames[None]
    total["ad_conversions"] = sum((f["ad_conversions"] for k, f in frames.items()
                                   if k is not None), start=total["ad_conversions"] * 0)
    now = total[total.index >= pd.Timestamp(period.start)]
    before = total[total.index < pd.Timestamp(period.start)]
    sums_now, sums_before = now.sum().to_dict(), before.sum().to_dict()
    daily = now if period.days <= 92 else to_weekly(now)
    previous_complete = first is not None and prev.start >= first

    def spark(metric):
        from services.insights.series import metric_values

        return _sparkline(metric_values(daily, metric).tolist())

    def target(metric, scale=1.0, additive=False):
        row = targets.get((metric, "day"))
        if row is None or (device and additive):  # company targets are not per device
            return None, "higher" if row is None else row["direction"]
        value = row["target"] * (period.days if additive else scale)
        return value, row["direction"]

    cards = []
    seg_note = f"{SEGMENTS[segment]} (ads)" if device else None
    for metric, label, unit, additive, scale in (
        ("revenue", "Revenue", "USD", True, 1.0),
        ("spend", "Spend", "USD", True, 1.0),
        ("roas", "ROAS", "x", False, 1.0),
        ("conversions", "Conversions", "count", True, 1.0),
        ("conversion_rate", "Conversion rate", "%", False, 100.0),
        ("ctr", "CTR", "%", False, 100.0),
    ):
        value_now = metric_value(sums_now, metric)
        # A previous period reaching before the history is not an equal period: no change.
        value_before = metric_value(sums_before, metric) if previous_complete else None
        goal, direction = target(metric, scale, additive)
        cards.append(_card(metric, label, unit, value_now, value_before, target=goal,
                           direction=direction, sparkline=spark(metric),
                           good=0 if metric == "spend" else 1, note=seg_note))
    active_now = sum(1 for c in campaigns_now if c["spend"] > 0)
    active_before = sum(1 for c in campaigns_before if c["spend"] > 0)
    cards.append(_card("campaigns", "Active campaigns", "count", active_now,
                       active_before if previous_complete else None,
                       good=0, note=seg_note))

    spend_now = spend_by_month.get(month_now["month"]) if month_now else None
    spend_before = spend_by_month.get(month_before["month"]) if month_before else None
    biz_now = _business_values(month_now, spend_now)
    biz_before = _business_values(month_before, spend_before)
    month_note = (f"{month_now['month'].strftime('%B %Y')} vs "
                  f"{month_before['month'].strftime('%B %Y')}"
                  if month_now and month_before else None)
    history = [m for m in months if month_now and m["month"] <= month_now["month"]][-12:]
    history_values = [_business_values(m, spend_by_month.get(m["month"])) for m in history]
    for metric, label, unit, good, goal in (
        ("mrr", "MRR", "USD", 1, None),
        ("customers", "Customers", "count", 1, None),
        ("cac", "Customer acquisition cost", "USD", -1, None),
        ("ltv", "Lifetime value", "USD", 1, None),
        ("ltv_cac", "LTV:CAC", "x", 1, LTV_CAC_TARGET),
        ("market_share", "Market share", "%", 1, None),
        ("nps", "NPS", "count", 1, None),
        ("churn_rate", "Churn rate", "%", -1, None),
    ):
        cards.append(_card(metric, label, unit, biz_now[metric], biz_before[metric],
                           target=goal, direction="higher" if good >= 0 else "lower",
                           good=good, note=month_note,
                           sparkline=_sparkline([h[metric] for h in history_values])))
    return {"company_id": company_id, "as_of": anchor, "segment": segment,
            "period": period.as_dict(), "previous_period": prev.as_dict(),
            "previous_complete": previous_complete,
            "month": month_now["month"].isoformat() if month_now else None,
            "cards": cards}


@cached()
def executive_breakdowns(ctx: ServiceContext, company_id: int, range_name: str | None = None,
                         start: str | None = None, end: str | None = None,
                         segment: str | None = None, top: int = 10) -> dict:
    """The acquisition funnel (visitors, leads, opportunities, customers and each step's
    rate), ROAS and ROI % per channel, and the top campaigns by revenue with their ROI tier."""
    from db.queries import timeseries as ts_queries

    segment = normalize_segment(segment)
    device = segment if segment in DEVICE_SEGMENTS else None
    visitor = segment if segment in VISITOR_SEGMENTS else None
    with ctx.session() as session:
        anchor = queries.latest_day(session, company_id) or dt.date.today()
        period = resolve_period(range_name, anchor, start, end)
        web = ts_queries.web_daily(session, company_id, period.start, period.end,
                                   device=device, visitor_type=visitor)
        flow = ts_queries.lead_flow(session, company_id, period.start, period.end)
        channels = ts_queries.channel_totals(session, company_id, period.start, period.end,
                                             device=device)
        campaigns = ts_queries.campaign_totals(session, company_id, period.start, period.end,
                                               device=device)
    visitors = sum(int(row["sessions"]) for row in web)
    steps = [("Visitors", visitors), ("Leads", flow["leads"]),
             ("Opportunities", flow["opportunities"]), ("Customers", flow["customers"])]
    funnel = []
    for i, (stage, value) in enumerate(steps):
        rate = ratio(value, steps[i - 1][1]) if i else None
        funnel.append({"stage": stage, "value": value,
                       "rate_pct": rate * 100 if rate is not None else None})

    def roi(row):
        return ((row["revenue"] - row["spend"]) / row["spend"] * 100) if row["spend"] else None

    channel_rows = [{"channel": row["channel"], "spend": row["spend"], "revenue": row["revenue"],
                     "roas": ratio(row["revenue"], row["spend"]), "roi_pct": roi(row),
                     "conversions": int(row["conversions"])} for row in channels]
    channel_rows.sort(key=lambda r: (r["roas"] is None, -(r["roas"] or 0)))
    campaign_rows = []
    for row in sorted(campaigns, key=lambda r: -r["revenue"])[:top]:
        value = roi(row)
        campaign_rows.append({
            "campaign": row["campaign"], "channel": row["channel"], "segment": row["segment"],
            "status": row["status"], "spend": row["spend"], "revenue": row["revenue"],
            "conversions": int(row["conversions"]), "roas": ratio(row["revenue"], row["spend"]),
            "roi_pct": value, "tier": roi_tier(value),
        })
    return {"company_id": company_id, "period": period.as_dict(), "segment": segment,
            "funnel": funnel,
            "funnel_note": ("Visitors follow the segment; leads, opportunities and customers "
                            "are company-wide." if segment != "all" else None),
            "channels": channel_rows, "campaigns": campaign_rows}
