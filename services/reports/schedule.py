"""When a report schedule is due: its cadence as a cron expression over the schedule's local
wall-clock time, turned into UTC instants with ``zoneinfo``.

Every cadence (daily, weekdays, weekly on a day, monthly on a day, or a cron expression) is a
cron expression evaluated on naive local times (croniter), each then placed in the schedule's
IANA time zone. So a daily 08:00 Europe/London report is due at 08:00 local on both sides of a
daylight-saving change (07:00 UTC in summer, 08:00 UTC in winter). Two wall times need a rule:

- a time that does not exist (the hour skipped in spring) is sent when the clocks have moved
  on, at the same distance past the change (02:30 on a 01:00->02:00 night: 02:30 summer time
  is 01:30 UTC, as ``fold=0`` gives);
- a time that happens twice (the hour repeated in autumn) is sent once, at its first
  occurrence (``fold=0``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

from services.errors import ValidationError

UTC = dt.timezone.utc
CADENCES = {"daily": "Every day", "weekdays": "Every weekday (Monday to Friday)",
            "weekly": "Every week on a day", "monthly": "Every month on a day",
            "cron": "Cron expression"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Reports are digests: a cron expression firing more often than hourly is refused.
MIN_GAP = dt.timedelta(minutes=59)
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class When:
    cadence: str
    local_time: dt.time
    timezone: str
    day: int | None = None  # ISO weekday 1-7 (weekly) or day of month 1-28 (monthly)
    cron: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def expression(self) -> str:
        """The cron expression (minute hour day month weekday) over local wall time."""
        if self.cadence == "cron":
            return self.cron or ""
        m, h = self.local_time.minute, self.local_time.hour
        if self.cadence == "daily":
            return f"{m} {h} * * *"
        if self.cadence == "weekdays":
            return f"{m} {h} * * 1-5"
        if self.cadence == "weekly":
            return f"{m} {h} * * {self.day % 7}"  # cron: 0 = Sunday
        return f"{m} {h} {self.day} * *"

    def describe(self) -> str:
        clock = self.local_time.strftime("%H:%M")
        if self.cadence == "daily":
            text = f"Every day at {clock}"
        elif self.cadence == "weekdays":
            text = f"Weekdays at {clock}"
        elif self.cadence == "weekly":
            text = f"Every {WEEKDAYS[self.day - 1]} at {clock}"
        elif self.cadence == "monthly":
            text = f"Monthly on day {self.day} at {clock}"
        else:
            text = f"Cron '{self.cron}'"
        return f"{text} ({self.timezone})"


def localize(naive: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A wall time in ``zone`` as a UTC instant: a skipped time moves past the change, a
    repeated one is its first occurrence (both what ``fold=0`` means)."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_due(when: When, after: dt.datetime) -> dt.datetime:
    """The first due instant strictly after ``after`` (aware), in UTC."""
    zone = when.zone
    # Start an hour early in local wall time: a skipped wall time maps past ``after``.
    start = after.astimezone(zone).replace(tzinfo=None) - dt.timedelta(hours=2)
    times = croniter(when.expression(), start)
    for _ in range(2000):
        candidate = localize(times.get_next(dt.datetime), zone)
        if candidate > after:
            return candidate
    raise ValidationError("this schedule never comes due")


def upcoming(when: When, after: dt.datetime, count: int) -> list[dt.datetime]:
    out = []
    for _ in range(count):
        after = next_due(when, after)
        out.append(after)
    return out


# --------------------------------------------------------------------------- validation


def parse_time(value) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    match = _TIME_RE.match(str(value or "").strip())
    if not match:
        raise ValidationError(f"time {str(value)[:20]!r} is not a 24-hour HH:MM time "
                              "(for example 08:00)")
    return dt.time(int(match.group(1)), int(match.group(2)))


def parse_timezone(value) -> str:
    name = str(value or "").strip()
    if name.upper() == "UTC":
        return "UTC"
    if "/" not in name or name not in available_timezones():
        raise ValidationError(f"unknown time zone {name[:60]!r}: use an IANA name such as "
                              "Europe/London or America/New_York")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name[:60]!r}") from None
    return name


def _int(value, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(f"{what} must be a whole number, not {str(value)[:20]!r}") from None


def parse_when(cadence, local_time=None, timezone=None, day=None, cron=None) -> When:
    """A validated ``When``; ValidationError says what to fix."""
    if cadence not in CADENCES:
        raise ValidationError(f"unknown cadence {str(cadence)[:30]!r}; choose one of: "
                              f"{', '.join(CADENCES)}")
    zone = parse_timezone(timezone)
    if cadence == "cron":
        expression = " ".join(str(cron or "").split())
        if len(expression.split(" ")) != 5 or not croniter.is_valid(expression):
            raise ValidationError(f"cron expression {expression[:60]!r} is not valid: five "
                                  "fields, minute hour day-of-month month day-of-week "
                                  "(for example '0 9 * * 1' for Mondays at 09:00)")
        when = When("cron", dt.time(0, 0), zone, None, expression)
        due = upcoming(when, dt.datetime.now(UTC), 48)
        if any(b - a < MIN_GAP for a, b in zip(due, due[1:], strict=False)):
            raise ValidationError("a report may run at most once an hour: this cron "
                                  "expression fires more often")
        return when
    clock = parse_time(local_time)
    number = None
    if cadence == "weekly":
        number = _int(day, "the weekday")
        if not 1 <= number <= 7:
            raise ValidationError("the weekday must be 1 (Monday) to 7 (Sunday)")
    elif cadence == "monthly":
        number = _int(day, "the day of the month")
        if not 1 <= number <= 28:
            raise ValidationError("the day of the month must be 1 to 28, so that every "
                                  "month has it")
    return When(cadence, clock, zone, number, None)
