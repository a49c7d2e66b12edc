"""Anomaly and trend-change detection against the generator's injected ground truth.

Scoring (also printed, for the issue's report):
* recall: an injected pattern is found when a detection has its exact metric, on its channel
  (or the company total for an all-channel pattern), on one of its days (+-1 day; for trend
  turns +-3 weeks).
* precision: a detection is true when an injected pattern of the same company and time explains
  it: its metric is one the pattern moves (``EFFECTS``: a CTR problem also moves impressions,
  a spend spike also moves CPC, CPA and ROAS) and its channel is the pattern's channel, or the
  company total.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from services.insights import anomalies, trends
from services.insights.series import EFFECTS


@pytest.fixture(scope="module")
def truth(ctx):
    with ctx.session() as session:
        companies = session.execute(text("SELECT id, slug FROM companies ORDER BY id")).all()
        patterns = session.execute(text(
            "SELECT p.company_id, p.kind, p.metric, ch.name AS channel, p.start_day, p.end_day "
            "FROM injected_patterns p LEFT JOIN channels ch ON ch.id = p.channel_id"
        )).mappings().all()
    return companies, [dict(p) for p in patterns]


def _explains(pattern, found, company_id, slack_days):
    day = dt.date.fromisoformat(found["date"])
    start = pattern["start_day"] - dt.timedelta(days=slack_days)
    end = (pattern["end_day"] if pattern["kind"] == "anomaly" else pattern["start_day"]) \
        + dt.timedelta(days=slack_days)
    return (pattern["company_id"] == company_id and start <= day <= end
            and found["metric"] in EFFECTS.get(pattern["metric"], {pattern["metric"]})
            and (pattern["channel"] is None or found["channel"] in (None, pattern["channel"])))


def _finds(pattern, found, company_id, slack_days):
    return (_explains(pattern, found, company_id, slack_days)
            and found["metric"] == pattern["metric"]
            and found["channel"] == pattern["channel"])


def _score(detections, patterns, slack_days):
    true = [d for d in detections if any(_explains(p, d, d["company_id"], slack_days)
                                         for p in patterns)]
    found = [p for p in patterns if any(_finds(p, d, d["company_id"], slack_days)
                                        for d in detections)]
    precision = len(true) / len(detections) if detections else 1.0
    recall = len(found) / len(patterns) if patterns else 1.0
    return precision, recall, [d for d in detections if d not in true], \
        [p for p in patterns if p not in found]


def test_anomaly_precision_and_recall_on_the_demo_data(ctx, truth):
    from db.seed import PATTERN_FREE

    companies, patterns = truth
    injected = [p for p in patterns if p["kind"] == "anomaly"]
    assert len(injected) >= 5
    detections = []
    for company_id, slug in companies:
        result = anomalies.company_anomalies(ctx, company_id)
        daily = [dict(a, company_id=company_id, slug=slug) for a in result["anomalies"]
                 if a["grain"] == "day"]
        detections += daily
        if slug in PATTERN_FREE:
            # A company with nothing injected reports nothing, at any grain.
            assert result["anomalies"] == [], (slug, result["anomalies"][:3])
    precision, recall, false, missed = _score(detections, injected, slack_days=1)
    print(f"\nanomalies: {len(detections)} daily detections, {len(injected)} injected; "
          f"precision {precision:.3f}, recall {recall:.3f}")
    assert recall >= 0.9, missed
    assert precision >= 0.9, [(d["slug"], d["metric"], d["channel"], d["date"]) for d in false]


def test_trend_change_precision_and_recall_on_the_demo_data(ctx, truth):
    from db.seed import PATTERN_FREE

    companies, patterns = truth
    injected = [p for p in patterns if p["kind"] == "trend_change"]
    assert injected
    detections = []
    for company_id, slug in companies:
        turns = trends.company_trend_changes(ctx, company_id)["trend_changes"]
        detections += [dict(t, company_id=company_id, slug=slug) for t in turns]
        if slug in PATTERN_FREE:
            assert turns == [], (slug, turns)
    precision, recall, false, missed = _score(detections, injected, slack_days=21)
    print(f"\ntrend changes: {len(detections)} detections, {len(injected)} injected; "
          f"precision {precision:.3f}, recall {recall:.3f}")
    assert recall >= 0.9, missed
    assert precision >= 0.9, [(d["slug"], d["metric"], d["date"]) for d in false]
    for turn in detections:
        assert turn["weeks_before"] >= trends.MIN_WEEKS
        assert turn["direction_before"] != turn["direction_after"]


def _days(n=364):
    return pd.date_range("2025-01-06", periods=n, freq="D")


def test_no_anomaly_on_a_flat_series():
    assert anomalies.detect(pd.Series(1000.0, index=_days())) == []


def test_no_anomaly_on_a_purely_seasonal_series():
    index = _days()
    weekly = np.array([1.1, 1.15, 1.1, 1.05, 1.0, 0.75, 0.85])
    yearly = 1 + 0.15 * np.sin(np.arange(len(index)) * 2 * np.pi / 365.25)
    values = pd.Series(1000 * weekly[index.day_of_week] * yearly, index=index)
    assert anomalies.detect(values) == []
    # ... also with a little noise (clipped, as real data has no accidental outliers).
    rng = np.random.default_rng(3)
    noisy = values * np.exp(np.clip(rng.normal(0, 0.05, len(index)), -0.12, 0.12))
    assert anomalies.detect(noisy) == []
    assert trends.detect(noisy.resample("W-MON").sum().iloc[1:-1]) == []


def test_a_spike_is_found_with_its_expected_range():
    index = _days()
    weekly = np.array([1.1, 1.15, 1.1, 1.05, 1.0, 0.75, 0.85])
    values = pd.Series(1000 * weekly[index.day_of_week], index=index)
    values.iloc[200] *= 2.0
    found = anomalies.detect(values)
    assert [a["date"] for a in found] == [index[200].date().isoformat()]
    spike = found[0]
    assert spike["direction"] == "up" and spike["severity"] == "critical"
    assert spike["expected"] == pytest.approx(1000 * weekly[index[200].day_of_week], rel=0.02)
    assert spike["expected_low"] < spike["expected"] < spike["expected_high"] < spike["actual"]
    assert spike["change_pct"] == pytest.approx(100, abs=3)


def test_a_turn_is_found_with_how_long_the_previous_trend_lasted():
    weeks = pd.date_range("2025-01-06", periods=70, freq="7D")
    t = np.arange(70)
    log = np.where(t < 40, -0.02 * t, -0.02 * 40 + 0.025 * (t - 40))
    rng = np.random.default_rng(5)
    values = pd.Series(np.exp(10 + log + rng.normal(0, 0.01, 70)), index=weeks)
    (turn,) = trends.detect(values)
    assert abs(turn["weeks_before"] - 40) <= 2
    assert turn["direction_before"] == "down" and turn["direction_after"] == "up"
    assert turn["slope_before_pct"] == pytest.approx(-2.0, abs=0.4)
    assert turn["slope_after_pct"] == pytest.approx(2.5, abs=0.4)


def test_recurring_holiday_effects_are_expected_and_a_holiday_unlike_its_history_is_not(
        ctx, truth):
    """The generator's public holidays (the same effect in both years of the history) are
    never reported; the same days are anomalies to a detector without the calendar; and a
    holiday that behaves unlike its own history (the later Memorial Day busier than an
    ordinary day) is one."""
    from db.seed import PATTERN_FREE
    from db.seed.seasonality import holiday_effects
    from services.insights.events import company_calendar
    from services.metrics import metric_values
    from services.series import daily_frames

    companies, _ = truth
    with ctx.session() as session:
        first, last = session.execute(text(
            "SELECT MIN(day), MAX(day) FROM rollup_campaign_daily")).one()
    effects = holiday_effects(first, last)
    effect_days = {day.isoformat() for day in effects}
    assert {name for name, _ in effects.values()} >= {"Memorial Day"}, effects
    for company_id, slug in companies:
        reported = {a["date"] for a in anomalies.company_anomalies(ctx, company_id)["anomalies"]
                    if a["grain"] == "day"}
        assert not reported & effect_days, (slug, sorted(reported & effect_days))

    company_id = dict((slug, cid) for cid, slug in companies)[PATTERN_FREE[0]]
    with ctx.session() as session:
        window = anomalies.history_window(session, company_id)
        frames = daily_frames(session, company_id, *window)
        calendar, _ = company_calendar(session, company_id, *window)
    spend = metric_values(frames[None], "spend")
    without_calendar = {a["date"] for a in anomalies.detect(spend)}
    assert without_calendar & effect_days, "the holiday effects are strong enough to matter"
    assert not {a["date"] for a in anomalies.detect(spend, calendar=calendar)} & effect_days

    later = max(day for day, (name, _) in effects.items() if name == "Memorial Day")
    forged = spend.copy()
    forged[pd.Timestamp(later)] *= 2.0 / effects[later][1]  # twice an ordinary day
    found = {a["date"]: a for a in anomalies.detect(forged, calendar=calendar)}
    assert later.isoformat() in found, sorted(found)
    assert found[later.isoformat()]["calendar"] == "Memorial Day"
    assert found[later.isoformat()]["direction"] == "up"
