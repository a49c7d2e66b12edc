"""The time-series resource of the JSON API: the company's daily KPI series for a period
(company total), with the anomalies and trend changes that fall in it."""

from __future__ import annotations

import datetime as dt

from db.queries import kpis as kpi_queries
from services.access import Scope
from services.cache import cached
from services.context import ServiceContext
from services.insights.anomalies import company_anomalies
from services.insights.series import DETECTED
from services.insights.trends import company_trend_changes
from services.kpis import DEVICE_SEGMENTS, normalize_segment
from services.metrics import METRICS, metric_values
from services.periods import resolve_period
from services.series import clean, daily_frames


@cached()
def timeseries(ctx: ServiceContext, scope: Scope, range_name: str | None = None,
               start: str | None = None, end: str | None = None,
               segment: str | None = None) -> dict:
    company_id = scope.company_id
    segment = normalize_segment(segment)
    device = segment if segment in DEVICE_SEGMENTS else None
    with ctx.session() as session:
        anchor = kpi_queries.latest_day(session, company_id) or dt.date.today()
        period = resolve_period(range_name, anchor, start, end)
        frame = daily_frames(session, company_id, period.start, period.end, device=device)[None]
    days = [day.date().isoformat() for day in frame.index]
    series = {metric: {"label": METRICS[metric].label, "unit": METRICS[metric].unit,
                       "values": [clean(v) for v in metric_values(frame, metric).tolist()]}
              for metric in DETECTED}
    first, last = period.start.isoformat(), period.end.isoformat()
    anomalies = [a for a in company_anomalies(ctx, company_id)["anomalies"]
                 if first <= a["date"] <= last]
    turns = [t for t in company_trend_changes(ctx, company_id)["trend_changes"]
             if first <= t["date"] <= last]
    return {"company_id": company_id, "period": period.as_dict(), "segment": segment,
            "grain": "day", "days": days, "series": series,
            "anomalies": anomalies, "trend_changes": turns,
            "note": ("Anomalies and trend changes are detected on the company-wide series."
                     if segment != "all" else None)}
