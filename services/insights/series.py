"""The KPI time series the insights engine works on, built from rollups.

One catalogue of metrics (label, unit, which direction is good, formula over daily sums) so the
detectors, the sentences and the charts agree on what a metric is. Formulas are DESIGN.md's;
percentages are carried as percent (CTR 2.5 means 2.5 %), a zero denominator gives NaN in a
series and None in a result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from db.queries import timeseries as queries

BASE_COLUMNS = ("impressions", "clicks", "conversions", "spend", "revenue")


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # USD, count, %, x
    good: int  # +1 higher is better, -1 lower is better, 0 neither
    numerator: str | None = None  # ratio metrics: numerator / denominator (x scale)
    denominator: str | None = None
    scale: float = 1.0


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("revenue", "Revenue", "USD", 1),
    Metric("spend", "Spend", "USD", 0),
    Metric("impressions", "Impressions", "count", 1),
    Metric("clicks", "Clicks", "count", 1),
    Metric("conversions", "Conversions", "count", 1),
    Metric("ctr", "CTR", "%", 1, "clicks", "impressions", 100.0),
    Metric("conversion_rate", "Conversion rate", "%", 1, "ad_conversions", "clicks", 100.0),
    Metric("cpc", "CPC", "USD", -1, "spend", "clicks"),
    Metric("cpa", "CPA", "USD", -1, "spend", "conversions"),
    Metric("roas", "ROAS", "x", 1, "revenue", "spend"),
)}
# The series every detector scans: at company level and per channel.
DETECTED = ("revenue", "spend", "impressions", "clicks", "conversions", "ctr",
            "conversion_rate", "cpc", "cpa", "roas")

# Which metrics move when one base quantity is disturbed (the generator's patterns and real
# incidents alike): a CTR problem is an impressions problem seen through a ratio, and so on.
# Used to group the findings of one incident and to score detections against ground truth.
EFFECTS: dict[str, frozenset[str]] = {
    "spend": frozenset({"spend", "cpc", "cpa", "roas"}),
    "clicks": frozenset({"clicks", "ctr", "cpc", "conversion_rate"}),
    "impressions": frozenset({"impressions", "ctr"}),
    "ctr": frozenset({"impressions", "ctr"}),
    "conversions": frozenset({"conversions", "conversion_rate", "cpa"}),
    "revenue": frozenset({"revenue", "roas"}),
}


def metric_values(frame: pd.DataFrame, metric: str) -> pd.Series:
    """One metric from a frame of summed base columns (rows: days, months or groups)."""
    spec = METRICS[metric]
    if spec.numerator is None:
        return frame[metric].astype(float)
    numerator = frame[spec.numerator].astype(float)
    denominator = frame[spec.denominator].astype(float)
    return (numerator / denominator.where(denominator != 0)) * spec.scale


def metric_value(totals: dict, metric: str) -> float | None:
    """One metric from summed base quantities; None for a zero denominator."""
    spec = METRICS[metric]
    if spec.numerator is None:
        return float(totals[metric])
    denominator = float(totals[spec.denominator])
    return float(totals[spec.numerator]) / denominator * spec.scale if denominator else None


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
