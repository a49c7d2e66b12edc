"""Forecasts with 95 % prediction intervals, and a rolling backtest against seasonal-naive.

Model: statsmodels' ETS (error, trend, seasonal = additive, additive damped, none) on the log of
weekly totals. Weekly totals remove the weekly cycle; the log makes the interval multiplicative
(a band of +-x %); a damped trend keeps a long horizon from running away. A yearly cycle needs
two years of history to estimate and the demo has eighteen months, so it is not modelled:
the backtest says how much that costs.

Backtest: from each of several origins in the last half year, forecast ``BACKTEST_HORIZON``
weeks with only the data before the origin and compare with what happened (MAPE). The
baseline is the seasonal-naive forecast (the same week one year earlier), and for reference
the naive one (the last week repeated).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd

from services.access import Scope
from services.cache import cached
from services.context import ServiceContext
from services.errors import ValidationError
from services.insights.anomalies import history_window
from services.insights.store import history_model
from services.metrics import METRICS, metric_values
from services.series import clean, daily_frames, to_weekly

MAX_HORIZON_WEEKS = 52  # 12 months
WEEKS_PER_MONTH = 52 / 12
SEASON_WEEKS = 52
BACKTEST_HORIZON = 13  # a quarter
BACKTEST_ORIGINS = 4
BACKTEST_STEP = 4
MIN_HISTORY = 26
ALPHA = 0.05  # 95 % intervals


def forecast_weekly(values: pd.Series, horizon: int) -> pd.DataFrame:
    """Mean and 95 % interval for the next ``horizon`` weeks of a positive weekly series."""
    if len(values) < MIN_HISTORY or (values <= 0).any() or values.isna().any():
        raise ValidationError(f"a forecast needs {MIN_HISTORY} weeks of positive history")
    from statsmodels.tools.sm_exceptions import ConvergenceWarning  # slow: on first use
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    log = pd.Series(np.log(values.to_numpy(dtype=float)), index=pd.RangeIndex(len(values)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = ETSModel(log, error="add", trend="add", damped_trend=True).fit(disp=False)
        frame = fit.get_prediction(start=len(log), end=len(log) + horizon - 1) \
            .summary_frame(alpha=ALPHA)
    index = pd.date_range(values.index[-1] + pd.Timedelta(weeks=1), periods=horizon, freq="7D")
    return pd.DataFrame({"mean": np.exp(frame["mean"].to_numpy()),
                         "lower": np.exp(frame["pi_lower"].to_numpy()),
                         "upper": np.exp(frame["pi_upper"].to_numpy())}, index=index)


def backtest(values: pd.Series, horizon: int = BACKTEST_HORIZON,
             origins: int = BACKTEST_ORIGINS, step: int = BACKTEST_STEP) -> dict | None:
    """Rolling-origin MAPE of the model, of seasonal-naive and of naive, and the share of
    held-out weeks inside the 95 % interval. None when the history is too short."""
    n = len(values)
    last_origin = n - horizon
    starts = [last_origin - i * step for i in range(origins)]
    starts = [s for s in starts if s >= max(MIN_HISTORY, SEASON_WEEKS)]
    if not starts:
        return None
    y = values.to_numpy(dtype=float)
    model, seasonal, naive, inside = [], [], [], []
    for origin in sorted(starts):
        truth = y[origin:origin + horizon]
        frame = forecast_weekly(values.iloc[:origin], horizon)
        model += list(np.abs(frame["mean"].to_numpy() - truth) / truth)
        inside += list((truth >= frame["lower"].to_numpy()) & (truth <= frame["upper"].to_numpy()))
        seasonal += list(np.abs(y[origin - SEASON_WEEKS:origin - SEASON_WEEKS + horizon] - truth)
                         / truth)
        naive += list(np.abs(y[origin - 1] - truth) / truth)
    mape, snaive = float(np.mean(model) * 100), float(np.mean(seasonal) * 100)
    return {
        "mape": mape,
        "seasonal_naive_mape": snaive,
        "naive_mape": float(np.mean(naive) * 100),
        "beats_seasonal_naive": mape < snaive,
        "coverage": float(np.mean(inside)),
        "origins": len(starts),
        "horizon_weeks": horizon,
        "held_out_weeks": len(inside),
    }


def horizon_weeks(months: int | str | None) -> int:
    try:
        months = 3 if months in (None, "") else int(months)
    except (TypeError, ValueError):
        raise ValidationError(f"horizon must be a number of months, not {months!r}") from None
    if not 1 <= months <= 12:
        raise ValidationError("horizon must be between 1 and 12 months")
    return min(MAX_HORIZON_WEEKS, round(months * WEEKS_PER_MONTH))


def weekly_series(session, company_id: int, metric: str) -> pd.Series | None:
    window = history_window(session, company_id)
    if window is None:
        return None
    weekly = to_weekly(daily_frames(session, company_id, *window)[None])
    return metric_values(weekly, metric)


@cached()
def metric_forecast(ctx: ServiceContext, scope: Scope, metric: str = "revenue",
                    horizon_months: int | str | None = 3) -> dict:
    """History (the last 52 complete weeks), forecast with its 95 % band for the horizon, and
    the backtest."""
    company_id = scope.company_id
    if metric not in METRICS or METRICS[metric].unit not in ("USD", "count"):
        raise ValidationError(f"cannot forecast {metric!r}; use revenue, spend, clicks, "
                              "impressions or conversions")
    horizon = horizon_weeks(horizon_months)
    result = forecast_model(ctx, company_id, metric)
    # A step's mean and interval do not depend on how many steps follow (exact intervals of
    # an additive-error ETS), so the stored 12-month forecast is cut to the horizon asked.
    result["forecast"] = result["forecast"][:horizon]
    result["horizon_weeks"] = horizon
    return result


@history_model
def forecast_model(ctx: ServiceContext, company_id: int, metric: str) -> dict:
    """``metric_forecast`` over the longest horizon."""
    horizon = MAX_HORIZON_WEEKS
    with ctx.session() as session:
        values = weekly_series(session, company_id, metric)
    result = {"company_id": company_id, "metric": metric, "label": METRICS[metric].label,
              "unit": METRICS[metric].unit, "grain": "week", "horizon_weeks": horizon,
              "interval": 1 - ALPHA, "model": "ETS(A,Ad,N) on log weekly totals",
              "history": [], "forecast": [], "backtest": None, "message": None}
    if values is None or len(values) < MIN_HISTORY:
        result["message"] = f"Not enough history to forecast (needs {MIN_HISTORY} weeks)."
        return result
    values = values.fillna(0.0)
    result["history"] = [{"week": day.date().isoformat(), "value": clean(v)}
                         for day, v in values.iloc[-SEASON_WEEKS:].items()]
    try:
        frame = forecast_weekly(values, horizon)
    except ValidationError as error:
        result["message"] = str(error)
        return result
    result["forecast"] = [{"week": day.date().isoformat(), "mean": clean(row["mean"]),
                           "lower": clean(row["lower"]), "upper": clean(row["upper"])}
                          for day, row in frame.iterrows()]
    result["backtest"] = backtest(values)
    return result


def month_label(day: str) -> str:
    return dt.date.fromisoformat(day).strftime("%b %Y")
