"""The company's calendar as the anomaly detector sees it: public holidays (and the days next
to them) named so that the same day of different years shares one name.

``calendar_days(country, first, last)`` maps each such date to a name like "Christmas Day",
"Christmas Eve" or "the day after Thanksgiving Day". The detector compares a named day with
the same name in the other years of the history (``anomalies.detect``): traffic that halves
every Christmas is Christmas, not an anomaly; a Christmas unlike the other Christmases is.
"""

from __future__ import annotations

import datetime as dt
import functools

DEFAULT_COUNTRY = "US"
# Days next to a holiday often move with it (Christmas Eve, the Friday after Thanksgiving);
# the holidays package names only the day itself.
EVE_NAMES = {"Christmas Day": "Christmas Eve", "New Year's Day": "New Year's Eve"}


@functools.lru_cache(maxsize=32)
def _holidays(country: str, years: tuple[int, ...]) -> dict[dt.date, str]:
    import holidays  # on first use: a web worker answers its health check before any fit

    try:
        found = holidays.country_holidays(country, years=years)
    except NotImplementedError:  # a country the package does not know: no holidays
        return {}
    # "Christmas Day (observed)" is a different day of the week each year and seldom recurs
    # on the same weekday: it keeps its own name (usually no history, so judged as any day).
    return {day: name.split(";")[0].strip() for day, name in found.items()}


def supported(country: str) -> bool:
    """Whether the holidays package knows the country: its ISO codes and aliases ("UK")."""
    from holidays.registry import COUNTRIES

    return any(country.upper() in spec[1:] for spec in COUNTRIES.values())


def calendar_days(country: str | None, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """Holidays of ``country`` between ``first`` and ``last`` and the eve / day after each
    (when that day is no holiday itself), by their recurring name."""
    if not country:
        return {}
    years = tuple(range(first.year - 1, last.year + 2))
    named = _holidays(country.upper(), years)
    out: dict[dt.date, str] = {}
    for day, name in named.items():
        before, after = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
        if before not in named and "(observed)" not in name:
            out.setdefault(before, EVE_NAMES.get(name, f"the day before {name}"))
        if after not in named and "(observed)" not in name:
            out.setdefault(after, f"the day after {name}")
    out.update(named)  # a holiday's own name wins over a neighbour's
    return {day: name for day, name in out.items() if first <= day <= last}


@functools.lru_cache(maxsize=1)
def countries() -> tuple[tuple[str, str], ...]:
    """(code, name) of every country the holidays package knows, by name: the choices of the
    company's holiday country."""
    # The registry names every country without importing its module: the package's own
    # list_supported_countries() imports all of them (~200 ms, on a worker's first page).
    from holidays.registry import COUNTRIES

    return tuple(sorted(((spec[1], module.replace("_", " ").title())
                         for module, spec in COUNTRIES.items()), key=lambda pair: pair[1]))
