"""Anomaly detection on KPI time series.

Daily series: the log of the series is split by STL (statsmodels, robust fitting, weekly
period) into trend, weekly cycle and remainder; a day is an anomaly when its remainder lies
outside ``THRESHOLD`` robust standard deviations (1.4826 x the median absolute deviation of
the remainders) *and* the value is at least ``MIN_CHANGE`` away from the expected value. The
log makes a 2x spike and a halving equally far from normal; the robust fit and the MAD keep
the anomalies themselves from widening the normal band. Monthly series (too short for a
yearly cycle) use a robust LOWESS trend instead of STL, with the same MAD rule.

In plain words: "on a normal Tuesday this metric is about X, give or take its usual daily
wobble; today it was far outside that band".

Calendar (issue #20): a public holiday, or the day next to one, is judged against the same
named day in the other years of the history (``calendar.calendar_days``): its expected value
carries the median remainder of those other occurrences. A Christmas that is as quiet as the
other Christmases is expected; one far from them is an anomaly "lower than a usual Christmas
Day". A named day with no other occurrence in the history is judged like any other day. The
other years include later ones: the models are fitted to the whole history after the fact,
and the first year of a history would otherwise flag every holiday.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pandas as pd

from db.queries import kpis as kpi_queries
from db.queries import timeseries as queries
from services.context import ServiceContext
from services.insights.events import company_calendar
from services.insights.series import DETECTED
from services.insights.store import history_model
from services.metrics import METRICS, metric_values
from services.periods import utc_today
from services.series import clean, daily_frames, to_monthly

THRESHOLD = 5.0  # robust z-score of the remainder
MIN_CHANGE = 0.2  # and at least 20 % away from the expected value
# STL smoothers (odd, in days): a weekly cycle that changes slowly, and a trend that follows
# yearly seasonality (weeks wide) but not a one- to three-day incident.
# Monthly series are short (18 months of demo history): the MAD of so few remainders is a
# rough estimate, so the monthly band is wider.
MONTHLY_THRESHOLD = 6.0
MONTHLY_MIN_CHANGE = 0.3
SEASONAL_WINDOW = 35
TREND_WINDOW = 29
MAD_FLOOR = 0.01  # log units: a near-constant series has a band of at least ~1 %
MIN_SUPPORT = 20  # median daily count under a metric (clicks for CTR...) to judge it at all
SUPPORT = {
    "impressions": "impressions", "clicks": "clicks", "ctr": "clicks", "cpc": "clicks",
    "conversions": "conversions", "conversion_rate": "ad_conversions", "cpa": "conversions",
}
MONTHLY_BUSINESS = {
    "mrr": ("MRR", "USD", 1),
    "customers": ("Customers", "count", 1),
    "new_customers": ("New customers", "count", 1),
    "churn_rate": ("Churn rate", "%", -1),
    "nps": ("NPS", "count", 1),
    "market_share_pct": ("Market share", "%", 1),
}


def _robust_scale(resid: np.ndarray) -> float:
    mad = float(np.median(np.abs(resid - np.median(resid))))
    return max(1.4826 * mad, MAD_FLOOR)


def _severity(z: float, change: float) -> str:
    if abs(z) >= 2 * THRESHOLD or change >= 1.0 or change <= -0.5:
        return "critical"
    if abs(z) >= 1.5 * THRESHOLD or abs(change) >= 0.3:
        return "high"
    return "medium"


def calendar_effects(index: pd.DatetimeIndex, resid: np.ndarray,
                     calendar: dict[dt.date, str]) -> tuple[np.ndarray, list[str | None]]:
    """Per day, the usual remainder of its named calendar day and the name; 0 and None for
    ordinary days and for names seen once. Usual: the median over all occurrences when there
    are three or more (one odd Christmas among three cannot move it), else the other one (a
    day never explains itself: two that disagree are both unusual)."""
    effects = np.zeros(len(index))
    names: list[str | None] = [None] * len(index)
    positions = defaultdict(list)
    for i, day in enumerate(index):
        name = calendar.get(day.date())
        if name is not None:
            positions[name].append(i)
    for name, where in positions.items():
        if len(where) < 2:
            continue
        usual = float(np.median(resid[where])) if len(where) >= 3 else None
        for i in where:
            effects[i] = usual if usual is not None else float(
                resid[next(j for j in where if j != i)])
            names[i] = name
    return effects, names


def detect(values: pd.Series, *, period: int | None = 7,
           calendar: dict[dt.date, str] | None = None) -> list[dict]:
    """Anomalies of one positive series (DatetimeIndex). ``period`` is the seasonal cycle in
    observations (7 for daily data); None fits a robust trend only (monthly data).
    ``calendar``: named days (``calendar.calendar_days``) judged against their own history.

    Each anomaly: date, actual, expected, expected_low, expected_high, direction ('up' or
    'down'), change_pct (actual against expected), z (robust z-score), severity, calendar
    (the day's name when it was judged against its own history, else None) and
    calendar_effect_pct (how far that named day usually is from an ordinary day)."""
    values = values.astype(float)
    if values.isna().mean() > 0.1 or len(values.dropna()) < (4 * period if period else 8):
        return []
    values = values.interpolate(limit_direction="both")
    if (values <= 0).any():
        return []
    # statsmodels is imported on first use: it takes seconds to import, and a web worker
    # should answer its health check before any insight is asked for.
    from statsmodels.nonparametric.smoothers_lowess import lowess
    from statsmodels.tsa.seasonal import STL

    y = np.log(values.to_numpy())
    if period:
        # Robust fitting with few iterations: as good on the demo data, ten times faster.
        fit = STL(y, period=period, seasonal=SEASONAL_WINDOW, trend=TREND_WINDOW,
                  robust=True).fit(inner_iter=1, outer_iter=3)
        expected_log = fit.trend + fit.seasonal
    else:
        x = np.arange(len(y), dtype=float)
        expected_log = lowess(y, x, frac=0.5, it=3, return_sorted=False)
    resid = y - expected_log
    # The band's width comes from the remainders before the calendar: named days only get
    # their own expected values, ordinary days are judged exactly as without a calendar.
    scale = _robust_scale(resid)
    if period and calendar:
        # Two ways a named day repeats itself: as its weekday moved by its usual amount (the
        # day after Veterans Day is a normal Friday, a bit busier), or at its usual level
        # against the week whatever the weekday (Christmas is as quiet on a Sunday as on a
        # Tuesday). Each from the name's other occurrences; the closer one is expected.
        shift, names = calendar_effects(values.index, resid, calendar)
        level, _ = calendar_effects(values.index, y - fit.trend, calendar)
        by_weekday = expected_log + shift
        by_level = fit.trend + level
        named = np.array([name is not None for name in names])
        closer = np.abs(y - by_level) < np.abs(y - by_weekday)
        expected_log = np.where(named, np.where(closer, by_level, by_weekday), expected_log)
        effects = np.where(named, expected_log - fit.trend - fit.seasonal, 0.0)
        resid = y - expected_log
    else:
        effects, names = np.zeros(len(y)), [None] * len(y)
    z = (resid - np.median(resid)) / scale
    threshold, min_change = (THRESHOLD, MIN_CHANGE) if period else (MONTHLY_THRESHOLD,
                                                                   MONTHLY_MIN_CHANGE)
    half_width_up = max(np.log1p(min_change), threshold * scale)
    half_width_down = max(-np.log1p(-min_change), threshold * scale)
    out = []
    outside = ((z > 0) & (resid > half_width_up)) | ((z < 0) & (-resid > half_width_down))
    for i in np.flatnonzero(outside):
        expected = float(np.exp(expected_log[i]))
        change = float(values.iloc[i] / expected - 1.0)
        out.append({
            "date": values.index[i].date().isoformat(),
            "actual": float(values.iloc[i]),
            "expected": expected,
            "expected_low": float(np.exp(expected_log[i] - half_width_down)),
            "expected_high": float(np.exp(expected_log[i] + half_width_up)),
            "direction": "up" if resid[i] > 0 else "down",
            "change_pct": change * 100.0,
            "z": float(z[i]),
            "severity": _severity(float(z[i]), change),
            "calendar": names[i],
            "calendar_effect_pct": float(np.expm1(effects[i]) * 100) if names[i] else None,
        })
    return out


def _supported(frame: pd.DataFrame, metric: str) -> bool:
    column = SUPPORT.get(metric)
    if column is None:  # money metrics: judge when there is spend most days
        return float((frame["spend"] > 0).mean()) >= 0.9
    return float(frame[column].median()) >= MIN_SUPPORT


def frame_anomalies(frames: dict[str | None, pd.DataFrame], *, grain: str = "day",
                    calendar: dict[dt.date, str] | None = None) -> list[dict]:
    """Anomalies of every detected metric of every frame (None = company total); daily
    series know the ``calendar``'s named days."""
    out = []
    for channel, frame in frames.items():
        if grain == "month":
            frame = to_monthly(frame)
        for metric in DETECTED:
            if grain == "day" and not _supported(frame, metric):
                continue
            series = metric_values(frame, metric)
            for anomaly in detect(series, period=7 if grain == "day" else None,
                                  calendar=calendar if grain == "day" else None):
                out.append({"metric": metric, "label": METRICS[metric].label,
                            "unit": METRICS[metric].unit, "good": METRICS[metric].good,
                            "channel": channel, "grain": grain, **anomaly})
    return out


def business_frame(rows: list[dict]) -> pd.DataFrame:
    """Monthly business metrics with the churn rate (churned / customers at the month's
    start, in percent)."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["month"] = pd.to_datetime(frame["month"])
    frame = frame.set_index("month").sort_index()
    opening = (frame["customers"] - frame["new_customers"] + frame["churned_customers"])
    frame["churn_rate"] = frame["churned_customers"] / opening.where(opening > 0) * 100.0
    return frame


def business_anomalies(frame: pd.DataFrame) -> list[dict]:
    out = []
    if frame.empty:
        return out
    for metric, (label, unit, good) in MONTHLY_BUSINESS.items():
        for anomaly in detect(frame[metric].astype(float), period=None):
            out.append({"metric": metric, "label": label, "unit": unit, "good": good,
                        "channel": None, "grain": "month", **anomaly})
    return out


def complete_months(frame: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The days of ``frame`` that belong to calendar months wholly inside [first, last]."""
    start = first if first.day == 1 else (first.replace(day=1) + dt.timedelta(days=32)).replace(
        day=1)
    stop = (last + dt.timedelta(days=1)).replace(day=1)  # exclusive
    return frame[(frame.index >= pd.Timestamp(start)) & (frame.index < pd.Timestamp(stop))]


def history_window(session, company_id: int) -> tuple[dt.date, dt.date] | None:
    """The company's whole daily history, less today's partial day."""
    first = queries.first_day(session, company_id)
    last = kpi_queries.latest_day(session, company_id)
    if first is None or last is None:
        return None
    today = utc_today()
    if last >= today:
        last = today - dt.timedelta(days=1)
    return (first, last) if last > first else None


@history_model
def company_anomalies(ctx: ServiceContext, company_id: int) -> dict:
    """Every anomaly of the company's KPI series at daily grain (company total and each
    channel) and monthly grain (monthly sums and the business metrics), newest first."""
    with ctx.session() as session:
        window = history_window(session, company_id)
        if window is None:
            return {"company_id": company_id, "window": None, "anomalies": []}
        frames = daily_frames(session, company_id, *window)
        business = business_frame(queries.business_monthly(session, company_id))
        holidays, events = company_calendar(session, company_id, *window)
    first, last = window
    monthly_frames = {key: complete_months(frame, first, last) for key, frame in frames.items()}
    found = frame_anomalies(frames, calendar=holidays) \
        + frame_anomalies(monthly_frames, grain="month") + business_anomalies(business)
    for anomaly in found:
        # A day the company annotated (an outage, a sale) is explained, not alarming.
        event = events.get(dt.date.fromisoformat(anomaly["date"])) \
            if anomaly["grain"] == "day" else None
        anomaly["event"] = event
        anomaly["explained"] = event is not None
        for key in ("actual", "expected", "expected_low", "expected_high", "change_pct", "z",
                    "calendar_effect_pct"):
            anomaly[key] = clean(anomaly[key])
    found.sort(key=lambda a: (a["date"], abs(a["z"] or 0)), reverse=True)
    return {"company_id": company_id,
            "window": {"start": first.isoformat(), "end": last.isoformat()},
            "anomalies": found}
