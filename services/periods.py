"""Reporting periods: named ranges anchored on the newest day with data, and the previous
period of equal length for change figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.errors import ValidationError

RANGES = {"7d": 7, "30d": 30, "quarter": 91, "year": 365}
RANGE_LABELS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "quarter": "Last quarter (91 days)",
    "year": "Last year (365 days)",
    "custom": "Custom range",
}
DEFAULT_RANGE = "30d"
MAX_DAYS = 3 * 366
# The dates a filter may name (a year-1 range has no previous period, a 9999 one no next day).
EARLIEST_DAY, LATEST_DAY = dt.date(1990, 1, 1), dt.date(2199, 12, 31)


def utc_today() -> dt.date:
    """Today as the rollups count days: in UTC."""
    return dt.datetime.now(dt.timezone.utc).date()


@dataclass(frozen=True)
class Period:
    start: dt.date  # inclusive
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The equal-length period just before this one."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}


def parse_day(value, name: str) -> dt.date:
    """A filter's date (YYYY-MM-DD) between EARLIEST_DAY and LATEST_DAY, or ValidationError
    naming the field."""
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError(f"{name} must be a date as YYYY-MM-DD, not {str(value)[:40]!r}")
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValidationError(f"{name} must be between {EARLIEST_DAY} and {LATEST_DAY}")
    return day


def resolve_period(range_name: str | None, anchor: dt.date, start: str | None = None,
                   end: str | None = None) -> Period:
    """A named range ending on ``anchor``, or a custom ``start``..``end`` (ISO dates)."""
    range_name = range_name or DEFAULT_RANGE
    if not isinstance(range_name, str):
        raise ValidationError(f"unknown range {str(range_name)[:40]!r}; use one of: "
                              f"{', '.join([*RANGES, 'custom'])}")
    if range_name == "custom" or (start and end and range_name not in RANGES):
        if not start or not end:
            raise ValidationError("a custom range needs both start and end dates")
        first, last = parse_day(start, "start"), parse_day(end, "end")
        if first > last:
            raise ValidationError("start must be on or before end")
        if (last - first).days + 1 > MAX_DAYS:
            raise ValidationError(f"a range may span at most {MAX_DAYS} days")
        return Period(first, last)
    if range_name not in RANGES:
        raise ValidationError(
            f"unknown range {range_name[:40]!r}; use one of: {', '.join([*RANGES, 'custom'])}"
        )
    days = RANGES[range_name]
    return Period(anchor - dt.timedelta(days=days - 1), anchor)
