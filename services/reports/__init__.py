"""Scheduled reports (issue #17): schedules of a company (what, when, to whom), send now,
preview, the runs log, and the worker's pass (``runner.run_due``).

Every function takes the request's scope and goes through the one access check: the
``reports`` view to read, the ``edit_report_schedules`` action to create, change, delete or
send, ``allow_report_recipients`` (admins) to allow an outside address. A schedule id from a
request is resolved inside the scope: another company's id reads like one that does not
exist, and is audited. Modules: ``schedule`` (when, in the schedule's time zone),
``recipients``, ``sections`` (the views' service functions), ``svg``, ``templates``,
``render`` (HTML, PDF, CSV), ``runner`` (claims, delivery, retries).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from db.queries import reports as queries
from services import audit
from services.access import Scope, record_in_scope, require
from services.alerts.actions import DeliveryConfig
from services.context import ServiceContext
from services.errors import ValidationError
from services.filters import FIELDS
from services.filters import resolve as resolve_filters
from services.reports import recipients as recipient_rules
from services.reports.render import FORMATS
from services.reports.runner import execute, render_schedule, run_due, when_of
from services.reports.schedule import CADENCES, WEEKDAYS, next_due, parse_when, upcoming
from services.reports.sections import SECTIONS, allowed_sections

__all__ = ["CADENCES", "FORMATS", "SECTIONS", "WEEKDAYS", "allow_recipient", "delete_schedule",
           "list_runs", "list_schedules", "options", "preview", "run_due", "save_schedule",
           "schedule_in_scope", "send_now"]
UTC = dt.timezone.utc
VIEW = "reports"
EDIT = "edit_report_schedules"
ALLOW = "allow_report_recipients"
NAME_MAX = 200


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _public(schedule: dict, viewer_zone: str | None = None) -> dict:
    """A schedule as the view and the API show it (JSON)."""
    when = when_of(schedule)
    nxt = schedule["next_run_at"]
    out = {key: schedule[key] for key in ("id", "name", "view", "sections", "formats",
                                          "recipients", "cadence", "day", "timezone", "cron",
                                          "skip_if_empty", "slack", "notify", "active")}
    out.update({"filters": schedule["filters"] or {},
                "local_time": schedule["local_time"].strftime("%H:%M"),
                "when": when.describe(), "owner": schedule["owner_email"],
                "owner_id": schedule["owner_id"],
                "next_run_at": _iso(nxt) if schedule["active"] else None,
                "next_run_local": (nxt.astimezone(ZoneInfo(schedule["timezone"])).strftime(
                    "%a %d %b %Y %H:%M %Z") if nxt and schedule["active"] else None),
                "next_run_viewer": (nxt.astimezone(ZoneInfo(viewer_zone)).strftime(
                    "%a %d %b %H:%M %Z") if nxt and viewer_zone and schedule["active"]
                    else None),
                "last_status": schedule.get("last_status"),
                "last_due_at": _iso(schedule.get("last_due_at")),
                "last_detail": schedule.get("last_detail")})
    return out


def _run_public(run: dict) -> dict:
    return {"id": run["id"], "schedule_id": run["schedule_id"],
            "schedule": run.get("schedule_name"), "kind": run["kind"], "status": run["status"],
            "due_at": _iso(run["due_at"]), "started_at": _iso(run["started_at"]),
            "finished_at": _iso(run["finished_at"]), "attempts": run["attempts"],
            "next_attempt_at": _iso(run["next_attempt_at"]), "detail": run["detail"],
            "recipients": list(run["recipients"] or []), "sizes": run["sizes"] or {},
            "render_ms": run["render_ms"], "deliver_ms": run["deliver_ms"]}


def viewer_zone(value) -> str | None:
    """The browser's IANA zone if it is one (display only), else None."""
    try:
        return str(ZoneInfo(str(value))) if value and "/" in str(value) else None
    except (ValueError, KeyError, OSError):
        return None


def options(ctx: ServiceContext, scope: Scope) -> dict:
    """What the form offers this user: sections their role may include, formats, cadences,
    the company's users (recipients) and the allowed outside addresses."""
    require(ctx, scope, VIEW)
    with ctx.session() as session:
        users = [u for u in queries.company_users(session, scope.company_id) if u["active"]]
        outside = queries.allowed_addresses(session, scope.company_id)
    return {"sections": [{"key": key, "title": SECTIONS[key].title, "view": SECTIONS[key].view,
                          "description": SECTIONS[key].description}
                         for key in allowed_sections(scope.role)],
            "formats": FORMATS, "cadences": CADENCES, "weekdays": list(WEEKDAYS),
            "users": [{"email": u["email"], "name": u["name"]} for u in users],
            "allowed_addresses": outside}


def list_schedules(ctx: ServiceContext, scope: Scope, viewer_tz: str | None = None) -> dict:
    require(ctx, scope, VIEW)
    with ctx.session() as session:
        rows = queries.schedules(session, scope.company_id)
    zone = viewer_zone(viewer_tz)
    return {"schedules": [_public(row, zone) for row in rows], "count": len(rows)}


def schedule_in_scope(ctx: ServiceContext, scope: Scope, schedule_id) -> dict:
    """A schedule of the scope's company, or NotFound (audited)."""
    return record_in_scope(ctx, scope, "report schedule", schedule_id, queries.schedule)


def list_runs(ctx: ServiceContext, scope: Scope, schedule_id=None, limit: int = 50) -> dict:
    require(ctx, scope, VIEW)
    number = None
    if schedule_id not in (None, ""):
        number = schedule_in_scope(ctx, scope, schedule_id)["id"]
    with ctx.session() as session:
        rows = queries.runs(session, scope.company_id, number, limit)
    return {"runs": [_run_public(r) for r in rows], "count": len(rows)}


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, list):  # a checklist's value
        return bool(value)
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _filters(ctx: ServiceContext, scope: Scope, raw) -> dict:
    """The filter dict of a view's URL (validated for this company; no company key: the
    schedule's company is its own)."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ValidationError("filters must be an object of a view's URL parameters")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown filter {unknown[0][:40]!r}; filters are: "
                              f"{', '.join(f for f in FIELDS if f != 'company')}")
    clean = {key: str(value) for key, value in raw.items()
             if key != "company" and value not in (None, "", "all")}
    resolve_filters(ctx, scope, clean)  # ValidationError says which value is wrong
    return clean


def validate(ctx: ServiceContext, scope: Scope, form: dict, now: dt.datetime) -> dict:
    """A schedule's values from a form or an API body; ValidationError names the field."""
    if not isinstance(form, dict):
        raise ValidationError("send the schedule as an object")
    name = " ".join(str(form.get("name") or "").split())
    if not name:
        raise ValidationError("give the report a name")
    if len(name) > NAME_MAX:
        raise ValidationError(f"the name is over {NAME_MAX} characters")
    sections = form.get("sections") or []
    if isinstance(sections, str):
        sections = [s.strip() for s in sections.split(",") if s.strip()]
    if not isinstance(sections, list) or not sections:
        raise ValidationError("pick at least one section")
    allowed = allowed_sections(scope.role)
    bad = [str(s)[:40] for s in sections if s not in allowed]
    if bad:
        raise ValidationError(f"unknown or not allowed section {bad[0]!r}; your role may "
                              f"include: {', '.join(allowed)}")
    formats = form.get("formats") or []
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    if not isinstance(formats, list) or not formats:
        raise ValidationError("pick at least one format (pdf, html, csv)")
    bad = [str(f)[:20] for f in formats if f not in FORMATS]
    if bad:
        raise ValidationError(f"unknown format {bad[0]!r}; choose from: {', '.join(FORMATS)}")
    when = parse_when(form.get("cadence"), form.get("local_time"), form.get("timezone"),
                      form.get("day"), form.get("cron"))
    recipients = recipient_rules.validate(ctx, scope.company_id, form.get("recipients") or [])
    slack, notify = _flag(form.get("slack", False)), _flag(form.get("notify", True))
    if not recipients and not slack and not notify:
        raise ValidationError("add a recipient, Slack or an in-app notification: the report "
                              "would go nowhere")
    view = form.get("view") or "reports"
    if view not in ("reports", "executive", "marketing", "competitive"):
        view = "reports"
    active = _flag(form.get("active", True))
    return {"name": name, "view": view, "sections": list(dict.fromkeys(sections)),
            "filters": _filters(ctx, scope, form.get("filters")),
            "formats": [f for f in FORMATS if f in formats], "recipients": recipients,
            "cadence": when.cadence, "day": when.day, "local_time": when.local_time,
            "timezone": when.timezone, "cron": when.cron,
            "skip_if_empty": _flag(form.get("skip_if_empty", False)), "slack": slack,
            "notify": notify, "active": active,
            "next_run_at": next_due(when, now) if active else None}


def save_schedule(ctx: ServiceContext, scope: Scope, form: dict, schedule_id=None,
                  now: dt.datetime | None = None) -> dict:
    """Create (no id) or change a schedule of the scope's company; returns it."""
    require(ctx, scope, EDIT)
    now = now or dt.datetime.now(UTC)
    existing = schedule_in_scope(ctx, scope, schedule_id) if schedule_id not in (None, "") \
        else None
    values = validate(ctx, scope, form, now)
    with ctx.session() as session:
        if existing is None:
            if not scope.user.id:
                raise ValidationError("a schedule needs an owner: create it as a user")
            number = queries.insert_schedule(session, scope.company_id, scope.user.id, values)
            action = "report_schedule_create"
        else:
            number = existing["id"]
            queries.update_schedule(session, scope.company_id, number, values)
            action = "report_schedule_update"
        audit.record(session, action, user_id=scope.audit_user_id,
                     actor_email=scope.user.email, target=f"report_schedule:{number}",
                     remote_addr=scope.remote_addr,
                     after={"name": values["name"], "sections": values["sections"],
                            "recipients": values["recipients"],
                            "when": when_of(values).describe()})
        saved = queries.schedule(session, scope.company_id, number)
    return _public(saved)


def delete_schedule(ctx: ServiceContext, scope: Scope, schedule_id) -> dict:
    require(ctx, scope, EDIT)
    found = schedule_in_scope(ctx, scope, schedule_id)
    with ctx.session() as session:
        queries.delete_schedule(session, scope.company_id, found["id"])
        audit.record(session, "report_schedule_delete", user_id=scope.audit_user_id,
                     actor_email=scope.user.email, target=f"report_schedule:{found['id']}",
                     remote_addr=scope.remote_addr, before={"name": found["name"]})
    return {"deleted": found["id"], "name": found["name"]}


def send_now(ctx: ServiceContext, scope: Scope, schedule_id, config: DeliveryConfig,
             now: dt.datetime | None = None) -> dict:
    """Run a schedule at once (logged and claimed like a scheduled run)."""
    require(ctx, scope, EDIT)
    found = schedule_in_scope(ctx, scope, schedule_id)
    now = now or dt.datetime.now(UTC)
    with ctx.session() as session:
        run_id = queries.claim_run(session, found["id"], scope.company_id, now, "manual",
                                   scope.audit_user_id)
    if run_id is None:
        raise ValidationError("this report is being sent already")
    execute(ctx, config, run_id, now)
    with ctx.session() as session:
        return _run_public({**queries.run(session, run_id), "schedule_name": found["name"]})


def preview(ctx: ServiceContext, scope: Scope, schedule_id, fmt: str = "html") -> dict:
    """Render a schedule without sending: the static HTML (what the PDF and e-mail show), or
    one file (pdf, html, csv) as bytes."""
    require(ctx, scope, VIEW)
    found = schedule_in_scope(ctx, scope, schedule_id)
    if fmt not in ("html", *FORMATS):
        raise ValidationError(f"unknown preview format {str(fmt)[:20]!r}")
    rendered = render_schedule(ctx, found, formats=[] if fmt == "html" else [fmt])
    files = {name: data for name, (data, _mime) in rendered.files.items()}
    return {"name": found["name"], "html": rendered.html, "files": files,
            "empty": rendered.empty}


def allow_recipient(ctx: ServiceContext, scope: Scope, address) -> dict:
    """An admin allows an address outside the company to receive its reports."""
    require(ctx, scope, ALLOW)
    addresses = recipient_rules.normalize([address])
    if len(addresses) != 1:
        raise ValidationError("give one e-mail address")
    with ctx.session() as session:
        queries.allow_address(session, scope.company_id, addresses[0], scope.audit_user_id)
        audit.record(session, "report_recipient_allow", user_id=scope.audit_user_id,
                     actor_email=scope.user.email, target=f"address:{addresses[0]}"[:255],
                     remote_addr=scope.remote_addr)
    return {"allowed": addresses[0]}


def upcoming_due(schedule: dict, count: int = 3, now: dt.datetime | None = None) -> list[str]:
    return [d.isoformat() for d in upcoming(when_of(schedule), now or dt.datetime.now(UTC),
                                            count)]
