"""Roles, views and who may open what (DESIGN.md, roles and tenancy). One matrix, used by the
page guard, the callback guard, the API and the navigation alike."""

from __future__ import annotations

ROLES = ("admin", "executive", "marketing_manager", "campaign_specialist", "analyst")

# View slugs in navigation order; a role lands on the first one it may open that exists.
VIEWS = ("executive", "marketing", "realtime", "competitive", "admin")

VIEW_TITLES = {
    "executive": "Executive",
    "marketing": "Marketing",
    "realtime": "Real-time",
    "competitive": "Competitive",
    "admin": "Admin",
}

_ACCESS = {
    "executive": {"admin", "executive", "marketing_manager", "analyst"},
    "marketing": {"admin", "marketing_manager", "campaign_specialist", "analyst"},
    "realtime": {"admin", "marketing_manager", "campaign_specialist", "analyst"},
    "competitive": {"admin", "executive", "marketing_manager", "analyst"},
    "admin": {"admin"},
}

# Each role's own first view, tried before the general order.
_LANDING = {
    "admin": "admin",
    "executive": "executive",
    "marketing_manager": "marketing",
    "campaign_specialist": "realtime",
    "analyst": "executive",
}


def can_open(role: str | None, view: str) -> bool:
    return role in _ACCESS.get(view, ())


def views_for(role: str | None, built: tuple[str, ...] | list[str]) -> list[str]:
    """The built views this role may open, in navigation order."""
    return [view for view in VIEWS if view in built and can_open(role, view)]


def landing_view(role: str | None, built: tuple[str, ...] | list[str]) -> str | None:
    """The role's own first view if it is built, else the next one it may open."""
    allowed = views_for(role, built)
    preferred = _LANDING.get(role or "")
    if preferred in allowed:
        return preferred
    return allowed[0] if allowed else None


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    return role
