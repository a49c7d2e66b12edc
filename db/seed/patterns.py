"""The documented anomalies and trend changes injected into the demo data (ground truth).

Every pattern changes exactly one metric of one company's daily ad series (all its channels,
or one channel). The only other sharp days are the recurring public holidays
(``seasonality.holiday_effects``: the same effect in both years of the history, on every
company), which a calendar-aware detector expects; so a seasonality-aware detector (STL + MAD
on the daily series, with the company's holidays) should find these patterns and only these.

* anomaly: the metric is multiplied by ``magnitude`` on each day from ``start_day`` to
  ``end_day`` (1-3 days). ``ctr`` anomalies scale impressions by 1/magnitude with clicks
  unchanged. Anomalies never fall in the first 60 days of the history nor in the last 40 days
  before ``end_date``, and never overlap another anomaly of the same company.
* trend_change: the metric's log trend turns at ``start_day``: it has moved by
  ``slope_before`` per week since the start of the history and moves by ``slope_after`` per
  week from ``start_day`` through ``end_day`` (= ``end_date``); ``magnitude`` is the slope
  change, ``slope_after - slope_before`` (log units per week; 0.035 ~ 3.5 %/week). There is
  one turning point per pattern and nothing else bends the series, so the turn is
  unambiguous. The turning day is placed, near a nominal date, where the industry's yearly
  seasonality does not mask either slope over the 8 weeks on each side.

Pattern-free companies (no anomaly and no trend change in any metric or channel):
``pipewise-analytics`` and ``skyline-getaways``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from db.seed import seasonality
from db.seed.dimensions import COMPANIES, COMPANY_INDEX, N_DAYS

PATTERN_FREE = ("pipewise-analytics", "skyline-getaways")
METRICS = ("spend", "clicks", "impressions", "conversions", "revenue", "ctr")


@dataclass(frozen=True)
class Pattern:
    kind: str  # 'anomaly' or 'trend_change'
    company: str  # company slug
    metric: str  # spend, clicks, impressions, conversions, revenue, ctr
    channel: str | None  # channel name, or None for all of the company's channels
    start_day: dt.date
    end_day: dt.date
    magnitude: float  # multiplier (anomaly) or weekly log-slope change (trend_change)
    description: str
    slope_before: float | None = None  # trend_change only: log change per week
    slope_after: float | None = None


# company, metric, channel, days before end_date of the first day, length, multiplier, story
_ANOMALIES = (
    ("northwind-outfitters", "spend", "Google Ads", 300, 2, 2.6,
     "A bid-strategy misconfiguration on Google Ads: spend ran at 2.6x for two days while "
     "clicks and conversions stayed normal."),
    ("northwind-outfitters", "conversions", None, 120, 2, 0.45,
     "The checkout conversion tag broke after a site release: reported conversions fell to "
     "45% on all channels for two days (revenue comes from the order system and is normal)."),
    ("cartwheel-home", "clicks", "Facebook", 95, 2, 2.8,
     "A burst of invalid (bot) clicks on Facebook: 2.8x the usual clicks for two days, not "
     "billed and not converting."),
    ("stackline-cloud", "ctr", "LinkedIn", 75, 3, 0.5,
     "LinkedIn audience-network placements switched on by mistake: impressions doubled with "
     "clicks flat, so CTR halved for three days."),
    ("harbor-trust-bank", "revenue", None, 210, 2, 2.2,
     "Year-end funding of several large business accounts: revenue 2.2x for two days."),
    ("harbor-trust-bank", "spend", "LinkedIn", 420, 2, 0.5,
     "A LinkedIn make-good credit for an ad-delivery outage: net reported spend halved for "
     "two days."),
    ("bluewave-resorts", "clicks", "Instagram", 60, 2, 0.5,
     "The Instagram click-tracking redirect failed: half of the clicks went unrecorded for "
     "two days."),
    ("bellini-gioielli", "revenue", None, 150, 1, 2.3,
     "A celebrity wedding feature sold out the bridal line: revenue 2.3x for one day."),
    ("summit-wealth", "conversions", None, 330, 1, 2.0,
     "A duplicated conversion tag on the advisor-booking page: conversions double-counted for "
     "one day."),
)

# company, metric, nominal days before end_date of the turn, slope before, slope after, story
_TRENDS = (
    ("cartwheel-home", "revenue", 280, -0.018, 0.020,
     "Average order value eroded after a competitor's price cuts (revenue down ~1.8%/week), "
     "then recovered once the new bundle pricing launched (revenue up ~2%/week)."),
    ("bluewave-resorts", "conversions", 330, 0.015, -0.020,
     "Bookings grew steadily (~1.5%/week) until a booking-engine migration, after which the "
     "booking conversion rate slid ~2%/week."),
    ("summit-wealth", "revenue", 230, -0.018, 0.020,
     "Advisory revenue per client declined ~1.8%/week until the new fee schedule, then grew "
     "~2%/week."),
    ("stackline-cloud", "conversions", 300, -0.020, 0.020,
     "Trial sign-ups slid ~2%/week after the pricing page redesign and grew ~2%/week "
     "after its rollback."),
)

ANOMALY_MIN_START = 60  # first allowed day index
ANOMALY_MIN_OFFSET = 40  # days before end_date
_FIT_WEEKS = 8
_MIN_FIT_SLOPE = 0.015  # relative change per week the 8-week fits must show, each side
_MIN_PHASE_DAYS = 140


def trend_log(index: np.ndarray, turn: int, before: float, after: float) -> np.ndarray:
    """Log multiplier of a trend change turning at day ``turn`` (not centred)."""
    weeks = (np.asarray(index, dtype=np.float64) - turn) / 7.0
    return np.where(weeks < 0, before * weeks, after * weeks)


def _fit_slope(values: np.ndarray) -> float:
    """Relative least-squares slope per week of weekly sums of a daily series."""
    weeks = values.reshape(-1, 7).sum(axis=1)
    x = np.arange(len(weeks), dtype=np.float64)
    slope = np.polyfit(x, weeks, 1)[0]
    return float(slope / weeks.mean())


def _place_turn(company: str, nominal_offset: int, before: float, after: float,
                dates: np.ndarray, busy: list[tuple[int, int]]) -> int:
    """Day index of a trend turn near the nominal one where seasonality does not mask it."""
    spec = COMPANIES[COMPANY_INDEX[company]]
    idx = np.arange(N_DAYS)
    base = seasonality.yearly_log(spec.industry, dates) + spec.growth * idx / 365.25
    nominal = N_DAYS - 1 - nominal_offset
    fit = 7 * _FIT_WEEKS
    best, best_score = nominal, -np.inf
    for step in range(0, 13):
        for sign in ((0,) if step == 0 else (-1, 1)):
            turn = nominal + sign * 7 * step
            if turn < _MIN_PHASE_DAYS or turn > N_DAYS - _MIN_PHASE_DAYS:
                continue
            if any(a <= turn + fit + 7 and b >= turn - fit - 7 for a, b in busy):
                continue
            series = np.exp(base + trend_log(idx, turn, before, after))
            s1 = _fit_slope(series[turn - fit: turn]) * np.sign(before)
            s2 = _fit_slope(series[turn: turn + fit]) * np.sign(after)
            score = min(s1, s2)
            if score >= _MIN_FIT_SLOPE:
                return turn
            if score > best_score:
                best, best_score = turn, score
    return best


def injected_patterns(end_date: dt.date) -> list[Pattern]:
    """The documented ground truth for a history ending at ``end_date`` (no database)."""
    start = end_date - dt.timedelta(days=N_DAYS - 1)
    dates = np.datetime64(start, "D") + np.arange(N_DAYS)
    out: list[Pattern] = []
    busy: dict[str, list[tuple[int, int]]] = {}
    for company, metric, channel, offset, length, mult, story in _ANOMALIES:
        first = N_DAYS - 1 - offset
        last = first + length - 1
        assert first >= ANOMALY_MIN_START and offset >= ANOMALY_MIN_OFFSET
        assert not any(a <= last + 28 and b >= first - 28 for a, b in busy.get(company, []))
        busy.setdefault(company, []).append((first, last))
        where = f"on {channel}" if channel else "on all channels"
        out.append(Pattern("anomaly", company, metric, channel,
                           start + dt.timedelta(days=first), start + dt.timedelta(days=last),
                           mult, f"{metric} x{mult:g} {where}: {story}"))
    for company, metric, offset, before, after, story in _TRENDS:
        turn = _place_turn(company, offset, before, after, dates, busy.get(company, []))
        out.append(Pattern(
            "trend_change", company, metric, None, start + dt.timedelta(days=turn), end_date,
            round(after - before, 6),
            f"{metric} trend turns on {start + dt.timedelta(days=turn)} from "
            f"{before * 100:+.1f}%/week (since {start}) to {after * 100:+.1f}%/week: {story}",
            slope_before=before, slope_after=after))
    assert not set(PATTERN_FREE) & {p.company for p in out}
    return out
