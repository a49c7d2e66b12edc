"""Number formatting for display: units, thousands separators, a dash for undefined values;
times of day in the user's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DASH = "—"


def money(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return DASH
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}"


def count(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f}"


def multiple(value: float | None) -> str:
    return DASH if value is None else f"{value:,.2f}x"


def percent(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return DASH
    if 0 < abs(value) < 0.1:  # a tiny rate (visits to leads) is not 0.0 %
        decimals = max(decimals, 3)
    return f"{value:,.{decimals}f}%"


def signed_percent(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return DASH
    arrow = "▲" if value > 0 else "▼" if value < 0 else "■"
    return f"{arrow} {abs(value):,.{decimals}f}%"


def signed_change(value: float | None, unit: str = "%", decimals: int = 1) -> str:
    """A period change with its arrow, in % (amounts) or percentage points (rates)."""
    if unit != "pp":
        return signed_percent(value, decimals)
    if value is None:
        return DASH
    arrow = "▲" if value > 0 else "▼" if value < 0 else "■"
    return f"{arrow} {abs(value):,.{decimals + 1}f} pp"


def duration(seconds: float | None) -> str:
    """Seconds as "2m 05s" (a dash when undefined)."""
    if seconds is None:
        return DASH
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def pages(value: float | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


BY_UNIT = {"USD": money, "count": count, "x": multiple, "%": percent, "s": duration,
           "pages": pages}


def by_unit(value: float | None, unit: str) -> str:
    return BY_UNIT.get(unit, count)(value)


def value_range(value: dict | None, unit: str) -> str:
    """An estimate as "low–high" with its unit (one value when its source calls it exact); a
    dash when there is none. Never a single number for a range."""
    if value is None or value.get("low") is None or value.get("high") is None:
        return DASH
    show = BY_UNIT.get(unit, count)
    small = unit == "USD" and max(abs(value["low"]), abs(value["high"])) < 100
    if value.get("exact") or value["low"] == value["high"]:
        return money(value["low"], 2) if small else show(value["low"])
    if small:
        return f"{money(value['low'], 2)}–{money(value['high'], 2)}"
    return f"{show(value['low'])}–{show(value['high'])}"


def signed_range(value: dict | None, unit: str) -> str:
    """A difference of ranges with signs ("+1.2 to +3.4 pp"); one value when exact."""
    if value is None:
        return DASH

    def one(v: float) -> str:
        if unit == "pp":
            return f"{v:+,.1f}"
        if unit == "USD":
            return ("+" if v >= 0 else "-") + money(abs(v), 2 if abs(v) < 100 else 0)
        if unit == "%":
            return f"{v:+,.1f}"
        return f"{v:+,.0f}"

    suffix = {"pp": " pp", "%": " pp"}.get(unit, "")
    if value.get("exact") or value["low"] == value["high"]:
        return one(value["low"]) + suffix
    return f"{one(value['low'])} to {one(value['high'])}{suffix}"


def clock(moment: dt.datetime | str | None, zone: str = "UTC", *,
          today: dt.date | None = None, seconds: bool = False) -> str:
    """A moment as the user reads it, in their time zone (a preference, UTC by default):
    "14:32 CET" today, "2026-11-30 14:32 CET" another day; a dash when unknown."""
    if moment is None or moment == "":
        return DASH
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    local = moment.astimezone(ZoneInfo(zone))
    today = today or dt.datetime.now(ZoneInfo(zone)).date()
    time_part = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    day_part = "" if local.date() == today else local.strftime("%Y-%m-%d ")
    return f"{day_part}{time_part} {local.tzname()}"
