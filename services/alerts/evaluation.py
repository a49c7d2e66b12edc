"""Evaluating a company's rules: the alert state machine.

    (nothing) --breach--> pending --breach lasting pending_s--> firing --recovered--> resolved
                            \\--no breach--> cancelled

"Recovered" means past the threshold by the hysteresis band, so noise around the threshold
neither resolves a firing alert nor fires a pending one. Too little volume to judge (value
None) changes nothing. At most one open (pending or firing) alert exists per rule and subject
(a partial unique index), and the actions of a firing alert are queued exactly once (unique
per alert and action). One evaluator per company at a time (a transaction-level advisory
lock); a second worker skips the company instead of evaluating it twice.
"""

from __future__ import annotations

import datetime as dt

from db import rollups
from db.queries import alerts as queries
from services.alerts.rules import breaches, describe, measure, recovered
from services.cache import forget_data_version
from services.context import ServiceContext


def _message(rule: dict, subject: str, value: float | None) -> str:
    return f"{rule['name']}: {subject} at {describe(rule['metric'], value)}"


def evaluate_company(ctx: ServiceContext, company_id: int,
                     now: dt.datetime | None = None) -> dict | None:
    """Evaluate every enabled rule of the company at ``now``. Returns a summary of the
    transitions, or None when another worker holds the company."""
    now = now or dt.datetime.now(dt.timezone.utc)
    summary = {"fired": [], "resolved": [], "pending": [], "cancelled": [], "evaluated": 0}
    with ctx.session() as session:
        if not queries.try_company_lock(session, company_id):
            return None
        rules = queries.rules_of(session, company_id, enabled_only=True)
        open_alerts = {(a["rule_id"], a["campaign_id"] or 0): a
                       for a in queries.open_alerts_for_update(session, company_id)}
        facts: dict = {}
        for rule in rules:
            values = measure(session, rule, company_id, now, facts)
            breaching = {}
            for key, (campaign_id, subject, value) in values.items():
                alert = open_alerts.pop((rule["id"], key), None)
                summary["evaluated"] += 1
                if value is None:
                    if alert:
                        queries.update_alert(session, alert["id"], now)
                    continue
                breach = breaches(rule["comparison"], value, rule["threshold"])
                if breach:
                    breaching[subject] = round(value, 6)
                message = _message(rule, subject, value)
                if alert is None:
                    if not breach:
                        continue
                    state = "firing" if rule["pending_s"] <= 0 else "pending"
                    alert_id = queries.insert_alert(session, company_id, rule, campaign_id,
                                                    subject, state, value, message, now)
                    if state == "firing":
                        _fire(session, rule, alert_id, summary, message)
                    else:
                        summary["pending"].append(message)
                elif alert["state"] == "pending":
                    if not breach:
                        queries.update_alert(session, alert["id"], now, state="cancelled",
                                             value=value)
                        summary["cancelled"].append(message)
                    elif (now - alert["started_at"]).total_seconds() >= rule["pending_s"]:
                        queries.update_alert(session, alert["id"], now, state="firing",
                                             value=value, message=message)
                        _fire(session, rule, alert["id"], summary, message)
                    else:
                        queries.update_alert(session, alert["id"], now, value=value)
                elif recovered(rule["comparison"], value, rule["threshold"],
                               rule["hysteresis"]):
                    queries.update_alert(session, alert["id"], now, state="resolved",
                                         value=value)
                    note = f"Resolved: {message}"
                    queries.insert_notification(session, company_id, alert["id"], "low", note)
                    summary["resolved"].append(note)
                else:
                    queries.update_alert(session, alert["id"], now, value=value)
            queries.insert_evaluation(session, company_id, rule["id"], now, len(values),
                                      len(breaching), {"breaching": breaching})
            # Open alerts whose subject is gone (campaign paused or ended, rule out of scope).
            for (rule_id, key), alert in list(open_alerts.items()):
                if rule_id != rule["id"]:
                    continue
                del open_alerts[(rule_id, key)]
                state = "resolved" if alert["state"] == "firing" else "cancelled"
                queries.update_alert(session, alert["id"], now, state=state)
                summary[state].append(f"{rule['name']}: subject no longer active")
        changed = summary["fired"] or summary["resolved"]
        if changed:
            rollups.bump_data_version(session.connection(), [company_id], history=False)
    if changed:
        forget_data_version(ctx, [company_id])
    return summary


def _fire(session, rule: dict, alert_id: int, summary: dict, message: str) -> None:
    actions = list(dict.fromkeys(["notify", *rule["actions"]]))
    queries.insert_deliveries(session, alert_id, actions)
    summary["fired"].append(message)
