"""Companies and campaigns added by hand (``campaign-dash company|campaign add|list``), with
every problem of the input reported at once. The importers create them from files through
the same queries (``db.queries.catalog``)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from db.queries import catalog as queries
from db.queries.companies import company_by_slug
from services import audit
from services.context import ServiceContext
from services.errors import NotFound, ValidationError

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
STATUSES = ("draft", "active", "paused", "completed")
GOALS = ("awareness", "traffic", "leads", "sales")
MAX_MONEY = Decimal("9999999999.9999")  # NUMERIC(14, 4)


def slugify(name: str) -> str:
    """'Innovate Industries' -> 'innovate-industries' (at most 64 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return slug[:64].rstrip("-") or "company"


def _raise(problems: list[str]) -> None:
    if problems:
        raise ValidationError("; ".join(problems))


def add_company(ctx: ServiceContext, name: str, *, slug: str | None = None,
                industry: str = "unspecified", actor: str = "cli") -> dict:
    name = (name or "").strip()
    slug = (slug or slugify(name)).strip()
    industry = (industry or "").strip()
    problems = []
    if not name:
        problems.append("the name is empty")
    elif len(name) > 200:
        problems.append("the name is longer than 200 characters")
    if not SLUG.match(slug):
        problems.append(f"slug {slug!r} must be lower-case letters, digits and dashes "
                        "(at most 64, not starting with a dash)")
    if not industry or len(industry) > 64:
        problems.append("the industry must be 1 to 64 characters")
    with ctx.session() as session:
        if SLUG.match(slug) and slug in queries.slugs(session):
            problems.append(f"a company with slug {slug!r} exists (pass --slug to pick another)")
        if name and name.lower() in queries.company_ids_by_name(session):
            problems.append(f"a company named {name!r} exists")
        _raise(problems)
        company_id = queries.insert_company(session, slug, name, industry)
        audit.record(session, "company_add", actor_email=actor, target=f"company:{company_id}",
                     after={"slug": slug, "name": name, "industry": industry})
    return {"id": company_id, "slug": slug, "name": name, "industry": industry}


def add_location(ctx: ServiceContext, name: str, *, region: str, country: str,
                 latitude, longitude, actor: str = "cli") -> dict:
    """A location events and campaigns can point at (imports need every location of a file
    to exist: a location has coordinates, which an export does not give)."""
    name, region, country = (name or "").strip(), (region or "").strip(), (country or "").strip()
    problems = []
    if not name or len(name) > 100:
        problems.append("the name must be 1 to 100 characters")
    if not region or len(region) > 32:
        problems.append("the region must be 1 to 32 characters")
    if not re.fullmatch(r"[A-Z]{2}", country):
        problems.append(f"country {country!r} must be a two-letter code such as US")
    coordinates = {}
    for label, value, limit in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems.append(f"{label} must be a number, got {value!r}")
            continue
        if not -limit <= number <= limit:
            problems.append(f"{label} must be between -{limit} and {limit}")
        coordinates[label] = number
    with ctx.session() as session:
        if name and name.lower() in queries.locations(session):
            problems.append(f"a location named {name!r} exists")
        _raise(problems)
        values = {"name": name, "region": region, "country": country, **coordinates}
        location_id = queries.insert_location(session, values)
        audit.record(session, "location_add", actor_email=actor,
                     target=f"location:{location_id}", after=values)
    return {"id": location_id, **values}


def list_locations(ctx: ServiceContext) -> list[dict]:
    with ctx.session() as session:
        return queries.location_rows(session)


def list_companies(ctx: ServiceContext) -> list[dict]:
    with ctx.session() as session:
        return queries.companies(session)


def _company(session, slug: str):
    company = company_by_slug(session, slug)
    if company is None:
        raise NotFound(f"no company {slug!r} (see `campaign-dash company list`)")
    return company


def _money(value, label: str, problems: list[str]) -> Decimal:
    try:
        amount = Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        problems.append(f"{label} must be a number, got {value!r}")
        return Decimal(0)
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY:
        problems.append(f"{label} must be between 0 and {MAX_MONEY:,}")
    return amount


def _day(value, label: str, problems: list[str]) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{label} must be YYYY-MM-DD, got {value!r}")
        return None


def add_campaign(ctx: ServiceContext, company_slug: str, name: str, channel: str, *,
                 goal: str = "awareness", status: str = "active", start=None, end=None,
                 budget=0, daily_budget=0, location: str | None = None,
                 segment: str | None = None, language: str = "English",
                 project: str | None = None, actor: str = "cli") -> dict:
    name = (name or "").strip()
    problems = []
    if not name or len(name) > 200:
        problems.append("the name must be 1 to 200 characters")
    if goal not in GOALS:
        problems.append(f"goal {goal!r} is not one of {', '.join(GOALS)}")
    if status not in STATUSES:
        problems.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
    budget = _money(budget, "budget", problems)
    daily_budget = _money(daily_budget, "daily budget", problems)
    if not language or len(language) > 16:
        problems.append("the language must be 1 to 16 characters")
    if project is not None and len(project) > 100:
        problems.append("the project must be at most 100 characters")
    start_day = _day(start, "start", problems)
    end_day = _day(end, "end", problems)
    with ctx.session() as session:
        company = _company(session, company_slug)
        start_day = start_day or (queries.today(session) if start is None else None)
        if start_day and end_day and end_day < start_day:
            problems.append(f"end {end_day} is before start {start_day}")
        channel_id = queries.channels(session).get((channel or "").strip().lower())
        if channel_id is None:
            known = ", ".join(sorted(queries.channels(session))) or "none yet"
            problems.append(f"unknown channel {channel!r} (known: {known})")
        location_id = segment_id = None
        if location:
            location_id = queries.locations(session).get(location.strip().lower())
            if location_id is None:
                problems.append(f"unknown location {location!r}")
        if segment:
            segment_id = queries.segments(session).get(segment.strip().lower())
            if segment_id is None:
                problems.append(f"unknown segment {segment!r}")
        if name and queries.campaign_named(session, company.id, name):
            problems.append(f"{company.slug} already has a campaign named {name!r}")
        _raise(problems)
        values = {"channel_id": channel_id, "segment_id": segment_id,
                  "location_id": location_id, "name": name, "goal": goal, "status": status,
                  "start_date": start_day, "end_date": end_day, "budget_allocated": budget,
                  "daily_budget": daily_budget, "language": language, "project": project,
                  "tags": []}
        campaign_id = queries.insert_campaign(session, company.id, values)
        audit.record(session, "campaign_add", actor_email=actor,
                     target=f"campaign:{campaign_id}",
                     after={"company": company.slug, "name": name, "channel": channel})
    return {"id": campaign_id, "company": company.slug, "name": name, "channel": channel,
            "goal": goal, "status": status, "start_date": start_day, "end_date": end_day}


def list_campaigns(ctx: ServiceContext, company_slug: str) -> list[dict]:
    with ctx.session() as session:
        return queries.campaigns(session, _company(session, company_slug).id)
