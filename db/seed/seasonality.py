"""Deterministic shapes of demand: weekly, yearly (by industry) and the hour-of-day curve.

All curves are smooth on purpose: yearly peaks are broad (weeks wide) so that a
seasonality-aware detector sees them as seasonality or trend, never as an anomaly. The sharp
features of the company series are the injected patterns (``patterns.py``) and the recurring
public-holiday effects (``holiday_effects``), which a calendar-aware detector expects because
each one happens the same way in both years of the history.
"""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np

# Day-of-week multipliers, Monday first (normalized to mean 1 below).
_WEEKLY = {
    "Retail/E-commerce": (0.95, 0.93, 0.95, 0.98, 1.05, 1.10, 1.04),
    "SaaS/Technology": (1.12, 1.15, 1.14, 1.10, 1.00, 0.72, 0.77),
    "Finance": (1.08, 1.10, 1.08, 1.05, 0.98, 0.82, 0.89),
    "Travel/Hospitality": (1.00, 0.96, 0.96, 0.98, 1.02, 1.04, 1.04),
    "Luxury goods": (0.92, 0.92, 0.95, 1.00, 1.08, 1.13, 1.00),
}
WEEKLY = {k: np.array(v) / np.mean(v) for k, v in _WEEKLY.items()}

# Yearly bumps on the log scale: (month, day of the centre, amplitude, width in days).
YEARLY_BUMPS = {
    "Retail/E-commerce": ((11, 28, 0.16, 50), (7, 20, -0.07, 40)),  # Q4 peak, summer dip
    "SaaS/Technology": ((3, 10, 0.07, 40), (11, 10, 0.08, 40), (8, 10, -0.08, 35)),
    "Finance": ((3, 20, 0.11, 42), (7, 25, -0.06, 40), (12, 5, 0.04, 35)),  # tax season
    "Travel/Hospitality": ((2, 5, 0.09, 42), (6, 25, 0.11, 45), (10, 15, -0.07, 40)),
    "Luxury goods": ((12, 5, 0.17, 45), (2, 10, 0.05, 25), (5, 8, 0.04, 25)),
}

_CUMDAYS = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30])


def _day_of_year(dates: np.ndarray) -> np.ndarray:
    dates = np.asarray(dates, dtype="datetime64[D]")
    return (dates - dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)


def _yearly_raw(industry: str, doy: np.ndarray) -> np.ndarray:
    out = np.zeros(doy.shape, dtype=np.float64)
    for month, day, amp, width in YEARLY_BUMPS[industry]:
        centre = _CUMDAYS[month - 1] + day - 1
        dist = np.abs(doy - centre)
        dist = np.minimum(dist, 365.25 - dist)
        out += amp * np.exp(-0.5 * (dist / width) ** 2)
    return out


def yearly_log(industry: str, dates: np.ndarray) -> np.ndarray:
    """Log yearly seasonality of an industry at the given dates (mean 0 over a year)."""
    base = _yearly_raw(industry, np.arange(365)).mean()
    return _yearly_raw(industry, _day_of_year(dates)) - base


def weekly(industry: str, dow: np.ndarray) -> np.ndarray:
    return WEEKLY[industry][np.asarray(dow)]


# Share of a day's activity per UTC hour: a US audience (Eastern time is UTC-5), busiest
# from late morning to evening, quiet at night.
_LOCAL = np.array([0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.30, 0.55, 0.80, 0.95, 1.00, 1.02,
                   1.05, 1.00, 0.98, 0.97, 0.98, 1.02, 1.08, 1.15, 1.18, 1.05, 0.80, 0.50])
HOURLY = np.roll(_LOCAL, 5) / _LOCAL.sum()  # index = UTC hour
_HOURLY_CDF = np.concatenate([[0.0], np.cumsum(HOURLY)])
_HOURLY_CDF[-1] = 1.0
_KNOTS = np.arange(25) * 3600.0


def day_fraction(seconds: int) -> float:
    """Share of a day's activity that happened in its first ``seconds`` seconds (UTC)."""
    return float(np.interp(seconds, _KNOTS, _HOURLY_CDF))


def seconds_of_day(u: np.ndarray, limit_seconds: np.ndarray | int = 86400) -> np.ndarray:
    """Map uniforms in [0, 1) to seconds of the day following the hourly curve, each below
    its ``limit_seconds`` (for a partial last day)."""
    top = np.interp(np.asarray(limit_seconds, dtype=np.float64), _KNOTS, _HOURLY_CDF)
    s = np.interp(u * top, _HOURLY_CDF, _KNOTS)
    return np.minimum(s.astype(np.int64), np.maximum(np.asarray(limit_seconds) - 1, 0))


# Public holidays of the demo companies' country (every demo location is in the US) and how
# much ad activity they keep, the same every year (issue #20).
HOLIDAY_COUNTRY = "US"
HOLIDAY_FACTORS = {
    "New Year's Day": 0.65, "Martin Luther King Jr. Day": 0.85, "Washington's Birthday": 0.85,
    "Memorial Day": 0.7, "Independence Day": 0.65, "Labor Day": 0.75,
    "Thanksgiving Day": 0.6, "Christmas Day": 0.5,
}
# Days at either end of the history where a holiday gets no effect (see holiday_effects).
HOLIDAY_EDGE_DAYS = 28


def holiday_effects(start: dt.date, end: dt.date) -> dict[dt.date, tuple[str, float]]:
    """The holidays of [start, end] whose effect the demo data carries: {day: (name,
    factor)}. A holiday gets its effect only when it falls at least twice in the history,
    each time ``HOLIDAY_EDGE_DAYS`` from its ends: a quiet day seen once cannot be told from
    an anomaly by a detector or a person, and at the very ends of a series its expected
    value is uncertain. (Half the year's holidays fall twice in the 18-month history.)"""
    named = holidays.country_holidays(HOLIDAY_COUNTRY, years=range(start.year, end.year + 1))
    first = start + dt.timedelta(days=HOLIDAY_EDGE_DAYS)
    last = end - dt.timedelta(days=HOLIDAY_EDGE_DAYS)
    by_name: dict[str, list[dt.date]] = {}
    for day, name in named.items():
        if name in HOLIDAY_FACTORS and start <= day <= end:
            by_name.setdefault(name, []).append(day)
    return {day: (name, HOLIDAY_FACTORS[name])
            for name, days in by_name.items()
            if len(days) >= 2 and all(first <= d <= last for d in days) for day in days}


def holiday_multiplier(start: dt.date, end: dt.date) -> np.ndarray:
    """Per day of [start, end], the share of its ad activity a holiday keeps (1 elsewhere)."""
    out = np.ones((end - start).days + 1)
    for day, (_name, factor) in holiday_effects(start, end).items():
        out[(day - start).days] = factor
    return out
