"""Plain-language insights, ranked by importance, each with the evidence behind its numbers.

Every number in a sentence is formatted from the insight's ``evidence`` dict, and the evidence
is copied from the service results (anomalies, trend changes, benchmarks, KPI cards), so what
a sentence says is exactly what the charts and the API show. ``evidence`` also says where on
the chart the insight points (metric, channel, date), so the view can highlight it.
"""

from __future__ import annotations

import datetime as dt

from services.access import Scope
from services.cache import cached
from services.context import ServiceContext
from services.insights.actions import action_items
from services.insights.anomalies import company_anomalies
from services.insights.benchmarks import company_benchmarks
from services.insights.drivers import (
    SPLIT_METRICS,
    TREND_WEEKS,
    baseline_days,
    change_drivers,
    contributors_clause,
    driver_sentence,
    period_drivers,
    trend_periods,
)
from services.insights.events import company_calendar
from services.insights.trends import company_trend_changes
from services.kpis import executive_breakdowns, executive_kpis

SEVERITY_WEIGHT = {"critical": 3.0, "high": 2.0, "medium": 1.0}
MIN_CHANGE_PCT = 10.0  # period-over-period changes worth a sentence
MIN_BENCHMARK_PCT = 15.0  # differences from peers worth a sentence
TREND_RECENT_DAYS = 365
MAX_INSIGHTS = 8


# ----------------------------------------------------------------------------- formatting
def fmt_value(value: float | None, unit: str) -> str:
    """The one number format of sentences (the view's cards use the same rules)."""
    if value is None:
        return "—"
    if unit == "USD":
        return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"
    if unit == "%":
        return f"{value:,.2f}%"
    if unit == "x":
        return f"{value:,.2f}x"
    return f"{value:,.0f}"


def fmt_pct(value: float) -> str:
    return f"{abs(value):,.0f}%"


def fmt_date(day: str) -> str:
    return dt.date.fromisoformat(day).strftime("%d %b %Y").lstrip("0")


ACRONYMS = ("CTR", "CPC", "CPA", "ROAS", "Ad CPA", "Ad ROAS", "MRR", "NPS")


def _subject(label: str, channel: str | None) -> str:
    if channel:
        return f"{label} for {channel} campaigns"
    return f"Your {label}" if label in ACRONYMS else f"Your {label.lower()}"


# ----------------------------------------------------------------------------- builders
ROOT_METRICS = ("spend", "clicks", "impressions", "conversions", "revenue", "ctr")
PLURAL = ("Clicks", "Conversions", "Impressions")


def _verb(label: str, singular: str, plural: str) -> str:
    return plural if label in PLURAL else singular


def _incidents(anomalies: list[dict]) -> list[list[dict]]:
    """Anomalies whose days touch (same or next day) belong to one incident: one cause seen
    through several metrics and channels."""
    ordered = sorted(anomalies, key=lambda a: a["date"])
    groups: list[list[dict]] = []
    last_day = None
    for anomaly in ordered:
        day = dt.date.fromisoformat(anomaly["date"])
        if groups and last_day is not None and (day - last_day).days <= 1:
            groups[-1].append(anomaly)
        else:
            groups.append([anomaly])
        last_day = day if last_day is None else max(day, last_day)
    return groups


def _anomaly_insights(anomalies: list[dict], period: dict) -> list[dict]:
    """One insight per incident, told through its clearest finding: the base metric (or CTR)
    that moved most, preferring the channel where it happened."""
    import math

    start, end = period["start"], period["end"]
    daily = [a for a in anomalies if a["grain"] == "day" and start <= a["date"] <= end]
    out = []
    end_day = dt.date.fromisoformat(end)
    for incident in _incidents(daily):
        roots = [a for a in incident if a["metric"] in ROOT_METRICS] or incident
        peak = max(roots, key=lambda a: (abs(math.log1p(a["change_pct"] / 100)),
                                         a["channel"] is not None))
        where = {a["channel"] for a in incident if a["metric"] == peak["metric"]}
        if None in where and len(where) >= 3:  # the total and most channels: company-wide
            peak = max((a for a in incident if a["metric"] == peak["metric"]
                        and a["channel"] is None), key=lambda a: abs(a["z"] or 0))
        days = sorted({a["date"] for a in incident if a["metric"] == peak["metric"]
                       and a["channel"] == peak["channel"]})
        related = sorted({a["label"] for a in incident if a["label"] != peak["label"]})
        severity = max(incident, key=lambda a: SEVERITY_WEIGHT[a["severity"]])["severity"]
        verb = "jumped" if peak["direction"] == "up" else "dropped"
        position = "above" if peak["direction"] == "up" else "below"
        span = (f"on {fmt_date(days[0])}" if len(days) == 1 else
                f"from {fmt_date(days[0])} to {fmt_date(days[-1])}")
        unit = peak["unit"]
        text = (f"{_subject(peak['label'], peak['channel'])} {verb} by "
                f"{fmt_pct(peak['change_pct'])} {span} ({fmt_value(peak['actual'], unit)} "
                f"against an expected {fmt_value(peak['expected'], unit)}), well {position} the "
                f"expected range of {fmt_value(peak['expected_low'], unit)} to "
                f"{fmt_value(peak['expected_high'], unit)}.")
        if peak.get("calendar"):
            text += calendar_clause(peak)
        if related:
            text += f" Also affected: {', '.join(related)}."
        age = (end_day - dt.date.fromisoformat(days[-1])).days
        event = next((a["event"] for a in incident if a.get("event")), None)
        if event is not None:  # the company annotated these days: explained, not alarming
            text += (f" Explained by your annotated {event['kind']} "
                     f"\u2018{event['title']}\u2019.")
        out.append({
            "kind": "anomaly" if event is None else "explained",
            "severity": severity if event is None else "medium",
            "importance": (60 + 10 * SEVERITY_WEIGHT[severity] if event is None else 20)
            - min(age, 90) / 3,
            "text": text,
            "evidence": {"metric": peak["metric"], "label": peak["label"], "unit": unit,
                         "channel": peak["channel"], "date": peak["date"],
                         "period": {"start": days[0], "end": days[-1]},
                         "value": peak["actual"], "expected": peak["expected"],
                         "expected_low": peak["expected_low"],
                         "expected_high": peak["expected_high"],
                         "change_pct": peak["change_pct"], "direction": peak["direction"],
                         "related": related, "calendar": peak.get("calendar"),
                         "calendar_effect_pct": peak.get("calendar_effect_pct"),
                         "event": event},
        })
    return out


def calendar_clause(anomaly: dict) -> str:
    """The sentence's calendar part: ' That is lower than a usual Christmas Day (itself 55%
    below an ordinary day).'"""
    effect = anomaly["calendar_effect_pct"] or 0.0
    than = "higher" if anomaly["direction"] == "up" else "lower"
    usual = ""
    if abs(effect) >= 1:
        usual = (f" (itself {fmt_pct(effect)} {'above' if effect > 0 else 'below'} an "
                 "ordinary day)")
    return f" That is {than} than a usual {_day_name(anomaly['calendar'])}{usual}."


def _day_name(name: str) -> str:
    """'the day after Labor Day' after 'a usual': 'day after Labor Day'."""
    return name[4:] if name.startswith("the ") else name


def _trend_insights(turns: list[dict], period: dict) -> list[dict]:
    out = []
    end_day = dt.date.fromisoformat(period["end"])
    # Turns within a fortnight of each other are one change seen through several metrics:
    # tell it through the first base metric (revenue before conversions...).
    groups: list[list[dict]] = []
    for turn in sorted(turns, key=lambda t: t["date"]):
        if groups and (dt.date.fromisoformat(turn["date"]) - dt.date.fromisoformat(
                groups[-1][0]["date"])).days <= 14:
            groups[-1].append(turn)
        else:
            groups.append([turn])
    order = {metric: i for i, metric in enumerate(ROOT_METRICS)}
    for group in groups:
        turn = min(group, key=lambda t: order.get(t["metric"], len(order)))
        related = sorted({t["label"] for t in group if t is not turn})
        day = dt.date.fromisoformat(turn["date"])
        age = (end_day - day).days
        if day > end_day or age > TREND_RECENT_DAYS:
            continue
        months_before = max(1, round(turn["weeks_before"] / (52 / 12)))
        was = "decline" if turn["direction_before"] == "down" else "growth"
        now = "an upward" if turn["direction_after"] == "up" else "a downward"
        good_news = (turn["direction_after"] == "up") == (turn["good"] >= 0)
        text = (f"TREND CHANGE: After {months_before} months of {was} "
                f"({turn['slope_before_pct']:+.1f}% a week), "
                f"{_subject(turn['label'], None).replace('Your', 'your', 1)} "
                f"{_verb(turn['label'], 'is', 'are')} now showing {now} trend "
                f"({turn['slope_after_pct']:+.1f}% a week) since {day.strftime('%B %Y')}.")
        if related:
            text += f" Also turned: {', '.join(related)}."
        out.append({
            "kind": "trend_change", "severity": "high" if not good_news else "medium",
            "importance": 55 - age / 30 + (5 if not good_news else 0),
            "text": text,
            "evidence": {"metric": turn["metric"], "label": turn["label"], "unit": turn["unit"],
                         "channel": None, "date": turn["date"],
                         "period": {"start": turn["since"], "end": turn["date"]},
                         "value": turn["value_at_turn"],
                         "slope_before_pct": turn["slope_before_pct"],
                         "slope_after_pct": turn["slope_after_pct"],
                         "months_before": months_before, "weeks_before": turn["weeks_before"],
                         "direction_after": turn["direction_after"],
                         "weeks_after": turn.get("weeks_after"), "related": related},
        })
    return out


def _benchmark_insights(bench: dict) -> list[dict]:
    out = []
    for row in bench["metrics"]:
        for scope, group_name in (("industry", "the industry average"),
                                  ("global", "the all-company average")):
            comparison = row[scope]
            diff = comparison.get("difference_pct")
            if comparison["status"] != "ok" or diff is None or abs(diff) < MIN_BENCHMARK_PCT:
                continue
            better = comparison["verdict"] == "better"
            how = ("significantly outperforming" if better else "well behind")
            text = (f"{_subject(row['label'], None)} of {fmt_value(row['value'], row['unit'])} "
                    f"is {fmt_pct(diff)} {'above' if diff > 0 else 'below'} "
                    f"{group_name} of {fmt_value(comparison['average'], row['unit'])} "
                    f"({comparison['peers']} other companies), {how} it.")
            out.append({
                "kind": "benchmark", "severity": "medium" if better else "high",
                "importance": 25 + min(abs(diff), 100) / 5 + (5 if scope == "industry" else 0),
                "text": text,
                "evidence": {"metric": row["metric"], "label": row["label"],
                             "unit": row["unit"], "channel": None, "date": None,
                             "period": bench["period"], "value": row["value"],
                             "benchmark": comparison["average"], "benchmark_scope": scope,
                             "peers": comparison["peers"], "change_pct": diff},
            })
            break  # the industry comparison when there is one, else the global one
    return out


# Cards whose company figure is the ads' own (the campaign rollup adds up to it), so their
# change splits exactly by channel (``drivers``).
DRIVEN_CARDS = ("ctr", "conversion_rate", "spend")


def _change_insights(kpis: dict, drivers_of=None) -> list[dict]:
    """``drivers_of(metric)``: the drivers of that card's change by channel, or None."""
    out = []
    days = kpis["period"]["days"]
    for card in kpis["cards"]:
        change = card["change_pct"]
        if change is None or abs(change) < MIN_CHANGE_PCT or card["metric"] in (
                "mrr", "customers", "cac", "ltv", "ltv_cac", "market_share", "nps",
                "churn_rate", "campaigns"):
            continue
        verb = "increased" if change > 0 else "decreased"
        text = (f"{_subject(card['label'], None)} "
                f"{_verb(card['label'], 'has', 'have')} {verb} by {fmt_pct(change)} in the last "
                f"{days} days ({fmt_value(card['value'], card['unit'])} against "
                f"{fmt_value(card['previous'], card['unit'])} in the {days} days before).")
        good = card["good"] * change > 0 if card["good"] else None
        found = drivers_of(card["metric"]) if drivers_of and card["metric"] in DRIVEN_CARDS \
            else None
        why = driver_sentence(found) if found else None
        if why:
            text += f" {why}"
        out.append({
            "kind": "change", "severity": "medium" if good is not False else "high",
            "importance": 15 + min(abs(change), 100) / 4,
            "text": text,
            "evidence": {"metric": card["metric"], "label": card["label"], "unit": card["unit"],
                         "channel": None, "date": None, "period": kpis["period"],
                         "value": card["value"], "expected": card["previous"],
                         "change_pct": change,
                         "drivers": found["drivers"][:3] if why else None,
                         "drivers_dimension": "channel" if why else None},
        })
    return out


def _segment_insights(bench: dict) -> list[dict]:
    rows = []
    for segment in bench["segments"]:
        metric = next(m for m in segment["metrics"] if m["metric"] == "conversion_rate")
        if metric["value"] is not None:
            rows.append((segment["name"], metric["value"]))
    company = next(m for m in bench["metrics"] if m["metric"] == "conversion_rate")["value"]
    if len(rows) < 2 or not company:
        return []
    name, best = max(rows, key=lambda r: r[1])
    multiple = best / company
    if multiple < 1.1:
        return []
    text = (f"Your best performing segment is '{name}', with {multiple:,.2f}x the conversion "
            f"rate of your company average ({fmt_value(best, '%')} against "
            f"{fmt_value(company, '%')}).")
    return [{"kind": "segment", "severity": "medium", "importance": 30 + min(multiple, 5) * 2,
             "text": text,
             "evidence": {"metric": "conversion_rate", "label": "Conversion rate", "unit": "%",
                          "channel": None, "segment": name, "date": None,
                          "period": bench["period"], "value": best, "expected": company,
                          "multiple": multiple}}]


def _history_clause(result: dict, basis: str, turn: bool) -> str | None:
    """' Against the same weekday of the weeks before ($1,200 a day): mostly because spend on
    Google Ads rose (+$1,000 of the +$1,100 change). Next: Facebook (+$80.00).'"""
    why = driver_sentence(result)
    if not why:
        return None
    unit = result["unit"]
    per_day = " a day" if result["mix_total"] is None else ""  # a sum, not a ratio
    level = (f"{fmt_value(result['before'], unit)} to {fmt_value(result['after'], unit)}"
             if turn else fmt_value(result["before"], unit)) + per_day
    return (f" {basis} ({level}): {why[0].lower()}{why[1:]}"
            f"{contributors_clause(result)}")


def _explain_history(ctx: ServiceContext, scope: Scope, insights: list[dict],
                     window: dict | None) -> None:
    """Name the drivers of the shown anomalies and trend turns (issue #20): the same exact
    split as a card's change, between the insight's day(s) and its baseline (``drivers``):
    by channel for the company, by campaign for one channel. Only for the insights shown,
    each two small rollup reads (cached with the insights)."""
    wanted = [i for i in insights if i["kind"] in ("anomaly", "explained", "trend_change")
              and i["evidence"].get("metric") in SPLIT_METRICS]
    if not wanted or not window:
        return
    first, last = (dt.date.fromisoformat(window[k]) for k in ("start", "end"))
    with ctx.session() as session:
        named, _ = company_calendar(session, scope.company_id, first, last)
    for insight in wanted:
        evidence = insight["evidence"]
        channel = evidence.get("channel")
        if insight["kind"] == "trend_change":
            if not evidence.get("weeks_after"):
                continue  # a stored result from before the drivers
            before, after = trend_periods(dt.date.fromisoformat(evidence["date"]),
                                          evidence["weeks_after"])
            basis = f"Between the {TREND_WEEKS} weeks before the turn and the latest {TREND_WEEKS}"
        else:
            period = evidence["period"]
            start, end = (dt.date.fromisoformat(period[k]) for k in ("start", "end"))
            days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
            base = baseline_days(days, first, named, evidence.get("calendar"))
            if not base:
                continue
            before = {"start": base[0].isoformat(), "end": base[-1].isoformat(),
                      "days": [day.isoformat() for day in base]}
            after = {"start": period["start"], "end": period["end"]}
            basis = (f"Against a usual {_day_name(evidence['calendar'])}"
                     if evidence.get("calendar")
                     else "Against the same weekday of the weeks before")
        dimension = "campaign" if channel else "channel"
        result = period_drivers(ctx, scope, evidence["metric"], before, after, dimension,
                                channel)
        clause = _history_clause(result, basis, insight["kind"] == "trend_change")
        if clause is None:
            continue
        insight["text"] += clause
        evidence.update(drivers=result["drivers"][:3], drivers_dimension=dimension,
                        drivers_metric=evidence["metric"],
                        drivers_periods={"before": before, "after": after},
                        drivers_change=result["change"], drivers_before=result["before"],
                        drivers_after=result["after"])


@cached()
def company_insights(ctx: ServiceContext, scope: Scope, range_name: str | None = None,
                     start: str | None = None, end: str | None = None,
                     segment: str | None = None) -> dict:
    """The top insights for the period, most important first, and the action items."""
    company_id = scope.company_id
    kpis = executive_kpis(ctx, scope, range_name, start, end, segment)
    period = kpis["period"]
    anomalies_result = company_anomalies(ctx, company_id)
    anomalies = anomalies_result["anomalies"]
    turns = company_trend_changes(ctx, company_id)["trend_changes"]
    bench = company_benchmarks(ctx, scope, range_name, start, end)
    breakdowns = executive_breakdowns(ctx, scope, range_name, start, end, segment)

    def drivers_of(metric: str) -> dict | None:
        # The rollup behind the drivers is not split by device: whole-company cards only.
        if kpis["segment"] != "all" or not kpis.get("previous_period"):
            return None
        return change_drivers(ctx, scope, metric, kpis["previous_period"], period, "channel")

    insights = (_anomaly_insights(anomalies, period) + _trend_insights(turns, period)
                + _benchmark_insights(bench) + _segment_insights(bench)
                + _change_insights(kpis, drivers_of))
    insights.sort(key=lambda i: -i["importance"])
    insights = insights[:MAX_INSIGHTS]
    _explain_history(ctx, scope, insights, anomalies_result.get("window"))
    for rank, insight in enumerate(insights, start=1):
        insight["id"] = f"insight-{rank}"
        insight["rank"] = rank
    return {"company_id": company_id, "period": period, "segment": kpis["segment"],
            "insights": insights,
            "actions": action_items(insights, breakdowns["channels"], kpis["cards"])}
