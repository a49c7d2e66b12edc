"""Daily, weekly and monthly frames of a company's base quantities, built from rollups: what the
KPI cards' sums and sparklines, the insights engine and the forecasts all read. Ratios are
taken from these sums by the metric catalogue (``services.metrics``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from db.queries import timeseries as queries

BASE_COLUMNS = ("impressions", "clicks", "conversions", "spend", "revenue")


def _empty(index: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame(0.0, index=index, columns=[*BASE_COLUMNS, "ad_conversions"])


def daily_frames(session, company_id: int, start: dt.date, end: dt.date, *,
                 device: str | None = None) -> dict[str | None, pd.DataFrame]:
    """Daily base columns, every day of [start, end] present (zeros where nothing happened):
    key None is the company total (ad plus CRM and e-commerce revenue and conversions, as the
    KPI cards count them), other keys are channels (ad activity only)."""
    index = pd.date_range(start, end, freq="D")
    ads = pd.DataFrame(queries.ad_daily(session, company_id, start, end, by_channel=True,
                                        device=device))
    frames: dict[str | None, pd.DataFrame] = {}
    total = _empty(index)
    if not ads.empty:
        ads["day"] = pd.to_datetime(ads["day"])
        for channel, rows in ads.groupby("channel"):
            frame = _empty(index)
            values = rows.set_index("day")[list(BASE_COLUMNS)].astype(float)
            frame.loc[values.index, list(BASE_COLUMNS)] = values.to_numpy()
            frame["ad_conversions"] = frame["conversions"]
            frames[str(channel)] = frame
            total = total.add(frame, fill_value=0.0)
    if device is None:
        sales = pd.DataFrame(queries.sales_daily(session, company_id, start, end))
        if not sales.empty:
            sales["day"] = pd.to_datetime(sales["day"])
            sales = sales.set_index("day")[["conversions", "revenue"]].astype(float)
            total.loc[sales.index, "conversions"] += sales["conversions"].to_numpy()
            total.loc[sales.index, "revenue"] += sales["revenue"].to_numpy()
    frames[None] = total
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
