"""Running reports exactly once: the worker claims each due (schedule, due time) with a unique
row, renders the report within its owner's scope at send time, delivers it (e-mail with
attachments, Slack, in-app notifications), each delivery claimed before it is sent, and logs
the run with its status, timings, recipients, sizes and the real error. A failed run is retried
with backoff; a run left "working" by a stopped worker is taken up again (deliveries already
made are not repeated), so no run stays "working" and none is sent twice."""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import time
import urllib.error

from db.queries import reports as queries
from services.access import Scope
from services.alerts.actions import DeliveryConfig, _Skip, send_email, send_slack
from services.context import ServiceContext
from services.errors import ServiceError
from services.reports import recipients as recipient_rules
from services.reports.render import Rendered, render
from services.reports.schedule import When, next_due
from services.reports.sections import allowed_sections
from services.tenancy import tenant_of
from services.users import get_user

log = logging.getLogger(__name__)
UTC = dt.timezone.utc
MAX_ATTEMPTS = 3
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5))  # before attempts 2 and 3
STALE_AFTER = dt.timedelta(minutes=15)  # a run "working" this long lost its worker


def when_of(schedule: dict) -> When:
    return When(schedule["cadence"], schedule["local_time"], schedule["timezone"],
                schedule["day"], schedule["cron"])


def public_url() -> str:
    return (os.environ.get("CAMPAIGN_DASH_PUBLIC_URL") or "http://127.0.0.1:8050").rstrip("/")


class Refused(Exception):
    """The schedule may not run now (its owner was deactivated, left, or may see nothing)."""


def owner_scope(ctx: ServiceContext, schedule: dict) -> tuple[Scope, list[str], list[str]]:
    """The owner's scope on the schedule's company at send time, the sections the owner's
    role may still see, and the titles of those dropped."""
    from db.queries import companies as company_queries
    from services.reports.sections import SECTIONS

    owner = get_user(ctx, schedule["owner_id"])
    if owner is None or not owner.active:
        raise Refused(f"the owner {schedule['owner_email']} is deactivated: the schedule "
                      "was paused")
    if owner.company_id not in (None, schedule["company_id"]):
        raise Refused(f"the owner {owner.email} no longer belongs to this company: the "
                      "schedule was paused")
    with ctx.session() as session:
        tenant = tenant_of(company_queries.company_by_id(session, schedule["company_id"]))
    allowed = set(allowed_sections(owner.role))
    keep = [key for key in schedule["sections"] if key in allowed and key in SECTIONS]
    dropped = [SECTIONS[key].title for key in schedule["sections"]
               if key in SECTIONS and key not in allowed]
    if not keep:
        raise Refused(f"the owner's role ({owner.role.replace('_', ' ')}) may open none of "
                      "this report's sections: the schedule was paused")
    return Scope(owner, tenant, None), keep, dropped


def render_schedule(ctx: ServiceContext, schedule: dict, formats: list[str] | None = None,
                    now: dt.datetime | None = None) -> Rendered:
    scope, keep, dropped = owner_scope(ctx, schedule)
    return render(ctx, scope, name=schedule["name"], section_keys=keep,
                  raw=dict(schedule["filters"] or {}),
                  formats=schedule["formats"] if formats is None else formats,
                  when_text=when_of(schedule).describe(), owner=schedule["owner_email"],
                  link=f"{public_url()}/reports", dropped=dropped, now=now)


# --------------------------------------------------------------------------- claiming


def claim_due(ctx: ServiceContext, now: dt.datetime, limit: int = 10) -> list[int] | None:
    """Claim a run for up to ``limit`` schedules whose next due time has come, and move each
    on to its next due time after ``now`` (due times missed while no worker ran are sent
    once, late, not once each). The ids of the runs this worker claimed; None when nothing
    was due (another worker may hold some: they are skipped, not waited for)."""
    claimed = []
    with ctx.session() as session:
        due = queries.lock_due_schedules(session, now, limit)
        for schedule in due:
            run_id = queries.claim_run(session, schedule["id"], schedule["company_id"],
                                       schedule["next_run_at"], "scheduled")
            queries.advance_schedule(session, schedule["id"], schedule["next_run_at"],
                                     next_due(when_of(schedule),
                                              max(now, schedule["next_run_at"])))
            if run_id is not None:
                claimed.append(run_id)
    return claimed if due else None


def claim_retries(ctx: ServiceContext, now: dt.datetime, limit: int = 200) -> list[int]:
    with ctx.session() as session:
        queries.release_stale(session, now - STALE_AFTER, now)
        candidates = queries.retry_runs(session, now, limit)
    claimed = []
    for run_id in candidates:
        with ctx.session() as session:
            if queries.claim_retry(session, run_id, now):
                claimed.append(run_id)
    return claimed


# --------------------------------------------------------------------------- delivering


def _deliver_one(ctx: ServiceContext, run_id: int, channel: str, target: str, send) -> str:
    """Claim, send, record: 'sent', 'skipped', 'failed' or 'already' (claimed before)."""
    with ctx.session() as session:
        if not queries.claim_delivery(session, run_id, channel, target):
            return "already"
    status, detail = "sent", None
    try:
        detail = send()
    except _Skip as skip:
        status, detail = "skipped", str(skip)
    except (OSError, smtplib.SMTPException, urllib.error.URLError, ServiceError,
            ValueError) as error:
        status, detail = "failed", f"{type(error).__name__}: {error}"[:500]
        log.warning("report run %s: %s to %s failed: %s", run_id, channel, target, detail)
    with ctx.session() as session:
        queries.finish_delivery(session, run_id, channel, target, status, detail)
    return status


def _summary(schedule: dict, rendered: Rendered, company: str) -> str:
    """The Slack text: what, for whom, the key numbers, the link back."""
    lines = [f"*{schedule['name']}* for {company} ({rendered.period})"]
    for section in rendered.sections:
        if section["cards"]:
            numbers = ", ".join(f"{c['label']} {c['value']} ({c['change']})"
                                for c in section["cards"][:4])
            lines.append(f"{section['title']}: {numbers}")
            break
    lines.append(f"Open the dashboard: {public_url()}/reports")
    return "\n".join(lines)


def deliver(ctx: ServiceContext, config: DeliveryConfig, run_id: int, schedule: dict,
            rendered: Rendered, company: str) -> tuple[dict, list[str]]:
    """Every delivery of a run: {status: count} and the recipients it reached."""
    with ctx.session() as session:
        users = {u["email"].lower(): u for u in queries.company_users(session,
                                                                        schedule["company_id"])}
    addresses = recipient_rules.deliverable(ctx, schedule["company_id"], schedule["recipients"])
    attachments = tuple((name, data, mime) for name, (data, mime) in rendered.files.items())
    subject = f"{schedule['name']} · {company} · {rendered.period}"
    body = (f"{schedule['name']} for {company}, {rendered.period}.\n"
            f"Attached: {', '.join(rendered.files) or 'nothing (no formats chosen)'}.\n"
            f"Open the dashboard: {public_url()}/reports\n")
    counts: dict[str, int] = {}
    reached = []
    for address in recipient_rules.normalize(schedule["recipients"]):
        if address not in addresses:  # left the company, or an admin revoked it
            def refuse():
                raise _Skip("not a user of this company and not allowed by an admin")

            _deliver_one(ctx, run_id, "email", address, refuse)
            counts["skipped"] = counts.get("skipped", 0) + 1
    for address in addresses:
        status = _deliver_one(ctx, run_id, "email", address, lambda a=address: send_email(
            config, [a], subject, body, html=rendered.html, attachments=attachments))
        counts[status] = counts.get(status, 0) + 1
        if status in ("sent", "already"):
            reached.append(address)
    if schedule["slack"]:
        def post():
            with ctx.session() as session:
                hook = queries.slack_webhook(session, schedule["company_id"])
            return send_slack(config, hook, _summary(schedule, rendered, company))

        status = _deliver_one(ctx, run_id, "slack", "company-webhook", post)
        counts[status] = counts.get(status, 0) + 1
        if status in ("sent", "already"):
            reached.append("Slack")
    if schedule["notify"]:
        notified = {schedule["owner_id"]} | {users[a]["id"] for a in addresses if a in users}
        for user_id in sorted(notified):
            def notify(user_id=user_id):
                with ctx.session() as session:
                    queries.insert_notification(
                        session, schedule["company_id"], user_id,
                        f"Report '{schedule['name']}' ({rendered.period}) was sent: "
                        f"{', '.join(rendered.files) or 'no files'}.")
                return "in-app notification"

            status = _deliver_one(ctx, run_id, "notification", f"user:{user_id}", notify)
            counts[status] = counts.get(status, 0) + 1
    return counts, reached


# --------------------------------------------------------------------------- one run


def _finish(ctx, run_id, **values) -> None:
    with ctx.session() as session:
        queries.finish_run(session, run_id, values)


def _pause(ctx, schedule_id: int) -> None:
    from sqlalchemy import text

    with ctx.session() as session:
        session.execute(text("UPDATE report_schedules SET active = false WHERE id = :id"),
                        {"id": schedule_id})


def execute(ctx: ServiceContext, config: DeliveryConfig, run_id: int,
            now: dt.datetime | None = None) -> dict:
    """Render and deliver one claimed run; the run ends sent, partial, skipped, failed, or
    retrying (with its next attempt), never working."""
    now = now or dt.datetime.now(UTC)
    with ctx.session() as session:
        run = queries.run(session, run_id)
        schedule = queries.schedule_any_company(session, run["schedule_id"])
    started = time.perf_counter()
    try:
        scope, _keep, _dropped = owner_scope(ctx, schedule)
        rendered = render_schedule(ctx, schedule, now=now)
    except Refused as refused:
        _pause(ctx, schedule["id"])
        _finish(ctx, run_id, status="skipped", detail=str(refused))
        return {"run_id": run_id, "status": "skipped", "detail": str(refused)}
    except Exception as error:  # noqa: BLE001 - any failure is logged on the run, with retry
        log.exception("report run %s failed to render", run_id)
        return _failed(ctx, run, f"rendering failed: {type(error).__name__}: {error}"[:1000],
                       now, render_ms=int((time.perf_counter() - started) * 1000))
    render_ms = int((time.perf_counter() - started) * 1000)
    if schedule["skip_if_empty"] and rendered.empty and run["kind"] == "scheduled":
        _finish(ctx, run_id, status="skipped", render_ms=render_ms,
                detail="skipped: every section was empty (skip if empty is on)")
        return {"run_id": run_id, "status": "skipped", "render_ms": render_ms}
    started = time.perf_counter()
    try:
        counts, reached = deliver(ctx, config, run_id, schedule, rendered, scope.company.name)
    except Exception as error:  # noqa: BLE001
        log.exception("report run %s failed to deliver", run_id)
        return _failed(ctx, run, f"delivery failed: {type(error).__name__}: {error}"[:1000],
                       now, render_ms=render_ms, sizes=rendered.sizes)
    deliver_ms = int((time.perf_counter() - started) * 1000)
    with ctx.session() as session:
        details = queries.deliveries(session, run_id)
    problems = [f"{d['channel']} to {d['target']}: {d['detail']}" for d in details
                if d["status"] in ("failed", "skipped")]
    values = {"recipients": reached, "sizes": rendered.sizes, "render_ms": render_ms,
              "deliver_ms": deliver_ms}
    if counts.get("failed"):
        return _failed(ctx, run, "; ".join(problems)[:1000], now, **values)
    sent = sum(1 for d in details if d["status"] == "sent")
    status = "sent" if sent and not problems else "partial" if sent else "failed"
    done = _delivered_text(details)
    detail = (f"{done}; not delivered: " if sent else "") + "; ".join(problems) \
        if problems else done
    detail = detail[:1000]
    if not details:
        status, detail = "failed", "no recipients, Slack or notification to deliver to"
    _finish(ctx, run_id, status=status, detail=detail, **values)
    return {"run_id": run_id, "status": status, "detail": detail, **values}


def _delivered_text(details: list[dict]) -> str:
    """What a run delivered, in words ("2 e-mails, Slack, 1 in-app notification")."""
    sent = [d for d in details if d["status"] == "sent"]
    emails = sum(1 for d in sent if d["channel"] == "email")
    notes = sum(1 for d in sent if d["channel"] == "notification")
    parts = ([f"{emails} e-mail{'s' if emails != 1 else ''}"] if emails else []) + \
        (["Slack"] if any(d["channel"] == "slack" for d in sent) else []) + \
        ([f"{notes} in-app notification{'s' if notes != 1 else ''}"] if notes else [])
    return "delivered: " + ", ".join(parts) if parts else "nothing delivered"


def _failed(ctx, run: dict, detail: str, now: dt.datetime, **values) -> dict:
    """A failure: retried with backoff while attempts remain, else failed for good."""
    attempts = run["attempts"]
    if attempts < MAX_ATTEMPTS:
        retry_at = now + BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
        _finish(ctx, run["id"], status="retrying", next_attempt_at=retry_at,
                detail=f"attempt {attempts} of {MAX_ATTEMPTS}: {detail}"[:1000], **values)
        return {"run_id": run["id"], "status": "retrying", "detail": detail,
                "next_attempt_at": retry_at}
    _finish(ctx, run["id"], status="failed",
            detail=f"failed after {attempts} attempts: {detail}"[:1000], **values)
    return {"run_id": run["id"], "status": "failed", "detail": detail}


def run_due(ctx: ServiceContext, config: DeliveryConfig, now: dt.datetime | None = None,
            batch: int = 5) -> list[dict]:
    """One worker pass: claim a small batch of due runs (and retries), run them, and again
    until nothing is due, so several workers share a busy minute batch by batch."""
    now = now or dt.datetime.now(UTC)
    results = []
    retries = claim_retries(ctx, now)
    results += [execute(ctx, config, run_id, now) for run_id in retries]
    while (claimed := claim_due(ctx, now, batch)) is not None:
        results += [execute(ctx, config, run_id, now) for run_id in claimed]
    return results
