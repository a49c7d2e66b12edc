"""Daily, weekly and monthly frames of a company's base quantities, built from rollups: what the
KPI cards' sums and sparklines, the insights engine and the forecasts all read. Ratios are
taken from these sums by the metric catalogue (``services.metrics``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from db.queries import timeseries as queries

BASE_COLUMNS = ("impressions", "clicks", "conversions", "spend", "revenue")


def _frame(block: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    """A daily frame from a (days x base columns) block; ad conversions are its conversions."""
    return pd.DataFrame(np.column_stack([block, block[:, 2]]), index=index,
                        columns=[*BASE_COLUMNS, "ad_conversions"])


def _day_offsets(rows: list[dict], start: dt.date) -> np.ndarray:
    return np.fromiter(((row["day"] - start).days for row in rows), dtype=np.int64,
                       count=len(rows))


def daily_frames(session, company_id: int, start: dt.date, end: dt.date, *,
                 device: str | None = None) -> dict[str | None, pd.DataFrame]:
    """Daily base columns, every day of [start, end] present (zeros where nothing happened):
    key None is the company total (ad plus CRM and e-commerce revenue and conversions, as the
    KPI cards count them), other keys are channels (ad activity only)."""
    # Built in numpy blocks, one per channel: per-channel pandas assignment cost ~25 ms a
    # call, most of a cold KPI or insights request.
    index = pd.date_range(start, end, freq="D")
    rows = queries.ad_daily(session, company_id, start, end, by_channel=True, device=device)
    total = np.zeros((len(index), len(BASE_COLUMNS)))
    ad_conversions = np.zeros(len(index))
    frames: dict[str | None, pd.DataFrame] = {}
    if rows:
        offsets = _day_offsets(rows, start)
        values = np.array([[row[c] for c in BASE_COLUMNS] for row in rows], dtype=float)
        channels = np.array([str(row["channel"]) for row in rows], dtype=object)
        for channel in sorted(set(channels)):
            mine = channels == channel
            block = np.zeros_like(total)
            block[offsets[mine]] = values[mine]
            frames[channel] = _frame(block, index)
            total += block
        ad_conversions = total[:, 2].copy()
    if device is None:
        sales = queries.sales_daily(session, company_id, start, end)
        if sales:
            offsets = _day_offsets(sales, start)
            total[offsets, 2] += [float(row["conversions"]) for row in sales]
            total[offsets, 4] += [float(row["revenue"]) for row in sales]
    company = _frame(total, index)
    company["ad_conversions"] = ad_conversions
    frames[None] = company
    return frames


def to_monthly(frame: pd.DataFrame) -> pd.DataFrame:
    """Calendar-month sums of a daily frame (ratios are recomputed from the sums)."""
    return frame.resample("MS").sum()


def to_weekly(frame: pd.DataFrame) -> pd.DataFrame:
    """Monday-based weekly sums of a daily frame; only complete weeks."""
    counts = frame.iloc[:, 0].resample("W-SUN").count()
    weekly = frame.resample("W-SUN").sum()
    weekly = weekly[counts == 7]
    weekly.index = weekly.index - pd.Timedelta(days=6)  # label by the Monday
    return weekly


def clean(value: float | None) -> float | None:
    """A JSON-safe float: NaN and infinities become None."""
    if value is None:
        return None
    value = float(value)
    return None if not np.isfinite(value) else value
