"""Benchmarks: the company against the average of its industry and of all other companies,
per metric, per channel and per target segment, for one period.

Privacy: a benchmark is the equal-weight average over at least ``MIN_PEERS`` *other*
companies (never a median, which is one company's number, and never the company itself);
with fewer peers the group says "not enough peers" and shows no number.
"""

from __future__ import annotations

import datetime as dt

from db.queries import benchmarks as queries
from db.queries import kpis as kpi_queries
from db.queries import timeseries as ts_queries
from services.access import Scope
from services.cache import cached
from services.context import ServiceContext
from services.metrics import METRICS, metric_value
from services.periods import resolve_period
from services.series import clean

MIN_PEERS = 3
AD_METRICS = ("ctr", "conversion_rate", "cpc", "ad_cpa", "ad_roas")
NOT_ENOUGH = "not enough peers"


def _own_metric(totals: dict, metric: str) -> float | None:
    # Benchmarks compare ad activity with ad activity: conversion rate and CPA use ad
    # conversions (other companies' CRM revenue is not comparable).
    totals = {**totals, "ad_conversions": totals["conversions"],
              "ad_revenue": totals["revenue"]}
    return clean(metric_value(totals, metric))


def _comparison(value: float | None, peer: dict | None, metric: str) -> dict:
    """The company's value against one peer group's average."""
    peers = int(peer["peers"]) if peer else 0
    if peers < MIN_PEERS or peer.get(metric) is None:
        return {"status": NOT_ENOUGH, "peers": peers, "average": None, "difference_pct": None}
    average = float(peer[metric])
    difference = (value - average) / abs(average) * 100 if value is not None and average \
        else None
    good = METRICS[metric].good if metric in METRICS else 1
    verdict = None
    if difference is not None:
        better = difference * good > 0
        verdict = "in line" if abs(difference) < 5 else ("better" if better else "worse")
    return {"status": "ok", "peers": peers, "average": average,
            "difference_pct": clean(difference), "verdict": verdict}


def _group_rows(session, company_id, period, group, peer_rows: list[dict]) -> list[dict]:
    own = {row["grp"]: row for row in queries.own_ad_totals(session, company_id, period.start,
                                                             period.end, group)}
    peers = {row["grp"]: row for row in peer_rows}
    out = []
    for name, totals in own.items():
        out.append({
            "name": name,
            "metrics": [{"metric": metric, "label": METRICS[metric].label,
                         "unit": METRICS[metric].unit, "value": _own_metric(totals, metric),
                         "global": _comparison(_own_metric(totals, metric), peers.get(name),
                                               metric)}
                        for metric in AD_METRICS],
        })
    return out


@cached()
def company_benchmarks(ctx: ServiceContext, scope: Scope, range_name: str | None = None,
                       start: str | None = None, end: str | None = None) -> dict:
    """The company's ad ratios against its industry and all companies (overall, per channel,
    per segment) and its business metrics against peers, for the period."""
    company_id = scope.company_id
    with ctx.session() as session:
        anchor = kpi_queries.latest_day(session, company_id) or dt.date.today()
        period = resolve_period(range_name, anchor, start, end)
        own = queries.own_ad_totals(session, company_id, period.start, period.end, "all")
        peers = queries.peer_ad_ratios(session, company_id, period.start, period.end)
        everyone, industry = peers["all"], peers["industry"]
        channels = _group_rows(session, company_id, period, "channel", peers["channel"])
        segments = _group_rows(session, company_id, period, "segment", peers["segment"])
        business = ts_queries.business_monthly(session, company_id)
        months = [row for row in business if row["month"] <= period.end]
        business_rows = []
        if months:
            latest = months[-1]
            opening = latest["customers"] - latest["new_customers"] + latest["churned_customers"]
            mine = {"nps": latest["nps"], "market_share_pct": latest["market_share_pct"],
                    "churn_rate": latest["churned_customers"] * 100 / opening if opening
                    else None}
            peer_all = queries.peer_business(session, company_id, latest["month"], False)
            peer_industry = queries.peer_business(session, company_id, latest["month"], True)
            labels = {"nps": ("NPS", "count", 1), "churn_rate": ("Churn rate", "%", -1),
                      "market_share_pct": ("Market share", "%", 1)}
            for metric, (label, unit, good) in labels.items():
                business_rows.append({
                    "metric": metric, "label": label, "unit": unit,
                    "month": latest["month"].isoformat(), "value": clean(mine[metric]),
                    "industry": _business_comparison(mine[metric], peer_industry, metric, good),
                    "global": _business_comparison(mine[metric], peer_all, metric, good),
                })
    totals = own[0] if own else {"impressions": 0, "clicks": 0, "conversions": 0, "spend": 0,
                                 "revenue": 0}
    industry_row = industry[0] if industry else None
    everyone_row = everyone[0] if everyone else None
    metrics = []
    for metric in AD_METRICS:
        value = _own_metric(totals, metric)
        metrics.append({"metric": metric, "label": METRICS[metric].label,
                        "unit": METRICS[metric].unit, "value": value,
                        "industry": _comparison(value, industry_row, metric),
                        "global": _comparison(value, everyone_row, metric)})
    return {"company_id": company_id, "period": period.as_dict(), "min_peers": MIN_PEERS,
            "basis": "ad activity (rollup_campaign_daily); equal-weight average of other "
                     "companies",
            "metrics": metrics, "channels": channels, "segments": segments,
            "business": business_rows}


def _business_comparison(value, peer: dict, metric: str, good: int) -> dict:
    peers = int(peer["peers"] or 0)
    if peers < MIN_PEERS or peer.get(metric) is None or value is None:
        return {"status": NOT_ENOUGH, "peers": peers, "average": None, "difference_pct": None}
    average = float(peer[metric])
    difference = (value - average) / abs(average) * 100 if average else None
    verdict = None
    if difference is not None:
        verdict = "in line" if abs(difference) < 5 else (
            "better" if difference * good > 0 else "worse")
    return {"status": "ok", "peers": peers, "average": average,
            "difference_pct": clean(difference), "verdict": verdict}


@cached()
def peer_revenue_index(ctx: ServiceContext, scope: Scope, start: str, end: str) -> dict:
    """The peers' weekly ad revenue as an index (first week = 1): the industry's when it has
    at least ``MIN_PEERS`` other companies every week, else all other companies'. A chart
    multiplies it by the company's own first week to draw "what the market did"."""
    company_id = scope.company_id
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    with ctx.session() as session:
        for scope, industry_only in (("industry", True), ("global", False)):
            rows = queries.peer_weekly_revenue(session, company_id, first, last, industry_only)
            if rows and min(int(r["peers"]) for r in rows) >= MIN_PEERS and rows[0]["revenue"]:
                base = float(rows[0]["revenue"])
                return {"scope": scope, "peers": min(int(r["peers"]) for r in rows),
                        "weeks": [{"week": r["week"].isoformat(),
                                   "index": float(r["revenue"]) / base} for r in rows]}
    return {"scope": None, "peers": 0, "weeks": [], "message": NOT_ENOUGH}
