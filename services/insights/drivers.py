"""The drivers of a change (issue #20): which channels, campaigns, segments or locations made a
company-level KPI move between two periods, and for a ratio whether it was a change of mix
(the denominator moved between groups) or of rate (a group's own ratio moved).

Exact additive decomposition. A ratio R = N / D over groups i is the share-weighted mean of
the groups' ratios: R = sum w_i r_i with w_i = D_i / D and r_i = N_i / D_i. Between periods 0
and 1, with r_bar_i and w_bar_i the two periods' means and R_bar = (R0 + R1) / 2:

    rate_i = (r1_i - r0_i) * w_bar_i
    mix_i  = (w1_i - w0_i) * (r_bar_i - R_bar)

and sum(rate_i + mix_i) = R1 - R0 exactly (the shares sum to one in both periods, so the
R_bar term adds nothing to the total; it makes a group's mix negative when the denominator
moved to a group weaker than the average, or away from a stronger one). A group absent in one
period takes its other period's ratio there: all its effect is mix. For a sum (spend,
clicks...) a group's contribution is simply its own change.

Reads the campaign rollup only (ads' figures: CTR, conversion rate, CPC, CPM, ad CPA, ad
ROAS, and the ads' sums), so every group adds up to the company's ad totals.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from db.queries import drivers as queries
from services.access import Scope, require
from services.cache import cached
from services.context import ServiceContext
from services.errors import NotFound, ValidationError
from services.insights.store import history_model
from services.metrics import METRICS

BASE = ("impressions", "clicks", "ad_conversions", "spend", "ad_revenue")
DIMENSIONS = ("channel", "campaign", "segment", "location")
RATIOS = ("ctr", "conversion_rate", "cpc", "cpm", "ad_cpa", "ad_roas")
SUMS = BASE
# The company's own revenue and conversions (the cards' and the anomaly detector's): the ads'
# plus CRM and e-commerce, which no campaign carries: a group of their own (``OTHER``).
TOTALS = ("revenue", "conversions")
OTHER = "CRM and e-commerce (not from ads)"
SUM_LABELS = {"impressions": "Impressions", "clicks": "Clicks",
              "ad_conversions": "Ad conversions", "spend": "Spend", "ad_revenue": "Ad revenue"}
MINOR = 0.1  # a mix or rate effect under a tenth of the other gets no clause
# What moves between groups in a mix effect, in words.
DENOMINATOR_WORDS = {"impressions": "impressions", "clicks": "clicks", "spend": "spend",
                     "ad_conversions": "conversions"}


def _ratio(numerator: float, denominator: float, scale: float) -> float | None:
    return numerator / denominator * scale if denominator else None


def decompose(before: pd.DataFrame, after: pd.DataFrame, metric: str) -> dict:
    """The change of ``metric`` between two frames of base quantities (index: the group,
    columns: ``BASE``), split into each group's contribution (and for ratios its mix and
    rate effects), largest first. None values when the metric is undefined in a period."""
    groups = before.index.union(after.index)
    before = before.reindex(groups, fill_value=0.0)
    after = after.reindex(groups, fill_value=0.0)
    if metric in SUMS or metric in TOTALS:
        total0, total1 = float(before[metric].sum()), float(after[metric].sum())
        rows = [{"group": str(g), "before": float(before.at[g, metric]),
                 "after": float(after.at[g, metric]), "mix": None, "rate": None,
                 "contribution": float(after.at[g, metric] - before.at[g, metric])}
                for g in groups]
        return _result(metric, total0, total1, rows)
    spec = METRICS[metric]
    num, den, scale = spec.numerator, spec.denominator, spec.scale
    d0, d1 = float(before[den].sum()), float(after[den].sum())
    r0_total = _ratio(float(before[num].sum()), d0, scale)
    r1_total = _ratio(float(after[num].sum()), d1, scale)
    if r0_total is None or r1_total is None:
        return _result(metric, r0_total, r1_total, [])
    w0, w1 = before[den] / d0, after[den] / d1
    with np.errstate(divide="ignore", invalid="ignore"):
        r0 = before[num] / before[den].where(before[den] > 0) * scale  # NaN, never inf
        r1 = after[num] / after[den].where(after[den] > 0) * scale
    # A group absent in a period has no ratio there: it takes the other period's.
    r0, r1 = r0.where(before[den] > 0, r1), r1.where(after[den] > 0, r0)
    r0, r1 = r0.fillna(0.0), r1.fillna(0.0)  # absent in both: no weight either way
    centre = (r0_total + r1_total) / 2
    rate = (r1 - r0) * (w0 + w1) / 2
    mix = (w1 - w0) * ((r0 + r1) / 2 - centre)
    # A numerator with no denominator in a period (revenue not from ads against ad spend, a
    # day's revenue of a campaign with no spend) is in the total but in no share: it counts
    # as its group's own (rate) effect, N / D of the period, so the split stays exact.
    unmatched0 = before[num].where(before[den] <= 0, 0.0) / d0 * scale
    unmatched1 = after[num].where(after[den] <= 0, 0.0) / d1 * scale
    rate = rate + unmatched1 - unmatched0
    rows = [{"group": str(g),
             "before": float(r0[g]) if before.at[g, den] > 0 else None,
             "after": float(r1[g]) if after.at[g, den] > 0 else None,
             "share_before": float(w0[g]), "share_after": float(w1[g]),
             "mix": float(mix[g]), "rate": float(rate[g]),
             "contribution": float(mix[g] + rate[g])} for g in groups]
    return _result(metric, r0_total, r1_total, rows)


def _result(metric: str, before, after, rows: list[dict]) -> dict:
    rows.sort(key=lambda r: -abs(r["contribution"]))
    change = None if before is None or after is None else after - before
    return {"metric": metric, "label": METRICS[metric].label if metric in METRICS
            else SUM_LABELS[metric], "unit": METRICS[metric].unit if metric in METRICS
            else ("USD" if metric in ("spend", "ad_revenue") else "count"),
            "before": before, "after": after, "change": change,
            "mix_total": sum(r["mix"] for r in rows) if rows and rows[0]["mix"] is not None
            else None,
            "rate_total": sum(r["rate"] for r in rows) if rows and rows[0]["rate"] is not None
            else None,
            "drivers": rows}


def _frame(rows: list[dict], dimension: str) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=list(BASE), dtype=float)
    return pd.DataFrame(rows).groupby(dimension)[list(BASE)].sum()


@cached()
def window_quantities(ctx: ServiceContext, scope: Scope, start: str, end: str) -> list[dict]:
    """Per campaign, the ads' base quantities over [start, end] (ISO dates): read once per
    data version for every metric and dimension a request splits over the same window (the
    insights list splits three cards' changes over the same two periods)."""
    with ctx.session() as session:
        return queries.campaign_quantities(session, scope.company_id,
                                           dt.date.fromisoformat(start),
                                           dt.date.fromisoformat(end))


@cached()
def change_drivers(ctx: ServiceContext, scope: Scope, metric: str, before: dict, after: dict,
                   dimension: str = "channel") -> dict:
    """The drivers of ``metric``'s change from the ``before`` period to the ``after`` one
    ({start, end} ISO dates) by ``dimension``."""
    require(ctx, scope, "executive")
    if metric not in RATIOS and metric not in SUMS:
        raise ValidationError(f"cannot split {metric!r}; use one of "
                              f"{', '.join(RATIOS + SUMS)}")
    if dimension not in DIMENSIONS:
        raise ValidationError(f"the dimension must be one of {', '.join(DIMENSIONS)}")
    try:
        windows = [(dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"]))
                   for p in (before, after)]
    except (KeyError, TypeError, ValueError):
        raise ValidationError("each period needs a start and an end date") from None
    frames = [_frame(window_quantities(ctx, scope, first.isoformat(), last.isoformat()),
                     dimension) for first, last in windows]
    result = decompose(*frames, metric)
    result.update(dimension=dimension, period_before=before, period_after=after)
    return result


def insight_drivers(ctx: ServiceContext, scope: Scope, insight_id: str,
                    range_name: str | None = None, start: str | None = None,
                    end: str | None = None, dimension: str | None = None,
                    segment: str | None = None) -> dict:
    """The drivers of one ranked insight of the period (``insight-N``, as the insights list
    names them): a card's change between the compared period and the period, or an anomaly's
    or a trend turn's between the periods its evidence names (``drivers_periods``)."""
    from services.insights.sentences import company_insights  # it uses this module

    insights = company_insights(ctx, scope, range_name, start, end, segment)["insights"]
    found = next((i for i in insights if i["id"] == str(insight_id)[:40]), None)
    if found is None:
        raise NotFound(f"no insight {str(insight_id)[:40]} in this period")
    evidence = found["evidence"]
    dimension = dimension or evidence.get("drivers_dimension") or "channel"
    periods = evidence.get("drivers_periods")
    if periods:  # an anomaly or a trend turn: its day(s) against its baseline
        result = period_drivers(ctx, scope, evidence["drivers_metric"], periods["before"],
                                periods["after"], dimension, evidence.get("channel"))
        return {"insight": found, **result}
    if found["kind"] != "change" or evidence.get("drivers") is None:
        raise ValidationError("only a change of CTR, conversion rate or spend over the "
                              "period, an anomaly or a trend turn of an ad metric splits "
                              "exactly into drivers")
    from services.kpis import executive_kpis

    kpis = executive_kpis(ctx, scope, range_name, start, end)
    result = change_drivers(ctx, scope, evidence["metric"], kpis["previous_period"],
                            kpis["period"], dimension)
    return {"insight": found, **result}


# ----------------------------------------------------------------------------- in words
def _amount(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:+.2f} pp"
    if unit == "USD":
        return f"{'-' if value < 0 else '+'}${abs(value):,.2f}"
    if unit == "x":
        return f"{value:+.2f}x"
    return f"{value:+,.0f}"


def driver_sentence(result: dict) -> str | None:
    """One sentence naming the group that drove most of the change, and for a ratio whether
    by mix or by rate: "Mostly because clicks moved to Facebook (mix, -1.36 pp), whose
    conversion rate also fell (rate, -0.80 pp)." None when nothing changed or no group moved
    the way the total did."""
    change, rows = result["change"], result["drivers"]
    if not change or not rows:
        return None
    top = next((r for r in rows if r["contribution"] * change > 0), None)
    if top is None:
        return None
    unit, name = result["unit"], top["group"]
    how = "Mostly because" if top["contribution"] / change >= 0.5 else "Partly because"
    if top["mix"] is None or not (top.get("share_before") or top.get("share_after")):
        # a sum, or a numerator with no denominator (CRM revenue against ad spend): the
        # group's own change
        moved = "rose" if top["contribution"] > 0 else "fell"
        if top["mix"] is not None:
            return (f"{how} {name} {moved} ({_amount(top['contribution'], unit)} of the "
                    f"{_amount(change, unit)} change).")
        return (f"{how} {result['label'].lower()} on {name} {moved} "
                f"({_amount(top['contribution'], unit)} of the {_amount(change, unit)} "
                "change).")
    spec = METRICS[result["metric"]]
    words = DENOMINATOR_WORDS.get(spec.denominator, spec.denominator)
    toward = "to" if top["share_after"] > top["share_before"] else "away from"
    mix = f"{words} moved {toward} {name} (mix, {_amount(top['mix'], unit)})"
    if top["before"] is None or top["after"] is None:
        return f"{how} {mix}."
    direction = "rose" if top["after"] > top["before"] else "fell"
    label = spec.label if any(w.isupper() for w in spec.label.split()) else spec.label.lower()
    rate = f"(rate, {_amount(top['rate'], unit)})"
    primary, secondary = sorted((top["mix"], top["rate"]), key=abs, reverse=True)
    minor = abs(secondary) < MINOR * abs(primary)  # not worth a clause
    if abs(top["mix"]) >= abs(top["rate"]):
        if minor:
            return f"{how} {mix}."
        also = "also " if top["rate"] * top["mix"] > 0 else ""
        return f"{how} {mix}, whose {label} {also}{direction} {rate}."
    if minor:
        return f"{how} the {label} of {name} {direction} {rate}."
    also = "and " if top["rate"] * top["mix"] > 0 else "while "
    return f"{how} the {label} of {name} {direction} {rate}, {also}{mix}."


# ------------------------------------------------------------- anomalies and trend turns
# The detector's series (``series.DETECTED``) and the decomposable metric behind each: the
# company's revenue, conversions, CPA and ROAS include CRM and e-commerce (the ``OTHER``
# group); a channel's series are its ads' own.
SPLIT_METRICS = ("revenue", "spend", "impressions", "clicks", "conversions", "ctr",
                 "conversion_rate", "cpc", "cpa", "roas")
BASELINE_WEEKS = 4  # an anomaly's day against the same weekday of up to 4 earlier weeks
LOOKBACK_WEEKS = 8  # ... searched this far back, skipping holidays and the incident
TREND_WEEKS = 4  # a trend turn: the 4 weeks before it against the latest 4 of the new trend


def _days_of(period: dict) -> list[dt.date]:
    """The days of a period: its ``days`` when it lists them, else start to end."""
    if period.get("days"):
        return sorted({dt.date.fromisoformat(str(day)) for day in period["days"]})
    first, last = dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
    if last < first or (last - first).days > 400:
        raise ValidationError("a period runs forward, for at most 400 days")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _day_frame(rows: list[dict], sales: dict, dimension: str, days: int,
               channel: str | None) -> pd.DataFrame:
    """Per-day averages of the groups' quantities over ``days`` days; with the company's
    revenue and conversions, and for the company (no ``channel``) the ``OTHER`` group."""
    if channel is not None:
        rows = [row for row in rows if row["channel"] == channel]
    frame = _frame(rows, dimension)
    frame["revenue"] = frame["ad_revenue"]
    frame["conversions"] = frame["ad_conversions"]
    if channel is None and (sales.get("revenue") or sales.get("conversions")):
        frame.loc[OTHER] = 0.0
        frame.loc[OTHER, "revenue"] = float(sales.get("revenue") or 0.0)
        frame.loc[OTHER, "conversions"] = float(sales.get("conversions") or 0.0)
    return frame.astype(float) / max(days, 1)


def period_drivers(ctx: ServiceContext, scope: Scope, metric: str, before: dict, after: dict,
                   dimension: str = "channel", channel: str | None = None) -> dict:
    """The drivers of ``metric``'s change from an average day of ``before`` to an average day
    of ``after`` ({start, end} and optionally the ``days`` themselves), for the company or
    one ``channel``: what an anomaly or a trend-turn insight names, and its waterfall. Both
    periods lie in the history, so the split is a history model: fitted by the worker for
    the insights it warms (``precompute``), stored per history version, read by requests."""
    require(ctx, scope, "executive")
    if metric not in SPLIT_METRICS:
        raise ValidationError(f"cannot split {metric!r}; use one of {', '.join(SPLIT_METRICS)}")
    if dimension not in DIMENSIONS:
        raise ValidationError(f"the dimension must be one of {', '.join(DIMENSIONS)}")
    try:
        for period in (before, after):
            _days_of(period)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValidationError("each period needs a start and an end date") from None
    return split_model(ctx, scope.company_id, metric, before, after, dimension, channel)


@history_model
def split_model(ctx: ServiceContext, company_id: int, metric: str, before: dict, after: dict,
                dimension: str, channel: str | None) -> dict:
    """``period_drivers`` without its checks: the stored history model."""
    periods = [_days_of(period) for period in (before, after)]
    frames = []
    with ctx.session() as session:
        for days in periods:
            rows = queries.campaign_quantities_on(session, company_id, days)
            sales = queries.sales_on(session, company_id, days)
            frames.append(_day_frame(rows, sales, dimension, len(days), channel))
    result = decompose(*frames, metric)
    result.update(dimension=dimension, channel=channel, per="day",
                  period_before={**before, "days": [d.isoformat() for d in periods[0]]},
                  period_after={**after, "days": [d.isoformat() for d in periods[1]]})
    return result


def baseline_days(days: list[dt.date], first: dt.date, named: dict[dt.date, str],
                  calendar_name: str | None = None) -> list[dt.date]:
    """What an anomaly's days are compared with: the same named day in the history's other
    years when the detector judged it as a holiday (``calendar_name``), else for each day the
    same weekday of up to ``BASELINE_WEEKS`` earlier weeks that were no holiday nor part of
    the incident. Days before ``first`` (the history's start) are not there."""
    incident = set(days)
    if calendar_name:
        return sorted(day for day, name in named.items()
                      if name == calendar_name and day not in incident and day >= first
                      and day <= max(days))
    out: set[dt.date] = set()
    for day in days:
        taken = 0
        for weeks in range(1, LOOKBACK_WEEKS + 1):
            earlier = day - dt.timedelta(weeks=weeks)
            if taken == BASELINE_WEEKS or earlier < first:
                break
            if earlier in named or earlier in incident:
                continue
            out.add(earlier)
            taken += 1
    return sorted(out)


def trend_periods(turn_day: dt.date, weeks_after: int) -> tuple[dict, dict]:
    """A trend turn's two periods: the ``TREND_WEEKS`` weeks before the turn, and the latest
    ``TREND_WEEKS`` complete weeks of the new trend."""
    end = turn_day + dt.timedelta(weeks=weeks_after) - dt.timedelta(days=1)
    start = max(turn_day, end - dt.timedelta(weeks=TREND_WEEKS) + dt.timedelta(days=1))
    before = {"start": (turn_day - dt.timedelta(weeks=TREND_WEEKS)).isoformat(),
              "end": (turn_day - dt.timedelta(days=1)).isoformat()}
    return before, {"start": start.isoformat(), "end": end.isoformat()}


def contributors_clause(result: dict, shown: int = 2) -> str:
    """The next contributors after the top one: ' Next: Facebook (-$310.00), LinkedIn
    (+$12.00).'; empty when there are none."""
    rows = [r for r in result["drivers"][1:1 + shown] if r["contribution"]]
    if not rows:
        return ""
    return " Next: " + ", ".join(f"{r['group']} ({_amount(r['contribution'], result['unit'])})"
                                 for r in rows) + "."
