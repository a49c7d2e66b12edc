"""Each user's preferences: default time range, preferred KPI cards, landing view and the time
zone times of day are shown in (UTC by default; the charts' days and hours stay UTC).

The views use them: the router fills a view's query defaults (``range``, ``kpis``) from them
when the URL has none, and ``/`` opens the preferred landing view when the role may open it.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from db.models import UserPreference
from services import audit, registry
from services.context import ServiceContext
from services.errors import ValidationError
from services.kpis import KPI_LABELS
from services.periods import DEFAULT_RANGE, RANGE_LABELS, RANGES
from services.users import UserRecord

KPI_CHOICES = tuple(KPI_LABELS)
RANGE_CHOICES = tuple(RANGES)  # named ranges only: a custom range has no fixed length


DEFAULT_TIME_ZONE = "UTC"


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The IANA zones a user may pick, UTC first."""
    return (DEFAULT_TIME_ZONE, *sorted(z for z in zoneinfo.available_timezones()
                                       if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def defaults() -> dict:
    return {"default_range": DEFAULT_RANGE, "kpi_cards": list(KPI_CHOICES),
            "landing_view": None, "time_zone": DEFAULT_TIME_ZONE}


def _as_dict(row: UserPreference | None) -> dict:
    if row is None:
        return defaults()
    return {"default_range": row.default_range or DEFAULT_RANGE,
            "kpi_cards": list(row.kpi_cards or KPI_CHOICES),
            "landing_view": row.landing_view,
            "time_zone": row.time_zone or DEFAULT_TIME_ZONE}


def validate_time_zone(value) -> str:
    zone = value if isinstance(value, str) and value else DEFAULT_TIME_ZONE
    if zone not in time_zones():
        raise ValidationError(f"unknown time zone {str(value)[:40]!r}; use an IANA name such "
                              "as Europe/London or America/New_York")
    return zone


def time_zone_of(ctx: ServiceContext, user_id: int | None) -> str:
    """The zone the user reads times of day in (UTC for the command line and unknowns)."""
    if not user_id:
        return DEFAULT_TIME_ZONE
    return get_preferences(ctx, user_id)["time_zone"]


def get_preferences(ctx: ServiceContext, user_id: int) -> dict:
    with ctx.session() as session:
        return _as_dict(session.get(UserPreference, user_id))


def validate(role: str, default_range: str | None, kpi_cards: list[str] | None,
             landing: str | None) -> dict:
    default_range = default_range or DEFAULT_RANGE
    if default_range not in RANGE_CHOICES:
        raise ValidationError(
            f"unknown time range {default_range!r}; choose one of: "
            + ", ".join(RANGE_LABELS[r] for r in RANGE_CHOICES))
    cards = list(dict.fromkeys(kpi_cards or []))
    unknown = [card for card in cards if card not in KPI_CHOICES]
    if unknown:
        raise ValidationError(f"unknown KPI card {unknown[0]!r}; choose from: "
                              + ", ".join(KPI_CHOICES))
    if not cards:
        raise ValidationError("choose at least one KPI card")
    landing = landing or None
    if landing is not None:
        view = registry.view(landing)
        if view is None:
            raise ValidationError(f"unknown view {landing!r}; choose one of: "
                                  + ", ".join(v.slug for v in registry.views_for(role)))
        if not registry.can_open(role, landing):
            raise ValidationError(f"your role cannot open the {view.title} view")
    # Keep the KPI cards in the dashboard's order, whatever order they were ticked in.
    return {"default_range": default_range,
            "kpi_cards": [card for card in KPI_CHOICES if card in cards],
            "landing_view": landing}


def set_preferences(ctx: ServiceContext, user: UserRecord, default_range: str | None,
                    kpi_cards: list[str] | None, landing: str | None, *,
                    time_zone: str | None = None, actor: UserRecord | None = None,
                    remote_addr: str | None = None, cli: bool = False) -> dict:
    """Save ``user``'s preferences (validated against the user's role); one audit row.
    ``time_zone`` None keeps the saved one. ``actor`` is who saved them when not the user
    themselves (an admin); ``cli`` marks the command line as the actor."""
    values = validate(user.role, default_range, kpi_cards, landing)
    zone = None if time_zone is None else validate_time_zone(time_zone)
    who = actor if actor is not None else user
    with ctx.session() as session:
        row = session.get(UserPreference, user.id, with_for_update=True)
        before = _as_dict(row)
        if row is None:
            row = UserPreference(user_id=user.id, time_zone=DEFAULT_TIME_ZONE)
            session.add(row)
        row.default_range = values["default_range"]
        row.kpi_cards = values["kpi_cards"]
        row.landing_view = values["landing_view"]
        row.time_zone = zone or before["time_zone"]
        values["time_zone"] = row.time_zone
        if before != values:
            audit.record(session, "preferences_changed", user_id=None if cli else who.id,
                         actor_email="cli" if cli else who.email, target=user.email,
                         remote_addr=remote_addr,
                         before=before, after=values)
    return values


def preferred_landing(ctx: ServiceContext, user: UserRecord) -> str | None:
    """The user's chosen landing view when it is built and their role may open it, else the
    role's own first view (``registry.landing``)."""
    chosen = get_preferences(ctx, user.id)["landing_view"]
    if chosen and registry.can_open(user.role, chosen):
        return chosen
    return registry.landing(user.role)


def query_defaults(ctx: ServiceContext, user: UserRecord, query: dict) -> dict:
    """The view's query parameters with the user's defaults filled in where the URL has none:
    ``range`` (a named range) and ``kpis`` (comma-separated KPI cards)."""
    prefs = get_preferences(ctx, user.id)
    filled = dict(query)
    filled.setdefault("range", prefs["default_range"])
    filled.setdefault("kpis", ",".join(prefs["kpi_cards"]))
    return filled
