"""The company calendar (issue #20): its annotated events (launches, outages, sales) and the
country whose public holidays the anomaly detector knows.

Anyone who may open the executive view reads them; admins, marketing managers and analysts
change them (the ``annotate_events`` action). A change moves the company's history version
on: the stored anomalies were judged without it, and are refitted.
"""

from __future__ import annotations

import datetime as dt

from db import rollups
from db.queries import company_events as queries
from services import audit
from services.access import Scope, deny, require
from services.cache import cached, forget_data_version
from services.context import ServiceContext
from services.errors import NotFound, ValidationError
from services.insights.calendar import DEFAULT_COUNTRY, calendar_days, supported

KINDS = ("launch", "outage", "sale", "campaign", "other")  # as the table's check allows
MAX_EVENT_DAYS = 92


def _day(value, what: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"the {what} must be a date like 2026-03-15") from None


def _public(row: dict) -> dict:
    return {"id": row["id"], "start": row["start_day"].isoformat(),
            "end": row["end_day"].isoformat(), "kind": row["kind"], "title": row["title"],
            "created_by": row["created_by"]}


def list_events(ctx: ServiceContext, scope: Scope) -> dict:
    """The company's events (newest first) and its holiday country."""
    require(ctx, scope, "executive")
    return _listed(ctx, scope)


@cached()  # read by every revenue chart; a change moves the data version on
def _listed(ctx: ServiceContext, scope: Scope) -> dict:
    with ctx.session() as session:
        rows = queries.events(session, scope.company_id)
        country = queries.holiday_country(session, scope.company_id) or DEFAULT_COUNTRY
    return {"events": [_public(row) for row in rows], "holiday_country": country}


def _refit_soon(ctx: ServiceContext, company_id: int) -> None:
    """Ask the worker to refit the company's anomalies within seconds (``precompute``)."""
    from services.insights.precompute import request_refit  # it imports the detectors

    request_refit(ctx, company_id)


def _changed(ctx: ServiceContext, session, company_id: int) -> None:
    rollups.bump_data_version(session.connection(), [company_id])


def add_event(ctx: ServiceContext, scope: Scope, start, end, kind, title) -> dict:
    """Annotate the days ``start`` to ``end`` (inclusive) with an event."""
    require(ctx, scope, "annotate_events")
    problems = []
    title = title.strip() if isinstance(title, str) else ""
    if not title or len(title) > 200 or not title.isprintable():
        problems.append("the title must be 1 to 200 printable characters")
    if kind not in KINDS:
        problems.append(f"the kind must be one of {', '.join(KINDS)}")
    try:
        first = _day(start, "start")
        last = _day(end if end not in (None, "") else start, "end")
        if last < first:
            problems.append("the event must end on or after its start")
        elif (last - first).days >= MAX_EVENT_DAYS:
            problems.append(f"an event lasts at most {MAX_EVENT_DAYS} days")
    except ValidationError as error:
        problems.append(str(error))
    if problems:
        raise ValidationError("; ".join(problems))
    with ctx.session() as session:
        event_id = queries.insert_event(session, scope.company_id, first, last, kind, title,
                                        scope.audit_user_id)
        audit.record(session, "event_add", user_id=scope.audit_user_id,
                     actor_email=scope.user.email, target=f"event:{event_id}",
                     remote_addr=scope.remote_addr,
                     after={"company_id": scope.company_id, "start": first.isoformat(),
                            "end": last.isoformat(), "kind": kind, "title": title})
        _changed(ctx, session, scope.company_id)
    forget_data_version(ctx, [scope.company_id])
    _refit_soon(ctx, scope.company_id)
    return {"id": event_id, "start": first.isoformat(), "end": last.isoformat(),
            "kind": kind, "title": title}


def remove_event(ctx: ServiceContext, scope: Scope, event_id) -> dict:
    """Remove an event of the scope's company; another company's id reads as unknown."""
    require(ctx, scope, "annotate_events")
    number = event_id if isinstance(event_id, int) and not isinstance(event_id, bool) else (
        int(event_id) if isinstance(event_id, str) and event_id.isascii()
        and event_id.isdigit() and len(event_id) < 10 else None)
    with ctx.session() as session:
        found = queries.event(session, scope.company_id, number) if number else None
        if found is None:
            raise deny(ctx, scope, f"event:{str(event_id)[:40]}",
                       NotFound(f"no event {str(event_id)[:40]} in this company"))
        queries.delete_event(session, scope.company_id, number)
        audit.record(session, "event_remove", user_id=scope.audit_user_id,
                     actor_email=scope.user.email, target=f"event:{number}",
                     remote_addr=scope.remote_addr,
                     before={"company_id": scope.company_id, **_public(found)})
        _changed(ctx, session, scope.company_id)
    forget_data_version(ctx, [scope.company_id])
    _refit_soon(ctx, scope.company_id)
    return _public(found)


def set_holiday_country(ctx: ServiceContext, scope: Scope, country) -> dict:
    """Choose the country whose public holidays the company's anomalies know (admins and
    marketing managers: a company setting)."""
    require(ctx, scope, "set_holiday_country")
    code = country.strip().upper() if isinstance(country, str) else ""
    if len(code) != 2 or not code.isascii() or not code.isalpha() or not supported(code):
        raise ValidationError("the country must be a two-letter ISO code with known public "
                              "holidays, like US, GB or DE")
    with ctx.session() as session:
        queries.set_holiday_country(session, scope.company_id, code)
        audit.record(session, "holiday_country_set", user_id=scope.audit_user_id,
                     actor_email=scope.user.email, target=f"company:{scope.company_id}",
                     remote_addr=scope.remote_addr, after={"holiday_country": code})
        _changed(ctx, session, scope.company_id)
    forget_data_version(ctx, [scope.company_id])
    _refit_soon(ctx, scope.company_id)
    return {"holiday_country": code}


def company_calendar(session, company_id: int, first: dt.date, last: dt.date
                     ) -> tuple[dict[dt.date, str], dict[dt.date, dict]]:
    """(named holiday days, annotated event per day) of the company between first and last,
    for the anomaly detector (no access check: the caller is the company's history model)."""
    country = queries.holiday_country(session, company_id) or DEFAULT_COUNTRY
    annotated: dict[dt.date, dict] = {}
    for row in queries.events(session, company_id):
        day = max(row["start_day"], first)
        while day <= min(row["end_day"], last):
            annotated.setdefault(day, _public(row))
            day += dt.timedelta(days=1)
    return calendar_days(country, first, last), annotated
