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
