"""Alert rules: the defaults every company gets, editing them, and what each rule measures.

A rule compares one metric per subject (a campaign, or the whole company) with a threshold.
Noise control (the top complaint about alerting): a rate is judged only on enough clicks
(``min_volume``); a breach must last ``pending_s`` before the alert fires; a firing alert
resolves only once the value is back past the threshold by the ``hysteresis`` fraction.
"""

from __future__ import annotations

import datetime as dt
import math

from db import rollups
from db.queries import alerts as queries
from db.queries import competitive as competitive_queries
from db.queries.realtime import newest_event_at
from services import audit
from services.access import Scope, require
from services.cache import forget_data_version
from services.context import ServiceContext
from services.errors import NotFound, ValidationError
from services.metrics import metric_value, ratio

SEVERITIES = ("low", "medium", "high")
ACTIONS = ("notify", "email", "slack", "pause")
COMPARISONS = (">", "<")

# Metric -> (label, how a value reads, subject: campaign or company)
METRICS = {
    "cpc": ("CPC", "usd", "campaign"),
    "cvr": ("Conversion rate", "pct", "campaign"),
    "budget_used": ("Share of daily budget spent", "pct", "campaign"),
    "cvr_vs_history": ("Conversion rate vs its 28-day average", "x", "campaign"),
    "traffic_vs_history": ("Clicks in the last hour vs its 7-day average", "x", "company"),
    "data_age_hours": ("Age of the newest event", "hours", "company"),
    "competitor_updates": ("Competitor updates recorded in the last 24 hours", "count",
                           "company"),
}

DEFAULT_RULES = [
    dict(rule_key="cpc_high", name="CPC above $5.00", metric="cpc", comparison=">",
         threshold=5.0, severity="medium", actions=["notify", "email"], pending_s=120,
         hysteresis=0.1, min_volume=20),
    dict(rule_key="cvr_low", name="Conversion rate below 1.5%", metric="cvr", comparison="<",
         threshold=0.015, severity="medium", actions=["notify", "slack"], pending_s=300,
         hysteresis=0.1, min_volume=200),
    dict(rule_key="budget_90", name="Daily budget more than 90% spent", metric="budget_used",
         comparison=">", threshold=0.9, severity="medium", actions=["notify", "pause"],
         pending_s=0, hysteresis=0.05, min_volume=0),
    dict(rule_key="overspend", name="Daily spend above budget x 1.1", metric="budget_used",
         comparison=">", threshold=1.1, severity="high",
         actions=["notify", "email", "slack", "pause"], pending_s=0, hysteresis=0.05,
         min_volume=0),
    dict(rule_key="cvr_drop", name="Conversion rate below 0.7x its average",
         metric="cvr_vs_history", comparison="<", threshold=0.7, severity="medium",
         actions=["notify"], pending_s=300, hysteresis=0.1, min_volume=200),
    dict(rule_key="traffic_spike", name="Hourly traffic above 2x its average",
         metric="traffic_vs_history", comparison=">", threshold=2.0, severity="low",
         actions=["notify", "slack"], pending_s=0, hysteresis=0.1, min_volume=20),
    dict(rule_key="stale_data", name="Data older than 2 hours", metric="data_age_hours",
         comparison=">", threshold=2.0, severity="high", actions=["notify"], pending_s=0,
         hysteresis=0.25, min_volume=0),
    # News, not a level: fires when an update is recorded (imported or added), resolves once
    # a day passes without one; email or Slack are one edit away.
    dict(rule_key="competitor_news", name="New competitor updates",
         metric="competitor_updates", comparison=">", threshold=0.0, severity="low",
         actions=["notify"], pending_s=0, hysteresis=0.0, min_volume=0),
]

def _boolean(value) -> bool:
    # bool("false") is True: only JSON true / false are accepted.
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    value = float(value)
    if not math.isfinite(value) or abs(value) > 1e12:
        raise ValueError("must be a finite number below 10^12")
    return value


def _whole(value) -> int:
    number = _number(value)
    if number != int(number):
        raise ValueError("must be a whole number")
    return int(number)


def _text(value) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("must be text")
    return value


def _texts(value) -> list:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of names")
    return value


# Each editable field and its explicit parser (finite numbers, real booleans, plain text).
EDITABLE = {"threshold": _number, "severity": _text, "actions": _texts, "enabled": _boolean,
            "pending_s": _whole, "hysteresis": _number, "min_volume": _whole, "name": _text}


def ensure_default_rules(ctx: ServiceContext, company_id: int) -> int:
    """Create the default rules a company does not have yet; returns how many were added."""
    with ctx.session() as session:
        return queries.insert_missing_rules(session, company_id, DEFAULT_RULES)


def list_rules(ctx: ServiceContext, company_id: int) -> list[dict]:
    ensure_default_rules(ctx, company_id)
    with ctx.session() as session:
        return queries.rules_of(session, company_id)


def _check_changes(changes: dict) -> dict:
    clean = {}
    for key, value in changes.items():
        if key not in EDITABLE:
            raise ValidationError(f"{key!r} cannot be changed; editable: {', '.join(EDITABLE)}")
        try:
            value = EDITABLE[key](value)
        except ValueError as error:
            raise ValidationError(f"{key} {error}, not {str(value)[:40]!r}") from None
        clean[key] = value
    if "severity" in clean and clean["severity"] not in SEVERITIES:
        raise ValidationError(f"severity must be one of {', '.join(SEVERITIES)}")
    if "actions" in clean:
        unknown = [a for a in clean["actions"] if a not in ACTIONS]
        if unknown:
            raise ValidationError(f"unknown actions {unknown}; use {', '.join(ACTIONS)}")
        clean["actions"] = sorted(set(clean["actions"]) | {"notify"}, key=ACTIONS.index)
    if "pending_s" in clean and not 0 <= clean["pending_s"] <= 86400:
        raise ValidationError("pending_s must be between 0 and 86400 seconds")
    if "hysteresis" in clean and not 0 <= clean["hysteresis"] < 1:
        raise ValidationError("hysteresis must be a fraction between 0 and 1")
    if "min_volume" in clean and clean["min_volume"] < 0:
        raise ValidationError("min_volume must not be negative")
    if "name" in clean and not 0 < len(clean["name"].strip()) <= 200:
        raise ValidationError("a rule name has 1 to 200 characters")
    return clean


def update_rule(ctx: ServiceContext, scope: Scope, rule_key: str, changes: dict) -> dict:
    """Edit a rule of the scope's company (marketing managers and admins only); audited."""
    require(ctx, scope, "edit_alert_rules")
    company_id = scope.company_id
    clean = _check_changes(changes)
    if not clean:
        raise ValidationError("nothing to change")
    ensure_default_rules(ctx, company_id)
    with ctx.session() as session:
        before = queries.update_rule(session, company_id, rule_key, clean, scope.audit_user_id)
        if before is None:
            raise NotFound(f"no alert rule {rule_key!r}")
        audit.record(session, "alert_rule_update", user_id=scope.audit_user_id,
                     actor_email=scope.user.email, remote_addr=scope.remote_addr,
                     target=f"alert_rule:{rule_key}",
                     before={k: before[k] for k in clean if k in before}, after=clean)
        rollups.bump_data_version(session.connection(), [company_id], history=False)
    forget_data_version(ctx, [company_id])
    return next(rule for rule in list_rules(ctx, company_id) if rule["rule_key"] == rule_key)


def breaches(comparison: str, value: float, threshold: float) -> bool:
    return value > threshold if comparison == ">" else value < threshold


def recovered(comparison: str, value: float, threshold: float, hysteresis: float) -> bool:
    """Back past the threshold by the hysteresis band (relative to the threshold)."""
    band = abs(threshold) * hysteresis
    # At the threshold itself a rule no longer breaches (breaches are strict), so with no
    # band (a count above 0) it has recovered there.
    return value <= threshold - band if comparison == ">" else value >= threshold + band


def describe(metric: str, value: float | None) -> str:
    kind = METRICS.get(metric, ("", "x", ""))[1]
    if value is None:
        return "—"
    if kind == "usd":
        return f"${value:,.2f}"
    if kind == "pct":
        return f"{value * 100:,.1f}%"
    if kind == "hours":
        return f"{value:,.1f} h"
    if kind == "count":
        return f"{value:,.0f}"
    return f"{value:,.2f}x"


def measure(session, rule: dict, company_id: int, now: dt.datetime, facts: dict) -> dict:
    """{subject key: (campaign_id, subject name, value or None)} for one rule. ``facts`` caches
    the rollup reads shared by several rules within one evaluation."""
    metric, min_volume = rule["metric"], rule["min_volume"] or 0
    day = now.astimezone(dt.timezone.utc).date()
    if "campaigns" not in facts:
        facts["campaigns"] = queries.campaigns_today(session, company_id, day)
    result: dict[int, tuple] = {}
    if metric in ("cpc", "cvr", "budget_used", "cvr_vs_history"):
        if metric == "cvr_vs_history" and "history" not in facts:
            facts["history"] = queries.campaign_history(
                session, company_id, day - dt.timedelta(days=28), day - dt.timedelta(days=1))
        for c in facts["campaigns"]:
            value = None
            # Ratios are the metric catalogue's (a rule's rate is a fraction, not percent).
            if metric == "cpc" and c["clicks"] >= max(min_volume, 1):
                value = metric_value(c, "cpc")
            elif metric == "cvr" and c["clicks"] >= max(min_volume, 1):
                value = ratio(c["conversions"], c["clicks"])
            elif metric == "budget_used" and c["daily_budget"]:
                value = ratio(c["spend"], c["daily_budget"])
            elif metric == "cvr_vs_history" and c["clicks"] >= max(min_volume, 1):
                past = facts["history"].get(c["id"])
                if past and past["clicks"] >= 100 and past["conversions"] > 0:
                    value = ratio(ratio(c["conversions"], c["clicks"]),
                                  ratio(past["conversions"], past["clicks"]))
            result[c["id"]] = (c["id"], c["name"], value)
        return result
    if metric == "traffic_vs_history":
        if not facts["campaigns"]:
            return result
        hour = now.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) \
            - dt.timedelta(hours=1)
        last = queries.clicks_in_hour(session, company_id, hour)
        past = queries.clicks_at_hours(session, company_id,
                                       [hour - dt.timedelta(days=d) for d in range(1, 8)]) / 7.0
        value = ratio(last, past) if past >= max(min_volume, 1) else None
        result[0] = (None, "All campaigns", value)
        return result
    if metric == "data_age_hours":
        if not facts["campaigns"]:
            return result
        if "newest" not in facts:
            facts["newest"] = newest_event_at(session, company_id, now + dt.timedelta(minutes=5))
        newest = facts["newest"]
        value = None if newest is None else max(0.0, (now - newest).total_seconds() / 3600.0)
        result[0] = (None, "All campaigns", value)
        return result
    if metric == "competitor_updates":
        since = now - dt.timedelta(hours=24)
        result[0] = (None, "Competitor updates in the last 24 hours",
                     float(competitive_queries.updates_recorded_since(session, company_id,
                                                                      since)))
        return result
    return result
