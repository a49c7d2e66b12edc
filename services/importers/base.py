"""What a format module gives the import runner, and the parsing helpers they share.

A format recognises its export from the header (``fits``) and maps the text cells onto the
warehouse (``map``): one row of ``Mapped.rows`` per source row, in the canonical columns below,
with every problem of every row collected at once in ``Mapped.reasons`` (lazy validation: a
row's reasons are all its failures, not the first)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.importers.reading import Table, normalise
from services.ingest import _Reasons

# Canonical columns of Mapped.rows (a format leaves out those it has nothing for).
COMPANY = "company"  # company name (formats with a company column)
CAMPAIGN_COLUMNS = ("campaign_key", "campaign_name", "channel", "goal", "segment",
                    "target_audience", "location", "language", "start_date", "end_date",
                    "engagement_score", "budget_allocated", "daily_budget", "project")
EVENT_COLUMNS = ("occurred_at", "device", "impressions", "clicks", "conversions", "cost",
                 "revenue")


@dataclass
class Mapped:
    rows: pd.DataFrame  # index = row numbers
    reasons: _Reasons
    used: list[str]  # source columns the mapping read
    notes: list[str] = field(default_factory=list)


class Format:
    name: str = ""  # --format value, and the source of campaigns and natural keys
    title: str = ""
    has_company_column = False
    # (reason prefix, the fix to name in the summary)
    fixes: tuple[tuple[str, str], ...] = ()

    def fits(self, columns: set[str]) -> bool:
        raise NotImplementedError

    def map(self, table: Table, options: dict) -> Mapped:
        raise NotImplementedError


def column_index(table: Table) -> dict[str, str]:
    """normalised name -> the header's own spelling (first wins)."""
    found: dict[str, str] = {}
    for column in table.columns:
        found.setdefault(normalise(column), column)
    return found


def text_cells(series: pd.Series) -> pd.Series:
    """Stripped text; empty cells as <NA>."""
    stripped = series.fillna("").astype(str).str.strip()
    return stripped.mask(stripped == "")


def _shown(series: pd.Series) -> pd.Series:
    return series.astype(str).str.slice(0, 40).map(repr)


def numbers(series: pd.Series, label: str, reasons: _Reasons, *, money: bool = False,
            whole: bool = False, required: bool = True, minimum: float | None = 0,
            maximum: float | None = None) -> pd.Series:
    """Text cells as float64 (<NA> as NaN), each failure a reason of its row. ``money``
    accepts currency strings ('$16,174.00'; a comma is a thousands separator)."""
    cells = text_cells(series)
    if money:
        values = pd.to_numeric(cells.str.replace(r"[$€£,\s]", "", regex=True),
                               errors="coerce")
    else:
        values = pd.to_numeric(cells, errors="coerce")
    values = values.astype("float64")
    empty = cells.isna().to_numpy()
    if required:
        reasons.add(empty, f"missing {label}")
    bad = ~empty & ~np.isfinite(values.to_numpy())
    if bad.any():
        kind = "an amount" if money else "a number"
        reasons.add(bad, f"{label} must be {kind}, got " + _shown(series))
    finite = np.isfinite(values.to_numpy())
    if minimum is not None:
        reasons.add(finite & (values.to_numpy() < minimum), f"{label} is below {minimum:g}")
    if maximum is not None:
        reasons.add(finite & (values.to_numpy() > maximum), f"{label} is above {maximum:g}")
    if whole:
        reasons.add(finite & (values.to_numpy() % 1 != 0), f"{label} must be a whole number")
    return values.where(finite)


def dates(series: pd.Series, label: str, reasons: _Reasons) -> pd.Series:
    """ISO dates (YYYY-MM-DD) as datetime64 (NaT when missing or bad, with a reason)."""
    cells = text_cells(series)
    parsed = pd.to_datetime(cells, errors="coerce", format="ISO8601")
    empty = cells.isna().to_numpy()
    reasons.add(empty, f"missing {label}")
    bad = ~empty & parsed.isna().to_numpy()
    if bad.any():
        reasons.add(bad, f"{label} is not a date (YYYY-MM-DD), got " + _shown(series))
    return parsed


def required_text(series: pd.Series, label: str, reasons: _Reasons,
                  max_length: int) -> pd.Series:
    cells = text_cells(series)
    reasons.add(cells.isna().to_numpy(), f"missing {label}")
    too_long = cells.str.len().fillna(0).to_numpy() > max_length
    reasons.add(too_long, f"{label} is longer than {max_length} characters")
    return cells


def optional_text(series: pd.Series | None, index: pd.Index, label: str, reasons: _Reasons,
                  max_length: int) -> pd.Series:
    if series is None:
        return pd.Series(pd.NA, index=index, dtype=object)
    cells = text_cells(series)
    too_long = cells.str.len().fillna(0).to_numpy() > max_length
    reasons.add(too_long, f"{label} is longer than {max_length} characters")
    return cells


DAYS = re.compile(r"^\s*(\d{1,4})\s*(?:days?|d)?\s*$", re.IGNORECASE)


def durations(series: pd.Series, label: str, reasons: _Reasons) -> pd.Series:
    """'30 days' -> 30 (Int64)."""
    cells = text_cells(series)
    days = pd.to_numeric(cells.str.extract(DAYS.pattern, flags=re.IGNORECASE)[0],
                         errors="coerce")
    empty = cells.isna().to_numpy()
    reasons.add(empty, f"missing {label}")
    bad = ~empty & (days.isna().to_numpy() | (days.fillna(1) < 1).to_numpy())
    if bad.any():
        reasons.add(bad, f"{label} must be a number of days like '30 days', got "
                    + _shown(series))
    return days.astype("Int64")
