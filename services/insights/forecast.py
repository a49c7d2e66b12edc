"""Forecasts with 95 % prediction intervals, chosen per series by a rolling backtest against
seasonal-naive.

Candidates, all on the log of weekly totals (weekly totals remove the weekly cycle; the log
makes the interval multiplicative, a band of +-x %):
* ``damped_trend``: statsmodels' ETS (error, trend, seasonal = additive, additive damped,
  none); a damped trend keeps a long horizon from running away. No yearly cycle.
* ``yearly_season``: a robust STL split with a 52-week season, the season carried forward and
  the same damped-trend ETS on the rest (statsmodels' STLForecast). Needs two years of history
  before every backtest origin (the demo's eighteen months do not have them).
* ``seasonal_naive``: the same week one year earlier; its band is the spread of the history's
  year-on-year log changes. Served when no model beats it: never a model that loses to it.

Backtest: from each of several origins in the last half year, forecast ``BACKTEST_HORIZON``
weeks with only the data before the origin and compare with what happened (MAPE). The
candidate with the lowest MAPE serves; for reference the naive forecast (the last week
repeated) is scored too. The reported coverage is the served model's: the share of held-out
weeks inside its 95 % band.
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
from services.series import BASE_COLUMNS, clean, daily_frames, to_weekly

MAX_HORIZON_WEEKS = 52  # 12 months
WEEKS_PER_MONTH = 52 / 12
SEASON_WEEKS = 52
BACKTEST_HORIZON = 13  # a quarter
BACKTEST_ORIGINS = 4
BACKTEST_STEP = 4
MIN_HISTORY = 26
ALPHA = 0.05  # 95 % intervals
Z = 1.959963984540054  # the normal quantile of a 95 % two-sided band
# The models in plain words, for the chart's trust text.
MODEL_NAMES = {
    "damped_trend": "trend that levels off, no yearly season",
    "yearly_season": "trend with yearly season",
    "seasonal_naive": "same week last year",
}


def _frame(values: pd.Series, mean, lower, upper) -> pd.DataFrame:
    index = pd.date_range(values.index[-1] + pd.Timedelta(weeks=1), periods=len(mean),
                          freq="7D")
    return pd.DataFrame({"mean": np.exp(mean), "lower": np.exp(lower),
                         "upper": np.exp(upper)}, index=index)


def _ets(log: pd.Series, horizon: int, *, season: int | None):
    """Damped-trend ETS of ``log``; with ``season``, of ``log`` less a robust STL season,
    which is added back as its last cycle repeated (as statsmodels' STLForecast does, but
    keeping ETS's prediction intervals)."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning  # slow: on first use
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.seasonal import STL

    cycle = np.zeros(horizon)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if season is not None:
            seasonal = STL(log, period=season, robust=True).fit().seasonal
            log = log - seasonal
            last = np.asarray(seasonal)[-season:]
            cycle = last[np.arange(horizon) % season]
        fit = ETSModel(log, error="add", trend="add", damped_trend=True).fit(disp=False)
        frame = fit.get_prediction(start=len(log), end=len(log) + horizon - 1) \
            .summary_frame(alpha=ALPHA)
    return (frame["mean"].to_numpy() + cycle, frame["pi_lower"].to_numpy() + cycle,
            frame["pi_upper"].to_numpy() + cycle)


def _seasonal_naive(log: np.ndarray, horizon: int):
    steps = np.arange(horizon)
    mean = log[len(log) - SEASON_WEEKS + steps % SEASON_WEEKS]
    # Its error is last year's week against this year's: the spread of year-on-year changes
    # (one more year of them for each year further ahead).
    spread = float(np.std(log[SEASON_WEEKS:] - log[:-SEASON_WEEKS], ddof=1))
    half = Z * spread * np.sqrt(1 + steps // SEASON_WEEKS)
    return mean, mean - half, mean + half


def usable_models(weeks: int) -> list[str]:
    """The candidates a history of ``weeks`` weeks can fit."""
    models = ["damped_trend"]
    if weeks >= 2 * SEASON_WEEKS:  # STL needs two whole seasons
        models.append("yearly_season")
    if weeks >= SEASON_WEEKS + 2:  # and a spread of year-on-year changes
        models.append("seasonal_naive")
    return models


def forecast_weekly(values: pd.Series, horizon: int, model: str = "damped_trend"
                    ) -> pd.DataFrame:
    """Mean and 95 % interval for the next ``horizon`` weeks of a positive weekly series."""
    if len(values) < MIN_HISTORY or (values <= 0).any() or values.isna().any():
        raise ValidationError(f"a forecast needs {MIN_HISTORY} weeks of positive history")
    if model not in usable_models(len(values)):
        raise ValidationError(f"the {MODEL_NAMES.get(model, model)!r} model needs more "
                              "history")
    log = pd.Series(np.log(values.to_numpy(dtype=float)), index=pd.RangeIndex(len(values)))
    if model == "seasonal_naive":
        return _frame(values, *_seasonal_naive(log.to_numpy(), horizon))
    season = SEASON_WEEKS if model == "yearly_season" else None
    return _frame(values, *_ets(log, horizon, season=season))


def backtest(values: pd.Series, horizon: int = BACKTEST_HORIZON,
             origins: int = BACKTEST_ORIGINS, step: int = BACKTEST_STEP) -> dict | None:
    """Rolling-origin MAPE and 95 % coverage of every usable candidate, of seasonal-naive and
    of naive; the candidate with the lowest MAPE is the one served (``model``), and ``mape``
    and ``coverage`` are its. None when the history is too short."""
    n = len(values)
    last_origin = n - horizon
    starts = [last_origin - i * step for i in range(origins)]
    starts = sorted(s for s in starts if s >= max(MIN_HISTORY, SEASON_WEEKS))
    if not starts:
        return None
    y = values.to_numpy(dtype=float)
    models = usable_models(starts[0])
    errors = {model: [] for model in models}
    inside = {model: [] for model in models}
    naive = []
    for origin in starts:
        truth = y[origin:origin + horizon]
        for model in models:
            frame = forecast_weekly(values.iloc[:origin], horizon, model)
            errors[model] += list(np.abs(frame["mean"].to_numpy() - truth) / truth)
            inside[model] += list((truth >= frame["lower"].to_numpy())
                                  & (truth <= frame["upper"].to_numpy()))
        naive += list(np.abs(y[origin - 1] - truth) / truth)
    # The same-week-last-year error of each held-out week (whether or not seasonal-naive
    # could give a band there).
    seasonal = []
    for origin in starts:
        truth = y[origin:origin + horizon]
        seasonal += list(np.abs(y[origin - SEASON_WEEKS:origin - SEASON_WEEKS + horizon]
                                - truth) / truth)
    snaive = float(np.mean(seasonal) * 100)
    candidates = [{"model": model, "name": MODEL_NAMES[model],
                   "mape": float(np.mean(errors[model]) * 100),
                   "coverage": float(np.mean(inside[model]))} for model in models]
    # A model must beat seasonal-naive to serve: on a tie, the simple guess serves.
    best = min(candidates, key=lambda c: (c["mape"], c["model"] != "seasonal_naive"))
    return {
        "model": best["model"],
        "model_name": best["name"],
        "mape": best["mape"],
        "seasonal_naive_mape": snaive,
        "naive_mape": float(np.mean(naive) * 100),
        "beats_seasonal_naive": best["mape"] < snaive,
        "coverage": best["coverage"],
        "candidates": candidates,
        "origins": len(starts),
        "horizon_weeks": horizon,
        "held_out_weeks": len(inside[best["model"]]),
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


def forecastable(metric: str) -> bool:
    """A sum (money or a count) of the company's daily series (``series.daily_frames``): a
    catalogue metric read from other facts (sessions, a CAC's new customers) is not."""
    spec = METRICS.get(metric)
    if spec is None or spec.unit not in ("USD", "count"):
        return False
    needs = {metric} if spec.numerator is None else {spec.numerator, spec.denominator}
    return needs <= {*BASE_COLUMNS, "ad_conversions"}


@cached()
def metric_forecast(ctx: ServiceContext, scope: Scope, metric: str = "revenue",
                    horizon_months: int | str | None = 3) -> dict:
    """History (the last 52 complete weeks), forecast with its 95 % band for the horizon, and
    the backtest."""
    company_id = scope.company_id
    if not forecastable(metric):
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
              "interval": 1 - ALPHA, "model": "damped_trend",
              "model_name": MODEL_NAMES["damped_trend"],
              "history": [], "forecast": [], "backtest": None, "message": None}
    if values is None or len(values) < MIN_HISTORY:
        result["message"] = f"Not enough history to forecast (needs {MIN_HISTORY} weeks)."
        return result
    values = values.fillna(0.0)
    result["history"] = [{"week": day.date().isoformat(), "value": clean(v)}
                         for day, v in values.iloc[-SEASON_WEEKS:].items()]
    try:
        # The backtest picks the model (seasonal-naive when no other beats it).
        result["backtest"] = backtest(values)
        if result["backtest"] is not None:
            result["model"] = result["backtest"]["model"]
            result["model_name"] = result["backtest"]["model_name"]
        frame = forecast_weekly(values, horizon, result["model"])
    except ValidationError as error:
        result["message"] = str(error)
        return result
    result["forecast"] = [{"week": day.date().isoformat(), "mean": clean(row["mean"]),
                           "lower": clean(row["lower"]), "upper": clean(row["upper"])}
                          for day, row in frame.iterrows()]
    return result


def month_label(day: str) -> str:
    return dt.date.fromisoformat(day).strftime("%b %Y")
