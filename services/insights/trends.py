"""Trend-change detection: when the direction of a metric's trend turns.

The series is summed into complete weeks (which removes the weekly cycle) and taken in logs
(so slopes are growth rates). For every candidate week a continuous two-piece line (a hinge)
is fitted by least squares with statsmodels; the best hinge is kept when

* the slopes on either side have opposite signs (the direction really turned),
* each slope is at least ``MIN_SLOPE`` (1 % a week) and each side lasts at least
  ``MIN_WEEKS`` (so a seasonal wiggle of a few weeks is not a trend), and
* the turn is statistically clear: the hinge coefficient's t-value is at least ``MIN_T``.

The turn week is then refined with a hinge fitted only to the ``LOCAL_WEEKS`` on each side,
where slow yearly seasonality bends the line least. In plain words: "revenue fell about 2 %
a week for 7 months, and since mid-August it has been rising about 2 % a week".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.context import ServiceContext
from services.insights.anomalies import history_window
from services.insights.series import DETECTED
from services.insights.store import history_model
from services.metrics import METRICS, metric_values
from services.series import clean, daily_frames, to_weekly

MIN_WEEKS = 12
MIN_SLOPE = 0.01  # log units a week (~1 %/week)
MIN_T = 5.0
LOCAL_WEEKS = 10


def _hinge(y: np.ndarray, k: int):
    import statsmodels.api as sm  # slow to import: on first use

    t = np.arange(len(y), dtype=float)
    design = sm.add_constant(np.column_stack([t, np.maximum(0.0, t - k)]))
    return sm.OLS(y, design).fit()


def _best_hinge(y: np.ndarray, candidates: range) -> int:
    """The hinge week with the smallest squared error (plain least squares for the scan;
    statsmodels fits the chosen one, for its t-values)."""
    t = np.arange(len(y), dtype=float)
    best_k, best_ssr = candidates.start, np.inf
    for k in candidates:
        design = np.column_stack([np.ones_like(t), t, np.maximum(0.0, t - k)])
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        ssr = float(np.sum((design @ coef - y) ** 2))
        if ssr < best_ssr:
            best_k, best_ssr = k, ssr
    return best_k


def detect(values: pd.Series) -> list[dict]:
    """Trend turns of a weekly positive series (index: week starts). Each turn: date (first
    week of the new trend), slope_before_pct and slope_after_pct (% per week), direction_before
    and direction_after ('up' / 'down'), weeks_before (how long the previous trend lasted),
    weeks_after, t (the hinge's t-value), value_at_turn (fitted, in the series' units)."""
    values = values.astype(float)
    if values.isna().any() or (values <= 0).any() or len(values) < 2 * MIN_WEEKS + 1:
        return []
    y = np.log(values.to_numpy())
    n = len(y)
    k = _best_hinge(y, range(MIN_WEEKS, n - MIN_WEEKS))
    fit = _hinge(y, k)
    before, after = fit.params[1], fit.params[1] + fit.params[2]
    if not (np.sign(before) != np.sign(after) and min(abs(before), abs(after)) >= MIN_SLOPE
            and abs(fit.tvalues[2]) >= MIN_T):
        return []
    lo, hi = max(0, k - LOCAL_WEEKS), min(n, k + LOCAL_WEEKS + 1)
    if hi - lo >= 2 * 4 + 1:
        k = lo + _best_hinge(y[lo:hi], range(4, hi - lo - 4))
    fit = _hinge(y, k)
    before, after = fit.params[1], fit.params[1] + fit.params[2]
    if np.sign(before) == np.sign(after):
        return []
    return [{
        "date": values.index[k].date().isoformat(),
        "slope_before_pct": float(np.expm1(before) * 100.0),
        "slope_after_pct": float(np.expm1(after) * 100.0),
        "direction_before": "up" if before > 0 else "down",
        "direction_after": "up" if after > 0 else "down",
        "weeks_before": int(k),
        "weeks_after": int(n - k),
        "since": values.index[0].date().isoformat(),
        "t": float(fit.tvalues[2]),
        "value_at_turn": float(np.exp(fit.fittedvalues[k])),
    }]


@history_model
def company_trend_changes(ctx: ServiceContext, company_id: int) -> dict:
    """Trend turns of every KPI series of the company (weekly sums of the daily history)."""
    with ctx.session() as session:
        window = history_window(session, company_id)
        if window is None:
            return {"company_id": company_id, "window": None, "trend_changes": []}
        weekly = to_weekly(daily_frames(session, company_id, *window)[None])
    found = []
    for metric in DETECTED:
        for turn in detect(metric_values(weekly, metric)):
            spec = METRICS[metric]
            found.append({"metric": metric, "label": spec.label, "unit": spec.unit,
                          "good": spec.good, "channel": None, "grain": "week",
                          **{k: clean(v) if isinstance(v, float) else v
                             for k, v in turn.items()}})
    found.sort(key=lambda turn: turn["date"], reverse=True)
    return {"company_id": company_id,
            "window": {"start": window[0].isoformat(), "end": window[1].isoformat()},
            "trend_changes": found}
